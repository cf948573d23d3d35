"""Law 5, serialization: parse(render(m)) == m for JSON, load(write(m)) == m for Python text.

Migrations are drawn against generated states, so their operations carry everything
a real history holds: relations across apps, many-to-many fields, defaults of every
kind, hostile identifiers, partial indexes, nested state operations. The checks live
in pure/laws.py (check_migration_round_trip); states, which the recorder checksums,
must round trip through their canonical JSON too.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure.laws import check_migration_round_trip, check_serialization_round_trip
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.serialize import (
    migration_from_json,
    migration_to_json,
    state_from_json,
    state_to_json,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import migrations, operations, project_states


@st.composite
def drawn_migrations(draw: st.DrawFn) -> Migration:
    state = draw(project_states(partial_indexes=True))
    return draw(migrations(state, max_operations=6, partial_indexes=True))


@st.composite
def drawn_operations(draw: st.DrawFn) -> Operation:
    state = draw(project_states(partial_indexes=True))
    return draw(operations(state, partial_indexes=True))


@given(drawn_migrations())
def test_migrations_read_back_equal_from_json_and_python(migration: Migration) -> None:
    check_migration_round_trip(migration)


@given(drawn_operations())
def test_each_operation_reads_back_equal(operation: Operation) -> None:
    check_serialization_round_trip(operation)


@given(drawn_migrations())
def test_json_text_is_canonical(migration: Migration) -> None:
    text = migration_to_json(migration)
    assert text.endswith("\n")
    # The same value, rebuilt from its own text, writes the same bytes.
    assert migration_to_json(migration_from_json(text)) == text


@given(project_states(partial_indexes=True))
def test_states_read_back_equal_from_canonical_json(state: ProjectState) -> None:
    for bookkeeping in (False, True):
        text = state_to_json(state, bookkeeping=bookkeeping)
        loaded = state_from_json(text)
        assert loaded == state
        assert state_to_json(loaded, bookkeeping=bookkeeping) == text

"""Law 3 (agreement) on real SQLite files, through the test kit's database laws.

For a generated state ``s`` and an operation ``op`` valid on it: build ``s`` in a fresh
database file, put rows in its tables, run the statements the SQLite dialect renders
for ``op``, introspect, and compare with the schema of ``op.state_forwards(s)``. When
the rows make the operation impossible (a new unique constraint over duplicates, say),
the failed run must leave the database exactly as it was, and the law is checked
again on the same schema without rows (``shell.database_laws.check_database_laws``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from reinhardt_migrations.pure.operations import Operation, RunSQL, SeparateDatabaseAndState
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import BUILTIN_KINDS, operations, project_states
from reinhardt_migrations.shell.database_laws import ScratchDatabase, check_database_laws

# PostgreSQL project objects have no SQLite rendering; RunCode runs no SQL.
KINDS = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind not in {"CreateExtension", "DropExtension", "CreateCollation", "RemoveCollation", "RunCode"}
)


def cases() -> st.SearchStrategy[tuple[ProjectState, Operation]]:
    """Return (state, operation valid on it) pairs."""
    return project_states(min_models=2, max_models=5, partial_indexes=True).flatmap(
        lambda state: operations(state, kinds=KINDS, partial_indexes=True).map(lambda op: (state, op))
    )


def declares_its_schema(operation: Operation) -> bool:
    """Tell whether the statements are meant to do what ``state_forwards`` says.

    RunSQL's ``state_operations`` and SeparateDatabaseAndState's split are the user's
    promise that hand-written SQL matches the state; generated SQL (``SELECT 1``) does not.
    """
    if isinstance(operation, RunSQL):
        return not operation.state_operations
    if isinstance(operation, SeparateDatabaseAndState):
        return operation.database_operations == operation.state_operations
    return True


@pytest.fixture(scope="module")
def scratch() -> Iterator[ScratchDatabase]:
    """Scratch SQLite files, a new one per example."""
    database = ScratchDatabase("sqlite")
    yield database
    database.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_introspecting_after_an_operation_gives_its_state(
    scratch: ScratchDatabase, case: tuple[ProjectState, Operation]
) -> None:
    state, operation = case
    assume(declares_its_schema(operation))
    # False when the dialect refuses the operation: not an example. Generated RunCode paths
    # (nested in SeparateDatabaseAndState) name no code, and code changes no schema.
    assume(check_database_laws(operation, state, scratch, laws=("agreement",), run_code=False))
    event(type(operation).__name__)

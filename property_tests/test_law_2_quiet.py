"""Law 2, quiet: ``autodetect(a, a)`` has no operations.

Checked on the very same state (the identity fast path), on an equal state built
from fresh objects (every model compared by value), and on an equal state whose
bookkeeping names (unique, index and foreign key names) and rename hints differ:
those are left out of equality, so they must never produce an operation.
"""

from __future__ import annotations

import attrs
from hypothesis import given

from reinhardt_migrations.pure.autodetector import AcceptUnambiguousRenames, NeverRename, autodetect
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.strategies import project_states


def _rebuilt(state: ProjectState) -> ProjectState:
    """Return an equal state made of new objects, with fresh bookkeeping names and stale hints."""

    def field(value: FieldState) -> FieldState:
        return attrs.evolve(value.without_object_names(), previous_name="zz_stale_hint")

    def model(value: ModelState) -> ModelState:
        return ModelState(
            app_label=value.app_label,
            name=value.name,
            fields=[field(f) for f in value.fields],
            db_table=value.db_table,
            indexes=list(value.indexes),
            constraints=list(value.constraints),
            unique_together=[entry.fields for entry in value.unique_together],
            comment=value.comment,
            managed=value.managed,
            options=dict(value.options),
            previous_name="ZzStaleHint",
        )

    return ProjectState(
        models=[model(m) for m in state],
        extensions=set(state.extensions),
        collations=dict(state.collations),
    )


@given(project_states())
def test_a_state_against_itself_has_no_changes(state: ProjectState) -> None:
    result = autodetect(state, state)
    assert result.migrations == ()
    assert result.questions == ()


@given(project_states())
def test_an_equal_state_of_other_objects_has_no_changes(state: ProjectState) -> None:
    rebuilt = _rebuilt(state)
    assert rebuilt == state
    for policy in (NeverRename(), AcceptUnambiguousRenames(include_near=True)):
        result = autodetect(state, rebuilt, policy)
        assert result.operations == ()
        assert result.destructive == ()
        assert autodetect(rebuilt, state, policy).operations == ()

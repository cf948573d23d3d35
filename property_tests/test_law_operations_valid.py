"""Every generated operation, applied to the state it was drawn for, obeys the operation laws.

The laws (pure/laws.py): state_forwards leaves its input unchanged, is deterministic
(also on an equal state built in another order), returns a valid state whose lookup
indexes match a fresh build, and describe returns a non-empty str. The last tests
show that the checks can fail: each breaks one law on purpose.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import LawViolation
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.laws import (
    check_describe,
    check_deterministic,
    check_keeps_state_valid,
    check_serialization_round_trip,
    check_state_forwards_pure,
)
from reinhardt_migrations.pure.operations import (
    BUILTIN_OPERATIONS,
    AddConstraint,
    AddField,
    AddIndex,
    BaseOperation,
    CreateModel,
    Operation,
)
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState
from reinhardt_migrations.pure.strategies import (
    BUILTIN_KINDS,
    applicable_kinds,
    constraint_states,
    field_states,
    index_states,
    model_states,
    operation_sequences,
    operations,
    project_states,
)
from reinhardt_migrations.pure.types import AutoField, Boolean, Integer, Text, Varchar


def check_laws(operation: Operation, state: ProjectState) -> ProjectState:
    """Run the state laws and return the state after ``operation``."""
    assert check_describe(operation)
    result = check_state_forwards_pure(operation, state)
    assert check_deterministic(operation, state) == result
    assert check_keeps_state_valid(operation, state) == result
    return result


@st.composite
def states_and_sequences(draw: st.DrawFn) -> tuple[ProjectState, tuple[Operation, ...]]:
    state = draw(project_states())
    return state, draw(operation_sequences(state, 6))


@given(project_states())
def test_generated_states_are_valid(state: ProjectState) -> None:
    state.check()
    fresh = ProjectState(models=list(state), extensions=state.extensions, collations=state.collations)
    assert fresh == state
    assert fresh.referrers == state.referrers
    assert fresh.tables == state.tables


@given(states_and_sequences())
def test_every_operation_of_a_generated_sequence_obeys_the_laws(
    case: tuple[ProjectState, tuple[Operation, ...]],
) -> None:
    state, sequence = case
    for operation in sequence:
        after = check_laws(operation, state)
        # An operation that changes nothing is allowed (RunCode), but then it must return an equal state.
        assert isinstance(after, ProjectState)
        state = after


@given(st.data())
def test_value_strategies_fit_the_state_they_were_drawn_for(data: st.DataObject) -> None:
    state = with_fixture(data.draw(project_states(), label="state"))
    model = data.draw(model_states("fixture_app", targets=list(state), partial_indexes=True), label="model")
    state = check_laws(CreateModel.from_model(model), state)
    target = data.draw(st.sampled_from(list(state)), label="target")
    index = data.draw(index_states(state.model("fixture_app", "Rich"), partial=True), label="index")
    state = check_laws(AddIndex("fixture_app", "Rich", index), state)
    target = state.model(*target.key)
    constraint = data.draw(constraint_states(target), label="constraint")
    state = check_laws(AddConstraint(target.app_label, target.name, constraint), state)
    target = state.model(*target.key)
    field = data.draw(field_states(targets=list(state)), label="field")
    # field_states knows nothing of the target's names: skip the rare clash.
    assume(target.field_or_none(field.name) is None)
    assume(field.column is None or field.column not in {f.column for f in target.fields})
    check_laws(AddField(target.app_label, target.name, field), state)


def with_fixture(state: ProjectState) -> ProjectState:
    """Return ``state`` plus what each kind needs, in an app label the strategies never draw."""
    rich = ModelState(
        "fixture_app",
        "Rich",
        [
            FieldState("id", AutoField(), primary_key=True),
            FieldState("title", Varchar(100), unique=True),
            FieldState("rank", Integer()),
            FieldState("flag", Boolean(), null=True),
            FieldState("body", Text(), null=True),
        ],
        indexes=[IndexState("fixture_app_rich_idx", ("title", "-rank"))],
        constraints=[ConstraintState.check_that("fixture_app_rich_check", "1 = 1")],
    )
    return (
        state.with_model(rich)
        .with_extension("hstore")
        .with_collation(CollationState("fixture_collation", "und", "icu", False))
    )


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
@settings(max_examples=8)
@given(data=st.data())
def test_each_builtin_kind_is_generated_and_obeys_the_laws(kind: str, data: st.DataObject) -> None:
    state = data.draw(project_states(), label="state")
    for operation in data.draw(operation_sequences(state, 3), label="prefix"):
        state = operation.state_forwards(state)
    state = with_fixture(state)
    assert kind in applicable_kinds(state), f"{kind} does not apply to the generated state"
    operation = data.draw(operations(state, kinds={kind}), label="operation")
    assert isinstance(operation, BUILTIN_OPERATIONS[kind])
    assert operation.kind == kind
    check_laws(operation, state)


# -- the checks can fail --------------------------------------------------------------


def _small_state() -> ProjectState:
    author = ModelState("blog", "Author", [FieldState("id", AutoField(), primary_key=True)])
    return ProjectState.from_models([author])


@attrs.frozen
class MutatesInput(BaseOperation):
    """Breaks purity: it writes into the state it was given."""

    kind: ClassVar[str] = "MutatesInput"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        object.__setattr__(state, "extensions", state.extensions.add("hstore"))
        return state

    def describe(self) -> str:
        return "Mutate the input"


@attrs.define
class CountsCalls(BaseOperation):
    """Breaks determinism: each call adds another extension."""

    calls: int = 0
    kind: ClassVar[str] = "CountsCalls"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        self.calls += 1
        return state.with_extension(f"ext{self.calls}")

    def describe(self) -> str:
        return "Count calls"


@attrs.frozen
class LeavesDanglingRelation(BaseOperation):
    """Breaks validity: it adds a foreign key to a model that does not exist."""

    kind: ClassVar[str] = "LeavesDanglingRelation"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        model = state.model("blog", "Author")
        field = FieldState("ghost", Integer(), relation=Relation("foreign_key", ("blog", "Ghost")))
        return state.with_model(model.with_field(field))

    def describe(self) -> str:
        return "Point at a ghost"


@attrs.frozen
class StaleIndex(BaseOperation):
    """Breaks the derived indexes: it drops a model but keeps its table in ``tables``."""

    kind: ClassVar[str] = "StaleIndex"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        smaller = state.without_model("blog", "Author")
        return ProjectState(
            models=smaller.models,
            referrers=smaller.referrers,
            tables=state.tables,
            extensions=smaller.extensions,
        )

    def describe(self) -> str:
        return "Forget to update tables"


@attrs.frozen
class SaysNothing(BaseOperation):
    """Breaks describe: an empty description."""

    kind: ClassVar[str] = "SaysNothing"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state

    def describe(self) -> str:
        return " "


class NotAttrs(BaseOperation):
    """Breaks law 5: it is not an attrs class, so it cannot be written."""

    kind: ClassVar[str] = "NotAttrs"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state

    def describe(self) -> str:
        return "Cannot be written"


def test_a_mutating_operation_breaks_purity() -> None:
    with pytest.raises(LawViolation, match="leaves its input unchanged") as caught:
        check_state_forwards_pure(MutatesInput(), _small_state())
    assert caught.value.law == "state_forwards leaves its input unchanged"
    assert "extensions" in caught.value.problem
    assert "1 model(s) in apps blog" in caught.value.state


def test_a_counting_operation_breaks_determinism() -> None:
    with pytest.raises(LawViolation, match="deterministic") as caught:
        check_deterministic(CountsCalls(), _small_state())
    assert "second run" in caught.value.problem


def test_a_dangling_relation_breaks_validity() -> None:
    with pytest.raises(LawViolation, match="valid") as caught:
        check_keeps_state_valid(LeavesDanglingRelation(), _small_state())
    assert "blog.Ghost" in caught.value.problem


def test_a_stale_table_index_breaks_validity() -> None:
    with pytest.raises(LawViolation, match="tables index is stale"):
        check_keeps_state_valid(StaleIndex(), _small_state())


def test_an_empty_description_breaks_describe() -> None:
    with pytest.raises(LawViolation, match="non-empty str"):
        check_describe(SaysNothing())


def test_an_unwritable_operation_breaks_serialization() -> None:
    with pytest.raises(LawViolation, match="serialization round trip"):
        check_serialization_round_trip(NotAttrs())


def test_a_builtin_operation_passes_every_check() -> None:
    operation = CreateModel("shop", "Order", [FieldState("id", AutoField(), primary_key=True)])
    state = _small_state()
    after = check_laws(operation, state)
    check_serialization_round_trip(operation)
    assert after.has_model("shop", "Order")

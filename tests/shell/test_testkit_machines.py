"""The state machines: custom operations interleaved with the built-in ones, with and without a database."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from hypothesis.strategies import SearchStrategy

from reinhardt_migrations.pure.custom import CustomOperation
from reinhardt_migrations.pure.dialects import Dialect
from reinhardt_migrations.pure.errors import LawViolation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.operations import Operation
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.strategies import OperationMachine, states_after
from reinhardt_migrations.pure.strategies import project_states as library_states
from reinhardt_migrations.pure.types import AutoField, DateTime
from reinhardt_migrations.shell.testkit import DatabaseMachine

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custom_ops"
QUICK = settings(
    max_examples=8, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
)
STAMP = FieldState("stamped_at", DateTime(), null=True)


@attrs.frozen
class AddStamp(CustomOperation):
    """Adds a nullable timestamp column; ``forgetful`` makes its SQL forget it."""

    app_label: str
    model_name: str
    forgetful: bool = False

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state.with_model(state.model(self.app_label, self.model_name).with_field(STAMP))

    def describe(self) -> str:
        return f"Stamp {self.app_label}.{self.model_name}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return () if self.forgetful else dialect.statements_between(before, after)

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(after, before)


def add_stamps(state: ProjectState) -> SearchStrategy[Operation] | None:
    models = [m for m in state if m.managed and m.field_or_none(STAMP.name) is None]
    return st.sampled_from(models).map(lambda m: AddStamp(*m.key)) if models else None


class StampMachine(DatabaseMachine):
    custom_operations = (add_stamps,)


def test_a_lawful_operation_interleaved_with_the_built_in_ones_keeps_the_database_in_step() -> None:
    run_state_machine_as_test(StampMachine, settings=QUICK)


def test_the_database_machine_reports_the_step_whose_sql_disagrees_with_its_state() -> None:
    key = FieldState("id", AutoField(), primary_key=True)
    start = ProjectState.from_models([ModelState("shop", "Item", [key]), ModelState("shop", "Other", [key])])
    machine = StampMachine()
    machine.start = machine.state = start
    machine.on_start(start)
    try:
        machine.apply(AddStamp("shop", "Item"))
        assert machine.backend.query("SELECT stamped_at FROM shop_item") == []
        with pytest.raises(LawViolation, match="breaks the law 'agreement'") as caught:
            machine.apply(AddStamp("shop", "Other", forgetful=True))
    finally:
        machine.teardown()
    assert "table shop_other: column stamped_at is missing" in caught.value.problem
    assert "shop.Item (table shop_item)" in caught.value.details  # the state before the step


@pytest.fixture
def shop_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example project importable as ``shop``."""
    monkeypatch.setattr(sys, "path", [str(EXAMPLE), *sys.path])
    yield
    for name in [name for name in sys.modules if name.split(".")[0] == "shop"]:
        del sys.modules[name]


def test_views_interleaved_with_the_built_in_operations_obey_the_pure_laws(shop_on_path: None) -> None:
    from shop.strategies import create_views, drop_views

    class ViewMachine(OperationMachine):
        custom_operations = (create_views, drop_views)

        def initial_states(self) -> SearchStrategy[ProjectState]:
            return states_after(library_states(min_models=1, max_models=2), create_views)

    run_state_machine_as_test(ViewMachine, settings=QUICK)

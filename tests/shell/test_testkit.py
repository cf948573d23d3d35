"""The test kit catches broken operations, each by the right law, with a minimal example.

Each broken operation below is a realistic mistake in a custom operation: SQL that
forgets a column, a backwards that leaves an index behind, a state_forwards that mutates
its input, an argument the JSON form loses. ``check_operation`` must fail on each, name
the law, and shrink the state to one model holding only what the mistake needs. The
built-in operations, checked the same way, must pass on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.custom import CustomOperation
from reinhardt_migrations.pure.dialects import Dialect
from reinhardt_migrations.pure.errors import LawViolation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.operations import AlterModelOptions, CreateModel, Operation
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.strategies import SCHEMA_KINDS, operations, project_states
from reinhardt_migrations.pure.types import AutoField, Boolean, DateTime, Integer, Text, Varchar
from reinhardt_migrations.shell.testkit import LAWS, check_operation

# No example database: each test finds its failure afresh, whatever ran before.
FRESH = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
STAMPS = ("created_at", "updated_at")


@st.composite
def shop_states(draw: st.DrawFn) -> ProjectState:
    """Draw one to three models of plain fields: quick to generate and to shrink.

    (The library's ``project_states``, with hostile names and relations, finds more but
    shrinks slower; the built-in operations are checked with it below.)
    """
    models = []
    for number in range(draw(st.integers(1, 3))):
        fields = [FieldState("id", AutoField(), primary_key=True)]
        for column in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from([Integer(), Varchar(20), Text(), Boolean()]))
            fields.append(FieldState(f"f{column}", kind, null=draw(st.booleans())))
        models.append(ModelState("shop", f"M{number}", fields))
    return ProjectState(models=models)


def stampable(state: ProjectState) -> list[ModelState]:
    """Return the managed models that have neither timestamp field yet."""
    return [m for m in state if m.managed and not {*STAMPS} & {f.name for f in m.fields}]


@attrs.frozen
class AddTimestamps(CustomOperation):
    """Broken: the state gets two columns, the SQL adds only the first."""

    app_label: str
    model_name: str

    def state_forwards(self, state: ProjectState) -> ProjectState:
        model = state.model(self.app_label, self.model_name)
        for name in STAMPS:
            model = model.with_field(FieldState(name, DateTime(), null=True))
        return state.with_model(model)

    def describe(self) -> str:
        return f"Add timestamps to {self.app_label}.{self.model_name}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        model = before.model(self.app_label, self.model_name)
        halfway = before.with_model(model.with_field(FieldState(STAMPS[0], DateTime(), null=True)))
        return dialect.statements_between(before, halfway)  # forgets updated_at

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(after, before)


@attrs.frozen
class AddLookupIndex(CustomOperation):
    """Broken: forwards creates the index, backwards forgets to drop it."""

    app_label: str
    model_name: str
    field: str

    def state_forwards(self, state: ProjectState) -> ProjectState:
        model = state.model(self.app_label, self.model_name)
        return state.with_model(model.with_index(IndexState(self.index_name, (self.field,))))

    @property
    def index_name(self) -> str:
        return f"lookup_{self.model_name}_{self.field}"[:30]

    def describe(self) -> str:
        return f"Add lookup index on {self.app_label}.{self.model_name}.{self.field}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(before, after)

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return []  # leaves the index behind


@attrs.frozen
class CountModels(CustomOperation):
    """Broken: records a note in the state it was given, "to save a copy"."""

    note: str = "counted"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        object.__setattr__(state, "extensions", state.extensions.add(self.note))
        return state

    def describe(self) -> str:
        return "Count models"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return []


@attrs.frozen
class SetComment(CustomOperation):
    """Broken: ``comment`` is left out of equality, so the file leaves it out too."""

    app_label: str
    model_name: str
    comment: str = attrs.field(default="", eq=False)

    def state_forwards(self, state: ProjectState) -> ProjectState:
        model = state.model(self.app_label, self.model_name)
        return state.with_model(attrs.evolve(model, comment=self.comment))

    def describe(self) -> str:
        return f"Set the comment of {self.app_label}.{self.model_name}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(before, after)

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(after, before)


@attrs.frozen
class SetTag(CustomOperation):
    """Broken: two tags in a row "merge" into the first one, where the second should win."""

    app_label: str
    model_name: str
    tag: str

    def state_forwards(self, state: ProjectState) -> ProjectState:
        model = state.model(self.app_label, self.model_name)
        return state.with_model(attrs.evolve(model, comment=self.tag))

    def describe(self) -> str:
        return f"Tag {self.app_label}.{self.model_name} {self.tag!r}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(before, after)

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return dialect.statements_between(after, before)

    def reduce(self, other: Operation) -> Sequence[Operation] | None:
        if isinstance(other, SetTag) and other.model_name == self.model_name:
            return [self]  # should be [other]
        return None


def set_tags(state: ProjectState) -> SearchStrategy[SetTag] | None:
    models = list(state)
    if not models:
        return None
    return st.builds(lambda m, tag: SetTag(*m.key, tag), st.sampled_from(models), st.sampled_from("abcd"))


def add_timestamps(state: ProjectState) -> SearchStrategy[AddTimestamps] | None:
    models = stampable(state)
    return st.sampled_from(models).map(lambda m: AddTimestamps(*m.key)) if models else None


def add_lookup_indexes(state: ProjectState) -> SearchStrategy[AddLookupIndex] | None:
    pairs = [
        (m, f.name)
        for m in state
        if m.managed
        for f in m.fields
        if f.column is not None and isinstance(f.type, Integer) and not m.indexes
    ]
    return st.sampled_from(pairs).map(lambda p: AddLookupIndex(*p[0].key, p[1])) if pairs else None


def set_comments(state: ProjectState) -> SearchStrategy[SetComment] | None:
    models = list(state)
    return st.sampled_from(models).map(lambda m: SetComment(m.app_label, m.name, "note")) if models else None


def failure(strategy: object, **options: object) -> LawViolation:
    """Run the kit on a broken operation; return the (shrunk) violation it raised."""
    with pytest.raises(LawViolation) as caught:
        # Enough examples to meet a mistake that needs two operations in a row (SetTag).
        check_operation(strategy, settings=settings(FRESH, max_examples=150), **options)  # type: ignore[arg-type]
    return caught.value


def models_in_report(error: LawViolation) -> list[str]:
    """Return the model lines of the state a report shows."""
    return re.findall(r"^  (.+) \(table ", error.details, flags=re.MULTILINE)


def test_sql_that_forgets_a_column_breaks_agreement_with_a_one_model_example() -> None:
    error = failure(add_timestamps, states=shop_states())
    assert error.law == "agreement"
    assert "updated_at" in error.problem
    assert "created_at" in error.details  # the SQL that ran is in the report
    assert "ADD COLUMN" in error.details.upper()
    assert len(models_in_report(error)) == 1


def test_backwards_that_leaves_an_index_breaks_reversal_not_agreement() -> None:
    error = failure(add_lookup_indexes, states=shop_states())
    assert error.law == "reversal"
    assert "index lookup_" in error.problem
    assert "should not be there" in error.problem
    assert "CREATE INDEX" in error.details.upper()
    assert len(models_in_report(error)) == 1


def test_a_state_forwards_that_mutates_its_input_breaks_purity() -> None:
    error = failure(lambda state: st.just(CountModels()), states=shop_states())
    assert error.law == "state_forwards leaves its input unchanged"
    assert "extensions" in error.problem
    # A mutation needs no more than the one model these states always have.
    assert error.state == "1 model(s) in apps shop"


def test_an_argument_the_json_form_loses_breaks_the_serialization_round_trip() -> None:
    error = failure(set_comments, states=shop_states())
    assert error.law == "serialization round trip"
    assert "comment" in error.problem
    assert "eq=False" in error.problem


def test_a_reduce_that_keeps_the_wrong_operation_breaks_the_optimizer_law() -> None:
    error = failure(set_tags, states=shop_states())
    assert error.law == "the optimizer keeps the replayed state"
    assert "its reduce(" in error.problem
    assert "comment" in error.problem  # where the states differ


def test_only_the_laws_asked_for_run() -> None:
    # The mutation is not looked for, and the operation is otherwise lawful on values.
    check_operation(
        lambda state: st.just(CountModels()),
        states=project_states(max_models=1),
        laws=("describe", "serialization"),
        max_examples=5,
    )
    with pytest.raises(ValueError, match="not laws"):
        check_operation(lambda state: None, laws=("purity",))


def test_a_server_database_without_test_in_its_name_is_refused() -> None:
    with pytest.raises(ValueError, match="must contain 'test'"):
        check_operation(add_timestamps, backends=["postgresql://user@localhost/production"])


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """Return each backend: a scratch SQLite file, or a fresh server database (skipped without servers)."""
    if request.param == "sqlite":
        return "sqlite"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def without_options(operation: Operation) -> Operation:
    """Return ``operation`` without table options: generated ones (``ENGINE=0``) are not MySQL's."""
    if isinstance(operation, CreateModel | AlterModelOptions):
        return attrs.evolve(operation, options={})
    return operation


def test_the_built_in_schema_operations_obey_every_law(backend_url: str) -> None:
    # Partial indexes are generated, and skipped where a dialect refuses them (MySQL).
    check_operation(
        lambda state: operations(state, kinds=SCHEMA_KINDS, partial_indexes=True).map(without_options),
        states=project_states(min_models=2, max_models=4, partial_indexes=True),
        backends=[backend_url],
        laws=LAWS,
        max_examples=25,
    )

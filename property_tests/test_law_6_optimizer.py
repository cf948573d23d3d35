"""Law 6: replaying ``optimize(ops)`` gives the same state as replaying ``ops``, and it is never longer.

Two sources of sequences. The project's strategies (``reinhardt_migrations.pure.strategies``)
give breadth: every built-in kind, valid by construction. The local strategies below
give depth where the optimizer can go wrong. They simulate: each drawn operation is
applied to the current state and kept only if the state accepts it, so every sequence
is valid from its start state. Names come from small pools on purpose, so that the
collisions the optimizer must respect come up often: ``M`` and ``m`` share the default
table ``a_m``, explicit tables reuse default names, relations name fields through
``to_field``, many-to-many fields get automatic join tables, defaults are one-off, and
RunSQL stands in the way (sometimes declaring a schema change in ``state_operations``).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure import strategies as rs
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.laws import check_optimizer_keeps_state
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.optimizer import optimize
from reinhardt_migrations.pure.state import ProjectState

APPS = ("a", "b")
MODELS = ("M", "N", "P", "m")
FIELDS = ("x", "y", "z", "w")
INDEXES = ("i1", "i2", "i3")
CONSTRAINTS = ("c1", "c2")
TABLES = ("a_m", "a_n", "a_p", "t1", "b_n")
COLUMNS = ("col1", "col2", "x", "y")
TYPES = ("integer", "bigint", "varchar(10)", "text")
ID = FieldState("id", "auto", primary_key=True)


def apply_all(operations: Sequence[Operation], state: ProjectState) -> ProjectState:
    """Return ``state`` after every operation, in order."""
    for operation in operations:
        state = operation.state_forwards(state)
    return state


@st.composite
def model_keys(draw: st.DrawFn, state: ProjectState, existing: bool = True) -> tuple[str, str]:
    """Draw a model key: mostly one that exists, sometimes any from the pools."""
    keys = sorted(state.models)
    if existing and keys and draw(st.integers(0, 4)):
        return draw(st.sampled_from(keys))
    return (draw(st.sampled_from(APPS)), draw(st.sampled_from(MODELS)))


@st.composite
def field_names(draw: st.DrawFn, state: ProjectState, key: tuple[str, str]) -> str:
    """Draw a field name: mostly one of the model's own, else any from the pool."""
    model = state.models.get(key)
    names = [name for name in model.field_names() if name != "id"] if model is not None else []
    if names and draw(st.integers(0, 3)):
        return draw(st.sampled_from(names))
    return draw(st.sampled_from(FIELDS))


@st.composite
def object_names(draw: st.DrawFn, state: ProjectState, key: tuple[str, str], pool: tuple[str, ...]) -> str:
    """Draw an index or constraint name: mostly one the model has, else any from ``pool``."""
    model = state.models.get(key)
    names = sorted({i.name for i in model.indexes} | {c.name for c in model.constraints}) if model else []
    if names and draw(st.integers(0, 3)):
        return draw(st.sampled_from(names))
    return draw(st.sampled_from(pool))


@st.composite
def relations(draw: st.DrawFn, state: ProjectState) -> Relation | None:
    """Draw no relation (mostly), a foreign key, a one-to-one or a many-to-many relation."""
    kind = draw(st.sampled_from(("none", "none", "none", "foreign_key", "one_to_one", "many_to_many")))
    if kind == "none":
        return None
    target = draw(model_keys(state))
    if kind == "many_to_many":
        table = draw(st.sampled_from((None, None, "join1")))
        return Relation("many_to_many", target, db_table=table)
    to_field = None
    if target in state.models and draw(st.booleans()):
        to_field = draw(field_names(state, target))
    return Relation(kind, target, to_field=to_field)


@st.composite
def fields(draw: st.DrawFn, state: ProjectState, name: str) -> FieldState:
    """Draw one field called ``name``."""
    relation = draw(relations(state))
    null = draw(st.booleans())
    default = draw(st.sampled_from((None, None, 0, 1, "d")))
    unique = draw(st.integers(0, 5)) == 0
    db_index = draw(st.integers(0, 5)) == 0
    column = draw(st.sampled_from((None, None, None, *COLUMNS)))
    column_type = draw(st.sampled_from(TYPES))
    if relation is not None and relation.kind == "many_to_many":
        null, default, unique, db_index, column = False, None, False, False, None
    return FieldState(
        name,
        column_type,
        null=null,
        default=default,
        unique=unique,
        db_index=db_index,
        db_column=column,
        relation=relation,
    )


@st.composite
def create_models(draw: st.DrawFn, state: ProjectState) -> Operation:
    """Draw a CreateModel with a few fields and maybe an index, a constraint, unique_together."""
    app, name = draw(model_keys(state, existing=False))
    names = draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True))
    new_fields = [ID, *(draw(fields(state, field)) for field in names)]
    plain = [f.name for f in new_fields[1:] if f.column is not None]
    indexes, constraints, together = [], [], []
    if plain and draw(st.booleans()):
        indexes.append(IndexState(draw(st.sampled_from(INDEXES)), [draw(st.sampled_from(plain))]))
    if plain and draw(st.booleans()):
        constraints.append(ConstraintState.unique_on(draw(st.sampled_from(CONSTRAINTS)), [plain[0]]))
    if len(plain) >= 2 and draw(st.booleans()):
        together.append(plain[:2])
    table = draw(st.sampled_from((None, None, None, *TABLES)))
    return CreateModel(app, name, new_fields, table, indexes, constraints, together)


@st.composite
def field_operations(draw: st.DrawFn, state: ProjectState) -> Operation:
    """Draw AddField, AlterField, RemoveField or RenameField on some model."""
    app, model = draw(model_keys(state))
    kind = draw(st.sampled_from(("add", "add", "alter", "alter", "remove", "rename")))
    name = draw(field_names(state, (app, model)))
    if kind == "add":
        return AddField(app, model, draw(fields(state, name)), preserve_default=draw(st.booleans()))
    if kind == "alter":
        return AlterField(app, model, name, draw(fields(state, name)), preserve_default=draw(st.booleans()))
    if kind == "remove":
        return RemoveField(app, model, name)
    return RenameField(app, model, name, draw(st.sampled_from(FIELDS)))


@st.composite
def index_operations(draw: st.DrawFn, state: ProjectState) -> Operation:
    """Draw an index or constraint operation on some model."""
    app, model = draw(model_keys(state))
    kind = draw(
        st.sampled_from(("add", "add", "remove", "rename", "rename", "add_c", "remove_c", "together"))
    )
    if kind == "add":
        index = IndexState(draw(st.sampled_from(INDEXES)), [draw(field_names(state, (app, model)))])
        return AddIndex(app, model, index)
    if kind == "remove":
        return RemoveIndex(app, model, draw(object_names(state, (app, model), INDEXES)))
    if kind == "rename":
        old = draw(object_names(state, (app, model), INDEXES))
        return RenameIndex(app, model, old, draw(st.sampled_from(INDEXES)))
    if kind == "add_c":
        constraint = draw(
            st.sampled_from(
                (
                    ConstraintState.unique_on(
                        draw(st.sampled_from(CONSTRAINTS)), [draw(field_names(state, (app, model)))]
                    ),
                    ConstraintState.check_that(draw(st.sampled_from(CONSTRAINTS)), "x > 0"),
                )
            )
        )
        return AddConstraint(app, model, constraint)
    if kind == "remove_c":
        return RemoveConstraint(app, model, draw(object_names(state, (app, model), CONSTRAINTS)))
    entries = draw(
        st.lists(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True), max_size=2)
    )
    return AlterUniqueTogether(app, model, entries)


@st.composite
def model_operations(draw: st.DrawFn, state: ProjectState) -> Operation:
    """Draw DeleteModel, RenameModel, AlterModelTable or AlterModelOptions."""
    app, model = draw(model_keys(state))
    kind = draw(st.sampled_from(("delete", "rename", "rename", "table", "options")))
    if kind == "delete":
        return DeleteModel(app, model)
    if kind == "rename":
        return RenameModel(app, model, draw(st.sampled_from(MODELS)))
    if kind == "table":
        return AlterModelTable(app, model, draw(st.sampled_from(TABLES)))
    return AlterModelOptions(app, model, comment=draw(st.sampled_from((None, "c1", "c2"))))


@st.composite
def operations(draw: st.DrawFn, state: ProjectState) -> Operation:
    """Draw one operation, likely (not surely) valid on ``state``."""
    # Barriers are always valid, so they get a small share of the draws.
    family = draw(
        st.sampled_from(("create",) * 4 + ("field",) * 6 + ("index",) * 3 + ("model",) * 3 + ("special",))
    )
    if family == "create":
        return draw(create_models(state))
    if family == "field":
        return draw(field_operations(state))
    if family == "index":
        return draw(index_operations(state))
    if family == "model":
        return draw(model_operations(state))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return RunSQL("UPDATE t SET x = 1", elidable=draw(st.booleans()))
    if choice == 1:
        # SQL that changes the schema, with the change it makes declared to the state.
        return RunSQL("ALTER TABLE t ...", state_operations=[draw(field_operations(state))])
    return RunCode("app.migrations.fill")


@st.composite
def valid_sequences(
    draw: st.DrawFn, state: ProjectState, min_size: int, max_size: int
) -> tuple[ProjectState, list[Operation]]:
    """Draw operations valid in order from ``state``; return the end state and the operations."""
    kept: list[Operation] = []
    target = draw(st.integers(min_size, max_size))
    attempts = 0
    while len(kept) < target and attempts < 4 * max_size:
        attempts += 1
        operation = draw(operations(state))
        try:
            state = operation.state_forwards(state)
        except MigrationError:
            continue
        kept.append(operation)
    return state, kept


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ProjectState, list[Operation]]:
    """Draw a start state (built by earlier operations the optimizer never sees) and a valid sequence."""
    start, _prefix = draw(valid_sequences(ProjectState(), 0, 6))
    _end, ops = draw(valid_sequences(start, 1, 24))
    return start, ops


@given(scenarios())
def test_optimized_sequence_replays_to_the_same_state(scenario: tuple[ProjectState, list[Operation]]) -> None:
    start, ops = scenario
    optimized = optimize(ops)
    assert len(optimized) <= len(ops)
    assert apply_all(optimized, start) == apply_all(ops, start)


@given(scenarios())
def test_optimizing_again_changes_nothing_and_is_deterministic(
    scenario: tuple[ProjectState, list[Operation]],
) -> None:
    # Passes repeat while one may have missed a merge, so the result is a fixed point.
    start, ops = scenario
    once = optimize(ops)
    assert optimize(once) == once
    assert optimize(list(ops)) == once
    assert apply_all(once, start) == apply_all(ops, start)


@given(st.data())
def test_law_6_holds_on_the_project_strategies(data: st.DataObject) -> None:
    start = data.draw(rs.project_states())
    ops = data.draw(rs.operation_sequences(start, 10))
    optimized = check_optimizer_keeps_state(ops, start)
    assert len(optimized) <= len(ops)
    assert apply_all(optimized, start) == apply_all(ops, start)

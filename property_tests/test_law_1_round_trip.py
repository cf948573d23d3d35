"""Law 1, round trip: replaying ``autodetect(a, b)`` on ``a`` gives ``b``.

``a`` comes from ``project_states()``; ``b`` is derived from ``a`` by random edits
(``state_edits``), the way a user edits models: renames carry ``previous_name`` hints,
new fields go at the end of their model, new indexes and constraints at the end of
their lists. The law must hold whatever the policy decides about unhinted renames, so
it runs with a policy that never guesses and with one that accepts near matches.

A second source derives ``b`` by replaying random operations on ``a`` (no hints). No
operation reorders fields, so such a ``b`` may list them in an order no diff can
reach (a field removed and added again under its name goes to the end; a rename the
policy declines becomes a removal and an addition): that property compares states up
to the order of fields, indexes and constraints.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import attrs
import hypothesis.strategies as st
from hypothesis import given, note
from hypothesis.strategies import DrawFn, composite

from reinhardt_migrations.pure.autodetector import (
    AcceptUnambiguousRenames,
    NeverRename,
    RenamePolicy,
    autodetect,
)
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.fields import FieldState, LiteralDefault, OnDelete, Relation, RelationKind
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import replay
from reinhardt_migrations.pure.operations import RenameField
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState
from reinhardt_migrations.pure.strategies import SCHEMA_KINDS, operation_sequences, project_states
from reinhardt_migrations.pure.types import (
    BigInteger,
    Boolean,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Integer,
    SmallInteger,
    Text,
    Varchar,
)

_RELATION_KINDS: tuple[RelationKind, ...] = ("foreign_key", "one_to_one", "many_to_many")
_TYPES: tuple[ColumnType, ...] = (
    Integer(),
    BigInteger(),
    SmallInteger(),
    Varchar(50),
    Varchar(200),
    Text(),
    Decimal(10, 2),
    Decimal(8, 3),
    Boolean(),
    Date(),
    DateTime(),
)


@attrs.define
class _Draft:
    """A state being edited, and where each current model and field came from in ``a``."""

    original: ProjectState
    state: ProjectState
    names: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def fresh(self, prefix: str) -> str:
        return f"zz_{prefix}{next(self.names)}"

    def models(self) -> list[ModelState]:
        return list(self.state)

    def origin(self, model: ModelState) -> ModelState | None:
        """Return the model of ``a`` this model was, if any (new models have fresh names)."""
        return self.original.models.get((model.app_label, model.previous_name or model.name))


def _one_off_value(field: FieldState) -> object:
    family = field.type.family
    if family == "text":
        return "x"
    if family == "boolean":
        return False
    if family == "temporal":
        return "2000-01-01"
    return 0


def _draw_field(draw: DrawFn, draft: _Draft, model: ModelState) -> FieldState:
    name = draft.fresh("f")
    if draw(st.integers(0, 4)) == 0:
        targets = [m for m in draft.models() if m.primary_key is not None]
        if targets:
            target = draw(st.sampled_from(targets))
            kind: RelationKind = draw(st.sampled_from(_RELATION_KINDS))
            relation = Relation(kind, target.key, on_delete=draw(st.sampled_from(list(OnDelete))))
            key_type = target.primary_key.type if target.primary_key is not None else Integer()
            if key_type.kind in ("auto", "bigauto"):
                key_type = BigInteger() if key_type.kind == "bigauto" else Integer()
            return FieldState(name, key_type, null=draw(st.booleans()), relation=relation)
    column_type = draw(st.sampled_from(_TYPES))
    default = draw(st.sampled_from([None, None, LiteralDefault(1)]))
    return FieldState(
        name,
        column_type,
        null=draw(st.booleans()),
        default=default,
        unique=draw(st.integers(0, 5)) == 0,
        db_index=draw(st.integers(0, 5)) == 0,
        comment=draw(st.sampled_from([None, "a comment"])),
    )


def _with_model(draft: _Draft, model: ModelState) -> None:
    draft.state = draft.state.with_model(model)


def _add_model(draw: DrawFn, draft: _Draft) -> None:
    apps = sorted({*draft.state.app_labels(), "zz_app"})
    app = draw(st.sampled_from(apps))
    name = draft.fresh("M")
    model = ModelState(app, name, [FieldState("id", "auto", primary_key=True)])
    draft.state = draft.state.with_new_model(model)
    for _ in range(draw(st.integers(0, 3))):
        field = _draw_field(draw, draft, model)
        model = model.with_field(field)
        _with_model(draft, model)


def _delete_model(draw: DrawFn, draft: _Draft) -> None:
    free = [m for m in draft.models() if not draft.state.referrers_of(m.key)]
    if free:
        model = draw(st.sampled_from(free))
        draft.state = draft.state.without_model(model.app_label, model.name)


def _rename_model(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    hint = model.previous_name or (model.name if model.key in draft.original.models else None)
    new_name = draft.fresh("R")
    state = draft.state.renamed_model(model.app_label, model.name, new_name)
    renamed = attrs.evolve(state.models[(model.app_label, new_name)], previous_name=hint)
    draft.state = state.with_model(renamed)


def _add_field(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    field = _draw_field(draw, draft, model)
    draft.state = draft.state.with_model(model.with_field(field))


def _remove_field(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    pointed_at = {
        r.to_field
        for other in (model, *draft.state.referrers_of(model.key))
        for _f, r in other.relations()
        if r.to == model.key and r.to_field is not None
    }
    removable = [
        f
        for f in model.fields
        if not f.primary_key and not model.uses_field(f.name) and f.name not in pointed_at
    ]
    if removable:
        field = draw(st.sampled_from(removable))
        draft.state = draft.state.with_model(model.without_field(field.name))


def _rename_field(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    field = draw(st.sampled_from(model.fields))
    origin = draft.origin(model)
    existed = origin is not None and origin.field_or_none(field.previous_name or field.name) is not None
    hint = field.previous_name or (field.name if existed else None)
    new_name = draft.fresh("g")
    state = RenameField(model.app_label, model.name, field.name, new_name).state_forwards(draft.state)
    renamed = state.models[model.key]
    draft.state = state.with_model(
        attrs.evolve(
            renamed,
            fields=[attrs.evolve(f, previous_name=hint) if f.name == new_name else f for f in renamed.fields],
        )
    )


def _alter_field(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    field = draw(
        st.sampled_from([f for f in model.fields if not f.primary_key])
        if len(model.fields) > 1
        else st.none()
    )
    if field is None:
        return
    change = draw(
        st.sampled_from(["type", "null", "default", "unique", "db_index", "comment", "column", "rel"])
    )
    if change == "type" and field.relation is None:
        altered = attrs.evolve(field, type=draw(st.sampled_from(_TYPES)))
    elif change == "null":
        altered = attrs.evolve(field, null=not field.null)
    elif change == "default":
        altered = attrs.evolve(
            field, default=draw(st.sampled_from([None, LiteralDefault(7), LiteralDefault("d")]))
        )
    elif change == "unique" and field.is_concrete:
        altered = attrs.evolve(field, unique=not field.unique)
    elif change == "db_index" and field.is_concrete:
        altered = attrs.evolve(field, db_index=not field.db_index)
    elif change == "comment":
        altered = attrs.evolve(field, comment=None if field.comment else "changed")
    elif change == "column" and field.is_concrete:
        altered = attrs.evolve(field, db_column=draft.fresh("col"))
    elif change == "rel" and field.relation is not None and field.relation.kind != "many_to_many":
        targets = [
            m for m in draft.models() if m.primary_key is not None and m.primary_key.type == field.type
        ]
        target = draw(st.sampled_from(targets)) if targets else None
        relation = attrs.evolve(
            field.relation,
            to=target.key if target is not None else field.relation.to,
            to_field=None,
            on_delete=draw(st.sampled_from(list(OnDelete))),
        )
        altered = attrs.evolve(field, relation=relation)
    else:
        return
    draft.state = draft.state.with_model(model.with_field_replaced(altered))


def _indexable(model: ModelState) -> list[str]:
    return [f.name for f in model.fields if f.is_concrete]


def _add_index(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    fields = draw(st.lists(st.sampled_from(_indexable(model)), min_size=1, max_size=2, unique=True))
    index = IndexState(draft.fresh("idx"), fields, unique=draw(st.booleans()))
    draft.state = draft.state.with_model(model.with_index(index))


def _remove_or_rename_index(draw: DrawFn, draft: _Draft) -> None:
    models = [m for m in draft.models() if m.indexes]
    if not models:
        return
    model = draw(st.sampled_from(models))
    index = draw(st.sampled_from(model.indexes))
    if draw(st.booleans()):
        draft.state = draft.state.with_model(model.without_index(index.name))
    else:
        renamed = tuple(
            i.renamed(draft.fresh("ren_idx")) if i.name == index.name else i for i in model.indexes
        )
        draft.state = draft.state.with_model(attrs.evolve(model, indexes=renamed))


def _change_constraints(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    remove = bool(model.constraints) and draw(st.booleans())
    if remove:
        constraint = draw(st.sampled_from(model.constraints))
        draft.state = draft.state.with_model(model.without_constraint(constraint.name))
    elif draw(st.booleans()):
        fields = draw(st.lists(st.sampled_from(_indexable(model)), min_size=1, max_size=2, unique=True))
        draft.state = draft.state.with_model(
            model.with_constraint(ConstraintState.unique_on(draft.fresh("uq"), fields))
        )
    else:
        draft.state = draft.state.with_model(
            model.with_constraint(ConstraintState.check_that(draft.fresh("ck"), "1 = 1"))
        )


def _change_unique_together(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    names = _indexable(model)
    entries = draw(
        st.lists(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True), max_size=2)
        if len(names) >= 2
        else st.just([])
    )
    unique = sorted({tuple(e) for e in entries})
    draft.state = draft.state.with_model(model.with_unique_together(unique))


def _change_model_options(draw: DrawFn, draft: _Draft) -> None:
    model = draw(st.sampled_from(draft.models()))
    change = draw(st.sampled_from(["table", "comment", "managed"]))
    if change == "table":
        changed = attrs.evolve(model, db_table=draft.fresh("tbl"))
    elif change == "comment":
        changed = attrs.evolve(model, comment=None if model.comment else "about")
    else:
        changed = attrs.evolve(model, managed=not model.managed)
    draft.state = draft.state.with_model(changed)


def _change_project(draw: DrawFn, draft: _Draft) -> None:
    state = draft.state
    if draw(st.booleans()):
        name = draw(st.sampled_from(["hstore", "citext", "pg_trgm"]))
        draft.state = (
            state.without_extension(name) if name in state.extensions else state.with_extension(name)
        )
    elif bool(state.collations) and draw(st.booleans()):
        draft.state = state.without_collation(sorted(state.collations)[0])
    else:
        draft.state = state.with_collation(
            CollationState(draft.fresh("coll"), "en-u-ks-level2", "icu", False)
        )


_EDITS: tuple[Callable[[DrawFn, _Draft], None], ...] = (
    _add_model,
    _delete_model,
    _rename_model,
    _add_field,
    _remove_field,
    _rename_field,
    _alter_field,
    _add_index,
    _remove_or_rename_index,
    _change_constraints,
    _change_unique_together,
    _change_model_options,
    _change_project,
)
_NEEDS_A_MODEL = frozenset(_EDITS) - {_add_model, _change_project}


@composite
def state_edits(draw: DrawFn, state: ProjectState, max_edits: int = 6) -> ProjectState:
    """Return ``state`` after random user-like edits; renames carry ``previous_name`` hints."""
    draft = _Draft(state, state)
    for _ in range(draw(st.integers(1, max_edits))):
        edit = draw(st.sampled_from(_EDITS))
        if edit in _NEEDS_A_MODEL and not draft.state.models:
            continue
        before = draft.state
        try:
            edit(draw, draft)
        except MigrationError:
            draft.state = before
    draft.state.check()
    return draft.state


@composite
def edited_pairs(draw: DrawFn) -> tuple[ProjectState, ProjectState]:
    """Return ``(a, b)`` with ``b`` edited from ``a``."""
    a = draw(project_states(max_models=5))
    return a, draw(state_edits(a))


@composite
def replayed_pairs(draw: DrawFn) -> tuple[ProjectState, ProjectState]:
    """Return ``(a, b)`` with ``b`` the state after random operations on ``a`` (no hints)."""
    a = draw(project_states(max_models=5))
    operations = draw(operation_sequences(a, 5, kinds=SCHEMA_KINDS))
    b = a
    for operation in operations:
        b = operation.state_forwards(b)
    return a, b


def _policy_for(b: ProjectState, base: RenamePolicy) -> RenamePolicy:
    defaults = {
        (model.app_label, model.name, field.name): _one_off_value(field)
        for model in b
        for field in model.fields
    }
    return base.with_one_off_defaults(defaults)


def _unordered(state: ProjectState) -> ProjectState:
    """Return ``state`` with each model's fields, indexes and constraints sorted by name."""

    def by_name(value: object) -> str:
        return str(getattr(value, "name", ""))

    return ProjectState(
        models=[
            attrs.evolve(
                model,
                fields=sorted(model.fields, key=by_name),
                indexes=sorted(model.indexes, key=by_name),
                constraints=sorted(model.constraints, key=by_name),
            )
            for model in state
        ],
        extensions=state.extensions,
        collations=state.collations,
    )


def _check_round_trip(a: ProjectState, b: ProjectState, base: RenamePolicy, *, exact: bool = True) -> None:
    result = autodetect(a, b, _policy_for(b, base))
    for operation in result.operations:
        note(operation.describe())
    replayed = replay(result.migrations, a)
    if exact:
        assert replayed == b
    else:
        assert _unordered(replayed) == _unordered(b)
    # The dependencies written are enough: the graph's own plan order replays the same.
    graph = MigrationGraph.from_migrations(result.migrations)
    planned = replay([graph.migration(key) for key in graph.forwards_plan(None, frozenset())], a)
    assert planned == replayed
    # Quiet after the round trip: the replayed state already is the wanted one.
    assert not autodetect(replayed, b, _policy_for(b, base)).operations


@given(edited_pairs())
def test_replaying_the_detected_changes_gives_the_edited_state(
    pair: tuple[ProjectState, ProjectState],
) -> None:
    a, b = pair
    _check_round_trip(a, b, NeverRename())


@given(edited_pairs())
def test_round_trip_holds_when_near_renames_are_accepted(pair: tuple[ProjectState, ProjectState]) -> None:
    a, b = pair
    _check_round_trip(a, b, AcceptUnambiguousRenames(include_near=True))


@given(replayed_pairs())
def test_replaying_the_detected_changes_gives_the_state_operations_made(
    pair: tuple[ProjectState, ProjectState],
) -> None:
    a, b = pair
    _check_round_trip(a, b, AcceptUnambiguousRenames(), exact=False)

"""Rules that draw schema operations valid on a state: models, fields, indexes, constraints.

Theory of operation: ``Facts`` reads a state once per drawn operation (folded object
names and model keys, relation targets, fields something points at); each rule is a
pair (does the kind apply to these facts?, draw one operation) in ``SCHEMA_RULES``.
Every operation stays valid on SQLite, PostgreSQL and MySQL: new names are fresh under
case folding, removed fields are used by nothing, altered fields only widen their type,
and a NOT NULL column gets a default for the rows already there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import hypothesis.strategies as st
from hypothesis.strategies import DrawFn

from reinhardt_migrations.pure.constraints import ConstraintState
from reinhardt_migrations.pure.fields import NO_DEFAULT, FieldState, NoDefault, OnDelete
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    ColumnDefinition,
    CreateModel,
    CreateTable,
    DeleteModel,
    Operation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name
from reinhardt_migrations.pure.strategies.names import (
    app_labels,
    draw_fresh,
    fold,
    identifiers,
    project_object_names,
    texts,
)
from reinhardt_migrations.pure.strategies.values import (
    CHECK_CONDITIONS,
    Target,
    db_defaults,
    draw_constraint,
    draw_field,
    draw_index,
    draw_model,
    draw_unique_together,
    indexable_fields,
    is_indexable,
    targets_of,
)
from reinhardt_migrations.pure.types import (
    BigInteger,
    ColumnType,
    Decimal,
    Double,
    Float,
    Integer,
    SmallInteger,
    Text,
    Varchar,
)

__all__ = ["SCHEMA_RULES", "Facts", "Rule", "always", "any_model"]


@attrs.frozen
class Facts:
    """What the rules read from one state, computed once per drawn operation."""

    state: ProjectState
    models: tuple[ModelState, ...]
    objects: frozenset[str]
    keys: frozenset[tuple[str, str]]
    targets: tuple[Target, ...]
    #: ``(app, model, field)`` of every field a relation names as ``to_field``, and primary keys.
    referenced: frozenset[tuple[str, str, str]]
    partial_indexes: bool

    @classmethod
    def of(cls, state: ProjectState, partial_indexes: bool) -> Facts:
        """Return the facts of ``state``."""
        models = tuple(state)
        referenced: set[tuple[str, str, str]] = set()
        for model in models:
            if model.primary_key is not None:
                referenced.add((*model.key, model.primary_key.name))
            for _field, relation in model.relations():
                if relation.to_field is not None:
                    referenced.add((*relation.to, relation.to_field))
        return cls(
            state=state,
            models=models,
            objects=frozenset(project_object_names(state)),
            keys=frozenset((m.app_label, fold(m.name)) for m in models),
            targets=tuple(t for t in (targets_of(m) for m in models) if t is not None),
            referenced=frozenset(referenced),
            partial_indexes=partial_indexes,
        )

    def models_where(self, test: Callable[[ModelState], bool]) -> list[ModelState]:
        """Return the models passing ``test``, in key order."""
        return [model for model in self.models if test(model)]

    def app_label(self, draw: DrawFn) -> str:
        """Draw an app label of the state, or a new one."""
        labels = self.state.app_labels()
        if draw(st.integers(0, 3)) and labels:
            return draw(st.sampled_from(labels))
        return draw(app_labels())


def _model_names(model: ModelState, *, leaving_out: str | None = None) -> set[str]:
    names: set[str] = set()
    for field in model.fields:
        if field.name != leaving_out:
            names.add(fold(field.name))
            if field.column is not None:
                names.add(fold(field.column))
    return names


# -- models ---------------------------------------------------------------------------


def _create_model(draw: DrawFn, facts: Facts) -> Operation:
    model = draw_model(
        draw,
        facts.app_label(draw),
        set(facts.objects),
        set(facts.keys),
        facts.targets,
        partial_indexes=facts.partial_indexes,
    )
    return CreateModel.from_model(model)


def _deletable(facts: Facts) -> list[ModelState]:
    return facts.models_where(lambda m: not facts.state.referrers_of(m.key))


def _delete_model(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(_deletable(facts)))
    return DeleteModel(model.app_label, model.name)


def _rename_model(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models))
    app = model.app_label
    follows = model.db_table == default_table_name(app, model.name)

    # A rename that only changes case ("post" -> "Post") keeps the folded names, so the
    # folded namespaces cannot vouch for it; it is drawn on its own.
    recased = model.name.swapcase()
    if (
        draw(st.integers(0, 4)) == 0
        and recased != model.name
        and fold(recased) == fold(model.name)
        and (app, recased) not in facts.state.models
    ):
        return RenameModel(app, model.name, recased)

    def free(name: str) -> bool:
        if (app, fold(name)) in facts.keys:
            return False
        return not follows or fold(default_table_name(app, name)) not in facts.objects

    return RenameModel(app, model.name, draw_fresh(draw, free))


def _alter_model_table(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models))
    table = draw_fresh(draw, lambda n: fold(n) not in facts.objects)
    return AlterModelTable(model.app_label, model.name, table)


def _alter_model_options(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models))
    options = draw(st.dictionaries(st.sampled_from(("charset", "collate", "engine")), texts(8), max_size=2))
    return AlterModelOptions(
        model.app_label,
        model.name,
        comment=draw(st.one_of(st.none(), texts())),
        # Flipping managed changes no table (as in Django): a sequence that flipped it
        # would then run SQL on a table the database never had.
        managed=model.managed,
        options=options,
    )


def _has_two_indexable(model: ModelState) -> bool:
    return len(indexable_fields(model)) >= 2


def _alter_unique_together(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(_has_two_indexable)))
    return AlterUniqueTogether(model.app_label, model.name, draw_unique_together(draw, model))


# ColumnDefinition types, and the literal defaults each may carry (None: no default).
_TABLE_TYPES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("INTEGER", True, ("0", "-7", "2147483647")),
    ("BIGINT", True, ("9007199254740993",)),
    ("SMALLINT", True, ("-32768",)),
    ("VARCHAR(100)", True, ("''", "'it''s'", "'Größe'", "'ßß'", "'a  b'")),
    ("TEXT", False, ()),
    ("BOOLEAN", True, ()),
    ("DECIMAL(10, 2)", True, ("12", "-3")),
    ("DATE", True, ("'2024-02-29'",)),
    ("TIMESTAMP", True, ()),
    ("REAL", True, ("1.5",)),
    ("DOUBLE PRECISION", True, ("-2.25",)),
    ("UUID", True, ()),
    ("JSON", False, ()),
    ("BLOB", False, ()),
)
_TABLE_KEYS = ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY")


def _create_table(draw: DrawFn, facts: Facts) -> Operation:
    app = facts.app_label(draw) if draw(st.booleans()) else "tables"

    def free(name: str) -> bool:
        return (app, fold(name)) not in facts.keys and fold(name) not in facts.objects

    name = draw_fresh(draw, free)
    key = draw(st.one_of(st.just("id"), identifiers()))
    columns = [ColumnDefinition(key, draw(st.sampled_from(_TABLE_KEYS)))]
    taken = {fold(columns[0].name)}
    indexable: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        column = draw_fresh(draw, lambda n: fold(n) not in taken)
        taken.add(fold(column))
        sql_type, can_index, literals = draw(st.sampled_from(_TABLE_TYPES))
        flags = (" NOT NULL", " NULL", "", " UNIQUE") if can_index else (" NOT NULL", " NULL", "")
        flag = draw(st.sampled_from(flags))
        default = ""
        if draw(st.booleans()) and literals:
            default = f" DEFAULT {draw(st.sampled_from(literals))}"
        columns.append(ColumnDefinition(column, f"{sql_type}{flag}{default}"))
        if can_index:
            indexable.append(column)
    constraints: list[ConstraintState] = []
    if draw(st.booleans()):
        constraint_name = draw_fresh(draw, lambda n: fold(n) not in facts.objects and fold(n) != fold(name))
        if draw(st.booleans()) and indexable:
            fields = draw(st.lists(st.sampled_from(indexable), min_size=1, max_size=2, unique=True))
            constraints.append(ConstraintState.unique_on(constraint_name, fields))
        else:
            check = draw(st.sampled_from(CHECK_CONDITIONS))
            constraints.append(ConstraintState.check_that(constraint_name, check))
    return CreateTable(name, columns, constraints, app_label=app)


# -- fields ---------------------------------------------------------------------------


def _add_field(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models))
    field, preserve = draw_field(
        draw, _model_names(model), set(facts.objects), model.db_table, facts.targets, for_add=True
    )
    return AddField(model.app_label, model.name, field, preserve_default=preserve)


def _removable(facts: Facts) -> list[tuple[ModelState, FieldState]]:
    pairs = []
    for model in facts.models:
        columns = sum(1 for f in model.fields if f.is_concrete)
        for field in model.fields:
            if (
                not field.primary_key
                and not model.uses_field(field.name)
                and (*model.key, field.name) not in facts.referenced
                and (columns > 1 or not field.is_concrete)
            ):
                pairs.append((model, field))
    return pairs


def _remove_field(draw: DrawFn, facts: Facts) -> Operation:
    model, field = draw(st.sampled_from(_removable(facts)))
    return RemoveField(model.app_label, model.name, field.name)


def _alterable(facts: Facts) -> list[tuple[ModelState, FieldState]]:
    return [
        (model, field)
        for model in facts.models
        for field in model.fields
        if field.is_concrete and not field.primary_key and (*model.key, field.name) not in facts.referenced
    ]


def _wider_types(column_type: ColumnType, keep_indexable: bool) -> list[ColumnType]:
    """Return types a column may widen to without a cast that fails on existing rows."""
    if isinstance(column_type, SmallInteger):
        return [Integer(), BigInteger()]
    if isinstance(column_type, Integer):
        return [BigInteger()]
    if isinstance(column_type, Float):
        return [Double()]
    if isinstance(column_type, Decimal):
        return [Decimal(column_type.max_digits + 2, column_type.decimal_places)]
    if isinstance(column_type, Varchar):
        wider: list[ColumnType] = [Varchar(min(column_type.max_length + 50, 255))]
        return wider if keep_indexable else [*wider, Text()]
    return []


def _alter_field(draw: DrawFn, facts: Facts) -> Operation:
    model, old = draw(st.sampled_from(_alterable(facts)))
    used = bool(model.uses_field(old.name)) or old.unique or old.db_index
    changes: dict[str, Any] = {"comment": draw(st.one_of(st.just(old.comment), texts()))}
    column_type = old.type
    if old.relation is None:
        wider = _wider_types(old.type, keep_indexable=used)
        if draw(st.booleans()) and wider:
            column_type = draw(st.sampled_from(wider))
            changes["type"] = column_type
    literal = db_defaults(column_type)
    default = old.default
    if literal is None and not isinstance(default, NoDefault):
        default = NO_DEFAULT
    if literal is not None and draw(st.booleans()):
        default = draw(literal)
    elif draw(st.integers(0, 3)) == 0:
        default = NO_DEFAULT
    # NOT NULL needs a default for the rows already there, unless the column stays NOT NULL.
    null = old.null if draw(st.booleans()) else not old.null
    if old.null and not null and isinstance(default, NoDefault):
        null = True
    changes.update(null=null, default=default)
    if is_indexable(column_type) and old.relation is None:
        flag = draw(st.sampled_from(("", "unique", "db_index")))
        changes.update(unique=flag == "unique", db_index=flag == "db_index")
    if old.relation is not None:
        choices = [OnDelete.CASCADE, OnDelete.PROTECT, OnDelete.DO_NOTHING]
        if null:
            choices.append(OnDelete.SET_NULL)
        relation = attrs.evolve(old.relation, on_delete=draw(st.sampled_from(choices)))
        # Point the key at another model whose key has the column's type (the referrers index moves).
        others = [t.key for t in facts.targets if t.keys[0][1] == old.type and t.key != relation.to]
        if draw(st.booleans()) and others and old.relation.kind != "many_to_many":
            relation = attrs.evolve(relation, to=draw(st.sampled_from(others)), to_field=None)
        changes["relation"] = relation
    new = attrs.evolve(old, **changes).without_object_names()
    preserve = not (old.null and not null) or draw(st.booleans())
    return AlterField(model.app_label, model.name, old.name, new, preserve_default=preserve)


def _rename_field(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(lambda m: bool(m.fields))))
    field = draw(st.sampled_from(model.fields))
    taken = _model_names(model, leaving_out=field.name)

    def free(name: str) -> bool:
        if fold(name) in taken:
            return False
        column = attrs.evolve(field, name=name).column
        return column is None or fold(column) not in taken

    return RenameField(model.app_label, model.name, field.name, draw_fresh(draw, free))


# -- indexes and constraints ----------------------------------------------------------


def _has_indexable(model: ModelState) -> bool:
    return bool(indexable_fields(model))


def _add_index(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(_has_indexable)))
    index = draw_index(draw, model, set(facts.objects), partial=facts.partial_indexes)
    return AddIndex(model.app_label, model.name, index)


def _remove_index(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(lambda m: bool(m.indexes))))
    return RemoveIndex(model.app_label, model.name, draw(st.sampled_from(model.indexes)).name)


def _rename_index(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(lambda m: bool(m.indexes))))
    old = draw(st.sampled_from(model.indexes)).name
    new = draw_fresh(draw, lambda n: fold(n) not in facts.objects)
    return RenameIndex(model.app_label, model.name, old, new)


def _add_constraint(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models))
    return AddConstraint(model.app_label, model.name, draw_constraint(draw, model, set(facts.objects)))


def _remove_constraint(draw: DrawFn, facts: Facts) -> Operation:
    model = draw(st.sampled_from(facts.models_where(lambda m: bool(m.constraints))))
    return RemoveConstraint(model.app_label, model.name, draw(st.sampled_from(model.constraints)).name)


def always(facts: Facts) -> bool:
    """Tell that a kind applies to any state."""
    return True


def any_model(facts: Facts) -> bool:
    """Tell whether the state has a model to work on."""
    return bool(facts.models)


#: A rule: (does the kind apply to these facts?, draw one operation of the kind).
Rule = tuple[Callable[[Facts], bool], Callable[[DrawFn, Facts], Operation]]

SCHEMA_RULES: dict[str, Rule] = {
    "CreateModel": (always, _create_model),
    "DeleteModel": (lambda f: bool(_deletable(f)), _delete_model),
    "RenameModel": (any_model, _rename_model),
    "AlterModelTable": (any_model, _alter_model_table),
    "AlterModelOptions": (any_model, _alter_model_options),
    "AlterUniqueTogether": (lambda f: bool(f.models_where(_has_two_indexable)), _alter_unique_together),
    "CreateTable": (always, _create_table),
    "AddField": (any_model, _add_field),
    "RemoveField": (lambda f: bool(_removable(f)), _remove_field),
    "AlterField": (lambda f: bool(_alterable(f)), _alter_field),
    "RenameField": (lambda f: bool(f.models_where(lambda m: bool(m.fields))), _rename_field),
    "AddIndex": (lambda f: bool(f.models_where(_has_indexable)), _add_index),
    "RemoveIndex": (lambda f: bool(f.models_where(lambda m: bool(m.indexes))), _remove_index),
    "RenameIndex": (lambda f: bool(f.models_where(lambda m: bool(m.indexes))), _rename_index),
    "AddConstraint": (any_model, _add_constraint),
    "RemoveConstraint": (lambda f: bool(f.models_where(lambda m: bool(m.constraints))), _remove_constraint),
}

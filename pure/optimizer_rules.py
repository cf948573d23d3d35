"""The optimizer's reductions: which two operations on one object merge, and into what.

Theory of operation: ``RULES`` maps (type of the first, type of the second) to a small
reducer. A reducer returns the operations equivalent to "first, then second" (an empty
tuple when they cancel, one operation when they merge), or None when this pair does
not merge (another object, or a case the merge would get wrong). The optimizer only
asks about pairs it may bring together (nothing in between observes either), so a
reducer reasons about the two operations alone. Each result must replay to the same
state as the pair; comments say why where that is not obvious.

Three things need care beyond the state's fields:

- One-off defaults (``preserve_default=False``) fill existing rows and are then
  dropped from the state. A new table has no rows, so CreateModel drops them; AddField
  keeps the value that fills existing rows (see ``_add_alter_field``).
- Automatic many-to-many join tables are named from the model's table and the
  field's name when the field joins the model, and keep that name. A reduction that
  renames the model, its table or the field first pins the name the original sequence
  would have made (``_pinned``).
- A default table name follows its model through a rename; an explicit one stays.
  RenameModel chains merge only when the table's fate is known to be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from reinhardt_migrations.pure.fields import NO_DEFAULT, FieldState, ModelKey
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.operations.fields import AddField, AlterField, RemoveField, RenameField
from reinhardt_migrations.pure.operations.indexes import (
    AddConstraint,
    AddIndex,
    RemoveConstraint,
    RemoveIndex,
    RenameIndex,
)
from reinhardt_migrations.pure.operations.models import (
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    CreateModel,
    CreateTable,
    DeleteModel,
    RenameModel,
)
from reinhardt_migrations.pure.optimizer_knowledge import Before, followed_table
from reinhardt_migrations.pure.state import default_table_name

__all__ = ["RULES", "Reduced", "Reducer", "model_key"]

Reduced = tuple[Operation, ...]
#: (first, second, what is known just before the first) -> replacement or None.
Reducer = Callable[[Any, Any, Before], "Reduced | None"]


def _own_model(operation: Any) -> ModelKey:
    return (operation.app_label, operation.name)


def _field_model(operation: Any) -> ModelKey:
    return (operation.app_label, operation.model_name)


# Where each built-in operation names its model (RenameModel: by its old name).
_MODEL_OF: dict[type, Callable[[Any], ModelKey]] = {
    **dict.fromkeys(
        (CreateModel, CreateTable, DeleteModel, AlterModelTable, AlterModelOptions, AlterUniqueTogether),
        _own_model,
    ),
    **dict.fromkeys(
        (
            AddField,
            AlterField,
            RemoveField,
            RenameField,
            AddIndex,
            RemoveIndex,
            RenameIndex,
            AddConstraint,
            RemoveConstraint,
        ),
        _field_model,
    ),
    RenameModel: lambda operation: (operation.app_label, operation.old_name),
}


def model_key(operation: Operation) -> ModelKey | None:
    """Return the key of the one model a built-in operation is about (RenameModel: its old name)."""
    key_of = _MODEL_OF.get(type(operation))
    return None if key_of is None else key_of(operation)


def _kept(field: FieldState, preserve_default: bool) -> FieldState:
    """Return the field as the state keeps it: a one-off default is dropped."""
    return field if preserve_default else attrs.evolve(field, default=NO_DEFAULT)


def _is_auto_join(field: FieldState) -> bool:
    relation = field.relation
    return (
        relation is not None and field.is_many_to_many and relation.through is None and not relation.db_table
    )


def _pinned(field: FieldState, table: str) -> FieldState:
    """Return ``field`` with its automatic join table named as the state names it now."""
    if not _is_auto_join(field):
        return field
    assert field.relation is not None
    join = object_name(table, [field.name], "")
    return attrs.evolve(field, relation=attrs.evolve(field.relation, db_table=join))


def _table(create: CreateModel) -> str:
    return create.db_table or default_table_name(create.app_label, create.name)


def _position(create: CreateModel, name: str) -> int | None:
    for position, field in enumerate(create.fields):
        if field.name == name:
            return position
    return None


def _object_names(create: CreateModel) -> set[str]:
    return {index.name for index in create.indexes} | {c.name for c in create.constraints}


def _changed(create: CreateModel, **changes: Any) -> Reduced:
    """Return ``create`` with some attributes changed, built directly (this is the hot path)."""
    values: dict[str, Any] = {
        "app_label": create.app_label,
        "name": create.name,
        "fields": create.fields,
        "db_table": create.db_table,
        "indexes": create.indexes,
        "constraints": create.constraints,
        "unique_together": create.unique_together,
        "comment": create.comment,
        "managed": create.managed,
        "options": create.options,
    }
    values.update(changes)
    return (CreateModel(**values),)


# CreateModel absorbs later changes to its model: the result creates the model as the
# pair leaves it. The table is new and empty, so one-off defaults simply go.


def _create_add_field(a: CreateModel, b: AddField, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or _position(a, b.field.name) is not None:
        return None
    return _changed(a, fields=(*a.fields, _kept(b.field, b.preserve_default)))


def _create_alter_field(a: CreateModel, b: AlterField, _before: Before) -> Reduced | None:
    position = _position(a, b.name)
    if (a.app_label, a.name) != (b.app_label, b.model_name) or position is None:
        return None
    new = _kept(b.field, b.preserve_default)
    if new.is_concrete != a.fields[position].is_concrete:
        return None
    fields = (*a.fields[:position], new, *a.fields[position + 1 :])
    return _changed(a, fields=fields)


def _create_remove_field(a: CreateModel, b: RemoveField, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or _position(a, b.name) is None:
        return None
    # RemoveField refuses a field still in use; then the pair would fail, so keep it as is.
    used = (
        any(b.name in index.field_names for index in a.indexes)
        or any(b.name in constraint.fields for constraint in a.constraints)
        or any(b.name in entry for entry in a.unique_together)
        or any(
            f.relation is not None
            and f.relation.to == (a.app_label, a.name)
            and f.relation.to_field == b.name
            for f in a.fields
        )
    )
    if used:
        return None
    return _changed(a, fields=tuple(f for f in a.fields if f.name != b.name))


def _create_rename_field(a: CreateModel, b: RenameField, _before: Before) -> Reduced | None:
    old, new = b.old_name, b.new_name
    if (a.app_label, a.name) != (b.app_label, b.model_name) or _position(a, old) is None:
        return None
    if old == new:
        return (a,)
    if _position(a, new) is not None:
        return None
    key, table = (a.app_label, a.name), _table(a)
    fields = []
    for field in a.fields:
        if field.name == old:
            field = _pinned(field, table).with_name(new)
        relation = field.relation
        if relation is not None and relation.to == key and relation.to_field == old:
            field = attrs.evolve(field, relation=attrs.evolve(relation, to_field=new))
        fields.append(field)
    return _changed(
        a,
        fields=fields,
        indexes=[index.with_field_renamed(old, new) for index in a.indexes],
        constraints=[constraint.with_field_renamed(old, new) for constraint in a.constraints],
        unique_together=[[new if n == old else n for n in entry] for entry in a.unique_together],
    )


def _create_add_index(a: CreateModel, b: AddIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or b.index.name in _object_names(a):
        return None
    return _changed(a, indexes=(*a.indexes, b.index))


def _create_remove_index(a: CreateModel, b: RemoveIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or b.name not in {i.name for i in a.indexes}:
        return None
    return _changed(a, indexes=tuple(i for i in a.indexes if i.name != b.name))


def _create_rename_index(a: CreateModel, b: RenameIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or b.old_name not in {i.name for i in a.indexes}:
        return None
    if b.new_name != b.old_name and b.new_name in _object_names(a):
        return None
    indexes = tuple(i.renamed(b.new_name) if i.name == b.old_name else i for i in a.indexes)
    return _changed(a, indexes=indexes)


def _create_add_constraint(a: CreateModel, b: AddConstraint, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.model_name) or b.constraint.name in _object_names(a):
        return None
    return _changed(a, constraints=(*a.constraints, b.constraint))


def _create_remove_constraint(a: CreateModel, b: RemoveConstraint, _before: Before) -> Reduced | None:
    names = {c.name for c in a.constraints}
    if (a.app_label, a.name) != (b.app_label, b.model_name) or b.name not in names:
        return None
    return _changed(a, constraints=tuple(c for c in a.constraints if c.name != b.name))


def _create_unique_together(a: CreateModel, b: AlterUniqueTogether, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.name):
        return None
    return _changed(a, unique_together=b.unique_together)


def _create_options(a: CreateModel, b: AlterModelOptions, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.name):
        return None
    return _changed(a, comment=b.comment, managed=b.managed, options=b.options)


def _create_table(a: CreateModel, b: AlterModelTable, _before: Before) -> Reduced | None:
    if (a.app_label, a.name) != (b.app_label, b.name):
        return None
    fields = [_pinned(field, _table(a)) for field in a.fields]
    table = None if b.table == default_table_name(a.app_label, a.name) else b.table
    return _changed(a, fields=fields, db_table=table)


def _create_delete(a: CreateModel, b: DeleteModel, _before: Before) -> Reduced | None:
    return () if (a.app_label, a.name) == (b.app_label, b.name) else None


def _create_rename_model(a: CreateModel, b: RenameModel, _before: Before) -> Reduced | None:
    old, new = (a.app_label, a.name), (b.app_label, b.new_name)
    if old != (b.app_label, b.old_name) or old == new:
        return None
    table = _table(a)
    moved = followed_table(table, old, new)
    fields = []
    for field in a.fields:
        field = _pinned(field, table)
        relation = field.relation
        if relation is not None and old in (relation.to, relation.through):
            relation = attrs.evolve(
                relation,
                to=new if relation.to == old else relation.to,
                through=new if relation.through == old else relation.through,
            )
            field = attrs.evolve(field, relation=relation)
        fields.append(field)
    db_table = None if moved == default_table_name(*new) else moved
    return _changed(a, name=b.new_name, fields=fields, db_table=db_table)


def _via_create_model(reducer: Reducer) -> Reducer:
    """Return a reducer for CreateTable first: it is CreateModel of the table's columns."""

    def reduce(a: CreateTable, b: Any, before: Before) -> Reduced | None:
        if model_key(a) != model_key(b):
            return None
        return reducer(a.as_create_model(), b, before)

    return reduce


# Field pairs: the same field of the same model.


def _same_field(a: AddField | AlterField | RenameField, b: Any, name: str, other: str) -> bool:
    return (a.app_label, a.model_name) == (b.app_label, b.model_name) and name == other


def _add_remove_field(a: AddField, b: RemoveField, _before: Before) -> Reduced | None:
    return () if _same_field(a, b, a.field.name, b.name) else None


def _add_alter_field(a: AddField, b: AlterField, _before: Before) -> Reduced | None:
    """Merge into one AddField that fills existing rows as the pair does.

    The pair fills existing rows with the added field's default; with none, a nullable
    column made NOT NULL gets the altered field's default (how databases apply a
    null-to-not-null change with a default). The merged AddField fills rows with its
    default and keeps it unless it is one-off, so it can express the pair only when the
    kept default is that fill value or there is no kept default.
    """
    if not _same_field(a, b, a.field.name, b.name):
        return None
    first, second = a.field, b.field
    fill = first.default
    if fill == NO_DEFAULT and first.null and not second.null:
        fill = second.default
    kept = second.default if b.preserve_default else NO_DEFAULT
    if kept != fill and kept != NO_DEFAULT:
        return None
    field = second if second.default == fill else attrs.evolve(second, default=fill)
    return (AddField(a.app_label, a.model_name, field, preserve_default=kept == fill),)


def _add_rename_field(a: AddField, b: RenameField, _before: Before) -> Reduced | None:
    # An automatic join table would be named after the new name; the pair names it after the old.
    if not _same_field(a, b, a.field.name, b.old_name) or _is_auto_join(a.field):
        return None
    field = a.field.with_name(b.new_name)
    relation = field.relation
    if (
        relation is not None
        and relation.to == (a.app_label, a.model_name)
        and relation.to_field == b.old_name
    ):
        # The rename also rewrites relations naming the field, this one's own included.
        field = attrs.evolve(field, relation=attrs.evolve(relation, to_field=b.new_name))
    return (attrs.evolve(a, field=field),)


def _alter_alter_field(a: AlterField, b: AlterField, _before: Before) -> Reduced | None:
    # The first one's default may fill NULLs of rows (it makes the column NOT NULL); the
    # second alone fills them only with its own default, and only if it is NOT NULL too.
    if not _same_field(a, b, a.name, b.name):
        return None
    first = a.field
    if first.null or first.default == NO_DEFAULT or (not b.field.null and b.field.default == first.default):
        return (b,)
    return None


def _alter_remove_field(a: AlterField, b: RemoveField, before: Before) -> Reduced | None:
    # RemoveField refuses a field some relation names by to_field. The AlterField changed
    # only this field, so the one relation that can differ is its own old one, pointing at
    # itself; unless the old definition is known, that cannot be ruled out.
    old = before.field
    if not _same_field(a, b, a.name, b.name) or old is None:
        return None
    relation = old.relation
    key = (a.app_label, a.model_name)
    if relation is not None and relation.to == key and relation.to_field == a.name:
        return None
    return (b,)


def _rename_rename_field(a: RenameField, b: RenameField, _before: Before) -> Reduced | None:
    if not _same_field(a, b, a.new_name, b.old_name):
        return None
    if b.new_name == a.old_name:
        return ()
    return (RenameField(a.app_label, a.model_name, a.old_name, b.new_name),)


def _rename_remove_field(a: RenameField, b: RemoveField, _before: Before) -> Reduced | None:
    if not _same_field(a, b, a.new_name, b.name):
        return None
    return (RemoveField(a.app_label, a.model_name, a.old_name),)


# Index and constraint pairs: the same name on the same model.


def _add_remove_index(a: AddIndex, b: RemoveIndex, _before: Before) -> Reduced | None:
    same = (a.app_label, a.model_name, a.index.name) == (b.app_label, b.model_name, b.name)
    return () if same else None


def _add_rename_index(a: AddIndex, b: RenameIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.model_name, a.index.name) != (b.app_label, b.model_name, b.old_name):
        return None
    return (attrs.evolve(a, index=a.index.renamed(b.new_name)),)


def _rename_rename_index(a: RenameIndex, b: RenameIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.model_name, a.new_name) != (b.app_label, b.model_name, b.old_name):
        return None
    if b.new_name == a.old_name:
        return ()
    return (RenameIndex(a.app_label, a.model_name, a.old_name, b.new_name),)


def _rename_remove_index(a: RenameIndex, b: RemoveIndex, _before: Before) -> Reduced | None:
    if (a.app_label, a.model_name, a.new_name) != (b.app_label, b.model_name, b.name):
        return None
    return (RemoveIndex(a.app_label, a.model_name, a.old_name),)


def _add_remove_constraint(a: AddConstraint, b: RemoveConstraint, _before: Before) -> Reduced | None:
    same = (a.app_label, a.model_name, a.constraint.name) == (b.app_label, b.model_name, b.name)
    return () if same else None


# Model pairs.


def _last_wins(a: Operation, b: Operation, _before: Before) -> Reduced | None:
    """The second sets everything the first did (options, unique_together, table): keep it."""
    return (b,) if model_key(a) == model_key(b) else None


def _then_delete(a: Operation, b: DeleteModel, _before: Before) -> Reduced | None:
    """Any change to a model is moot once the model is deleted."""
    return (b,) if model_key(a) == (b.app_label, b.name) else None


def _rename_rename_model(a: RenameModel, b: RenameModel, before: Before) -> Reduced | None:
    # A default table follows each rename and an explicit one stays, so A->B->C can end
    # with another table than A->C (an explicit table that happens to be B's default).
    # Merge only when the model's table before the pair is known and both agree.
    table_before = before.table
    if (a.app_label, a.new_name) != (b.app_label, b.old_name) or table_before is None:
        return None
    first, middle, last = (a.app_label, a.old_name), (a.app_label, a.new_name), (a.app_label, b.new_name)
    after_pair = followed_table(followed_table(table_before, first, middle), middle, last)
    if last == first:
        return () if after_pair == table_before else None
    if followed_table(table_before, first, last) != after_pair:
        return None
    return (RenameModel(a.app_label, a.old_name, b.new_name),)


def _rename_model_delete(a: RenameModel, b: DeleteModel, _before: Before) -> Reduced | None:
    if (a.app_label, a.new_name) != (b.app_label, b.name):
        return None
    return (DeleteModel(a.app_label, a.old_name),)


_CREATE_RULES: dict[type, Reducer] = {
    AddField: _create_add_field,
    AlterField: _create_alter_field,
    RemoveField: _create_remove_field,
    RenameField: _create_rename_field,
    AddIndex: _create_add_index,
    RemoveIndex: _create_remove_index,
    RenameIndex: _create_rename_index,
    AddConstraint: _create_add_constraint,
    RemoveConstraint: _create_remove_constraint,
    AlterUniqueTogether: _create_unique_together,
    AlterModelOptions: _create_options,
    AlterModelTable: _create_table,
    DeleteModel: _create_delete,
    RenameModel: _create_rename_model,
}

# Operations on one model that a later DeleteModel of that model makes moot.
_MOOT_BEFORE_DELETE = (
    AddField,
    AlterField,
    RemoveField,
    RenameField,
    AddIndex,
    RemoveIndex,
    RenameIndex,
    AddConstraint,
    RemoveConstraint,
    AlterModelOptions,
    AlterUniqueTogether,
    AlterModelTable,
)

#: (type of first, type of second) -> reducer. Pairs not listed fall back to first.reduce(second).
RULES: dict[tuple[type, type], Reducer] = {
    **{(CreateModel, second): rule for second, rule in _CREATE_RULES.items()},
    **{(CreateTable, second): _via_create_model(rule) for second, rule in _CREATE_RULES.items()},
    **{(first, DeleteModel): _then_delete for first in _MOOT_BEFORE_DELETE},
    (AddField, RemoveField): _add_remove_field,
    (AddField, AlterField): _add_alter_field,
    (AddField, RenameField): _add_rename_field,
    (AlterField, AlterField): _alter_alter_field,
    (AlterField, RemoveField): _alter_remove_field,
    (RenameField, RenameField): _rename_rename_field,
    (RenameField, RemoveField): _rename_remove_field,
    (AddIndex, RemoveIndex): _add_remove_index,
    (AddIndex, RenameIndex): _add_rename_index,
    (RenameIndex, RenameIndex): _rename_rename_index,
    (RenameIndex, RemoveIndex): _rename_remove_index,
    (AddConstraint, RemoveConstraint): _add_remove_constraint,
    (AlterModelOptions, AlterModelOptions): _last_wins,
    (AlterUniqueTogether, AlterUniqueTogether): _last_wins,
    (AlterModelTable, AlterModelTable): _last_wins,
    (RenameModel, RenameModel): _rename_rename_model,
    (RenameModel, DeleteModel): _rename_model_delete,
}

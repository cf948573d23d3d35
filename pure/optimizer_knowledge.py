"""What the optimizer learns about the state while it scans: field definitions and tables.

Theory of operation: an operation does not carry everything it depends on. RemoveField
and AlterField replace a definition they do not hold (it may have had a relation);
DeleteModel and RenameModel free a table whose name they do not hold. The optimizer
reads the operations in order, so it can learn these from earlier operations: a
CreateModel tells every field and the table of its model, AddField and AlterField one
field, AlterModelTable the table; renames move what is known, and anything it cannot
follow (a custom operation) makes it forget. What it has not learnt is unknown, and the
optimizer treats unknown as "could be anything" (see optimizer_touch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from reinhardt_migrations.pure.fields import FieldState, ModelKey
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
from reinhardt_migrations.pure.operations.postgres import (
    CreateCollation,
    CreateExtension,
    DropExtension,
    RemoveCollation,
)
from reinhardt_migrations.pure.operations.special import RunCode, RunSQL, SeparateDatabaseAndState
from reinhardt_migrations.pure.state import default_table_name

__all__ = ["UNKNOWN", "Before", "Knowledge", "followed_table", "relation_refs", "relation_targets"]


@attrs.frozen
class Before:
    """What the scan knew just before an operation: its model's table, the field it changes."""

    table: str | None = None
    field: FieldState | None = None


UNKNOWN = Before()


def relation_refs(field: FieldState | None) -> frozenset[tuple[ModelKey, str]]:
    """Return what a field's relation points at: (target, to_field or ""), and its through model."""
    if field is None or field.relation is None:
        return frozenset()
    relation = field.relation
    target = (relation.to, relation.to_field or "")
    return frozenset({target} if relation.through is None else {target, (relation.through, "")})


def relation_targets(field: FieldState | None) -> frozenset[ModelKey]:
    """Return the models a field's relation points at (target and through)."""
    return frozenset(key for key, _field in relation_refs(field))


class Knowledge:
    """What the scan has learnt about the state at its current point: field definitions, tables.

    Mutable on purpose, for speed: one instance lives inside one optimizer pass and
    never escapes it. Absent entries mean unknown, never "does not exist".
    """

    __slots__ = ("complete", "fields", "referring", "tables")

    def __init__(self) -> None:
        self.fields: dict[ModelKey, dict[str, FieldState]] = {}
        # Models whose every field is known (created within the scanned operations).
        self.complete: set[ModelKey] = set()
        self.tables: dict[ModelKey, str] = {}
        # target -> models whose known fields may point at it (kept loose: checked on use).
        self.referring: dict[ModelKey, set[ModelKey]] = {}

    @classmethod
    def just_before(cls, key: ModelKey, before: Before) -> Knowledge:
        """Return knowledge holding only ``before``: the table of model ``key`` and one of its fields."""
        knowledge = cls()
        if before.field is not None:
            knowledge.fields[key] = {before.field.name: before.field}
        if before.table is not None:
            knowledge.tables[key] = before.table
        return knowledge

    def field(self, key: ModelKey, name: str) -> FieldState | None:
        """Return the known definition of a field, or None when unknown."""
        known = self.fields.get(key)
        return None if known is None else known.get(name)

    def model_refs(self, key: ModelKey) -> frozenset[tuple[ModelKey, str]] | None:
        """Return what a model's relations point at, or None when some fields are unknown."""
        if key not in self.complete:
            return None
        refs: set[tuple[ModelKey, str]] = set()
        for field in self.fields.get(key, {}).values():
            refs |= relation_refs(field)
        return frozenset(refs)

    def learn(self, operation: Operation) -> None:
        """Update the knowledge with the effect of ``operation``."""
        learner = _LEARNERS.get(type(operation))
        if learner is not None:
            learner(self, operation)
            return
        footprint = operation.footprint()
        if footprint.everything:
            self.forget_all()
        else:
            for key in footprint.models:
                self.forget(key)

    def remember(self, key: ModelKey, field: FieldState) -> None:
        """Record the definition of one field."""
        self.fields.setdefault(key, {})[field.name] = field
        for target in relation_targets(field):
            self.referring.setdefault(target, set()).add(key)

    def forget(self, key: ModelKey) -> None:
        """Forget everything about one model."""
        self.fields.pop(key, None)
        self.complete.discard(key)
        self.tables.pop(key, None)

    def forget_all(self) -> None:
        """Forget everything."""
        self.fields.clear()
        self.complete.clear()
        self.tables.clear()
        self.referring.clear()

    def renamed_model(self, old: ModelKey, new: ModelKey) -> None:
        """Move what is known about ``old`` to ``new`` and repoint known relations to it."""
        table = self.tables.pop(old, None)
        if table is not None:
            self.tables[new] = followed_table(table, old, new)
        if old in self.complete:
            self.complete.discard(old)
            self.complete.add(new)
        fields = self.fields.pop(old, None)
        if fields is not None:
            self.fields[new] = fields
            for field in fields.values():
                for target in relation_targets(field):
                    self.referring.setdefault(target, set()).add(new)
        referring = self.referring.pop(old, set())
        for source in sorted(new if key == old else key for key in referring):
            known = self.fields.get(source, {})
            for name, field in list(known.items()):
                if old in relation_targets(field):
                    known[name] = _retargeted(field, old, new)
        if referring:
            self.referring.setdefault(new, set()).update(new if key == old else key for key in referring)


def followed_table(table: str, old: ModelKey, new: ModelKey) -> str:
    """Return a model's table after a rename: a default table name follows the model's name."""
    return default_table_name(*new) if table == default_table_name(*old) else table


def _retargeted(field: FieldState, old: ModelKey, new: ModelKey) -> FieldState:
    relation = field.relation
    assert relation is not None
    return attrs.evolve(
        field,
        relation=attrs.evolve(
            relation,
            to=new if relation.to == old else relation.to,
            through=new if relation.through == old else relation.through,
        ),
    )


def _learn_create(knowledge: Knowledge, op: CreateModel) -> None:
    key = (op.app_label, op.name)
    knowledge.forget(key)
    knowledge.fields[key] = {}
    for field in op.fields:
        knowledge.remember(key, field)
    knowledge.complete.add(key)
    knowledge.tables[key] = op.db_table or default_table_name(*key)


def _learn_create_table(knowledge: Knowledge, op: CreateTable) -> None:
    key = (op.app_label, op.name)
    knowledge.forget(key)
    knowledge.tables[key] = op.name


def _learn_remove_field(knowledge: Knowledge, op: RemoveField) -> None:
    knowledge.fields.get((op.app_label, op.model_name), {}).pop(op.name, None)


def _learn_table(knowledge: Knowledge, op: AlterModelTable) -> None:
    knowledge.tables[(op.app_label, op.name)] = op.table


def _learn_rename_field(knowledge: Knowledge, op: RenameField) -> None:
    key = (op.app_label, op.model_name)
    known = knowledge.fields.get(key)
    if known is not None and op.old_name in known:
        known[op.new_name] = known.pop(op.old_name).with_name(op.new_name)
    # Relations that name the field by to_field follow it (as RenameField.state_forwards does).
    for source in sorted(knowledge.referring.get(key, set()) | {key}):
        fields = knowledge.fields.get(source, {})
        for name, field in list(fields.items()):
            relation = field.relation
            if relation is not None and relation.to == key and relation.to_field == op.old_name:
                fields[name] = attrs.evolve(field, relation=attrs.evolve(relation, to_field=op.new_name))


def _learn_nested(knowledge: Knowledge, op: RunSQL | SeparateDatabaseAndState) -> None:
    for inner in op.state_operations:
        knowledge.learn(inner)


def _learn_nothing(knowledge: Knowledge, op: Operation) -> None:
    return None


# How each built-in operation changes what the scan knows; other operations make it
# forget the models their footprint names (or everything).
_LEARNERS: dict[type, Callable[[Knowledge, Any], None]] = {
    CreateModel: _learn_create,
    CreateTable: _learn_create_table,
    DeleteModel: lambda k, op: k.forget((op.app_label, op.name)),
    RenameModel: lambda k, op: k.renamed_model((op.app_label, op.old_name), (op.app_label, op.new_name)),
    AlterModelTable: _learn_table,
    AddField: lambda k, op: k.remember((op.app_label, op.model_name), op.field),
    AlterField: lambda k, op: k.remember((op.app_label, op.model_name), op.field),
    RemoveField: _learn_remove_field,
    RenameField: _learn_rename_field,
    RunSQL: _learn_nested,
    SeparateDatabaseAndState: _learn_nested,
    **dict.fromkeys(
        (
            AlterModelOptions,
            AlterUniqueTogether,
            AddIndex,
            RemoveIndex,
            RenameIndex,
            AddConstraint,
            RemoveConstraint,
            RunCode,
            CreateExtension,
            DropExtension,
            CreateCollation,
            RemoveCollation,
        ),
        _learn_nothing,
    ),
}

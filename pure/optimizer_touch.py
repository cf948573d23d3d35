"""What each operation touches, as the optimizer sees it: footprints refined with knowledge.

Theory of operation: the optimizer may swap two operations only when neither can
observe or undo the other, so that both orders give the same state from every state
where the original order was valid. ``Footprint`` (operations/base.py) says which
models an operation names. A ``Touch`` adds what a footprint cannot say:

- Hidden state. A RemoveField or AlterField does not carry the definition it replaces,
  so it may drop a relation to a model it never names; a DeleteModel may free a table
  whose name it does not carry. While scanning, the optimizer learns definitions and
  table names from earlier operations (``optimizer_knowledge``); what it has not learnt counts as
  unknown, and unknown conflicts with every operation that could observe it (a
  DeleteModel or RemoveField checks that nothing still points at what it removes).
- Project-wide names. Tables live in one namespace, so an operation that frees a table
  name and one that claims it never swap (``DeleteModel foo`` then ``CreateModel Foo``
  reuse the table ``app_foo``).
- A finer grain inside one model (``Fine``). Operations on different fields, indexes and
  constraints of one model swap, except where order is visible (fields, indexes and
  constraints are ordered tuples, so two appends never swap) or a removal checks for
  users (RemoveField fails while an index uses the field, so it never passes a
  RemoveIndex whose fields are unknown).

Operations that are not built in are trusted for the models their footprint names, but
may otherwise free or claim any table and drop or check any relation. ``everything``
(RunSQL, RunCode, SeparateDatabaseAndState) never swaps with anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
from reinhardt_migrations.pure.optimizer_knowledge import (
    UNKNOWN,
    Before,
    Knowledge,
    followed_table,
    relation_refs,
)
from reinhardt_migrations.pure.state import default_table_name

__all__ = ["EVERYTHING", "Fine", "Touch", "touch_of"]

Token = tuple[str, str]
_NO_TABLES: frozenset[str] = frozenset()


@attrs.frozen
class Fine:
    """The parts of one model an operation reads or writes, for operations that touch no other model.

    ``tokens`` name fields (``("f", name)``), columns (``("c", column)``), indexes and
    constraints (``("o", name)``), ordered lists appended to (``("append", "field")``)
    and whole-model settings. Two fine touches conflict when they share a token, or when
    one removes a field while the other may remove a user of some field or holds an
    unknown old definition.
    """

    tokens: frozenset[Token]
    claims_column: bool = False
    removes_field: bool = False
    drops_users: bool = False
    unknown_old: bool = False

    def conflicts(self, other: Fine) -> bool:
        """Tell whether the two cannot swap."""
        if not self.tokens.isdisjoint(other.tokens):
            return True
        if self.removes_field and (other.drops_users or other.unknown_old):
            return True
        if other.removes_field and (self.drops_users or self.unknown_old):
            return True
        return (self.claims_column and other.unknown_old) or (other.claims_column and self.unknown_old)

    def joined(self, other: Fine) -> Fine:
        """Return a fine touch covering both."""
        return Fine(
            self.tokens | other.tokens,
            self.claims_column or other.claims_column,
            self.removes_field or other.removes_field,
            self.drops_users or other.drops_users,
            self.unknown_old or other.unknown_old,
        )


def _tables_overlap(claims: frozenset[str] | None, other: frozenset[str] | None) -> bool:
    """Tell whether two table name sets may share a name (None is every name)."""
    if claims is None:
        return other is None or bool(other)
    if not claims:
        return False
    return other is None or not claims.isdisjoint(other)


@attrs.frozen
class Touch:
    """What an operation touches, refined from its footprint with what the scan has learnt.

    ``models`` are the models it changes; ``fine`` is set when it changes only listed parts
    of its one model. ``refs`` are the relations it adds or drops to other models, as
    (target, to_field or ""): they conflict only with what changes the target itself or
    that field of it. ``drops_relations`` marks an operation that may drop relations to
    models it does not name; ``checks_referrers`` one that fails while a relation still
    points at what it removes. Table sets are the table names it claims and frees, None
    meaning any name. ``before`` is what the scan knew just before it, for the rules.
    """

    models: frozenset[ModelKey]
    everything: bool = False
    fine: Fine | None = None
    refs: frozenset[tuple[ModelKey, str]] = frozenset()
    drops_relations: bool = False
    checks_referrers: bool = False
    claims_tables: frozenset[str] | None = _NO_TABLES
    frees_tables: frozenset[str] | None = _NO_TABLES
    before: Before = attrs.field(factory=lambda: UNKNOWN)

    def commutes_with(self, other: Touch) -> bool:
        """Tell whether the two operations give the same state in either order."""
        if self.everything or other.everything:
            return False
        if not self.models.isdisjoint(other.models):
            if self.fine is None or other.fine is None or self.models != other.models:
                return False
            if self.fine.conflicts(other.fine):
                return False
        if (self.refs and _refers_to(self.refs, other)) or (other.refs and _refers_to(other.refs, self)):
            return False
        if (self.drops_relations and other.checks_referrers) or (
            other.drops_relations and self.checks_referrers
        ):
            return False
        return not (
            _tables_overlap(self.claims_tables, other.frees_tables)
            or _tables_overlap(self.claims_tables, other.claims_tables)
            or _tables_overlap(other.claims_tables, self.frees_tables)
        )

    def reach(self) -> frozenset[ModelKey]:
        """Return the models it changes or refers to."""
        return self.models | {key for key, _field in self.refs} if self.refs else self.models

    def joined(self, other: Touch) -> Touch:
        """Return a touch covering both (for the operation that replaces a merged pair)."""
        fine = None
        if self.fine is not None and other.fine is not None and self.models == other.models:
            fine = self.fine.joined(other.fine)
        return Touch(
            models=self.models | other.models,
            everything=self.everything or other.everything,
            fine=fine,
            refs=self.refs | other.refs,
            drops_relations=self.drops_relations or other.drops_relations,
            checks_referrers=self.checks_referrers or other.checks_referrers,
            claims_tables=_union(self.claims_tables, other.claims_tables),
            frees_tables=_union(self.frees_tables, other.frees_tables),
            before=self.before,
        )


def _refers_to(refs: frozenset[tuple[ModelKey, str]], other: Touch) -> bool:
    """Tell whether ``other`` changes a model or field that ``refs`` point at.

    Changing other fields, indexes or constraints of a target does not disturb a
    relation to it; creating, deleting or renaming the target, or changing the field a
    relation names (``to_field``), does.
    """
    fine = other.fine
    return any(
        key in other.models and (fine is None or (field and ("f", field) in fine.tokens))
        for key, field in refs
    )


def _union(first: frozenset[str] | None, second: frozenset[str] | None) -> frozenset[str] | None:
    return None if first is None or second is None else first | second


EVERYTHING = Touch(models=frozenset(), everything=True)


def _fine(key: ModelKey, tokens: Iterable[Token], **flags: bool) -> Touch:
    return Touch(models=frozenset({key}), fine=Fine(frozenset(tokens), **flags))


def _field_tokens(names: Iterable[str]) -> set[Token]:
    return {("f", name) for name in names}


def _touch_create(op: CreateModel, knowledge: Knowledge) -> Touch:
    key = (op.app_label, op.name)
    table = op.db_table or default_table_name(*key)
    refs = frozenset(ref for field in op.fields for ref in relation_refs(field))
    return Touch(models=frozenset({key}), refs=refs, claims_tables=frozenset({table}))


def _touch_create_table(op: CreateTable, knowledge: Knowledge) -> Touch:
    return Touch(models=op.footprint().models, claims_tables=frozenset({op.name}))


def _touch_delete(op: DeleteModel, knowledge: Knowledge) -> Touch:
    key = (op.app_label, op.name)
    refs = knowledge.model_refs(key)
    table = knowledge.tables.get(key)
    return Touch(
        models=frozenset({key}),
        refs=refs or frozenset(),
        drops_relations=refs is None,
        checks_referrers=True,
        frees_tables=None if table is None else frozenset({table}),
        before=Before(table=table),
    )


def _touch_rename_model(op: RenameModel, knowledge: Knowledge) -> Touch:
    old, new = (op.app_label, op.old_name), (op.app_label, op.new_name)
    table = knowledge.tables.get(old)
    if table is None:
        claims: frozenset[str] = frozenset({default_table_name(*new)})
        frees: frozenset[str] | None = None
    elif followed_table(table, old, new) == table:
        claims = frees = _NO_TABLES
    else:
        claims, frees = frozenset({followed_table(table, old, new)}), frozenset({table})
    return Touch(
        models=frozenset({old, new}), claims_tables=claims, frees_tables=frees, before=Before(table=table)
    )


def _touch_alter_table(op: AlterModelTable, knowledge: Knowledge) -> Touch:
    key = (op.app_label, op.name)
    table = knowledge.tables.get(key)
    return Touch(
        models=frozenset({key}),
        fine=Fine(frozenset({("table", "")})),
        claims_tables=frozenset({op.table}),
        frees_tables=None if table is None else frozenset({table}),
        before=Before(table=table),
    )


def _field_touch(
    key: ModelKey,
    new: FieldState | None,
    old: FieldState | None,
    fine: Fine,
    *,
    drops_relations: bool = False,
    checks_referrers: bool = False,
) -> Touch:
    """Return the touch of a change from ``old`` to ``new`` of one field of model ``key``.

    A relation of the model to itself links the field to the model's other fields
    (to_field, the table's existence), so such a change is coarse.
    """
    refs = relation_refs(new) | relation_refs(old)
    before = UNKNOWN if old is None else Before(field=old)
    return Touch(
        models=frozenset({key}),
        fine=None if any(target == key for target, _field in refs) else fine,
        refs=refs,
        drops_relations=drops_relations,
        checks_referrers=checks_referrers,
        before=before,
    )


def _field_tokens_of(field: FieldState) -> set[Token]:
    """Return the tokens of one field: its name, its column, and the table its join table is named from."""
    tokens = {("f", field.name)}
    if field.column is not None:
        tokens.add(("c", field.column))
    elif field.relation is not None and not field.relation.db_table and field.relation.through is None:
        tokens.add(("table", ""))
    return tokens


def _touch_add_field(op: AddField, knowledge: Knowledge) -> Touch:
    tokens = _field_tokens_of(op.field) | {("append", "field")}
    return _field_touch(
        (op.app_label, op.model_name), op.field, None, Fine(frozenset(tokens), claims_column=True)
    )


def _touch_alter_field(op: AlterField, knowledge: Knowledge) -> Touch:
    key = (op.app_label, op.model_name)
    old = knowledge.field(key, op.name)
    tokens = _field_tokens_of(op.field) | (_field_tokens_of(old) if old is not None else set())
    fine = Fine(frozenset(tokens), claims_column=True, unknown_old=old is None)
    return _field_touch(key, op.field, old, fine, drops_relations=old is None)


def _touch_remove_field(op: RemoveField, knowledge: Knowledge) -> Touch:
    key = (op.app_label, op.model_name)
    old = knowledge.field(key, op.name)
    tokens = _field_tokens_of(old) if old is not None else {("f", op.name)}
    fine = Fine(frozenset(tokens), removes_field=True, unknown_old=old is None)
    return _field_touch(key, None, old, fine, drops_relations=old is None, checks_referrers=True)


def _touch_rename_field(op: RenameField, knowledge: Knowledge) -> Touch:
    # Indexes, constraints and relations that name the field are rewritten; they show
    # as the field's token or as refs to it, so the rename conflicts with exactly those.
    key = (op.app_label, op.model_name)
    old = knowledge.field(key, op.old_name)
    tokens = {("f", op.old_name), ("f", op.new_name)}
    if old is not None:
        tokens |= _field_tokens_of(old) | _field_tokens_of(old.with_name(op.new_name))
    fine = Fine(frozenset(tokens), claims_column=True, unknown_old=old is None)
    return _field_touch(key, old, old, fine)


def _touch_custom(op: Operation, knowledge: Knowledge) -> Touch:
    footprint = op.footprint()
    if footprint.everything:
        return EVERYTHING
    return Touch(
        models=footprint.models,
        drops_relations=True,
        checks_referrers=True,
        claims_tables=None,
        frees_tables=None,
    )


def _touch_declared(op: Operation, knowledge: Knowledge) -> Touch:
    return Touch(models=op.footprint().models)


def _touch_everything(op: Operation, knowledge: Knowledge) -> Touch:
    return EVERYTHING


def _index_fields(op: AddIndex) -> set[Token]:
    return _field_tokens(op.index.field_names)


# The touch of each built-in operation. Reasons, beyond the module docstring: a field
# with a relation to its own model is coarse (see _field_touch); removing an index
# or constraint "drops users" of fields it does not name; AlterUniqueTogether replaces
# entries whose fields it does not name.
_TOUCHES: dict[type, Callable[[Any, Knowledge], Touch]] = {
    CreateModel: _touch_create,
    CreateTable: _touch_create_table,
    DeleteModel: _touch_delete,
    RenameModel: _touch_rename_model,
    AlterModelTable: _touch_alter_table,
    AlterModelOptions: lambda op, k: _fine((op.app_label, op.name), {("options", "")}),
    AlterUniqueTogether: lambda op, k: _fine(
        (op.app_label, op.name),
        {("unique_together", "")} | _field_tokens(n for entry in op.unique_together for n in entry),
        drops_users=True,
    ),
    AddField: _touch_add_field,
    AlterField: _touch_alter_field,
    RemoveField: _touch_remove_field,
    RenameField: _touch_rename_field,
    AddIndex: lambda op, k: _fine(
        (op.app_label, op.model_name), {("o", op.index.name), ("append", "index")} | _index_fields(op)
    ),
    RemoveIndex: lambda op, k: _fine((op.app_label, op.model_name), {("o", op.name)}, drops_users=True),
    RenameIndex: lambda op, k: _fine((op.app_label, op.model_name), {("o", op.old_name), ("o", op.new_name)}),
    AddConstraint: lambda op, k: _fine(
        (op.app_label, op.model_name),
        {("o", op.constraint.name), ("append", "constraint")} | _field_tokens(op.constraint.fields),
    ),
    RemoveConstraint: lambda op, k: _fine((op.app_label, op.model_name), {("o", op.name)}, drops_users=True),
    RunSQL: _touch_everything,
    RunCode: _touch_everything,
    SeparateDatabaseAndState: _touch_everything,
    CreateExtension: _touch_declared,
    DropExtension: _touch_declared,
    CreateCollation: _touch_declared,
    RemoveCollation: _touch_declared,
}


def touch_of(operation: Operation, knowledge: Knowledge) -> Touch:
    """Return what ``operation`` touches, given what is known about the state just before it."""
    return _TOUCHES.get(type(operation), _touch_custom)(operation, knowledge)

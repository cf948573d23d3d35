"""The tables a state stands for, and the change between two versions of one table.

Theory of operation: a dialect renders SQL for tables, not for models. ``tables_of_model``
turns one managed model into its physical tables: the model's own table and one join
table per automatic many-to-many field. Every table and column carries a *key* that
names what it stands for (``("model", app, model)``, ``("join", app, model, field)``;
a field name, or a join table's role ``"source"``/``"target"``), so two versions of a
table are matched by key, not by name; the only renames that keys do not see are
model and field renames, which the operations say explicitly (``Renames``).

``changes_between(before, after, keys, renames)`` diffs the tables of the given models
and returns one ``TableChange`` per table that was created, dropped or altered. A
change lists matched columns as ``(old name, new name)`` pairs, and compares indexes,
constraints and foreign keys after carrying the old ones through every rename the
same operation made (of this table, its columns, and the tables and columns its
foreign keys point at): a foreign key whose target table was renamed is unchanged,
because the database follows renames by itself. ``TableChange.then`` composes two
consecutive changes of one table, which is how SQLite shares one rebuild between
several operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.convert import str_map
from reinhardt_migrations.pure.errors import DanglingRelation, InvalidValue
from reinhardt_migrations.pure.fields import (
    NO_DEFAULT,
    CallableDefault,
    Default,
    FieldState,
    ModelKey,
    NoDefault,
    OnDelete,
    Relation,
)
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.types import AutoField, BigAutoField, BigInteger, ColumnType, Integer

__all__ = [
    "CheckDef",
    "ColumnDef",
    "ForeignKeyDef",
    "IndexDef",
    "Renames",
    "TableChange",
    "TableDef",
    "TableKey",
    "TablesMemo",
    "UniqueDef",
    "changes_between",
    "referencing_type",
    "tables_of_model",
]

TableKey = tuple[str, ...]


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class ColumnDef:
    """One column: its key (field name or join role), name, type, nullability, default and keys."""

    key: str
    name: str
    type: ColumnType
    null: bool = False
    default: Default = NO_DEFAULT
    primary_key: bool = False
    autoincrement: bool = False
    comment: str | None = None

    def same_definition(self, other: ColumnDef) -> bool:
        """Tell whether two columns differ at most in key and name."""
        return self.definition() == other.definition()

    def definition(self) -> tuple[object, ...]:
        """Return everything but the key and the name."""
        return (self.type, self.null, self.default, self.primary_key, self.autoincrement, self.comment)


@attrs.frozen
class IndexDef:
    """An index: name, ``(column, descending)`` pairs, uniqueness and partial condition."""

    name: str
    columns: tuple[tuple[str, bool], ...] = attrs.field(converter=_tuple)
    unique: bool = False
    condition: str | None = None


@attrs.frozen
class UniqueDef:
    """A named unique constraint over columns."""

    name: str
    columns: tuple[str, ...] = attrs.field(converter=_tuple)


@attrs.frozen
class CheckDef:
    """A named check constraint (SQL text as the user wrote it)."""

    name: str
    check: str


@attrs.frozen
class ForeignKeyDef:
    """A named foreign key from columns of this table to columns of ``target_table``."""

    name: str
    columns: tuple[str, ...] = attrs.field(converter=_tuple)
    target_table: str
    target_columns: tuple[str, ...] = attrs.field(converter=_tuple)
    on_delete: OnDelete = OnDelete.CASCADE


@attrs.frozen
class TableDef:
    """One physical table, with everything a dialect needs to create it."""

    key: TableKey = attrs.field(converter=_tuple)
    name: str
    columns: tuple[ColumnDef, ...] = attrs.field(converter=_tuple)
    uniques: tuple[UniqueDef, ...] = attrs.field(default=(), converter=_tuple)
    checks: tuple[CheckDef, ...] = attrs.field(default=(), converter=_tuple)
    foreign_keys: tuple[ForeignKeyDef, ...] = attrs.field(default=(), converter=_tuple)
    indexes: tuple[IndexDef, ...] = attrs.field(default=(), converter=_tuple)
    comment: str | None = None
    #: The model's dialect options (MySQL ``engine``, ``charset``, ``collate``); join tables share them.
    options: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)

    @property
    def is_join_table(self) -> bool:
        """Tell whether this is an automatic many-to-many join table."""
        return self.key[0] == "join"

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Return the names of the primary key columns, in table order."""
        return tuple(column.name for column in self.columns if column.primary_key)

    def column(self, name: str) -> ColumnDef | None:
        """Return the column called ``name``, or None."""
        for column in self.columns:
            if column.name == name:
                return column
        return None


def referencing_type(column_type: ColumnType) -> ColumnType:
    """Return the type of a column that refers to a column of ``column_type`` (auto types become plain)."""
    if isinstance(column_type, AutoField):
        return Integer()
    if isinstance(column_type, BigAutoField):
        return BigInteger()
    return column_type


def _database_default(default: Default) -> Default:
    # A callable default lives in Python only; the database has no default for it.
    return NO_DEFAULT if isinstance(default, CallableDefault) else default


def _target(state: ProjectState, model: ModelState, field: FieldState, relation: Relation) -> tuple[str, str]:
    """Return the table and column a relation of ``model.field`` points at."""
    target = model if relation.to == model.key else state.models.get(relation.to)
    if target is None:
        raise DanglingRelation(
            model.app_label, model.name, field.name, relation.target_label, "does not exist"
        )
    if relation.to_field is not None:
        to_field = target.field_or_none(relation.to_field)
        if to_field is None or to_field.column is None:
            raise DanglingRelation(
                model.app_label,
                model.name,
                field.name,
                f"{target.label}.{relation.to_field}",
                "is not a column",
            )
        return target.db_table, to_field.column
    key = target.primary_key
    if key is None or key.column is None:
        raise DanglingRelation(
            model.app_label, model.name, field.name, target.label, "has no single-column primary key"
        )
    return target.db_table, key.column


def _column_of(field: FieldState) -> ColumnDef:
    column = field.column
    assert column is not None
    is_auto = isinstance(field.type, AutoField | BigAutoField)
    column_type = field.type if field.primary_key else referencing_type(field.type)
    return ColumnDef(
        key=field.name,
        name=column,
        type=column_type,
        null=field.null and not field.primary_key,
        default=_database_default(field.default),
        primary_key=field.primary_key,
        autoincrement=field.primary_key and is_auto,
        comment=field.comment,
    )


def _index_columns(model: ModelState, entries: Iterable[str]) -> tuple[tuple[str, bool], ...]:
    pairs = []
    for entry in entries:
        field = model.field(entry.lstrip("-"))
        if field.column is None:
            raise InvalidValue(
                f"index on {model.label}", f"{field.name!r} is a many-to-many field, not a column"
            )
        pairs.append((field.column, entry.startswith("-")))
    return tuple(pairs)


def _model_table(model: ModelState, state: ProjectState) -> TableDef:
    columns = []
    uniques = []
    foreign_keys = []
    indexes = []
    for field in model.fields:
        if field.column is None:
            continue
        columns.append(_column_of(field))
        if field.unique and field.unique_name is not None:
            uniques.append(UniqueDef(field.unique_name, (field.column,)))
        if field.db_index and field.index_name is not None:
            indexes.append(IndexDef(field.index_name, ((field.column, False),)))
        relation = field.relation
        if relation is not None and relation.constraint_name is not None:
            target_table, target_column = _target(state, model, field, relation)
            foreign_keys.append(
                ForeignKeyDef(
                    relation.constraint_name,
                    (field.column,),
                    target_table,
                    (target_column,),
                    relation.on_delete,
                )
            )
    for entry in model.unique_together:
        if entry.name is not None:
            uniques.append(UniqueDef(entry.name, tuple(c for c, _ in _index_columns(model, entry.fields))))
    checks = []
    for constraint in model.constraints:
        if constraint.kind == "unique":
            uniques.append(
                UniqueDef(constraint.name, tuple(c for c, _ in _index_columns(model, constraint.fields)))
            )
        elif constraint.check is not None:
            checks.append(CheckDef(constraint.name, constraint.check))
    for index in model.indexes:
        indexes.append(
            IndexDef(index.name, _index_columns(model, index.fields), index.unique, index.condition)
        )
    return TableDef(
        key=("model", model.app_label, model.name),
        name=model.db_table,
        columns=columns,
        uniques=uniques,
        checks=checks,
        foreign_keys=foreign_keys,
        indexes=indexes,
        comment=model.comment,
        options=model.options,
    )


def _join_table(model: ModelState, field: FieldState, state: ProjectState) -> TableDef:
    """Return the automatic join table of the many-to-many ``model.field``."""
    relation = field.relation
    assert relation is not None
    assert relation.db_table is not None
    source_key = model.primary_key
    if source_key is None or source_key.column is None:
        raise DanglingRelation(
            model.app_label, model.name, field.name, model.label, "has no single-column primary key"
        )
    target_table, target_column = _target(state, model, field, relation)
    source_name, target_name = model.name.lower(), relation.to[1].lower()
    if source_name == target_name:
        # Django's names: a relation from a model to itself (or a namesake) needs two distinct columns.
        source_name, target_name = f"from_{source_name}", f"to_{target_name}"
    table = relation.db_table
    source, target = f"{source_name}_id", f"{target_name}_id"
    # Object names derive from the join table's name only (held in the state), never from
    # column names, so renaming a model (and so a join column) leaves them valid.
    return TableDef(
        key=("join", model.app_label, model.name, field.name),
        name=table,
        columns=(
            ColumnDef("id", "id", AutoField(), primary_key=True, autoincrement=True),
            ColumnDef("source", source, referencing_type(source_key.type)),
            ColumnDef("target", target, referencing_type(field.type)),
        ),
        uniques=(UniqueDef(object_name(table, ["source", "target"], "uniq"), (source, target)),),
        foreign_keys=(
            ForeignKeyDef(
                object_name(table, ["source"], "fk"), (source,), model.db_table, (source_key.column,)
            ),
            ForeignKeyDef(object_name(table, ["target"], "fk"), (target,), target_table, (target_column,)),
        ),
        indexes=(IndexDef(object_name(table, ["target"], "idx"), ((target, False),)),),
        options=model.options,
    )


def tables_of_model(model: ModelState, state: ProjectState) -> tuple[TableDef, ...]:
    """Return the tables of ``model`` in ``state``: its own, then its automatic join tables.

    An unmanaged model has no tables (the database side is the user's).

    Raises:
        DanglingRelation: a relation points at a model or field that is not in ``state``.
    """
    if not model.managed:
        return ()
    own = _model_table(model, state)
    joins = tuple(
        _join_table(model, field, state)
        for field in model.fields
        if field.is_many_to_many and field.relation is not None and field.relation.through is None
    )
    return (own, *joins)


def _key_map(value: Mapping[Any, Any] | None) -> PMap[Any, Any]:
    return value if isinstance(value, PMap) else pmap(value or {})


@attrs.frozen
class Renames:
    """Model and field renames an operation makes, which matching by key cannot see.

    ``models`` maps old model keys to new ones; ``fields`` maps ``(old model key, old
    field name)`` to the new field name.
    """

    models: PMap[ModelKey, ModelKey] = attrs.field(factory=pmap, converter=_key_map)
    fields: PMap[tuple[ModelKey, str], str] = attrs.field(factory=pmap, converter=_key_map)

    def inverted(self) -> Renames:
        """Return the renames that undo these."""
        return Renames(
            models={new: old for old, new in self.models.items()},
            fields={(self.models.get(model, model), new): old for (model, old), new in self.fields.items()},
        )

    def table_key(self, key: TableKey) -> TableKey:
        """Return the key a table of the old state has in the new state."""
        model = (key[1], key[2])
        new_model = self.models.get(model, model)
        if key[0] == "join":
            return ("join", *new_model, self.fields.get((model, key[3]), key[3]))
        return (key[0], *new_model)

    def column_key(self, table_key: TableKey, key: str) -> str:
        """Return the key a column of an old table has in the new state."""
        if table_key[0] != "model":
            return key
        return self.fields.get(((table_key[1], table_key[2]), key), key)


NO_RENAMES = Renames()


def _pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((old, new) for old, new in value)


@attrs.frozen
class TableChange:
    """How one table goes from ``old`` to ``new`` (None: created, or dropped).

    ``column_pairs`` matches old column names to new ones, in the new table's order.
    ``fills`` holds, per new column name, the one-off default that fills existing rows.
    ``table_renames`` and ``column_renames`` (keyed by old table and old column name)
    are every rename of the same operation, used to carry old foreign keys forward.
    """

    old: TableDef | None
    new: TableDef | None
    column_pairs: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    fills: PMap[str, Default] = attrs.field(factory=pmap, converter=_key_map)
    table_renames: PMap[str, str] = attrs.field(factory=pmap, converter=_key_map)
    column_renames: PMap[tuple[str, str], str] = attrs.field(factory=pmap, converter=_key_map)

    @property
    def table_name(self) -> str:
        """Return the table's name after the change (before it, for a drop)."""
        table = self.new or self.old
        assert table is not None
        return table.name

    @property
    def is_alteration(self) -> bool:
        """Tell whether the table exists before and after (neither created nor dropped)."""
        return self.old is not None and self.new is not None

    def _tables(self) -> tuple[TableDef, TableDef]:
        assert self.old is not None, "only alterations compare columns"
        assert self.new is not None, "only alterations compare columns"
        return self.old, self.new

    def new_column_name(self, old_name: str) -> str:
        """Return the name an old column has after the change (unchanged if it goes)."""
        for old, new in self.column_pairs:
            if old == old_name:
                return new
        return old_name

    def matched_columns(self) -> tuple[tuple[ColumnDef, ColumnDef], ...]:
        """Return ``(old, new)`` column pairs in the new table's order."""
        old_table, new_table = self._tables()
        old_columns = {column.name: column for column in old_table.columns}
        new_columns = {column.name: column for column in new_table.columns}
        return tuple((old_columns[old], new_columns[new]) for old, new in self.column_pairs)

    def added_columns(self) -> tuple[ColumnDef, ...]:
        """Return the new table's columns that have no old column."""
        _, new_table = self._tables()
        matched = {new for _, new in self.column_pairs}
        return tuple(column for column in new_table.columns if column.name not in matched)

    def dropped_columns(self) -> tuple[ColumnDef, ...]:
        """Return the old table's columns that have no new column."""
        old_table, _ = self._tables()
        matched = {old for old, _ in self.column_pairs}
        return tuple(column for column in old_table.columns if column.name not in matched)

    def renamed_columns(self) -> tuple[tuple[str, str], ...]:
        """Return the ``(old, new)`` pairs whose names differ."""
        return tuple((old, new) for old, new in self.column_pairs if old != new)

    def _carried_index(self, index: IndexDef) -> IndexDef:
        return attrs.evolve(index, columns=tuple((self.new_column_name(c), d) for c, d in index.columns))

    def _carried_unique(self, unique: UniqueDef) -> UniqueDef:
        return attrs.evolve(unique, columns=tuple(self.new_column_name(c) for c in unique.columns))

    def _carried_foreign_key(self, key: ForeignKeyDef) -> ForeignKeyDef:
        target = key.target_table
        return attrs.evolve(
            key,
            columns=tuple(self.new_column_name(c) for c in key.columns),
            target_table=self.table_renames.get(target, target),
            target_columns=tuple(self.column_renames.get((target, c), c) for c in key.target_columns),
        )

    def index_changes(self) -> tuple[tuple[IndexDef, ...], tuple[IndexDef, ...]]:
        """Return ``(removed, added)`` indexes (an index whose definition changed is in both)."""
        old_table, new_table = self._tables()
        return _object_changes([self._carried_index(i) for i in old_table.indexes], new_table.indexes)

    def unique_changes(self) -> tuple[tuple[UniqueDef, ...], tuple[UniqueDef, ...]]:
        """Return ``(removed, added)`` unique constraints."""
        old_table, new_table = self._tables()
        return _object_changes([self._carried_unique(u) for u in old_table.uniques], new_table.uniques)

    def check_changes(self) -> tuple[tuple[CheckDef, ...], tuple[CheckDef, ...]]:
        """Return ``(removed, added)`` check constraints."""
        old_table, new_table = self._tables()
        return _object_changes(old_table.checks, new_table.checks)

    def foreign_key_changes(self) -> tuple[tuple[ForeignKeyDef, ...], tuple[ForeignKeyDef, ...]]:
        """Return ``(removed, added)`` foreign keys."""
        old_table, new_table = self._tables()
        return _object_changes(
            [self._carried_foreign_key(k) for k in old_table.foreign_keys], new_table.foreign_keys
        )

    def primary_key_changed(self) -> bool:
        """Tell whether the primary key columns changed (beyond renames)."""
        old_table, new_table = self._tables()
        return tuple(self.new_column_name(c) for c in old_table.primary_key) != new_table.primary_key

    def is_empty(self) -> bool:
        """Tell whether the change does nothing at all."""
        if self.old is None or self.new is None:
            return False
        if self.old.name != self.new.name or self.old.comment != self.new.comment:
            return False
        if self.old.options != self.new.options:
            return False
        if self.renamed_columns() or self.added_columns() or self.dropped_columns():
            return False
        if [new for _, new in self.column_pairs] != [c.name for c in self.new.columns]:
            return False
        if not all(old.same_definition(new) for old, new in self.matched_columns()):
            return False
        changes = (
            self.index_changes(),
            self.unique_changes(),
            self.check_changes(),
            self.foreign_key_changes(),
        )
        return not any(removed or added for removed, added in changes)

    def then(self, other: TableChange) -> TableChange:
        """Return one change equivalent to this change followed by ``other`` on the same table.

        Raises:
            InvalidValue: ``other`` does not start where this change ends.
        """
        if self.new is None or other.old is None or self.new.name != other.old.name:
            raise InvalidValue("table change", "only consecutive changes of one table compose")
        back = {new: old for old, new in self.column_pairs}
        pairs = [(back[middle], new) for middle, new in other.column_pairs if middle in back]
        forth = dict(other.column_pairs)
        fills = {forth[name]: value for name, value in self.written_values().items() if name in forth}
        for name, value in other.fills.items():
            fills.setdefault(name, value)
        return _with_own_renames(TableChange(self.old, other.new, pairs, fills))

    def written_values(self) -> dict[str, Default]:
        """Return, per new column, the value this change writes into existing rows (or their NULLs).

        That is the one-off fill, else the column default for an added column or for a
        column becoming NOT NULL. Composing changes keeps these values: rows hold them
        even when a later change drops the default.
        """
        values: dict[str, Default] = dict(self.fills)
        if self.old is None or self.new is None:
            return values
        for column in self.added_columns():
            if not isinstance(column.default, NoDefault):
                values.setdefault(column.name, column.default)
        for old, new in self.matched_columns():
            if old.null and not new.null and not isinstance(new.default, NoDefault):
                values.setdefault(new.name, new.default)
        return values


def _object_changes(old: Iterable[Any], new: Iterable[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    old_by_name = {item.name: item for item in old}
    new_by_name = {item.name: item for item in new}
    removed = tuple(item for name, item in old_by_name.items() if new_by_name.get(name) != item)
    added = tuple(item for name, item in new_by_name.items() if old_by_name.get(name) != item)
    return removed, added


def _with_own_renames(change: TableChange) -> TableChange:
    """Return ``change`` whose rename context holds its own table and column renames."""
    if change.old is None or change.new is None:
        return change
    old_name = change.old.name
    tables = change.table_renames
    if change.new.name != old_name:
        tables = tables.set(old_name, change.new.name)
    columns = change.column_renames
    for old, new in change.renamed_columns():
        columns = columns.set((old_name, old), new)
    return attrs.evolve(change, table_renames=tables, column_renames=columns)


# Order of changes within one operation: drops first (join tables before the tables
# they point at), then alterations, then creations (model tables before join tables).
def _change_order(change: TableChange) -> tuple[int, int, str]:
    table = change.new or change.old
    assert table is not None
    join = 1 if table.is_join_table else 0
    if change.new is None:
        return (0, 1 - join, table.name)
    if change.old is None:
        return (2, join, table.name)
    return (1, join, table.name)


#: A memo of ``tables_of_model`` for one planning run, keyed by the model and the
#: models its relations point at (the only parts of the state its tables depend on).
TablesMemo = dict[tuple[ModelState, tuple[ModelState | None, ...]], tuple[TableDef, ...]]


def _tables(model: ModelState, state: ProjectState, memo: TablesMemo | None) -> tuple[TableDef, ...]:
    if memo is None:
        return tables_of_model(model, state)
    targets = tuple(state.models.get(key) for key in sorted(model.related_models()))
    key = (model, targets)
    found = memo.get(key)
    if found is None:
        found = memo[key] = tables_of_model(model, state)
    return found


def changes_between(
    before: ProjectState,
    after: ProjectState,
    keys: Iterable[ModelKey],
    renames: Renames = NO_RENAMES,
    fills: Mapping[tuple[ModelKey, str], Default] | None = None,
    memo: TablesMemo | None = None,
) -> tuple[TableChange, ...]:
    """Return the changes of the tables of the models ``keys`` from ``before`` to ``after``.

    ``keys`` may name models in either state. ``fills`` maps ``(model key, field name)``
    in ``after`` to a one-off default for existing rows. A model whose ``managed`` flag
    flips has no changes: switching it never touches the database. ``memo`` (a dict the
    caller keeps for one plan) saves rebuilding the tables of unchanged models.
    """
    keys = sorted(set(keys))
    old_models = [before.models[k] for k in keys if k in before.models]
    new_models = [after.models[k] for k in keys if k in after.models]
    flipped = set()
    for model in old_models:
        counterpart = after.models.get(renames.models.get(model.key, model.key))
        if counterpart is not None and counterpart.managed != model.managed:
            flipped.add(counterpart.key)
    old_tables: dict[TableKey, TableDef] = {}
    for model in old_models:
        for table in _tables(model, before, memo):
            old_tables[renames.table_key(table.key)] = table
    new_tables: dict[TableKey, TableDef] = {}
    for model in new_models:
        if model.key not in flipped:
            for table in _tables(model, after, memo):
                new_tables[table.key] = table
    for key in [k for k in old_tables if (k[1], k[2]) in flipped]:
        del old_tables[key]
    raw: list[TableChange] = []
    for key in sorted(set(old_tables) | set(new_tables)):
        old, new = old_tables.get(key), new_tables.get(key)
        if old is None or new is None:
            raw.append(TableChange(old, new))
            continue
        old_by_key = {renames.column_key(old.key, column.key): column for column in old.columns}
        pairs = [(old_by_key[c.key].name, c.name) for c in new.columns if c.key in old_by_key]
        table_fills = {}
        if fills and key[0] == "model":
            for column in new.columns:
                fill = fills.get(((key[1], key[2]), column.key))
                if fill is not None:
                    table_fills[column.name] = fill
        raw.append(TableChange(old, new, pairs, table_fills))
    table_renames: dict[str, str] = {}
    column_renames: dict[tuple[str, str], str] = {}
    for change in raw:
        if change.old is not None and change.new is not None:
            if change.old.name != change.new.name:
                table_renames[change.old.name] = change.new.name
            for old_column, new_column in change.renamed_columns():
                column_renames[(change.old.name, old_column)] = new_column
    changes = [
        attrs.evolve(change, table_renames=pmap(table_renames), column_renames=pmap(column_renames))
        for change in raw
    ]
    return tuple(sorted((c for c in changes if not c.is_empty()), key=_change_order))

"""Catalog rows (plain data the shell reads) -> a comparable schema, or a ProjectState.

Theory of operation: the shell reads a database's catalog into ``CatalogRows``, plain
dialect-neutral rows (tables, columns, indexes, unique and check constraints, foreign
keys), and nothing here touches a database. For SQLite, ``catalog_from_sqlite`` turns
the raw output of its PRAGMAs and ``sqlite_master`` into those rows (the shell runs
``SQLITE_CATALOG_QUERIES``); PostgreSQL and MySQL readers fill the same rows.

Two pure uses follow:

- ``schema_from_catalog(rows, dialect)`` and ``schema_of(state, dialect)`` give
  ``DatabaseSchema`` values, normalised by the dialect (type spelling, default and
  expression text), that compare with ``==``: law 3 says that after running an
  operation's statements, the introspected schema equals the schema of the state the
  operation produced. ``DatabaseSchema.differences`` says what differs.
- ``state_from_catalog(rows)`` builds a ProjectState with one model per table, named
  after the table (``inspectdb``, and the executor's checks before faking a migration).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects.base import Dialect
from reinhardt_migrations.pure.dialects.sqlite import parse_create_table, parse_index_condition
from reinhardt_migrations.pure.dialects.tables import TableDef, tables_of_model
from reinhardt_migrations.pure.errors import InvalidColumnType
from reinhardt_migrations.pure.fields import (
    NO_DEFAULT,
    Default,
    FieldState,
    LiteralDefault,
    OnDelete,
    Relation,
    SqlDefault,
)
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.types import (
    AutoField,
    BigAutoField,
    BigInteger,
    ColumnType,
    RawType,
    parse_sql_type,
)

__all__ = [
    "SQLITE_CATALOG_QUERIES",
    "CatalogRows",
    "CheckRow",
    "CheckSchema",
    "ColumnRow",
    "ColumnSchema",
    "DatabaseSchema",
    "ForeignKeyRow",
    "ForeignKeySchema",
    "IndexRow",
    "IndexSchema",
    "SqliteTableRows",
    "TableRow",
    "TableSchema",
    "UniqueRow",
    "UniqueSchema",
    "catalog_from_sqlite",
    "schema_from_catalog",
    "schema_of",
    "state_from_catalog",
]


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


# -- catalog rows --------------------------------------------------------------------


@attrs.frozen
class TableRow:
    """A table."""

    name: str
    comment: str | None = None


@attrs.frozen
class ColumnRow:
    """A column; ``primary_key`` is its 1-based position in the primary key (0: not in it)."""

    table: str
    name: str
    type: str
    null: bool
    default: str | None = None
    primary_key: int = 0
    autoincrement: bool = False
    comment: str | None = None


@attrs.frozen
class IndexRow:
    """An index that is not a constraint's: columns in order, descending flags, partial condition."""

    table: str
    name: str
    columns: tuple[str, ...] = attrs.field(converter=_tuple)
    descending: tuple[bool, ...] = attrs.field(default=(), converter=_tuple)
    unique: bool = False
    condition: str | None = None


@attrs.frozen
class UniqueRow:
    """A unique constraint (``name`` None when the database keeps no name)."""

    table: str
    name: str | None
    columns: tuple[str, ...] = attrs.field(converter=_tuple)


@attrs.frozen
class CheckRow:
    """A check constraint and its expression as the database keeps it."""

    table: str
    name: str | None
    check: str


@attrs.frozen
class ForeignKeyRow:
    """A foreign key; empty ``target_columns`` mean the target's primary key."""

    table: str
    name: str | None
    columns: tuple[str, ...] = attrs.field(converter=_tuple)
    target_table: str = ""
    target_columns: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    on_delete: str = "NO ACTION"


@attrs.frozen
class CatalogRows:
    """Everything read from a database's catalog; columns are in table order."""

    tables: tuple[TableRow, ...] = attrs.field(default=(), converter=_tuple)
    columns: tuple[ColumnRow, ...] = attrs.field(default=(), converter=_tuple)
    indexes: tuple[IndexRow, ...] = attrs.field(default=(), converter=_tuple)
    uniques: tuple[UniqueRow, ...] = attrs.field(default=(), converter=_tuple)
    checks: tuple[CheckRow, ...] = attrs.field(default=(), converter=_tuple)
    foreign_keys: tuple[ForeignKeyRow, ...] = attrs.field(default=(), converter=_tuple)

    def without_tables(self, names: Iterable[str]) -> CatalogRows:
        """Return the rows without the tables ``names`` (the recorder's table, say)."""
        gone = set(names)
        return CatalogRows(
            tables=[r for r in self.tables if r.name not in gone],
            columns=[r for r in self.columns if r.table not in gone],
            indexes=[r for r in self.indexes if r.table not in gone],
            uniques=[r for r in self.uniques if r.table not in gone],
            checks=[r for r in self.checks if r.table not in gone],
            foreign_keys=[r for r in self.foreign_keys if r.table not in gone],
        )


# -- comparable schema ----------------------------------------------------------------


@attrs.frozen
class ColumnSchema:
    """A column with normalised type and default text."""

    name: str
    type: str
    null: bool
    default: str | None
    primary_key: bool = False
    autoincrement: bool = False


@attrs.frozen
class IndexSchema:
    """An index: ``(column, descending)`` pairs, uniqueness, normalised condition."""

    name: str
    columns: tuple[tuple[str, bool], ...] = attrs.field(converter=_tuple)
    unique: bool = False
    condition: str | None = None


@attrs.frozen
class UniqueSchema:
    """A unique constraint."""

    name: str | None
    columns: tuple[str, ...] = attrs.field(converter=_tuple)


@attrs.frozen
class CheckSchema:
    """A check constraint with a normalised expression."""

    name: str | None
    check: str


@attrs.frozen
class ForeignKeySchema:
    """A foreign key with its target and SQL ``ON DELETE`` action."""

    name: str | None
    columns: tuple[str, ...] = attrs.field(converter=_tuple)
    target_table: str = ""
    target_columns: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    on_delete: str = "NO ACTION"


def _sort_key(item: Any) -> tuple[str, str]:
    return (item.name or "", repr(item))


def _sorted(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(value, key=_sort_key))


@attrs.frozen
class TableSchema:
    """One table; named objects are sorted by name, columns keep the table's order."""

    name: str
    columns: tuple[ColumnSchema, ...] = attrs.field(converter=_tuple)
    primary_key: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    indexes: tuple[IndexSchema, ...] = attrs.field(default=(), converter=_sorted)
    uniques: tuple[UniqueSchema, ...] = attrs.field(default=(), converter=_sorted)
    checks: tuple[CheckSchema, ...] = attrs.field(default=(), converter=_sorted)
    foreign_keys: tuple[ForeignKeySchema, ...] = attrs.field(default=(), converter=_sorted)


@attrs.frozen
class DatabaseSchema:
    """All tables, sorted by name; two schemas compare with ``==``."""

    tables: tuple[TableSchema, ...] = attrs.field(default=(), converter=_sorted)

    def table(self, name: str) -> TableSchema | None:
        """Return the table called ``name``, or None."""
        return next((t for t in self.tables if t.name == name), None)

    def without_tables(self, names: Iterable[str]) -> DatabaseSchema:
        """Return the schema without the tables ``names``."""
        gone = set(names)
        return DatabaseSchema([t for t in self.tables if t.name not in gone])

    def differences(self, other: DatabaseSchema) -> tuple[str, ...]:
        """Return readable lines saying how ``other`` differs from this schema (empty: equal)."""
        lines: list[str] = []
        mine = {t.name: t for t in self.tables}
        theirs = {t.name: t for t in other.tables}
        for name in sorted(set(mine) | set(theirs)):
            left, right = mine.get(name), theirs.get(name)
            if left is None or right is None:
                lines.append(
                    f"table {name}: {'only in the other' if left is None else 'missing in the other'}"
                )
                continue
            for part in ("columns", "primary_key", "indexes", "uniques", "checks", "foreign_keys"):
                if getattr(left, part) != getattr(right, part):
                    lines.append(f"table {name} {part}: {getattr(left, part)!r} != {getattr(right, part)!r}")
        return tuple(lines)


def _table_schema(table: TableDef, dialect: Dialect) -> TableSchema:
    single_key = len(table.primary_key) == 1
    return TableSchema(
        name=table.name,
        columns=[
            ColumnSchema(
                c.name,
                dialect.normalise_type(dialect.column_type_sql(c.type)),
                c.null,
                dialect.normalise_default(dialect.default_sql(c.default)),
                c.primary_key,
                c.autoincrement and single_key,
            )
            for c in table.columns
        ],
        primary_key=table.primary_key,
        indexes=[
            IndexSchema(
                dialect.object_name(i.name),
                i.columns,
                i.unique,
                None if i.condition is None else dialect.normalise_expression(i.condition),
            )
            for i in table.indexes
        ],
        uniques=[UniqueSchema(dialect.object_name(u.name), u.columns) for u in table.uniques],
        checks=[
            CheckSchema(dialect.object_name(c.name), dialect.normalise_expression(c.check))
            for c in table.checks
        ],
        foreign_keys=[
            ForeignKeySchema(
                dialect.object_name(k.name),
                k.columns,
                k.target_table,
                k.target_columns,
                dialect.on_delete_sql(k.on_delete),
            )
            for k in table.foreign_keys
        ],
    )


def schema_of(state: ProjectState, dialect: Dialect) -> DatabaseSchema:
    """Return the schema a database built from ``state`` has, as ``dialect`` spells it.

    Raises:
        DanglingRelation: a relation points at a model or field that is not in ``state``.
    """
    return DatabaseSchema(
        [_table_schema(table, dialect) for model in state for table in tables_of_model(model, state)]
    )


def schema_from_catalog(rows: CatalogRows, dialect: Dialect) -> DatabaseSchema:
    """Return the schema the catalog rows describe, normalised by ``dialect``."""
    columns = _by_table(rows.columns)
    primary_keys = {
        table: tuple(c.name for c in sorted((c for c in cols if c.primary_key), key=lambda c: c.primary_key))
        for table, cols in columns.items()
    }
    tables = []
    for table in rows.tables:
        name = table.name
        table_columns = columns.get(name, [])
        single_key = len(primary_keys.get(name, ())) == 1
        tables.append(
            TableSchema(
                name=name,
                columns=[
                    ColumnSchema(
                        c.name,
                        dialect.normalise_type(c.type),
                        c.null,
                        dialect.normalise_default(c.default),
                        c.primary_key > 0,
                        c.autoincrement and single_key,
                    )
                    for c in table_columns
                ],
                primary_key=primary_keys.get(name, ()),
                indexes=[
                    IndexSchema(
                        i.name,
                        zip(i.columns, i.descending or (False,) * len(i.columns), strict=True),
                        i.unique,
                        None if i.condition is None else dialect.normalise_expression(i.condition),
                    )
                    for i in rows.indexes
                    if i.table == name
                ],
                uniques=[UniqueSchema(u.name, u.columns) for u in rows.uniques if u.table == name],
                checks=[
                    CheckSchema(c.name, dialect.normalise_expression(c.check))
                    for c in rows.checks
                    if c.table == name
                ],
                foreign_keys=[
                    ForeignKeySchema(
                        k.name,
                        k.columns,
                        k.target_table,
                        k.target_columns or primary_keys.get(k.target_table, ()),
                        " ".join(k.on_delete.upper().split()),
                    )
                    for k in rows.foreign_keys
                    if k.table == name
                ],
            )
        )
    return DatabaseSchema(tables)


def _by_table(rows: Iterable[ColumnRow]) -> dict[str, list[ColumnRow]]:
    grouped: dict[str, list[ColumnRow]] = {}
    for row in rows:
        grouped.setdefault(row.table, []).append(row)
    return grouped


# -- catalog -> ProjectState ----------------------------------------------------------

_ON_DELETE: dict[str, OnDelete] = {
    "CASCADE": OnDelete.CASCADE,
    "SET NULL": OnDelete.SET_NULL,
    "SET DEFAULT": OnDelete.SET_DEFAULT,
    "RESTRICT": OnDelete.RESTRICT,
    "NO ACTION": OnDelete.DO_NOTHING,
}

_STRING = re.compile(r"'(?:[^']|'')*'")
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")


def _default_of(text: str | None) -> Default:
    """Return the default a catalog's default text stands for: a literal where it is one."""
    if text is None:
        return NO_DEFAULT
    value = text.strip()
    if value.upper() == "NULL":
        return LiteralDefault(None)
    if value.upper() in ("TRUE", "FALSE"):
        return LiteralDefault(value.upper() == "TRUE")
    if _STRING.fullmatch(value):
        return LiteralDefault(value[1:-1].replace("''", "'"))
    if _INTEGER.fullmatch(value):
        return LiteralDefault(int(value))
    if _FLOAT.fullmatch(value):
        return LiteralDefault(float(value))
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    return SqlDefault(value)


def _type_of(text: str) -> ColumnType:
    try:
        return parse_sql_type(text)
    except InvalidColumnType:
        # No rule knows the spelling: keep it exactly (an empty type reads as SQLite's blob).
        return RawType(text.strip() or "blob")


def _field_names(rows: CatalogRows) -> dict[str, dict[str, str]]:
    """Return, per table, the field name of each column (``author_id`` holding a key is ``author``)."""
    keyed = {(k.table, k.columns[0]) for k in rows.foreign_keys if len(k.columns) == 1}
    names: dict[str, dict[str, str]] = {}
    for table, columns in _by_table(rows.columns).items():
        taken = {c.name for c in columns}
        table_names: dict[str, str] = {}
        for column in columns:
            short = column.name[:-3]
            relation_name = (table, column.name) in keyed and column.name.endswith("_id") and short
            table_names[column.name] = short if relation_name and short not in taken else column.name
        names[table] = table_names
    return names


def state_from_catalog(rows: CatalogRows, *, app_label: str = "tables") -> ProjectState:
    """Return a state with one model per table, named after the table, in app ``app_label``.

    Foreign keys over one column become relations (to tables in ``rows``); single-column
    unique constraints become unique fields; the other constraints and every index keep
    their names. Types no rule parses become ``RawType``.
    """
    columns = _by_table(rows.columns)
    field_names = _field_names(rows)
    tables = {t.name for t in rows.tables}
    primary_keys = {t: [c.name for c in cols if c.primary_key] for t, cols in columns.items()}
    models = []
    for table in rows.tables:
        name = table.name
        table_columns = columns.get(name, [])
        names = field_names.get(name, {})
        single_uniques = {u.columns[0]: u for u in rows.uniques if u.table == name and len(u.columns) == 1}
        keys = {k.columns[0]: k for k in rows.foreign_keys if k.table == name and len(k.columns) == 1}
        fields = []
        for column in table_columns:
            column_type = _type_of(column.type)
            if column.autoincrement and len(primary_keys.get(name, ())) == 1:
                # A 64-bit auto key (PostgreSQL's bigint identity, MySQL's BIGINT AUTO_INCREMENT).
                column_type = BigAutoField() if isinstance(column_type, BigInteger) else AutoField()
            relation = None
            key = keys.get(column.name)
            if key is not None and key.target_table in tables:
                target_pk = primary_keys.get(key.target_table, [])
                target_column = key.target_columns[0] if key.target_columns else None
                to_field = None
                if target_column is not None and target_pk != [target_column]:
                    to_field = field_names.get(key.target_table, {}).get(target_column, target_column)
                relation = Relation(
                    "foreign_key",
                    (app_label, key.target_table),
                    on_delete=_ON_DELETE.get(" ".join(key.on_delete.upper().split()), OnDelete.DO_NOTHING),
                    to_field=to_field,
                    constraint_name=key.name,
                )
            field_name = names.get(column.name, column.name)
            derived = f"{field_name}_id" if relation is not None else field_name
            unique = single_uniques.get(column.name)
            fields.append(
                FieldState(
                    name=field_name,
                    type=column_type,
                    null=column.null,
                    default=_default_of(column.default),
                    primary_key=column.primary_key > 0,
                    unique=unique is not None and column.primary_key == 0,
                    db_column=None if derived == column.name else column.name,
                    comment=column.comment,
                    relation=relation,
                    unique_name=None if unique is None else unique.name,
                )
            )
        constraints = [
            ConstraintState.unique_on(
                u.name or object_name(name, u.columns, "uniq"), [names.get(c, c) for c in u.columns]
            )
            for u in rows.uniques
            if u.table == name and len(u.columns) > 1
        ]
        constraints += [
            ConstraintState.check_that(c.name or object_name(name, [str(i)], "check"), c.check)
            for i, c in enumerate(r for r in rows.checks if r.table == name)
        ]
        indexes = [
            IndexState(
                i.name,
                [
                    ("-" if descending else "") + names.get(c, c)
                    for c, descending in zip(
                        i.columns, i.descending or (False,) * len(i.columns), strict=True
                    )
                ],
                i.unique,
                i.condition,
            )
            for i in rows.indexes
            if i.table == name
        ]
        models.append(
            ModelState(
                app_label=app_label,
                name=name,
                fields=fields,
                db_table=name,
                indexes=indexes,
                constraints=constraints,
                comment=table.comment,
            )
        )
    return ProjectState.from_models(models)


# -- SQLite ---------------------------------------------------------------------------

#: The queries the shell runs to fill SqliteTableRows (``?`` is the table or index name).
SQLITE_CATALOG_QUERIES: Mapping[str, str] = pmap(
    {
        "tables": (
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ),
        "columns": 'SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)',
        "indexes": 'SELECT seq, name, "unique", origin, partial FROM pragma_index_list(?)',
        "index_columns": 'SELECT seqno, cid, name, "desc", coll, "key" FROM pragma_index_xinfo(?)',
        "index_sql": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
        "foreign_keys": (
            'SELECT id, seq, "table", "from", "to", on_update, on_delete, "match" '
            "FROM pragma_foreign_key_list(?)"
        ),
    }
)


def _rows(value: Iterable[Iterable[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(row) for row in value)


def _row_map(value: Mapping[str, Any]) -> PMap[str, Any]:
    return pmap({k: _rows(v) if isinstance(v, list | tuple) else v for k, v in value.items()})


@attrs.frozen
class SqliteTableRows:
    """The raw rows the shell reads for one SQLite table, with ``SQLITE_CATALOG_QUERIES``.

    ``index_columns`` maps each index name to its ``index_columns`` rows; ``index_sql``
    maps index names to their ``sqlite_master`` SQL (None for automatic indexes).
    """

    name: str
    sql: str
    columns: tuple[tuple[Any, ...], ...] = attrs.field(converter=_rows)
    indexes: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    index_columns: PMap[str, tuple[tuple[Any, ...], ...]] = attrs.field(factory=pmap, converter=_row_map)
    index_sql: PMap[str, str | None] = attrs.field(factory=pmap, converter=pmap)
    foreign_keys: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)


def catalog_from_sqlite(tables: Iterable[SqliteTableRows]) -> CatalogRows:
    """Return catalog rows from SQLite's raw PRAGMA rows and table SQL.

    Constraint names, CHECK text and AUTOINCREMENT come from the table's SQL; the
    automatic indexes behind UNIQUE constraints become unique constraints, not indexes.
    """
    result: dict[str, list[Any]] = {
        part: [] for part in ("tables", "columns", "indexes", "uniques", "checks", "keys")
    }
    for table in sorted(tables, key=lambda t: t.name):
        name = table.name
        parsed = parse_create_table(table.sql)
        result["tables"].append(TableRow(name))
        for _cid, column, declared, notnull, default, pk, hidden in sorted(table.columns):
            if hidden == 0:
                auto = column in parsed.autoincrement
                result["columns"].append(
                    ColumnRow(name, column, declared or "", not notnull, default, pk, auto)
                )
        uniques = [UniqueRow(name, unique_name, columns) for unique_name, columns in parsed.uniques]
        for _seq, index, unique, origin, partial in table.indexes:
            entries = sorted(r for r in table.index_columns.get(index, ()) if r[5])
            columns = tuple(str(r[2]) if r[2] is not None else "<expression>" for r in entries)
            if origin == "c":
                condition = parse_index_condition(table.index_sql.get(index)) if partial else None
                descending = tuple(bool(r[3]) for r in entries)
                result["indexes"].append(IndexRow(name, index, columns, descending, bool(unique), condition))
            elif origin == "u" and all(u.columns != columns for u in uniques):
                uniques.append(UniqueRow(name, index, columns))
        result["uniques"] += uniques
        result["checks"] += [CheckRow(name, check_name, check) for check_name, check in parsed.checks]
        named = list(parsed.foreign_keys)
        groups: dict[int, list[tuple[Any, ...]]] = {}
        for row in table.foreign_keys:
            groups.setdefault(row[0], []).append(row)
        for _id, group in sorted(groups.items()):
            group.sort(key=lambda r: r[1])
            columns = tuple(r[3] for r in group)
            targets = tuple(r[4] for r in group if r[4] is not None)
            match = next((entry for entry in named if entry[1] == columns), None)
            if match is not None:
                named.remove(match)
            key_name = None if match is None else match[0]
            result["keys"].append(ForeignKeyRow(name, key_name, columns, group[0][2], targets, group[0][6]))
    return CatalogRows(
        tables=result["tables"],
        columns=result["columns"],
        indexes=result["indexes"],
        uniques=result["uniques"],
        checks=result["checks"],
        foreign_keys=result["keys"],
    )

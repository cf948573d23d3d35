"""MySQL and MariaDB catalog rows (``information_schema``) -> dialect-neutral ``CatalogRows``.

Theory of operation: the shell runs ``MYSQL_CATALOG_QUERIES`` (its ``checks`` query per
server flavour) and hands the raw rows, unsorted, to ``catalog_from_mysql``; nothing
here touches a database. The rows then feed the same pure functions as SQLite's:
``schema_from_catalog`` (law 3) and ``state_from_catalog`` (fake-initial, drift).

What the reader settles, so the rows say what the state would:

- Types: integer display widths go (``int(11)`` is ``int``), single-precision ``float``
  reads as ``float4`` (``parse_sql_type`` takes ``FLOAT`` for a double), and MariaDB's
  ``json`` (a ``longtext`` with a column check ``json_valid(col)`` named after the
  column) reads as ``json`` without that check.
- Defaults: MySQL 8 reports literals unquoted and marks expressions ``DEFAULT_GENERATED``;
  they are written back as SQL, as MariaDB reports them.
- Indexes: the helper index the dialect gives a foreign key no other index serves (named
  after the key, over exactly its columns) is not listed. MySQL keeps no difference
  between a unique index and a unique constraint: a unique index whose columns all sort
  ascending is listed as a unique constraint, one with a descending column as a unique
  index. ``fold_unique_indexes`` makes the state's side of a comparison do the same.
- Index prefix lengths (``SUB_PART``) are not kept: the rows have no place for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from pyrsistent import pmap

from reinhardt_migrations.pure.introspection import (
    CatalogRows,
    CheckRow,
    ColumnRow,
    DatabaseSchema,
    ForeignKeyRow,
    IndexRow,
    TableRow,
    UniqueRow,
    UniqueSchema,
)
from reinhardt_migrations.pure.sql import render_literal

__all__ = [
    "MYSQL_CATALOG_QUERIES",
    "MysqlCatalog",
    "catalog_from_mysql",
    "fold_unique_indexes",
]

_SCHEMA = "TABLE_SCHEMA = DATABASE()"

#: The queries the shell runs (``checks_mariadb`` or ``checks_mysql`` by server flavour).
MYSQL_CATALOG_QUERIES: Mapping[str, str] = pmap(
    {
        "tables": (
            "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES "
            f"WHERE {_SCHEMA} AND TABLE_TYPE = 'BASE TABLE'"
        ),
        "columns": (
            "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
            f"EXTRA, COLUMN_COMMENT, DATA_TYPE FROM information_schema.COLUMNS WHERE {_SCHEMA}"
        ),
        "indexes": (
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, COLLATION, SUB_PART "
            f"FROM information_schema.STATISTICS WHERE {_SCHEMA}"
        ),
        # MariaDB names checks per table and has TABLE_NAME and LEVEL in CHECK_CONSTRAINTS.
        "checks_mariadb": (
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL "
            "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
        ),
        # MySQL names checks per schema; the table comes from TABLE_CONSTRAINTS.
        "checks_mysql": (
            "SELECT t.TABLE_NAME, t.CONSTRAINT_NAME, c.CHECK_CLAUSE, 'Table' "
            "FROM information_schema.TABLE_CONSTRAINTS t JOIN information_schema.CHECK_CONSTRAINTS c "
            "ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME "
            f"WHERE t.{_SCHEMA} AND t.CONSTRAINT_TYPE = 'CHECK'"
        ),
        "foreign_keys": (
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, "
            "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE "
            "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME "
            "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            f"WHERE k.{_SCHEMA} AND k.REFERENCED_TABLE_NAME IS NOT NULL"
        ),
    }
)


def _rows(value: Iterable[Iterable[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(row) for row in value)


@attrs.frozen
class MysqlCatalog:
    """The raw rows of ``MYSQL_CATALOG_QUERIES``, in any order, and which server answered."""

    tables: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    columns: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    indexes: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    checks: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    foreign_keys: tuple[tuple[Any, ...], ...] = attrs.field(default=(), converter=_rows)
    mariadb: bool = True


_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")
_NUMERIC_DATA_TYPES = frozenset(
    ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "float", "double", "bit")
)


def _type_text(column_type: str) -> str:
    """Return a reported type as ``parse_sql_type`` reads it: ``int(11)`` as int, ``float`` as float4."""
    text = " ".join(str(column_type).lower().split())
    for name in _INTEGER_TYPES:
        if text.startswith(f"{name}(") and text != "tinyint(1)":
            text = name + text[text.index(")") + 1 :]
            break
    return "float4" if text == "float" else text


def _default_text(default: Any, extra: str, data_type: str, mariadb: bool) -> str | None:
    """Return a reported default as SQL (MySQL 8 reports literals unquoted)."""
    if default is None:
        return None
    text = str(default)
    if mariadb:
        # MariaDB reports NULL for a nullable column without a default too: read it as none.
        return None if text.upper() == "NULL" else text
    if "DEFAULT_GENERATED" in extra.upper():
        return f"({text})"
    if data_type.lower() in _NUMERIC_DATA_TYPES:
        return text
    return render_literal(text, "mysql")


def _json_checks(checks: Iterable[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """Return ``(table, column)`` of MariaDB's automatic ``json_valid`` column checks."""
    found = set()
    for table, name, clause, level in checks:
        column = str(name)
        if str(level).lower() == "column" and str(clause).strip() == _json_valid(column):
            found.add((str(table), column))
    return found


def _json_valid(column: str) -> str:
    return "json_valid(`" + column.replace("`", "``") + "`)"


def catalog_from_mysql(raw: MysqlCatalog) -> CatalogRows:
    """Return catalog rows from the raw ``information_schema`` rows (see the module doc)."""
    json_columns = _json_checks(raw.checks) if raw.mariadb else set()
    keys: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in raw.foreign_keys:
        keys.setdefault((str(row[0]), str(row[1])), []).append(row)
    foreign_keys = []
    for (table, name), group in sorted(keys.items()):
        group.sort(key=lambda r: int(r[2]))
        foreign_keys.append(
            ForeignKeyRow(
                table,
                name,
                tuple(str(r[3]) for r in group),
                str(group[0][4]),
                tuple(str(r[5]) for r in group),
                str(group[0][6]),
            )
        )
    key_columns = {(k.table, k.name): k.columns for k in foreign_keys}
    entries: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in raw.indexes:
        entries.setdefault((str(row[0]), str(row[1])), []).append(row)
    primary: dict[tuple[str, str], int] = {}
    indexes, uniques = [], []
    for (table, name), group in sorted(entries.items()):
        group.sort(key=lambda r: int(r[3]))
        columns = tuple(str(r[4]) if r[4] is not None else "<expression>" for r in group)
        unique = not int(group[0][2])
        if name == "PRIMARY":
            primary.update({(table, column): position for position, column in enumerate(columns, 1)})
            continue
        if not unique and key_columns.get((table, name)) == columns:
            continue  # the helper index of a foreign key
        descending = tuple(str(r[5] or "A").upper() == "D" for r in group)
        if unique and not any(descending):
            uniques.append(UniqueRow(table, name, columns))
        else:
            indexes.append(IndexRow(table, name, columns, descending, unique))
    columns_rows = []
    for row in sorted(raw.columns, key=lambda r: (str(r[0]), int(r[2]))):
        table, column, _position, column_type, nullable, default, extra, comment, data_type = row
        table, column, extra = str(table), str(column), str(extra or "")
        if "GENERATED" in extra.upper() and "DEFAULT_GENERATED" not in extra.upper():
            continue  # a generated column is the server's, not a field's
        json_column = (table, column) in json_columns
        columns_rows.append(
            ColumnRow(
                table=table,
                name=column,
                type="json" if json_column else _type_text(column_type),
                null=str(nullable).upper() == "YES",
                default=_default_text(default, extra, str(data_type), raw.mariadb),
                primary_key=primary.get((table, column), 0),
                autoincrement="auto_increment" in extra.lower(),
                comment=str(comment) if comment else None,
            )
        )
    checks = [
        CheckRow(str(table), str(name), str(clause))
        for table, name, clause, _level in sorted(raw.checks, key=lambda r: (str(r[0]), str(r[1])))
        if (str(table), str(name)) not in json_columns
    ]
    tables = [TableRow(str(name), str(comment) if comment else None) for name, comment in sorted(raw.tables)]
    return CatalogRows(
        tables=tables,
        columns=columns_rows,
        indexes=indexes,
        uniques=uniques,
        checks=checks,
        foreign_keys=foreign_keys,
    )


def fold_unique_indexes(schema: DatabaseSchema) -> DatabaseSchema:
    """Return ``schema`` with each ascending unique index as a unique constraint, as MySQL keeps it.

    Compare ``fold_unique_indexes(schema_of(state, dialect))`` with the schema read back
    from MySQL or MariaDB: the server cannot tell the two apart.
    """
    tables = []
    for table in schema.tables:
        folded = [
            i for i in table.indexes if i.unique and i.condition is None and not any(d for _c, d in i.columns)
        ]
        if not folded:
            tables.append(table)
            continue
        uniques = [*table.uniques, *(UniqueSchema(i.name, [c for c, _d in i.columns]) for i in folded)]
        kept = [i for i in table.indexes if i not in folded]
        tables.append(attrs.evolve(table, indexes=kept, uniques=uniques))
    return DatabaseSchema(tables)

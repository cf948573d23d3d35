"""The SQLite dialect: native ALTER TABLE where SQLite allows it, otherwise one table rebuild.

Theory of operation: a ``TableChange`` (see ``tables.py``) is rendered natively when
every part of it is something SQLite's ALTER TABLE does in place: rename the table,
rename columns (3.25+), drop plain columns (3.35+), add columns that need no rebuild,
create and drop indexes. Anything else (a column's type, nullability or default, a
primary key, unique, check or foreign key constraint, a column that cannot be added
or dropped in place, a new column order) rebuilds the table with SQLite's documented
procedure: create ``"new__<table>"`` with the final definition, copy the rows with
explicit column lists, drop the old table, rename the new one, recreate the indexes.
``rebuild_reasons`` says why, and plans print the reasons.

Foreign keys: dropping the old table with ``PRAGMA foreign_keys=ON`` would run the
ON DELETE actions of the tables pointing at it (deleting or nulling their rows), and
that pragma is a no-op inside a transaction; ``defer_foreign_keys`` defers checks but
not those actions. So, like Django and sqlite-utils' ``transform``, a plan with a
rebuild turns foreign keys off *before* its transaction (``setup``), checks them with
``PRAGMA foreign_key_check`` before committing (``checks``, which must return no row),
and turns them back on afterwards (``teardown``). Everything between stays one
transaction: SQLite's DDL is transactional.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import ClassVar

import attrs

from reinhardt_migrations.pure.dialects.base import BaseDialect
from reinhardt_migrations.pure.dialects.tables import (
    ColumnDef,
    ForeignKeyDef,
    IndexDef,
    TableChange,
    TableDef,
)
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.fields import LiteralDefault, SqlDefault
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.types import Char, ColumnType, DateTime, Decimal, RawType, Varchar

__all__ = [
    "ParsedTableSql",
    "SQLiteDialect",
    "parse_create_table",
    "parse_index_condition",
    "sqlite_affinity",
]

# Type spellings. Each is chosen for (1) the SQLite affinity the values need (TEXT for
# uuids and JSON, so "123" stays a string; INTEGER for integers; REAL for floats;
# NUMERIC for decimals and dates), and (2) parse_sql_type reading it back as the same
# type where it can. "integer" for the auto types is required: only a column declared
# exactly INTEGER PRIMARY KEY is the rowid and can be AUTOINCREMENT.
_TYPES: dict[str, str] = {
    "integer": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "auto": "integer",
    "bigauto": "integer",
    "boolean": "bool",
    "text": "text",
    "float": "real",
    "double": "double",
    "date": "date",
    "time": "time",
    "duration": "interval",
    "uuid": "char(32)",
    "json": "text",
    "binary": "blob",
    "array": "text",  # JSON text: SQLite has no arrays
}

# How a value moves when a rebuild changes a column's affinity, as (old, new) ->
# copy expression. Storing into the new column applies the new affinity by itself
# and never loses data (text "12" becomes 12, 5 becomes "5", values that do not
# convert keep their type), so only one case needs SQL: a REAL stored into an
# INTEGER column stays REAL, while the declared type promises an integer. It is
# rounded, as PostgreSQL and MySQL do when a column becomes an integer.
_ROUND = "CASE WHEN typeof({0}) = 'real' THEN CAST(round({0}) AS INTEGER) ELSE {0} END"
_CASTS: dict[tuple[str, str], str] = {
    ("REAL", "INTEGER"): _ROUND,
    ("NUMERIC", "INTEGER"): _ROUND,
}

_ROWID_NAMES = frozenset({"rowid", "_rowid_", "oid"})

_DEFERRED = "DEFERRABLE INITIALLY DEFERRED"


def sqlite_affinity(declared_type: str) -> str:
    """Return the affinity SQLite gives a declared column type (its rules, section 3.1)."""
    upper = declared_type.upper()
    if "INT" in upper:
        return "INTEGER"
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return "REAL"
    return "NUMERIC"


def _version(value: Iterable[int]) -> tuple[int, int, int]:
    parts = (*tuple(value), 0, 0, 0)
    return (int(parts[0]), int(parts[1]), int(parts[2]))


@attrs.frozen
class SQLiteDialect(BaseDialect):
    """SQLite (3.35 or later by default; give ``version`` to plan for an older library)."""

    version: tuple[int, int, int] = attrs.field(default=(3, 35, 0), converter=_version)
    name: ClassVar[str] = "sqlite"
    max_identifier_bytes: ClassVar[int | None] = None
    merges_rebuilds: ClassVar[bool] = True

    def column_type_sql(self, column_type: ColumnType) -> str:
        """Return the SQLite spelling of a column type, e.g. ``varchar(200)``.

        Raises:
            UnsupportedOperation: a column type SQLite has no spelling for.
        """
        if isinstance(column_type, RawType):
            return column_type.for_dialect(self.name)
        if isinstance(column_type, Varchar):
            return f"varchar({column_type.max_length})"
        if isinstance(column_type, Char):
            return f"char({column_type.length})"
        if isinstance(column_type, Decimal):
            return f"decimal({column_type.max_digits}, {column_type.decimal_places})"
        if isinstance(column_type, DateTime):
            return "timestamptz" if column_type.timezone else "datetime"
        spelling = _TYPES.get(column_type.kind)
        if spelling is None:
            raise UnsupportedOperation(
                self.name,
                f"column type {column_type.describe()}",
                "no SQLite spelling is known for it; use RawType(sql=..., per_dialect={'sqlite': ...})",
            )
        return spelling

    # -- SQL pieces ------------------------------------------------------------------

    def _names(self, names: Iterable[str]) -> str:
        return ", ".join(self.quote(name) for name in names)

    def column_sql(self, column: ColumnDef, *, inline_primary_key: bool) -> str:
        """Return a column definition: name, type, NULL/NOT NULL, key and default."""
        type_sql = self.column_type_sql(column.type)
        parts = [self.quote(column.name), type_sql, "NULL" if column.null else "NOT NULL"]
        if inline_primary_key and column.primary_key:
            parts.append("PRIMARY KEY")
            if column.autoincrement and type_sql.upper() == "INTEGER":
                parts.append("AUTOINCREMENT")
        default = self.default_sql(column.default)
        if default is not None:
            parts.append(f"DEFAULT {default}")
        return " ".join(parts)

    def _constraint(self, name: str) -> str:
        return f"CONSTRAINT {self.quote(self.object_name(name))}"

    def _references(self, key: ForeignKeyDef) -> str:
        action = self.on_delete_sql(key.on_delete)
        on_delete = "" if action == "NO ACTION" else f" ON DELETE {action}"
        target = f"{self.quote(key.target_table)} ({self._names(key.target_columns)})"
        return f"REFERENCES {target}{on_delete} {_DEFERRED}"

    def create_table_sql(self, table: TableDef, name: str | None = None) -> str:
        """Return ``CREATE TABLE`` for ``table`` (under ``name`` if given), with its constraints."""
        inline = len(table.primary_key) == 1
        lines = [self.column_sql(column, inline_primary_key=inline) for column in table.columns]
        if len(table.primary_key) > 1:
            lines.append(f"PRIMARY KEY ({self._names(table.primary_key)})")
        for unique in table.uniques:
            lines.append(f"{self._constraint(unique.name)} UNIQUE ({self._names(unique.columns)})")
        for check in table.checks:
            lines.append(f"{self._constraint(check.name)} CHECK ({check.check})")
        for key in table.foreign_keys:
            lines.append(
                f"{self._constraint(key.name)} FOREIGN KEY ({self._names(key.columns)}) "
                + self._references(key)
            )
        body = ",\n    ".join(lines)
        return f"CREATE TABLE {self.quote(name or table.name)} (\n    {body}\n)"

    def create_index_sql(self, index: IndexDef, table: str) -> str:
        """Return ``CREATE [UNIQUE] INDEX`` with column order and a partial condition."""
        columns = ", ".join(
            self.quote(c) + (" DESC" if descending else "") for c, descending in index.columns
        )
        unique = "UNIQUE " if index.unique else ""
        where = f" WHERE {index.condition}" if index.condition else ""
        name = self.quote(self.object_name(index.name))
        return f"CREATE {unique}INDEX {name} ON {self.quote(table)} ({columns}){where}"

    def _drop_index(self, index: IndexDef) -> Statement:
        return Statement(f"DROP INDEX {self.quote(self.object_name(index.name))}")

    # -- rendering -------------------------------------------------------------------

    def render_change(self, change: TableChange) -> tuple[Statement, ...]:
        """Return the statements making one table match: create, drop, alter in place, or rebuild."""
        if change.old is None:
            assert change.new is not None
            indexes = (Statement(self.create_index_sql(i, change.new.name)) for i in change.new.indexes)
            return (Statement(self.create_table_sql(change.new)), *indexes)
        if change.new is None:
            return (Statement(f"DROP TABLE {self.quote(change.old.name)}"),)
        if self.rebuild_reasons(change):
            return self._rebuild(change, change.old, change.new)
        return self._alter_in_place(change, change.old, change.new)

    def plan_frame(self, rebuilds: bool) -> tuple[tuple[Statement, ...], ...]:
        """Return foreign keys off / check / on around a plan that rebuilds (see the module doc)."""
        if not rebuilds:
            return ((), (), ())
        return (
            (Statement("PRAGMA foreign_keys = OFF", transactional=False),),
            (Statement("PRAGMA foreign_key_check", expect_no_rows=True),),
            (Statement("PRAGMA foreign_keys = ON", transactional=False),),
        )

    def _alter_in_place(self, change: TableChange, old: TableDef, new: TableDef) -> tuple[Statement, ...]:
        statements = []
        if old.name != new.name:
            statements.append(
                Statement(f"ALTER TABLE {self.quote(old.name)} RENAME TO {self.quote(new.name)}")
            )
        table = self.quote(new.name)
        removed, added = change.index_changes()
        statements += [self._drop_index(index) for index in removed]
        for old_name, new_name in change.renamed_columns():
            statements.append(
                Statement(
                    f"ALTER TABLE {table} RENAME COLUMN {self.quote(old_name)} TO {self.quote(new_name)}"
                )
            )
        for column in change.dropped_columns():
            statements.append(Statement(f"ALTER TABLE {table} DROP COLUMN {self.quote(column.name)}"))
        for column in change.added_columns():
            sql = f"ALTER TABLE {table} ADD COLUMN {self.column_sql(column, inline_primary_key=False)}"
            for key in new.foreign_keys:
                if key.columns == (column.name,):
                    sql += f" {self._constraint(key.name)} {self._references(key)}"
            statements.append(Statement(sql))
        statements += [Statement(self.create_index_sql(index, new.name)) for index in added]
        return tuple(statements)

    def _rebuild(self, change: TableChange, old: TableDef, new: TableDef) -> tuple[Statement, ...]:
        temporary = f"new__{new.name}"
        statements = [Statement(self.create_table_sql(new, temporary))]
        if any(c.autoincrement for c in old.columns) and any(c.autoincrement for c in new.columns):
            # Keep the AUTOINCREMENT counter: ids of deleted rows must not come back.
            statements.append(
                Statement(
                    "INSERT INTO sqlite_sequence (name, seq) "
                    "SELECT ?, seq FROM sqlite_sequence WHERE name = ?",
                    (temporary, old.name),
                )
            )
        targets: list[str] = []
        sources: list[str] = []
        for old_column, new_column in change.matched_columns():
            targets.append(self.quote(new_column.name))
            sources.append(self._copy_expression(old_column, new_column, change))
        for column in change.added_columns():
            fill = change.fills.get(column.name)
            fill_sql = None if fill is None else self.default_sql(fill)
            if fill_sql is not None:
                targets.append(self.quote(column.name))
                sources.append(fill_sql)
            # Otherwise the column is left out, so its DEFAULT (or NULL) fills it.
        names = {c.name.lower() for c in (*old.columns, *new.columns)}
        if (not self._has_rowid_alias(new) or not targets) and not names & _ROWID_NAMES:
            # Keep implicit rowids too (sqlite-utils does): other data may refer to them.
            targets.insert(0, "rowid")
            sources.insert(0, "rowid")
        if targets:
            statements.append(
                Statement(
                    f"INSERT INTO {self.quote(temporary)} ({', '.join(targets)}) "
                    f"SELECT {', '.join(sources)} FROM {self.quote(old.name)}"
                )
            )
        statements.append(Statement(f"DROP TABLE {self.quote(old.name)}"))
        # Since 3.26 a rename re-checks every view and trigger, and one that reads the
        # table fails while it is dropped; the legacy rename skips that and leaves their
        # text alone, which is right here: they name the table the new one becomes.
        statements.append(Statement("PRAGMA legacy_alter_table = ON"))
        statements.append(Statement(f"ALTER TABLE {self.quote(temporary)} RENAME TO {self.quote(new.name)}"))
        statements.append(Statement("PRAGMA legacy_alter_table = OFF"))
        statements += [Statement(self.create_index_sql(index, new.name)) for index in new.indexes]
        return tuple(statements)

    def _has_rowid_alias(self, table: TableDef) -> bool:
        keys = [c for c in table.columns if c.primary_key]
        return len(keys) == 1 and self.column_type_sql(keys[0].type).upper() == "INTEGER"

    def _copy_expression(self, old: ColumnDef, new: ColumnDef, change: TableChange) -> str:
        expression = self.quote(old.name)
        affinities = (
            sqlite_affinity(self.column_type_sql(old.type)),
            sqlite_affinity(self.column_type_sql(new.type)),
        )
        cast = _CASTS.get(affinities) if affinities[0] != affinities[1] else None
        if cast is not None:
            expression = cast.format(expression)
        filler = change.fills.get(new.name)
        if filler is None and not new.null:
            filler = new.default
        if old.null and filler is not None:
            fill_sql = self.default_sql(filler)
            if fill_sql is not None and fill_sql != "NULL":
                expression = f"COALESCE({expression}, {fill_sql})"
        return expression

    # -- deciding --------------------------------------------------------------------

    def _definition(self, column: ColumnDef) -> tuple[object, ...]:
        return (
            self.normalise_type(self.column_type_sql(column.type)),
            column.null,
            self.default_sql(column.default),
            column.primary_key,
            column.autoincrement,
        )

    def rebuild_reasons(self, change: TableChange) -> tuple[str, ...]:
        """Return why SQLite must rebuild the table for ``change`` (empty: it alters in place)."""
        if change.old is None or change.new is None:
            return ()
        old, new = change.old, change.new
        reasons: list[str] = []
        if change.primary_key_changed():
            reasons.append("the primary key changes")
        for old_column, new_column in change.matched_columns():
            if self._definition(old_column) != self._definition(new_column):
                reasons.append(f"column {self.quote(new_column.name)} changes its definition")
            elif old_column.null and new_column.name in change.fills:
                reasons.append(f"column {self.quote(new_column.name)} fills its NULLs")
        removed_keys, added_keys = change.foreign_key_changes()
        # A foreign key on a column added in place is part of its ADD COLUMN.
        new_columns = {c.name for c in change.added_columns()}
        added_keys = tuple(k for k in added_keys if not (len(k.columns) == 1 and k.columns[0] in new_columns))
        for kind, (removed, added) in (
            ("unique constraints", change.unique_changes()),
            ("check constraints", change.check_changes()),
            ("foreign keys", (removed_keys, added_keys)),
        ):
            if removed or added:
                reasons.append(f"{kind} change")
        for column in change.added_columns():
            reason = self._cannot_add(column, change, new)
            if reason:
                reasons.append(f"column {self.quote(column.name)} {reason}")
        for column in change.dropped_columns():
            reason = self._cannot_drop(column, old, new)
            if reason:
                reasons.append(f"column {self.quote(column.name)} {reason}")
        renamed = change.renamed_columns()
        if renamed and self.version < (3, 25, 0):
            reasons.append("SQLite before 3.25 cannot rename columns")
        for old_name, new_name in renamed:
            # SQLite compares column names without case: a rename onto another old name must wait.
            if new_name.lower() in {c.name.lower() for c in old.columns if c.name != old_name}:
                reasons.append("column renames reuse names")
                break
        # In place, kept columns stay in their old order and added ones go last.
        matched = {old_name for old_name, _ in change.column_pairs}
        kept = [change.new_column_name(c.name) for c in old.columns if c.name in matched]
        if kept + [c.name for c in change.added_columns()] != [c.name for c in new.columns]:
            reasons.append("the column order changes")
        return tuple(reasons)

    def _cannot_add(self, column: ColumnDef, change: TableChange, new: TableDef) -> str | None:
        """Return why ``ALTER TABLE ADD COLUMN`` cannot add ``column`` (None: it can)."""
        default = self.default_sql(column.default)
        if column.primary_key:
            return "is a primary key"
        if any(column.name in unique.columns for unique in new.uniques):
            return "is unique"
        if change.fills.get(column.name, column.default) != column.default:
            return "fills existing rows with a value other than its default"
        if isinstance(column.default, SqlDefault):
            return "has an expression default"
        if not column.null and default in (None, "NULL"):
            return "is NOT NULL without a default"
        holds_key = any(column.name in key.columns for key in new.foreign_keys)
        if holds_key and isinstance(column.default, LiteralDefault) and column.default.value is not None:
            return "holds a foreign key with a non-NULL default"
        return None

    def _cannot_drop(self, column: ColumnDef, old: TableDef, new: TableDef) -> str | None:
        """Return why ``ALTER TABLE DROP COLUMN`` cannot drop ``column`` (None: it can)."""
        if self.version < (3, 35, 0):
            return "cannot be dropped by SQLite before 3.35"
        if column.primary_key:
            return "is a primary key"
        if any(column.name in unique.columns for unique in old.uniques):
            return "is unique"
        if any(column.name in key.columns for key in old.foreign_keys):
            return "holds a foreign key"
        expressions = [c.check for c in old.checks] + [i.condition for i in new.indexes if i.condition]
        if any(_mentions(text, column.name) for text in expressions):
            return "is named by a check or an index condition"
        return None


# -- reading SQLite's own SQL ----------------------------------------------------------
#
# PRAGMA table_info, index_list and foreign_key_list say almost everything about a
# table, but not the names of its constraints, its CHECK expressions, AUTOINCREMENT,
# or an index's WHERE clause: those exist only in the SQL that sqlite_master keeps. A
# small tokenizer (quoted names, strings, comments, brackets) is enough to find them.

_TOKEN = re.compile(
    r"""(?P<space>\s+|--[^\n]*|/\*.*?\*/)
    |(?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
    |(?P<string>'(?:[^']|'')*')
    |(?P<word>[^\W\d][\w$]*)
    |(?P<number>\d[\w.]*)
    |(?P<mark>.)""",
    re.VERBOSE | re.DOTALL,
)


@attrs.frozen
class _Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """Return the identifier this token spells (quotes removed)."""
        if self.kind == "quoted":
            if self.text[0] == "[":
                return self.text[1:-1]
            mark = self.text[0]
            return self.text[1:-1].replace(mark * 2, mark)
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'")
        return self.text


def _tokens(sql: str) -> list[_Token]:
    return [
        _Token(match.lastgroup or "", match.group(), match.start(), match.end())
        for match in _TOKEN.finditer(sql)
        if match.lastgroup != "space"
    ]


def _mentions(expression: str, column: str) -> bool:
    return any(t.kind in ("word", "quoted") and t.name.lower() == column.lower() for t in _tokens(expression))


def _group_end(tokens: Sequence[_Token], start: int) -> int:
    """Return the index of the bracket closing the one at ``start``."""
    depth = 0
    for position in range(start, len(tokens)):
        if tokens[position].text == "(":
            depth += 1
        elif tokens[position].text == ")":
            depth -= 1
            if depth == 0:
                return position
    return len(tokens) - 1


def _split(tokens: Sequence[_Token]) -> list[list[_Token]]:
    """Split tokens at commas outside brackets."""
    items: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += token.text == "("
        depth -= token.text == ")"
        if token.text == "," and depth == 0 and token.kind == "mark":
            items.append([])
        else:
            items[-1].append(token)
    return [item for item in items if item]


def _group_names(tokens: Sequence[_Token], start: int) -> tuple[tuple[str, ...], int]:
    """Return the first name of each item in the bracket group at ``start``, and its end."""
    end = _group_end(tokens, start)
    return tuple(item[0].name for item in _split(tokens[start + 1 : end])), end


@attrs.frozen
class ParsedTableSql:
    """What only a table's SQL tells: constraint names, CHECK text, AUTOINCREMENT."""

    autoincrement: tuple[str, ...] = ()
    uniques: tuple[tuple[str | None, tuple[str, ...]], ...] = ()
    checks: tuple[tuple[str | None, str], ...] = ()
    foreign_keys: tuple[tuple[str | None, tuple[str, ...]], ...] = ()


def parse_create_table(sql: str) -> ParsedTableSql:
    """Return the constraint names, CHECK expressions and AUTOINCREMENT column of a CREATE TABLE."""
    tokens = _tokens(sql)
    opening = next((i for i, t in enumerate(tokens) if t.text == "("), None)
    if opening is None:
        return ParsedTableSql()
    autoincrement: list[str] = []
    uniques: list[tuple[str | None, tuple[str, ...]]] = []
    checks: list[tuple[str | None, str]] = []
    keys: list[tuple[str | None, tuple[str, ...]]] = []
    for item in _split(tokens[opening + 1 : _group_end(tokens, opening)]):
        table_level = item[0].upper in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")
        column = None if table_level else item[0].name
        position = 0 if table_level else 1
        name: str | None = None
        while position < len(item):
            token = item[position]
            word = token.upper
            if word == "CONSTRAINT" and position + 1 < len(item):
                name = item[position + 1].name
                position += 2
                continue
            if word in ("UNIQUE", "FOREIGN", "PRIMARY") and column is None:
                following = next((i for i in range(position, len(item)) if item[i].text == "("), None)
                if following is not None:
                    columns, end = _group_names(item, following)
                    if word == "UNIQUE":
                        uniques.append((name, columns))
                    elif word == "FOREIGN":
                        keys.append((name, columns))
                    name, position = None, end + 1
                    continue
            elif word == "UNIQUE" and column is not None:
                uniques.append((name, (column,)))
                name = None
            elif word == "REFERENCES" and column is not None:
                keys.append((name, (column,)))
                name = None
            elif word == "AUTOINCREMENT" and column is not None:
                autoincrement.append(column)
            elif word == "CHECK" and position + 1 < len(item) and item[position + 1].text == "(":
                end = _group_end(item, position + 1)
                checks.append((name, sql[item[position + 1].end : item[end].start].strip()))
                name, position = None, end + 1
                continue
            elif token.text == "(":
                position = _group_end(item, position) + 1
                continue
            elif word in ("PRIMARY", "NOT", "NULL", "DEFAULT", "COLLATE", "GENERATED"):
                name = None
            position += 1
    return ParsedTableSql(tuple(autoincrement), tuple(uniques), tuple(checks), tuple(keys))


def parse_index_condition(sql: str | None) -> str | None:
    """Return the WHERE condition of a CREATE INDEX statement (None: not partial)."""
    if not sql:
        return None
    tokens = _tokens(sql)
    opening = next((i for i, t in enumerate(tokens) if t.text == "("), None)
    if opening is None:
        return None
    end = _group_end(tokens, opening)
    if end + 1 < len(tokens) and tokens[end + 1].upper == "WHERE":
        return sql[tokens[end + 1].end :].strip().rstrip(";").strip() or None
    return None

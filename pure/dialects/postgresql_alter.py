"""PostgreSQL's in-place ``ALTER TABLE``: the statements taking one table from its old to its new definition.

Theory of operation: ``render_alteration`` emits, in an order that never needs a name
before it exists or after it is gone (see ``postgresql.py`` for the whole dialect):

1. drop what goes (foreign keys, unique and check constraints, indexes, the primary key)
   under the table's old name;
2. rename the table;
3. drop columns (freeing their names), rename columns (a swap or chain through a
   temporary name), change kept ones (identity off, default off, ``TYPE ... USING``,
   fill NULLs, ``SET``/``DROP NOT NULL``, default, identity on, comment), add new ones;
4. rename indexes and constraints whose definition is unchanged, then add what is new.

A removed and an added object of one definition are a rename (``RenameIndex``, say),
so the index is not rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import attrs

from reinhardt_migrations.pure.dialects.tables import (
    CheckDef,
    ColumnDef,
    ForeignKeyDef,
    IndexDef,
    TableChange,
    TableDef,
    UniqueDef,
)
from reinhardt_migrations.pure.fields import Default, NoDefault
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.types import Array, ColumnType

if TYPE_CHECKING:
    from reinhardt_migrations.pure.dialects.postgresql import PostgreSQLDialect

__all__ = ["render_alteration", "using_sql"]

_Named = TypeVar("_Named", IndexDef, UniqueDef, CheckDef, ForeignKeyDef)

# How a column's values move when its type changes family, as (old family, new
# family) -> USING expression ({0} is the quoted column, {1} the new type). Pairs not
# listed need no USING when PostgreSQL has an assignment cast (_ASSIGNABLE: integers,
# numbers and text among themselves, anything to text); otherwise "{0}::{1}".
_USING: dict[tuple[str, str], str] = {
    ("boolean", "integer"): "{0}::integer",
    ("integer", "boolean"): "{0} <> 0",
    ("text", "json"): "{0}::jsonb",
    ("integer", "json"): "to_jsonb({0})",
    ("number", "json"): "to_jsonb({0})",
    ("boolean", "json"): "to_jsonb({0})",
    ("array", "json"): "to_jsonb({0})",
    ("json", "array"): "ARRAY(SELECT jsonb_array_elements_text({0}))::{1}",
}
_ASSIGNABLE: frozenset[tuple[str, str]] = frozenset(
    {
        ("integer", "integer"),
        ("integer", "number"),
        ("number", "integer"),
        ("number", "number"),
        ("text", "text"),
    }
)


def render_alteration(
    dialect: PostgreSQLDialect, change: TableChange, old: TableDef, new: TableDef
) -> tuple[Statement, ...]:
    """Return the statements altering the table ``old`` in place into ``new``."""
    return tuple(_Alteration(dialect, change, old, new).statements())


class _Alteration:
    """The statements altering one table in place, in the order of the module docstring."""

    __slots__ = ("change", "dialect", "new", "old", "out", "table")

    def __init__(self, dialect: PostgreSQLDialect, change: TableChange, old: TableDef, new: TableDef) -> None:
        self.dialect = dialect
        self.change = change
        self.old = old
        self.new = new
        self.table = dialect.quote(new.name)
        self.out: list[Statement] = []

    def emit(self, sql: str) -> None:
        self.out.append(Statement(sql))

    def alter(self, sql: str) -> None:
        self.emit(f"ALTER TABLE {self.table} {sql}")

    def statements(self) -> list[Statement]:
        d, change = self.dialect, self.change
        removed_keys, added_keys = change.foreign_key_changes()
        removed_uniques, added_uniques = change.unique_changes()
        removed_checks, added_checks = change.check_changes()
        removed_indexes, added_indexes = change.index_changes()
        renamed_keys, removed_keys, added_keys = _pair_renames(removed_keys, added_keys, _key_shape)
        renamed_uniques, removed_uniques, added_uniques = _pair_renames(
            removed_uniques, added_uniques, lambda u: u.columns
        )
        renamed_checks, removed_checks, added_checks = _pair_renames(
            removed_checks, added_checks, lambda c: d.normalise_expression(c.check)
        )
        renamed_indexes, removed_indexes, added_indexes = _pair_renames(
            removed_indexes, added_indexes, lambda i: (i.columns, i.unique, i.condition)
        )
        # 1. Drop, under the old table name.
        old_table = d.quote(self.old.name)
        dropped: list[str] = [k.name for k in removed_keys] + [u.name for u in removed_uniques]
        for name in (*dropped, *(c.name for c in removed_checks)):
            self.emit(f"ALTER TABLE {old_table} DROP CONSTRAINT {d.quote(d.object_name(name))}")
        for index in removed_indexes:
            self.emit(f"DROP INDEX {d.quote(d.object_name(index.name))}")
        if change.primary_key_changed() and self.old.primary_key:
            self.emit(_drop_primary_key_sql(d, self.old.name))
        # 2. Rename the table.
        if self.old.name != self.new.name:
            self.emit(f"ALTER TABLE {old_table} RENAME TO {self.table}")
        # 3. Columns: drop (freeing their names), rename, change, add.
        for column in change.dropped_columns():
            self.alter(f"DROP COLUMN {d.quote(column.name)}")
        for old_name, new_name in _rename_steps(change.renamed_columns(), "column"):
            self.alter(f"RENAME COLUMN {d.quote(old_name)} TO {d.quote(new_name)}")
        for old_column, new_column in change.matched_columns():
            self._change_column(old_column, new_column)
        for column in change.added_columns():
            self._add_column(column)
        if change.primary_key_changed() and self.new.primary_key:
            self.alter(f"ADD PRIMARY KEY ({d.names_sql(self.new.primary_key)})")
        if self.old.comment != self.new.comment:
            self.emit(f"COMMENT ON TABLE {self.table} IS {d.comment_sql(self.new.comment)}")
        # 4. Rename kept objects, then add the new ones.
        constraint_renames = _rename_steps([*renamed_keys, *renamed_uniques, *renamed_checks], "constraint")
        for old_name, new_name in constraint_renames:
            self.alter(
                f"RENAME CONSTRAINT {d.quote(d.object_name(old_name))} TO {d.quote(d.object_name(new_name))}"
            )
        for old_name, new_name in _rename_steps(renamed_indexes, "index"):
            self.emit(
                f"ALTER INDEX {d.quote(d.object_name(old_name))} RENAME TO {d.quote(d.object_name(new_name))}"
            )
        for unique in added_uniques:
            self.alter(f"ADD {d.unique_sql(unique)}")
        for check in added_checks:
            self.alter(f"ADD {d.check_sql(check)}")
        for index in added_indexes:
            self.emit(d.create_index_sql(index, self.new.name))
        for key in added_keys:
            self.emit(d.foreign_key_sql(self.new.name, key))
        return self.out

    def _change_column(self, old: ColumnDef, new: ColumnDef) -> None:
        d = self.dialect
        column = d.quote(new.name)
        old_type, new_type = d.column_type_sql(old.type), d.column_type_sql(new.type)
        type_changes = d.normalise_type(old_type) != d.normalise_type(new_type)
        old_default, new_default = d.default_sql(old.default), d.default_sql(new.default)
        if old.autoincrement and not new.autoincrement:
            self.alter(f"ALTER COLUMN {column} DROP IDENTITY IF EXISTS")
        default_dropped = old_default is not None and (type_changes or new_default != old_default)
        if default_dropped:
            self.alter(f"ALTER COLUMN {column} DROP DEFAULT")
        if type_changes:
            using = using_sql(column, old.type, new.type, new_type)
            self.alter(f"ALTER COLUMN {column} TYPE {new_type}" + (f" USING {using}" if using else ""))
        fill = self._fill_for(old, new)
        if fill is not None:
            self.emit(f"UPDATE {self.table} SET {column} = {fill} WHERE {column} IS NULL")
            # The update queues the checks of deferred foreign keys, and PostgreSQL refuses to
            # ALTER a table with pending checks: run them now, then defer again (as Django does).
            self.emit("SET CONSTRAINTS ALL IMMEDIATE")
            self.emit("SET CONSTRAINTS ALL DEFERRED")
        if old.null != new.null:
            self.alter(f"ALTER COLUMN {column} {'DROP' if new.null else 'SET'} NOT NULL")
        if new_default is not None and not new.autoincrement and (default_dropped or old_default is None):
            self.alter(f"ALTER COLUMN {column} SET DEFAULT {new_default}")
        if new.autoincrement and not old.autoincrement:
            self.alter(f"ALTER COLUMN {column} ADD GENERATED BY DEFAULT AS IDENTITY")
            self.emit(_restart_identity_sql(d, self.new.name, new.name))
        if old.comment != new.comment:
            self.emit(f"COMMENT ON COLUMN {self.table}.{column} IS {d.comment_sql(new.comment)}")

    def _fill_for(self, old: ColumnDef, new: ColumnDef) -> str | None:
        """Return the value that fills the column's NULLs (as SQLite's rebuild does), or None."""
        if not old.null:
            return None
        filler: Default | None = self.change.fills.get(new.name)
        if filler is None and not new.null and not isinstance(new.default, NoDefault):
            filler = new.default
        if filler is None:
            return None
        sql = self.dialect.default_sql(filler)
        return None if sql in (None, "NULL") else sql

    def _add_column(self, column: ColumnDef) -> None:
        d = self.dialect
        fill = self.change.fills.get(column.name)
        fill_sql = None if fill is None else d.default_sql(fill)
        default_sql = d.default_sql(column.default)
        if fill is None or fill_sql is None or fill_sql == default_sql or column.autoincrement:
            self.alter(f"ADD COLUMN {d.column_sql(column)}")
            if column.autoincrement:
                self.emit(_restart_identity_sql(d, self.new.name, column.name))
            return
        # A one-off default fills the rows already there, then the column's own takes over.
        filled = attrs.evolve(column, default=fill)
        self.alter(f"ADD COLUMN {d.column_sql(filled)}")
        name = d.quote(column.name)
        if default_sql is None:
            self.alter(f"ALTER COLUMN {name} DROP DEFAULT")
        else:
            self.alter(f"ALTER COLUMN {name} SET DEFAULT {default_sql}")


def _key_shape(key: ForeignKeyDef) -> tuple[object, ...]:
    return (key.columns, key.target_table, key.target_columns, key.on_delete)


def _pair_renames(
    removed: Sequence[_Named], added: Sequence[_Named], shape: Callable[[_Named], object]
) -> tuple[list[tuple[str, str]], tuple[_Named, ...], tuple[_Named, ...]]:
    """Return ``(renames, removed, added)``: a removed and an added object of one definition are a rename."""
    renames: list[tuple[str, str]] = []
    left = list(removed)
    still_added: list[_Named] = []
    for item in added:
        match = next((old for old in left if shape(old) == shape(item)), None)
        if match is None:
            still_added.append(item)
        else:
            left.remove(match)
            renames.append((match.name, item.name))
    return renames, tuple(left), tuple(still_added)


def _rename_steps(renames: Sequence[tuple[str, str]], kind: str) -> list[tuple[str, str]]:
    """Return renames in an order that never takes a held name (swaps and chains use a temporary)."""
    held = {old for old, _new in renames}
    steps: list[tuple[str, str]] = []
    later: list[tuple[str, str]] = []
    for number, (old, new) in enumerate(renames):
        if new in held:
            temporary = f"__{kind}_{number}__{old}"
            steps.append((old, temporary))
            later.append((temporary, new))
        else:
            steps.append((old, new))
        held.discard(old)
        held.add(new)
    return steps + later


def _drop_primary_key_sql(dialect: PostgreSQLDialect, table: str) -> str:
    """Return a block dropping ``table``'s primary key, whatever name it was given."""
    regclass = dialect.literal(dialect.quote(table))
    return (
        "DO $$DECLARE key_name name; BEGIN "
        f"SELECT conname INTO key_name FROM pg_constraint WHERE conrelid = {regclass}::regclass "
        "AND contype = 'p'; "
        f"EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', {regclass}::regclass, key_name); "
        "END$$"
    )


def _restart_identity_sql(dialect: PostgreSQLDialect, table: str, column: str) -> str:
    """Return the statement moving an identity past the values the column already holds."""
    quoted = dialect.quote(table)
    sequence = f"pg_get_serial_sequence({dialect.literal(quoted)}, {dialect.literal(column)})"
    value = f"COALESCE(MAX({dialect.quote(column)}), 0) + 1"
    return f"SELECT setval({sequence}, {value}, false) FROM {quoted}"


def using_sql(column: str, old: ColumnType, new: ColumnType, new_sql: str) -> str | None:
    """Return the USING expression converting ``column`` from ``old`` to ``new`` (None: not needed)."""
    pair = (old.family, new.family)
    if pair in _ASSIGNABLE or pair[1] == "text":
        return None
    if isinstance(old, Array) and not isinstance(new, Array) and pair[1] != "json":
        return f"{column}[1]::{new_sql}"
    if isinstance(new, Array) and not isinstance(old, Array) and pair[0] != "json":
        return f"ARRAY[{column}]::{new_sql}"
    template = _USING.get(pair, "{0}::{1}")
    return template.format(column, new_sql)

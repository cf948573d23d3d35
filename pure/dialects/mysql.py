"""The MySQL and MariaDB dialect: one ``ALTER TABLE`` per table change where the server allows it.

Theory of operation: MySQL commits every DDL statement by itself, so a migration cannot
be rolled back as a whole; the executor records progress after each statement instead
(``shell/progress.py``). DDL statements are therefore ``transactional=False`` (plans are
not atomic), data changes stay transactional. This dialect makes each operation as few
statements as it can, because one ``ALTER TABLE`` with several clauses is all or
nothing. A ``TableChange`` (see ``tables.py``) becomes, in this order:

1. ``ALTER TABLE ... RENAME TO ...`` when the table is renamed;
2. ``UPDATE ... SET col = <fill> WHERE col IS NULL`` for columns becoming NOT NULL
   (strict mode refuses NULLs then) and one-off fills of NULLs;
3. ``DROP FOREIGN KEY`` for keys that go, change, or sit on a column whose type changes
   (MySQL refuses to retype a column a foreign key uses: error 1832);
4. the main ``ALTER TABLE``: drop keys and checks, rename columns (``RENAME COLUMN``, or
   ``CHANGE`` when the definition changes too), drop, modify and add columns (at their
   place, with ``FIRST``/``AFTER``), the primary key, rename and add keys and checks, the
   table options, and the new foreign keys when none was dropped in step 3; when a
   column is dropped, every check is dropped and re-added in it too (MariaDB silently
   drops the checks that name no remaining column);
5. ``MODIFY`` of added columns whose one-off fill differs from their default;
6. the foreign keys dropped in step 3, added back (MySQL cannot drop and add foreign keys
   in one copying ``ALTER``).

Keys: MySQL needs an index whose first columns are a foreign key's, and creates one
silently (named after the key) when there is none, then drops it again silently when
another index can serve, or refuses to drop the index a key uses (error 1553). So the
dialect never lets the server decide: every foreign key no other index serves gets an
explicit *helper index* named after the key (as MySQL would name it), created before the
key and dropped after it or once another index serves it. The catalog reader hides those
helpers. Non-unique indexes over ``longtext``/``longblob``/``json`` and long ``varchar``
columns get a 255-character prefix; MySQL has no partial indexes, so an index with a
condition is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import ClassVar

import attrs

from reinhardt_migrations.pure.dialects.base import BaseDialect
from reinhardt_migrations.pure.dialects.mysql_text import (
    canonical_default,
    canonical_expression,
    canonical_type,
)
from reinhardt_migrations.pure.dialects.tables import (
    NO_RENAMES,
    ColumnDef,
    ForeignKeyDef,
    Renames,
    TableChange,
    TableDef,
    changes_between,
)
from reinhardt_migrations.pure.errors import InvalidValue, UnsupportedOperation
from reinhardt_migrations.pure.fields import Default, OnDelete
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    Binary,
    Char,
    ColumnType,
    DateTime,
    Decimal,
    Json,
    RawType,
    Text,
    Varchar,
)

__all__ = [
    "INDEX_PREFIX",
    "MAX_IDENTIFIER_CHARACTERS",
    "TABLE_OPTIONS",
    "UUID_STORAGES",
    "MySQLDialect",
    "MySQLKey",
]

#: MySQL and MariaDB keep table, column, index and constraint names of up to 64 characters.
MAX_IDENTIFIER_CHARACTERS = 64
#: Characters of a text or blob column that a non-unique index covers.
INDEX_PREFIX = 255
#: Longest varchar indexed whole: InnoDB keys hold 3,072 bytes, 4 bytes a utf8mb4 character.
_LONGEST_WHOLE_VARCHAR = 768
#: The uuid storages a dialect may use (see docs/dialects.md).
UUID_STORAGES = ("char(32)", "binary(16)")

# Type spellings, chosen as Django's MySQL backend chooses them where it has one:
# booleans are tinyint(1) (what BOOL means to MySQL), text and bytes the long forms (no
# 64 KiB limit), times keep microseconds, a duration is bigint microseconds, and arrays
# are JSON (MySQL has no arrays). uuid is a dialect setting (char(32) by default).
_TYPES: dict[str, str] = {
    "integer": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "auto": "integer",
    "bigauto": "bigint",
    "boolean": "tinyint(1)",
    "text": "longtext",
    "float": "float",
    "double": "double",
    "date": "date",
    "time": "time(6)",
    "duration": "bigint",
    "json": "json",
    "binary": "longblob",
    "array": "json",
}

#: Model options that become MySQL table options, in the order they are written.
TABLE_OPTIONS: dict[str, str] = {
    "engine": "ENGINE",
    "charset": "DEFAULT CHARSET",
    "collate": "COLLATE",
    "row_format": "ROW_FORMAT",
}
_OPTION_VALUE = re.compile(r"[A-Za-z0-9_]+")


def _check_uuid_storage(instance: MySQLDialect, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in UUID_STORAGES:
        raise InvalidValue("MySQLDialect.uuid_storage", f"{value!r} is not one of {', '.join(UUID_STORAGES)}")


@attrs.frozen
class MySQLKey:
    """An index as MySQL keeps it: name, uniqueness, and ``(column, descending, prefix)`` parts."""

    name: str
    unique: bool
    parts: tuple[tuple[str, bool, int | None], ...]

    def spec(self) -> tuple[bool, tuple[tuple[str, bool, int | None], ...]]:
        return (self.unique, self.parts)

    def serves(self, columns: Sequence[str]) -> bool:
        """Tell whether a foreign key over ``columns`` can use this index (its first columns, whole)."""
        head = self.parts[: len(columns)]
        return len(head) == len(columns) and all(
            part[0] == column and not part[1] and part[2] is None
            for part, column in zip(head, columns, strict=True)
        )


@attrs.frozen
class MySQLDialect(BaseDialect):
    """MySQL 8.0.19+ and MariaDB 10.8+ (``RENAME COLUMN``, descending indexes, ``DROP CONSTRAINT``).

    ``uuid_storage`` is ``"char(32)"`` (hex text, as Django; the default) or ``"binary(16)"``.
    """

    uuid_storage: str = attrs.field(default="char(32)", validator=_check_uuid_storage)
    name: ClassVar[str] = "mysql"
    # The limit counts characters; 64 bytes is never more than 64 characters, so names
    # shortened to 64 bytes always fit (and shortening stays the shared byte-based one).
    max_identifier_bytes: ClassVar[int | None] = MAX_IDENTIFIER_CHARACTERS

    # -- spelling ------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        """Return ``identifier`` in backticks, inner backticks doubled.

        Raises:
            InvalidValue: the identifier is empty, holds a NUL, or is longer than 64 characters.
        """
        if not identifier or "\x00" in identifier:
            raise InvalidValue(
                "SQL identifier", f"{identifier!r} must be non-empty and free of NUL characters"
            )
        if len(identifier) > MAX_IDENTIFIER_CHARACTERS:
            raise InvalidValue(
                "MySQL identifier",
                f"{identifier!r} has {len(identifier)} characters and MySQL keeps at most "
                f"{MAX_IDENTIFIER_CHARACTERS}; give the model a shorter db_table or the field a db_column",
            )
        return "`" + identifier.replace("`", "``") + "`"

    def column_type_sql(self, column_type: ColumnType) -> str:
        """Return the MySQL spelling of a column type, e.g. ``varchar(200)`` or ``datetime(6)``."""
        if isinstance(column_type, RawType):
            return column_type.for_dialect(self.name)
        if isinstance(column_type, Varchar):
            return f"varchar({column_type.max_length})"
        if isinstance(column_type, Char):
            return f"char({column_type.length})"
        if isinstance(column_type, Decimal):
            return f"decimal({column_type.max_digits}, {column_type.decimal_places})"
        if isinstance(column_type, DateTime):
            # MySQL has no time zone type: aware datetimes are stored as UTC wall time.
            return "datetime(6)"
        if column_type.kind == "uuid":
            return self.uuid_storage
        return _TYPES[column_type.kind]

    def on_delete_sql(self, on_delete: OnDelete) -> str:
        """Return the ``ON DELETE`` action (always written: MariaDB reads an unwritten one as RESTRICT).

        Raises:
            UnsupportedOperation: SET DEFAULT, which InnoDB refuses.
        """
        if on_delete is OnDelete.SET_DEFAULT:
            raise UnsupportedOperation(
                self.name, "a foreign key ON DELETE SET DEFAULT", "InnoDB refuses SET DEFAULT actions"
            )
        return super().on_delete_sql(on_delete)

    def normalise_type(self, text: str) -> str:
        """Return a type in our spelling, however written (``int(11)``, ``BOOL``, ``decimal(19, 4)``)."""
        return canonical_type(text)

    def normalise_default(self, text: str | None) -> str | None:
        """Return a default in one form, whichever way MySQL or MariaDB report it (see mysql_text)."""
        return canonical_default(text)

    def normalise_expression(self, text: str) -> str:
        """Return a check in one form: lower-case keywords, no backticks, no introducers, tight."""
        return canonical_expression(text)

    # -- SQL pieces ------------------------------------------------------------------

    def _names(self, names: Iterable[str]) -> str:
        return ", ".join(self.quote(name) for name in names)

    def column_sql(self, column: ColumnDef, default: Default | None = None) -> str:
        """Return a column definition: name, type, NULL/NOT NULL, AUTO_INCREMENT, default, comment.

        ``default`` replaces the column's own default (a one-off fill of existing rows).
        """
        parts = [self.quote(column.name), self.column_type_sql(column.type)]
        parts.append("NULL" if column.null else "NOT NULL")
        if column.autoincrement:
            parts.append("AUTO_INCREMENT")
        default_sql = self.default_sql(column.default if default is None else default)
        if default_sql is not None:
            parts.append(f"DEFAULT {default_sql}")
        if column.comment is not None:
            parts.append(f"COMMENT {self.literal(column.comment)}")
        return " ".join(parts)

    def _definition(self, column: ColumnDef) -> tuple[object, ...]:
        """Return what a MODIFY must restate: every part of the column's SQL but its name."""
        return (
            self.column_type_sql(column.type),
            column.null,
            self.default_sql(column.default),
            column.autoincrement,
            column.comment,
        )

    def _prefix(self, column_type: ColumnType | None) -> int | None:
        """Return the prefix length a non-unique index needs on a column of this type (None: whole)."""
        if isinstance(column_type, Text | Binary | Json) or (column_type and column_type.kind == "array"):
            return INDEX_PREFIX
        if isinstance(column_type, Varchar) and column_type.max_length > _LONGEST_WHOLE_VARCHAR:
            return INDEX_PREFIX
        return None

    def keys_of(self, table: TableDef) -> dict[str, MySQLKey]:
        """Return the table's indexes as MySQL keeps them, helper indexes of foreign keys included.

        Raises:
            UnsupportedOperation: an index has a condition (MySQL has no partial indexes).
        """
        types = {column.name: column.type for column in table.columns}
        keys: dict[str, MySQLKey] = {}
        for unique in table.uniques:
            name = self.object_name(unique.name)
            keys[name] = MySQLKey(name, True, tuple((c, False, None) for c in unique.columns))
        for index in table.indexes:
            if index.condition is not None:
                raise UnsupportedOperation(
                    self.name,
                    f"index {index.name} on {table.name} (WHERE {index.condition})",
                    "MySQL and MariaDB have no partial indexes; drop the condition, or keep the index "
                    "for PostgreSQL only (SeparateDatabaseAndState, or a migration not applied here)",
                )
            name = self.object_name(index.name)
            parts = tuple(
                (c, descending, None if index.unique else self._prefix(types.get(c)))
                for c, descending in index.columns
            )
            keys[name] = MySQLKey(name, index.unique, parts)
        primary = MySQLKey("PRIMARY", True, tuple((c, False, None) for c in table.primary_key))
        for key in table.foreign_keys:
            if not primary.serves(key.columns) and not any(k.serves(key.columns) for k in keys.values()):
                name = self.object_name(key.name)
                keys[name] = MySQLKey(name, False, tuple((c, False, None) for c in key.columns))
        return keys

    def _key_sql(self, key: MySQLKey) -> str:
        parts = ", ".join(
            self.quote(column) + (f"({prefix})" if prefix else "") + (" DESC" if descending else "")
            for column, descending, prefix in key.parts
        )
        return f"{'UNIQUE KEY' if key.unique else 'KEY'} {self.quote(key.name)} ({parts})"

    def foreign_key_sql(self, key: ForeignKeyDef) -> str:
        """Return ``CONSTRAINT name FOREIGN KEY (...) REFERENCES t (...) ON DELETE ...``."""
        return (
            f"CONSTRAINT {self.quote(self.object_name(key.name))} FOREIGN KEY ({self._names(key.columns)}) "
            f"REFERENCES {self.quote(key.target_table)} ({self._names(key.target_columns)}) "
            f"ON DELETE {self.on_delete_sql(key.on_delete)}"
        )

    def table_options_sql(self, table: TableDef) -> list[str]:
        """Return the table options (``ENGINE=InnoDB``, ``COMMENT='...'``) of ``table``.

        Raises:
            UnsupportedOperation: an option value is not a plain name.
        """
        options = []
        for key, keyword in TABLE_OPTIONS.items():
            value = table.options.get(key)
            if value is None:
                continue
            if not _OPTION_VALUE.fullmatch(value):
                raise UnsupportedOperation(
                    self.name,
                    f"table option {key}={value!r} of {table.name}",
                    "MySQL table options are plain names such as InnoDB or utf8mb4",
                )
            options.append(f"{keyword}={value}")
        if table.comment is not None:
            options.append(f"COMMENT={self.literal(table.comment)}")
        return options

    def create_table_sql(self, table: TableDef, *, foreign_keys: bool = True) -> str:
        """Return ``CREATE TABLE`` with keys, checks, helper indexes, foreign keys and table options."""
        lines = [self.column_sql(column) for column in table.columns]
        if table.primary_key:
            lines.append(f"PRIMARY KEY ({self._names(table.primary_key)})")
        lines += [self._key_sql(key) for key in self.keys_of(table).values()]
        lines += [
            f"CONSTRAINT {self.quote(self.object_name(c.name))} CHECK ({c.check})" for c in table.checks
        ]
        if foreign_keys:
            lines += [self.foreign_key_sql(key) for key in table.foreign_keys]
        body = ",\n    ".join(lines)
        options = " ".join(self.table_options_sql(table))
        return f"CREATE TABLE {self.quote(table.name)} (\n    {body}\n)" + (f" {options}" if options else "")

    # -- rendering -------------------------------------------------------------------

    def render_change(self, change: TableChange) -> tuple[Statement, ...]:
        """Return the statements making one table match: create, drop, or alter (see the module doc)."""
        main, late = self._render(change, split_foreign_keys=False)
        return (*main, *late)

    def statements_between(
        self, before: ProjectState, after: ProjectState, renames: Renames = NO_RENAMES
    ) -> tuple[Statement, ...]:
        """Return statements taking a database from ``before`` to ``after``; new foreign keys come last.

        Tables created together may point at each other in any order, so their foreign
        keys are added once every table exists; tables dropped together lose their
        foreign keys first.
        """
        keys = {k for k, m in before.models.items() if after.models.get(renames.models.get(k, k)) is not m}
        keys |= {k for k, m in after.models.items() if before.models.get(k) is not m}
        keys |= set(renames.models.values())
        changes = changes_between(before, after, keys, renames)
        dropped = [c.old for c in changes if c.new is None and c.old is not None]
        first = [
            _ddl(f"ALTER TABLE {self.quote(t.name)} DROP FOREIGN KEY {self.quote(self.object_name(k.name))}")
            for t in (dropped if len(dropped) > 1 else [])
            for k in t.foreign_keys
        ]
        main: list[Statement] = []
        late: list[Statement] = []
        for change in changes:
            statements, foreign_keys = self._render(change, split_foreign_keys=True)
            main += statements
            late += foreign_keys
        return (*first, *main, *late)

    def _render(
        self, change: TableChange, *, split_foreign_keys: bool
    ) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """Return the statements of one change, and its foreign key additions when split off."""
        if change.old is None:
            assert change.new is not None
            table = change.new
            create = _ddl(self.create_table_sql(table, foreign_keys=not split_foreign_keys))
            if not split_foreign_keys or not table.foreign_keys:
                return (create,), ()
            adds = ", ".join(f"ADD {self.foreign_key_sql(key)}" for key in table.foreign_keys)
            return (create,), (_ddl(f"ALTER TABLE {self.quote(table.name)} {adds}"),)
        if change.new is None:
            return (_ddl(f"DROP TABLE {self.quote(change.old.name)}"),), ()
        alteration = _Alteration(self, change, change.old, change.new)
        return alteration.statements(split_foreign_keys=split_foreign_keys)


class _Alteration:
    """The statements of one table alteration (steps 1 to 6 of the module doc)."""

    def __init__(self, dialect: MySQLDialect, change: TableChange, old: TableDef, new: TableDef) -> None:
        self.dialect = dialect
        self.change = change
        self.old = old
        self.new = new
        self.table = dialect.quote(new.name)
        self.q = dialect.quote

    def statements(self, *, split_foreign_keys: bool) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        d, change, old, new = self.dialect, self.change, self.old, self.new
        out: list[Statement] = []
        if old.name != new.name:
            out.append(_ddl(f"ALTER TABLE {self.q(old.name)} RENAME TO {self.table}"))
        out += self._fills()
        removed_keys, added_keys = change.foreign_key_changes()
        retyped = self._retyped_foreign_keys(added_keys)
        dropped = [*removed_keys, *retyped]
        if dropped:
            drops = ", ".join(f"DROP FOREIGN KEY {self.q(d.object_name(k.name))}" for k in _by_name(dropped))
            out.append(_ddl(f"ALTER TABLE {self.table} {drops}"))
        adding = _by_name([*added_keys, *retyped])
        clauses = self._main_clauses()
        inline = not dropped and not split_foreign_keys
        if inline:
            clauses += [f"ADD {d.foreign_key_sql(key)}" for key in adding]
        if clauses:
            out.append(_ddl(f"ALTER TABLE {self.table} {', '.join(clauses)}"))
        out += self._restore_defaults()
        late: list[Statement] = []
        if adding and not inline:
            adds = ", ".join(f"ADD {d.foreign_key_sql(key)}" for key in adding)
            late.append(_ddl(f"ALTER TABLE {self.table} {adds}"))
        if split_foreign_keys:
            return tuple(out), tuple(late)
        return (*out, *late), ()

    # -- pieces ----------------------------------------------------------------------

    def _fill_for(self, old: ColumnDef, new: ColumnDef) -> Default | None:
        fill = self.change.fills.get(new.name)
        if fill is None and not new.null:
            fill = new.default
        if not old.null or fill is None or self.dialect.default_sql(fill) in (None, "NULL"):
            return None
        return fill

    def _fills(self) -> list[Statement]:
        """Return UPDATEs writing a value into the NULLs of columns that become NOT NULL (or are filled)."""
        statements = []
        for old, new in self.change.matched_columns():
            fill = self._fill_for(old, new)
            if fill is not None:
                column = self.q(old.name)
                statements.append(
                    Statement(
                        f"UPDATE {self.table} SET {column} = {self.dialect.default_sql(fill)} "
                        f"WHERE {column} IS NULL"
                    )
                )
        return statements

    def _retyped(self) -> set[str]:
        """Return the new names of the matched columns whose type changes."""
        d = self.dialect
        return {
            new.name
            for old, new in self.change.matched_columns()
            if d.column_type_sql(old.type) != d.column_type_sql(new.type)
        }

    def _retyped_foreign_keys(self, added: Sequence[ForeignKeyDef]) -> list[ForeignKeyDef]:
        """Return the kept foreign keys MySQL would not let a column change type under (error 1832)."""
        retyped = self._retyped()
        if not retyped:
            return []
        added_names = {key.name for key in added}
        found = []
        for key in self.new.foreign_keys:
            if key.name in added_names:
                continue
            own = any(column in retyped for column in key.columns)
            self_target = key.target_table == self.new.name and any(c in retyped for c in key.target_columns)
            if own or self_target:
                found.append(key)
        return found

    def _main_clauses(self) -> list[str]:
        d, change, old, new = self.dialect, self.change, self.old, self.new
        clauses: list[str] = []
        old_keys = {name: _carried(key, change) for name, key in d.keys_of(old).items()}
        new_keys = d.keys_of(new)
        removed = [k for name, k in sorted(old_keys.items()) if new_keys.get(name) != k]
        added = [k for name, k in sorted(new_keys.items()) if old_keys.get(name) != k]
        renamed: list[tuple[MySQLKey, MySQLKey]] = []
        for key in list(removed):
            twin = next((k for k in added if k.spec() == key.spec() and k.name not in old_keys), None)
            if twin is not None and key.name not in new_keys:
                renamed.append((key, twin))
                removed.remove(key)
                added.remove(twin)
        clauses += [f"DROP INDEX {self.q(key.name)}" for key in removed]
        removed_checks, added_checks = change.check_changes()
        if change.dropped_columns():
            # MariaDB drops every check that names none of the remaining columns (a constant
            # check such as 1 = 1 included) when any column is dropped: restate the kept ones.
            kept = [c for c in new.checks if c not in added_checks]
            removed_checks, added_checks = (*removed_checks, *kept), (*added_checks, *kept)
        clauses += [f"DROP CONSTRAINT {self.q(d.object_name(c.name))}" for c in removed_checks]
        primary_changed = change.primary_key_changed()
        if primary_changed and old.primary_key:
            clauses.append("DROP PRIMARY KEY")
        clauses += self._column_clauses()
        if primary_changed and new.primary_key:
            clauses.append(f"ADD PRIMARY KEY ({d._names(new.primary_key)})")
        clauses += [f"RENAME INDEX {self.q(a.name)} TO {self.q(b.name)}" for a, b in renamed]
        clauses += [f"ADD {d._key_sql(key)}" for key in added]
        clauses += [f"ADD CONSTRAINT {self.q(d.object_name(c.name))} CHECK ({c.check})" for c in added_checks]
        clauses += self._option_clauses()
        return clauses

    def _column_clauses(self) -> list[str]:
        """Return RENAME/CHANGE/MODIFY, DROP and ADD COLUMN clauses, leaving columns in the new order."""
        d, change, old, new = self.dialect, self.change, self.old, self.new
        matched = {new_column.name: old_column for old_column, new_column in change.matched_columns()}
        old_names = {column.name for column in matched.values()}
        kept_order = [change.new_column_name(c.name) for c in old.columns if c.name in old_names]
        reorder = kept_order != [c.name for c in new.columns if c.name in matched]
        clauses: list[str] = []
        added: list[str] = []
        previous: str | None = None
        fills = change.fills
        for column in new.columns:
            place = " FIRST" if previous is None else f" AFTER {self.q(previous)}"
            source = matched.get(column.name)
            if source is None:
                fill = fills.get(column.name)
                added.append(f"ADD COLUMN {d.column_sql(column, fill)}{place}")
            else:
                same = d._definition(source) == d._definition(column)
                if source.name != column.name and same and not reorder:
                    clauses.append(f"RENAME COLUMN {self.q(source.name)} TO {self.q(column.name)}")
                elif source.name != column.name:
                    suffix = place if reorder else ""
                    clauses.append(f"CHANGE {self.q(source.name)} {d.column_sql(column)}{suffix}")
                elif not same or reorder:
                    clauses.append(f"MODIFY {d.column_sql(column)}{place if reorder else ''}")
            previous = column.name
        clauses += [f"DROP COLUMN {self.q(column.name)}" for column in change.dropped_columns()]
        return clauses + added

    def _restore_defaults(self) -> list[Statement]:
        """Return MODIFYs giving added columns their own default after a one-off fill."""
        d = self.dialect
        statements = []
        for column in self.change.added_columns():
            fill = self.change.fills.get(column.name)
            if fill is not None and d.default_sql(fill) != d.default_sql(column.default):
                statements.append(_ddl(f"ALTER TABLE {self.table} MODIFY {d.column_sql(column)}"))
        return statements

    def _option_clauses(self) -> list[str]:
        old_options = self.dialect.table_options_sql(self.old)
        new_options = self.dialect.table_options_sql(self.new)
        changed = [option for option in new_options if option not in old_options]
        if self.old.comment is not None and self.new.comment is None:
            changed.append("COMMENT=''")
        return changed


def _ddl(sql: str) -> Statement:
    """Return a DDL statement: MySQL commits it by itself, so it never belongs to a transaction."""
    return Statement(sql, transactional=False)


def _carried(key: MySQLKey, change: TableChange) -> MySQLKey:
    """Return an old key with its columns under their new names (renames are not changes)."""
    parts = tuple((change.new_column_name(c), descending, prefix) for c, descending, prefix in key.parts)
    return attrs.evolve(key, parts=parts)


def _by_name(keys: Iterable[ForeignKeyDef]) -> list[ForeignKeyDef]:
    unique = {key.name: key for key in keys}
    return [unique[name] for name in sorted(unique)]

"""The applied-migrations table: which migrations a database has, when, and from which file.

Theory of operation: one row per applied migration, ``(app, name, applied, checksum)``,
in a table (``reinhardt_migrations`` unless configured) created on first use. The
checksum is the SHA-256 of the migration's canonical JSON, so an applied migration
whose file was edited afterwards shows up as a mismatch. The statements that add or
remove a row are plain values (``recorded_sql`` / ``unrecorded_sql``) rendered with
the audited literal renderer: the executor runs them inside the migration's own
transaction, and a preview prints them like any other statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import attrs

from reinhardt_migrations.pure.dialects import Dialect, dialect_for
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.serialize import migration_to_json
from reinhardt_migrations.pure.sql import Statement, render_literal
from reinhardt_migrations.shell.backends.base import Backend

__all__ = [
    "DEFAULT_TABLE",
    "AppliedMigration",
    "MigrationRecorder",
    "create_table_sql",
    "migration_checksum",
    "recorded_sql",
    "unrecorded_sql",
    "utc_now",
]

DEFAULT_TABLE = "reinhardt_migrations"

# Column types every dialect accepts; the ISO-8601 text of a UTC time sorts like the time.
_COLUMNS = (
    ("app", "VARCHAR(255) NOT NULL"),
    ("name", "VARCHAR(255) NOT NULL"),
    ("applied", "VARCHAR(32) NOT NULL"),
    ("checksum", "VARCHAR(64) NOT NULL"),
)


@attrs.frozen
class AppliedMigration:
    """One row of the recorder: migration, ``applied`` time (ISO-8601, UTC), ``checksum`` of its file.

    An empty checksum means "recorded without a file to hash" (a migration replaced by
    a squash); it is never reported as a mismatch.
    """

    app_label: str
    name: str
    applied: str
    checksum: str

    @property
    def key(self) -> MigrationKey:
        """Return ``(app_label, name)``."""
        return (self.app_label, self.name)


def migration_checksum(migration: Migration) -> str:
    """Return the hex SHA-256 of the migration's canonical JSON, ``replaces`` left out.

    Removing ``replaces`` from a squash once its old files are gone is the last step of
    squashing, not a change to what the migration does, so it must not count as an edit.
    """
    if migration.replaces:
        migration = attrs.evolve(migration, replaces=())
    return hashlib.sha256(migration_to_json(migration).encode("utf-8")).hexdigest()


def utc_now() -> str:
    """Return the current UTC time as ISO-8601 text to the microsecond."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def create_table_sql(dialect: Dialect, table: str = DEFAULT_TABLE) -> Statement:
    """Return the statement creating the recorder table if it does not exist."""
    quote = dialect.quote
    columns = ", ".join(f"{quote(name)} {sql}" for name, sql in _COLUMNS)
    key = f"{quote(table + '_pk')} PRIMARY KEY ({quote('app')}, {quote('name')})"
    return Statement(f"CREATE TABLE IF NOT EXISTS {quote(table)} ({columns}, CONSTRAINT {key})")


def recorded_sql(dialect: Dialect, table: str, row: AppliedMigration) -> Statement:
    """Return the statement recording ``row`` as applied."""
    quote = dialect.quote
    values = ", ".join(
        render_literal(value, dialect.name) for value in (row.app_label, row.name, row.applied, row.checksum)
    )
    columns = ", ".join(quote(name) for name, _sql in _COLUMNS)
    return Statement(f"INSERT INTO {quote(table)} ({columns}) VALUES ({values})")


def unrecorded_sql(dialect: Dialect, table: str, key: MigrationKey) -> Statement:
    """Return the statement removing the record of the migration ``key``."""
    return Statement(f"DELETE FROM {dialect.quote(table)} WHERE {_is_key(dialect, key)}")


def _is_key(dialect: Dialect, key: MigrationKey) -> str:
    quote = dialect.quote
    return (
        f"{quote('app')} = {render_literal(key[0], dialect.name)} "
        f"AND {quote('name')} = {render_literal(key[1], dialect.name)}"
    )


class MigrationRecorder:
    """Reads and writes the applied-migrations table of one database."""

    __slots__ = ("_clock", "_ready", "backend", "dialect", "table")

    def __init__(
        self,
        backend: Backend,
        table: str = DEFAULT_TABLE,
        *,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        """Use ``table`` on ``backend``; ``clock`` returns the applied time written in new rows."""
        self.backend = backend
        self.dialect = dialect_for(backend.dialect)
        self.table = table
        self._clock = clock
        self._ready = False

    def has_table(self) -> bool:
        """Tell whether the recorder table exists."""
        return self.backend.has_table(self.table)

    def ensure_table(self) -> None:
        """Create the recorder table if it does not exist.

        Raises:
            DatabaseError: the table cannot be created.
        """
        if self._ready:
            return
        if not self.has_table():
            with self.backend.atomic():
                self.backend.execute([create_table_sql(self.dialect, self.table)])
        self._ready = True

    def applied(self) -> dict[MigrationKey, AppliedMigration]:
        """Return the recorded migrations by key, in key order (empty before first use).

        Raises:
            DatabaseError: the table cannot be read.
        """
        if not self._ready and not self.has_table():
            return {}
        quote = self.dialect.quote
        columns = ", ".join(quote(name) for name, _sql in _COLUMNS)
        rows = self.backend.query(f"SELECT {columns} FROM {quote(self.table)}")
        records = [AppliedMigration(str(a), str(n), str(t), str(c)) for a, n, t, c in rows]
        return {record.key: record for record in sorted(records, key=lambda r: r.key)}

    def is_applied(self, key: MigrationKey) -> bool:
        """Tell whether ``key`` is recorded (read in the caller's transaction, if any)."""
        rows = self.backend.query(
            f"SELECT 1 FROM {self.dialect.quote(self.table)} WHERE {_is_key(self.dialect, key)}"
        )
        return bool(rows)

    def row_for(self, key: MigrationKey, checksum: str) -> AppliedMigration:
        """Return the row that records ``key`` as applied now with ``checksum``."""
        return AppliedMigration(key[0], key[1], self._clock(), checksum)

    def record_statement(self, key: MigrationKey, checksum: str) -> Statement:
        """Return the statement recording ``key`` as applied now."""
        return recorded_sql(self.dialect, self.table, self.row_for(key, checksum))

    def unrecord_statement(self, key: MigrationKey) -> Statement:
        """Return the statement removing the record of ``key``."""
        return unrecorded_sql(self.dialect, self.table, key)

    def record_applied(self, migration: Migration) -> None:
        """Record ``migration`` as applied, in its own transaction.

        Raises:
            DatabaseError: the row cannot be written (already recorded, say).
        """
        self.ensure_table()
        with self.backend.atomic():
            self.backend.execute([self.record_statement(migration.key, migration_checksum(migration))])

    def record_unapplied(self, key: MigrationKey) -> None:
        """Remove the record of ``key``, in its own transaction."""
        self.ensure_table()
        with self.backend.atomic():
            self.backend.execute([self.unrecord_statement(key)])

    def flush(self) -> None:
        """Remove every record (the tables stay as they are)."""
        if self.has_table():
            with self.backend.atomic():
                self.backend.execute([Statement(f"DELETE FROM {self.dialect.quote(self.table)}")])

"""Scratch databases for the laws: a fresh SQLite file per example, or an emptied server database.

Theory of operation: ``ScratchDatabase(url)`` hands out an empty database per example.
``"sqlite"`` gives a new file each time (in memory-backed storage where there is some:
the laws are about SQL, not fsync). A PostgreSQL or MySQL/MariaDB URL names a throwaway
database: its name must contain ``test``, since every table and view in it is dropped
before each example. It builds a state there (tables, then views), fills every table
with rows whose values depend only on the column type and the row number (so foreign
keys find their targets), and reads back views, rows and snapshots for the laws in
``database_laws``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from urllib.parse import urlsplit

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.dialects.base import Dialect
from reinhardt_migrations.pure.dialects.tables import tables_of_model
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    Array,
    Binary,
    Boolean,
    Char,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Duration,
    Float,
    Json,
    Text,
    Time,
    Uuid,
    Varchar,
)
from reinhardt_migrations.pure.views import create_view_statement
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import DatabaseError

__all__ = ["TEST_DATABASES_VARIABLE", "Lost", "ScratchDatabase", "database_views", "environment_backends"]

#: Environment variable listing throwaway server databases for the tests (URLs, space separated).
TEST_DATABASES_VARIABLE = "REINHARDT_TEST_DATABASES"

# Real files in memory-backed storage where there is some: the laws are about SQL, not fsync.
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
#: ``(table, column)`` pairs whose values an operation may lose (column None: the whole table).
Lost = frozenset[tuple[str, str | None]]


_VIEWS_QUERY = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'view'",
    "postgresql": "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema()",
    "mysql": "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
    "WHERE TABLE_SCHEMA = DATABASE()",
}


def database_views(backend: Backend, dialect: str) -> dict[str, str | None]:
    """Return the views of the database behind ``backend`` by name, with their SQL as it keeps it."""
    return {str(name): sql for name, sql in backend.query(_VIEWS_QUERY[dialect])}


def environment_backends() -> tuple[str, ...]:
    """Return ``("sqlite", *URLs)`` with the server URLs listed in ``REINHARDT_TEST_DATABASES``."""
    return ("sqlite", *os.environ.get(TEST_DATABASES_VARIABLE, "").split())


def _marker(dialect: Dialect) -> str:
    return "?" if dialect.name == "sqlite" else "%s"


def _row_value(column_type: ColumnType, number: int, dialect: str) -> object:
    """Return row ``number``'s value for a column: equal types give equal values (so keys match)."""
    if isinstance(column_type, Varchar | Char | Text):
        return f"v{number}"[: getattr(column_type, "max_length", getattr(column_type, "length", 9))]
    if isinstance(column_type, Decimal):
        return number % 10 ** (column_type.max_digits - column_type.decimal_places)
    simple: dict[type, object] = {
        Boolean: number % 2 == 1,
        Float: number + 0.5,
        Double: number + 0.5,
        Date: f"2024-01-{number:02d}",
        DateTime: f"2024-01-{number:02d} 10:00:00",
        Time: f"10:00:{number:02d}",
        Uuid: f"{number:032x}",
        Json: f'{{"n": {number}}}',
        Binary: bytes([number]),
        Duration: f"{number} seconds" if dialect == "postgresql" else number,
        Array: "{}" if dialect == "postgresql" else "[]",
    }
    # Integers, auto keys and raw types: digits read as a number or text almost anywhere.
    return simple.get(
        type(column_type),
        number if column_type.kind in {"integer", "bigint", "smallint", "auto", "bigauto"} else str(number),
    )


class ScratchDatabase:
    """A throwaway database for the laws: a fresh SQLite file per example, or an emptied server database."""

    def __init__(self, url: str) -> None:
        """Prepare ``url`` (``"sqlite"`` for scratch files); a server database's name must contain ``test``.

        Raises:
            InvalidValue: a server database whose name does not contain ``test``.
            InvalidDatabaseUrl, MissingDriver, DatabaseError: the database cannot be opened.
        """
        self.url = url
        self.dialect = dialect_for(url)
        self.is_sqlite = self.dialect.name == "sqlite"
        self._directory: str | None = None
        self._count = 0
        self._backend: Backend | None = None
        if not self.is_sqlite:
            name = urlsplit(url).path.lstrip("/")
            if "test" not in name.lower():
                raise InvalidValue(
                    f"test database {name!r}",
                    "the test kit empties it before every example, so its name must contain 'test'; "
                    "give it a throwaway database",
                )

    @property
    def label(self) -> str:
        """Return the backend as reports name it (the dialect, and the URL's host and database)."""
        if self.is_sqlite:
            return "sqlite (a scratch file)"
        parts = urlsplit(self.url)
        return f"{self.dialect.name} ({parts.hostname}:{parts.port}{parts.path})"

    def fresh(self) -> Backend:
        """Return a connection to an empty database (the previous file, on SQLite, is deleted)."""
        if self.is_sqlite:
            if self._directory is None:
                self._directory = tempfile.mkdtemp(prefix="rmig-kit-", dir=_SCRATCH)
            if self._backend is not None:
                self._backend.close()
                os.unlink(os.path.join(self._directory, f"example{self._count}.sqlite3"))
            self._count += 1
            backend = SqliteBackend(os.path.join(self._directory, f"example{self._count}.sqlite3"))
            backend.execute([Statement("PRAGMA synchronous = OFF", transactional=False)])
            self._backend = backend
            return backend
        if self._backend is None:
            self._backend = connect(self.url)
            if self.dialect.name == "postgresql":
                # Generated states use the citext type; without the right to install it, those fail to build.
                with suppress(DatabaseError):
                    self._backend.execute([Statement("CREATE EXTENSION IF NOT EXISTS citext")])
        self.empty(self._backend)
        return self._backend

    def empty(self, backend: Backend) -> None:
        """Drop every view and table of the database's current schema."""
        quote = self.dialect.quote
        if self.dialect.name == "postgresql":
            views = backend.query("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")
            tables = backend.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            drops = [f"DROP VIEW IF EXISTS {quote(name)} CASCADE" for (name,) in views]
            drops += [f"DROP TABLE IF EXISTS {quote(name)} CASCADE" for (name,) in tables]
        else:
            rows = backend.query(
                "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            )
            drops = ["SET FOREIGN_KEY_CHECKS = 0"]
            drops += [
                f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {quote(name)}" for name, kind in rows
            ]
            drops.append("SET FOREIGN_KEY_CHECKS = 1")
        backend.execute([Statement(sql, transactional=False) for sql in drops])

    def views(self, backend: Backend) -> dict[str, str | None]:
        """Return the database's views by name, with their SQL as the database keeps it."""
        return database_views(backend, self.dialect.name)

    def build(self, backend: Backend, state: ProjectState) -> None:
        """Create the tables and views of ``state``."""
        with backend.atomic():
            backend.execute(self.dialect.statements_between(ProjectState(), state))
            backend.execute(
                [create_view_statement(self.dialect, state.views[n]) for n in sorted(state.views)]
            )

    def fill(self, backend: Backend, state: ProjectState, rows_per_table: int = 3) -> None:
        """Insert rows into every table of ``state``; rows that break a constraint or key are left out."""
        inserts = []
        for model in state:
            for table in tables_of_model(model, state):
                names = ", ".join(self.dialect.quote(column.name) for column in table.columns)
                marks = ", ".join(_marker(self.dialect) for _ in table.columns)
                sql = f"INSERT INTO {self.dialect.quote(table.name)} ({names}) VALUES ({marks})"
                for number in range(1, rows_per_table + 1):
                    values = [_row_value(c.type, number, self.dialect.name) for c in table.columns]
                    inserts.append(Statement(sql, values))
        # Each row commits alone (deferred keys are checked then); one that points at a row
        # not there yet gets another pass.
        for _ in range(3):
            left = []
            for insert in inserts:
                try:
                    with backend.atomic():
                        backend.execute([insert])
                except DatabaseError:
                    left.append(insert)
            if len(left) == len(inserts):
                break
            inserts = left

    def rows(self, backend: Backend, state: ProjectState, lost: Lost) -> dict[str, list[str]]:
        """Return the rows of every table of ``state`` in the columns ``lost`` does not name, sorted."""
        whole = {table.lower() for table, column in lost if column is None}
        gone = {(table.lower(), column.lower()) for table, column in lost if column is not None}
        result = {}
        for model in state:
            for table in tables_of_model(model, state):
                kept = [c.name for c in table.columns if (table.name.lower(), c.name.lower()) not in gone]
                if table.name.lower() in whole or not kept:
                    continue
                columns = ", ".join(self.dialect.quote(name) for name in kept)
                found = backend.query(f"SELECT {columns} FROM {self.dialect.quote(table.name)}")
                result[table.name] = sorted(repr(row) for row in found)
        return result

    def snapshot(self, backend: Backend, state: ProjectState) -> tuple[object, ...]:
        """Return the catalog, the views and every row: what a failed run must leave as it was."""
        return (backend.catalog(), self.views(backend), self.rows(backend, state, frozenset()))

    def close(self) -> None:
        """Close the connection and delete the scratch files."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

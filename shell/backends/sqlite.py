"""The SQLite backend, on sqlite-utils and the standard sqlite3 module.

Theory of operation: Python's sqlite3 module opens transactions behind the caller's
back, so the connection runs in autocommit mode (``isolation_level=None``) and this
module writes every ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` itself; DDL is then
transactional. Foreign keys are enforced (``PRAGMA foreign_keys=ON`` at connect);
the dialect's foreign keys are deferred, so SQLite checks them at ``COMMIT`` and a
failed ``COMMIT`` rolls the whole transaction back. Plans that rebuild tables switch
enforcement off around their transaction themselves (``MigrationSQL.setup`` and
``teardown``) and check with ``PRAGMA foreign_key_check`` before committing. Nested
``atomic()`` blocks are savepoints.

The run lock: SQLite admits one writer at a time, and the executor re-reads the
recorder inside each migration's transaction, so two concurrent runs never apply a
migration twice. ``run_lock()`` therefore only checks, once, that the database can be
locked for writing within the busy timeout (``BEGIN EXCLUSIVE``), and fails early with
``DatabaseLocked`` if another connection keeps it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import sqlite_utils

from reinhardt_migrations.pure.introspection import (
    SQLITE_CATALOG_QUERIES,
    CatalogRows,
    SqliteTableRows,
    catalog_from_sqlite,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.errors import (
    DatabaseError,
    DatabaseLocked,
    ForeignKeyViolation,
    InvalidDatabaseUrl,
)

__all__ = ["MEMORY", "SqliteBackend", "sqlite_path"]

#: The path that names a private in-memory database.
MEMORY = ":memory:"
_DEFAULT_TIMEOUT = 5.0


def sqlite_path(url: str) -> tuple[str, float]:
    """Return the file path (or ``:memory:``) and the busy timeout a ``sqlite:`` URL names.

    ``sqlite:///db.sqlite3`` is relative, ``sqlite:////var/db.sqlite3`` absolute;
    ``sqlite://:memory:`` and ``sqlite:///:memory:`` are in memory;
    ``?timeout=SECONDS`` sets the busy timeout.

    Raises:
        InvalidDatabaseUrl: the URL is not a SQLite URL or names no file.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("sqlite", "sqlite3"):
        raise InvalidDatabaseUrl(url, f"the scheme {parts.scheme!r} is not sqlite")
    if parts.netloc == MEMORY or parts.path in (f"/{MEMORY}", MEMORY):
        path = MEMORY
    elif parts.netloc:
        raise InvalidDatabaseUrl(url, "a SQLite URL has no host; use three slashes, 'sqlite:///path'")
    else:
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise InvalidDatabaseUrl(url, "it names no database file")
    timeout = _DEFAULT_TIMEOUT
    for value in parse_qs(parts.query).get("timeout", []):
        try:
            timeout = float(value)
        except ValueError:
            raise InvalidDatabaseUrl(url, f"timeout={value!r} is not a number of seconds") from None
    return path, timeout


def _is_locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database table is locked" in text


def _converted(error: sqlite3.Error, sql: str) -> DatabaseError:
    """Return the shell error for a sqlite3 error raised by ``sql``."""
    if _is_locked(error):
        return DatabaseLocked(sql, f"{error} (another connection is writing; retry, or raise ?timeout=)")
    return DatabaseError(sql, str(error))


class SqliteBackend:
    """A SQLite database in autocommit mode, with explicit transactions."""

    __slots__ = ("_conn", "_db", "_depth", "path")

    #: SQLite's DDL is transactional: a failed migration leaves nothing.
    transactional_ddl: ClassVar[bool] = True

    def __init__(self, path: str, *, timeout: float = _DEFAULT_TIMEOUT) -> None:
        """Open (or create) the database file at ``path``, or ``:memory:``.

        Raises:
            DatabaseError: the file cannot be opened as a SQLite database.
        """
        self.path = path
        self._depth = 0
        try:
            self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            raise DatabaseError(f"-- open {path}", str(error)) from error
        self._db = sqlite_utils.Database(self._conn, recursive_triggers=False, execute_plugins=False)

    @classmethod
    def from_url(cls, url: str) -> SqliteBackend:
        """Open the database a ``sqlite:`` URL names.

        Raises:
            InvalidDatabaseUrl: the URL is not a SQLite URL.
            DatabaseError: the file cannot be opened.
        """
        path, timeout = sqlite_path(url)
        return cls(path, timeout=timeout)

    @property
    def dialect(self) -> str:
        """Return ``"sqlite"``."""
        return "sqlite"

    @property
    def connection(self) -> sqlite3.Connection:
        """Return the sqlite3 connection (autocommit mode: use ``atomic()`` for transactions)."""
        return self._conn

    @property
    def database(self) -> sqlite_utils.Database:
        """Return the sqlite-utils view of the database."""
        return self._db

    def _run(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, tuple(params))
        except sqlite3.Error as error:
            raise _converted(error, sql) from error

    def execute(self, statements: Iterable[Statement]) -> None:
        """Run ``statements`` in order; a statement marked ``expect_no_rows`` must return none.

        Raises:
            DatabaseError: a statement failed.
            ForeignKeyViolation: a check statement returned rows.
        """
        for statement in statements:
            cursor = self._run(statement.sql, statement.params)
            if statement.expect_no_rows:
                rows = cursor.fetchall()
                if rows:
                    raise ForeignKeyViolation(statement.sql, [tuple(row) for row in rows])

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one read query and return its rows.

        Raises:
            DatabaseError: the query failed.
        """
        cursor = self._run(sql, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        except sqlite3.Error as error:
            raise _converted(error, sql) from error

    def has_table(self, name: str) -> bool:
        """Tell whether a table called ``name`` exists (SQLite compares names case-insensitively)."""
        rows = self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (name,)
        )
        return bool(rows)

    @property
    def in_transaction(self) -> bool:
        """Tell whether a transaction is open."""
        return self._conn.in_transaction

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Run the block in a transaction (a savepoint when nested); roll back on any exception.

        Raises:
            DatabaseError: BEGIN or COMMIT failed (a deferred foreign key left dangling,
                say); nothing was committed.
        """
        if self._depth > 0:
            name = f"reinhardt_{self._depth}"
            self._run(f'SAVEPOINT "{name}"')
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._rollback(f'ROLLBACK TO SAVEPOINT "{name}"', f'RELEASE SAVEPOINT "{name}"')
                raise
            self._depth -= 1
            self._run(f'RELEASE SAVEPOINT "{name}"')
            return
        # IMMEDIATE takes the write lock now, so a busy database fails here, before any work.
        self._run("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._rollback("ROLLBACK")
            raise
        finally:
            self._depth = 0
        try:
            self._run("COMMIT")
        except DatabaseError:
            # A failed COMMIT (deferred foreign keys, say) leaves the transaction open.
            self._rollback("ROLLBACK")
            raise

    def _rollback(self, *statements: str) -> None:
        # A failed statement may already have ended the transaction (SQLite rolls back
        # on some errors by itself); the original error is the one to report.
        for sql in statements:
            if self._conn.in_transaction:
                with suppress(sqlite3.Error):
                    self._conn.execute(sql)

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Check once that the database can be locked for writing; see the module docstring.

        Raises:
            DatabaseLocked: another connection kept the database locked past the timeout.
        """
        if self.path != MEMORY and not self._conn.in_transaction:
            self._run("BEGIN EXCLUSIVE")
            self._run("ROLLBACK")
        yield

    def catalog(self) -> CatalogRows:
        """Return the schema as plain rows: tables, columns, indexes, uniques, checks, foreign keys.

        Raises:
            DatabaseError: the catalog cannot be read.
        """
        queries = SQLITE_CATALOG_QUERIES
        tables = []
        for name, sql in self.query(queries["tables"]):
            indexes = self.query(queries["indexes"], (name,))
            tables.append(
                SqliteTableRows(
                    name=name,
                    sql=sql or "",
                    columns=self.query(queries["columns"], (name,)),
                    indexes=indexes,
                    index_columns={
                        row[1]: self.query(queries["index_columns"], (row[1],)) for row in indexes
                    },
                    index_sql=dict(self.query(queries["index_sql"], (name,))),
                    foreign_keys=self.query(queries["foreign_keys"], (name,)),
                )
            )
        return catalog_from_sqlite(tables)

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self._conn.close()

    def __enter__(self) -> SqliteBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The PostgreSQL backend, on psycopg 3.

Theory of operation: the connection runs in autocommit mode and ``atomic()`` writes
``BEGIN``/``COMMIT`` itself (a savepoint when nested). PostgreSQL's DDL is
transactional, so the executor runs an atomic migration and its recorder row in one
transaction and a failure leaves nothing. A statement marked ``transactional=False``
(``CREATE INDEX CONCURRENTLY``) refuses to run inside a transaction; outside
``atomic()`` it runs on its own, committed at once, which is what the executor does for
a non-atomic migration.

The run lock is a session-level advisory lock (``pg_try_advisory_lock``) keyed by the
schema the recorder lives in, polled until ``lock_timeout`` (seconds, 60 unless the
URL says ``?lock_timeout=``); the error names the holder from ``pg_locks`` and
``pg_stat_activity``. Connections say ``application_name=reinhardt-migrations``
unless the URL names another, so holders are recognisable.

The catalog is read from ``pg_catalog`` for the current schema (``search_path``) into
the same ``CatalogRows`` the SQLite backend fills; the dialect's ``catalog_default``
and ``catalog_expression`` remove the casts PostgreSQL prints after literals.

The password of a URL never appears in a message or a ``repr``: ``display_url`` masks
it, and driver messages are scrubbed of it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors

from reinhardt_migrations.pure.dialects.postgresql import ON_DELETE_CODES, PostgreSQLDialect
from reinhardt_migrations.pure.introspection import (
    CatalogRows,
    CheckRow,
    ColumnRow,
    ForeignKeyRow,
    IndexRow,
    TableRow,
    UniqueRow,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.errors import (
    DatabaseError,
    DatabaseLocked,
    ForeignKeyViolation,
    InvalidDatabaseUrl,
    RunLockHeld,
    display_url,
)

__all__ = ["POSTGRESQL_CATALOG_QUERIES", "PostgresqlBackend", "display_url", "postgresql_settings"]

_DEFAULT_LOCK_TIMEOUT = 60.0
_APPLICATION_NAME = "reinhardt-migrations"
_SCHEMES = ("postgresql", "postgres")
# Our own URL parameters; everything else in the query goes to libpq.
_OWN_PARAMETERS = ("lock_timeout",)
_DIALECT = PostgreSQLDialect()

_TABLES_OF_SCHEMA = (
    "JOIN pg_namespace n ON n.oid = t.relnamespace "
    "WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p')"
)
_NAMES_OF = (
    "ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(attnum, position) "
    "JOIN pg_attribute a ON a.attrelid = {table} AND a.attnum = k.attnum ORDER BY k.position)"
)

#: The catalog queries, one per kind of row, each for the tables of ``current_schema()``.
POSTGRESQL_CATALOG_QUERIES: dict[str, str] = {
    "tables": (
        f"SELECT t.relname, obj_description(t.oid, 'pg_class') FROM pg_class t {_TABLES_OF_SCHEMA} "
        "ORDER BY t.relname"
    ),
    "columns": (
        "SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), COALESCE(array_position(pk.conkey, a.attnum), 0), "
        "a.attidentity <> '', col_description(t.oid, a.attnum), a.attgenerated <> '' "
        "FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "LEFT JOIN pg_constraint pk ON pk.conrelid = t.oid AND pk.contype = 'p' "
        f"{_TABLES_OF_SCHEMA} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY t.relname, a.attnum"
    ),
    # Indexes that back a primary key, unique or exclusion constraint are the constraint's.
    "indexes": (
        "SELECT t.relname, i.relname, x.indisunique, "
        "ARRAY(SELECT COALESCE(a.attname, '<expression>') "
        "FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, position) "
        "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE k.position <= x.indnkeyatts ORDER BY k.position), "
        "ARRAY(SELECT (o.option & 1) = 1 "
        "FROM unnest(x.indoption::int2[]) WITH ORDINALITY o(option, position) "
        "WHERE o.position <= x.indnkeyatts ORDER BY o.position), "
        "pg_get_expr(x.indpred, x.indrelid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        f"{_TABLES_OF_SCHEMA} AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
        "AND c.conrelid = t.oid AND c.contype IN ('p', 'u', 'x')) ORDER BY t.relname, i.relname"
    ),
    "constraints": (
        "SELECT t.relname, c.conname, c.contype, "
        + _NAMES_OF.format(keys="c.conkey", table="c.conrelid")
        + ", pg_get_expr(c.conbin, c.conrelid), f.relname, "
        + _NAMES_OF.format(keys="c.confkey", table="c.confrelid")
        + ", c.confdeltype FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "LEFT JOIN pg_class f ON f.oid = c.confrelid "
        f"{_TABLES_OF_SCHEMA} AND c.contype IN ('u', 'c', 'f') ORDER BY t.relname, c.conname"
    ),
}

_HOLDERS = (
    "SELECT a.pid, a.usename, a.application_name, host(a.client_addr), a.client_port, "
    "to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), a.state "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s ORDER BY a.pid"
)


def postgresql_settings(url: str) -> tuple[str, float]:
    """Return the libpq URL (our own parameters removed) and the run-lock timeout a URL names.

    ``postgresql://user:password@host:port/name?lock_timeout=SECONDS&sslmode=...``;
    ``postgres://`` and ``postgresql+psycopg://`` work too.

    Raises:
        InvalidDatabaseUrl: the URL is not a PostgreSQL URL, or its lock_timeout is not a number.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower().partition("+")[0]
    if scheme not in _SCHEMES:
        raise InvalidDatabaseUrl(display_url(url), f"the scheme {parts.scheme!r} is not postgresql")
    timeout = _DEFAULT_LOCK_TIMEOUT
    kept = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "lock_timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise InvalidDatabaseUrl(
                    display_url(url), f"lock_timeout={value!r} is not a number of seconds"
                ) from None
        else:
            kept.append((key, value))
    # libpq decodes %20, not "+", as a space.
    libpq = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(kept, quote_via=quote)))
    return libpq, timeout


_BATCH = '"reinhardt_batch"'


def _batchable(statement: Statement) -> bool:
    """Tell whether ``statement`` may share a round trip with its neighbours (see ``execute``)."""
    return statement.transactional and not statement.params and not statement.expect_no_rows


def _lock_key(schema: str) -> int:
    """Return the advisory lock key of migrate runs on ``schema`` (a positive 63-bit number)."""
    digest = hashlib.sha256(f"reinhardt-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


class PostgresqlBackend:
    """A PostgreSQL database in autocommit mode, with explicit transactions."""

    __slots__ = ("_conn", "_depth", "_display", "_password", "lock_timeout")

    #: PostgreSQL runs DDL inside transactions: a failed migration leaves nothing.
    transactional_ddl: ClassVar[bool] = True

    def __init__(self, url: str, *, lock_timeout: float | None = None) -> None:
        """Connect to the database ``url`` names (see ``postgresql_settings``).

        Raises:
            InvalidDatabaseUrl: the URL is not a PostgreSQL URL.
            DatabaseError: the server cannot be reached or refuses the connection.
        """
        libpq, url_timeout = postgresql_settings(url)
        self.lock_timeout = url_timeout if lock_timeout is None else lock_timeout
        self._display = display_url(url)
        self._depth = 0
        self._password = urlsplit(url).password or ""
        options: dict[str, Any] = {}
        query = dict(parse_qsl(urlsplit(libpq).query))
        if "application_name" not in query:
            options["application_name"] = _APPLICATION_NAME
        if "connect_timeout" not in query:
            options["connect_timeout"] = 10
        try:
            # No automatic prepared statements: DDL changes what a prepared plan would read.
            self._conn = psycopg.connect(libpq, autocommit=True, prepare_threshold=None, **options)
            # Literals are written for standard strings (backslash is an ordinary character).
            self._conn.execute("SET standard_conforming_strings = on")
        except psycopg.Error as error:
            raise DatabaseError(f"-- connect to {self._display}", self._reason(error)) from None

    @classmethod
    def from_url(cls, url: str) -> PostgresqlBackend:
        """Connect to the database a ``postgresql://`` URL names.

        Raises:
            InvalidDatabaseUrl: the URL is not a PostgreSQL URL.
            DatabaseError: the server cannot be reached or refuses the connection.
        """
        return cls(url)

    def __repr__(self) -> str:
        return f"PostgresqlBackend({self._display!r})"

    @property
    def url(self) -> str:
        """Return the database URL with the password masked."""
        return self._display

    @property
    def dialect(self) -> str:
        """Return ``"postgresql"``."""
        return "postgresql"

    @property
    def connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        """Return the psycopg connection (autocommit mode: use ``atomic()`` for transactions)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Tell whether a transaction is open."""
        return self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    # -- running -----------------------------------------------------------------------

    def _reason(self, error: psycopg.Error) -> str:
        """Return the driver's message with its detail and hint, the password scrubbed."""
        diagnostic = error.diag
        parts = [str(error).strip() or type(error).__name__]
        for extra in (diagnostic.message_detail, diagnostic.message_hint):
            if extra and extra not in parts[0]:
                parts.append(extra)
        text = " ".join(parts)
        return text.replace(self._password, "***") if self._password else text

    def _converted(self, error: psycopg.Error, sql: str) -> DatabaseError:
        if isinstance(error, pg_errors.LockNotAvailable | pg_errors.DeadlockDetected):
            return DatabaseLocked(sql, self._reason(error))
        return DatabaseError(sql, self._reason(error))

    def _run(self, sql: str, params: Sequence[object] = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        try:
            # Without parameters psycopg leaves "%" alone and sends the text as it is.
            return self._conn.execute(sql, tuple(params) if params else None)
        except psycopg.Error as error:
            raise self._converted(error, sql) from error

    def execute(self, statements: Iterable[Statement]) -> None:
        """Run ``statements`` in order; a statement marked ``expect_no_rows`` must return none.

        Inside a transaction, consecutive plain statements (no parameters, no check) go to
        the server in one round trip, behind a savepoint; if that fails, the savepoint is
        rolled back and they run one by one, so the error names the failing statement.

        Raises:
            DatabaseError: a statement failed (inside ``atomic()``, the transaction is rolled back).
            ForeignKeyViolation: a check statement returned rows.
        """
        pending: list[Statement] = []
        for statement in (*statements, None):
            if statement is not None and self._depth > 0 and _batchable(statement):
                pending.append(statement)
                continue
            if pending:
                self._run_batch(pending)
                pending = []
            if statement is None:
                break
            cursor = self._run(statement.sql, statement.params)
            if statement.expect_no_rows and cursor.description is not None:
                rows = cursor.fetchall()
                if rows:
                    raise ForeignKeyViolation(statement.sql, [tuple(row) for row in rows])

    def _run_batch(self, statements: Sequence[Statement]) -> None:
        if len(statements) == 1:
            self._run(statements[0].sql)
            return
        # Newlines around the separators: a statement may end in a "--" comment.
        text = "\n;\n".join(
            [f"SAVEPOINT {_BATCH}", *(s.sql for s in statements), f"RELEASE SAVEPOINT {_BATCH}"]
        )
        try:
            self._conn.execute(text)
        except psycopg.Error:
            self._quietly(f"ROLLBACK TO SAVEPOINT {_BATCH}", f"RELEASE SAVEPOINT {_BATCH}")
            for statement in statements:
                self._run(statement.sql)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one read query (``%s`` placeholders) and return its rows.

        Raises:
            DatabaseError: the query failed.
        """
        cursor = self._run(sql, params)
        try:
            return [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []
        except psycopg.Error as error:
            raise self._converted(error, sql) from error

    def has_table(self, name: str) -> bool:
        """Tell whether the current schema has a table called ``name`` (names are case-sensitive)."""
        sql = f"SELECT 1 FROM pg_class t {_TABLES_OF_SCHEMA} AND t.relname = %s"
        return bool(self.query(sql, (name,)))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Run the block in a transaction (a savepoint when nested); roll back on any exception.

        Raises:
            DatabaseError: BEGIN or COMMIT failed (a deferred foreign key left dangling,
                say), or a statement failed inside the block and the error was swallowed
                (PostgreSQL then refuses to commit); nothing was committed.
        """
        # Plain BEGIN/COMMIT, as the statements themselves run: a migration pays two round
        # trips for its transaction and nothing more.
        if self._depth > 0:
            name = f'"reinhardt_{self._depth}"'
            self._run(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._quietly(f"ROLLBACK TO SAVEPOINT {name}", f"RELEASE SAVEPOINT {name}")
                raise
            self._depth -= 1
            self._run(f"RELEASE SAVEPOINT {name}")
            return
        self._run("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._quietly("ROLLBACK")
            raise
        finally:
            self._depth = 0
        if self._conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            # COMMIT would answer ROLLBACK without an error: say so instead.
            self._quietly("ROLLBACK")
            raise DatabaseError(
                "COMMIT", "a statement failed earlier in the transaction, so it was rolled back"
            )
        self._run("COMMIT")

    def _quietly(self, *statements: str) -> None:
        """Run rollback statements; a broken connection must not hide the error that broke it."""
        for sql in statements:
            with suppress(psycopg.Error):
                self._conn.execute(sql)

    # -- the run lock ----------------------------------------------------------------------

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Hold the migrate run lock of this schema for the block, waiting up to ``lock_timeout``.

        Raises:
            RunLockHeld: another run held the lock for the whole timeout (the error names it).
            DatabaseError: the lock could not be asked for.
        """
        schema = str(self.query("SELECT current_schema()")[0][0])
        key = _lock_key(schema)
        started = time.monotonic()
        delay = 0.02
        while not self.query("SELECT pg_try_advisory_lock(%s)", (key,))[0][0]:
            waited = time.monotonic() - started
            if waited >= self.lock_timeout:
                raise RunLockHeld(
                    f"{self._display} (schema {schema!r})",
                    self._describe_holders(key),
                    round(waited, 1),
                    "If that run is stuck, end it with SELECT pg_terminate_backend(<pid>); to wait "
                    "longer, add ?lock_timeout=SECONDS to the database URL.",
                )
            time.sleep(min(delay, max(self.lock_timeout - waited, 0.0)))
            delay = min(delay * 2, 0.5)
        try:
            yield
        finally:
            # A broken connection has lost the lock with its session already.
            with suppress(DatabaseError):
                self.query("SELECT pg_advisory_unlock(%s)", (key,))

    def _describe_holders(self, key: int) -> str:
        rows = self.query(_HOLDERS, (key,))
        if not rows:
            return "a session that has just released it (try again)"
        described = []
        for pid, user, application, address, port, since, state in rows:
            client = "a local socket" if address is None else f"{address}:{port}"
            described.append(
                f"server process {pid} (application {application or '-'!r}, user {user!r}, "
                f"client {client}, connected since {since}, {state or 'unknown state'})"
            )
        return "; ".join(described)

    # -- the catalog ---------------------------------------------------------------------

    def catalog(self) -> CatalogRows:
        """Return the current schema's tables as plain rows for ``reinhardt_migrations.pure.introspection``.

        Raises:
            DatabaseError: the catalog cannot be read.
        """
        queries = POSTGRESQL_CATALOG_QUERIES
        tables = [TableRow(name, comment) for name, comment in self.query(queries["tables"])]
        columns = []
        for table, name, type_sql, null, default, key, identity, comment, generated in self.query(
            queries["columns"]
        ):
            serial = default is not None and str(default).startswith("nextval(")
            columns.append(
                ColumnRow(
                    table,
                    name,
                    type_sql,
                    null,
                    None if default is None or serial or generated else _DIALECT.catalog_default(default),
                    key,
                    identity or serial,
                    comment,
                )
            )
        indexes = [
            IndexRow(
                table,
                name,
                names,
                descending,
                unique,
                None if condition is None else _DIALECT.catalog_expression(condition),
            )
            for table, name, unique, names, descending, condition in self.query(queries["indexes"])
        ]
        uniques: list[UniqueRow] = []
        checks: list[CheckRow] = []
        keys: list[ForeignKeyRow] = []
        for table, name, kind, names, check, target, target_names, action in self.query(
            queries["constraints"]
        ):
            if kind == "u":
                uniques.append(UniqueRow(table, name, names))
            elif kind == "c":
                checks.append(CheckRow(table, name, _DIALECT.catalog_expression(check)))
            else:
                keys.append(
                    ForeignKeyRow(
                        table, name, names, target, target_names, ON_DELETE_CODES.get(action, action)
                    )
                )
        return CatalogRows(tables, columns, indexes, uniques, checks, keys)

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self._conn.close()

    def __enter__(self) -> PostgresqlBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

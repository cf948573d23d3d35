"""The MySQL and MariaDB backend, on PyMySQL.

Why PyMySQL: it is pure Python (nothing to compile, a wheel for every platform and
Python), maintained (github.com/PyMySQL/PyMySQL, regular releases), speaks both MySQL 8 and
MariaDB, and is what Django's documentation names as the alternative to mysqlclient.
mysqlclient is faster at fetching large results, which migrations do not do, and needs
a C compiler and the MySQL client headers. mysql-connector-python is Oracle's and
tracks MySQL, not MariaDB.

Theory of operation: MySQL commits every DDL statement by itself (an implicit COMMIT
before and after it), so ``transactional_ddl`` is False and the executor runs a
migration statement by statement, recording progress after each (``shell/progress.py``)
instead of pretending to roll back. The connection runs with autocommit on; ``atomic()``
opens a transaction (a savepoint when nested), which still makes data changes (RunCode,
RunSQL DML, the recorder and progress rows) all or nothing.

The session is made predictable at connect: ``utf8mb4``, strict mode (``STRICT_TRANS_TABLES``:
a type change that would truncate data fails instead of warning), and no
``NO_BACKSLASH_ESCAPES`` (the audited literal renderer writes backslashes doubled).

The run lock is ``GET_LOCK('reinhardt_migrations:<database>', lock_timeout)``, a named lock
of the server held by this connection (released at the end, or when the connection
dies); a run that cannot get it within ``lock_timeout`` seconds (60 unless the URL says
``?lock_timeout=``) names the holder from ``IS_USED_LOCK`` and the process list.

The catalog comes from ``information_schema`` (``MYSQL_CATALOG_QUERIES``) through the pure
``catalog_from_mysql``. A URL's password never appears in a message or a ``repr``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
from pymysql.constants import SERVER_STATUS

from reinhardt_migrations.pure.introspection import CatalogRows
from reinhardt_migrations.pure.introspection_mysql import (
    MYSQL_CATALOG_QUERIES,
    MysqlCatalog,
    catalog_from_mysql,
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

__all__ = ["MysqlBackend", "display_url", "lock_name", "mysql_settings"]

_SCHEMES = ("mysql", "mariadb")
_DEFAULT_LOCK_TIMEOUT = 60.0
_DEFAULT_PORT = 3306
# Server errors that mean "someone else holds what this statement needs".
_LOCKED = frozenset({1205, 1213})  # lock wait timeout, deadlock
_INTEGER_PARAMETERS = ("connect_timeout", "read_timeout", "write_timeout")
_TEXT_PARAMETERS = ("charset", "unix_socket", "ssl_ca", "ssl_cert", "ssl_key")


def mysql_settings(url: str) -> tuple[dict[str, Any], float]:
    """Return PyMySQL's ``connect()`` arguments and the run-lock timeout a URL names.

    ``mysql://user:password@host:port/database?lock_timeout=SECONDS&charset=utf8mb4``;
    ``mariadb://`` and ``mysql+pymysql://`` work too, and ``?unix_socket=/path``,
    ``connect_timeout``, ``read_timeout``, ``write_timeout``, ``ssl_ca``, ``ssl_cert``,
    ``ssl_key``.

    Raises:
        InvalidDatabaseUrl: not a MySQL URL, no database name, or a parameter we do not know.
    """
    parts = urlsplit(url)
    shown = display_url(url)
    if parts.scheme.lower().partition("+")[0] not in _SCHEMES:
        raise InvalidDatabaseUrl(shown, f"the scheme {parts.scheme!r} is not mysql or mariadb")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise InvalidDatabaseUrl(shown, "it names no database; write mysql://user@host/database")
    try:
        port = parts.port or _DEFAULT_PORT
    except ValueError:
        raise InvalidDatabaseUrl(shown, "its port is not a number") from None
    arguments: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else "",
        "database": database,
        "charset": "utf8mb4",
        "connect_timeout": 10,
    }
    timeout = _DEFAULT_LOCK_TIMEOUT
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "lock_timeout" or key in _INTEGER_PARAMETERS:
            try:
                number = float(value)
            except ValueError:
                raise InvalidDatabaseUrl(shown, f"{key}={value!r} is not a number of seconds") from None
            if key == "lock_timeout":
                timeout = number
            else:
                arguments[key] = int(number)
        elif key in _TEXT_PARAMETERS:
            arguments[key] = value
        else:
            known = ", ".join(("lock_timeout", *_INTEGER_PARAMETERS, *_TEXT_PARAMETERS))
            raise InvalidDatabaseUrl(shown, f"the parameter {key!r} is not one of {known}")
    return arguments, timeout


def lock_name(database: str) -> str:
    """Return the name of the run lock of ``database`` (server-wide names, at most 64 characters)."""
    name = f"reinhardt_migrations:{database}"
    if len(name) <= 64:
        return name
    return f"reinhardt_migrations:{hashlib.sha256(database.encode('utf-8')).hexdigest()[:40]}"


def _strict_mode(current: str) -> str:
    """Return ``current`` sql_mode without NO_BACKSLASH_ESCAPES and with strict transactional tables."""
    modes = [mode for mode in current.split(",") if mode and mode != "NO_BACKSLASH_ESCAPES"]
    if "STRICT_TRANS_TABLES" not in modes and "STRICT_ALL_TABLES" not in modes:
        modes.append("STRICT_TRANS_TABLES")
    return ",".join(modes)


class MysqlBackend:
    """A MySQL or MariaDB database in autocommit mode, with explicit transactions."""

    __slots__ = (
        "_conn",
        "_database",
        "_depth",
        "_display",
        "_password",
        "lock_timeout",
        "mariadb",
        "version",
    )

    #: MySQL commits each DDL statement by itself: the executor records progress instead.
    transactional_ddl: ClassVar[bool] = False

    def __init__(self, url: str, *, lock_timeout: float | None = None) -> None:
        """Connect to the database ``url`` names (see ``mysql_settings``).

        Raises:
            InvalidDatabaseUrl: the URL is not a MySQL URL.
            DatabaseError: the server cannot be reached or refuses the connection.
        """
        arguments, url_timeout = mysql_settings(url)
        self.lock_timeout = url_timeout if lock_timeout is None else lock_timeout
        self._display = display_url(url)
        self._password = str(arguments["password"])
        self._database = str(arguments["database"])
        self._depth = 0
        try:
            self._conn = pymysql.connect(autocommit=True, **arguments)
        except pymysql.MySQLError as error:
            raise DatabaseError(f"-- connect to {self._display}", self._reason(error)) from None
        version = str(self.query("SELECT VERSION()")[0][0])
        self.version = version
        self.mariadb = "mariadb" in version.lower()
        mode = str(self.query("SELECT @@SESSION.sql_mode")[0][0])
        self._run("SET SESSION sql_mode = %s", (_strict_mode(mode),))

    @classmethod
    def from_url(cls, url: str) -> MysqlBackend:
        """Connect to the database a ``mysql://`` or ``mariadb://`` URL names.

        Raises:
            InvalidDatabaseUrl: the URL is not a MySQL URL.
            DatabaseError: the server cannot be reached or refuses the connection.
        """
        return cls(url)

    def __repr__(self) -> str:
        return f"MysqlBackend({self._display!r})"

    @property
    def url(self) -> str:
        """Return the database URL with the password masked."""
        return self._display

    @property
    def dialect(self) -> str:
        """Return ``"mysql"`` (one dialect serves MySQL and MariaDB)."""
        return "mysql"

    @property
    def connection(self) -> pymysql.connections.Connection[Any]:
        """Return the PyMySQL connection (autocommit on: use ``atomic()`` for transactions)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Tell whether a transaction is open (a DDL statement ends it by committing)."""
        return bool(self._conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    # -- running -----------------------------------------------------------------------

    def _reason(self, error: pymysql.MySQLError) -> str:
        """Return the server's code and message, the password scrubbed."""
        arguments = error.args
        if len(arguments) >= 2 and isinstance(arguments[0], int):
            text = f"error {arguments[0]}: {arguments[1]}"
        else:
            text = str(error) or type(error).__name__
        return text.replace(self._password, "***") if self._password else text

    def _converted(self, error: pymysql.MySQLError, sql: str) -> DatabaseError:
        code = error.args[0] if error.args else None
        if code in _LOCKED:
            return DatabaseLocked(sql, self._reason(error))
        return DatabaseError(sql, self._reason(error))

    def _run(self, sql: str, params: Sequence[object] = ()) -> pymysql.cursors.Cursor:
        cursor = self._conn.cursor()
        try:
            # Without parameters PyMySQL leaves "%" alone and sends the text as it is.
            cursor.execute(sql, tuple(params) if params else None)
        except pymysql.MySQLError as error:
            raise self._converted(error, sql) from error
        return cursor

    def execute(self, statements: Iterable[Statement]) -> None:
        """Run ``statements`` in order (``%s`` placeholders); one marked ``expect_no_rows`` must return none.

        Raises:
            DatabaseError: a statement failed (a DDL statement before it stays done: MySQL committed it).
            ForeignKeyViolation: a check statement returned rows.
        """
        for statement in statements:
            cursor = self._run(statement.sql, statement.params)
            if statement.expect_no_rows:
                rows = cursor.fetchall()
                if rows:
                    raise ForeignKeyViolation(statement.sql, [tuple(row) for row in rows])

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one read query (``%s`` placeholders) and return its rows.

        Raises:
            DatabaseError: the query failed.
        """
        cursor = self._run(sql, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        except pymysql.MySQLError as error:
            raise self._converted(error, sql) from error

    def has_table(self, name: str) -> bool:
        """Tell whether the database has a table called ``name`` (names compared exactly)."""
        rows = self.query(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            "AND BINARY TABLE_NAME = BINARY %s",
            (name,),
        )
        return bool(rows)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Run the block in a transaction (a savepoint when nested); roll back on any exception.

        A DDL statement inside commits the transaction so far and runs on its own: only
        data changes are rolled back.

        Raises:
            DatabaseError: BEGIN or COMMIT failed; nothing was committed.
        """
        if self._depth > 0:
            name = f"reinhardt_{self._depth}"
            self._run(f"SAVEPOINT `{name}`")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._quietly(f"ROLLBACK TO SAVEPOINT `{name}`")
                raise
            self._depth -= 1
            # A DDL statement in the block has committed and released the savepoint.
            with suppress(DatabaseError):
                self._run(f"RELEASE SAVEPOINT `{name}`")
            return
        self._run("START TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._quietly("ROLLBACK")
            raise
        finally:
            self._depth = 0
        try:
            self._run("COMMIT")
        except DatabaseError:
            self._quietly("ROLLBACK")
            raise

    def _quietly(self, sql: str) -> None:
        # The original error is the one to report; a lost connection must not hide it.
        with suppress(pymysql.MySQLError):
            self._conn.cursor().execute(sql)

    # -- the run lock --------------------------------------------------------------------

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Hold the migrate run lock of this database for the block, waiting up to ``lock_timeout``.

        Raises:
            RunLockHeld: another run held the lock for the whole timeout (the error names it).
            DatabaseError: the lock could not be asked for.
        """
        name = lock_name(self._database)
        got = self.query("SELECT GET_LOCK(%s, %s)", (name, self.lock_timeout))[0][0]
        if got != 1:
            raise RunLockHeld(
                f"{self._display} (lock {name!r})",
                self._describe_holder(name),
                self.lock_timeout,
                "If that run is stuck, end it with KILL <connection id>; to wait longer, add "
                "?lock_timeout=SECONDS to the database URL.",
            )
        try:
            yield
        finally:
            # A broken connection has lost the lock with its session already.
            with suppress(DatabaseError):
                self.query("SELECT RELEASE_LOCK(%s)", (name,))

    def _describe_holder(self, name: str) -> str:
        holder = self.query("SELECT IS_USED_LOCK(%s)", (name,))[0][0]
        if holder is None:
            return "a connection that has just released it (try again)"
        rows = self.query(
            "SELECT USER, HOST, DB, TIME, COMMAND, STATE FROM information_schema.PROCESSLIST WHERE ID = %s",
            (holder,),
        )
        if not rows:
            return f"connection {holder} (this user may not see its details: it needs the PROCESS privilege)"
        user, host, database, seconds, command, state = rows[0]
        return (
            f"connection {holder} (user {user!r} from {host}, database {database!r}, "
            f"{command or 'idle'} for {seconds} s{', ' + str(state) if state else ''})"
        )

    # -- the catalog ---------------------------------------------------------------------

    def catalog(self) -> CatalogRows:
        """Return the database's tables as plain rows for ``reinhardt_migrations.pure.introspection``.

        Raises:
            DatabaseError: the catalog cannot be read.
        """
        queries = MYSQL_CATALOG_QUERIES
        raw = MysqlCatalog(
            tables=self.query(queries["tables"]),
            columns=self.query(queries["columns"]),
            indexes=self.query(queries["indexes"]),
            checks=self.query(queries["checks_mariadb" if self.mariadb else "checks_mysql"]),
            foreign_keys=self.query(queries["foreign_keys"]),
            mariadb=self.mariadb,
        )
        return catalog_from_mysql(raw)

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back, the run lock released)."""
        with suppress(pymysql.MySQLError):
            self._conn.close()

    def __enter__(self) -> MysqlBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

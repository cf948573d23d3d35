"""Real PostgreSQL and MariaDB/MySQL servers for the test session.

Theory of operation: each server starts once per session (per xdist worker), on
127.0.0.1 and a free port, from the local binaries, the first time a test asks
for it; it stops when the session ends. Every test that asks for a URL gets a
fresh empty database on that server, dropped after the test. Nothing is mocked.

Fixtures a test asks for:

- ``postgresql_url`` / ``mysql_url``: ``"postgresql://postgres@127.0.0.1:PORT/NAME"``
  and ``"mysql://root@127.0.0.1:PORT/NAME"``, naming a fresh empty database.
- ``postgresql_conn`` / ``mysql_conn``: an open psycopg / PyMySQL connection to
  that database (not autocommit), closed after the test.
- ``postgresql_server`` / ``mysql_server``: the session's :class:`Server`.

When a server cannot start (binaries missing, ...) the tests that need it are
skipped with the reason, unless ``REINHARDT_REQUIRE_SERVERS=1`` is set (CI sets it):
then they fail. The servers are started by the maintained fixture libraries:
pytest-mysql's ``mysql_proc`` factory, and pytest-postgresql's executor and
janitor. pytest-postgresql's ``postgresql_proc`` factory is not used because
``pg_ctl`` refuses to run as root and the factory has no way to run it as another
user (upstream's answer is "do not run pytest as root", dbfixtures/pytest-postgresql
#341 and #455); CI runs as root. So as root, ``pg_ctl`` runs through a two-line
wrapper script as the unprivileged ``postgres`` OS user, in a data directory that
user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import shlex
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pymysql
import pytest
from pytest_mysql import factories as mysql_factories
from pytest_mysql.executor import MySQLExecutor
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

REQUIRE_SERVERS_VARIABLE = "REINHARDT_REQUIRE_SERVERS"
POSTGRESQL_DATABASE = "reinhardt"
"""pytest-postgresql's base name: the empty template every test database copies is ``reinhardt_tmpl``."""
POSTGRESQL_OS_USER = "postgres"
"""Who runs PostgreSQL when the tests run as root (Debian's postgresql package creates it)."""


@dataclass(frozen=True)
class Server:
    """A database server started for this test session."""

    scheme: str
    host: str
    port: int
    user: str
    version: str

    def url(self, database: str) -> str:
        """Return the URL of one database on this server."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{database}"


def _servers_required() -> bool:
    """Whether a server that cannot start is a failure rather than a skip."""
    value = os.environ.get(REQUIRE_SERVERS_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _server_unavailable(what: str, reason: str) -> NoReturn:
    """Skip the requesting test, or fail it when servers are required."""
    if _servers_required():
        pytest.fail(f"{what} is required ({REQUIRE_SERVERS_VARIABLE} is set) but {reason}")
    pytest.skip(f"{what} unavailable: {reason} (set {REQUIRE_SERVERS_VARIABLE}=1 to fail instead)")


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_database_numbers = itertools.count(1)


def _new_database_name(request: pytest.FixtureRequest) -> str:
    """Return a database name unique in the session that says which test made it."""
    test_name = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())
    return f"t{next(_database_numbers)}_{test_name}"[:60]


# PostgreSQL ----------------------------------------------------------------


def _find_pg_ctl() -> str | None:
    """Return pg_ctl from PATH, else the newest Debian-style /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return on_path
    versions = {
        int(Path(path).parts[-3]): path
        for path in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
        if Path(path).parts[-3].isdigit()
    }
    return versions[max(versions)] if versions else None


def _postgresql_problem() -> str | None:
    """Say why PostgreSQL cannot start here, or None when it should."""
    if _find_pg_ctl() is None:
        return "pg_ctl was found neither on PATH nor in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(POSTGRESQL_OS_USER)
        except KeyError:
            return (
                f"tests run as root, PostgreSQL refuses root, and there is no "
                f"{POSTGRESQL_OS_USER!r} OS user to run it as "
                f"(create one: useradd --system {POSTGRESQL_OS_USER})"
            )
    return None


def _write_pg_ctl_wrapper(path: Path, pg_ctl: str, os_user: str) -> Path:
    """Write an executable that runs pg_ctl as os_user (for tests running as root)."""
    path.write_text(
        "#!/bin/sh\n"
        "# pg_ctl refuses root: run it as the unprivileged owner of the data directory.\n"
        f"cd / && exec setpriv --reuid={shlex.quote(os_user)} --regid={shlex.quote(os_user)} "
        f'--init-groups -- {shlex.quote(pg_ctl)} "$@"\n'
    )
    path.chmod(0o755)
    return path


def _startup_failure(error: Exception, logfile: Path) -> str:
    """Describe why a server did not start, with the end of its log."""
    try:
        log_tail = "".join(logfile.read_text(errors="replace").splitlines(keepends=True)[-15:])
    except OSError:
        log_tail = "(no log)\n"
    return f"{_describe(error)}\n--- end of {logfile} ---\n{log_tail}"


def _describe(error: Exception) -> str:
    """One readable line for an error (mirakuru's exception reprs can recurse forever)."""
    return f"{type(error).__name__}: {error}"[:2000]


@pytest.fixture(scope="session")
def postgresql_proc() -> Iterator[PostgreSQLExecutor]:
    """Start PostgreSQL on 127.0.0.1 and a free port, with a template database.

    Overrides pytest-postgresql's fixture of the same name, so its ``postgresql``
    client fixture works too. Prefer ``postgresql_server``, which skips or fails
    cleanly when the server cannot start.
    """
    pg_ctl = _find_pg_ctl()
    assert pg_ctl is not None, _postgresql_problem()
    # Outside pytest's basetemp: that is root-only (0700), so the postgres user
    # could not reach a data directory inside it.
    base = Path(tempfile.mkdtemp(prefix="reinhardt-postgresql-"))
    try:
        run_dir = base / "run"
        run_dir.mkdir()
        executable = pg_ctl
        if os.geteuid() == 0:
            owner = pwd.getpwnam(POSTGRESQL_OS_USER)
            base.chmod(0o755)
            os.chown(run_dir, owner.pw_uid, owner.pw_gid)
            executable = str(_write_pg_ctl_wrapper(base / "pg_ctl", pg_ctl, owner.pw_name))
        executor = PostgreSQLExecutor(
            executable=executable,
            host="127.0.0.1",
            port=_free_port(),
            datadir=str(run_dir / "data"),
            unixsocketdir=str(run_dir),
            logfile=str(run_dir / "postgresql.log"),
            startparams="-w",
            dbname=POSTGRESQL_DATABASE,
            # Throwaway cluster: durability off, loopback only.
            postgres_options=(
                "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            ),
        )
        try:
            try:
                executor.start()
            except Exception as error:
                raise RuntimeError(_startup_failure(error, Path(executor.logfile))) from error
            DatabaseJanitor(
                user=executor.user,
                host=executor.host,
                port=executor.port,
                dbname=executor.template_dbname,
                as_template=True,
            ).init()
            yield executor
        finally:
            if executor.running():
                executor.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgresql_server(request: pytest.FixtureRequest) -> Server:
    """The session's PostgreSQL server; skips (or fails, in CI) if it cannot start."""
    problem = _postgresql_problem()
    if problem is not None:
        _server_unavailable("PostgreSQL", problem)
    try:
        executor: PostgreSQLExecutor = request.getfixturevalue("postgresql_proc")
        with psycopg.connect(
            host=executor.host, port=executor.port, user=executor.user, dbname="postgres"
        ) as connection:
            row = connection.execute("SELECT version()").fetchone()
    except Exception as error:
        if _servers_required():
            raise
        _server_unavailable("PostgreSQL", f"it did not start: {_describe(error)}")
    assert row is not None
    return Server("postgresql", executor.host, executor.port, executor.user, str(row[0]))


@pytest.fixture
def postgresql_url(postgresql_server: Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh empty PostgreSQL database, dropped after the test."""
    janitor = DatabaseJanitor(
        user=postgresql_server.user,
        host=postgresql_server.host,
        port=postgresql_server.port,
        dbname=_new_database_name(request),
        template_dbname=f"{POSTGRESQL_DATABASE}_tmpl",
    )
    with janitor:
        yield postgresql_server.url(janitor.dbname)


@pytest.fixture
def postgresql_conn(postgresql_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An open psycopg connection to the test's fresh database."""
    with psycopg.connect(postgresql_url) as connection:
        yield connection


# MariaDB / MySQL -----------------------------------------------------------


def _which_first(*names: str) -> str | None:
    """Return the first of names found on PATH (or in /usr/sbin, for non-root PATHs)."""
    search_path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/usr/local/sbin"])
    for name in names:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    return None


_MYSQLD = _which_first("mariadbd", "mysqld")
_MYSQLD_SAFE = _which_first("mariadbd-safe", "mysqld_safe")
_MYSQL_ADMIN = _which_first("mariadb-admin", "mysqladmin")
_MYSQL_INSTALL_DB = _which_first("mariadb-install-db", "mysql_install_db")
_MYSQL_OS_USER = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def _mysql_problem() -> str | None:
    """Say why MariaDB/MySQL cannot start here, or None when it should."""
    programs = {
        "mariadbd/mysqld": _MYSQLD,
        "mariadbd-safe/mysqld_safe": _MYSQLD_SAFE,
        "mariadb-admin/mysqladmin": _MYSQL_ADMIN,
        "mariadb-install-db/mysql_install_db": _MYSQL_INSTALL_DB,
    }
    missing = [name for name, path in programs.items() if path is None]
    if missing:
        return f"{', '.join(missing)} not found (install mariadb-server)"
    return None


mysql_proc = mysql_factories.mysql_proc(
    mysqld_exec=Path(_MYSQLD or "mysqld"),
    mysqld_safe=Path(_MYSQLD_SAFE or "mysqld_safe"),
    admin_executable=_MYSQL_ADMIN or "mysqladmin",
    install_db=_MYSQL_INSTALL_DB or "mysql_install_db",
    host="127.0.0.1",
    port=None,
    user=_MYSQL_OS_USER,
    # Throwaway server: loopback only, fixed character set, durability off.
    params=(
        "--bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin "
        "--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "
        "--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 "
        "--innodb-log-file-size=16M"
    ),
)
"""pytest-mysql's process fixture (overrides the plugin's default one).

Prefer ``mysql_server``, which skips or fails cleanly when the server cannot start.
"""


def _allow_root_over_tcp(executor: MySQLExecutor) -> str:
    """Let root in over TCP without a password; return the server's version.

    A fresh data directory has only ``root@localhost``, authenticated by the unix
    socket's peer credentials, so connect through the socket to add
    ``root@127.0.0.1`` (with --skip-name-resolve, TCP clients match by IP).
    """
    connection = pymysql.connect(unix_socket=executor.unixsocket, user=executor.user)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
            cursor.execute("SELECT VERSION()")
            row = cursor.fetchone()
    finally:
        connection.close()
    assert row is not None
    return str(row[0])


_UNKNOWN_THREAD = 1094


@pytest.fixture(scope="session")
def mysql_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """The session's MariaDB/MySQL server; skips (or fails, in CI) if it cannot start."""
    problem = _mysql_problem()
    if problem is not None:
        _server_unavailable("MariaDB/MySQL", problem)
    try:
        executor: MySQLExecutor = request.getfixturevalue("mysql_proc")
        version = _allow_root_over_tcp(executor)
    except Exception as error:
        if _servers_required():
            raise
        log_dir = tmp_path_factory.getbasetemp() / "pytest-mysql-mysql_proc*"
        _server_unavailable(
            "MariaDB/MySQL", f"it did not start: {_describe(error)} (server log in {log_dir})"
        )
    return Server("mysql", executor.host, executor.port, "root", version)


def _mysql_admin_connection(server: Server) -> pymysql.Connection:
    """A root connection with no default database, for creating and dropping them."""
    return pymysql.connect(host=server.host, port=server.port, user=server.user, autocommit=True)


@pytest.fixture
def mysql_url(mysql_server: Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh empty MariaDB/MySQL database, dropped after the test."""
    name = _new_database_name(request)
    admin = _mysql_admin_connection(mysql_server)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        yield mysql_server.url(name)
        with admin.cursor() as cursor:
            # A connection the test leaked, holding a lock, would block the DROP.
            cursor.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                (name,),
            )
            for (connection_id,) in cursor.fetchall():
                try:
                    cursor.execute(f"KILL {int(connection_id)}")
                except pymysql.err.OperationalError as error:
                    # 1094: it closed between the SELECT and the KILL, which is what we wanted.
                    if error.args[0] != _UNKNOWN_THREAD:
                        raise
            cursor.execute("SET SESSION lock_wait_timeout = 30")
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


@pytest.fixture
def mysql_conn(mysql_server: Server, mysql_url: str) -> Iterator[pymysql.Connection]:
    """An open PyMySQL connection to the test's fresh database."""
    connection = pymysql.connect(
        host=mysql_server.host,
        port=mysql_server.port,
        user=mysql_server.user,
        database=mysql_url.rsplit("/", 1)[1],
    )
    try:
        yield connection
    finally:
        connection.close()

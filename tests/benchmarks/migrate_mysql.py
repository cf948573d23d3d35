"""Benchmark: ``migrate`` the SQLite benchmark's history onto a fresh MariaDB database; the PyMySQL floor.

Run with ``python tests/benchmarks/migrate_mysql.py [--url mysql://root@127.0.0.1:3306/mysql]
[--apps 5 --models 300 --migrations 1000] [--runs 3] [--disk] [--django-runs 1]``. Without
``--url`` the script starts a throwaway MariaDB from the local binaries (a temporary data
directory in /dev/shm, or on disk with ``--disk``; 127.0.0.1 and a free port) and stops it
at the end. The URL's user must be allowed to create and drop databases.

The history is migrate_sqlite.py's (neutral.py, seed 1). It prints the median wall time of:

- ours: connect, build a ``MigrationExecutor`` and ``migrate()`` every migration onto a
  fresh database (run lock, plan, render, run statement by statement, a progress row
  after each, record);
- the floor: exactly the migrations' statements and recorder rows our run executed,
  through PyMySQL directly on a fresh database (autocommit: MySQL commits DDL by itself
  anyway); and our ratio to it (goal: at most 1.3x). A second floor adds the progress
  rows, which splits our overhead into "progress records" and "everything else";
- Django's ``MigrationExecutor.migrate`` on the same history (Django installed, PyMySQL
  standing in for mysqlclient), and our ratio to it.

Nothing is asserted: this is a script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pymysql
from migrate_sqlite import history_file
from neutral import django_history, load_history, noop

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.shell.backends.mysql import MysqlBackend
from reinhardt_migrations.shell.executor import MigrateResult, MigrationExecutor
from reinhardt_migrations.shell.progress import ProgressStore
from reinhardt_migrations.shell.recorder import create_table_sql

__all__ = ["main", "run_django", "run_floor", "run_ours", "throwaway_server"]

_DATABASE = "reinhardt_bench"
_PROGRESS = "reinhardt_migrations_progress"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_server(*, disk: bool) -> Iterator[str]:
    """Start MariaDB in a temporary data directory; yield a root URL on 127.0.0.1."""
    mysqld = shutil.which("mariadbd", path="/usr/sbin:" + os.environ.get("PATH", "")) or "mysqld"
    install = shutil.which("mariadb-install-db") or "mysql_install_db"
    base = tempfile.mkdtemp(
        prefix="reinhardt-bench-mysql-", dir=None if disk or not os.path.isdir("/dev/shm") else "/dev/shm"
    )
    data, sock, port = os.path.join(base, "data"), os.path.join(base, "mysql.sock"), _free_port()
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal", *user],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            mysqld, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
            "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            f"--pid-file={os.path.join(base, 'mysql.pid')}", *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                admin = pymysql.connect(unix_socket=sock, user="root", autocommit=True)
                break
            except pymysql.MySQLError:
                time.sleep(0.1)
        else:
            raise RuntimeError("MariaDB did not start")
        with admin.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
        admin.close()
        yield f"mysql://root@127.0.0.1:{port}/mysql"
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _fresh(url: str) -> str:
    """Drop and create the benchmark database; return its URL."""
    parts = urlsplit(url)
    admin = pymysql.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username, password=parts.password or "",
        autocommit=True,
    )  # fmt: skip
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{_DATABASE}`")
        cursor.execute(f"CREATE DATABASE `{_DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    admin.close()
    return _database_url(url, _DATABASE)


def run_ours(migrations: list[Migration], url: str) -> tuple[float, MigrateResult]:
    """Return the seconds to connect, build an executor and migrate everything onto ``url``; the result."""
    started = time.perf_counter()
    backend = MysqlBackend(url)
    executor = MigrationExecutor(backend, migrations, resolve_code=lambda _path: noop)
    result = executor.migrate()
    backend.close()
    return time.perf_counter() - started, result


def run_floor(statements: list[Statement], url: str) -> float:
    """Return the seconds to run ``statements`` through PyMySQL directly (autocommit)."""
    parts = urlsplit(url)
    started = time.perf_counter()
    conn = pymysql.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username, password=parts.password or "",
        database=parts.path.lstrip("/"), autocommit=True, charset="utf8mb4",
    )  # fmt: skip
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.sql, statement.params or None)
    conn.close()
    return time.perf_counter() - started


def run_django(url: str, history: str) -> float:
    """Return the seconds Django's executor takes to migrate the history onto the database at ``url``."""
    from django.db import connection  # type: ignore[import-untyped,unused-ignore]
    from django.db.migrations.executor import (  # type: ignore[import-untyped,unused-ignore]
        MigrationExecutor as DjangoExecutor,
    )
    from django.db.migrations.graph import (  # type: ignore[import-untyped,unused-ignore]
        MigrationGraph as DjangoGraph,
    )

    migrations = django_history(history)
    connection.close()
    started = time.perf_counter()
    executor = DjangoExecutor(connection)
    graph = DjangoGraph()
    for migration in migrations:
        graph.add_node((migration.app_label, migration.name), migration)
    for migration in migrations:
        for dependency in migration.dependencies:
            graph.add_dependency(migration, (migration.app_label, migration.name), dependency)
    executor.loader.graph = graph
    executor.loader.applied_migrations = {}
    executor.loader.replacements = {}
    targets = graph.leaf_nodes()
    executor.migrate(targets, plan=executor.migration_plan(targets))
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def _configure_django(url: str) -> bool:
    """Point Django's default database at ``url`` (PyMySQL standing in for mysqlclient)."""
    try:
        import django  # type: ignore[import-untyped,unused-ignore]
        from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return False
    pymysql.install_as_MySQLdb()
    parts = urlsplit(url)
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=[],
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.mysql",
                    "NAME": _DATABASE,
                    "HOST": parts.hostname,
                    "PORT": parts.port or 3306,
                    "USER": parts.username,
                    "PASSWORD": parts.password or "",
                    "OPTIONS": {"charset": "utf8mb4"},
                }
            },
            USE_TZ=True,
        )
        django.setup()
    return True


def _median(runs: int, once: Callable[[], float]) -> tuple[float, list[float]]:
    times = [once() for _ in range(runs)]
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a MariaDB/MySQL server to use (default: start a throwaway one)")
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--disk", action="store_true", help="put the throwaway server's data on disk")
    parser.add_argument("--django-runs", type=int, default=1, help="0 skips Django")
    parser.add_argument("--profile", action="store_true", help="print our hot spots (one extra run)")
    args = parser.parse_args(argv)

    history = history_file(args.apps, args.models, args.migrations)
    migrations, summary = load_history(history)
    print(
        f"history: {history}\n  {summary['migrations']} migrations, {summary['operations']} operations, "
        f"skipped {summary['skipped'] or 'nothing'}"
    )
    with throwaway_server(disk=args.disk) if args.url is None else _given(args.url) as url:
        backend = MysqlBackend(_fresh(url))
        print(f"server: {backend.version} ({'disk' if args.disk or args.url else 'tmpfs'} data directory)")
        backend.close()
        results: list[MigrateResult] = []

        def ours() -> float:
            seconds, result = run_ours(migrations, _fresh(url))
            results.append(result)
            return seconds

        ours_median, ours_times = _median(args.runs, ours)
        statements = list(results[-1].statements)
        progress = [s for s in statements if _PROGRESS in s.sql]
        plain = [s for s in statements if _PROGRESS not in s.sql]
        print(f"ours:   median {ours_median:.3f} s of {[round(t, 3) for t in ours_times]}")
        print(
            f"        {len(results[-1].steps)} migrations, {len(plain)} statements (recorder rows included) "
            f"+ {len(progress)} progress records"
        )
        # The executor creates the recorder and progress tables before the first migration.
        dialect = dialect_for("mysql")
        recorder_table = create_table_sql(dialect)
        progress_table = ProgressStore(_NoBackend(), _PROGRESS).create_statement()
        plain = [recorder_table, *plain]
        statements = [recorder_table, progress_table, *statements]
        floor_median, floor_times = _median(args.runs, lambda: run_floor(plain, _fresh(url)))
        shown = [round(t, 3) for t in floor_times]
        print(f"floor:  median {floor_median:.3f} s of {shown} (same statements, PyMySQL)")
        with_progress, _ = _median(args.runs, lambda: run_floor(statements, _fresh(url)))
        print(f"floor + progress records: median {with_progress:.3f} s")
        print(f"ratio ours / floor: {ours_median / floor_median:.2f}x (goal: at most 1.3x)")
        print(
            f"  of which progress records {with_progress / floor_median:.2f}x, "
            f"the rest (planning, rendering, round trips) {ours_median / with_progress:.2f}x"
        )

        def planning() -> float:
            started = time.perf_counter()
            state = ProjectState()
            for migration in migrations:
                state = dialect.plan_migration(migration, state).after
            return time.perf_counter() - started

        plan_median, _ = _median(args.runs, planning)
        print(
            f"  pure planning alone (states, table diffs, SQL text): median {plan_median:.3f} s, "
            f"so ours without it is {(ours_median - plan_median) / floor_median:.2f}x the floor"
        )

        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run_ours(migrations, _fresh(url))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        if args.django_runs <= 0:
            print("django: skipped (--django-runs 0)")
            return
        if not _configure_django(url):
            print("django: not installed, skipped (pip install 'reinhardt-migrations[bench]')")
            return

        def django_once() -> float:
            _fresh(url)
            return run_django(url, history)

        try:
            django_median, django_times = _median(args.django_runs, django_once)
        except Exception as error:  # Django's own MySQL limits (key length, say) end its run
            print(f"django: failed on this history: {type(error).__name__}: {error}")
            return
        print(f"django: median {django_median:.3f} s of {[round(t, 3) for t in django_times]}")
        print(f"ratio django / ours: {django_median / ours_median:.1f}x faster")


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


class _NoBackend:
    """Enough of a backend for ProgressStore to render its CREATE TABLE (nothing runs)."""

    dialect = "mysql"


if __name__ == "__main__":
    main()

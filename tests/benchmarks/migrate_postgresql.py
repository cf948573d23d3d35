"""Benchmark: ``migrate`` the SQLite benchmark's history onto a fresh PostgreSQL database; the psycopg floor.

Run with ``python tests/benchmarks/migrate_postgresql.py [--url postgresql://user@host:port/postgres]
[--apps 5 --models 300 --migrations 1000] [--runs 3] [--no-fsync]``. Without ``--url``
the script starts a throwaway server from the local PostgreSQL binaries (as
tests/conftest.py does: a temporary data directory, 127.0.0.1 and a free port; durable
unless ``--no-fsync``), and stops it at the end. The URL names a database to connect
to for creating the per-run databases (``DROP``/``CREATE DATABASE``), so its user must
be allowed to create them.

The history is migrate_sqlite.py's (neutral.py, seed 1). It prints the median wall time of:

- ours: connect, build a ``MigrationExecutor`` and ``migrate()`` every migration onto a
  fresh database (run lock, plan, render, run, record: one transaction per migration);
- the floor: exactly the statements our run executed (recorder rows included), each
  migration's in one transaction, through psycopg directly on a fresh database
  (autocommit connection, ``BEGIN``/``COMMIT``); and our ratio to it (goal: at most 1.3x).

Nothing is asserted: this is a script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import os
import pstats
import pwd
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from migrate_sqlite import history_file
from neutral import load_history, noop

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends.postgresql import PostgresqlBackend
from reinhardt_migrations.shell.executor import MigrateResult, MigrationExecutor
from reinhardt_migrations.shell.recorder import create_table_sql

__all__ = ["main", "run_floor", "run_ours", "throwaway_server"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_server(*, durable: bool = True) -> Iterator[str]:
    """Start PostgreSQL from the local binaries in a temporary directory; yield its admin URL."""
    found = shutil.which("pg_ctl") or max(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), default=None)
    if found is None:
        sys.exit("pg_ctl not found: install PostgreSQL or pass --url")
    bin_dir = os.path.dirname(found)
    base = tempfile.mkdtemp(prefix="reinhardt-bench-postgresql-")
    data = os.path.join(base, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses root: run it as the postgres OS user
        owner = pwd.getpwnam("postgres")
        os.chmod(base, 0o755)
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups", "--"]
    port = _free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {shlex.quote(base)}"
    if not durable:  # as tests/conftest.py runs it
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    quiet = {"stdout": subprocess.DEVNULL, "check": True, "cwd": "/"}
    try:
        subprocess.run([*as_user, f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "-A", "trust"], **quiet)
        start = [*as_user, f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l", f"{base}/log", "-w", "start"]
        subprocess.run(start, **quiet)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "stop"], **quiet)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create the database ``name``; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def run_ours(migrations: list[Migration], url: str) -> tuple[float, MigrateResult]:
    """Return the seconds to connect, build an executor and migrate everything, and the result."""
    started = time.perf_counter()
    backend = PostgresqlBackend(url)
    executor = MigrationExecutor(backend, migrations, resolve_code=lambda _path: noop)
    result = executor.migrate()
    backend.close()
    return time.perf_counter() - started, result


def run_floor(batches: list[tuple[Statement, ...]], url: str) -> float:
    """Return the seconds to run ``batches`` (one transaction each) with psycopg directly."""
    started = time.perf_counter()
    conn = psycopg.connect(url, autocommit=True, prepare_threshold=None)
    for batch in batches:
        conn.execute("BEGIN")
        for statement in batch:
            conn.execute(statement.sql, statement.params or None)  # type: ignore[arg-type]
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _batches(result: MigrateResult) -> list[tuple[Statement, ...]]:
    # The recorder table is created once, in its own transaction, before the first migration.
    return [(create_table_sql(dialect_for("postgresql")),), *(step.statements for step in result.steps)]


def measure(admin_url: str, args: argparse.Namespace) -> None:
    """Run ours and the floor in turns, on fresh databases of the server behind ``admin_url``."""
    history = history_file(args.apps, args.models, args.migrations)
    migrations, summary = load_history(history)
    print(
        f"history: {history}\n  {summary['migrations']} migrations, {summary['operations']} operations, "
        f"{len(summary['final_models'])} final models, skipped {summary['skipped'] or 'nothing'}"
    )
    with psycopg.connect(admin_url) as conn:
        print(f"server: {conn.execute('SELECT version()').fetchone()}")
    # One run of ours first, for the statements; then ours and the floor take turns, so a
    # busy machine slows both alike.
    seconds, last = run_ours(migrations, fresh_database(admin_url, "bench_ours"))
    batches = _batches(last)
    ours_times, floor_times = [seconds], []
    for run in range(args.runs):
        floor_times.append(run_floor(batches, fresh_database(admin_url, "bench_floor")))
        if run + 1 < args.runs:
            ours_times.append(run_ours(migrations, fresh_database(admin_url, "bench_ours"))[0])
    ours_median, floor_median = statistics.median(ours_times), statistics.median(floor_times)
    print(f"ours:   median {ours_median:.3f} s of {[round(t, 3) for t in ours_times]}")
    print(f"        {len(last.steps)} migrations, {len(last.statements)} statements (recorder rows included)")
    shown = [round(t, 3) for t in floor_times]
    print(f"floor:  median {floor_median:.3f} s of {shown} (same statements, psycopg)")
    print(f"ratio ours / floor: {ours_median / floor_median:.2f}x (goal: at most 1.3x)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_ours(migrations, fresh_database(admin_url, "bench_profile"))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a server's URL (default: start a throwaway server)")
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print our hot spots (one extra run)")
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="start the throwaway server without durability, as the tests do",
    )
    args = parser.parse_args(argv)
    if args.url:
        measure(args.url, args)
        return
    with throwaway_server(durable=not args.no_fsync) as url:
        measure(url, args)


if __name__ == "__main__":
    main()

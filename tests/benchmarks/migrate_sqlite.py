"""Benchmark: ``migrate`` a generated history onto a fresh SQLite file; the sqlite3 floor; Django.

Run with ``python tests/benchmarks/migrate_sqlite.py [--apps 5 --models 300 --migrations 1000]
[--runs 3] [--django-runs 1]``. The history comes from ../shared/bench/gen_history.py
(seed 1, cached in /tmp/reinhardt-bench-histories) through neutral.py. It prints the
median wall time of:

- ours: build a ``MigrationExecutor`` and ``migrate()`` every migration onto a fresh
  file (plan, render, run, record, one transaction per migration);
- the floor: exactly the statements our run executed (recorder rows included), each
  migration's between ``BEGIN`` and ``COMMIT``, through the sqlite3 module directly on
  a fresh file; and our ratio to it;
- Django's ``MigrationExecutor.migrate`` on the same history (Django installed), and
  our ratio to it.

Nothing is asserted: this is a script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from neutral import django_history, load_history, noop

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.executor import MigrateResult, MigrationExecutor
from reinhardt_migrations.shell.recorder import create_table_sql

__all__ = ["main", "run_django", "run_floor", "run_ours"]

_GENERATOR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench", "gen_history.py"
)
_CACHE = os.environ.get("REINHARDT_BENCH_HISTORIES", os.path.join("/tmp", "reinhardt-bench-histories"))


def history_file(apps: int, models: int, migrations: int) -> str:
    """Return the path of the neutral history of these sizes (seed 1), generating it once."""
    path = os.path.join(_CACHE, f"migrate-a{apps}-m{models}-g{migrations}-s1.json")
    if not os.path.exists(path):
        os.makedirs(_CACHE, exist_ok=True)
        generator = os.environ.get("REINHARDT_BENCH_GENERATOR", _GENERATOR)
        command = [sys.executable, generator, "--apps", str(apps), "--models", str(models)]
        command += ["--migrations", str(migrations), "--seed", "1", "--quiet", "-o", path + ".tmp"]
        subprocess.run(command, check=True)
        os.replace(path + ".tmp", path)
    return path


def _fresh(directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def run_ours(migrations: list[Migration], path: str) -> tuple[float, MigrateResult]:
    """Return the seconds to build an executor and migrate everything onto ``path``, and the result."""
    started = time.perf_counter()
    backend = SqliteBackend(path)
    executor = MigrationExecutor(backend, migrations, resolve_code=lambda _path: noop)
    result = executor.migrate()
    backend.close()
    return time.perf_counter() - started, result


def run_floor(batches: list[tuple[Statement, ...]], path: str) -> float:
    """Return the seconds to run ``batches`` (one transaction each) with sqlite3 directly."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    for batch in batches:
        conn.execute("BEGIN")
        for statement in batch:
            conn.execute(statement.sql, statement.params)
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def run_django(path: str, history: str) -> float:
    """Return the seconds Django's executor takes to migrate the history onto the file ``path``."""
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
    graph.validate_consistency()
    executor.loader.graph = graph
    executor.loader.applied_migrations = {}
    executor.loader.replacements = {}
    targets = graph.leaf_nodes()
    executor.migrate(targets, plan=executor.migration_plan(targets))
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def _configure_django(path: str) -> bool:
    """Point Django's default database at ``path`` before neutral.py configures it."""
    try:
        import django  # type: ignore[import-untyped,unused-ignore]
        from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return False
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=[],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": path}},
            USE_TZ=True,
        )
        django.setup()
    return True


def _median(runs: int, once: Callable[[], float]) -> tuple[float, list[float]]:
    times = [once() for _ in range(runs)]
    return statistics.median(times), times


def _batches(result: MigrateResult) -> list[tuple[Statement, ...]]:
    # The recorder table is created once, in its own transaction, before the first migration.
    return [(create_table_sql(dialect_for("sqlite")),), *(step.statements for step in result.steps)]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--django-runs", type=int, default=1, help="0 skips Django (about a minute a run)")
    parser.add_argument("--profile", action="store_true", help="print our hot spots (one extra run)")
    args = parser.parse_args(argv)

    history = history_file(args.apps, args.models, args.migrations)
    migrations, summary = load_history(history)
    print(
        f"history: {history}\n  {summary['migrations']} migrations, {summary['operations']} operations, "
        f"{len(summary['final_models'])} final models, skipped {summary['skipped'] or 'nothing'}"
    )
    with tempfile.TemporaryDirectory(prefix="reinhardt-bench-") as directory:
        results: list[MigrateResult] = []

        def ours() -> float:
            seconds, result = run_ours(migrations, _fresh(directory, "ours.sqlite3"))
            results.append(result)
            return seconds

        ours_median, ours_times = _median(args.runs, ours)
        last = results[-1]
        statements = len(last.statements)
        print(f"ours:   median {ours_median:.3f} s of {[round(t, 3) for t in ours_times]}")
        print(f"        {len(last.steps)} migrations, {statements} statements (recorder rows included)")

        batches = _batches(last)
        floor_median, floor_times = _median(
            args.runs, lambda: run_floor(batches, _fresh(directory, "floor.sqlite3"))
        )
        shown = [round(t, 3) for t in floor_times]
        print(f"floor:  median {floor_median:.3f} s of {shown} (same statements, sqlite3)")
        print(f"ratio ours / floor: {ours_median / floor_median:.2f}x (goal: at most 1.3x)")

        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run_ours(migrations, _fresh(directory, "profile.sqlite3"))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        if args.django_runs <= 0:
            print("django: skipped (--django-runs 0)")
            return
        django_path = os.path.join(directory, "django.sqlite3")
        if not _configure_django(django_path):
            print("django: not installed, skipped (pip install 'reinhardt-migrations[bench]')")
            return

        def django_once() -> float:
            _fresh(directory, "django.sqlite3")
            return run_django(django_path, history)

        django_median, django_times = _median(args.django_runs, django_once)
        print(f"django: median {django_median:.3f} s of {[round(t, 3) for t in django_times]}")
        print(f"ratio django / ours: {django_median / ours_median:.1f}x (ours is that many times faster)")


if __name__ == "__main__":
    main()

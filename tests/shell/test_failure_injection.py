"""Failures in the middle of a migration leave the database and the recorder as they were.

Two kinds: a statement that fails (the third of a migration, or a foreign key check),
and a real process killed with SIGKILL while a migration's transaction is open.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, AddIndex, AlterField, CreateModel, RunSQL
from reinhardt_migrations.pure.types import AutoField, BigInteger, Integer, Text, Varchar
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import DatabaseError, ForeignKeyViolation
from reinhardt_migrations.shell.executor import MigrationExecutor
from reinhardt_migrations.shell.recorder import DEFAULT_TABLE

ID = FieldState("id", AutoField(), primary_key=True)
INITIAL = Migration(
    "0001_initial",
    "shop",
    operations=[
        CreateModel("shop", "Customer", [ID, FieldState("name", Varchar(40))]),
        CreateModel(
            "shop",
            "Order",
            [
                ID,
                FieldState("total", Integer()),
                FieldState(
                    "customer",
                    BigInteger(),
                    relation=Relation("foreign_key", ("shop", "Customer"), on_delete="DO_NOTHING"),
                ),
            ],
        ),
    ],
    initial=True,
)


def _snapshot(path: Path) -> dict[str, Any]:
    """Return everything a migration could change: schema SQL, every table's rows, the recorder."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        tables = [row[1] for row in schema if row[0] == "table"]
        rows = {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr) for table in tables
        }
        return {"schema": schema, "rows": rows}
    finally:
        conn.close()


def _prepared(tmp_path: Path) -> tuple[Path, SqliteBackend]:
    path = tmp_path / "db.sqlite3"
    backend = SqliteBackend(str(path))
    MigrationExecutor(backend, [INITIAL]).migrate()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO shop_customer (id, name) VALUES (1, 'Ann'), (2, 'Bob')")
    conn.execute('INSERT INTO "shop_order" (id, total, customer_id) VALUES (1, 5, 1), (2, 7, 2), (3, 9, 1)')
    conn.commit()
    conn.close()
    return path, backend


def test_a_migration_whose_third_statement_fails_leaves_no_trace(tmp_path: Path) -> None:
    path, backend = _prepared(tmp_path)
    before = _snapshot(path)
    failing = Migration(
        "0002_fails",
        "shop",
        dependencies=[INITIAL.key],
        operations=[
            AddField("shop", "Customer", FieldState("email", Varchar(80), null=True)),
            AddIndex("shop", "Customer", IndexState("customer_name_idx", ["name"])),
            RunSQL("INSERT INTO shop_customer (id, name) VALUES (1, 'duplicate id')"),
            AddField("shop", "Order", FieldState("note", Text(), null=True)),
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, failing])
    (step,) = executor.preview()
    assert len(step.statements) >= 3
    assert "duplicate id" in step.statements[2].sql, "the failing statement is the third one"
    with pytest.raises(DatabaseError) as raised:
        executor.migrate()
    assert raised.value.migration == "shop.0002_fails"
    assert "UNIQUE" in str(raised.value)
    assert _snapshot(path) == before
    backend.close()


def test_a_failure_late_in_a_table_rebuild_leaves_no_trace(tmp_path: Path) -> None:
    path, backend = _prepared(tmp_path)
    before = _snapshot(path)
    failing = Migration(
        "0002_rebuild_then_fail",
        "shop",
        dependencies=[INITIAL.key],
        operations=[
            AlterField("shop", "Order", "total", FieldState("total", BigInteger(), unique=True, default=0)),
            AlterField("shop", "Customer", "name", FieldState("name", Text())),
            RunSQL("SELECT * FROM table_that_is_not_there"),
        ],
    )
    with pytest.raises(DatabaseError):
        MigrationExecutor(backend, [INITIAL, failing]).migrate()
    assert _snapshot(path) == before
    backend.close()


def test_rows_left_dangling_by_a_migration_roll_it_back(tmp_path: Path) -> None:
    path, backend = _prepared(tmp_path)
    before = _snapshot(path)
    dangling = Migration(
        "0002_dangling",
        "shop",
        dependencies=[INITIAL.key],
        operations=[
            AddField("shop", "Customer", FieldState("email", Varchar(80), null=True)),
            RunSQL("DELETE FROM shop_customer WHERE id = 2", reverse_sql="SELECT 1"),
        ],
    )
    with pytest.raises(DatabaseError) as raised:
        MigrationExecutor(backend, [INITIAL, dangling]).migrate()
    assert raised.value.migration == "shop.0002_dangling"
    assert "FOREIGN KEY" in str(raised.value)
    assert _snapshot(path) == before
    backend.close()


# -- a real process, killed -------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys, time

    from reinhardt_migrations.pure.fields import FieldState
    from reinhardt_migrations.pure.migration import Migration
    from reinhardt_migrations.pure.operations import AddField, CreateModel, RunCode, RunSQL
    from reinhardt_migrations.pure.types import AutoField, Integer, Text
    from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
    from reinhardt_migrations.shell.executor import MigrationExecutor

    path, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


    def slow(connection, state):
        # Inside the migration's transaction: say so, then take a while.
        print("inside", flush=True)
        time.sleep(pause)


    def resolve(dotted):
        return slow


    migrations = [
        Migration(
            "0001_initial",
            "load",
            operations=[CreateModel("load", "Item", [FieldState("id", AutoField(), primary_key=True)])],
        )
    ]
    for number in range(2, count + 2):
        migrations.append(
            Migration(
                f"{number:04d}_step",
                "load",
                dependencies=[migrations[-1].key],
                operations=[
                    AddField("load", "Item", FieldState(f"c{number}", Text(), default="x")),
                    RunSQL("INSERT INTO load_item DEFAULT VALUES", reverse_sql="SELECT 1"),
                    RunCode("child.slow", "child.slow"),
                    AddField("load", "Item", FieldState(f"d{number}", Integer(), null=True)),
                ],
            )
        )


    def report(event):
        print(event.phase, event.key[1], flush=True)


    backend = SqliteBackend(path)
    MigrationExecutor(backend, migrations, resolve_code=resolve).migrate(progress=report)
    print("finished", flush=True)
    """
)


def _kill_child(tmp_path: Path, kill_after: str, extra_delay: float) -> Path:
    """Run the child migrating 30 slow migrations; SIGKILL it once ``kill_after`` lines were seen."""
    script = tmp_path / "child_runner.py"
    script.write_text(_CHILD)
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen(
        [sys.executable, str(script), str(path), "30", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    try:
        for line in child.stdout:
            if line.split()[:1] == [kill_after]:
                seen += 1
                if seen == 5:
                    time.sleep(extra_delay)
                    os.kill(child.pid, signal.SIGKILL)
                    break
            assert time.monotonic() < deadline, "the child took too long"
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    return path


def _assert_consistent(path: Path) -> int:
    """Check every migration is applied and recorded, or neither; return how many are applied."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        columns = {row[1] for row in conn.execute('PRAGMA table_info("load_item")')}
        recorded = {row[0] for row in conn.execute(f'SELECT name FROM "{DEFAULT_TABLE}"')}
        rows = conn.execute("SELECT count(*) FROM load_item").fetchone()[0]
    finally:
        conn.close()
    applied_steps = 0
    for number in range(2, 32):
        name = f"{number:04d}_step"
        has_columns = f"c{number}" in columns, f"d{number}" in columns
        assert has_columns in ((True, True), (False, False)), f"{name} is half applied: {has_columns}"
        assert has_columns[0] == (name in recorded), f"{name}: schema and recorder disagree"
        applied_steps += has_columns[0]
    assert rows == applied_steps, "each applied migration inserted exactly one row"
    return applied_steps


def test_a_process_killed_inside_a_migration_leaves_it_unapplied_and_unrecorded(tmp_path: Path) -> None:
    path = _kill_child(tmp_path, "inside", 0.0)
    applied = _assert_consistent(path)
    # Killed inside the fifth step's transaction: the four before it are committed.
    assert applied == 4
    # And the database is usable: a new run finishes the job.
    backend = SqliteBackend(str(path))
    assert backend.query("PRAGMA foreign_keys") == [(1,)]
    backend.close()


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06])
def test_a_process_killed_at_any_moment_leaves_database_and_recorder_agreeing(
    tmp_path: Path, delay: float
) -> None:
    path = _kill_child(tmp_path, "start", delay)
    applied = _assert_consistent(path)
    # The fifth "start" is 0005_step's (0001_initial starts first): 0002-0004 are done by then.
    assert 3 <= applied <= 5


def test_rows_left_dangling_while_foreign_keys_are_off_for_a_rebuild_roll_it_back(tmp_path: Path) -> None:
    path, backend = _prepared(tmp_path)
    before = _snapshot(path)
    dangling = Migration(
        "0002_rebuild_and_delete",
        "shop",
        dependencies=[INITIAL.key],
        operations=[
            # A type change rebuilds the table, so the plan runs with foreign keys off ...
            AlterField("shop", "Customer", "name", FieldState("name", Text())),
            # ... and only the final PRAGMA foreign_key_check can see this.
            RunSQL("DELETE FROM shop_customer WHERE id = 2", reverse_sql="SELECT 1"),
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, dangling])
    (step,) = executor.preview()
    assert any(s.sql.startswith("PRAGMA foreign_keys = OFF") for s in step.statements)
    with pytest.raises(ForeignKeyViolation) as raised:
        executor.migrate()
    assert raised.value.migration == "shop.0002_rebuild_and_delete"
    assert raised.value.violations[0][0] == "shop_order"
    assert _snapshot(path) == before
    assert backend.query("PRAGMA foreign_keys") == [(1,)], "teardown ran after the failure"
    backend.close()

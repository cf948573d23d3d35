"""The executor on a real PostgreSQL server: failures leave nothing, runs in two processes, non-atomic plans.

The concurrency tests start two real ``python`` processes that run ``migrate`` on the
same database at the same moment; each migration writes a row to a log table, so the
log shows how often each one ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddField,
    AddIndexConcurrently,
    CreateModel,
    RunSQL,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.types import BigAutoField, BigInteger, Integer, Varchar
from reinhardt_migrations.shell.backends.postgresql import PostgresqlBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import MigrationExecutor
from reinhardt_migrations.shell.recorder import DEFAULT_TABLE

ID = FieldState("id", BigAutoField(), primary_key=True)
INITIAL = Migration(
    "0001_initial",
    "shop",
    operations=[
        CreateModel("shop", "Author", [ID, FieldState("name", Varchar(50))]),
        CreateModel(
            "shop",
            "Book",
            [ID, FieldState("author", BigInteger(), relation=Relation("foreign_key", "shop.Author"))],
        ),
    ],
    initial=True,
)


@pytest.fixture
def backend(postgresql_url: str) -> Iterator[PostgresqlBackend]:
    opened = PostgresqlBackend(postgresql_url)
    yield opened
    opened.close()


def snapshot(backend: PostgresqlBackend) -> tuple[object, ...]:
    """Return the whole schema and the recorder's rows."""
    recorded = backend.query(f"SELECT app, name FROM {DEFAULT_TABLE} ORDER BY app, name")
    return (backend.catalog(), recorded)


# -- failures ----------------------------------------------------------------------------------


def test_a_statement_failing_midway_leaves_schema_and_recorder_as_they_were(
    backend: PostgresqlBackend,
) -> None:
    MigrationExecutor(backend, [INITIAL]).migrate()
    before = snapshot(backend)
    broken = Migration(
        "0002_broken",
        "shop",
        [("shop", "0001_initial")],
        [
            AddField("shop", "Book", FieldState("pages", Integer(), null=True)),
            CreateModel("shop", "Shelf", [ID]),
            RunSQL("SELECT 1 / 0"),
            AddField("shop", "Author", FieldState("age", Integer(), null=True)),
        ],
    )
    with pytest.raises(DatabaseError) as raised:
        MigrationExecutor(backend, [INITIAL, broken]).migrate()
    error = raised.value
    assert error.migration == "shop.0002_broken"
    assert error.operation.startswith("#3 (Raw SQL operation: SELECT 1 / 0)")
    assert error.statement == "SELECT 1 / 0"
    assert "division by zero" in str(error)
    assert "rolled back: nothing of it is applied or recorded" in str(error)
    assert snapshot(backend) == before


def test_a_foreign_key_broken_by_a_migration_fails_at_commit_and_leaves_nothing(
    backend: PostgresqlBackend,
) -> None:
    MigrationExecutor(backend, [INITIAL]).migrate()
    before = snapshot(backend)
    dangling = Migration(
        "0002_rows",
        "shop",
        [("shop", "0001_initial")],
        [RunSQL("INSERT INTO shop_book (author_id) VALUES (7)")],
    )
    with pytest.raises(DatabaseError) as raised:
        MigrationExecutor(backend, [INITIAL, dangling]).migrate()
    assert raised.value.statement == "COMMIT"
    assert raised.value.migration == "shop.0002_rows"
    assert snapshot(backend) == before


def test_a_failed_concurrent_build_is_reported_and_a_rerun_finishes_it(
    backend: PostgresqlBackend, postgresql_url: str
) -> None:
    MigrationExecutor(backend, [INITIAL]).migrate()
    with psycopg.connect(postgresql_url, autocommit=True) as other:
        other.execute("INSERT INTO shop_author (name) VALUES ('same'), ('same')")
        index = IndexState("author_name", ["name"], unique=True)
        build = Migration(
            "0002_index", "shop", [("shop", "0001_initial")], [AddIndexConcurrently("shop", "Author", index)]
        )
        with pytest.raises(DatabaseError) as raised:
            MigrationExecutor(backend, [INITIAL, build]).migrate()
        assert "could not create unique index" in str(raised.value)
        assert "not atomic" in str(raised.value)
        # PostgreSQL leaves the failed build behind as an invalid index.
        assert other.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'author_name'::regclass"
        ).fetchall() == [(False,)]
        other.execute("UPDATE shop_author SET name = name || id")
        result = MigrationExecutor(backend, [INITIAL, build]).migrate()
        assert result.applied == (("shop", "0002_index"),)
        assert other.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'author_name'::regclass"
        ).fetchall() == [(True,)]


def test_fake_initial_records_an_initial_migration_whose_tables_exist(backend: PostgresqlBackend) -> None:
    MigrationExecutor(backend, [INITIAL]).migrate()
    backend.execute([Statement(f"DELETE FROM {DEFAULT_TABLE}")])
    result = MigrationExecutor(backend, [INITIAL]).migrate(fake_initial=True)
    assert [(step.key, step.faked) for step in result.steps] == [(("shop", "0001_initial"), True)]


# -- two processes -----------------------------------------------------------------------------

_RUNNER = """
import json, sys, time
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel, RunSQL
from reinhardt_migrations.pure.types import BigAutoField
from reinhardt_migrations.shell.backends import connect
from reinhardt_migrations.shell.errors import MigrationError
from reinhardt_migrations.shell.executor import MigrationExecutor

url, start_at, sleep = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
migrations, previous = [], []
for number in range(1, 4):
    name = f"{number:04d}"
    operations = [
        CreateModel("race", f"Model{number}", [FieldState("id", BigAutoField(), primary_key=True)]),
        RunSQL(f"INSERT INTO race_log (migration) VALUES ('{name}')"),
        RunSQL(f"SELECT pg_sleep({sleep})"),
    ]
    migrations.append(Migration(name, "race", previous, operations))
    previous = [("race", name)]
backend = connect(url)
while time.time() < start_at:
    time.sleep(0.001)
try:
    result = MigrationExecutor(backend, migrations).migrate()
except MigrationError as error:
    print(json.dumps({"error": str(error)}))
    sys.exit(1)
print(json.dumps({"applied": [name for _app, name in result.applied]}))
"""


def race(
    url: str, *, sleep: float, second_url: str | None = None, head_start: float = 0.0
) -> list[tuple[int, dict[str, object]]]:
    """Start two processes running migrate at one moment (the first ``head_start`` s earlier)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE race_log (migration text NOT NULL)")
    start_at = time.time() + 1.5  # both are connected and waiting by then
    runs = [(url, start_at), (second_url or url, start_at + head_start)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RUNNER, process_url, str(moment), str(sleep)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for process_url, moment in runs
    ]
    outcomes = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=60)
        assert stdout.strip(), stderr
        outcomes.append((process.returncode, json.loads(stdout.strip().splitlines()[-1])))
    return outcomes


def test_two_processes_migrating_at_once_apply_each_migration_exactly_once(postgresql_url: str) -> None:
    outcomes = race(postgresql_url, sleep=0.2)
    assert [code for code, _report in outcomes] == [0, 0]
    applied = [report["applied"] for _code, report in outcomes]
    assert sorted(applied, key=len) == [
        [],
        ["0001", "0002", "0003"],
    ]  # the loser waited, then had nothing to do
    with psycopg.connect(postgresql_url) as conn:
        log = conn.execute(
            "SELECT migration, count(*) FROM race_log GROUP BY migration ORDER BY 1"
        ).fetchall()
        recorded = conn.execute(f"SELECT name FROM {DEFAULT_TABLE} ORDER BY name").fetchall()
    assert log == [("0001", 1), ("0002", 1), ("0003", 1)]
    assert recorded == [("0001",), ("0002",), ("0003",)]


def test_a_run_that_waits_too_long_names_the_holder_and_runs_nothing(postgresql_url: str) -> None:
    impatient = postgresql_url + "?lock_timeout=0.5"
    outcomes = race(postgresql_url, sleep=1.0, second_url=impatient, head_start=0.3)
    (winner_code, winner), (loser_code, loser) = outcomes
    assert (winner_code, loser_code) == (0, 1)
    assert winner["applied"] == ["0001", "0002", "0003"]
    message = str(loser["error"])
    assert message.startswith("Another migrate run holds the run lock of")
    assert "application 'reinhardt-migrations'" in message
    assert "Nothing was run." in message
    with psycopg.connect(postgresql_url) as conn:
        log = conn.execute(
            "SELECT migration, count(*) FROM race_log GROUP BY migration ORDER BY 1"
        ).fetchall()
    assert log == [("0001", 1), ("0002", 1), ("0003", 1)]

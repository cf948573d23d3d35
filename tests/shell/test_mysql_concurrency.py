"""Two real processes run ``migrate`` on one MariaDB/MySQL database at once.

The run lock (``GET_LOCK``) lets one process run its plan while the other waits; the
waiter then reads the recorder and finds nothing left to do. Each migration is applied
exactly once. A waiter with a short ``lock_timeout`` reports who holds the lock instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from reinhardt_migrations.shell.backends.mysql import MysqlBackend

# Each process builds the same three migrations; SLEEP widens the window in which the
# second process would start the same migration if nothing kept it out.
SCRIPT = """
import json, sys, time
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, CreateModel, RunSQL
from reinhardt_migrations.pure.types import AutoField, Integer
from reinhardt_migrations.shell.backends import connect
from reinhardt_migrations.shell.executor import MigrationExecutor

url, start_at = sys.argv[1], float(sys.argv[2])
ID = FieldState("id", AutoField(), primary_key=True)
SLEEP = RunSQL("SELECT SLEEP(0.4)")
LAP = CreateModel("race", "Lap", [ID])
MS = AddField("race", "Lap", FieldState("ms", Integer(), null=True))
ROW = RunSQL("INSERT INTO race_lap (ms) VALUES (1)", reverse_sql="DELETE FROM race_lap")
migrations = [
    Migration("0001_initial", "race", operations=[LAP, SLEEP]),
    Migration("0002_time", "race", dependencies=[("race", "0001_initial")], operations=[MS, SLEEP]),
    Migration("0003_rows", "race", dependencies=[("race", "0002_time")], operations=[ROW]),
]
backend = connect(url)
while time.time() < start_at:
    time.sleep(0.005)
started = time.monotonic()
try:
    result = MigrationExecutor(backend, migrations).migrate()
    outcome = {"applied": [list(key) for key in result.applied]}
except Exception as error:
    outcome = {"error": type(error).__name__, "message": str(error)}
outcome["seconds"] = time.monotonic() - started
print(json.dumps(outcome))
"""


def race(*urls: str) -> list[dict[str, Any]]:
    """Start one process per URL, all beginning their migrate at the same moment; return their outcomes."""
    start_at = time.time() + 2.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    return outcomes


def test_two_processes_apply_each_migration_exactly_once(mysql_url: str) -> None:
    first, second = race(mysql_url, mysql_url)
    assert "error" not in first, first
    assert "error" not in second, second
    applied = [tuple(key) for key in first["applied"] + second["applied"]]
    assert sorted(applied) == [("race", "0001_initial"), ("race", "0002_time"), ("race", "0003_rows")]
    # The lock is held for a whole run: one process applied everything, the other waited and found nothing.
    assert sorted([len(first["applied"]), len(second["applied"])]) == [0, 3]
    loser = first if not first["applied"] else second
    winner = second if loser is first else first
    assert loser["seconds"] >= 0.8 * winner["seconds"] - 0.2  # it waited for the winner's run
    backend = MysqlBackend(mysql_url)
    try:
        assert backend.query("SELECT app, name FROM reinhardt_migrations ORDER BY name") == [
            ("race", "0001_initial"),
            ("race", "0002_time"),
            ("race", "0003_rows"),
        ]
        # The data migration ran once.
        assert backend.query("SELECT COUNT(*) FROM race_lap") == [(1,)]
        assert backend.query("SELECT COUNT(*) FROM reinhardt_migrations_progress") == [(0,)]
    finally:
        backend.close()


def test_a_process_that_cannot_wait_long_enough_names_the_holder(mysql_url: str) -> None:
    holder = MysqlBackend(mysql_url)
    try:
        holder_id = holder.query("SELECT CONNECTION_ID()")[0][0]
        with holder.run_lock():
            (outcome,) = race(f"{mysql_url}?lock_timeout=0.5")
        assert outcome["error"] == "RunLockHeld"
        assert f"connection {holder_id} (user 'root'" in outcome["message"]
        assert "kept it for the 0.5 s this run waited" in outcome["message"]
        assert holder.query(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        ) == [(0,)]
    finally:
        holder.close()

"""The applied-migrations table on real SQLite files."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.serialize import migration_to_json
from reinhardt_migrations.pure.types import AutoField
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.recorder import (
    DEFAULT_TABLE,
    AppliedMigration,
    MigrationRecorder,
    migration_checksum,
    recorded_sql,
    unrecorded_sql,
)

FIXED_TIME = "2024-05-01T12:00:00.000000+00:00"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    opened = SqliteBackend(str(tmp_path / "db.sqlite3"))
    yield opened
    opened.close()


def _migration(name: str = "0001_initial", app: str = "blog") -> Migration:
    return Migration(
        name, app, operations=[CreateModel(app, "Post", [FieldState("id", AutoField(), primary_key=True)])]
    )


def test_the_table_is_created_on_first_use_only(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    assert recorder.applied() == {}
    assert not backend.has_table(DEFAULT_TABLE), "reading must not create the table"
    recorder.ensure_table()
    assert backend.has_table(DEFAULT_TABLE)
    recorder.ensure_table()  # idempotent
    assert recorder.applied() == {}


def test_the_table_name_is_configurable(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend, "schema history")
    recorder.record_applied(_migration())
    assert backend.has_table("schema history")
    assert not backend.has_table(DEFAULT_TABLE)
    assert list(recorder.applied()) == [("blog", "0001_initial")]


def test_a_record_holds_app_name_time_and_checksum(tmp_path: Path, backend: SqliteBackend) -> None:
    migration = _migration()
    recorder = MigrationRecorder(backend, clock=lambda: FIXED_TIME)
    recorder.record_applied(migration)
    expected = hashlib.sha256(migration_to_json(migration).encode()).hexdigest()
    assert recorder.applied() == {
        ("blog", "0001_initial"): AppliedMigration("blog", "0001_initial", FIXED_TIME, expected)
    }
    # It is a real row another connection can read.
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    assert conn.execute(f'SELECT app, name, applied, checksum FROM "{DEFAULT_TABLE}"').fetchall() == [
        ("blog", "0001_initial", FIXED_TIME, expected)
    ]
    conn.close()


def test_the_default_clock_writes_utc_iso_time(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    recorder.record_applied(_migration())
    (row,) = recorder.applied().values()
    assert row.applied.endswith("+00:00")
    assert row.applied[:4].isdigit()


def test_checksums_follow_the_content() -> None:
    first, same = _migration(), _migration()
    assert migration_checksum(first) == migration_checksum(same)
    assert len(migration_checksum(first)) == 64
    edited = first.with_dependency("auth", "0001_initial")
    assert migration_checksum(edited) != migration_checksum(first)


def test_recording_twice_is_refused(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    recorder.record_applied(_migration())
    with pytest.raises(DatabaseError) as raised:
        recorder.record_applied(_migration())
    assert "UNIQUE" in str(raised.value)
    assert len(recorder.applied()) == 1


def test_unrecording_and_flushing(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    for name in ("0001_initial", "0002_more", "0003_last"):
        recorder.record_applied(_migration(name))
    recorder.record_unapplied(("blog", "0002_more"))
    assert list(recorder.applied()) == [("blog", "0001_initial"), ("blog", "0003_last")]
    assert recorder.is_applied(("blog", "0003_last"))
    assert not recorder.is_applied(("blog", "0002_more"))
    recorder.flush()
    assert recorder.applied() == {}


def test_applied_is_in_key_order_whatever_the_insert_order(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    for app, name in [("shop", "0002_b"), ("blog", "0001_a"), ("shop", "0001_a")]:
        recorder.record_applied(_migration(name, app))
    assert list(recorder.applied()) == [("blog", "0001_a"), ("shop", "0001_a"), ("shop", "0002_b")]


def test_recorder_statements_quote_odd_names_and_values(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend, 'odd "table"')
    recorder.ensure_table()
    row = AppliedMigration("it's", 'na"me', FIXED_TIME, "abc")
    with backend.atomic():
        backend.execute([recorded_sql(dialect_for("sqlite"), 'odd "table"', row)])
    assert recorder.applied() == {("it's", 'na"me'): row}
    with backend.atomic():
        backend.execute([unrecorded_sql(dialect_for("sqlite"), 'odd "table"', ("it's", 'na"me'))])
    assert recorder.applied() == {}


def test_a_record_statement_rolls_back_with_its_transaction(backend: SqliteBackend) -> None:
    recorder = MigrationRecorder(backend)
    recorder.ensure_table()
    row = recorder.record_statement(("blog", "0001_initial"), "x")
    with pytest.raises(DatabaseError), backend.atomic():
        backend.execute([row, row])
    assert recorder.applied() == {}

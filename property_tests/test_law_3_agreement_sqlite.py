"""Law 3 (agreement) on real SQLite files.

For a generated state ``s`` and an operation ``op`` valid on it: build ``s`` in a fresh
database file, put rows in its tables, run the statements the SQLite dialect renders
for ``op``, introspect, and compare with the schema of ``op.state_forwards(s)``. When
the rows make the operation impossible (a new unique constraint over duplicates, say),
the failed run must leave the database exactly as it was, and the law is checked
again on the same schema without rows.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import suppress
from typing import Any

from hypothesis import assume, event, given
from hypothesis import strategies as st

from reinhardt_migrations.pure.dialects import OperationSQL, dialect_for
from reinhardt_migrations.pure.dialects.sqlite import sqlite_affinity
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.introspection import schema_from_catalog, schema_of
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import Operation, RunSQL, SeparateDatabaseAndState
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import BUILTIN_KINDS, operations, project_states
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import run_sql

DIALECT = dialect_for("sqlite")
# Real files, in memory-backed storage where there is some: the law is about SQL, not fsync.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# PostgreSQL project objects have no SQLite rendering; RunCode runs no SQL.
KINDS = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind not in {"CreateExtension", "DropExtension", "CreateCollation", "RemoveCollation", "RunCode"}
)


def cases() -> st.SearchStrategy[tuple[ProjectState, Operation]]:
    """Return (state, operation valid on it) pairs."""
    return project_states(min_models=2, max_models=5, partial_indexes=True).flatmap(
        lambda state: operations(state, kinds=KINDS, partial_indexes=True).map(lambda op: (state, op))
    )


def declares_its_schema(operation: Operation) -> bool:
    """Tell whether the statements are meant to do what ``state_forwards`` says.

    RunSQL's ``state_operations`` and SeparateDatabaseAndState's split are the user's
    promise that hand-written SQL matches the state; generated SQL (``SELECT 1``) does not.
    """
    if isinstance(operation, RunSQL):
        return not operation.state_operations
    if isinstance(operation, SeparateDatabaseAndState):
        return operation.database_operations == operation.state_operations
    return True


def ignore_code(step: OperationSQL) -> None:
    """Stand in for RunCode's callables: generated paths name no code, and code changes no schema."""


def _value(affinity: str, number: int) -> Any:
    # One value per affinity and row number, so a foreign key column holds the same
    # values as the primary keys it refers to and many rows satisfy their keys.
    return {"INTEGER": number, "REAL": number + 0.5, "NUMERIC": number, "BLOB": bytes([number])}.get(
        affinity, f"v{number}"
    )


def fill_rows(path: str, rows_per_table: int = 3) -> None:
    """Insert rows into every table; drop those that break a constraint or a foreign key."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            quoted = '"' + table.replace('"', '""') + '"'
            columns = [(row[1], row[2]) for row in conn.execute(f"PRAGMA table_info({quoted})")]
            names = ", ".join('"' + name.replace('"', '""') + '"' for name, _type in columns)
            marks = ", ".join("?" for _ in columns)
            for number in range(1, rows_per_table + 1):
                values = [_value(sqlite_affinity(declared or ""), number) for _name, declared in columns]
                with suppress(sqlite3.IntegrityError):
                    conn.execute(f"INSERT INTO {quoted} ({names}) VALUES ({marks})", values)
        while True:
            dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
            if not dangling:
                break
            for table, rowid, _parent, _key in dangling:
                quoted = '"' + table.replace('"', '""') + '"'
                conn.execute(f"DELETE FROM {quoted} WHERE rowid = ?", (rowid,))
    finally:
        conn.close()


def snapshot(path: str) -> list[tuple[Any, ...]]:
    """Return the schema SQL and every row of every table."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        rows: list[tuple[Any, ...]] = list(schema)
        for kind, name, _table, _sql in schema:
            if kind == "table":
                quoted = '"' + name.replace('"', '""') + '"'
                rows.append((name, sorted(conn.execute(f"SELECT * FROM {quoted}").fetchall(), key=repr)))
        return rows
    finally:
        conn.close()


def database_at(directory: str, name: str, state: ProjectState, *, rows: bool) -> tuple[str, SqliteBackend]:
    """Return a new database file holding the schema of ``state`` (and rows if asked)."""
    path = os.path.join(directory, name)
    backend = SqliteBackend(path)
    with backend.atomic():
        backend.execute(DIALECT.statements_between(ProjectState(), state))
    if rows:
        fill_rows(path)
    return path, backend


def check_agreement(directory: str, state: ProjectState, operation: Operation, *, rows: bool) -> bool:
    """Check law 3 on one database; return False if the rows made the operation fail."""
    after = operation.state_forwards(state)
    plan = DIALECT.plan_migration(Migration("0002_law_3", "law", operations=[operation]), state)
    path, backend = database_at(directory, "rows.sqlite3" if rows else "empty.sqlite3", state, rows=rows)
    try:
        # The base case: the schema of s itself reads back as s.
        assert schema_from_catalog(backend.catalog(), DIALECT) == schema_of(state, DIALECT)
        before = snapshot(path)
        try:
            run_sql(backend, plan, call_code=ignore_code)
        except DatabaseError:
            if not rows:
                raise
            assert snapshot(path) == before, "a failed operation must leave the database as it was"
            return False
        found = schema_from_catalog(backend.catalog(), DIALECT)
        expected = schema_of(after, DIALECT)
        assert found == expected, "\n".join(expected.differences(found))
        assert backend.query("PRAGMA foreign_key_check") == []
        return True
    finally:
        backend.close()


@given(cases())
def test_introspecting_after_an_operation_gives_its_state(case: tuple[ProjectState, Operation]) -> None:
    state, operation = case
    assume(declares_its_schema(operation))
    try:
        DIALECT.plan_migration(Migration("0002_law_3", "law", operations=[operation]), state)
    except UnsupportedOperation:
        assume(False)
    event(type(operation).__name__)
    with tempfile.TemporaryDirectory(prefix="law3-", dir=SCRATCH) as directory:
        if not check_agreement(directory, state, operation, rows=True):
            check_agreement(directory, state, operation, rows=False)

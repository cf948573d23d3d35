"""Law 4 (reversal) on real SQLite files.

For a generated state ``s`` and a reversible operation ``op`` valid on it: build ``s``
in a fresh database file with rows, run ``op`` forwards and then backwards, and check
that the introspected schema is ``s`` again and that every row survived in the
columns ``op`` does not destroy (a removed or altered column, a deleted table, may
come back empty or changed; everything else must come back as it was). When the rows
make a step impossible (a unique constraint over duplicates forwards, a NOT NULL
column without default coming back), that step must fail cleanly, and the law is
checked again on the same schema without rows.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from hypothesis import assume, event, given
from hypothesis import strategies as st

from reinhardt_migrations.pure.dialects import OperationSQL, dialect_for
from reinhardt_migrations.pure.dialects.sqlite import sqlite_affinity
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.introspection import schema_from_catalog, schema_of
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AlterField,
    DeleteModel,
    Operation,
    RemoveField,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import BUILTIN_KINDS, operations, project_states
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import run_sql

DIALECT = dialect_for("sqlite")
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
KINDS = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind not in {"CreateExtension", "DropExtension", "CreateCollation", "RemoveCollation", "RunCode"}
)
Lost = set[tuple[str, str | None]]


def cases() -> st.SearchStrategy[tuple[ProjectState, Operation]]:
    """Return (state, operation valid on it) pairs."""
    return project_states(min_models=2, max_models=5, partial_indexes=True).flatmap(
        lambda state: operations(state, kinds=KINDS, partial_indexes=True).map(lambda op: (state, op))
    )


def declares_its_schema(operation: Operation) -> bool:
    """Tell whether the statements are meant to do what ``state_forwards`` says (see law 3)."""
    if isinstance(operation, RunSQL):
        return not operation.state_operations
    if isinstance(operation, SeparateDatabaseAndState):
        return operation.database_operations == operation.state_operations
    return True


def ignore_code(step: OperationSQL) -> None:
    """Stand in for RunCode's callables: generated paths name no code, and code changes no schema."""


# -- what an operation may destroy ---------------------------------------------------------------


def _field_storage(state: ProjectState, app: str, model: str, name: str) -> Lost:
    found = state.model(app, model)
    field: FieldState = found.field(name)
    if field.column is not None:
        return {(found.db_table, field.column)}
    relation = field.relation
    return (
        {(relation.db_table, None)}
        if relation is not None and relation.db_table and not relation.through
        else set()
    )


def _model_storage(state: ProjectState, app: str, name: str) -> Lost:
    model = state.model(app, name)
    lost: Lost = {(model.db_table, None)}
    for field in model.fields:
        if field.column is None:
            lost |= _field_storage(state, app, name, field.name)
    return lost


# Operation type -> the (table, column) pairs whose values it may destroy (column None:
# the whole table). Everything else (renames, indexes, constraints, options, new
# columns and tables) must keep every value.
DESTROYS: dict[type, Callable[[Any, ProjectState], Lost]] = {
    RemoveField: lambda op, s: _field_storage(s, op.app_label, op.model_name, op.name),
    AlterField: lambda op, s: _field_storage(s, op.app_label, op.model_name, op.name),
    DeleteModel: lambda op, s: _model_storage(s, op.app_label, op.name),
}


def destroyed(operation: Operation, state: ProjectState) -> Lost:
    """Return what ``operation`` may destroy when applied to ``state``."""
    if isinstance(operation, SeparateDatabaseAndState):
        lost: Lost = set()
        for inner in operation.database_operations:
            lost |= destroyed(inner, state)
            state = inner.state_forwards(state)
        return lost
    rule = DESTROYS.get(type(operation))
    return rule(operation, state) if rule is not None else set()


# -- databases ------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(affinity: str, number: int) -> Any:
    return {"INTEGER": number, "REAL": number + 0.5, "NUMERIC": number, "BLOB": bytes([number])}.get(
        affinity, f"v{number}"
    )


def fill_rows(path: str, rows_per_table: int = 3) -> None:
    """Insert rows into every table; drop those that break a constraint or a foreign key."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if table.startswith("sqlite_"):
                continue
            columns = [(row[1], row[2]) for row in conn.execute(f"PRAGMA table_info({_quote(table)})")]
            names = ", ".join(_quote(name) for name, _type in columns)
            marks = ", ".join("?" for _ in columns)
            for number in range(1, rows_per_table + 1):
                values = [_value(sqlite_affinity(declared or ""), number) for _name, declared in columns]
                with suppress(sqlite3.IntegrityError):
                    conn.execute(f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})", values)
        while dangling := conn.execute("PRAGMA foreign_key_check").fetchall():
            for table, rowid, _parent, _key in dangling:
                conn.execute(f"DELETE FROM {_quote(table)} WHERE rowid = ?", (rowid,))
    finally:
        conn.close()


def kept_rows(path: str, lost: Lost) -> dict[str, list[tuple[Any, ...]]]:
    """Return each table's rows in the columns ``lost`` does not name, sorted."""
    whole = {table.lower() for table, column in lost if column is None}
    columns_lost = {(table.lower(), column.lower()) for table, column in lost if column is not None}
    conn = sqlite3.connect(path)
    try:
        result = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if table.startswith("sqlite_") or table.lower() in whole:
                continue
            columns = [
                row[1]
                for row in conn.execute(f"PRAGMA table_info({_quote(table)})")
                if (table.lower(), row[1].lower()) not in columns_lost
            ]
            if columns:
                selected = ", ".join(_quote(column) for column in columns)
                rows = conn.execute(f"SELECT {selected} FROM {_quote(table)}").fetchall()
                result[table] = sorted(rows, key=repr)
        return result
    finally:
        conn.close()


def check_reversal(directory: str, state: ProjectState, operation: Operation, *, rows: bool) -> bool:
    """Check law 4 on one database; return False if the rows made the forward run fail."""
    migration = Migration("0002_law_4", "law", operations=[operation])
    forwards = DIALECT.plan_migration(migration, state)
    backwards = DIALECT.plan_migration(migration, state, backwards=True)
    path = os.path.join(directory, "rows.sqlite3" if rows else "empty.sqlite3")
    backend = SqliteBackend(path)
    try:
        with backend.atomic():
            backend.execute(DIALECT.statements_between(ProjectState(), state))
        if rows:
            fill_rows(path)
        lost = destroyed(operation, state)
        before = kept_rows(path, lost)
        try:
            run_sql(backend, forwards, call_code=ignore_code)
        except DatabaseError:
            if not rows:
                raise
            return False
        if rows and lost:
            # Undoing a destructive operation may need values the rows no longer have (a
            # NOT NULL column without default comes back); then it must fail cleanly.
            middle = schema_from_catalog(backend.catalog(), DIALECT)
            try:
                run_sql(backend, backwards, call_code=ignore_code)
            except DatabaseError:
                assert schema_from_catalog(backend.catalog(), DIALECT) == middle
                return False
        else:
            run_sql(backend, backwards, call_code=ignore_code)
        found = schema_from_catalog(backend.catalog(), DIALECT)
        expected = schema_of(state, DIALECT)
        assert found == expected, "\n".join(expected.differences(found))
        assert kept_rows(path, lost) == before
        assert backend.query("PRAGMA foreign_key_check") == []
        return True
    finally:
        backend.close()


@given(cases())
def test_forwards_then_backwards_restores_schema_and_rows(case: tuple[ProjectState, Operation]) -> None:
    state, operation = case
    assume(operation.reversible and declares_its_schema(operation))
    try:
        DIALECT.plan_migration(Migration("0002_law_4", "law", operations=[operation]), state, backwards=True)
    except UnsupportedOperation:
        assume(False)
    event(type(operation).__name__)
    with tempfile.TemporaryDirectory(prefix="law4-", dir=SCRATCH) as directory:
        if not check_reversal(directory, state, operation, rows=True):
            check_reversal(directory, state, operation, rows=False)

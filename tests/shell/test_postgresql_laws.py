"""Laws 3 (agreement) and 4 (reversal) on a real PostgreSQL server, with rows in the tables.

For a generated state ``s`` and an operation ``op`` valid on it, each example gets a
fresh schema (first on ``search_path``, ``public`` after it for the ``citext`` type),
builds ``s`` there with the PostgreSQL dialect's statements, and inserts rows.

- Law 3: after running the plan of ``op``, the catalog read back equals
  ``schema_of(op.state_forwards(s))``. When the rows make ``op`` impossible (a unique
  constraint over duplicates, say) the failed run must leave schema and rows exactly as
  they were, and the law is checked again on the same schema without rows.
- Law 4: forwards then backwards gives ``schema_of(s)`` again, up to column order (a
  column PostgreSQL adds back goes last), and every row survives in the columns ``op``
  does not destroy.

Bounded (25 examples each, no shrinking), so the file runs in seconds;
``HYPOTHESIS_PROFILE=dev`` does not raise it (each example costs database round trips).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from reinhardt_migrations.pure.dialects import OperationSQL, dialect_for
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.introspection import DatabaseSchema, schema_from_catalog, schema_of
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AlterField,
    DeleteModel,
    Operation,
    RemoveField,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import BUILTIN_KINDS, operations, project_states
from reinhardt_migrations.shell.backends.postgresql import PostgresqlBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import run_sql

DIALECT = dialect_for("postgresql")
# Project objects are not tables (tested by example in test_postgresql_operations.py),
# and generated states do not create theirs; RunCode runs no SQL.
KINDS = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind not in {"CreateExtension", "DropExtension", "CreateCollation", "RemoveCollation", "RunCode"}
)
# Each example costs database round trips, so shrinking a failure could take many
# minutes: failures are reported as found (with the blob to replay and shrink locally).
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_schemas = itertools.count(1)
Lost = set[tuple[str, str | None]]


def all_managed(state: ProjectState) -> ProjectState:
    """Return ``state`` with every model managed.

    An unmanaged model's table is the user's and exists before any migration; PostgreSQL
    checks that a foreign key's target exists, so tables pointing at one could not be
    built here. Making the models managed builds those tables too.
    """
    return ProjectState(
        models=[attrs.evolve(model, managed=True) for model in state],
        extensions=state.extensions,
        collations=state.collations,
    )


def cases() -> st.SearchStrategy[tuple[ProjectState, Operation]]:
    """Return (state, operation valid on it) pairs."""
    return (
        project_states(min_models=2, max_models=5, partial_indexes=True)
        .map(all_managed)
        .flatmap(
            lambda state: operations(state, kinds=KINDS, partial_indexes=True).map(lambda op: (state, op))
        )
    )


def declares_its_schema(operation: Operation) -> bool:
    """Tell whether the statements are meant to do what ``state_forwards`` says (see the SQLite law 3)."""
    if isinstance(operation, RunSQL):
        return not operation.state_operations
    if isinstance(operation, SeparateDatabaseAndState):
        return operation.database_operations == operation.state_operations
    return True


def ignore_code(step: OperationSQL) -> None:
    """Stand in for RunCode's callables: generated paths name no code."""


@pytest.fixture
def backend(postgresql_url: str) -> Iterator[PostgresqlBackend]:
    """One connection to the test's database, with ``citext`` installed (generated RawTypes use it)."""
    opened = PostgresqlBackend(postgresql_url)
    opened.execute([Statement("CREATE EXTENSION IF NOT EXISTS citext")])
    yield opened
    opened.close()


class Schema:
    """A fresh schema first on the search path for one example, dropped afterwards."""

    def __init__(self, backend: PostgresqlBackend) -> None:
        self.backend = backend
        self.name = f"law_{next(_schemas)}"

    def __enter__(self) -> Schema:
        self.backend.execute(
            [
                Statement(f'CREATE SCHEMA "{self.name}"'),
                Statement(f'SET search_path TO "{self.name}", public'),
            ]
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.execute(
            [Statement("SET search_path TO public"), Statement(f'DROP SCHEMA "{self.name}" CASCADE')]
        )


# -- rows ---------------------------------------------------------------------------------


def _value(type_sql: str, number: int) -> str | None:
    """Return row ``number``'s value for a column of ``type_sql``, as text the server parses.

    The same type and number always give the same value, so a foreign key column holds
    the values of the keys it points at and most rows satisfy their keys.
    """
    base = type_sql.split("(")[0].strip()
    if type_sql.endswith("[]"):
        return "{}"
    if base in ("integer", "bigint", "smallint", "money"):
        return str(number)
    if base == "numeric":
        precision, _, scale = type_sql[len("numeric(") : -1].partition(",")
        whole = int(precision) - int(scale or 0)
        return str(number % (10**whole)) if whole > 0 else "0"
    if base in ("real", "double precision"):
        return f"{number}.5"
    if base == "boolean":
        return "true" if number % 2 else "false"
    if base in ("character varying", "character", "text", "citext"):
        length = type_sql.partition("(")[2].rstrip(")")
        text = f"v{number}"
        return text[: int(length)] if length.isdigit() else text
    if base == "date":
        return f"2024-01-{number:02d}"
    if base.startswith("timestamp"):
        return f"2024-01-{number:02d} 10:00:00"
    if base.startswith("time"):
        return f"{number:02d}:00:00"
    if base == "interval":
        return f"{number} seconds"
    if base == "uuid":
        return f"00000000-0000-0000-0000-{number:012d}"
    if base == "jsonb":
        return f'{{"n": {number}}}'
    if base == "bytea":
        return f"\\x{number:02x}"
    return None


def _quote(name: str) -> str:
    return DIALECT.quote(name)


def fill_rows(backend: PostgresqlBackend, rows_per_table: int = 3) -> None:
    """Insert rows into every table of the schema; a row that breaks a constraint is left out.

    Foreign keys are checked at once, each row in its own savepoint, and rows that point
    at rows not there yet are tried again in later passes.
    """
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, name, type_sql, *_rest in backend.query(
        "SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY t.relname, a.attnum"
    ):
        columns.setdefault(table, []).append((name, type_sql))
    waiting = [(table, number) for table in sorted(columns) for number in range(1, rows_per_table + 1)]
    with backend.atomic():
        backend.execute([Statement("SET CONSTRAINTS ALL IMMEDIATE")])
        for _ in range(3):
            left = []
            for table, number in waiting:
                values = [_value(type_sql, number) for _name, type_sql in columns[table]]
                names = ", ".join(_quote(name) for name, _type in columns[table])
                marks = ", ".join("%s" for _ in values)
                insert = Statement(f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})", values)
                try:
                    with backend.atomic():
                        backend.execute([insert])
                except DatabaseError:
                    left.append((table, number))
            if len(left) == len(waiting):
                break
            waiting = left


def table_rows(backend: PostgresqlBackend, lost: Lost = frozenset()) -> dict[str, list[str]]:
    """Return every table's rows (as text) in the columns ``lost`` does not name, sorted."""
    whole = {table for table, column in lost if column is None}
    result = {}
    for table, names in backend.query(
        "SELECT t.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
        "JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "GROUP BY t.relname"
    ):
        kept = [name for name in names if (table, name) not in lost]
        if table in whole or not kept:
            continue
        selected = ", ".join(f"{_quote(name)}::text" for name in kept)
        result[table] = sorted(repr(row) for row in backend.query(f"SELECT {selected} FROM {_quote(table)}"))
    return result


def build(backend: PostgresqlBackend, state: ProjectState, *, rows: bool) -> None:
    """Create the schema of ``state`` (and rows if asked), and check it reads back as ``state``."""
    with backend.atomic():
        backend.execute(DIALECT.statements_between(ProjectState(), state))
    if rows:
        fill_rows(backend)
    found = schema_from_catalog(backend.catalog(), DIALECT)
    expected = schema_of(state, DIALECT)
    assert found == expected, "\n".join(expected.differences(found))


# -- law 3 --------------------------------------------------------------------------------


def check_agreement(
    backend: PostgresqlBackend, state: ProjectState, operation: Operation, *, rows: bool
) -> bool:
    """Check law 3 in a fresh schema; return False if the rows made the operation fail."""
    plan = DIALECT.plan_migration(Migration("0002_law_3", "law", operations=[operation]), state)
    with Schema(backend):
        build(backend, state, rows=rows)
        catalog, contents = backend.catalog(), table_rows(backend)
        try:
            run_sql(backend, plan, call_code=ignore_code)
        except DatabaseError:
            if not rows:
                raise
            assert backend.catalog() == catalog, "a failed operation must leave the schema as it was"
            assert table_rows(backend) == contents, "a failed operation must leave the rows as they were"
            return False
        found = schema_from_catalog(backend.catalog(), DIALECT)
        expected = schema_of(operation.state_forwards(state), DIALECT)
        assert found == expected, "\n".join(expected.differences(found))
        return True


@EXAMPLES
@given(case=cases())
def test_introspecting_after_an_operation_gives_its_state(
    backend: PostgresqlBackend, case: tuple[ProjectState, Operation]
) -> None:
    state, operation = case
    assume(declares_its_schema(operation))
    try:
        DIALECT.plan_migration(Migration("0002_law_3", "law", operations=[operation]), state)
    except UnsupportedOperation:
        assume(False)
    event(type(operation).__name__)
    if not check_agreement(backend, state, operation, rows=True):
        check_agreement(backend, state, operation, rows=False)


# -- law 4 --------------------------------------------------------------------------------


def _field_storage(state: ProjectState, app: str, model: str, name: str) -> Lost:
    found = state.model(app, model)
    field: FieldState = found.field(name)
    if field.column is not None:
        return {(found.db_table, field.column)}
    relation = field.relation
    if relation is not None and relation.db_table and not relation.through:
        return {(relation.db_table, None)}
    return set()


def _model_storage(state: ProjectState, app: str, name: str) -> Lost:
    model = state.model(app, name)
    lost: Lost = {(model.db_table, None)}
    for field in model.fields:
        if field.column is None:
            lost |= _field_storage(state, app, name, field.name)
    return lost


# Operation type -> the (table, column) pairs whose values it may destroy (column None:
# the whole table). Everything else must keep every value.
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


def in_any_column_order(schema: DatabaseSchema) -> DatabaseSchema:
    """Return ``schema`` with each table's columns sorted by name.

    PostgreSQL adds a column at the end of its table, so undoing ``RemoveField`` brings
    the column back last (docs/dialects.md): law 4 holds up to column order.
    """
    return DatabaseSchema(
        [attrs.evolve(table, columns=sorted(table.columns, key=lambda c: c.name)) for table in schema.tables]
    )


def check_reversal(
    backend: PostgresqlBackend, state: ProjectState, operation: Operation, *, rows: bool
) -> bool:
    """Check law 4 in a fresh schema; return False if the rows made a run fail (cleanly)."""
    migration = Migration("0002_law_4", "law", operations=[operation])
    forwards = DIALECT.plan_migration(migration, state)
    backwards = DIALECT.plan_migration(migration, state, backwards=True)
    with Schema(backend):
        build(backend, state, rows=rows)
        lost = destroyed(operation, state)
        before = table_rows(backend, lost)
        try:
            run_sql(backend, forwards, call_code=ignore_code)
        except DatabaseError:
            if not rows:
                raise
            return False
        if rows and lost:
            # Undoing a destructive operation may need values the rows no longer have (a
            # NOT NULL column without default coming back); then it must fail cleanly.
            middle = backend.catalog()
            try:
                run_sql(backend, backwards, call_code=ignore_code)
            except DatabaseError:
                assert backend.catalog() == middle
                return False
        else:
            run_sql(backend, backwards, call_code=ignore_code)
        found = in_any_column_order(schema_from_catalog(backend.catalog(), DIALECT))
        expected = in_any_column_order(schema_of(state, DIALECT))
        assert found == expected, "\n".join(expected.differences(found))
        assert table_rows(backend, lost) == before
        return True


@EXAMPLES
@given(case=cases())
def test_forwards_then_backwards_restores_schema_and_rows(
    backend: PostgresqlBackend, case: tuple[ProjectState, Operation]
) -> None:
    state, operation = case
    assume(operation.reversible and declares_its_schema(operation))
    try:
        DIALECT.plan_migration(Migration("0002_law_4", "law", operations=[operation]), state, backwards=True)
    except UnsupportedOperation:
        assume(False)
    event(type(operation).__name__)
    if not check_reversal(backend, state, operation, rows=True):
        check_reversal(backend, state, operation, rows=False)

"""Laws 3 (agreement) and 4 (reversal) on a real MariaDB/MySQL server, with rows in the tables.

For a generated state ``s`` and an operation ``op`` valid on it, each example gets a
fresh database on the server, builds ``s`` there with the MySQL dialect's statements,
and inserts rows.

- Law 3: after running the plan of ``op``, the catalog read back equals
  ``fold_unique_indexes(schema_of(op.state_forwards(s)))`` (MySQL keeps no difference
  between a unique index and a unique constraint; docs/dialects.md). When the rows make
  ``op`` impossible (a unique constraint over duplicates, say), a plan of one statement
  must leave schema and rows as they were (MySQL's DDL is atomic per statement, not per
  migration), and the law is checked again on a fresh database without rows.
- Law 4: forwards then backwards gives the schema of ``s`` again, and every row
  survives in the columns ``op`` does not destroy.

Bounded (25 examples each): every example costs a database and a few dozen DDL statements.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from reinhardt_migrations.pure.dialects import OperationSQL, dialect_for
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.introspection import DatabaseSchema, schema_from_catalog, schema_of
from reinhardt_migrations.pure.introspection_mysql import fold_unique_indexes
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AlterField,
    AlterModelOptions,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveField,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import BUILTIN_KINDS, operations, project_states
from reinhardt_migrations.shell.backends.mysql import MysqlBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import run_sql

DIALECT = dialect_for("mysql")
# PostgreSQL project objects have no MySQL rendering (refused, tested by example); RunCode runs no SQL.
KINDS = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind not in {"CreateExtension", "DropExtension", "CreateCollation", "RemoveCollation", "RunCode"}
)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_databases = itertools.count(1)
Lost = set[tuple[str, str | None]]
# MySQL's row size limit (65,535 bytes) refuses some generated tables of long varchars.
_ROW_TOO_LARGE = "error 1118"


def all_managed(state: ProjectState) -> ProjectState:
    """Return ``state`` with every model managed and without table options.

    Foreign keys need their target tables to exist. Generated options mix ``charset``
    without ``collate`` (the charset's own collation) with tables in the database's
    collation, and MySQL refuses a foreign key between string columns of two
    collations (errno 150): options are tested by example instead.
    """
    return ProjectState(
        models=[attrs.evolve(model, managed=True, options={}) for model in state],
        extensions=state.extensions,
        collations=state.collations,
    )


def without_options(operation: Operation) -> Operation:
    """Return ``operation`` with its table options removed (see ``all_managed``; random names, too)."""
    if isinstance(operation, CreateModel | AlterModelOptions):
        return attrs.evolve(operation, options={})
    if isinstance(operation, SeparateDatabaseAndState):
        return SeparateDatabaseAndState(
            [without_options(inner) for inner in operation.database_operations],
            [without_options(inner) for inner in operation.state_operations],
        )
    return operation


def cases() -> st.SearchStrategy[tuple[ProjectState, Operation]]:
    """Return (state, operation valid on it) pairs; MySQL has no partial indexes, so none are drawn."""
    return (
        project_states(min_models=2, max_models=5)
        .map(all_managed)
        .flatmap(lambda state: operations(state, kinds=KINDS).map(lambda op: (state, without_options(op))))
    )


def declares_its_schema(operation: Operation) -> bool:
    """Tell whether the statements are meant to do what ``state_forwards`` says (see the SQLite law 3)."""
    if isinstance(operation, RunSQL):
        return not operation.state_operations
    if isinstance(operation, SeparateDatabaseAndState):
        return operation.database_operations == operation.state_operations
    return True


def plannable(operation: Operation, state: ProjectState, *, backwards: bool = False) -> bool:
    """Tell whether the dialect renders the operation (random table options are refused, say)."""
    try:
        DIALECT.plan_migration(
            Migration("0002_law", "law", operations=[operation]), state, backwards=backwards
        )
    except UnsupportedOperation:
        return False
    return True


def ignore_code(step: OperationSQL) -> None:
    """Stand in for RunCode's callables: generated paths name no code."""


@pytest.fixture
def backend(mysql_url: str) -> Iterator[MysqlBackend]:
    """One connection to the server; each example works in a database of its own."""
    opened = MysqlBackend(mysql_url)
    yield opened
    opened.close()


class Database:
    """A fresh database for one example, made current, dropped afterwards."""

    def __init__(self, backend: MysqlBackend) -> None:
        self.backend = backend
        self.home = urlsplit(backend.url).path.lstrip("/")
        self.name = f"{self.home[:40]}_law_{next(_databases)}"

    def __enter__(self) -> Database:
        self.backend.execute(
            [
                Statement(f"CREATE DATABASE {DIALECT.quote(self.name)}"),
                Statement(f"USE {DIALECT.quote(self.name)}"),
            ]
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.execute(
            [
                Statement(f"USE {DIALECT.quote(self.home)}"),
                Statement(f"DROP DATABASE {DIALECT.quote(self.name)}"),
            ]
        )


# -- rows ---------------------------------------------------------------------------------


def _value(type_sql: str, number: int) -> object:
    """Return row ``number``'s value for a column of ``type_sql`` (as the catalog reads it).

    The same type and number always give the same value, so a foreign key column holds
    the values of the keys it points at and most rows satisfy their keys.
    """
    base, _, parameters = type_sql.partition("(")
    if type_sql == "tinyint(1)":
        return number % 2
    if base in ("int", "bigint", "smallint", "mediumint", "tinyint"):
        return number
    if base == "decimal":
        precision, _, scale = parameters.rstrip(")").partition(",")
        whole = int(precision) - int(scale or 0)
        return number % (10**whole) if whole > 0 else 0
    if base in ("float4", "double", "float"):
        return number + 0.5
    if base in ("varchar", "char"):
        return f"v{number}"[: int(parameters.rstrip(")"))]
    if base in ("longtext", "text", "mediumtext"):
        return f"v{number}"
    if base == "date":
        return f"2024-01-{number:02d}"
    if base == "datetime":
        return f"2024-01-{number:02d} 10:00:00"
    if base == "time":
        return f"{number:02d}:00:00"
    if base == "json":
        return f'{{"n": {number}}}'
    if base in ("longblob", "blob", "binary", "varbinary"):
        return bytes([number])
    return None


def fill_rows(backend: MysqlBackend, rows_per_table: int = 3) -> None:
    """Insert rows into every table; a row that breaks a constraint or a foreign key is left out.

    Rows that point at rows not there yet are tried again in later passes.
    """
    columns: dict[str, list[tuple[str, str]]] = {}
    for row in backend.catalog().columns:
        columns.setdefault(row.table, []).append((row.name, row.type))
    waiting = [(table, number) for table in sorted(columns) for number in range(1, rows_per_table + 1)]
    for _ in range(3):
        left = []
        for table, number in waiting:
            values = [_value(type_sql, number) for _name, type_sql in columns[table]]
            names = ", ".join(DIALECT.quote(name) for name, _type in columns[table])
            marks = ", ".join("%s" for _ in values)
            try:
                backend.execute(
                    [Statement(f"INSERT INTO {DIALECT.quote(table)} ({names}) VALUES ({marks})", values)]
                )
            except DatabaseError:
                left.append((table, number))
        if len(left) == len(waiting):
            break
        waiting = left


def table_rows(backend: MysqlBackend, lost: Lost = frozenset()) -> dict[str, list[str]]:
    """Return every table's rows in the columns ``lost`` does not name, sorted."""
    whole = {table for table, column in lost if column is None}
    names: dict[str, list[str]] = {}
    for row in backend.catalog().columns:
        if row.table not in whole and (row.table, row.name) not in lost:
            names.setdefault(row.table, []).append(row.name)
    result = {}
    for table, kept in sorted(names.items()):
        selected = ", ".join(DIALECT.quote(name) for name in kept)
        result[table] = sorted(
            repr(row) for row in backend.query(f"SELECT {selected} FROM {DIALECT.quote(table)}")
        )
    return result


def read_schema(backend: MysqlBackend) -> DatabaseSchema:
    return schema_from_catalog(backend.catalog(), DIALECT)


def expected_schema(state: ProjectState) -> DatabaseSchema:
    return fold_unique_indexes(schema_of(state, DIALECT))


def build(backend: MysqlBackend, state: ProjectState, *, rows: bool) -> None:
    """Create the schema of ``state`` (and rows if asked), and check it reads back as ``state``."""
    try:
        backend.execute(DIALECT.statements_between(ProjectState(), state))
    except DatabaseError as error:
        assume(_ROW_TOO_LARGE not in error.reason)
        raise
    if rows:
        fill_rows(backend)
    found, expected = read_schema(backend), expected_schema(state)
    assert found == expected, "\n".join(expected.differences(found))


# -- law 3 --------------------------------------------------------------------------------


def check_agreement(backend: MysqlBackend, state: ProjectState, operation: Operation, *, rows: bool) -> bool:
    """Check law 3 in a fresh database; return False if the rows made the operation fail."""
    plan = DIALECT.plan_migration(Migration("0002_law_3", "law", operations=[operation]), state)
    with Database(backend):
        build(backend, state, rows=rows)
        catalog, contents = backend.catalog(), table_rows(backend)
        try:
            run_sql(backend, plan, call_code=ignore_code)
        except DatabaseError:
            if not rows:
                raise
            if len(plan.all_statements()) == 1:
                assert backend.catalog() == catalog, "a failed statement must leave the schema as it was"
                assert table_rows(backend) == contents, "a failed statement must leave the rows as they were"
            return False
        found, expected = read_schema(backend), expected_schema(operation.state_forwards(state))
        assert found == expected, "\n".join(expected.differences(found))
        return True


@EXAMPLES
@given(case=cases())
def test_introspecting_after_an_operation_gives_its_state(
    backend: MysqlBackend, case: tuple[ProjectState, Operation]
) -> None:
    state, operation = case
    assume(declares_its_schema(operation) and plannable(operation, state))
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


def check_reversal(backend: MysqlBackend, state: ProjectState, operation: Operation, *, rows: bool) -> bool:
    """Check law 4 in a fresh database; return False if the rows made a run fail."""
    migration = Migration("0002_law_4", "law", operations=[operation])
    forwards = DIALECT.plan_migration(migration, state)
    backwards = DIALECT.plan_migration(migration, state, backwards=True)
    with Database(backend):
        build(backend, state, rows=rows)
        lost = destroyed(operation, state)
        before = table_rows(backend, lost)
        try:
            run_sql(backend, forwards, call_code=ignore_code)
            run_sql(backend, backwards, call_code=ignore_code)
        except DatabaseError:
            # With rows, a step may be impossible (duplicates for a new unique key; a NOT NULL
            # column without default coming back is filled by MySQL, so that one is not).
            if not rows:
                raise
            return False
        found, expected = read_schema(backend), expected_schema(state)
        assert found == expected, "\n".join(expected.differences(found))
        assert table_rows(backend, lost) == before
        return True


@EXAMPLES
@given(case=cases())
def test_forwards_then_backwards_restores_schema_and_rows(
    backend: MysqlBackend, case: tuple[ProjectState, Operation]
) -> None:
    state, operation = case
    assume(operation.reversible and declares_its_schema(operation))
    assume(plannable(operation, state) and plannable(operation, state, backwards=True))
    event(type(operation).__name__)
    if not check_reversal(backend, state, operation, rows=True):
        check_reversal(backend, state, operation, rows=False)

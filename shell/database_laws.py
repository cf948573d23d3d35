"""Laws 3 (agreement) and 4 (reversal) on real databases, for any operation; and whole histories.

Theory of operation: a ``ScratchDatabase`` gives an empty database per example: a new
SQLite file (in memory-backed storage where there is some), or a PostgreSQL or
MySQL/MariaDB database emptied of every table and view. ``check_database_laws`` builds
the state ``s`` there (tables and views), fills every table with rows, runs the plan
of one operation and compares the introspected schema and views with those of
``op.state_forwards(s)`` (agreement); then it runs the backwards plan and compares with
``s`` again, and the rows in the columns the operation may not destroy with the rows
before (reversal). When rows make a run fail (a unique constraint over duplicates), the
run must leave the database as it was (except on MySQL, whose DDL commits at once), and
the laws are checked again without rows. A broken law raises ``LawViolation`` holding
the backend, the operation, the state and the SQL that ran.

``check_migrations_reversible`` runs a history forwards, backwards and forwards again,
migration by migration, comparing the database with the replayed state at every step
(``rmig check --reversible``). This module needs no hypothesis; ``testkit`` drives it.
Dialect limits (docs/testing.md): on PostgreSQL and MySQL a column added back by an undo
goes last, so reversal holds up to column order there; view SQL is compared on SQLite only;
MySQL keeps unique indexes as unique constraints, and cannot hold some states (skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import attrs

from reinhardt_migrations.pure.dialects.base import Dialect, MigrationSQL, OperationSQL
from reinhardt_migrations.pure.errors import (
    IrreversibleOperation,
    LawViolation,
    MigrationError,
    UnsupportedOperation,
)
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.introspection import DatabaseSchema, schema_from_catalog, schema_of
from reinhardt_migrations.pure.introspection_mysql import fold_unique_indexes
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AlterField,
    DeleteModel,
    Operation,
    RemoveField,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.views import view_differences
from reinhardt_migrations.shell.backends import Backend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import import_dotted, run_sql
from reinhardt_migrations.shell.scratch import Lost, ScratchDatabase, database_views

__all__ = [
    "DATABASE_LAWS",
    "ScratchDatabase",
    "all_managed",
    "check_database_laws",
    "check_migrations_reversible",
    "database_differences",
    "destroyed",
    "format_state",
    "schema_differences",
]

#: The laws that need a database.
DATABASE_LAWS = ("agreement", "reversal")
_MYSQL_ROW_TOO_LARGE = "error 1118"
_SQL_FIX = "its SQL: database_forwards and database_backwards, or forwards_sql and backwards_sql"


def format_state(state: ProjectState) -> str:
    """Return a state as readable lines: each model's table, fields, indexes and constraints; views."""
    lines = []
    for model in state:
        lines.append(f"  {model.label} (table {model.db_table}{'' if model.managed else ', unmanaged'}):")
        lines.extend(f"    {field.describe()}" for field in model.fields)
        lines.extend(f"    {index.describe()}" for index in model.indexes)
        lines.extend(f"    {constraint.describe()}" for constraint in model.constraints)
        lines.extend(f"    unique_together {list(entry.fields)}" for entry in model.unique_together)
    lines.extend(f"  view {name}: {state.views[name].sql}" for name in sorted(state.views))
    lines.extend(f"  extension {name}" for name in sorted(state.extensions))
    return "\n".join(lines) or "  (empty: no models)"


def _violation(
    law: str, operation: Operation, state: ProjectState, problem: str, backend: str, sql: Sequence[str] = ()
) -> LawViolation:
    details = [f"Backend: {backend}", f"Operation: {operation!r}", "State before it:", format_state(state)]
    for direction, text in zip(("forwards", "backwards"), sql, strict=False):
        details += [f"SQL that ran {direction}:", text]
    return LawViolation(law, repr(operation.describe()), problem, details="\n".join(details), fix=_SQL_FIX)


# -- what an operation may destroy ----------------------------------------------------------------


def _field_storage(state: ProjectState, app: str, model: str, name: str) -> Lost:
    found = state.model(app, model)
    field: FieldState = found.field(name)
    if field.column is not None:
        return frozenset({(found.db_table, field.column)})
    relation = field.relation
    if relation is not None and relation.db_table and not relation.through:
        return frozenset({(relation.db_table, None)})
    return frozenset()


def _model_storage(state: ProjectState, app: str, name: str) -> Lost:
    lost: set[tuple[str, str | None]] = {(state.model(app, name).db_table, None)}
    for field in state.model(app, name).fields:
        if field.column is None:
            lost |= _field_storage(state, app, name, field.name)
    return frozenset(lost)


def _changed_storage(before: ProjectState, after: ProjectState, dialect: Dialect) -> Lost:
    """Return the tables and columns of ``before`` that ``after`` lacks or defines otherwise."""
    new = {table.name: table for table in schema_of(after, dialect).tables}
    lost: set[tuple[str, str | None]] = set()
    for table in schema_of(before, dialect).tables:
        other = new.get(table.name)
        if other is None:
            lost.add((table.name, None))
            continue
        lost |= {(table.name, column.name) for column in table.columns if column not in other.columns}
    return frozenset(lost)


def destroyed(operation: Operation, state: ProjectState, dialect: Dialect) -> Lost:
    """Return the ``(table, column)`` pairs whose values ``operation`` may lose (column None: the table).

    Built-in operations say exactly; a custom one with ``destroys_data`` may lose every
    column it drops or redefines; any other must keep every value.
    """
    if isinstance(operation, SeparateDatabaseAndState):
        lost: set[tuple[str, str | None]] = set()
        for inner in operation.database_operations:
            lost |= destroyed(inner, state, dialect)
            state = inner.state_forwards(state)
        return frozenset(lost)
    if isinstance(operation, RemoveField | AlterField):
        return _field_storage(state, operation.app_label, operation.model_name, operation.name)
    if isinstance(operation, DeleteModel):
        return _model_storage(state, operation.app_label, operation.name)
    if getattr(operation, "destroys_data", False):
        return _changed_storage(state, operation.state_forwards(state), dialect)
    return frozenset()


# -- the database laws ------------------------------------------------------------------------------


def all_managed(state: ProjectState, *, without_options: bool = False) -> ProjectState:
    """Return ``state`` with every model managed: a server checks that a foreign key's table exists.

    ``without_options`` also drops table options: MySQL refuses a foreign key between string
    columns of two collations (errno 150), which generated ``charset`` options give.
    """
    if all(model.managed and not (without_options and model.options) for model in state):
        return state
    return ProjectState(
        models=[
            attrs.evolve(model, managed=True, options={} if without_options else model.options)
            for model in state
        ],
        extensions=state.extensions,
        collations=state.collations,
        views=state.views,
    )


def in_any_column_order(schema: DatabaseSchema) -> DatabaseSchema:
    """Return ``schema`` with each table's columns sorted by name (servers add columns last)."""
    return DatabaseSchema(
        [attrs.evolve(table, columns=sorted(table.columns, key=lambda c: c.name)) for table in schema.tables]
    )


# Schema part -> what one item of it is called in a report.
_PARTS = {
    "columns": "column",
    "indexes": "index",
    "uniques": "unique constraint",
    "checks": "check constraint",
    "foreign_keys": "foreign key",
}


def _shown(item: attrs.AttrsInstance) -> str:
    """Return an item's attributes but its name, e.g. ``type='integer', null=False``."""
    return ", ".join(f"{k}={v!r}" for k, v in attrs.asdict(item, recurse=False).items() if k != "name")


def schema_differences(expected: DatabaseSchema, found: DatabaseSchema) -> tuple[str, ...]:
    """Return, item by item, how the ``found`` schema differs from the ``expected`` one (empty: equal)."""
    lines: list[str] = []
    wanted, got = {t.name: t for t in expected.tables}, {t.name: t for t in found.tables}
    for name in sorted(set(wanted) | set(got)):
        want, have = wanted.get(name), got.get(name)
        if want is None or have is None:
            lines.append(f"table {name} {'is missing' if have is None else 'should not be there'}")
            continue
        for part, singular in _PARTS.items():
            mine = {item.name or repr(item): item for item in getattr(want, part)}
            theirs = {item.name or repr(item): item for item in getattr(have, part)}
            for key in sorted(set(mine) | set(theirs)):
                if key not in theirs:
                    lines.append(f"table {name}: {singular} {key} is missing ({_shown(mine[key])})")
                elif key not in mine:
                    lines.append(
                        f"table {name}: {singular} {key} should not be there ({_shown(theirs[key])})"
                    )
                elif mine[key] != theirs[key]:
                    lines.append(
                        f"table {name}: {singular} {key} has {_shown(theirs[key])}; the state says "
                        f"{_shown(mine[key])}"
                    )
        if not lines and (want.columns != have.columns or want.primary_key != have.primary_key):
            order = [c.name for c in have.columns], [c.name for c in want.columns]
            lines.append(
                f"table {name}: columns in the order {order[0]} (key {have.primary_key}); the state "
                f"says {order[1]} (key {want.primary_key})"
            )
    return tuple(lines)


def database_differences(
    scratch: ScratchDatabase, backend: Backend, state: ProjectState, *, any_column_order: bool = False
) -> tuple[str, ...]:
    """Return how the database differs from ``state`` (tables, views; dangling keys on SQLite)."""
    expected = schema_of(state, scratch.dialect)
    if scratch.dialect.name == "mysql":
        expected = fold_unique_indexes(expected)  # MySQL keeps unique indexes as unique constraints
    found = schema_from_catalog(backend.catalog(), scratch.dialect)
    if any_column_order:
        expected, found = in_any_column_order(expected), in_any_column_order(found)
    lines = list(schema_differences(expected, found))
    lines += view_differences(
        state.views, database_views(backend, scratch.dialect.name), scratch.dialect.name
    )
    if scratch.is_sqlite:
        lines += [f"row {row!r} breaks a foreign key" for row in backend.query("PRAGMA foreign_key_check")]
    return tuple(lines)


def _no_code(step: OperationSQL) -> None:
    """Stand in for RunCode callables (generated paths name no code)."""


def _code_caller(
    backend: Backend, migration: Migration, before: ProjectState
) -> Callable[[OperationSQL], None]:
    """Return what calls a RunCode step as ``migrate`` does: connection, and the state at its operation."""

    def call(step: OperationSQL) -> None:
        state = before
        for operation in migration.operations[: min(step.operation_indexes, default=0)]:
            state = operation.state_forwards(state)
        import_dotted(step.code or "")(backend.connection, state)

    return call


@attrs.frozen
class _Example:
    """One operation on one state on one backend, with its plans."""

    operation: Operation
    state: ProjectState
    after: ProjectState
    forwards: MigrationSQL
    backwards: MigrationSQL | None
    run_code: bool = True

    def violation(
        self, law: str, problem: str, scratch: ScratchDatabase, *, back: bool = False
    ) -> LawViolation:
        sql = [self.forwards.describe()]
        if back and self.backwards is not None:
            sql.append(self.backwards.describe())
        return _violation(law, self.operation, self.state, problem, scratch.label, sql)


def _run(
    example: _Example,
    plan: MigrationSQL,
    backend: Backend,
    may_fail: bool,
    law: str,
    scratch: ScratchDatabase,
) -> bool:
    """Run ``plan``; return False if it failed where it ``may_fail`` (rows), leaving the database as it was.

    Raises:
        LawViolation: it failed where it may not, or left the database changed.
    """
    # MySQL commits DDL at once: a failed run cannot be undone there, so that is not checked.
    checked = may_fail and backend.transactional_ddl
    before = scratch.snapshot(backend, plan.before) if checked else None
    try:
        migration = Migration("0001_law", "laws", operations=[example.operation])
        call = _code_caller(backend, migration, example.state) if example.run_code else _no_code
        run_sql(backend, plan, call_code=call)
    except DatabaseError as error:
        problem = "" if may_fail else f"its statements failed: {error}"
        if checked and scratch.snapshot(backend, plan.before) != before:
            problem = f"its statements failed ({error}) and left the database changed"
        if problem:
            raise example.violation(law, problem, scratch, back=plan.backwards) from error
        return False
    return True


def _check_start(scratch: ScratchDatabase, backend: Backend, example: _Example) -> bool:
    """Build the example's state and check it reads back as itself (law 3 for its CreateModels).

    Return False if the dialect refuses the state (a partial index on MySQL, say).

    Raises:
        LawViolation: the state cannot be built, or reads back otherwise: a limit of the
            dialect for this state, not the operation's fault.
    """
    try:
        scratch.build(backend, example.state)
        problems = database_differences(scratch, backend, example.state)
    except UnsupportedOperation:
        return False
    except DatabaseError as error:
        if _MYSQL_ROW_TOO_LARGE in error.reason:
            return False  # MySQL's row size limit refuses some tables of long varchars
        problems = (f"building it failed: {error}",)
    if problems:
        details = f"Backend: {scratch.label}\nState:\n{format_state(example.state)}"
        raise LawViolation(
            "agreement",
            "(none: the starting state itself)",
            f"the state does not read back as itself ({'; '.join(problems)}); the operation is not at "
            "fault: report the state, or keep such states out with the states= strategy",
            details=details,
        )
    return True


def _check_example(
    scratch: ScratchDatabase, example: _Example, laws: Collection[str], rows: bool
) -> bool | None:
    """Check agreement and reversal on a fresh database.

    Return False if the rows made a run fail, None if the dialect refuses the state.
    """
    backend = scratch.fresh()
    if not _check_start(scratch, backend, example):
        return None
    if rows:
        scratch.fill(backend, example.state)
    lost = destroyed(example.operation, example.state, scratch.dialect)
    kept = scratch.rows(backend, example.state, lost)
    if not _run(example, example.forwards, backend, rows, "agreement", scratch):
        return False
    if "agreement" in laws:
        problems = database_differences(scratch, backend, example.after)
        if problems:
            raise example.violation(
                "agreement",
                "after its statements the database differs from its state: " + "; ".join(problems),
                scratch,
            )
    if "reversal" not in laws or example.backwards is None:
        return True
    if not _run(example, example.backwards, backend, rows and bool(lost), "reversal", scratch):
        return False
    problems = database_differences(scratch, backend, example.state, any_column_order=not scratch.is_sqlite)
    if not problems and scratch.rows(backend, example.state, lost) != kept:
        problems = ("rows in the columns it does not destroy changed (set destroys_data if it loses values)",)
    if problems:
        raise example.violation(
            "reversal",
            "forwards then backwards does not restore the database: " + "; ".join(problems),
            scratch,
            back=True,
        )
    return True


def check_database_laws(
    operation: Operation,
    state: ProjectState,
    scratch: ScratchDatabase,
    *,
    laws: Collection[str] = DATABASE_LAWS,
    rows: bool = True,
    run_code: bool = True,
) -> bool:
    """Check agreement and reversal of ``operation`` on ``state``; False if the backend refuses either.

    With ``rows``, the tables hold rows first; when the rows make a run fail (a unique
    constraint over duplicates), the run must leave the database as it was, and the
    laws are checked again without rows. Without ``run_code``, RunCode steps call nothing.

    Raises:
        LawViolation: a law broke (the message holds the state and the SQL that ran).
    """
    migration = Migration("0001_law", "laws", operations=[operation])
    try:
        forwards = scratch.dialect.plan_migration(migration, state)
        backwards = (
            scratch.dialect.plan_migration(migration, state, backwards=True) if operation.reversible else None
        )
    except UnsupportedOperation:
        return False
    except IrreversibleOperation as error:
        raise _violation(
            "reversal",
            operation,
            state,
            f"it says it is reversible, but planning backwards raised: {error}",
            scratch.label,
        ) from error
    example = _Example(operation, state, forwards.after, forwards, backwards, run_code)
    checked = _check_example(scratch, example, laws, rows)
    if checked is False and rows:
        _check_example(scratch, example, laws, False)
    return checked is not None


# -- a whole history ---------------------------------------------------------------------------------


def check_migrations_reversible(graph: MigrationGraph, *, database_url: str = "sqlite") -> tuple[str, ...]:
    """Run every migration forwards, backwards and forwards again; return the problems found (empty: none).

    After each run the database must equal the replayed state (tables and views).
    RunCode callables are called as ``migrate`` calls them. The check stops at the first
    migration whose run fails or leaves the database unlike its state.

    Raises:
        InvalidValue: ``database_url`` names a server database whose name lacks ``test``.
    """
    scratch = ScratchDatabase(database_url)
    problems: list[str] = []
    try:
        backend = scratch.fresh()
        state = ProjectState()
        for key in graph.forwards_plan():
            migration = graph.migration(key)
            label = f"{key[0]}.{key[1]}"
            try:
                forwards = scratch.dialect.plan_migration(migration, state)
                runs = [("applying", forwards)]
                blocking = [op.describe() for op in migration.operations if not op.reversible]
                if blocking:
                    problems.append(f"{label} cannot be reversed: {'; '.join(blocking)}")
                else:
                    backwards = scratch.dialect.plan_migration(migration, state, backwards=True)
                    runs += [("unapplying", backwards), ("applying it again", forwards)]
                for what, plan in runs:
                    run_sql(backend, plan, call_code=_code_caller(backend, migration, state))
                    found = database_differences(scratch, backend, plan.after)
                    if found:
                        problems.append(
                            f"{label}: after {what}, the database differs from the state: {'; '.join(found)}"
                        )
                        return tuple(problems)
            except MigrationError as error:
                problems.append(f"{label}: {error}")
                return tuple(problems)
            except Exception as error:
                # A RunCode callable's own error: reported like the others, the check ends here.
                problems.append(f"{label}: its code raised {type(error).__name__}: {error}")
                return tuple(problems)
            state = forwards.after
        return tuple(problems)
    finally:
        scratch.close()

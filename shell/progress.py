"""Progress of migrations on databases whose DDL is not transactional (MySQL, MariaDB).

Theory of operation
-------------------
MySQL commits every DDL statement by itself, so a migration failing in its middle
leaves the statements before the failure applied, whatever the executor does. Instead
of pretending otherwise, the executor runs such a migration *action by action* (an
action is one statement, or one RunCode call) and, after each, writes how far its
operation got into a progress table next to the recorder's (``<recorder>_progress``):
one row per operation that has moved, ``(app, name, operation, direction, checksum,
done, total)``. A data change and its progress row share a transaction; a DDL
statement commits on its own, and its row follows at once.

A migration's *base* is where the recorder puts it: not applied, or applied. Its *far*
direction leaves the base: forwards for an unrecorded migration, backwards for a
recorded one. A row says how operation ``operation`` (its index) moved:

- ``direction`` far and ``done == total``: the operation is on the far side;
- ``direction`` far and ``done < total``: it is half moved: ``done`` actions ran;
- ``direction`` toward the base: it was on the far side and is half moved back.

No row: the operation is at the base. So the rows say exactly what the database
holds, and the executor can:

- *continue* a migration the plan takes to its far side: operations on the far side
  are skipped, a half-moved one continues at its next action (if it is unchanged: the
  checksum of its canonical JSON must match), the others run; the recorder row is
  written and the progress rows removed in one transaction at the end;
- *revert* a migration the plan leaves at its base (``migrate APP PREVIOUS`` after a
  failed forwards run): the operations on the far side move back in reverse order,
  each row removed once its operation is back.

Half an operation cannot be reverted (its undo is not known): the error names the
statements that ran, to undo by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence, Set

import attrs

from reinhardt_migrations.pure.dialects import Dialect, dialect_for
from reinhardt_migrations.pure.dialects.base import MigrationSQL, OperationSQL
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.serialize import operation_to_data
from reinhardt_migrations.pure.sql import Statement, render_literal
from reinhardt_migrations.shell.backends.base import Backend
from reinhardt_migrations.shell.errors import DatabaseError, InterruptedMigration, ProgressMismatch

__all__ = [
    "PROGRESS_SUFFIX",
    "Action",
    "MigrationProgress",
    "OperationProgress",
    "ProgressStore",
    "operation_actions",
    "operation_checksum",
    "partial_advice",
    "previous_target",
    "recovery_advice",
    "run_with_progress",
    "settled_migrations",
]

#: The progress table is the recorder's table name with this suffix.
PROGRESS_SUFFIX = "_progress"

_COLUMNS = (
    ("app", "VARCHAR(255) NOT NULL"),
    ("name", "VARCHAR(255) NOT NULL"),
    ("operation", "INTEGER NOT NULL"),
    ("direction", "VARCHAR(9) NOT NULL"),
    ("checksum", "VARCHAR(64) NOT NULL"),
    ("done", "INTEGER NOT NULL"),
    ("total", "INTEGER NOT NULL"),
)


def operation_checksum(operation: Operation) -> str:
    """Return the hex SHA-256 of an operation's canonical JSON (its identity across runs)."""
    text = json.dumps(operation_to_data(operation), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class OperationProgress:
    """One progress row: how far operation ``operation`` moved in ``direction`` (``done`` of ``total``)."""

    operation: int
    direction: str
    checksum: str
    done: int
    total: int

    @property
    def complete(self) -> bool:
        """Tell whether every action of the move ran."""
        return self.done >= self.total


@attrs.frozen
class MigrationProgress:
    """The progress rows of one migration, by operation index."""

    key: MigrationKey
    operations: tuple[OperationProgress, ...]

    def get(self, operation: int) -> OperationProgress | None:
        """Return the row of ``operation``, or None (the operation is at the migration's base)."""
        return next((row for row in self.operations if row.operation == operation), None)


class ProgressStore:
    """Reads and writes the progress table of one database (created on first use)."""

    __slots__ = ("_ready", "backend", "dialect", "table")

    def __init__(self, backend: Backend, table: str) -> None:
        """Use the progress table ``table`` on ``backend``."""
        self.backend = backend
        self.dialect: Dialect = dialect_for(backend.dialect)
        self.table = table
        self._ready = False

    def _literal(self, value: object) -> str:
        return render_literal(value, self.dialect.name)

    def _where(self, key: MigrationKey, operation: int | None = None) -> str:
        quote = self.dialect.quote
        where = f"{quote('app')} = {self._literal(key[0])} AND {quote('name')} = {self._literal(key[1])}"
        if operation is not None:
            where += f" AND {quote('operation')} = {operation}"
        return where

    def create_statement(self) -> Statement:
        """Return the statement creating the progress table if it does not exist."""
        quote = self.dialect.quote
        columns = ", ".join(f"{quote(name)} {sql}" for name, sql in _COLUMNS)
        key_columns = ", ".join(quote(name) for name in ("app", "name", "operation"))
        key = f"{quote(self.table + '_pk')} PRIMARY KEY ({key_columns})"
        return Statement(f"CREATE TABLE IF NOT EXISTS {quote(self.table)} ({columns}, CONSTRAINT {key})")

    def ensure_table(self) -> None:
        """Create the progress table if it does not exist.

        Raises:
            DatabaseError: the table cannot be created.
        """
        if self._ready:
            return
        if not self.backend.has_table(self.table):
            self.backend.execute([self.create_statement()])
        self._ready = True

    def read(self) -> dict[MigrationKey, MigrationProgress]:
        """Return the progress of every half-run migration, by key (empty when none).

        Raises:
            DatabaseError: the table cannot be read.
        """
        if not self._ready and not self.backend.has_table(self.table):
            return {}
        quote = self.dialect.quote
        columns = ", ".join(quote(name) for name, _sql in _COLUMNS)
        grouped: dict[MigrationKey, list[OperationProgress]] = {}
        for app, name, operation, direction, checksum, done, total in self.backend.query(
            f"SELECT {columns} FROM {quote(self.table)}"
        ):
            row = OperationProgress(int(operation), str(direction), str(checksum), int(done), int(total))
            grouped.setdefault((str(app), str(name)), []).append(row)
        return {
            key: MigrationProgress(key, tuple(sorted(rows, key=lambda r: r.operation)))
            for key, rows in sorted(grouped.items())
        }

    def write_statement(self, key: MigrationKey, row: OperationProgress, *, exists: bool) -> Statement:
        """Return the statement storing ``row`` (an UPDATE when the operation has a row already)."""
        quote = self.dialect.quote
        if exists:
            sets = ", ".join(
                f"{quote(column)} = {self._literal(value)}"
                for column, value in (
                    ("direction", row.direction),
                    ("checksum", row.checksum),
                    ("done", row.done),
                    ("total", row.total),
                )
            )
            return Statement(f"UPDATE {quote(self.table)} SET {sets} WHERE {self._where(key, row.operation)}")
        values = (key[0], key[1], row.operation, row.direction, row.checksum, row.done, row.total)
        columns = ", ".join(quote(name) for name, _sql in _COLUMNS)
        rendered = ", ".join(self._literal(value) for value in values)
        return Statement(f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({rendered})")

    def delete_statement(self, key: MigrationKey, operation: int) -> Statement:
        """Return the statement removing the row of one operation (it is back at its base)."""
        return Statement(f"DELETE FROM {self.dialect.quote(self.table)} WHERE {self._where(key, operation)}")

    def clear_statement(self, key: MigrationKey) -> Statement:
        """Return the statement removing every row of the migration ``key``."""
        return Statement(f"DELETE FROM {self.dialect.quote(self.table)} WHERE {self._where(key)}")

    def row_sql(self, key: MigrationKey, operation: int) -> str:
        """Return the SQL a person runs to forget one operation's progress (after undoing it by hand)."""
        return self.delete_statement(key, operation).sql


@attrs.frozen
class Action:
    """One thing a plan runs: a statement, or (``statement`` None) the RunCode call of ``step``."""

    operation: int
    step: OperationSQL
    statement: Statement | None = None

    def describe(self) -> str:
        """Return the statement's SQL, or the call."""
        return self.statement.sql if self.statement is not None else f"-- calls {self.step.code}"


def operation_actions(sql: MigrationSQL) -> list[tuple[int, list[Action]]]:
    """Return the plan's actions grouped by operation, in the order they run.

    A step belongs to its first operation index (MySQL plans give each step one; every
    step of ``BaseDialect.plan_migration`` names at least one).
    """
    groups: list[tuple[int, list[Action]]] = []
    for step in sql.steps:
        operation = step.operation_indexes[0]
        if not groups or groups[-1][0] != operation:
            groups.append((operation, []))
        actions = groups[-1][1]
        if step.code is not None:
            actions.append(Action(operation, step))
        actions.extend(Action(operation, step, statement) for statement in step.statements)
    return groups


@attrs.frozen
class _Report:
    """What an interrupted run did, for the error."""

    done: tuple[str, ...]
    failed: str
    ran: tuple[str, ...]
    total: int
    pending: tuple[str, ...]


def run_with_progress(
    backend: Backend,
    store: ProgressStore,
    migration: Migration,
    sql: MigrationSQL,
    rows: MigrationProgress | None,
    *,
    recorded: bool,
    call_code: Callable[[OperationSQL], None],
    finish: Sequence[Statement],
    advice: Callable[[int, int], str],
) -> tuple[Statement, ...]:
    """Run ``sql`` action by action, recording progress; return every statement that ran.

    ``recorded`` says whether the recorder has the migration now (its base). A plan in
    the far direction continues the migration and ends with ``finish`` (the recorder
    statements), which also removes the migration's progress rows; a plan toward the
    base moves back only the operations the rows put on the far side.
    ``advice(operation, done)`` returns the recovery text for a failure at an operation
    after ``done`` actions.

    Round trips are kept to what MySQL needs: a statement marked not transactional (DDL,
    which commits by itself) runs alone and its progress row follows; a data change or a
    RunCode call shares a transaction with its row. The last action writes no row: the
    closing ``finish`` replaces it, in the same transaction when the action is a data
    change.

    Raises:
        ProgressMismatch: the rows cannot be continued (an operation changed, or is half moved
            the other way); nothing ran.
        InterruptedMigration: a statement failed; what ran before it stays, and is recorded.
    """
    direction = "backwards" if sql.backwards else "forwards"
    far = direction == ("backwards" if recorded else "forwards")
    label = f"{migration.app_label}.{migration.name}"
    todo = []
    done_labels = []
    for operation, actions in operation_actions(sql):
        row = rows.get(operation) if rows is not None else None
        start = _start(label, migration, store, operation, actions, row, direction, far)
        if start is not None and start < 0:
            done_labels.append(_operation_label(migration, operation))
        elif start is not None:
            todo.append((operation, actions, start, row))
    last = max((i for i, (_op, actions, start, _row) in enumerate(todo) if start < len(actions)), default=-1)
    wrote = bool(rows is not None and rows.operations)
    ran: list[Statement] = []
    backend.execute(sql.setup)
    ran.extend(sql.setup)
    try:
        for position, (operation, actions, start, row) in enumerate(todo):
            exists = row is not None
            checksum = operation_checksum(migration.operations[operation])
            for number in range(start, len(actions)):
                action = actions[number]
                final = position == last and number == len(actions) - 1
                if final:
                    closing = (
                        *sql.checks,
                        *finish,
                        *((store.clear_statement(migration.key),) if wrote else ()),
                    )
                else:
                    moved = OperationProgress(operation, direction, checksum, number + 1, len(actions))
                    back_home = not far and moved.complete
                    closing = (
                        store.delete_statement(migration.key, operation)
                        if back_home
                        else store.write_statement(migration.key, moved, exists=exists),
                    )
                    exists, wrote = not back_home, wrote or not back_home
                try:
                    _run_action(backend, action, closing, call_code)
                except (DatabaseError, _BookkeepingFailed) as failure:
                    # A failed bookkeeping write comes after its statement ran (a lost connection).
                    error, through = (
                        (failure.error, number + 1)
                        if isinstance(failure, _BookkeepingFailed)
                        else (failure, number)
                    )
                    hint = advice(operation, through)
                    if not done_labels and not through:
                        hint = "Nothing of the migration ran: fix the cause and run migrate again."
                    if isinstance(failure, _BookkeepingFailed):
                        written = "; ".join(statement.sql for statement in closing)
                        hint = f"Its statement ran but was not recorded: first run {written}. {hint}"
                    report = _Report(
                        tuple(done_labels),
                        _operation_label(migration, operation),
                        tuple(a.describe() for a in actions[:through]),
                        len(actions),
                        tuple(_operation_label(migration, op) for op, *_rest in todo[position + 1 :]),
                    )
                    interrupted = _interrupted(error, label, direction, far, recorded, report, hint)
                    raise interrupted from (error.__cause__ or error)
                except Exception as error:
                    error.add_note(
                        f"raised by RunCode {action.step.code} in migration {label}, operation "
                        f"{_operation_label(migration, operation)}; MySQL keeps what ran before it. "
                        + advice(operation, number)
                    )
                    raise
                ran.extend((*((action.statement,) if action.statement else ()), *closing))
            done_labels.append(_operation_label(migration, operation))
        if last < 0:
            closing = (*sql.checks, *finish, *((store.clear_statement(migration.key),) if wrote else ()))
            _run_closing(backend, closing)
            ran.extend(closing)
    finally:
        if sql.teardown:
            backend.execute(sql.teardown)
    ran.extend(sql.teardown)
    return tuple(ran)


class _BookkeepingFailed(Exception):
    """The progress or recorder write after a DDL statement failed; the statement itself ran."""

    def __init__(self, error: DatabaseError) -> None:
        super().__init__(str(error))
        self.error = error


def _run_action(
    backend: Backend, action: Action, closing: Sequence[Statement], call_code: Callable[[OperationSQL], None]
) -> None:
    """Run one action and the bookkeeping after it: together when the action is a data change."""
    if action.statement is not None and not action.statement.transactional:
        # DDL commits by itself: a transaction around it would only cost round trips.
        backend.execute([action.statement])
        try:
            _run_closing(backend, closing)
        except DatabaseError as error:
            raise _BookkeepingFailed(error) from error
        return
    with backend.atomic():
        if action.statement is None:
            call_code(action.step)
        else:
            backend.execute([action.statement])
        backend.execute(closing)


def _run_closing(backend: Backend, closing: Sequence[Statement]) -> None:
    """Run bookkeeping statements: one alone (atomic by itself), several in a transaction."""
    if len(closing) == 1:
        backend.execute(closing)
    elif closing:
        with backend.atomic():
            backend.execute(closing)


def _start(
    label: str,
    migration: Migration,
    store: ProgressStore,
    operation: int,
    actions: Sequence[Action],
    row: OperationProgress | None,
    direction: str,
    far: bool,
) -> int | None:
    """Return the action an operation starts at (-1: already on the far side; None: nothing to do).

    Raises:
        ProgressMismatch: the row cannot be continued.
    """
    if row is None:
        # At the base: run it when moving away; nothing to revert otherwise.
        return 0 if far else None
    what = _operation_label(migration, operation)
    if row.checksum != operation_checksum(migration.operations[operation]):
        raise ProgressMismatch(
            label,
            f"operation {what} changed since {row.done} of its actions ran",
            "Restore the operation as it was and run migrate again, or undo what it ran by hand, then "
            f"forget its progress: {store.row_sql(migration.key, operation)}",
        )
    moving_same_way = row.direction == direction
    if moving_same_way and row.total != len(actions):
        raise ProgressMismatch(
            label,
            f"operation {what} has {len(actions)} statement(s) now, {row.total} when it ran",
            "The state before the migration changed since; restore the history as it was, or undo the "
            f"operation by hand and forget its progress: {store.row_sql(migration.key, operation)}",
        )
    if far:
        if not moving_same_way:
            raise ProgressMismatch(
                label,
                f"operation {what} is half moved back ({row.done} of {row.total} actions)",
                f"Finish moving it back first (run the migrate command that started that again), or repair "
                f"it by hand and forget its progress: {store.row_sql(migration.key, operation)}",
            )
        return -1 if row.complete else row.done
    if moving_same_way:
        return row.done
    if not row.complete:
        raise ProgressMismatch(
            label,
            f"operation {what} is half done ({row.done} of {row.total} actions), and half an operation "
            "cannot be undone automatically",
            "Finish it (run migrate up to this migration), or undo its statements by hand and forget its "
            f"progress: {store.row_sql(migration.key, operation)}",
        )
    return 0


def _operation_label(migration: Migration, index: int) -> str:
    if 0 <= index < len(migration.operations):
        return f"#{index + 1} ({migration.operations[index].describe()})"
    return f"#{index + 1}"


def _interrupted(
    error: DatabaseError,
    label: str,
    direction: str,
    far: bool,
    recorded: bool,
    report: _Report,
    advice: str,
) -> InterruptedMigration:
    if far:
        verb = "applying it" if direction == "forwards" else "unapplying it"
    else:
        verb = "undoing its applied part" if direction == "backwards" else "re-applying its undone part"
    return InterruptedMigration(
        error.statement,
        error.reason,
        migration=label,
        operation=report.failed,
        while_doing=verb,
        done=report.done,
        ran=report.ran,
        total=report.total,
        pending=report.pending,
        recorded=recorded,
        advice=advice,
    )


def previous_target(graph: MigrationGraph, key: MigrationKey) -> str:
    """Return the migration of the same app that ``key`` follows (its target to undo it), or ``zero``."""
    own = {dependency for dependency in graph.migration(key).dependencies if dependency[0] == key[0]}
    earlier = [node for node in graph.nodes if node in own]
    return earlier[-1][1] if earlier else "zero"


def recovery_advice(
    key: MigrationKey,
    previous: str,
    *,
    backwards: bool,
    recorded: bool,
    operation: int,
    done: int,
    forget: str,
) -> str:
    """Return how to finish, or go back from, a run interrupted at ``operation`` after ``done`` actions.

    ``forget`` is the SQL that drops the operation's progress row (after undoing it by hand).
    """
    app, name = key
    number = f"#{operation + 1}"
    at = f"operation {number}" + (f", statement {done + 1}" if done else "")
    far = backwards == recorded
    if far and not backwards:
        finish = (
            f"fix the cause (the data, or operation {number} in the migration file) and run migrate again"
        )
        back = f"`rmig migrate {app} {previous}` undoes the operations that are through"
        again = f"`rmig migrate {app} {name}`"
    elif far:
        finish = "fix the cause and run the same migrate command again"
        back = f"`rmig migrate {app} {name}` re-applies the operations already undone"
        again = f"`rmig migrate {app} {previous}`"
    elif backwards:
        finish = "fix the cause and run the same migrate command again"
        back = f"`rmig migrate {app} {name}` applies the rest of the migration instead"
        again = f"`rmig migrate {app} {previous}`"
    else:
        finish = "fix the cause and run the same migrate command again"
        back = f"`rmig migrate {app} {previous}` unapplies the migration instead"
        again = f"`rmig migrate {app} {name}`"
    text = f"To finish: {finish} (e.g. {again}); it skips what is done and continues at {at}."
    if done:
        return (
            f"{text} Operation {number} is half done, so to go back instead first undo its statement(s) "
            f"that ran by hand and forget its progress ({forget}); then {back}."
        )
    return f"{text} To go back instead: {back}."


def partial_advice(
    graph: MigrationGraph, store: ProgressStore, key: MigrationKey, backwards: bool, recorded: bool
) -> Callable[[int, int], str]:
    """Return ``advice(operation, done)`` for ``run_with_progress`` running ``key`` (``recovery_advice``)."""
    previous = previous_target(graph, key)

    def advice(operation: int, done: int) -> str:
        forget = store.row_sql(key, operation)
        return recovery_advice(
            key,
            previous,
            backwards=backwards,
            recorded=recorded,
            operation=operation,
            done=done,
            forget=forget,
        )

    return advice


def settled_migrations(
    graph: MigrationGraph,
    partial: Mapping[MigrationKey, MigrationProgress],
    planned: Set[MigrationKey],
    targets: Sequence[MigrationKey] | None,
    store: ProgressStore | None,
) -> Iterator[tuple[MigrationKey, Migration]]:
    """Yield the half-run migrations a run leaves out of its plan, each with the operations to move back.

    A run whose targets name the migration's app (or every app) moves it back to its
    base: for an unrecorded one, the operations up to the last that ran (the others
    need not be reversible); for a recorded one, all of them (only those with rows run).

    Raises:
        ProgressMismatch: the targets leave its app alone, so the run would leave it half
            run; or its migration file is gone.
    """
    apps = None if targets is None else {app for app, _name in targets}
    for key, rows in partial.items():
        if key in planned:
            continue
        label = f"{key[0]}.{key[1]}"
        if key not in graph:
            forget = store.clear_statement(key).sql if store is not None else ""
            raise ProgressMismatch(
                label, "its migration file is gone", f"Restore it, or repair by hand and run {forget}."
            )
        if apps is not None and key[0] not in apps:
            previous = previous_target(graph, key)
            raise ProgressMismatch(
                label,
                "this run would leave it half run",
                f"Finish it first (rmig migrate {key[0]} {key[1]}), "
                f"or undo it (rmig migrate {key[0]} {previous}).",
            )
        migration = graph.migration(key)
        last = rows.operations[-1].operation if rows.operations else -1
        forwards = all(row.direction == "forwards" for row in rows.operations)
        yield (
            key,
            (attrs.evolve(migration, operations=migration.operations[: last + 1]) if forwards else migration),
        )

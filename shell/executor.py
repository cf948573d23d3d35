"""MigrationExecutor: plans, previews and runs migrations on one database.

Theory of operation
-------------------
1. Read the recorder (the applied set), check the history is consistent and that no
   applied migration's file changed since (checksums), and ask the graph for the plan.
2. Render the whole plan before anything runs. States are replayed once along it:
   forwards, the state of the applied history is built once and each migration's
   ``after`` becomes the next one's ``before``; backwards, the applied history is
   replayed once, keeping the state before each migration to undo. Every
   irreversible operation and every operation the dialect cannot express is found
   here, so a plan that cannot finish never starts.
3. Run each migration in one transaction together with its recorder row: a failing
   statement rolls back the migration's statements and its row alike, and the error
   names the migration, the operation and the statement. Inside that transaction the
   recorder is read again, so a concurrent run that applied the migration first makes
   this run skip it instead of applying it twice.

Non-atomic migrations (``Migration.atomic=False``, or a statement marked
``transactional=False``) run operation by operation: the transactional statements of
one operation share a transaction, a non-transactional statement runs on its own, and
the recorder row is written last. A failure there leaves the operations before it
applied and the migration unrecorded; the error says so.

A backend whose DDL is not transactional (``backend.transactional_ddl`` False: MySQL,
MariaDB) runs every migration action by action instead, recording after each how far
its operation got (``shell/progress.py``): a failure reports exactly what ran, a later
run continues where it stopped, and a run whose targets leave a half-run migration
behind first undoes (or redoes) the part that ran.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.dialects.base import MigrationSQL, OperationSQL
from reinhardt_migrations.pure.graph import MigrationGraph, PlanStep
from reinhardt_migrations.pure.introspection import state_from_catalog
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.plan_render import (
    RenderedStep,
    history_order,
    render_plan,
    replay_applied,
    states_before,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends.base import Backend
from reinhardt_migrations.shell.errors import (
    ChecksumMismatch,
    DatabaseError,
    FakeInitialMismatch,
)
from reinhardt_migrations.shell.migrate_results import (
    MigrateResult,
    MigrationStatus,
    PreviewStep,
    ProgressCallback,
    ProgressEvent,
    StepResult,
)
from reinhardt_migrations.shell.progress import (
    PROGRESS_SUFFIX,
    MigrationProgress,
    ProgressStore,
    partial_advice,
    run_with_progress,
    settled_migrations,
)
from reinhardt_migrations.shell.recorder import (
    DEFAULT_TABLE,
    AppliedMigration,
    MigrationRecorder,
    migration_checksum,
    utc_now,
)

__all__ = [
    "MigrateResult",
    "MigrationExecutor",
    "MigrationStatus",
    "PreviewStep",
    "ProgressCallback",
    "ProgressEvent",
    "StepResult",
    "import_dotted",
    "run_sql",
]


def import_dotted(path: str) -> Callable[..., Any]:
    """Return the callable a dotted path ``package.module.function`` names.

    Raises:
        ImportError: the module or the attribute does not exist.
    """
    module_name, _, attribute = path.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        found: Callable[..., Any] = getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attribute!r} (RunCode path {path!r})") from None
    return found


def _label(key: MigrationKey) -> str:
    return f"{key[0]}.{key[1]}"


class MigrationExecutor:
    """Plans, previews and runs migrations on the database behind ``backend``."""

    def __init__(
        self,
        backend: Backend,
        migrations: MigrationGraph | Iterable[Migration],
        *,
        recorder_table: str = DEFAULT_TABLE,
        resolve_code: Callable[[str], Callable[..., Any]] = import_dotted,
        clock: Callable[[], str] = utc_now,
        checksums_from: MigrationGraph | None = None,
    ) -> None:
        """Run ``migrations`` (a graph, or migrations to build one from) on ``backend``.

        ``checksums_from`` is the graph whose migrations, as written in their files, the
        recorder's checksums are taken from (default: ``migrations``); a database of
        several gets its migrations with cross-database dependencies dropped, and their
        checksums must stay those of the files.

        Raises:
            GraphError: the migrations do not form a valid graph.
        """
        self.backend = backend
        self.graph = (
            migrations
            if isinstance(migrations, MigrationGraph)
            else MigrationGraph.from_migrations(migrations)
        )
        self.recorder = MigrationRecorder(backend, recorder_table, clock=clock)
        # Where DDL commits by itself (MySQL), migrations run action by action with progress rows.
        self.progress = (
            None if backend.transactional_ddl else ProgressStore(backend, recorder_table + PROGRESS_SUFFIX)
        )
        self.dialect = dialect_for(backend.dialect)
        self._resolve_code = resolve_code
        self._checksums_from = checksums_from if checksums_from is not None else self.graph

    # -- reading ---------------------------------------------------------------------

    def applied(self) -> dict[MigrationKey, AppliedMigration]:
        """Return the recorder's rows by key."""
        return self.recorder.applied()

    def plan(self, targets: Iterable[MigrationKey] | None = None) -> tuple[PlanStep, ...]:
        """Return the steps ``migrate(targets)`` would take (None: every leaf).

        Raises:
            InconsistentHistory: an applied migration has an unapplied dependency.
            UnknownMigration: a target does not exist.
        """
        recorded = frozenset(self.recorder.applied())
        return self._plan(targets, recorded)

    def _plan(
        self, targets: Iterable[MigrationKey] | None, recorded: frozenset[MigrationKey]
    ) -> tuple[PlanStep, ...]:
        self.graph.check_consistent(recorded)
        return self.graph.plan(None if targets is None else tuple(targets), recorded)

    def checksum_mismatches(
        self, records: dict[MigrationKey, AppliedMigration] | None = None
    ) -> tuple[tuple[MigrationKey, str, str], ...]:
        """Return ``(key, recorded checksum, file checksum)`` per applied migration whose file changed."""
        rows = self.recorder.applied() if records is None else records
        found = []
        for key, row in rows.items():
            if row.checksum and key in self.graph:
                current = self._checksum(key)
                if current != row.checksum:
                    found.append((key, row.checksum, current))
        return tuple(sorted(found))

    def status(self) -> tuple[MigrationStatus, ...]:
        """Return every migration of the graph in planning order, with its record and checksum state."""
        rows = self.recorder.applied()
        mismatched = {key for key, _old, _new in self.checksum_mismatches(rows)}
        result = []
        for key in self.graph.nodes:
            row = rows.get(key)
            matches = None if row is None or not row.checksum else key not in mismatched
            result.append(MigrationStatus(key, row is not None, row.applied if row else None, matches))
        return tuple(result)

    def preview(self, targets: Iterable[MigrationKey] | None = None) -> tuple[PreviewStep, ...]:
        """Return the statements ``migrate(targets)`` would run, migration by migration, running nothing.

        Raises:
            IrreversibleOperation: a backwards step meets an operation that cannot be undone.
            UnsupportedOperation: the dialect cannot express an operation.
            InconsistentHistory: an applied migration has an unapplied dependency.
        """
        targets = None if targets is None else tuple(targets)
        recorded = frozenset(self.recorder.applied())
        rendered = render_plan(
            self.graph, self.dialect, self._plan(targets, recorded), recorded, targets=targets
        )
        done = set(recorded)
        steps = []
        for item in rendered:
            record = self._record_statements(item.migration, item.step.backwards, done)
            steps.append(PreviewStep(item.step.key, item.step.backwards, item.migration, item.sql, record))
        return tuple(steps)

    # -- running ---------------------------------------------------------------------

    def migrate(
        self,
        targets: Iterable[MigrationKey] | None = None,
        *,
        fake: bool = False,
        fake_initial: bool = False,
        progress: ProgressCallback | None = None,
        verify_checksums: bool = True,
    ) -> MigrateResult:
        """Apply or unapply migrations to reach ``targets`` (None: every leaf).

        ``fake`` records (or unrecords) without running anything; ``fake_initial``
        records an initial migration without running it when the database already holds
        its tables and columns.

        Raises:
            ChecksumMismatch: an applied migration's file changed (unless ``verify_checksums`` is False).
            IrreversibleOperation: a backwards step cannot be undone (nothing ran).
            UnsupportedOperation: the dialect cannot express an operation (nothing ran).
            DatabaseError: a statement failed; that migration left no trace (on MySQL,
                ``InterruptedMigration``: what ran stays, recorded as progress).
            FakeInitialMismatch: ``fake_initial`` found part of an initial migration's schema.
            ProgressMismatch: a half-run migration (MySQL) cannot be continued or undone as it is.
        """
        targets = None if targets is None else tuple(targets)
        with self.backend.run_lock():
            self.recorder.ensure_table()
            if self.progress is not None:
                self.progress.ensure_table()
            records = self.recorder.applied()
            if verify_checksums:
                mismatches = self.checksum_mismatches(records)
                if mismatches:
                    raise ChecksumMismatch(mismatches)
            recorded = frozenset(records)
            # A fake run renders no SQL, so an irreversible migration can be faked backwards.
            rendered = render_plan(
                self.graph,
                self.dialect,
                self._plan(targets, recorded),
                recorded,
                with_sql=not fake,
                targets=targets,
            )
            partial = self.progress.read() if self.progress is not None else {}
            reverts = [] if fake else self._reverts(partial, rendered, targets, recorded)
            done = set(recorded)
            results = []
            steps = (*reverts, *rendered)
            for index, item in enumerate(steps, start=1):
                results.append(
                    self._run(
                        item,
                        index,
                        len(steps),
                        done,
                        fake,
                        fake_initial and index > len(reverts),
                        progress,
                        partial.get(item.step.key),
                    )
                )
            return MigrateResult(tuple(results))

    def _run(
        self,
        item: RenderedStep,
        index: int,
        total: int,
        done: set[MigrationKey],
        fake: bool,
        fake_initial: bool,
        progress: ProgressCallback | None,
        partial: MigrationProgress | None = None,
    ) -> StepResult:
        key, backwards = item.step.key, item.step.backwards
        faked = fake or (
            fake_initial and not backwards and item.migration.initial and self._initial_schema_exists(item)
        )
        if progress is not None:
            progress(ProgressEvent("start", key, backwards, index, total, fake=faked))
        started = time.perf_counter()
        record = self._record_statements(item.migration, backwards, done)
        if faked and partial is not None and self.progress is not None:
            record = (*record, self.progress.clear_statement(key))
        atomic = item.migration.atomic and bool(item.sql.atomic)
        if faked:
            ran, skipped = self._run_atomic(item, record, run_sql=False)
        elif self.progress is not None:
            ran, skipped = self._run_with_progress(item, record, partial, recorded=key in done), False
        elif atomic:
            ran, skipped = self._run_atomic(item, record, run_sql=True)
        else:
            ran, skipped = self._run_non_atomic(item, record), False
        if not skipped:
            if backwards:
                done.difference_update(self._recorded_keys(item.migration))
            else:
                done.update(self._recorded_keys(item.migration))
        seconds = time.perf_counter() - started
        if progress is not None:
            progress(ProgressEvent("done", key, backwards, index, total, faked, skipped, seconds))
        return StepResult(key, backwards, faked, skipped, ran, seconds)

    def _run_atomic(
        self, item: RenderedStep, record: tuple[Statement, ...], *, run_sql: bool
    ) -> tuple[tuple[Statement, ...], bool]:
        ran: list[Statement] = []
        sql = item.sql
        setup, checks, teardown = (sql.setup, sql.checks, sql.teardown) if run_sql else ((), (), ())
        try:
            self._execute(item, setup, "preparing the database", rolled_back=True)
            ran.extend(setup)
            try:
                with self.backend.atomic():
                    # Read again under the write lock: another run may have got here first.
                    if self._already_done(item.migration, item.step.backwards):
                        return (), True
                    if run_sql:
                        for step in sql.steps:
                            ran.extend(self._run_step(item, step, rolled_back=True))
                    self._execute(item, checks, "checking the result", rolled_back=True)
                    ran.extend(checks)
                    self._execute(item, record, "recording the migration", rolled_back=True)
                    ran.extend(record)
            except DatabaseError as error:
                if error.migration:
                    raise
                # BEGIN or COMMIT failed (a deferred foreign key left dangling, say).
                raise error.in_context(_label(item.step.key), "committing the migration") from (
                    error.__cause__ or error
                )
        finally:
            # Teardown runs after a failure too (it switches SQLite's foreign keys back on).
            if teardown:
                self.backend.execute(teardown)
        ran.extend(teardown)
        return tuple(ran), False

    def _run_with_progress(
        self,
        item: RenderedStep,
        record: tuple[Statement, ...],
        partial: MigrationProgress | None,
        *,
        recorded: bool,
    ) -> tuple[Statement, ...]:
        """Run one migration action by action, recording progress (``shell/progress.py``)."""
        assert self.progress is not None
        return run_with_progress(
            self.backend,
            self.progress,
            item.migration,
            item.sql,
            partial,
            recorded=recorded,
            call_code=lambda step: self._call_code(item, step, step.code or ""),
            finish=record,
            advice=partial_advice(self.graph, self.progress, item.step.key, item.sql.backwards, recorded),
        )

    def _reverts(
        self,
        partial: dict[MigrationKey, MigrationProgress],
        rendered: Sequence[RenderedStep],
        targets: tuple[MigrationKey, ...] | None,
        recorded: frozenset[MigrationKey],
    ) -> list[RenderedStep]:
        """Return the plans taking the half-run migrations this run leaves out back to their base.

        Raises:
            ProgressMismatch: the targets do not say what to do with one, or its file is gone.
        """
        reverts = []
        order = history_order(self.graph, recorded)
        applied = set(self.graph.applied_nodes(recorded))
        planned = {item.step.key for item in rendered}
        for key, ran in settled_migrations(self.graph, partial, planned, targets, self.progress):
            if key in recorded:
                # It failed midway backwards: redo the operations it undid.
                before = states_before(self.graph, order, applied, {key})[key]
                sql = self.dialect.plan_migration(ran, before)
            else:
                # It failed midway forwards: undo the operations that ran (and only those).
                before = replay_applied(self.graph, order, applied)
                sql = self.dialect.plan_migration(ran, before, backwards=True)
            reverts.append(RenderedStep(PlanStep(key, sql.backwards), self.graph.migration(key), before, sql))
        return reverts

    def _run_non_atomic(self, item: RenderedStep, record: tuple[Statement, ...]) -> tuple[Statement, ...]:
        ran: list[Statement] = []
        sql = item.sql
        try:
            self._execute(item, sql.setup, "preparing the database", rolled_back=False)
            ran.extend(sql.setup)
            for step in sql.steps:
                ran.extend(self._run_operation_alone(item, step))
            with self.backend.atomic():
                self._execute(item, sql.checks, "checking the result", rolled_back=False)
                self._execute(item, record, "recording the migration", rolled_back=False)
            ran.extend((*sql.checks, *record))
        finally:
            if sql.teardown:
                self.backend.execute(sql.teardown)
        ran.extend(sql.teardown)
        return tuple(ran)

    def _run_operation_alone(self, item: RenderedStep, step: OperationSQL) -> list[Statement]:
        """Run one step of a non-atomic migration: transactional runs together, the others alone."""
        ran: list[Statement] = []
        label = self._operation_label(item, step)
        if step.code:
            with self.backend.atomic():
                self._call_code(item, step, step.code)
        group: list[Statement] = []
        for statement in (*step.statements, None):
            if statement is not None and statement.transactional:
                group.append(statement)
                continue
            if group:
                with self.backend.atomic():
                    self._execute(item, group, label, rolled_back=False)
                ran.extend(group)
                group = []
            if statement is not None:
                self._execute(item, [statement], label, rolled_back=False)
                ran.append(statement)
        return ran

    def _run_step(
        self, item: RenderedStep, step: OperationSQL, *, rolled_back: bool
    ) -> tuple[Statement, ...]:
        if step.code:
            self._call_code(item, step, step.code)
        statements = tuple(step.statements)
        self._execute(item, statements, self._operation_label(item, step), rolled_back=rolled_back)
        return statements

    def _execute(
        self, item: RenderedStep, statements: Sequence[Statement], operation: str, *, rolled_back: bool
    ) -> None:
        try:
            self.backend.execute(statements)
        except DatabaseError as error:
            raise error.in_context(_label(item.step.key), operation, rolled_back=rolled_back) from (
                error.__cause__ or error
            )

    def _operation_label(self, item: RenderedStep, step: OperationSQL) -> str:
        indexes = tuple(step.operation_indexes)
        operations = item.migration.operations
        named = ", ".join(
            f"#{i + 1} ({operations[i].describe()})" for i in indexes if 0 <= i < len(operations)
        )
        return named or str(step.description)

    def _call_code(self, item: RenderedStep, step: OperationSQL, path: str) -> None:
        """Call a RunCode callable with the connection and the state at its operation."""
        first = min(step.operation_indexes) if step.operation_indexes else 0
        state = item.before
        for operation in item.migration.operations[:first]:
            state = operation.state_forwards(state)
        function = self._resolve_code(path)
        try:
            function(self.backend.connection, state)
        except Exception as error:
            outcome = "the migration was rolled back" if self.progress is None else "what ran before it stays"
            error.add_note(
                f"raised by RunCode {path} in migration {_label(item.step.key)}, "
                f"operation {self._operation_label(item, step)}; {outcome}"
            )
            raise

    # -- recorder rows ---------------------------------------------------------------

    def _already_done(self, migration: Migration, backwards: bool) -> bool:
        """Tell whether the recorder already shows ``migration`` applied (or, backwards, gone)."""
        if not backwards:
            return self.recorder.is_applied(migration.key)
        return not any(self.recorder.is_applied(key) for key in self._recorded_keys(migration))

    def _recorded_keys(self, migration: Migration) -> tuple[MigrationKey, ...]:
        """Return the keys a migration's record covers: itself, and what it replaces (a squash)."""
        return (migration.key, *migration.replaces)

    def _checksum(self, key: MigrationKey) -> str:
        """Return the checksum of the migration ``key`` as its file has it."""
        source = self._checksums_from if key in self._checksums_from else self.graph
        return migration_checksum(source.migration(key))

    def _record_statements(
        self, migration: Migration, backwards: bool, done: set[MigrationKey]
    ) -> tuple[Statement, ...]:
        """Return the recorder statements for applying or unapplying ``migration``.

        A squash records itself and every migration it replaces, as Django does, so the
        history reads the same whichever files are present later.
        """
        statements = []
        for key in self._recorded_keys(migration):
            if backwards:
                if key in done:
                    statements.append(self.recorder.unrecord_statement(key))
            elif key not in done:
                checksum = self._checksum(key) if key in self.graph else ""
                statements.append(self.recorder.record_statement(key, checksum))
        return tuple(statements)

    # -- fake_initial ------------------------------------------------------------------

    def _initial_schema_exists(self, item: RenderedStep) -> bool:
        """Tell whether every table and column the initial migration creates already exists.

        Raises:
            FakeInitialMismatch: some of them exist and others do not.
        """
        existing = state_from_catalog(self.backend.catalog())
        columns = {
            model.db_table.lower(): {(field.column or "").lower() for field in model.fields if field.column}
            for model in existing
        }
        wanted: dict[str, set[str]] = {}
        before, after = item.before, item.sql.after
        for key, model in after.models.items():
            old = before.models.get(key)
            if not model.managed:
                continue
            table_columns = {field.column.lower() for field in model.fields if field.column}
            old_columns = (
                {field.column.lower() for field in old.fields if field.column}
                if old is not None and old.db_table == model.db_table
                else set()
            )
            if old is None or table_columns != old_columns:
                wanted[model.db_table.lower()] = table_columns - old_columns
            for field in model.fields:
                relation = field.relation
                if relation is None or not relation.db_table or relation.through is not None:
                    continue
                if old is None or old.field_or_none(field.name) is None:
                    wanted.setdefault(relation.db_table.lower(), set())
        present = [table for table in wanted if table in columns]
        if not present:
            return False
        problems = [f"table {table} is missing" for table in sorted(wanted) if table not in columns]
        for table in sorted(present):
            missing = sorted(wanted[table] - columns[table])
            if missing:
                problems.append(f"table {table} lacks column(s) {', '.join(missing)}")
        if problems:
            raise FakeInitialMismatch(_label(item.step.key), problems)
        return True


def run_sql(
    backend: Backend,
    sql: MigrationSQL,
    *,
    call_code: Callable[[OperationSQL], None] | None = None,
) -> None:
    """Run a rendered plan as ``migrate`` does, without the recorder: for laws, tests and tools.

    ``setup`` runs first, then the steps and ``checks`` in one transaction, then
    ``teardown`` (also after a failure). ``call_code`` is called for each step that
    carries RunCode's dotted path; without it such steps are refused.

    Raises:
        DatabaseError: a statement failed; the transaction was rolled back.
        ValueError: a step carries code and no ``call_code`` was given.
    """
    try:
        backend.execute(sql.setup)
        with backend.atomic():
            for step in sql.steps:
                if step.code is not None:
                    if call_code is None:
                        raise ValueError(f"step {step.description!r} runs code {step.code}; pass call_code")
                    call_code(step)
                backend.execute(step.statements)
            backend.execute(sql.checks)
    finally:
        if sql.teardown:
            backend.execute(sql.teardown)

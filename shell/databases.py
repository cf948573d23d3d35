"""DatabaseMigrationExecutor: migrations of one project spread over several databases.

Theory of operation
-------------------
``DatabaseRoutes`` (pure) says which database each app lives on. Each database gets a
``MigrationExecutor`` over its own apps' migrations, with its own recorder; the
cross-database dependencies are dropped from the graph it sees
(``split_for_database``) while the recorder's checksums still come from the migration
files as written (``checksums_from``).

Everything is planned and checked before anything runs:

1. Relations and operations must not cross databases (``check_relations``).
2. Every database's recorder is read (only the ones a check needs, with ``database``).
3. All databases: the project's graph plans over the union of the recorders, and
   ``schedule`` cuts the forwards plan into runs of one database each, interleaving
   databases only where a dependency demands it. One database: its executor plans,
   and every cross-database dependency of its plan must already be recorded on its
   own database.
4. Backwards, a migration that an applied migration of another database depends on
   is never unapplied: the error names both and the command that unapplies the other.

Then each run is one ``MigrationExecutor.migrate`` call on its database (each takes
that database's run lock and re-reads its recorder, as a single database does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from types import TracebackType
from typing import Any

import attrs

from reinhardt_migrations.pure.graph import ZERO, MigrationGraph, PlanStep
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.routing import (
    AppliedCrossDatabaseDependent,
    AppOnOtherDatabase,
    DatabaseMigrations,
    DatabaseRoutes,
    UnappliedCrossDatabaseDependency,
    applied_dependents,
    check_relations,
    run_targets,
    schedule,
    split_for_database,
    unapplied_dependencies,
)
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.executor import (
    MigrateResult,
    MigrationExecutor,
    MigrationStatus,
    PreviewStep,
    ProgressCallback,
    ProgressEvent,
    StepResult,
    import_dotted,
)
from reinhardt_migrations.shell.recorder import DEFAULT_TABLE, utc_now

__all__ = [
    "DatabaseMigrationExecutor",
    "DatabaseMigrationStatus",
    "DatabasePlanStep",
    "DatabasePreviewStep",
    "DatabaseProgressEvent",
    "DatabaseStepResult",
]

Opener = Callable[[str], Backend]


@attrs.frozen
class DatabasePlanStep(PlanStep):
    """A plan step and the database it runs on."""

    database: str = "default"


@attrs.frozen
class DatabasePreviewStep(PreviewStep):
    """The statements of one migration of a plan, and the database they run on."""

    database: str = "default"


@attrs.frozen
class DatabaseProgressEvent(ProgressEvent):
    """A progress report numbered within the whole plan, naming the database it comes from."""

    database: str = "default"


@attrs.frozen
class DatabaseStepResult(StepResult):
    """What happened to one migration, and on which database."""

    database: str = "default"


@attrs.frozen
class DatabaseMigrationStatus(MigrationStatus):
    """One migration, its state on its database, and that database's alias."""

    database: str = "default"


@attrs.frozen
class _Run:
    """One ``MigrationExecutor.migrate`` call: a database, its targets, and the steps it plans."""

    database: str
    targets: tuple[MigrationKey, ...] | None
    steps: tuple[PlanStep, ...]

    @property
    def keys(self) -> tuple[MigrationKey, ...]:
        return tuple(step.key for step in self.steps)

    @property
    def backwards(self) -> bool:
        return any(step.backwards for step in self.steps)


class _Recorded(Mapping[str, Set[MigrationKey]]):
    """The recorded keys of each database, read on first use (so unneeded databases stay closed)."""

    def __init__(self, executor: DatabaseMigrationExecutor) -> None:
        self._executor = executor
        self._cache: dict[str, frozenset[MigrationKey]] = {}

    def __getitem__(self, alias: str) -> frozenset[MigrationKey]:
        if alias not in self._executor.routes.aliases:
            raise KeyError(alias)
        if alias not in self._cache:
            self._cache[alias] = self._executor.recorded(alias)
        return self._cache[alias]

    def __iter__(self) -> Iterator[str]:
        return iter(self._executor.routes.aliases)

    def __len__(self) -> int:
        return len(self._executor.routes.aliases)


class DatabaseMigrationExecutor:
    """Plans, previews and runs a project's migrations on the databases its apps are routed to."""

    def __init__(
        self,
        databases: Mapping[str, Backend | str] | Opener,
        migrations: MigrationGraph | Iterable[Migration],
        routes: DatabaseRoutes | None = None,
        *,
        recorder_table: str = DEFAULT_TABLE,
        resolve_code: Callable[[str], Callable[..., Any]] = import_dotted,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        """Run ``migrations`` on ``databases`` (backends or URLs by alias, or a function opening one).

        Backends given are their owner's to close; those opened from URLs close with ``close()``.

        Raises:
            GraphError: the migrations do not form a valid graph.
            InvalidValue: ``routes`` names an alias ``databases`` does not hold.
        """
        self.graph = (
            migrations
            if isinstance(migrations, MigrationGraph)
            else MigrationGraph.from_migrations(migrations)
        )
        if routes is None:
            aliases = tuple(databases) if isinstance(databases, Mapping) else ("default",)
            routes = DatabaseRoutes(aliases)
        self.routes = routes
        self._given = dict(databases) if isinstance(databases, Mapping) else {}
        self._opener = databases if not isinstance(databases, Mapping) else None
        self._opened: dict[str, Backend] = {}
        self._recorder_table = recorder_table
        self._resolve_code = resolve_code
        self._clock = clock
        self._executors: dict[str, MigrationExecutor] = {}
        self._splits: dict[str, DatabaseMigrations] = {}
        self._checked = False
        if isinstance(databases, Mapping):
            for alias in routes.aliases:
                if alias not in databases:
                    raise KeyError(f"no backend or URL for the database {alias!r}")

    def __enter__(self) -> DatabaseMigrationExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections this executor opened from URLs."""
        for backend in self._opened.values():
            backend.close()
        self._opened.clear()
        self._executors.clear()

    # -- the databases -----------------------------------------------------------------

    @property
    def aliases(self) -> tuple[str, ...]:
        """Return the aliases whose databases hold migrations (every alias if there is one)."""
        if self.routes.is_single:
            return self.routes.aliases
        used = {self.routes.routes.get(app, self.routes.default) for app, _name in self.graph.nodes}
        return tuple(alias for alias in self.routes.aliases if alias in used)

    def backend(self, alias: str) -> Backend:
        """Return the backend of the database ``alias``, connecting on first use.

        Raises:
            UnknownDatabase: no such alias.
            InvalidDatabaseUrl, MissingDriver, DatabaseError: the database cannot be opened.
        """
        self.routes.check_alias(alias)
        given = self._given.get(alias)
        if isinstance(given, Backend):
            return given
        if alias not in self._opened:
            if isinstance(given, str):
                self._opened[alias] = connect(given)
            else:
                assert self._opener is not None
                return self._opener(alias)
        return self._opened[alias]

    def split(self, alias: str) -> DatabaseMigrations:
        """Return the migrations of ``alias``, its cross-database dependencies dropped and listed."""
        if alias not in self._splits:
            if self.routes.is_single:
                self._splits[alias] = DatabaseMigrations(self.routes.check_alias(alias), self.graph, ())
            else:
                self._splits[alias] = split_for_database(self.graph, self.routes, alias)
        return self._splits[alias]

    def executor(self, alias: str) -> MigrationExecutor:
        """Return the executor of one database: its apps' migrations, its recorder."""
        if alias not in self._executors:
            self._executors[alias] = MigrationExecutor(
                self.backend(alias),
                self.split(alias).graph,
                recorder_table=self._recorder_table,
                resolve_code=self._resolve_code,
                clock=self._clock,
                checksums_from=self.graph,
            )
        return self._executors[alias]

    def recorded(self, alias: str) -> frozenset[MigrationKey]:
        """Return the keys recorded on ``alias`` that belong to its apps."""
        rows = self.executor(alias).applied()
        return frozenset(key for key in rows if self.routes.is_on(key[0], alias))

    def check(self) -> None:
        """Raise if relations or operations cross databases (checked once).

        Raises:
            CrossDatabaseRelation, CrossDatabaseOperation: see ``check_relations``.
        """
        if not self._checked:
            if len(self.aliases) > 1:
                check_relations(self.graph, self.routes)
            self._checked = True

    # -- reading ---------------------------------------------------------------------

    def status(self, *, database: str | None = None) -> tuple[DatabaseMigrationStatus, ...]:
        """Return every migration (of ``database``, or all) in planning order, with its database."""
        aliases = (self.routes.check_alias(database),) if database is not None else self.aliases
        found: dict[MigrationKey, DatabaseMigrationStatus] = {}
        for alias in aliases:
            for status in self.executor(alias).status():
                found[status.key] = DatabaseMigrationStatus(
                    status.key, status.applied, status.applied_at, status.checksum_matches, alias
                )
        return tuple(found[key] for key in self.graph.nodes if key in found)

    def plan(
        self, targets: Iterable[MigrationKey] | None = None, *, database: str | None = None
    ) -> tuple[DatabasePlanStep, ...]:
        """Return the steps ``migrate`` would take, each with its database.

        Raises:
            CrossDatabaseError: a dependency, relation or unapply crosses databases in a way
                the run cannot satisfy (see the module docstring).
            InconsistentHistory, UnknownMigration: as for ``MigrationExecutor.plan``.
        """
        runs, _recorded = self._runs(targets, database)
        return tuple(
            DatabasePlanStep(step.key, step.backwards, run.database) for run in runs for step in run.steps
        )

    def preview(
        self, targets: Iterable[MigrationKey] | None = None, *, database: str | None = None
    ) -> tuple[DatabasePreviewStep, ...]:
        """Return the statements ``migrate`` would run, migration by migration, running nothing.

        Raises:
            CrossDatabaseError, IrreversibleOperation, UnsupportedOperation: nothing would run.
        """
        runs, _recorded = self._runs(targets, database)
        if len(runs) == 1:
            run = runs[0]
            return tuple(_on(step, run.database) for step in self.executor(run.database).preview(run.targets))
        # Several runs each go one way (see _runs).
        forwards: dict[str, list[MigrationKey]] = {}
        for run in runs:
            if not run.backwards:
                forwards.setdefault(run.database, []).extend(run.keys)
        rendered: dict[tuple[str, MigrationKey, bool], PreviewStep] = {}
        for alias, keys in forwards.items():
            # Every forwards step of one database renders in one pass: its SQL depends only
            # on its own database's migrations, however the runs interleave.
            for step in self.executor(alias).preview(self._targets_of(runs, alias, keys)):
                rendered[(alias, step.key, step.backwards)] = step
        steps = []
        for run in runs:
            if run.backwards:
                for step in self.executor(run.database).preview(run.targets):
                    rendered[(run.database, step.key, step.backwards)] = step
            for key in run.keys:
                steps.append(_on(rendered[(run.database, key, run.backwards)], run.database))
        return tuple(steps)

    def _targets_of(
        self, runs: Sequence[_Run], alias: str, keys: Sequence[MigrationKey]
    ) -> tuple[MigrationKey, ...] | None:
        mine = [run for run in runs if run.database == alias]
        if len(mine) == 1:
            return mine[0].targets
        return run_targets(self.graph, keys)

    # -- running ---------------------------------------------------------------------

    def migrate(
        self,
        targets: Iterable[MigrationKey] | None = None,
        *,
        database: str | None = None,
        fake: bool = False,
        fake_initial: bool = False,
        progress: ProgressCallback | None = None,
        verify_checksums: bool = True,
    ) -> MigrateResult:
        """Apply or unapply migrations to reach ``targets`` on every database (or only ``database``).

        A target ``(app, name)`` runs on the app's database. Without ``database``,
        cross-database dependencies are applied first on their own databases.

        Raises:
            UnappliedCrossDatabaseDependency: with ``database``, a planned migration needs a
                migration of another database that is not applied there (nothing ran).
            AppliedCrossDatabaseDependent: an unapply would strand an applied migration of
                another database (nothing ran).
            CrossDatabaseRelation, CrossDatabaseOperation: a relation or an operation
                crosses databases (nothing ran).
            AppOnOtherDatabase: with ``database``, a target's app lives elsewhere.
            ChecksumMismatch, DatabaseError, IrreversibleOperation, ...: see
                ``MigrationExecutor.migrate``; runs on other databases that finished stay.
        """
        if database is None and self.routes.is_single:
            # One database: exactly the single-database executor's run.
            alias = self.routes.aliases[0]
            result = self.executor(alias).migrate(
                targets,
                fake=fake,
                fake_initial=fake_initial,
                progress=progress,
                verify_checksums=verify_checksums,
            )
            return MigrateResult(tuple(_step_on(step, alias) for step in result.steps))
        runs, _recorded = self._runs(targets, database)
        total = sum(len(run.keys) for run in runs)
        steps: list[StepResult] = []
        for run in runs:
            offset = len(steps)
            result = self.executor(run.database).migrate(
                run.targets,
                fake=fake,
                fake_initial=fake_initial,
                progress=_renumbered(progress, run.database, offset, total),
                verify_checksums=verify_checksums,
            )
            steps.extend(_step_on(step, run.database) for step in result.steps)
        return MigrateResult(tuple(steps))

    # -- planning ------------------------------------------------------------------------

    def _runs(
        self, targets: Iterable[MigrationKey] | None, database: str | None
    ) -> tuple[tuple[_Run, ...], _Recorded]:
        """Return the runs reaching ``targets``, every check passed; nothing has run."""
        goals = None if targets is None else tuple(targets)
        self.check()
        recorded = _Recorded(self)
        if database is not None:
            return (self._runs_on(self.routes.check_alias(database), goals, recorded),), recorded
        aliases = self.aliases
        if len(aliases) == 1:
            return (self._runs_on(aliases[0], goals, recorded),), recorded
        current = set().union(*(recorded[alias] for alias in aliases))
        self.graph.check_consistent(current)
        runs: list[_Run] = []
        for goal in [None] if goals is None else goals:
            if goal is not None and (goal[1] == ZERO or goal in current):
                alias = self.routes.alias_of(goal[0])
                keys = self.graph.backwards_plan(goal, current)
                self._check_dependents(
                    alias, [key for key in keys if self.routes.is_on(key[0], alias)], recorded
                )
                runs.append(_Run(alias, (goal,), tuple(PlanStep(key, backwards=True) for key in keys)))
                current.difference_update(keys)
                continue
            keys = self.graph.forwards_plan(goal, current)
            pieces = schedule(self.graph, self.routes, keys)
            for alias, piece in pieces:
                whole = goal is None and sum(1 for other, _keys in pieces if other == alias) == 1
                targets_of_piece = None if whole else run_targets(self.graph, piece)
                # Plan as the database's executor will, on its own graph and recorder.
                mine = frozenset(key for key in current if self.routes.is_on(key[0], alias))
                steps = self.split(alias).graph.plan(targets_of_piece, mine)
                runs.append(_Run(alias, targets_of_piece, steps))
                current.update(step.key for step in steps)
            current.update(keys)
        return tuple(run for run in runs if run.steps), recorded

    def _runs_on(self, alias: str, goals: tuple[MigrationKey, ...] | None, recorded: _Recorded) -> _Run:
        """Return the run of one database, checked against the other databases' recorders."""
        for app, _name in goals or ():
            home = self.routes.alias_of(app)
            if home != alias:
                raise AppOnOtherDatabase(app, home, alias)
        steps = self.executor(alias).plan(goals)
        forwards = [step.key for step in steps if not step.backwards]
        backwards = [step.key for step in steps if step.backwards]
        missing = unapplied_dependencies(self.split(alias), forwards, self.graph, recorded)
        if missing:
            first = missing[0]
            raise UnappliedCrossDatabaseDependency(first.migration, alias, first.dependency, first.database)
        self._check_dependents(alias, backwards, recorded)
        return _Run(alias, goals, steps)

    def _check_dependents(self, alias: str, keys: Sequence[MigrationKey], recorded: _Recorded) -> None:
        if not keys or self.routes.is_single:
            return
        blocked = applied_dependents(
            self.graph, self.routes, alias, keys, _Only(recorded, self._hosts(alias, keys))
        )
        if blocked:
            migration, dependent, other, previous = blocked[0]
            raise AppliedCrossDatabaseDependent(migration, alias, dependent, other, previous)

    def _hosts(self, alias: str, keys: Sequence[MigrationKey]) -> set[str]:
        """Return the other databases holding migrations that depend on ``keys``."""
        going = {old for key in keys for old in (key, *self.graph.migration(key).replaces)}
        return {
            self.routes.alias_of(key[0])
            for key in self.graph.nodes
            if not self.routes.is_on(key[0], alias)
            and going.intersection(self.graph.migration(key).dependencies)
        }


class _Only(Mapping[str, Set[MigrationKey]]):
    """The recorded keys of ``wanted`` databases; the others read as empty and stay closed."""

    def __init__(self, recorded: Mapping[str, Set[MigrationKey]], wanted: Set[str]) -> None:
        self._recorded = recorded
        self._wanted = wanted

    def __getitem__(self, alias: str) -> Set[MigrationKey]:
        return self._recorded[alias] if alias in self._wanted else frozenset()

    def __iter__(self) -> Iterator[str]:
        return iter(self._wanted)

    def __len__(self) -> int:
        return len(self._wanted)


def _on(step: PreviewStep, alias: str) -> DatabasePreviewStep:
    return DatabasePreviewStep(step.key, step.backwards, step.migration, step.sql, step.record, alias)


def _step_on(step: StepResult, alias: str) -> DatabaseStepResult:
    return DatabaseStepResult(
        step.key, step.backwards, step.faked, step.skipped, step.statements, step.seconds, alias
    )


def _renumbered(
    progress: ProgressCallback | None, alias: str, offset: int, total: int
) -> ProgressCallback | None:
    """Return a callback numbering one run's events within the whole plan of every database."""
    if progress is None:
        return None

    def report(event: ProgressEvent) -> None:
        progress(
            DatabaseProgressEvent(
                event.phase,
                event.key,
                event.backwards,
                offset + event.index,
                max(total, offset + event.total),
                event.fake,
                event.skipped,
                event.seconds,
                alias,
            )
        )

    return report

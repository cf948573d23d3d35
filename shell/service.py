"""MigrationService: the one object an application, a DI container or the CLI holds.

Theory of operation: a service is built from a ``MigrationConfig`` (or found from
pyproject.toml) and, optionally, an injected database backend and models state. Each
public method is one command: it reads the world it needs (migration files through the
loader, models through the models source, the database through a backend and the
executor), calls the pure core, and returns a frozen result value; it never prints.
The CLI formats those values; an application can use them directly.

Commands that need no database (``makemigrations``, ``sql``, ``check``) never open
one. The backend is opened on first use and closed by ``close()`` unless it was
injected, in which case its owner closes it. A project on several databases
(``databases`` and ``routes`` in the configuration) has one backend per alias, each
opened when a command first needs it; ``migrate``, ``plan`` and ``status`` go through a
``DatabaseMigrationExecutor`` and take ``database=ALIAS`` to work on one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import attrs

from reinhardt_migrations.pure.autodetector.detector import MigrationAutodetector
from reinhardt_migrations.pure.autodetector.policy import (
    AcceptUnambiguousRenames,
    NeverRename,
    Policy,
    Question,
    RenameQuestion,
)
from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.errors import (
    ConflictingLeaves,
    GraphError,
    MissingOneOffDefault,
    UnknownMigration,
)
from reinhardt_migrations.pure.graph import ZERO, MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey, replay
from reinhardt_migrations.pure.object_names import check_object_names, shared_object_names
from reinhardt_migrations.pure.routing import (
    DEFAULT_ALIAS,
    AppOnOtherDatabase,
    CrossDatabaseError,
    check_relations,
)
from reinhardt_migrations.pure.squash import plan_squash
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.config import ConfigError, MigrationConfig, load_config
from reinhardt_migrations.shell.databases import DatabaseMigrationExecutor, DatabaseMigrationStatus
from reinhardt_migrations.shell.errors import AmbiguousMigrationName
from reinhardt_migrations.shell.executor import (
    MigrateResult,
    MigrationExecutor,
    MigrationStatus,
    PreviewStep,
    ProgressCallback,
)
from reinhardt_migrations.shell.loader import LoadedMigrations, load_migrations
from reinhardt_migrations.shell.models_source import load_models_state
from reinhardt_migrations.shell.prompts import AbortedByUser
from reinhardt_migrations.shell.service_results import (
    CheckResult,
    MakeMigrationsResult,
    PlannedMigration,
    SqlResult,
    SquashMigrationsResult,
    StatusEntry,
    StatusResult,
)
from reinhardt_migrations.shell.writer import (
    migration_file_name,
    next_migration_number,
    render_migration,
    write_migration,
)

__all__ = [
    "AmbiguousMigrationName",
    "CheckResult",
    "MakeMigrationsCommand",
    "MakeMigrationsOptions",
    "MakeMigrationsResult",
    "MigrationService",
    "PlannedMigration",
    "SqlResult",
    "SquashMigrationsResult",
    "StatusEntry",
    "StatusResult",
]

_MAX_MERGE_NAME = 52


class MigrationService:
    """makemigrations, squashmigrations, migrate, plan, status, sql and check for one project."""

    def __init__(
        self,
        config: MigrationConfig,
        *,
        backend: Backend | None = None,
        models: ProjectState | Callable[[], ProjectState] | None = None,
        backends: Mapping[str, Backend] | None = None,
    ) -> None:
        """Serve ``config``; ``backend`` and ``models`` replace the configured database and models.

        ``backends`` replaces the databases of the aliases it names (``backend`` is the
        default one's); injected backends belong to their owner, who closes them.
        """
        self.config = config
        self._injected: dict[str, Backend] = dict(backends or {})
        if backend is not None:
            self._injected[DEFAULT_ALIAS] = backend
        self._opened: dict[str, Backend] = {}
        self._models = models

    @classmethod
    def from_pyproject(
        cls,
        path: Path | None = None,
        *,
        cwd: Path | None = None,
        database_url: str | None = None,
        file_format: str | None = None,
    ) -> MigrationService:
        """Return a service for the configuration in ``path`` (or found from ``cwd``).

        Raises:
            ConfigError: no configuration, or a wrong setting.
        """
        return cls(load_config(path, cwd=cwd, database_url=database_url, format=file_format))

    def __enter__(self) -> MigrationService:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections this service opened (injected ones stay open)."""
        opened, self._opened = self._opened, {}
        for backend in opened.values():
            backend.close()

    # -- reading the project ---------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """Return the default database's backend, connecting on first use.

        Raises:
            ConfigError: there is no default database (every app is routed elsewhere).
            InvalidDatabaseUrl, MissingDriver, DatabaseError: the database cannot be opened.
        """
        return self.backend_for(DEFAULT_ALIAS)

    def backend_for(self, alias: str) -> Backend:
        """Return the backend of the database ``alias``, connecting on first use.

        Raises:
            ConfigError: no database has that alias (the message lists them).
            InvalidDatabaseUrl, MissingDriver, DatabaseError: the database cannot be opened.
        """
        if alias in self._injected:
            return self._injected[alias]
        if alias not in self._opened:
            self._opened[alias] = connect(self.config.url_of(alias))
        return self._opened[alias]

    def load(self) -> LoadedMigrations:
        """Return the configured apps' migration files and their graph.

        Raises:
            MigrationFileError, SerializationError: a migration file is broken.
        """
        return load_migrations(self.config)

    def models_state(self) -> ProjectState:
        """Return the state the models describe (injected, or from the configured source).

        Raises:
            ModelsSourceError: the models cannot be loaded.
            ConfigError: a model belongs to an app that is not configured.
        """
        if isinstance(self._models, ProjectState):
            state = self._models
        elif self._models is not None:
            state = self._models()
        else:
            state = load_models_state(self.config.models, python_path=self.config.python_path)
        unknown = sorted(set(state.app_labels()) - set(self.config.app_labels))
        if unknown:
            examples = ", ".join(model.label for model in state if model.app_label in unknown)
            raise ConfigError(
                f"the models use app(s) {', '.join(unknown)} ({examples}), which have no migrations "
                f"folder; add them to apps",
                source=self.config.source,
                key="apps",
            )
        return state

    def history_state(self, loaded: LoadedMigrations | None = None) -> ProjectState:
        """Return the state every migration file together builds."""
        graph = (loaded or self.load()).graph
        return replay(graph.migration(key) for key in graph.forwards_plan())

    def executor(
        self, loaded: LoadedMigrations | None = None, database: str | None = None
    ) -> MigrationExecutor:
        """Return an executor for the migrations on one database (the default one unless named).

        On a project with several databases it holds only that database's apps.
        """
        if not self.config.database_routes.is_single:
            return self.databases(loaded).executor(database or DEFAULT_ALIAS)
        graph = (loaded or self.load()).graph
        backend = self.backend_for(database or self.config.aliases[0])
        return MigrationExecutor(backend, graph, recorder_table=self.config.recorder_table)

    def databases(self, loaded: LoadedMigrations | None = None) -> DatabaseMigrationExecutor:
        """Return the executor of every configured database, with the configured routes."""
        return DatabaseMigrationExecutor(
            self.backend_for,
            (loaded or self.load()).graph,
            self.config.database_routes,
            recorder_table=self.config.recorder_table,
        )

    def check_database(self, database: str | None) -> str | None:
        """Return ``database`` if it is a configured alias (None stays None).

        Raises:
            ConfigError: it is not (the message lists the configured aliases).
        """
        if database is not None:
            self.config.url_of(database)
        return database

    # -- makemigrations ----------------------------------------------------------------

    def makemigrations(
        self,
        app_labels: Sequence[str] = (),
        *,
        name: str | None = None,
        empty: bool = False,
        merge: bool = False,
        dry_run: bool = False,
        file_format: str | None = None,
        policy: Policy | None = None,
        confirm_data_loss: Callable[[Sequence[str]], bool] | None = None,
        confirm_merge: Callable[[str, Sequence[str]], bool] | None = None,
    ) -> MakeMigrationsResult:
        """Write the migrations that bring the files up to the models (none in a dry run).

        ``policy`` decides renames and one-off defaults (default: accept unambiguous
        renames); ``confirm_data_loss`` may refuse to write operations that lose data.

        Raises:
            ConflictingLeaves: an app has several leaf migrations (use ``merge=True``).
            MissingOneOffDefault: a NOT NULL field needs a value for existing rows.
            AbortedByUser: ``confirm_data_loss`` or a question said stop.
            MigrationFileError, ModelsSourceError, ConfigError: reading the project failed.
        """
        config = self.config.with_overrides(format=file_format)
        for label in app_labels:
            config.app(label)
        loaded = self.load()
        if merge:
            return self._merge(config, loaded, app_labels, name, dry_run, confirm_merge)
        conflicts = loaded.graph.conflicts()
        if conflicts:
            raise ConflictingLeaves(conflicts)
        leaves = _leaves(loaded.graph, config.app_labels)
        questions: tuple[str, ...] = ()
        if empty:
            if not app_labels:
                raise ConfigError("--empty needs the app label(s) to make an empty migration for")
            migrations = tuple(_empty_migration(app, leaves[app], name) for app in app_labels)
            losses: dict[MigrationKey, list[str]] = {}
        else:
            detector = MigrationAutodetector(
                self.history_state(loaded),
                self.models_state(),
                policy if policy is not None else AcceptUnambiguousRenames(),
                leaves=leaves,
                name=name,
            )
            detected = detector.detect()
            # The database will hold the names the history gave plus the new ones: two
            # objects sharing one would fail at migrate time, so refuse before writing.
            check_object_names(replay(detected.migrations, detector.from_state))
            migrations = _trim_to_apps(detected.migrations, app_labels)
            losses = {}
            for loss in detected.destructive:
                # The optimizer may have merged the operation into another; then warn on the
                # app's first new migration.
                owners = [m.key for m in detected.migrations if loss.operation in m.operations]
                owners += [m.key for m in detected.migrations if m.app_label == loss.app_label]
                if owners:
                    losses.setdefault(owners[0], []).append(loss.describe())
            questions = tuple(_open_question(question) for question in detected.questions)
        planned = tuple(
            PlannedMigration(
                migration,
                config.app(migration.app_label).migrations / migration_file_name(migration, config.format),
                render_migration(migration, config.format),
                tuple(losses.get(migration.key, ())),
            )
            for migration in migrations
        )
        result = MakeMigrationsResult(planned, (), questions, dry_run=dry_run)
        if dry_run or not planned:
            return result
        warnings = result.data_loss
        if warnings and confirm_data_loss is not None and not confirm_data_loss(warnings):
            raise AbortedByUser("data loss not confirmed")
        return attrs.evolve(result, written=_write_all(planned, config))

    def _merge(
        self,
        config: MigrationConfig,
        loaded: LoadedMigrations,
        app_labels: Sequence[str],
        name: str | None,
        dry_run: bool,
        confirm: Callable[[str, Sequence[str]], bool] | None,
    ) -> MakeMigrationsResult:
        planned = []
        for app, leaves in loaded.graph.conflicts().items():
            if app_labels and app not in app_labels:
                continue
            if confirm is not None and not confirm(app, leaves):
                continue
            number = next_migration_number(file.key[1] for file in loaded.of_app(app))
            suffix = name or f"merge_{'_'.join(leaves)}"
            if len(suffix) > _MAX_MERGE_NAME:
                suffix = "merge"
            migration = Migration(
                f"{number:04d}_{suffix}", app, dependencies=[(app, leaf) for leaf in leaves]
            )
            path = config.app(app).migrations / migration_file_name(migration, config.format)
            planned.append(PlannedMigration(migration, path, render_migration(migration, config.format)))
        result = MakeMigrationsResult(tuple(planned), dry_run=dry_run, merge=True)
        if dry_run or not planned:
            return result
        return attrs.evolve(result, written=_write_all(result.migrations, config))

    # -- squashmigrations ------------------------------------------------------------------

    def squashmigrations(
        self,
        app_label: str,
        end: str,
        *,
        start: str | None = None,
        name: str | None = None,
        dry_run: bool = False,
        file_format: str | None = None,
        optimize: bool = True,
    ) -> SquashMigrationsResult:
        """Write one migration replacing ``app_label``'s migrations from ``start`` to ``end``.

        ``start`` (default: the app's first) and ``end`` are names or unique prefixes. The
        old files stay: databases that applied none or all of them use the squash, the
        others finish the old ones. Needs no database; writes nothing in a dry run.

        Raises:
            SquashError: the range cannot be squashed (see ``pure.squash.plan_squash``).
            UnknownMigration, AmbiguousMigrationName: START or END names no single migration.
            MigrationFileError: the squash's file exists already, or cannot be written.
            ConfigError: the app is not configured.
        """
        config = self.config.with_overrides(format=file_format)
        folder = config.app(app_label).migrations
        graph = self.load().graph
        last = _resolve(graph, app_label, end)[1]
        first = _resolve(graph, app_label, start)[1] if start is not None else None
        plan = plan_squash(graph, app_label, first, last, name, optimized=optimize)
        migration = plan.migration
        planned = PlannedMigration(
            migration,
            folder / migration_file_name(migration, config.format),
            render_migration(migration, config.format),
        )
        result = SquashMigrationsResult(planned, plan, dry_run=dry_run, optimized=optimize)
        if dry_run:
            return result
        return attrs.evolve(result, written=write_migration(migration, folder, config.format))

    # -- migrate, plan, status -------------------------------------------------------------

    def migrate(
        self,
        app_label: str | None = None,
        target: str | None = None,
        *,
        fake: bool = False,
        fake_initial: bool = False,
        progress: ProgressCallback | None = None,
        database: str | None = None,
    ) -> MigrateResult:
        """Apply or unapply migrations to reach ``target`` of ``app_label`` (all leaves by default).

        ``target`` is a migration name (or a unique prefix such as ``0002``), or ``zero``.
        ``database`` (an alias) migrates only that database; by default every database
        is migrated, in an order that satisfies cross-database dependencies.

        Raises:
            ConflictingLeaves: the graph has several leaves in an app; make a merge migration first.
            UnknownMigration: the target does not exist.
            ConfigError: ``database`` is not a configured alias.
            CrossDatabaseError, AppOnOtherDatabase: see DatabaseMigrationExecutor.migrate.
            DatabaseError, IrreversibleOperation, ChecksumMismatch: see MigrationExecutor.migrate.
        """
        self.check_database(database)
        loaded = self.load()
        loaded.graph.check_conflicts()
        targets = self._targets(loaded.graph, app_label, target)
        result = self.databases(loaded).migrate(
            targets, database=database, fake=fake, fake_initial=fake_initial, progress=progress
        )
        self._record_finished_squashes(loaded, database)
        return result

    def _record_finished_squashes(self, loaded: LoadedMigrations, database: str | None) -> None:
        """Record each squash whose replaced migrations are all applied (Django's check_replacements).

        A database that applied the originals before the squash existed then holds the
        squash's record too, so it stays applied once its old files and ``replaces`` go.
        """
        graph = loaded.graph
        squashes = [graph.migration(key) for key in graph.nodes if graph.migration(key).replaces]
        routes = self.config.database_routes
        for alias in (database,) if database is not None else self.config.aliases:
            mine = [squash for squash in squashes if routes.is_on(squash.app_label, alias)]
            if not mine:
                continue
            recorder = self.executor(loaded, alias).recorder
            applied = recorder.applied()
            for squash in mine:
                if squash.key not in applied and all(key in applied for key in squash.replaces):
                    recorder.record_applied(squash)

    def plan(
        self, app_label: str | None = None, target: str | None = None, *, database: str | None = None
    ) -> tuple[PreviewStep, ...]:
        """Return what ``migrate`` would run, migration by migration, without running it.

        The steps are ``DatabasePreviewStep`` values naming the database each runs on.

        Raises:
            ConflictingLeaves, UnknownMigration, ConfigError, CrossDatabaseError: as for ``migrate``.
            IrreversibleOperation: a backwards step cannot be undone.
        """
        self.check_database(database)
        loaded = self.load()
        loaded.graph.check_conflicts()
        return self.databases(loaded).preview(
            self._targets(loaded.graph, app_label, target), database=database
        )

    def status(self, app_label: str | None = None, *, database: str | None = None) -> StatusResult:
        """Return every migration (of ``app_label`` or ``database``) with its state, in planning order.

        Raises:
            ConfigError: ``app_label`` or ``database`` is not configured.
            AppOnOtherDatabase: ``app_label`` lives on another database than ``database``.
        """
        self.check_database(database)
        if app_label is not None:
            self.config.app(app_label)
            home = self.config.alias_of(app_label)
            if database is not None and home != database:
                raise AppOnOtherDatabase(app_label, home, database)
            database = home
        loaded = self.load()
        statuses = _as_resolved(loaded.graph, self.databases(loaded).status(database=database))
        entries = tuple(
            _entry(status, loaded) for status in statuses if app_label is None or status.key[0] == app_label
        )
        routes = self.config.database_routes
        if app_label is not None:
            apps: tuple[str, ...] = (app_label,)
        elif database is not None:
            apps = routes.apps_of(database, self.config.app_labels)
        else:
            apps = self.config.app_labels
        databases = tuple(
            (alias, mine)
            for alias in self.config.aliases
            if (mine := tuple(app for app in apps if routes.is_on(app, alias)))
        )
        return StatusResult(entries, apps, databases)

    def sql(
        self, app_label: str, name: str, *, backwards: bool = False, database: str | None = None
    ) -> SqlResult:
        """Return the SQL one migration runs, in its database's dialect; needs no connection.

        ``database`` is an alias (the app must live there) or a URL whose dialect to use;
        by default the app's own database decides.

        Raises:
            UnknownMigration: no such migration.
            ConfigError, AppOnOtherDatabase: ``database`` is unknown, or not the app's.
            IrreversibleOperation: backwards, an operation cannot be undone.
            UnsupportedOperation: the dialect cannot express an operation.
        """
        self.config.app(app_label)
        home = self.config.alias_of(app_label)
        if database is not None and "://" not in database:
            self.check_database(database)
            if database != home:
                raise AppOnOtherDatabase(app_label, home, database)
        url = database if database is not None and "://" in database else self.config.url_of(home)
        graph = self.load().graph
        key = _resolve(graph, app_label, name)
        before = replay(graph.migration(k) for k in graph.forwards_plan(key) if k != key)
        dialect = dialect_for(url)
        return SqlResult(
            key,
            backwards,
            dialect.name,
            dialect.plan_migration(graph.migration(key), before, backwards=backwards),
        )

    def check(self) -> CheckResult:
        """Return whether the migrations are loadable, conflict-free and match the models.

        Raises:
            MigrationFileError, ModelsSourceError, ConfigError: the project cannot be read.
        """
        loaded = self.load()
        conflicts = tuple(sorted(loaded.graph.conflicts().items()))
        if conflicts:
            return CheckResult(conflicts=conflicts)
        history = self.history_state(loaded)
        detector = MigrationAutodetector(
            history,
            self.models_state(),
            NeverRename(),
            leaves=_leaves(loaded.graph, self.config.app_labels),
        )
        problems: list[str] = [
            f"In the migrations' state, {shared.describe()}." for shared in shared_object_names(history)
        ]
        routes = self.config.database_routes
        if not routes.is_single:
            try:
                check_relations(loaded.graph, routes)
            except CrossDatabaseError as error:
                problems.append(str(error))
        try:
            pending = detector.detect().migrations
        except MissingOneOffDefault as error:
            return CheckResult(problems=(*problems, str(error)))
        return CheckResult(pending=pending, problems=tuple(problems))

    def drift(self, database: str | None = None) -> tuple[str, ...]:
        """Return how each live database (or the one named) differs from its applied migrations' state.

        Each line names the database when the project has several. Reads only.

        Raises:
            ConfigError: ``database`` is not a configured alias.
            DatabaseError, InvalidDatabaseUrl, MissingDriver: a database cannot be read.
        """
        # Drift reuses the laws' schema comparison, loaded only for this command.
        from reinhardt_migrations.shell.drift import schema_drift

        loaded = self.load()
        aliases = (self.check_database(database),) if database else self.config.aliases
        several = len(self.config.aliases) > 1
        lines: list[str] = []
        for alias in aliases:
            found = schema_drift(self.executor(loaded, alias))
            lines += [f"database {alias!r}: {line}" if several else line for line in found]
        return tuple(lines)

    def check_reversible(self, database_url: str = "sqlite") -> tuple[str, ...]:
        """Return the problems of running every migration forwards, backwards and forwards again.

        Runs on a scratch SQLite file (or the throwaway server database ``database_url``,
        which is emptied), comparing the database with the replayed state at every step.

        Raises:
            MigrationFileError, SerializationError: a migration file is broken.
            ConflictingLeaves: an app has several leaf migrations.
        """
        # The test kit's database laws are loaded only for this command.
        from reinhardt_migrations.shell.database_laws import check_migrations_reversible

        loaded = self.load()
        loaded.graph.check_conflicts()
        return check_migrations_reversible(loaded.graph, database_url=database_url)

    def _targets(
        self, graph: MigrationGraph, app_label: str | None, target: str | None
    ) -> tuple[MigrationKey, ...] | None:
        if app_label is None:
            return None
        self.config.app(app_label)
        if not any(key[0] == app_label for key in graph.nodes):
            raise UnknownMigration((app_label, ZERO))
        if target is None:
            return graph.leaf_nodes(app_label)
        if target == ZERO:
            return ((app_label, ZERO),)
        return (_resolve(graph, app_label, target),)


def _open_question(question: Question) -> str:
    if isinstance(question, RenameQuestion):
        return f"{question.prompt()} Assumed no (drop and add); to rename, {question.hint()}."
    return f"{question.prompt()} None given, so existing NULL values will make the migration fail."


def _leaves(graph: MigrationGraph, apps: Iterable[str]) -> dict[str, str | None]:
    leaves: dict[str, str | None] = {}
    for app in apps:
        found = graph.leaf_nodes(app)
        leaves[app] = found[-1][1] if found else None
    return leaves


def _resolve(graph: MigrationGraph, app_label: str, name: str) -> MigrationKey:
    """Return the migration of ``app_label`` called ``name``, or the only one whose name starts with it."""
    if (app_label, name) in graph:
        return (app_label, name)
    matches = sorted(key for key in graph.nodes if key[0] == app_label and key[1].startswith(name))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousMigrationName(app_label, name, tuple(key[1] for key in matches))
    raise UnknownMigration((app_label, name))


def _empty_migration(app_label: str, leaf: str | None, name: str | None) -> Migration:
    number = next_migration_number([leaf] if leaf else [])
    return Migration(
        f"{number:04d}_{name or 'custom'}",
        app_label,
        dependencies=[(app_label, leaf)] if leaf else [],
        initial=leaf is None,
    )


def _trim_to_apps(migrations: tuple[Migration, ...], app_labels: Sequence[str]) -> tuple[Migration, ...]:
    """Keep the migrations of ``app_labels`` and the new migrations they depend on (as Django does)."""
    if not app_labels:
        return migrations
    by_key = {migration.key: migration for migration in migrations}
    keep = {key for key in by_key if key[0] in app_labels}
    pending = list(keep)
    while pending:
        for dependency in by_key[pending.pop()].dependencies:
            if dependency in by_key and dependency not in keep:
                keep.add(dependency)
                pending.append(dependency)
    return tuple(migration for migration in migrations if migration.key in keep)


def _write_all(planned: Iterable[PlannedMigration], config: MigrationConfig) -> tuple[Path, ...]:
    """Write every planned migration; if one fails, remove the ones written before it."""
    written: list[Path] = []
    try:
        for item in planned:
            written.append(write_migration(item.migration, item.path.parent, config.format))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return tuple(written)


def _as_resolved(graph: MigrationGraph, statuses: Sequence[MigrationStatus]) -> tuple[MigrationStatus, ...]:
    """Keep the migrations the database's history holds: a squash in use, or the ones it replaces.

    A squash whose replaced migrations are all applied counts as applied (as ``migrate``
    sees it). A squash that cannot be resolved (its files are missing) leaves the list as it is.
    """
    recorded = frozenset(status.key for status in statuses if status.applied)
    try:
        seen = graph.resolved(recorded)
        counted = graph.applied_nodes(recorded)
    except GraphError:
        return tuple(statuses)
    return tuple(
        status if status.applied or status.key not in counted else attrs.evolve(status, applied=True)
        for status in statuses
        if status.key in seen
    )


def _entry(status: MigrationStatus, loaded: LoadedMigrations) -> StatusEntry:
    database = status.database if isinstance(status, DatabaseMigrationStatus) else DEFAULT_ALIAS
    return StatusEntry(
        status.key,
        status.applied,
        status.applied_at,
        status.checksum_matches,
        loaded.path_of(status.key),
        database,
    )


@attrs.frozen
class MakeMigrationsOptions:
    """The original crate's options for ``MakeMigrationsCommand``."""

    app_label: str | None = None
    dry_run: bool = False
    name: str | None = None
    empty: bool = False
    file_format: str | None = None


class MakeMigrationsCommand:
    """The original crate's command object: ``MakeMigrationsCommand(options).execute()``."""

    def __init__(self, options: MakeMigrationsOptions, *, service: MigrationService | None = None) -> None:
        """Run with ``options`` on ``service`` (default: the project found from the current folder)."""
        self.options = options
        self.service = service

    def execute(self) -> tuple[Path, ...]:
        """Make the migrations and return the files created (none in a dry run).

        Raises:
            MigrationError: see ``MigrationService.makemigrations``.
        """
        service = self.service or MigrationService.from_pyproject()
        options = self.options
        result = service.makemigrations(
            (options.app_label,) if options.app_label else (),
            name=options.name,
            empty=options.empty,
            dry_run=options.dry_run,
            file_format=options.file_format,
        )
        return result.written

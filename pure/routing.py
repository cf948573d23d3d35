"""Several databases in one project: which app lives where, and what that means for plans.

Theory of operation
-------------------
A project may keep its apps on several databases, each named by an alias
(``default``, ``analytics``). ``DatabaseRoutes`` says which alias each app lives on:
an app routed by name goes to its alias, any other app to the default alias. Every
database has its own recorder and holds only its own apps' tables.

A migration may depend on a migration of an app that lives on another database. Such
a *cross-database dependency* is an ordering constraint only: the dependency must be
applied on its own database first. So the graph one database's executor sees is its
apps' migrations with the cross-database dependencies dropped
(``split_for_database``); the constraints come back as ``CrossDependency`` values that
the shell checks against the other databases' recorders before anything runs.

Migrating every database interleaves them as little as the constraints allow
(``schedule``): each round runs the database whose pending migrations are all ready,
else the first with any ready migration. Because the migration graph is acyclic, a
schedule always exists, even when the databases depend on each other both ways.

Relations cannot cross databases: a foreign key is a constraint inside one database.
``check_relations`` replays the history once and names the first migration that puts
a relation (or a change to another database's model) across databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.errors import GraphError, InvalidOperation, InvalidValue, MigrationError
from reinhardt_migrations.pure.graph import ZERO, MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.state import ModelState, ProjectState

__all__ = [
    "DEFAULT_ALIAS",
    "AppOnOtherDatabase",
    "AppliedCrossDatabaseDependent",
    "CrossDatabaseError",
    "CrossDatabaseOperation",
    "CrossDatabaseRelation",
    "CrossDependency",
    "DatabaseMigrations",
    "DatabaseRoutes",
    "UnappliedCrossDatabaseDependency",
    "UnknownDatabase",
    "UnroutedApp",
    "applied_dependents",
    "check_relations",
    "is_recorded",
    "run_targets",
    "schedule",
    "split_for_database",
    "unapplied_dependencies",
]

DEFAULT_ALIAS = "default"


def _label(key: MigrationKey) -> str:
    return f"{key[0]}.{key[1]}"


# -- errors -------------------------------------------------------------------------------


class UnknownDatabase(MigrationError, LookupError):
    """A database alias that the configuration does not define."""

    def __init__(self, alias: str, known: Sequence[str]) -> None:
        self.alias = alias
        self.known = tuple(known)
        super().__init__(
            f"There is no database {alias!r} (configured databases: {', '.join(self.known) or 'none'}). "
            "Check the spelling of --database, or add the alias under "
            "[tool.reinhardt-migrations.databases]."
        )


class UnroutedApp(MigrationError, LookupError):
    """An app that no route sends anywhere, in a project without a default database."""

    def __init__(self, app_label: str, known: Sequence[str]) -> None:
        self.app_label = app_label
        self.known = tuple(known)
        super().__init__(
            f"App {app_label!r} is not routed to a database, and there is no 'default' database. "
            f"Add {app_label} = ALIAS under [tool.reinhardt-migrations.routes] (databases: "
            f"{', '.join(self.known)}), or configure a default database."
        )


class AppOnOtherDatabase(MigrationError, ValueError):
    """A target names an app that lives on another database than the one chosen."""

    def __init__(self, app_label: str, database: str, chosen: str) -> None:
        self.app_label = app_label
        self.database = database
        self.chosen = chosen
        super().__init__(
            f"App {app_label!r} lives on database {database!r}, not {chosen!r}. Use "
            f"--database {database}, or leave --database out."
        )


class CrossDatabaseError(GraphError):
    """Migrations on one database that need something of another database."""


class UnappliedCrossDatabaseDependency(CrossDatabaseError):
    """A migration to apply depends on a migration of another database that is not applied there."""

    def __init__(self, migration: MigrationKey, database: str, dependency: MigrationKey, on: str) -> None:
        self.migration = migration
        self.database = database
        self.dependency = dependency
        self.on = on
        super().__init__(
            f"Migration {_label(migration)} (database {database!r}) depends on {_label(dependency)}, "
            f"which lives on database {on!r} and is not applied there. Run `rmig migrate --database {on}` "
            f"first (or `rmig migrate` to migrate every database in order). Nothing was run."
        )


class AppliedCrossDatabaseDependent(CrossDatabaseError):
    """Unapplying a migration that an applied migration of another database depends on."""

    def __init__(
        self, migration: MigrationKey, database: str, dependent: MigrationKey, on: str, previous: str
    ) -> None:
        self.migration = migration
        self.database = database
        self.dependent = dependent
        self.on = on
        super().__init__(
            f"Cannot unapply {_label(migration)} (database {database!r}): {_label(dependent)} on "
            f"database {on!r} depends on it and is applied there. Unapply that first: "
            f"`rmig migrate {dependent[0]} {previous} --database {on}`. Nothing was run."
        )


class CrossDatabaseRelation(CrossDatabaseError, InvalidOperation):
    """A relation from a model on one database to a model on another."""

    def __init__(
        self,
        migration: MigrationKey,
        model: str,
        field: str,
        target: str,
        database: str,
        target_database: str,
    ) -> None:
        self.migration = migration
        self.model = model
        self.field = field
        self.target = target
        self.database = database
        self.target_database = target_database
        super().__init__(
            f"Migration {_label(migration)} gives {model}.{field} (database {database!r}) a relation "
            f"to {target} (database {target_database!r}); foreign keys cannot cross databases. Route "
            "both apps to the same database, or store the other model's key in a plain column. "
            "Nothing was run."
        )


class CrossDatabaseOperation(CrossDatabaseError, InvalidOperation):
    """A migration of an app on one database that changes a model living on another."""

    def __init__(self, migration: MigrationKey, database: str, model: str, model_database: str) -> None:
        self.migration = migration
        self.database = database
        self.model = model
        self.model_database = model_database
        super().__init__(
            f"Migration {_label(migration)} runs on database {database!r} but changes {model}, "
            f"which lives on database {model_database!r}. Move the operation into a migration of "
            f"{model.split('.', 1)[0]}, or route both apps to the same database. Nothing was run."
        )


# -- routes -------------------------------------------------------------------------------


def _alias_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _route_map(value: Mapping[str, str]) -> PMap[str, str]:
    return value if isinstance(value, PMap) else pmap(dict(value))


def _check_aliases(
    instance: DatabaseRoutes, attribute: attrs.Attribute[tuple[str, ...]], aliases: tuple[str, ...]
) -> None:
    if not aliases:
        raise InvalidValue("DatabaseRoutes.aliases", "at least one database alias is needed")
    for alias in aliases:
        if not isinstance(alias, str) or not alias.isidentifier():
            raise InvalidValue("DatabaseRoutes.aliases", f"{alias!r} is not an identifier")
    if len(set(aliases)) != len(aliases):
        raise InvalidValue("DatabaseRoutes.aliases", f"{aliases!r} names an alias twice")


def _default_alias(routes: DatabaseRoutes) -> str | None:
    return DEFAULT_ALIAS if DEFAULT_ALIAS in routes.aliases else None


@attrs.frozen
class DatabaseRoutes:
    """The databases of a project by alias, the alias of each routed app, and the default.

    ``default`` receives every app no route names (None: every app must be routed); it
    is ``"default"`` when that alias exists.
    """

    aliases: tuple[str, ...] = attrs.field(
        default=(DEFAULT_ALIAS,), converter=_alias_tuple, validator=_check_aliases
    )
    routes: PMap[str, str] = attrs.field(factory=pmap, converter=_route_map)
    default: str | None = attrs.field(default=attrs.Factory(_default_alias, takes_self=True))

    def __attrs_post_init__(self) -> None:
        for app, alias in sorted(self.routes.items()):
            if alias not in self.aliases:
                raise InvalidValue(
                    "DatabaseRoutes.routes",
                    f"app {app!r} goes to {alias!r}, which is not in {self.aliases!r}",
                )
        if self.default is not None and self.default not in self.aliases:
            raise InvalidValue("DatabaseRoutes.default", f"{self.default!r} is not in {self.aliases!r}")

    @property
    def is_single(self) -> bool:
        """Tell whether there is only one database (then nothing is ever routed elsewhere)."""
        return len(self.aliases) == 1

    def check_alias(self, alias: str) -> str:
        """Return ``alias`` if it is configured.

        Raises:
            UnknownDatabase: it is not (the message lists the aliases).
        """
        if alias not in self.aliases:
            raise UnknownDatabase(alias, self.aliases)
        return alias

    def alias_of(self, app_label: str) -> str:
        """Return the alias of the database ``app_label`` lives on.

        Raises:
            UnroutedApp: no route names the app and there is no default database.
        """
        alias = self.routes.get(app_label, self.default)
        if alias is None:
            raise UnroutedApp(app_label, self.aliases)
        return alias

    def is_on(self, app_label: str, alias: str) -> bool:
        """Tell whether ``app_label`` lives on ``alias`` (False for an unroutable app)."""
        return self.routes.get(app_label, self.default) == alias

    def apps_of(self, alias: str, apps: Iterable[str]) -> tuple[str, ...]:
        """Return those of ``apps`` that live on ``alias``, in the order given."""
        self.check_alias(alias)
        return tuple(app for app in apps if self.alias_of(app) == alias)


# -- one database's part of the graph -------------------------------------------------------


@attrs.frozen
class CrossDependency:
    """``migration`` depends on ``dependency``, which lives on the database ``database``."""

    migration: MigrationKey
    dependency: MigrationKey
    database: str


@attrs.frozen(eq=False)
class DatabaseMigrations:
    """The migrations of one database: its graph without cross-database edges, and those edges."""

    alias: str
    graph: MigrationGraph
    external: tuple[CrossDependency, ...]

    def external_of(self, key: MigrationKey) -> tuple[CrossDependency, ...]:
        """Return the cross-database dependencies of one migration."""
        return tuple(item for item in self.external if item.migration == key)


def split_for_database(graph: MigrationGraph, routes: DatabaseRoutes, alias: str) -> DatabaseMigrations:
    """Return the migrations of the apps on ``alias``, cross-database dependencies dropped and listed.

    Migrations that lose nothing are the very same values, so their checksums do not
    change; the shell still computes checksums from the original graph.

    Raises:
        UnknownDatabase: ``alias`` is not configured.
        UnroutedApp: an app of the graph goes nowhere.
    """
    routes.check_alias(alias)
    kept: list[Migration] = []
    external: list[CrossDependency] = []
    for key in graph.nodes:
        if routes.alias_of(key[0]) != alias:
            continue
        migration = graph.migration(key)
        own = []
        for dependency in migration.dependencies:
            other = routes.alias_of(dependency[0])
            if other == alias:
                own.append(dependency)
            else:
                external.append(CrossDependency(key, dependency, other))
        if len(own) != len(migration.dependencies):
            migration = attrs.evolve(migration, dependencies=own)
        kept.append(migration)
    return DatabaseMigrations(alias, MigrationGraph.from_migrations(kept), tuple(external))


def is_recorded(graph: MigrationGraph, key: MigrationKey, recorded: Set[MigrationKey]) -> bool:
    """Tell whether ``key`` counts as applied for a database whose recorder holds ``recorded``.

    A squash counts when every migration it replaces is recorded (and the executor
    records the replaced ones with the squash), as in ``MigrationGraph.applied_nodes``.
    """
    if key in recorded:
        return True
    if key in graph:
        replaces = graph.migration(key).replaces
        return bool(replaces) and all(old in recorded for old in replaces)
    return False


def unapplied_dependencies(
    split: DatabaseMigrations,
    planned: Iterable[MigrationKey],
    graph: MigrationGraph,
    recorded: Mapping[str, Set[MigrationKey]],
) -> tuple[CrossDependency, ...]:
    """Return the cross-database dependencies of ``planned`` migrations not recorded on their database.

    ``recorded`` holds the recorder's keys by alias; ``graph`` is the whole project's.
    """
    wanted = set(planned)
    return tuple(
        item
        for item in split.external
        if item.migration in wanted
        and not is_recorded(graph, item.dependency, recorded.get(item.database, frozenset()))
    )


def applied_dependents(
    graph: MigrationGraph,
    routes: DatabaseRoutes,
    alias: str,
    unapplied: Iterable[MigrationKey],
    recorded: Mapping[str, Set[MigrationKey]],
) -> tuple[tuple[MigrationKey, MigrationKey, str, str], ...]:
    """Return ``(migration, dependent, its database, its previous target)`` for each blocked unapply.

    A migration of ``alias`` about to be unapplied is blocked while a migration on
    another database that depends on it (or on a migration it replaces) is recorded.
    """
    going = {key: {key, *graph.migration(key).replaces} for key in unapplied if key in graph}
    stands_for = {old: key for key, olds in going.items() for old in olds}
    found = []
    for key in graph.nodes:
        other = routes.alias_of(key[0])
        if other == alias:
            continue
        migration = graph.migration(key)
        for dependency in migration.dependencies:
            if dependency in stands_for and is_recorded(graph, key, recorded.get(other, frozenset())):
                found.append((stands_for[dependency], key, other, _previous(graph, migration)))
    return tuple(sorted(set(found)))


def _previous(graph: MigrationGraph, migration: Migration) -> str:
    """Return the migration of the same app that ``migration`` follows (to migrate back to), or zero."""
    own = {dependency for dependency in migration.dependencies if dependency[0] == migration.app_label}
    earlier = [key for key in graph.nodes if key in own]
    return earlier[-1][1] if earlier else ZERO


# -- scheduling several databases ----------------------------------------------------------


def _effective_dependencies(
    graph: MigrationGraph, keys: Sequence[MigrationKey]
) -> dict[MigrationKey, set[MigrationKey]]:
    """Return, for each of ``keys``, those of ``keys`` it must follow (squashes resolved)."""
    planned = set(keys)
    replaced_by = {old: key for key in keys for old in graph.migration(key).replaces}
    found: dict[MigrationKey, set[MigrationKey]] = {}
    for key in keys:
        wanted: set[MigrationKey] = set()
        for dependency in graph.migration(key).dependencies:
            if dependency in planned:
                wanted.add(dependency)
            elif dependency in replaced_by:
                wanted.add(replaced_by[dependency])
            elif dependency in graph:
                # A squash that is not used: its dependents follow what it replaces.
                wanted.update(old for old in graph.migration(dependency).replaces if old in planned)
        wanted.discard(key)
        found[key] = wanted
    return found


def schedule(
    graph: MigrationGraph, routes: DatabaseRoutes, keys: Sequence[MigrationKey]
) -> tuple[tuple[str, tuple[MigrationKey, ...]], ...]:
    """Return ``(alias, keys)`` runs applying ``keys`` (a forwards plan) database by database.

    Each run holds migrations of one database, in plan order, whose dependencies come
    before them; a database is interrupted only when it needs another's migration first.

    Raises:
        UnroutedApp: an app goes nowhere.
    """
    depends = _effective_dependencies(graph, keys)
    pending = list(keys)
    done: set[MigrationKey] = set()
    order = {alias: position for position, alias in enumerate(routes.aliases)}
    runs: list[tuple[str, tuple[MigrationKey, ...]]] = []
    while pending:
        candidates: list[tuple[bool, int, str, list[MigrationKey]]] = []
        for alias in sorted({routes.alias_of(key[0]) for key in pending}, key=order.__getitem__):
            mine = [key for key in pending if routes.alias_of(key[0]) == alias]
            ready: list[MigrationKey] = []
            taken: set[MigrationKey] = set()
            for key in mine:
                if all(dependency in done or dependency in taken for dependency in depends[key]):
                    ready.append(key)
                    taken.add(key)
            if ready:
                candidates.append((len(ready) != len(mine), order[alias], alias, ready))
        # The first pending key is always ready, so there is a candidate.
        _partial, _position, alias, ready = min(candidates, key=lambda item: (item[0], item[1]))
        runs.append((alias, tuple(ready)))
        done.update(ready)
        chosen = set(ready)
        pending = [key for key in pending if key not in chosen]
    return tuple(runs)


def run_targets(graph: MigrationGraph, keys: Sequence[MigrationKey]) -> tuple[MigrationKey, ...]:
    """Return those of ``keys`` no other of ``keys`` depends on: the targets that plan exactly a run."""
    depends = _effective_dependencies(graph, keys)
    needed = {dependency for key in keys for dependency in depends[key]}
    return tuple(key for key in keys if key not in needed)


# -- relations across databases --------------------------------------------------------------


def check_relations(graph: MigrationGraph, routes: DatabaseRoutes) -> None:
    """Raise if a migration relates models on different databases, or changes another database's model.

    Replays the fresh history once; models a migration leaves untouched are skipped by
    identity, so the cost is one pass over the changed models.

    Raises:
        CrossDatabaseRelation: a foreign key, one-to-one or many-to-many field crosses databases.
        CrossDatabaseOperation: a migration of an app on one database changes a model on another.
        UnroutedApp: an app goes nowhere.
    """
    state = ProjectState()
    for key in graph.forwards_plan():
        migration = graph.migration(key)
        after = migration.apply(state)
        alias = routes.alias_of(migration.app_label)
        changed = [
            model for model_key, model in after.models.items() if state.models.get(model_key) is not model
        ]
        for model in sorted(changed, key=lambda model: model.key):
            _check_model_relations(key, model, routes)
        for model in sorted(changed, key=lambda model: model.key):
            _check_owner(key, alias, model.app_label, model.label, routes)
        for model_key in sorted(set(state.models) - set(after.models)):
            _check_owner(key, alias, model_key[0], f"{model_key[0]}.{model_key[1]}", routes)
        state = after


def _check_model_relations(key: MigrationKey, model: ModelState, routes: DatabaseRoutes) -> None:
    alias = routes.alias_of(model.app_label)
    for field, relation in model.relations():
        for target in (relation.to, relation.through):
            if target is None:
                continue
            other = routes.alias_of(target[0])
            if other != alias:
                raise CrossDatabaseRelation(
                    key, model.label, field.name, f"{target[0]}.{target[1]}", alias, other
                )


def _check_owner(key: MigrationKey, alias: str, app_label: str, label: str, routes: DatabaseRoutes) -> None:
    owner = routes.alias_of(app_label)
    if owner != alias:
        raise CrossDatabaseOperation(key, alias, label, owner)

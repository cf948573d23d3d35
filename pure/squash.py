"""Squash a range of one app's migrations into one migration (Django's ``squashmigrations``).

Theory of operation
-------------------
The range is read on the history a fresh database sees (``graph.resolved()``: every
squash in use): the migrations of the app that END needs, in planning order, from START
(default: the app's first) to END. The squash is a new migration beside the old files:

- operations: the range's operations in order, without the elidable ``RunSQL`` and
  ``RunCode`` (as Django), then ``optimize``; so replaying the squash on the state before
  START gives the state the range gives (law 6 of the optimizer). An elidable ``RunSQL``
  that declares ``state_operations`` is kept: dropping it would change the state.
- dependencies: every dependency of the range that points outside it (other apps, or
  this app before START), deduplicated and sorted.
- ``replaces``: the range's keys in order; a squash in the range brings the keys it
  replaces too (only a *finished* squash, whose replaced files are gone, may be squashed
  again: a range containing an unfinished one is refused).
- ``initial`` if the first migration was, ``atomic`` unless one of them was not.

The graph then folds the range into the squash where a database applied none (or all) of
it, and keeps the old files where it applied part (``MigrationGraph.resolved``). A
dependency outside the range that itself needs a migration inside would make the squash
depend on itself: that range is refused, naming the migrations, before anything is built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from reinhardt_migrations.pure.errors import InvalidValue, MigrationError, UnknownMigration
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.operations.special import RunCode, RunSQL
from reinhardt_migrations.pure.optimizer import optimize

__all__ = [
    "CircularSquash",
    "InvalidSquashRange",
    "SquashError",
    "SquashNameTaken",
    "SquashPlan",
    "UnfinishedSquash",
    "is_elided_when_squashing",
    "plan_squash",
    "squash",
]

_NUMBERED = re.compile(r"^(\d+)_")


def _label(key: MigrationKey) -> str:
    return f"{key[0]}.{key[1]}"


class SquashError(MigrationError):
    """A range of migrations that cannot be squashed into one."""


class InvalidSquashRange(SquashError, ValueError):
    """START and END do not delimit a range of at least two migrations of the app."""

    def __init__(self, app_label: str, start: str | None, end: str, problem: str) -> None:
        self.app_label = app_label
        self.start = start
        self.end = end
        self.problem = problem
        what = f"{app_label} {start} .. {end}" if start is not None else f"{app_label} up to {end}"
        super().__init__(f"Cannot squash {what}: {problem}.")


class UnfinishedSquash(SquashError):
    """The range holds (or starts or ends inside) a squash whose replaced files still exist."""

    def __init__(self, squash: MigrationKey, present: Sequence[MigrationKey]) -> None:
        self.squash = squash
        self.present = tuple(present)
        super().__init__(
            f"Migration {_label(squash)} is a squash whose replaced migrations still exist "
            f"({', '.join(_label(key) for key in self.present)}). Finish it first: once every "
            "database has applied it, delete those files and remove its `replaces`; or choose a "
            "range that leaves it out (or starts after it)."
        )


class CircularSquash(SquashError):
    """A dependency of the range, outside it, needs a migration inside it."""

    def __init__(self, migration: MigrationKey, dependency: MigrationKey, inside: MigrationKey) -> None:
        self.migration = migration
        self.dependency = dependency
        self.inside = inside
        super().__init__(
            f"Cannot squash: {_label(migration)} depends on {_label(dependency)}, which needs "
            f"{_label(inside)} of the range itself, so the squash would depend on itself. Squash a "
            f"range that ends before {_label(migration)} (or starts after {_label(inside)})."
        )


class SquashNameTaken(SquashError, ValueError):
    """The squash's name is already a migration of the app."""

    def __init__(self, key: MigrationKey) -> None:
        self.key = key
        super().__init__(
            f"Migration {_label(key)} already exists, so the squash cannot take that name. Choose "
            "another name (--name), or delete the old squash if it is not needed."
        )


@attrs.frozen
class SquashPlan:
    """A squash and what went into it: the squashed migrations and the operation counts."""

    migration: Migration
    squashed: tuple[Migration, ...]
    operations_in: int
    elided: int

    @property
    def operations_out(self) -> int:
        """Return how many operations the squash holds."""
        return len(self.migration.operations)

    @property
    def kept_code(self) -> tuple[Operation, ...]:
        """Return the RunSQL and RunCode operations the squash keeps (they run on fresh databases)."""
        return tuple(op for op in self.migration.operations if isinstance(op, RunSQL | RunCode))


def is_elided_when_squashing(operation: Operation) -> bool:
    """Tell whether a squash drops ``operation``: marked ``elidable``, changing no state."""
    if getattr(operation, "elidable", False) is not True:
        return False
    return not getattr(operation, "state_operations", ())


def squash(
    graph: MigrationGraph,
    app_label: str,
    start: str | None,
    end: str,
    name: str | None = None,
    *,
    optimized: bool = True,
) -> Migration:
    """Return one migration replacing ``app_label``'s migrations from ``start`` to ``end``.

    Raises:
        SquashError: see ``plan_squash``.
    """
    return plan_squash(graph, app_label, start, end, name, optimized=optimized).migration


def plan_squash(
    graph: MigrationGraph,
    app_label: str,
    start: str | None,
    end: str,
    name: str | None = None,
    *,
    optimized: bool = True,
) -> SquashPlan:
    """Return the squash of ``app_label`` from ``start`` (None: its first) to ``end``, with its counts.

    ``name`` replaces the generated ``squashed_<end>`` after START's number.

    Raises:
        UnknownMigration: START or END does not exist.
        InvalidSquashRange: START is not in END's history, or the range holds one migration.
        UnfinishedSquash: the range holds a squash whose replaced files still exist.
        CircularSquash: a dependency outside the range needs a migration inside it.
        SquashNameTaken: a migration already has the squash's name.
        InvalidValue: ``name`` is not letters, digits and underscores.
        CircularDependency: the graph with the squash has a cycle (a guard; not expected).
    """
    fresh = graph.resolved()
    members = _members(graph, fresh, app_label, start, end)
    inside = set(_replaced_keys(members)) | {m.key for m in members}
    stands_for = _stand_ins(fresh)
    dependencies: set[MigrationKey] = set()
    for migration in members:
        for dependency in migration.dependencies:
            if stands_for.get(dependency, dependency) not in inside and dependency not in inside:
                dependencies.add(dependency)
    _check_no_cycle(fresh, members, dependencies, stands_for)
    operations = [op for m in members for op in m.operations]
    kept = [op for op in operations if not is_elided_when_squashing(op)]
    first = members[0]
    migration = Migration(
        name=_squash_name(first.name, members[-1].name, name),
        app_label=app_label,
        dependencies=sorted(dependencies),
        operations=optimize(kept) if optimized else kept,
        replaces=_replaced_keys(members),
        atomic=all(m.atomic for m in members),
        initial=first.initial,
    )
    if migration.key in graph:
        raise SquashNameTaken(migration.key)
    # A guard: the history with the squash in use must still order (raises CircularDependency).
    MigrationGraph([*(graph.migration(key) for key in graph.nodes), migration]).resolved()
    return SquashPlan(migration, members, len(operations), len(operations) - len(kept))


def _members(
    graph: MigrationGraph, fresh: MigrationGraph, app_label: str, start: str | None, end: str
) -> tuple[Migration, ...]:
    """Return the app's migrations from ``start`` to ``end`` in END's history, checked."""
    for endpoint in (start, end):
        if endpoint is None:
            continue
        key = (app_label, endpoint)
        if key not in graph:
            raise UnknownMigration(key)
        if key not in fresh:
            owner = next(k for k in fresh.nodes if key in fresh.migration(k).replaces)
            present = [old for old in fresh.migration(owner).replaces if old in graph]
            raise UnfinishedSquash(owner, present)
    history = [key for key in fresh.forwards_plan((app_label, end)) if key[0] == app_label]
    first = (app_label, start) if start is not None else history[0]
    if first not in history:
        raise InvalidSquashRange(
            app_label, start, end, f"{start} is not in the history of {end} (END must come after START)"
        )
    keys = history[history.index(first) :]
    if len(keys) < 2:
        raise InvalidSquashRange(app_label, start, end, "the range holds only one migration")
    members = tuple(fresh.migration(key) for key in keys)
    for migration in members:
        present = [old for old in migration.replaces if old in graph]
        if present:
            raise UnfinishedSquash(migration.key, present)
    return members


def _replaced_keys(members: Sequence[Migration]) -> tuple[MigrationKey, ...]:
    """Return the keys the squash replaces in order: each member's replaced keys, then itself."""
    keys: dict[MigrationKey, None] = {}
    for migration in members:
        keys.update(dict.fromkeys(migration.replaces))
        keys[migration.key] = None
    return tuple(keys)


def _stand_ins(fresh: MigrationGraph) -> dict[MigrationKey, MigrationKey]:
    """Return ``{replaced key: the squash standing for it}`` on the fresh history."""
    return {old: key for key in fresh.nodes for old in fresh.migration(key).replaces}


def _check_no_cycle(
    fresh: MigrationGraph,
    members: Sequence[Migration],
    dependencies: set[MigrationKey],
    stands_for: dict[MigrationKey, MigrationKey],
) -> None:
    """Raise if a dependency outside the range needs a migration inside it."""
    range_keys = {m.key for m in members}
    for migration in members:
        for dependency in sorted(set(migration.dependencies) & dependencies):
            node = stands_for.get(dependency, dependency)
            needed = [key for key in fresh.forwards_plan(node) if key in range_keys]
            if needed:
                raise CircularSquash(migration.key, dependency, needed[0])


def _squash_name(start: str, end: str, name: str | None) -> str:
    """Return ``NNNN_squashed_<end>`` (or ``NNNN_<name>``), NNNN being START's number."""
    if name is not None and not re.fullmatch(r"\w+", name):
        raise InvalidValue("squash name", f"{name!r} must be letters, digits and underscores")
    match = _NUMBERED.match(start)
    prefix = match.group(1) if match else start
    return f"{prefix}_{name}" if name else f"{prefix}_squashed_{end}"

"""The migration dependency graph: validation, squashes, leaves, conflicts and plans.

Theory of operation
-------------------
A ``MigrationGraph`` is a frozen value around a private networkx ``DiGraph`` whose
nodes are ``(app_label, name)`` keys and whose edges run from a dependency to its
dependent, so every topological order applies dependencies first. networkx never
leaves this module: its generators are materialized here and its errors become ours.

Building (``from_migrations``) validates everything once: duplicate keys, dependencies
on unknown migrations, cycles. It then computes ONE deterministic order of all nodes,
``lexicographical_topological_sort`` keyed on ``(app, name)``. Plans never sort again:

- forwards: one search from the targets through their unapplied dependencies (the
  history of an applied migration counts as applied; ``check_consistent`` verifies
  that), then the global order restricted to what it found. For an ancestor-closed
  set S this restriction *is* the lexicographical topological sort of the subgraph S
  (at each step the smallest ready node of S is also the smallest ready node of the
  whole graph that lies in S), so a plan from nothing depends only on the targets'
  history, never on unrelated migrations.
- backwards: one search for the dependents of the starting nodes, in the reverse global
  order, keeping only what is applied; dependents always come before their dependencies.

Both searches walk parent and child tuples precomputed when the graph is built, so a
plan costs O(nodes + edges) however many targets it has.

Squashed migrations (``replaces``) follow Django. The graph built from files holds
both a squash and the migrations it replaces; ``resolved(applied)`` decides, for each
squash in key order, whether it is used: it is when all or none of the replaced
migrations are applied (then the replaced nodes go and their edges are repointed to the
squash), otherwise the squash goes and its dependents hang from the last replaced
migrations. The plan functions and ``check_consistent`` resolve by themselves with the
``applied`` they get; a target naming a replaced migration plans on the history without
that squash (as Django's ``migrate app 0002`` does). Shape queries (``leaf_nodes``,
``root_nodes``, ``conflicts``) describe the history a fresh database sees: every squash
in use. Ask ``graph.resolved(applied)`` for the shape a given database sees.

A target ``(app, "zero")`` means "no migration of app": backwards it unapplies the whole
app and everything depending on it. Migrating back to ``(app, name)`` unapplies the
children of ``name`` in its app and everything depending on them (Django semantics).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any, NoReturn, TypeAlias

import attrs
import networkx as nx

from reinhardt_migrations.pure.errors import (
    CircularDependency,
    ConflictingLeaves,
    DuplicateMigration,
    InconsistentHistory,
    UnknownMigration,
)
from reinhardt_migrations.pure.migration import Migration, MigrationKey

__all__ = ["ZERO", "MigrationGraph", "PlanStep"]

#: The migration name that means "before the first migration of the app" in a target
#: (so no migration can be targeted under the name ``zero`` itself).
ZERO = "zero"

_Graph: TypeAlias = "nx.DiGraph[MigrationKey]"
_NOTHING: frozenset[MigrationKey] = frozenset()


def _by_app_and_name(key: MigrationKey) -> MigrationKey:
    # The node is already the (app, name) pair; naming the sort key keeps the intent visible.
    return key


@attrs.frozen
class PlanStep:
    """One step of a plan: apply (``backwards=False``) or unapply a migration."""

    key: MigrationKey
    backwards: bool = False


class MigrationGraph:
    """The dependency graph of a project's migrations; frozen, built by ``from_migrations``."""

    __slots__ = (
        "_children",
        "_graph",
        "_migrations",
        "_order",
        "_parents",
        "_replacements",
        "_resolutions",
        "_squash_of",
        "_squashes",
    )

    _graph: _Graph
    _migrations: dict[MigrationKey, Migration]
    _order: tuple[MigrationKey, ...]
    _parents: dict[MigrationKey, tuple[MigrationKey, ...]]
    _children: dict[MigrationKey, tuple[MigrationKey, ...]]
    _replacements: dict[MigrationKey, tuple[MigrationKey, ...]]
    _squash_of: dict[MigrationKey, MigrationKey]
    _squashes: tuple[MigrationKey, ...]
    _resolutions: dict[tuple[bool, ...], MigrationGraph]

    def __init__(self, migrations: Iterable[Migration] = ()) -> None:
        """Build and validate the graph; same as ``MigrationGraph.from_migrations``."""
        graph, by_key = _graph_of(migrations)
        replacements = {key: m.replaces for key, m in sorted(by_key.items()) if m.replaces}
        self._setup(graph, by_key, replacements)

    def _setup(
        self,
        graph: _Graph,
        migrations: dict[MigrationKey, Migration],
        replacements: dict[MigrationKey, tuple[MigrationKey, ...]],
    ) -> None:
        squash_of: dict[MigrationKey, MigrationKey] = {}
        for squash, replaced in replacements.items():
            for key in replaced:
                if key in migrations:
                    squash_of.setdefault(key, squash)
        fields: dict[str, object] = {
            "_graph": graph,
            "_migrations": migrations,
            "_order": _ordered(graph),
            "_parents": {key: tuple(near) for key, near in graph.reverse(copy=False).adjacency()},
            "_children": {key: tuple(near) for key, near in graph.adjacency()},
            "_replacements": replacements,
            "_squash_of": squash_of,
            "_squashes": tuple(key for key, migration in migrations.items() if migration.replaces),
            "_resolutions": {},
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_migrations(cls, migrations: Iterable[Migration]) -> MigrationGraph:
        """Return the validated graph of ``migrations``.

        Raises:
            DuplicateMigration: two migrations share a key.
            UnknownMigration: a dependency names no migration (``wanted_by`` says who asked).
            CircularDependency: the dependencies form a cycle (carried in ``cycle``).
        """
        return cls(migrations)

    @classmethod
    def _from_parts(
        cls,
        graph: _Graph,
        migrations: dict[MigrationKey, Migration],
    ) -> MigrationGraph:
        built = cls.__new__(cls)
        built._setup(graph, migrations, {})
        return built

    # -- a frozen value ------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> NoReturn:
        raise attrs.exceptions.FrozenInstanceError()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MigrationGraph):
            return NotImplemented
        if self is other:
            return True
        return self._migrations == other._migrations and set(self._graph.edges) == set(other._graph.edges)

    def __hash__(self) -> int:
        return hash(frozenset(self._migrations))

    def __repr__(self) -> str:
        return f"<MigrationGraph: {len(self._order)} migrations, {len(self._graph.edges)} edges>"

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._migrations

    # -- reading the graph ---------------------------------------------------------

    @property
    def nodes(self) -> tuple[MigrationKey, ...]:
        """Return every key, squashes and replaced ones included, in the planning order."""
        return self._order

    def migration(self, key: MigrationKey) -> Migration:
        """Return the migration with ``key``.

        Raises:
            UnknownMigration: no migration has this key.
        """
        try:
            return self._migrations[key]
        except KeyError:
            raise UnknownMigration(key) from None

    def leaf_nodes(self, app: str | None = None) -> tuple[MigrationKey, ...]:
        """Return the sorted migrations no other migration of their app depends on."""
        children = self._fresh()._children
        return tuple(
            key
            for key in sorted(children)
            if (app is None or key[0] == app) and all(child[0] != key[0] for child in children[key])
        )

    def root_nodes(self, app: str | None = None) -> tuple[MigrationKey, ...]:
        """Return the sorted migrations that depend on no other migration of their app."""
        parents = self._fresh()._parents
        return tuple(
            key
            for key in sorted(parents)
            if (app is None or key[0] == app) and all(parent[0] != key[0] for parent in parents[key])
        )

    def conflicts(self) -> dict[str, tuple[str, ...]]:
        """Return ``{app: leaf names}`` for every app with more than one leaf, sorted by app."""
        leaves: dict[str, list[str]] = {}
        for app, name in self.leaf_nodes():
            leaves.setdefault(app, []).append(name)
        return {app: tuple(names) for app, names in leaves.items() if len(names) > 1}

    def check_conflicts(self) -> None:
        """Raise if an app has several leaves (two branches of history need a merge).

        Raises:
            ConflictingLeaves: with the leaves of every conflicting app.
        """
        found = self.conflicts()
        if found:
            raise ConflictingLeaves(found)

    # -- squashes ------------------------------------------------------------------

    def resolved(self, applied: Set[MigrationKey] = _NOTHING) -> MigrationGraph:
        """Return the graph a database with ``applied`` sees: each squash used or dropped.

        Raises:
            UnknownMigration: a partly applied squash replaces an unapplied migration that is missing.
            CircularDependency: repointing the edges of a squash closes a cycle.
        """
        return self._resolution(applied, _NOTHING)

    def resolved_for(
        self, targets: Iterable[MigrationKey] | None, applied: Set[MigrationKey] = _NOTHING
    ) -> MigrationGraph:
        """Return the graph ``plan(targets, applied)`` plans on.

        A target inside a squash drops that squash (its migrations are planned one by
        one), so states along such a plan must be replayed on this graph, not ``resolved``.

        Raises:
            UnknownMigration: a target does not exist, or a squash cannot be resolved.
        """
        if targets is None:
            return self.resolved(applied)
        return self._prepare(tuple(targets), applied)[0]

    def applied_nodes(self, applied: Set[MigrationKey]) -> frozenset[MigrationKey]:
        """Return the nodes of ``resolved(applied)`` that count as applied.

        Recorded keys that are not in the resolved graph are ignored; a squash in use
        counts as applied when all the migrations it replaces are.
        """
        return self._resolution(applied, _NOTHING)._applied_in(applied)

    def _fresh(self) -> MigrationGraph:
        return self._resolution(_NOTHING, _NOTHING)

    def _resolution(self, applied: Set[MigrationKey], drop: Set[MigrationKey]) -> MigrationGraph:
        if not self._replacements:
            return self
        done: set[MigrationKey] = set()  # squashes counted as applied so far
        decisions: list[bool] = []
        for squash, replaced in self._replacements.items():
            statuses = [key in applied or key in done for key in replaced]
            # As in Django, a squash is applied exactly when all it replaces are: its own
            # row may outlive one of them being unapplied through the originals.
            squash_done = all(statuses)
            use = squash not in drop and (squash_done or not any(statuses))
            if use and squash_done:
                done.add(squash)
            elif not use:
                # Dropping the squash means applying what it replaces: their files must exist.
                for key in replaced:
                    if key not in self._migrations and key not in applied:
                        raise UnknownMigration(key, wanted_by=squash, relation="replaced by")
            decisions.append(use)
        signature = tuple(decisions)
        cached = self._resolutions.get(signature)
        if cached is None:
            cached = self._resolve(signature)
            self._resolutions[signature] = cached
        return cached

    def _resolve(self, decisions: Sequence[bool]) -> MigrationGraph:
        graph = self._graph.copy()
        migrations = dict(self._migrations)
        for (squash, replaced), use in zip(self._replacements.items(), decisions, strict=True):
            present = [key for key in replaced if key in graph]
            if use:
                _fold(graph, squash, present)
                for key in present:
                    del migrations[key]
                continue
            _unfold(graph, squash, present)
            del migrations[squash]
        return MigrationGraph._from_parts(graph, migrations)

    def _applied_in(self, applied: Set[MigrationKey]) -> frozenset[MigrationKey]:
        squashes = set(self._squashes)
        done = {key for key in applied if key in self._migrations and key not in squashes}
        for key in self._squashes:
            if all(old in applied for old in self._migrations[key].replaces):
                done.add(key)
        return frozenset(done)

    # -- history -------------------------------------------------------------------

    def check_consistent(self, applied: Set[MigrationKey]) -> None:
        """Raise if an applied migration has a dependency that is not applied.

        Raises:
            InconsistentHistory: naming the first such migration in planning order.
            UnknownMigration: a squash cannot be resolved (see ``resolved``).
        """
        graph = self.resolved(applied)
        done = graph._applied_in(applied)
        for key in graph._order:
            if key in done:
                for parent in sorted(graph._parents[key]):
                    if parent not in done:
                        raise InconsistentHistory(key, parent)

    # -- plans ---------------------------------------------------------------------

    def forwards_plan(
        self,
        target: MigrationKey | None = None,
        applied: Set[MigrationKey] = _NOTHING,
    ) -> tuple[MigrationKey, ...]:
        """Return the keys to apply, in order, to reach ``target`` (None: every leaf).

        The history of an applied migration counts as applied (``check_consistent`` verifies it).

        Raises:
            UnknownMigration: the target does not exist, or a squash cannot be resolved.
        """
        if target is None:
            graph = self.resolved(applied)
            return graph._forwards(None, graph._applied_in(applied))
        graph, (goal,), done = self._prepare((target,), applied)
        if goal[1] == ZERO:
            return ()
        return graph._forwards((goal,), done)

    def backwards_plan(
        self,
        target: MigrationKey,
        applied: Set[MigrationKey],
    ) -> tuple[MigrationKey, ...]:
        """Return the applied keys to unapply, dependents first, to go back to ``target``.

        ``(app, "zero")`` unapplies all of app; ``(app, name)`` unapplies the children of
        ``name`` in its app and everything that depends on them.

        Raises:
            UnknownMigration: the target (or the app, for zero) does not exist, or a squash
                cannot be resolved.
        """
        graph, (goal,), done = self._prepare((target,), applied)
        return graph._backwards(graph._back_to(goal), done)

    def plan(
        self,
        targets: Iterable[MigrationKey] | None = None,
        applied: Set[MigrationKey] = _NOTHING,
    ) -> tuple[PlanStep, ...]:
        """Return the steps reaching each target in turn (None: every leaf), like ``migrate``.

        A zero target or an applied target goes backwards; any other goes forwards.

        Raises:
            UnknownMigration: a target does not exist, or a squash cannot be resolved.
        """
        if targets is None:
            return tuple(PlanStep(key) for key in self.forwards_plan(None, applied))
        graph, goals, done = self._prepare(tuple(targets), applied)
        current = set(done)
        steps: list[PlanStep] = []
        for goal in goals:
            if goal[1] == ZERO or goal in current:
                keys = graph._backwards(graph._back_to(goal), current)
                current.difference_update(keys)
                steps.extend(PlanStep(key, backwards=True) for key in keys)
            else:
                keys = graph._forwards((goal,), current)
                current.update(keys)
                steps.extend(PlanStep(key) for key in keys)
        return tuple(steps)

    def _prepare(
        self,
        targets: Sequence[MigrationKey],
        applied: Set[MigrationKey],
    ) -> tuple[MigrationGraph, tuple[MigrationKey, ...], frozenset[MigrationKey]]:
        """Check the targets, resolve squashes, and map targets onto the resolved graph."""
        for target in targets:
            if target[1] == ZERO:
                if not any(key[0] == target[0] for key in self._order):
                    raise UnknownMigration(target)
            elif target not in self._migrations:
                raise UnknownMigration(target)
        drop = frozenset(self._squash_of[t] for t in targets if t in self._squash_of)
        graph = self._resolution(applied, drop)
        goals = tuple(self._goal_in(graph, target) for target in targets)
        return graph, goals, graph._applied_in(applied)

    def _goal_in(self, graph: MigrationGraph, target: MigrationKey) -> MigrationKey:
        """Return ``target`` as a node of the resolved ``graph``."""
        if target[1] == ZERO or target in graph:
            return target
        # A dropped (partly applied) squash stands for the last migration it replaces.
        replaced = self._replacements.get(target, ())
        if replaced and replaced[-1] in graph:
            return replaced[-1]
        raise UnknownMigration(target)

    def _back_to(self, goal: MigrationKey) -> list[MigrationKey]:
        """Return the nodes whose descendants must go to migrate back to ``goal``."""
        app = goal[0]
        if goal[1] == ZERO:
            return [key for key in self._order if key[0] == app]
        return sorted(child for child in self._children[goal] if child[0] == app)

    def _forwards(
        self,
        targets: Sequence[MigrationKey] | None,
        done: Set[MigrationKey],
    ) -> tuple[MigrationKey, ...]:
        if targets is None:
            return tuple(key for key in self._order if key not in done)
        needed = _reachable(self._parents, targets, stop=done)
        return tuple(key for key in self._order if key in needed)

    def _backwards(
        self,
        sources: Sequence[MigrationKey],
        done: Set[MigrationKey],
    ) -> tuple[MigrationKey, ...]:
        if not sources:
            return ()
        doomed = _reachable(self._children, sources)
        return tuple(key for key in reversed(self._order) if key in doomed and key in done)


# -- helpers; networkx stays in this module ---------------------------------------------------


def _graph_of(
    migrations: Iterable[Migration],
) -> tuple[_Graph, dict[MigrationKey, Migration]]:
    """Return the raw graph of ``migrations`` (squashes and replaced nodes side by side)."""
    by_key: dict[MigrationKey, Migration] = {}
    position: dict[MigrationKey, int] = {}
    for number, migration in enumerate(migrations, start=1):
        key = migration.key
        if key in by_key:
            raise DuplicateMigration(key, position[key], number)
        by_key[key] = migration
        position[key] = number
    keys = sorted(by_key)
    # A dependency on a replaced migration whose file is gone is a dependency on its squash.
    stand_in: dict[MigrationKey, MigrationKey] = {}
    for key in keys:
        for old in by_key[key].replaces:
            if old not in by_key:
                stand_in.setdefault(old, key)
    edges: list[tuple[MigrationKey, MigrationKey]] = []
    for key in keys:
        for dependency in by_key[key].dependencies:
            if dependency in by_key:
                edges.append((dependency, key))
            elif dependency in stand_in:
                edges.append((stand_in[dependency], key))
            else:
                raise UnknownMigration(dependency, wanted_by=key)
    graph: _Graph = nx.DiGraph()
    graph.add_nodes_from(keys)
    graph.add_edges_from(edges)
    return graph, by_key


def _ordered(graph: _Graph) -> tuple[MigrationKey, ...]:
    """Return the one deterministic topological order of ``graph``, or raise on a cycle."""
    try:
        return tuple(nx.lexicographical_topological_sort(graph, key=_by_app_and_name))
    except nx.NetworkXUnfeasible as error:
        raise CircularDependency(_cycle_in(graph)) from error


def _cycle_in(graph: _Graph) -> tuple[MigrationKey, ...]:
    """Return one cycle of ``graph`` as a path of keys, starting at its smallest key."""
    edges: list[Any] = list(nx.find_cycle(graph))
    path: list[MigrationKey] = [edge[0] for edge in edges]
    start = path.index(min(path))
    return tuple(path[start:] + path[:start])


def _reachable(
    edges: Mapping[MigrationKey, tuple[MigrationKey, ...]],
    sources: Iterable[MigrationKey],
    stop: Set[MigrationKey] = _NOTHING,
) -> set[MigrationKey]:
    """Return the ``sources`` and the nodes ``edges`` lead to from them, never through ``stop``."""
    found = {key for key in sources if key not in stop}
    pending = list(found)
    while pending:
        for key in edges[pending.pop()]:
            if key not in found and key not in stop:
                found.add(key)
                pending.append(key)
    return found


def _fold(graph: _Graph, squash: MigrationKey, replaced: Sequence[MigrationKey]) -> None:
    """Replace the ``replaced`` nodes by ``squash``, repointing their outside edges."""
    inside = set(replaced)
    for key in replaced:
        for child in list(graph.succ[key]):
            if child not in inside and child != squash:
                graph.add_edge(squash, child)
        for parent in list(graph.pred[key]):
            if parent not in inside and parent != squash:
                graph.add_edge(parent, squash)
    graph.remove_nodes_from(replaced)


def _unfold(graph: _Graph, squash: MigrationKey, replaced: Sequence[MigrationKey]) -> None:
    """Remove ``squash``; its dependents now hang from the last of the ``replaced`` nodes."""
    inside = set(replaced)
    last = [key for key in replaced if inside.isdisjoint(graph.succ[key])]
    for child in list(graph.succ[squash]):
        graph.add_edges_from((key, child) for key in last)
    graph.remove_node(squash)

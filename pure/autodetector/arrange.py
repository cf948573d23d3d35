"""Arrange steps into migrations: order, cut per app, depend, number and name.

Theory of operation
-------------------
1. *Order.* Each resource a step needs gives an edge from every step providing it
   (see ``steps``). The lexicographically smallest topological order by generation
   number gives one order, the same for the same inputs (comparators generate in sorted
   key order). Soft edges (``("order", ...)``) are dropped if the graph has a cycle with
   them; a cycle of hard edges is an ``UnorderableChanges`` error.
2. *Cut* (Django's chop). Each app's steps, in that order, go into migrations. In a
   round, an app takes the steps whose needs from other apps are in made migrations
   (and whose same-app predecessors it takes too); it makes a migration only if that is
   all its steps, so a migration is split only when it must be. A round without
   progress finds the apps that wait on each other in a cycle; each of them makes a
   partial migration of what it can take (so a web of new models across apps becomes
   at most two migrations per app: the models, then the relations between apps).
   The globally first pending step is always takeable, so this ends.
3. *Depend.* A migration depends on the previous one of its app (or the app's leaf),
   on the migrations holding steps it needs, and on other apps' leaves for models and
   fields it uses that the history made.
4. *Name.* Numbers continue from each app's leaf (``0001`` for a new app, whose
   migrations are ``initial``); the name is ``initial``, the given name, the
   operations' fragments joined by ``_`` if they fit in ``MAX_NAME_LENGTH``, or ``auto``.

networkx stays in this module (strongly connected components, the cycle of an error):
its generators are materialized here, its errors become ours.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs
import networkx as nx

from reinhardt_migrations.pure.autodetector.steps import PROJECT_FIRST, PROJECT_LAST, Step
from reinhardt_migrations.pure.errors import UnorderableChanges
from reinhardt_migrations.pure.fields import ModelKey
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.operations import (
    AddField,
    AlterField,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveField,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "Optimizer",
    "arrange",
    "cycles",
    "migration_name",
    "next_number",
    "order_steps",
    "strongly_connected",
]

Optimizer = Callable[[Sequence[Operation]], Sequence[Operation]]

#: Longest fragment part of a migration name (as Django's suggest_name).
MAX_NAME_LENGTH = 52

# Operations that may use what CreateExtension/CreateCollation make, or what the drops remove.
_USES_PROJECT_OBJECTS = (CreateModel, AddField, AlterField)
_STOPS_USING_PROJECT_OBJECTS = (RemoveField, DeleteModel, AlterField)
# Needs nobody provides were met by the history; for these, in another app, depend on its leaf.
_HISTORY_KINDS = frozenset({"model", "field"})


def strongly_connected(graph: Mapping[ModelKey, Iterable[ModelKey]]) -> list[tuple[ModelKey, ...]]:
    """Return the strongly connected components of ``graph`` (model -> models it points at), sorted."""
    digraph: nx.DiGraph[ModelKey] = nx.DiGraph()
    digraph.add_nodes_from(graph)
    digraph.add_edges_from((node, target) for node, targets in graph.items() for target in targets)
    return sorted(tuple(sorted(component)) for component in nx.strongly_connected_components(digraph))


def cycles(graph: Mapping[ModelKey, Iterable[ModelKey]]) -> list[tuple[ModelKey, ...]]:
    """Return the strongly connected components of more than one node of ``graph``, sorted.

    A node whose targets are all trimmed cannot be on a cycle, so such nodes are trimmed
    first, repeatedly: an acyclic graph (the usual case) is done then, and a cyclic one
    is searched with only the nodes that may be on a cycle.
    """
    pointing: dict[ModelKey, list[ModelKey]] = {}
    untrimmed: dict[ModelKey, int] = {}
    for node, targets in graph.items():
        count = 0
        for target in targets:
            if target in graph:
                pointing.setdefault(target, []).append(node)
                count += 1
        untrimmed[node] = count
    trimmable = [node for node, count in untrimmed.items() if not count]
    while trimmable:
        for source in pointing.get(trimmable.pop(), ()):
            untrimmed[source] -= 1
            if not untrimmed[source]:
                trimmable.append(source)
    left = {node for node, count in untrimmed.items() if count}
    if not left:
        return []
    residue = {node: [target for target in graph[node] if target in left] for node in sorted(left)}
    return sorted(tuple(sorted(component)) for component in _components(residue) if len(component) > 1)


def _components(graph: Mapping[ModelKey, Sequence[ModelKey]]) -> list[set[ModelKey]]:
    """Return the strongly connected components of ``graph`` (Tarjan's algorithm, without recursion).

    Every target must be a node. networkx's version first builds a DiGraph, which costs
    more than the whole search on the small graphs ``cycles`` leaves (a few apps, say).
    """
    index: dict[ModelKey, int] = {}
    low: dict[ModelKey, int] = {}
    stack: list[ModelKey] = []
    on_stack: set[ModelKey] = set()
    found: list[set[ModelKey]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: set[ModelKey] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def _providers(steps: Sequence[Step]) -> dict[tuple[str, ...], list[int]]:
    """Return, for each resource some step needs, the steps providing it.

    A CreateModel provides its fields implicitly (listing thousands of field resources
    that nobody needs would cost more than the rest of the arranging).
    """
    needed: set[tuple[str, ...]] = set().union(*(step.needs for step in steps))
    needed.add(PROJECT_FIRST)
    providers: dict[tuple[str, ...], list[int]] = {}
    for number, step in enumerate(steps):
        for resource in step.provides:
            if resource in needed:
                providers.setdefault(resource, []).append(number)
    fields = [resource for resource in needed if resource[0] == "field" and resource not in providers]
    if fields:
        created = {
            (step.operation.app_label, step.operation.name): (number, {f.name for f in step.operation.fields})
            for number, step in enumerate(steps)
            if isinstance(step.operation, CreateModel)
        }
        for resource in fields:
            creator = created.get((resource[1], resource[2]))
            if creator is not None and resource[3] in creator[1]:
                providers[resource] = [creator[0]]
    return providers


def _edges(
    steps: Sequence[Step], providers: Mapping[tuple[str, ...], list[int]]
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Return the hard and the soft edges between step numbers."""
    hard: set[tuple[int, int]] = set()
    soft: set[tuple[int, int]] = set()
    for number, step in enumerate(steps):
        for resource in step.needs:
            found = providers.get(resource)
            if found:
                target = soft if resource[0] == "order" else hard
                for provider in found:
                    if provider != number:
                        target.add((provider, number))
    first = providers.get(PROJECT_FIRST, [])
    last = [number for number, step in enumerate(steps) if PROJECT_LAST in step.needs]
    if not first and not last:
        return hard, soft
    for number, step in enumerate(steps):
        if first and isinstance(step.operation, _USES_PROJECT_OBJECTS):
            hard.update((provider, number) for provider in first)
        if last and isinstance(step.operation, _STOPS_USING_PROJECT_OBJECTS):
            hard.update((number, drop) for drop in last)
    return hard, soft


def _sorted(count: int, edges: Iterable[tuple[int, int]]) -> list[int] | None:
    """Return the lexicographically smallest topological order of ``range(count)``, or None on a cycle.

    This is ``networkx.lexicographical_topological_sort`` with the node numbers as keys, on
    plain lists: the nodes here are small integers, and the general version costs ten times more.
    """
    # Lists only for the steps something waits on (a list per step is a thousand more objects).
    successors: dict[int, list[int]] = {}
    waiting = [0] * count
    for source, target in edges:
        later = successors.get(source)
        if later is None:
            successors[source] = [target]
        else:
            later.append(target)
        waiting[target] += 1
    ready = [number for number in range(count) if not waiting[number]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        number = heapq.heappop(ready)
        order.append(number)
        for successor in successors.get(number, ()):
            waiting[successor] -= 1
            if not waiting[successor]:
                heapq.heappush(ready, successor)
    return order if len(order) == count else None


def order_steps(
    steps: Sequence[Step], providers: Mapping[tuple[str, ...], list[int]] | None = None
) -> tuple[list[int], list[set[int]]]:
    """Return the step numbers in a valid order, and each step's predecessors.

    Raises:
        UnorderableChanges: the steps need each other in a cycle.
    """
    hard, soft = _edges(steps, providers if providers is not None else _providers(steps))
    edges = hard | soft if soft else hard
    order = _sorted(len(steps), edges)
    if order is None:
        edges = hard
        order = _sorted(len(steps), edges)
    if order is None:
        graph: nx.DiGraph[int] = nx.DiGraph(list(hard))
        cycle = nx.find_cycle(graph)
        raise UnorderableChanges([steps[source].operation.describe() for source, _target in cycle])
    predecessors: list[set[int]] = [set() for _ in steps]
    for source, target in edges:
        predecessors[target].add(source)
    return order, predecessors


def _history_apps(steps: Iterable[Step], provided: Mapping[tuple[str, ...], object]) -> frozenset[str]:
    """Return the other apps whose history (their leaf) holds something one of ``steps`` needs."""
    apps: set[str] = set()
    for step in steps:
        for resource in step.needs:
            if resource[0] in _HISTORY_KINDS and resource[1] != step.app_label and resource not in provided:
                apps.add(resource[1])
    return frozenset(apps)


@attrs.frozen
class _Cut:
    """One migration to be: app, step numbers, and the cuts or leaves it depends on."""

    app_label: str
    position: int
    steps: tuple[int, ...]
    after: frozenset[tuple[str, int]]
    leaf_apps: frozenset[str]


def _cut(
    steps: Sequence[Step],
    order: Sequence[int],
    predecessors: Sequence[set[int]],
    provided: Mapping[tuple[str, ...], object],
) -> list[_Cut]:
    # Each step's predecessors in its own app, and (a set, for the subset test in ``take``)
    # in other apps.
    # Steps without such predecessors share one empty value: fewer objects for the collector.
    inside: list[Sequence[int]] = []
    outside: list[frozenset[int]] = []
    nothing: frozenset[int] = frozenset()
    none: tuple[int, ...] = ()
    apps = [step.app_label for step in steps]
    for number, app in enumerate(apps):
        before = predecessors[number]
        if not before:
            inside.append(none)
            outside.append(nothing)
            continue
        own: list[int] = []
        other: list[int] = []
        for p in before:
            (own if apps[p] == app else other).append(p)
        inside.append(own or none)
        outside.append(frozenset(other) if other else nothing)
    pending: dict[str, list[int]] = {}
    for number in order:
        pending.setdefault(steps[number].app_label, []).append(number)
    placed: dict[int, tuple[str, int]] = {}
    made: dict[str, int] = {}
    cuts: list[_Cut] = []

    def take(queue: list[int], whole: bool) -> tuple[list[int], list[int]]:
        """Split ``queue`` into the steps whose needs are met (closed under same-app order) and the rest.

        With ``whole``, the app makes a migration only of all its steps: at the first step
        that must wait, it takes nothing (the rest of the queue need not be looked at).
        """
        taken: list[int] = []
        skipped: set[int] = set()
        for number in queue:
            if skipped.isdisjoint(inside[number]) and placed.keys() >= outside[number]:
                taken.append(number)
            elif whole:
                return [], queue
            else:
                skipped.add(number)
        return taken, [number for number in queue if number in skipped]

    chopping: frozenset[str] = frozenset()
    while pending:
        progress = False
        for app in sorted(pending):
            taken, rest = take(pending[app], whole=app not in chopping)
            if not taken or (rest and app not in chopping):
                continue
            position = made.get(app, 0)
            made[app] = position + 1
            after = {placed[p] for n in taken for p in outside[n]}
            spot = (app, position)
            for number in taken:
                placed[number] = spot
            leaf_apps = _history_apps([steps[n] for n in taken], provided)
            cuts.append(_Cut(app, position, tuple(taken), frozenset(after), leaf_apps))
            if rest:
                pending[app] = rest
            else:
                del pending[app]
            progress = True
        if progress:
            chopping = frozenset()
        elif chopping:  # pragma: no cover - some app of a waiting cycle can always take a step
            raise UnorderableChanges([steps[n].operation.describe() for q in pending.values() for n in q])
        else:
            chopping = _deadlocked(pending, outside, placed, steps)
    return cuts


def _deadlocked(
    pending: Mapping[str, list[int]],
    outside: Sequence[frozenset[int]],
    placed: Mapping[int, tuple[str, int]],
    steps: Sequence[Step],
) -> frozenset[str]:
    """Return the apps waiting on each other in a cycle: each of them makes a partial migration."""
    waits = {
        ("", app): {("", steps[p].app_label) for n in queue for p in outside[n] if p not in placed}
        for app, queue in pending.items()
    }
    return frozenset(app for component in cycles(waits) for _blank, app in component) or frozenset(pending)


def _reattached(
    numbers: Sequence[int],
    steps: Sequence[Step],
    predecessors: Sequence[set[int]],
    where: Sequence[int],
) -> tuple[Operation, ...]:
    """Return the operations of one migration, deferred fields put back into their CreateModel.

    A field was deferred because its target might not exist yet; when the cut put the
    target before the CreateModel anyway (an earlier migration, or earlier in this one),
    the AddField goes back into the CreateModel. Fields go back in order and stop at the
    first that cannot, so the model keeps its field order. ``where`` numbers each step by
    its place in the migrations, cut after cut.
    """
    operations: list[Operation | None] = [steps[n].operation for n in numbers]
    merged: set[int] = set()
    creates = {
        (op.app_label, op.name): position
        for position, op in enumerate(operations)
        if isinstance(op, CreateModel)
    }
    if not creates:
        return tuple(op for op in operations if op is not None)
    blocked: set[tuple[str, str]] = set()
    for position, number in enumerate(numbers):
        operation = operations[position]
        if not isinstance(operation, AddField):
            continue
        model = (operation.app_label, operation.model_name)
        home = creates.get(model)
        if home is None or model in blocked:
            continue
        create_number = numbers[home]
        limit = where[create_number]
        ready = all(where[p] < limit or p == create_number or p in merged for p in predecessors[number])
        created = operations[home]
        if not ready or not isinstance(created, CreateModel) or operation.preserve_default is False:
            blocked.add(model)
            continue
        operations[home] = attrs.evolve(created, fields=(*created.fields, operation.field))
        operations[position] = None
        merged.add(number)
    return tuple(op for op in operations if op is not None)


_NAMING_ATTRIBUTES = ("name", "model_name", "old_name", "new_name")


def _may_reduce(operations: Sequence[Operation]) -> bool:
    """Tell whether two operations name one model (else no optimizer rule can merge anything).

    Every reduction (Django's, and ours) merges two operations on one model, or on a model
    and its new name; the autodetector makes at most one operation per model in most
    migrations, and skipping the optimizer there saves its whole cost.
    """
    seen: set[tuple[str, str]] = set()
    # Which naming attributes each type of operation has: a missing one costs an exception
    # inside ``getattr`` for every operation, more than all the rest of this check.
    attributes: dict[type, tuple[str, ...]] = {}
    for operation in operations:
        app = getattr(operation, "app_label", None)
        if not isinstance(app, str):
            continue
        kind = type(operation)
        present = attributes.get(kind)
        if present is None:
            present = attributes[kind] = tuple(a for a in _NAMING_ATTRIBUTES if hasattr(operation, a))
        names: Iterable[object]
        if len(present) == 1:
            # One name (CreateModel, AddField ...): checked without a collection of names.
            name = getattr(operation, present[0], None)
            if isinstance(name, str):
                key = (app, name.lower())
                if key in seen:
                    return True
                seen.add(key)
            continue
        names = {getattr(operation, attribute, None) for attribute in present}
        for name in names:
            if isinstance(name, str):
                key = (app, name.lower())
                if key in seen:
                    return True
                seen.add(key)
    return False


def next_number(leaf: str | None) -> int:
    """Return the number after the leaf's (``0003_x`` -> 4); 1 without a numbered leaf."""
    if leaf is None:
        return 1
    match = re.match(r"\d+", leaf)
    return int(match.group()) + 1 if match else 1


def _fragment(operation: Operation) -> str:
    return re.sub(r"\W+", "_", operation.migration_name_fragment).strip("_").lower()


def migration_name(number: int, operations: Sequence[Operation], *, initial: bool, name: str | None) -> str:
    """Return ``NNNN_`` plus ``name``, ``initial``, the joined fragments if short, or ``auto``."""
    if name:
        return f"{number:04d}_{name}"
    if initial:
        return f"{number:04d}_initial"
    fragments = [_fragment(operation) for operation in operations]
    joined = "_".join(fragments)
    if not fragments or not all(fragments):
        suffix = "auto"
    elif len(joined) <= MAX_NAME_LENGTH:
        suffix = joined
    elif len(fragments) == 1:
        suffix = joined[:MAX_NAME_LENGTH].rstrip("_")
    else:
        suffix = "auto"
    return f"{number:04d}_{suffix}"


def arrange(
    steps: Sequence[Step],
    leaves: Mapping[str, str | None],
    *,
    name: str | None = None,
    optimizer: Optimizer | None = None,
) -> tuple[Migration, ...]:
    """Return the migrations holding ``steps``, in an order that applies them validly.

    Raises:
        UnorderableChanges: the steps need each other in a cycle.
    """
    if not steps:
        return ()
    providers = _providers(steps)
    order, predecessors = order_steps(steps, providers)
    cuts = _cut(steps, order, predecessors, providers)
    # Each step's place in the migrations, cut after cut, as one number (no pair per step).
    where = [0] * len(steps)
    for place, number in enumerate(n for cut in cuts for n in cut.steps):
        where[number] = place
    names: dict[tuple[str, int], str] = {}
    bodies: list[tuple[_Cut, tuple[Operation, ...], bool]] = []
    for cut in cuts:
        operations = _reattached(cut.steps, steps, predecessors, where)
        if optimizer is not None and _may_reduce(operations):
            operations = tuple(optimizer(operations))
        leaf = leaves.get(cut.app_label)
        initial = leaf is None
        number = next_number(leaf) + cut.position
        names[(cut.app_label, cut.position)] = migration_name(number, operations, initial=initial, name=name)
        bodies.append((cut, operations, initial))
    migrations: list[Migration] = []
    for cut, operations, initial in bodies:
        dependencies: set[MigrationKey] = set()
        leaf = leaves.get(cut.app_label)
        if cut.position:
            dependencies.add((cut.app_label, names[(cut.app_label, cut.position - 1)]))
        elif leaf is not None:
            dependencies.add((cut.app_label, leaf))
        for app, position in cut.after:
            dependencies.add((app, names[(app, position)]))
        cut_apps = {app for app, _position in cut.after}
        for app in cut.leaf_apps - cut_apps:
            other_leaf = leaves.get(app)
            if other_leaf is not None:
                dependencies.add((app, other_leaf))
        migrations.append(
            Migration(
                name=names[(cut.app_label, cut.position)],
                app_label=cut.app_label,
                dependencies=sorted(dependencies),
                operations=operations,
                initial=initial,
            )
        )
    return tuple(migrations)

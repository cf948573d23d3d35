"""Benchmark: build and plan a 10,000-migration graph; compare with Django's graph.

Run with ``python tests/benchmarks/graph_plan.py``. Prints the median of 5 runs for each
measurement. Nothing is asserted: this is a script, not a test.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey

APPS = 10
PER_APP = 1_000
RUNS = 5
SEED = 20_240_601


def build_migrations(apps: int = APPS, per_app: int = PER_APP) -> list[Migration]:
    """Return a deterministic history: one chain per app plus cross-app dependencies."""
    rng = random.Random(SEED)
    labels = [f"app{number:02d}" for number in range(apps)]
    migrations: list[Migration] = []
    for index in range(per_app):
        for position, app in enumerate(labels):
            dependencies: list[MigrationKey] = []
            if index:
                dependencies.append((app, f"{index - 1:04d}_step"))
            # Cross-app edges point at a recent, lower index, so the graph is acyclic.
            if index and rng.random() < 0.3:
                other = labels[(position + rng.randrange(1, apps)) % apps]
                earlier = rng.randrange(max(0, index - 5), index)
                dependencies.append((other, f"{earlier:04d}_step"))
            migrations.append(Migration(f"{index:04d}_step", app, dependencies=dependencies))
    return migrations


def median_ms(action: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """Return the median wall time of ``action`` in milliseconds, and its last result."""
    timings: list[float] = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), result


def django_plan(migrations: list[Migration]) -> tuple[float, float, int] | None:
    """Return Django's build and forwards-plan medians (ms) and plan length, if Django is here."""
    try:
        import django  # type: ignore[import-untyped]
        from django.conf import settings  # type: ignore[import-untyped]
    except ImportError:
        return None
    if not settings.configured:
        settings.configure()
        django.setup()
    from django.db.migrations.graph import MigrationGraph as DjangoGraph  # type: ignore[import-untyped]

    def build() -> DjangoGraph:
        graph = DjangoGraph()
        for migration in migrations:
            graph.add_node(migration.key, None)
        for migration in migrations:
            for dependency in migration.dependencies:
                # As Django's MigrationLoader.build_graph does: validate once, at the end.
                graph.add_dependency(migration, migration.key, dependency, skip_validation=True)
        graph.validate_consistency()
        graph.ensure_not_cyclic()
        return graph

    build_ms, graph = median_ms(build)

    def plan() -> list[MigrationKey]:
        # What Django's MigrationExecutor.migration_plan does for the leaf nodes.
        seen: set[MigrationKey] = set()
        steps: list[MigrationKey] = []
        for leaf in graph.leaf_nodes():
            for key in graph.forwards_plan(leaf):
                if key not in seen:
                    seen.add(key)
                    steps.append(key)
        return steps

    plan_ms, steps = median_ms(plan)
    return build_ms, plan_ms, len(steps)


def main() -> None:
    """Print the medians for our graph and, when available, Django's."""
    migrations = build_migrations()
    edges = sum(len(m.dependencies) for m in migrations)
    print(f"graph: {len(migrations)} migrations, {APPS} apps, {edges} dependencies; median of {RUNS}")

    build_ms, graph = median_ms(lambda: MigrationGraph.from_migrations(migrations))
    forwards_ms, forwards = median_ms(lambda: graph.forwards_plan(None, frozenset()))
    leaf_ms, _ = median_ms(lambda: graph.plan(graph.leaf_nodes(), frozenset()))
    everything = frozenset(forwards)
    backwards_ms, backwards = median_ms(lambda: graph.backwards_plan(("app03", "zero"), everything))
    middle = ("app05", f"{PER_APP // 2:04d}_step")
    target_ms, targeted = median_ms(lambda: graph.forwards_plan(middle, frozenset()))
    print(f"  from_migrations                    {build_ms:8.2f} ms")
    print(f"  forwards_plan(None), nothing done  {forwards_ms:8.2f} ms  ({len(forwards)} steps)")
    print(f"  plan(leaf_nodes()), nothing done   {leaf_ms:8.2f} ms")
    label = f"forwards_plan({middle[0]}.{middle[1]})"
    print(f"  {label:<34} {target_ms:8.2f} ms  ({len(targeted)} steps)")
    print(f"  backwards_plan(app03 zero), all    {backwards_ms:8.2f} ms  ({len(backwards)} steps)")

    compared = django_plan(migrations)
    if compared is None:
        print("django is not installed: no comparison")
        return
    django_build_ms, django_plan_ms, django_steps = compared
    print("django.db.migrations.graph.MigrationGraph, same nodes and edges:")
    print(f"  build, validate, ensure_not_cyclic  {django_build_ms:8.2f} ms")
    print(f"  forwards_plan for each leaf        {django_plan_ms:8.2f} ms  ({django_steps} steps)")
    print(f"  ratio django / ours, build         {django_build_ms / build_ms:8.2f}x")
    print(f"  ratio django / ours, full plan     {django_plan_ms / leaf_ms:8.2f}x")


if __name__ == "__main__":
    main()

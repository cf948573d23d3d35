"""Law 7, plans: every plan respects every dependency; a backwards plan undoes its forwards plan.

Histories are random DAGs over a few apps: each migration may depend only on migrations
drawn before it, so the graph is acyclic. Names are random-ish so that the lexicographic
tie-break differs from the drawing order. Applied sets are closed under dependencies, as
a consistent database is. The oracles below walk the dependencies with plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure.graph import ZERO, MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey

APPS = ("auth", "blog", "core", "shop")


@attrs.frozen
class History:
    """A drawn history: the migrations, an applied set closed under dependencies, a target."""

    migrations: tuple[Migration, ...]
    applied: frozenset[MigrationKey]
    target: MigrationKey | None
    linear_apps: bool

    @property
    def dependencies(self) -> dict[MigrationKey, tuple[MigrationKey, ...]]:
        return {migration.key: migration.dependencies for migration in self.migrations}


def closure(
    dependencies: Mapping[MigrationKey, tuple[MigrationKey, ...]], keys: Iterable[MigrationKey]
) -> set[MigrationKey]:
    """Return ``keys`` and everything they depend on, directly or not."""
    found: set[MigrationKey] = set()
    pending = list(keys)
    while pending:
        key = pending.pop()
        if key not in found:
            found.add(key)
            pending.extend(dependencies[key])
    return found


@st.composite
def histories(draw: st.DrawFn, linear_apps: bool | None = None) -> History:
    """Draw migrations over a few apps, an applied set closed under dependencies, a target."""
    linear = draw(st.booleans()) if linear_apps is None else linear_apps
    apps = APPS[: draw(st.integers(1, len(APPS)))]
    migrations: list[Migration] = []
    last_in_app: dict[str, MigrationKey] = {}
    for index in range(draw(st.integers(0, 24))):
        app = draw(st.sampled_from(apps))
        name = f"{draw(st.integers(0, 40)):04d}_m{index}"
        earlier = [migration.key for migration in migrations]
        dependencies = set(draw(st.lists(st.sampled_from(earlier), max_size=3))) if earlier else set()
        if linear and app in last_in_app:
            # One chain per app (no conflicts), plus the drawn dependencies across apps.
            dependencies.add(last_in_app[app])
        migration = Migration(name, app, dependencies=sorted(dependencies))
        migrations.append(migration)
        last_in_app[app] = migration.key
    keys = [migration.key for migration in migrations]
    graph_deps = {migration.key: migration.dependencies for migration in migrations}
    seeds = draw(st.lists(st.sampled_from(keys), max_size=4)) if keys else []
    applied = frozenset(closure(graph_deps, seeds))
    target = draw(st.none() | st.sampled_from(keys)) if keys else None
    order = draw(st.permutations(migrations))
    return History(tuple(order), applied, target, linear)


def assert_respects_dependencies(
    plan: tuple[MigrationKey, ...],
    dependencies: Mapping[MigrationKey, tuple[MigrationKey, ...]],
    applied: frozenset[MigrationKey],
) -> None:
    done = set(applied)
    for key in plan:
        assert key not in done, f"{key} is applied already or twice in the plan"
        missing = [dependency for dependency in dependencies[key] if dependency not in done]
        assert not missing, f"{key} comes before its dependencies {missing}"
        done.add(key)


@given(histories())
def test_forwards_plans_respect_every_dependency(history: History) -> None:
    graph = MigrationGraph.from_migrations(history.migrations)
    dependencies = history.dependencies
    plan = graph.forwards_plan(history.target, history.applied)
    assert_respects_dependencies(plan, dependencies, history.applied)
    wanted = dependencies.keys() if history.target is None else closure(dependencies, [history.target])
    assert set(plan) == set(wanted) - history.applied
    if history.target is not None:
        steps = graph.plan([history.target], history.applied)
        if history.target in history.applied:
            assert all(step.backwards for step in steps)
        else:
            assert tuple(step.key for step in steps) == plan
            assert not any(step.backwards for step in steps)


@given(histories())
def test_plan_from_nothing_depends_only_on_the_targets_history(history: History) -> None:
    if history.target is None:
        return
    graph = MigrationGraph.from_migrations(history.migrations)
    needed = closure(history.dependencies, [history.target])
    alone = MigrationGraph.from_migrations(m for m in history.migrations if m.key in needed)
    assert graph.forwards_plan(history.target) == alone.forwards_plan(history.target)


@given(histories())
def test_backwards_plan_undoes_the_forwards_plan(history: History) -> None:
    graph = MigrationGraph.from_migrations(history.migrations)
    dependencies = history.dependencies
    forwards = graph.forwards_plan(history.target, history.applied)
    after = history.applied | frozenset(forwards)
    graph.check_consistent(after)

    # Back to where we were: each app to its applied leaves, or to zero.
    back: list[MigrationKey] = []
    for app in sorted({app for app, _ in dependencies}):
        in_app = sorted(key for key in history.applied if key[0] == app)
        if not in_app:
            back.append((app, ZERO))
            continue
        # The applied set's own leaves in this app: no applied child in the same app.
        leaves = [
            key for key in in_app if not any(key in dependencies[other] for other in in_app if other != key)
        ]
        back.extend(leaves)
    steps = graph.plan(back, after)
    assert all(step.backwards for step in steps)
    undone = [step.key for step in steps]
    assert len(undone) == len(set(undone))
    assert set(undone) <= set(forwards), "a backwards plan unapplied a migration applied before"
    if history.linear_apps:
        assert set(undone) == set(forwards)

    # Reverse dependency order: unapplying step by step keeps the history consistent.
    assert_respects_dependencies(tuple(reversed(undone)), dependencies, after - frozenset(undone))
    current = set(after)
    for key in undone:
        current.discard(key)
        graph.check_consistent(frozenset(current))
    if history.linear_apps:
        assert current == set(history.applied)


@given(histories(linear_apps=True), st.sampled_from(APPS))
def test_backwards_to_zero_unapplies_the_app_and_its_dependents(history: History, app: str) -> None:
    graph = MigrationGraph.from_migrations(history.migrations)
    dependencies = history.dependencies
    if not any(key[0] == app for key in dependencies):
        return
    plan = graph.backwards_plan((app, ZERO), history.applied)
    remaining = history.applied - frozenset(plan)
    assert not any(key[0] == app for key in remaining)
    assert_respects_dependencies(tuple(reversed(plan)), dependencies, remaining)
    # Whatever stays applied still has its whole history applied.
    assert closure(dependencies, remaining) == set(remaining)

"""Example tests for the migration dependency graph (reinhardt_migrations.pure.graph)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import attrs
import pytest

from reinhardt_migrations.pure import graph as graph_module
from reinhardt_migrations.pure.errors import (
    CircularDependency,
    ConflictingLeaves,
    DuplicateMigration,
    GraphError,
    InconsistentHistory,
    MigrationError,
    UnknownMigration,
)
from reinhardt_migrations.pure.graph import ZERO, MigrationGraph, PlanStep
from reinhardt_migrations.pure.migration import Migration, MigrationKey


def k(dotted: str) -> MigrationKey:
    """Return the key ``("app", "name")`` written as ``"app.name"``."""
    app, name = dotted.split(".", 1)
    return (app, name)


def ks(*dotted: str) -> tuple[MigrationKey, ...]:
    """Return keys written as ``"app.name"``."""
    return tuple(k(item) for item in dotted)


def mig(dotted: str, *dependencies: str, replaces: tuple[str, ...] = ()) -> Migration:
    """Return a migration ``"app.name"`` depending on ``"app.name"`` keys."""
    app, name = k(dotted)
    return Migration(name, app, dependencies=ks(*dependencies), replaces=ks(*replaces))


def build(*migrations: Migration) -> MigrationGraph:
    return MigrationGraph.from_migrations(migrations)


def forwards(plan: tuple[PlanStep, ...]) -> list[bool]:
    return [not step.backwards for step in plan]


# A shop app and an orders app that depends on it, three migrations each.
SHOP = (
    mig("shop.0001_initial"),
    mig("shop.0002_price", "shop.0001_initial"),
    mig("shop.0003_stock", "shop.0002_price"),
)
ORDERS = (
    mig("orders.0001_initial", "shop.0001_initial"),
    mig("orders.0002_line", "orders.0001_initial", "shop.0002_price"),
    mig("orders.0003_total", "orders.0002_line"),
)


@pytest.fixture
def shop() -> MigrationGraph:
    return build(*SHOP, *ORDERS)


# -- building and reading ---------------------------------------------------------------


def test_empty_graph_plans_nothing() -> None:
    graph = MigrationGraph.from_migrations([])
    assert len(graph) == 0
    assert graph.nodes == ()
    assert graph.forwards_plan() == ()
    assert graph.leaf_nodes() == ()
    assert graph.conflicts() == {}
    assert graph.plan(None) == ()


def test_nodes_are_in_deterministic_dependency_order(shop: MigrationGraph) -> None:
    assert shop.nodes == ks(
        "shop.0001_initial",
        "orders.0001_initial",
        "shop.0002_price",
        "orders.0002_line",
        "orders.0003_total",
        "shop.0003_stock",
    )
    assert len(shop) == 6
    assert k("shop.0002_price") in shop
    assert k("shop.0009_nope") not in shop


def test_migration_lookup(shop: MigrationGraph) -> None:
    assert shop.migration(k("shop.0002_price")) == SHOP[1]
    with pytest.raises(UnknownMigration) as caught:
        shop.migration(k("shop.0009_nope"))
    assert isinstance(caught.value, LookupError)
    assert caught.value.key == k("shop.0009_nope")


def test_graph_is_frozen(shop: MigrationGraph) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        shop._order = ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del shop._order
    public = [name for name in dir(shop) if not name.startswith("_")]
    assert not [name for name in public if name.startswith(("add", "remove", "set", "clear"))]


def test_equal_graphs_from_any_input_order() -> None:
    everything = [*SHOP, *ORDERS]
    shuffled = list(everything)
    random.Random(7).shuffle(shuffled)
    first, second = build(*everything), build(*shuffled)
    assert first == second
    assert hash(first) == hash(second)
    assert first != build(*SHOP)
    assert first.nodes == second.nodes


def test_duplicate_keys_name_both() -> None:
    with pytest.raises(DuplicateMigration) as caught:
        build(mig("shop.0001_initial"), mig("shop.0002_price"), mig("shop.0001_initial", "shop.0002_price"))
    error = caught.value
    assert (error.key, error.first, error.second) == (k("shop.0001_initial"), 1, 3)
    assert "shop.0001_initial" in str(error)
    assert "items 1 and 3" in str(error)
    assert isinstance(error, GraphError)
    assert isinstance(error, MigrationError)


def test_missing_dependency_names_who_asked() -> None:
    with pytest.raises(UnknownMigration) as caught:
        build(mig("shop.0001_initial"), mig("orders.0001_initial", "shop.0002_price"))
    error = caught.value
    assert error.key == k("shop.0002_price")
    assert error.wanted_by == k("orders.0001_initial")
    assert "shop.0002_price (a dependency of orders.0001_initial) does not exist" in str(error)


@pytest.mark.parametrize(
    ("migrations", "cycle"),
    [
        ((mig("a.1", "a.1"),), ks("a.1")),
        ((mig("a.1", "a.2"), mig("a.2", "a.1")), ks("a.1", "a.2")),
        ((mig("a.1", "c.1"), mig("b.1", "a.1"), mig("c.1", "b.1"), mig("d.1")), ks("a.1", "b.1", "c.1")),
    ],
)
def test_cycles_are_reported_with_their_path(
    migrations: tuple[Migration, ...], cycle: tuple[MigrationKey, ...]
) -> None:
    with pytest.raises(CircularDependency) as caught:
        build(*migrations)
    assert caught.value.cycle == cycle
    assert caught.value.__cause__ is not None  # the networkx error, translated
    path = " -> ".join(f"{app}.{name}" for app, name in (*cycle, cycle[0]))
    assert path in str(caught.value)


# -- leaves, roots, conflicts -------------------------------------------------------------


def test_leaf_and_root_nodes_per_app(shop: MigrationGraph) -> None:
    assert shop.leaf_nodes() == ks("orders.0003_total", "shop.0003_stock")
    assert shop.leaf_nodes("shop") == ks("shop.0003_stock")
    assert shop.root_nodes() == ks("orders.0001_initial", "shop.0001_initial")
    assert shop.root_nodes("orders") == ks("orders.0001_initial")
    assert shop.leaf_nodes("nope") == ()
    assert shop.conflicts() == {}
    shop.check_conflicts()


def test_conflicting_leaves() -> None:
    graph = build(
        *SHOP,
        mig("shop.0003_colour", "shop.0002_price"),
        mig("blog.0001_initial"),
        mig("blog.0002_a", "blog.0001_initial"),
        mig("blog.0002_b", "blog.0001_initial"),
    )
    expected = {"blog": ("0002_a", "0002_b"), "shop": ("0003_colour", "0003_stock")}
    assert graph.conflicts() == expected
    assert list(graph.conflicts()) == ["blog", "shop"]
    with pytest.raises(ConflictingLeaves) as caught:
        graph.check_conflicts()
    assert caught.value.leaves == expected
    assert "makemigrations --merge" in str(caught.value)


def test_merge_migration_resolves_conflict() -> None:
    graph = build(
        mig("a.0001"),
        mig("a.0002_x", "a.0001"),
        mig("a.0002_y", "a.0001"),
        mig("a.0003_merge", "a.0002_x", "a.0002_y"),
    )
    assert graph.conflicts() == {}
    assert graph.leaf_nodes("a") == ks("a.0003_merge")


# -- forwards -----------------------------------------------------------------------------


def test_linear_forwards(shop: MigrationGraph) -> None:
    assert shop.forwards_plan(k("shop.0003_stock")) == ks(
        "shop.0001_initial", "shop.0002_price", "shop.0003_stock"
    )
    applied = frozenset(ks("shop.0001_initial"))
    assert shop.forwards_plan(k("shop.0003_stock"), applied) == ks("shop.0002_price", "shop.0003_stock")
    assert shop.forwards_plan(k("shop.0001_initial"), applied) == ()


def test_cross_app_forwards_pulls_only_what_is_needed(shop: MigrationGraph) -> None:
    assert shop.forwards_plan(k("orders.0002_line")) == ks(
        "shop.0001_initial", "orders.0001_initial", "shop.0002_price", "orders.0002_line"
    )


def test_forwards_to_every_leaf(shop: MigrationGraph) -> None:
    assert shop.forwards_plan() == shop.nodes
    applied = frozenset(ks("shop.0001_initial", "shop.0002_price"))
    assert shop.forwards_plan(None, applied) == ks(
        "orders.0001_initial", "orders.0002_line", "orders.0003_total", "shop.0003_stock"
    )


def test_diamond_is_ordered_lexicographically() -> None:
    graph = build(
        mig("a.0003_merge", "a.0002_y", "a.0002_x"),
        mig("a.0002_y", "a.0001"),
        mig("a.0002_x", "a.0001"),
        mig("a.0001"),
    )
    assert graph.forwards_plan(k("a.0003_merge")) == ks("a.0001", "a.0002_x", "a.0002_y", "a.0003_merge")
    assert graph.forwards_plan(k("a.0002_y")) == ks("a.0001", "a.0002_y")


def test_forwards_plan_ignores_unrelated_migrations(shop: MigrationGraph) -> None:
    bigger = build(*SHOP, *ORDERS, mig("aaa.0001"), mig("aaa.0002", "aaa.0001", "shop.0001_initial"))
    for target in shop.nodes:
        assert bigger.forwards_plan(target) == shop.forwards_plan(target)


def test_forwards_to_zero_is_empty(shop: MigrationGraph) -> None:
    assert shop.forwards_plan(("shop", ZERO)) == ()


def test_unknown_targets(shop: MigrationGraph) -> None:
    with pytest.raises(UnknownMigration, match=r"shop\.0009_nope does not exist"):
        shop.forwards_plan(k("shop.0009_nope"))
    with pytest.raises(UnknownMigration):
        shop.backwards_plan(k("shop.0009_nope"), frozenset())
    with pytest.raises(UnknownMigration):
        shop.plan([k("shop.0001_initial"), k("shop.0009_nope")])
    with pytest.raises(UnknownMigration, match="App 'blog' has no migrations"):
        shop.backwards_plan(("blog", ZERO), frozenset())


# -- backwards ----------------------------------------------------------------------------


def test_backwards_to_zero_unapplies_app_and_its_dependents(shop: MigrationGraph) -> None:
    everything = frozenset(shop.nodes)
    assert shop.backwards_plan(("shop", ZERO), everything) == tuple(reversed(shop.nodes))
    assert shop.backwards_plan(("orders", ZERO), everything) == ks(
        "orders.0003_total", "orders.0002_line", "orders.0001_initial"
    )


def test_backwards_to_a_migration_unapplies_its_children_in_app(shop: MigrationGraph) -> None:
    everything = frozenset(shop.nodes)
    # Back to shop.0001: shop.0002 goes, with orders.0002 and .0003 that need it;
    # orders.0001 depends only on shop.0001 and stays.
    assert shop.backwards_plan(k("shop.0001_initial"), everything) == ks(
        "shop.0003_stock", "orders.0003_total", "orders.0002_line", "shop.0002_price"
    )
    assert shop.backwards_plan(k("shop.0003_stock"), everything) == ()


def test_backwards_only_unapplies_what_is_applied(shop: MigrationGraph) -> None:
    applied = frozenset(ks("shop.0001_initial", "shop.0002_price", "orders.0001_initial"))
    assert shop.backwards_plan(("shop", ZERO), applied) == ks(
        "shop.0002_price", "orders.0001_initial", "shop.0001_initial"
    )
    assert shop.backwards_plan(("shop", ZERO), frozenset()) == ()


def test_backwards_on_a_branch_follows_django() -> None:
    graph = build(
        mig("a.0001"),
        mig("a.0002_x", "a.0001"),
        mig("a.0002_y", "a.0001"),
        mig("a.0003_merge", "a.0002_x", "a.0002_y"),
    )
    everything = frozenset(graph.nodes)
    assert graph.backwards_plan(k("a.0002_x"), everything) == ks("a.0003_merge")
    assert graph.backwards_plan(k("a.0001"), everything) == ks("a.0003_merge", "a.0002_y", "a.0002_x")


# -- plan ---------------------------------------------------------------------------------


def test_plan_goes_forwards_or_backwards_per_target(shop: MigrationGraph) -> None:
    applied = frozenset(ks("shop.0001_initial", "shop.0002_price", "shop.0003_stock"))
    steps = shop.plan([k("shop.0002_price"), k("orders.0001_initial")], applied)
    assert steps == (
        PlanStep(k("shop.0003_stock"), backwards=True),
        PlanStep(k("orders.0001_initial")),
    )
    assert shop.plan([("shop", ZERO)], applied) == tuple(
        PlanStep(key, backwards=True) for key in ks("shop.0003_stock", "shop.0002_price", "shop.0001_initial")
    )


def test_plan_targets_see_earlier_targets(shop: MigrationGraph) -> None:
    steps = shop.plan([k("orders.0002_line"), k("shop.0001_initial")])
    # The second target is applied by the first, so it goes back: orders.0002 and shop.0002 go.
    assert [step.key for step in steps] == [
        *ks("shop.0001_initial", "orders.0001_initial", "shop.0002_price", "orders.0002_line"),
        *ks("orders.0002_line", "shop.0002_price"),
    ]
    assert forwards(steps) == [True] * 4 + [False] * 2


def test_plan_without_targets_applies_everything(shop: MigrationGraph) -> None:
    assert shop.plan() == tuple(PlanStep(key) for key in shop.nodes)


# -- history ------------------------------------------------------------------------------


def test_consistent_history(shop: MigrationGraph) -> None:
    shop.check_consistent(frozenset())
    shop.check_consistent(frozenset(shop.nodes))
    shop.check_consistent(frozenset(ks("shop.0001_initial", "orders.0001_initial", "gone.0001")))


def test_inconsistent_history(shop: MigrationGraph) -> None:
    with pytest.raises(InconsistentHistory) as caught:
        shop.check_consistent(frozenset(ks("shop.0001_initial", "orders.0002_line", "orders.0001_initial")))
    assert caught.value.applied == k("orders.0002_line")
    assert caught.value.missing == k("shop.0002_price")
    assert "orders.0002_line is applied before its dependency shop.0002_price" in str(caught.value)


# -- squashed migrations ------------------------------------------------------------------

SQUASHED = (
    mig("a.0001"),
    mig("a.0002", "a.0001"),
    mig("a.0003", "a.0002"),
    mig("a.0001_squashed_0003", replaces=("a.0001", "a.0002", "a.0003")),
    mig("a.0004", "a.0003"),
    mig("b.0001", "a.0002"),
    mig("c.0001", "a.0001_squashed_0003"),
)


@pytest.fixture
def squashed() -> MigrationGraph:
    return build(*SQUASHED)


def test_squash_is_used_when_nothing_is_applied(squashed: MigrationGraph) -> None:
    assert squashed.forwards_plan() == ks("a.0001_squashed_0003", "a.0004", "b.0001", "c.0001")
    # b.0001 depended on a replaced migration: it now depends on the squash.
    assert squashed.forwards_plan(k("b.0001")) == ks("a.0001_squashed_0003", "b.0001")
    assert squashed.leaf_nodes() == ks("a.0004", "b.0001", "c.0001")
    assert squashed.conflicts() == {}
    assert len(squashed) == 7
    assert len(squashed.resolved()) == 4


def test_squash_is_used_when_all_replaced_are_applied(squashed: MigrationGraph) -> None:
    applied = frozenset(ks("a.0001", "a.0002", "a.0003"))
    assert squashed.applied_nodes(applied) == frozenset(ks("a.0001_squashed_0003"))
    assert squashed.forwards_plan(None, applied) == ks("a.0004", "b.0001", "c.0001")
    squashed.check_consistent(applied | frozenset(ks("b.0001", "c.0001")))
    everything = applied | frozenset(ks("a.0004", "b.0001", "c.0001"))
    assert squashed.backwards_plan(("a", ZERO), everything) == ks(
        "c.0001", "b.0001", "a.0004", "a.0001_squashed_0003"
    )


def test_squash_is_dropped_when_partly_applied(squashed: MigrationGraph) -> None:
    applied = frozenset(ks("a.0001"))
    resolved = squashed.resolved(applied)
    assert k("a.0001_squashed_0003") not in resolved
    assert resolved.leaf_nodes("a") == ks("a.0004")
    # c.0001 depended on the squash: it now hangs from the last replaced migration.
    assert squashed.forwards_plan(k("c.0001"), applied) == ks("a.0002", "a.0003", "c.0001")
    assert squashed.forwards_plan(None, applied) == ks("a.0002", "a.0003", "a.0004", "b.0001", "c.0001")
    assert squashed.applied_nodes(applied) == applied
    with pytest.raises(InconsistentHistory):
        squashed.check_consistent(applied | frozenset(ks("c.0001")))


def test_target_naming_a_replaced_migration_plans_without_the_squash(squashed: MigrationGraph) -> None:
    assert squashed.forwards_plan(k("a.0002")) == ks("a.0001", "a.0002")
    everything = frozenset(ks("a.0001", "a.0002", "a.0003", "a.0004", "b.0001", "c.0001"))
    assert squashed.backwards_plan(k("a.0002"), everything) == ks("c.0001", "a.0004", "a.0003")


def test_target_naming_a_dropped_squash_means_its_last_replaced(squashed: MigrationGraph) -> None:
    applied = frozenset(ks("a.0001"))
    assert squashed.forwards_plan(k("a.0001_squashed_0003"), applied) == ks("a.0002", "a.0003")


def test_squash_whose_replaced_files_are_gone() -> None:
    graph = build(
        mig("a.0001_squashed_0002", replaces=("a.0001", "a.0002")),
        mig("a.0003", "a.0002"),
        mig("b.0001", "a.0001"),
    )
    assert graph.forwards_plan() == ks("a.0001_squashed_0002", "a.0003", "b.0001")
    assert graph.forwards_plan(None, frozenset(ks("a.0001", "a.0002"))) == ks("a.0003", "b.0001")
    with pytest.raises(UnknownMigration) as caught:
        graph.forwards_plan(None, frozenset(ks("a.0001")))
    assert caught.value.key == k("a.0002")
    assert caught.value.wanted_by == k("a.0001_squashed_0002")
    assert "a.0002 (replaced by a.0001_squashed_0002) does not exist" in str(caught.value)


def test_resolved_graph_without_squashes_is_itself(shop: MigrationGraph) -> None:
    assert shop.resolved(frozenset(shop.nodes)) is shop


# -- determinism and purity ---------------------------------------------------------------

_DETERMINISM_SCRIPT = textwrap.dedent(
    """
    from reinhardt_migrations.pure.graph import MigrationGraph
    from reinhardt_migrations.pure.migration import Migration
    migrations = []
    for index in range(60):
        for app in ("zeta", "alpha", "mid"):
            deps = [(app, f"{index - 1:04d}")] if index else []
            if index > 2 and index % 3 == 0:
                deps.append(("alpha" if app != "alpha" else "zeta", f"{index - 2:04d}"))
            migrations.append(Migration(f"{index:04d}", app, dependencies=deps))
    graph = MigrationGraph.from_migrations(reversed(migrations))
    print(graph.forwards_plan())
    print(graph.backwards_plan(("alpha", "zero"), frozenset(graph.nodes)))
    print(graph.plan([("mid", "0030"), ("zeta", "0010")]))
    """
)


def test_plans_do_not_depend_on_hash_seed() -> None:
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "4242")
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 3


def test_graph_api_fires_no_io_events() -> None:
    seen: list[str] = []
    watched = {"open", "socket.connect", "subprocess.Popen", "sqlite3.connect", "os.listdir"}
    recording = True

    def hook(event: str, args: tuple[object, ...]) -> None:
        if recording and event in watched:
            seen.append(event)

    sys.addaudithook(hook)
    try:
        graph = build(*SQUASHED, *SHOP, *ORDERS)
        graph.plan([k("orders.0003_total"), ("shop", ZERO)])
        graph.resolved(frozenset(ks("a.0001"))).leaf_nodes()
        # As migrate records it: a squash with the migrations it replaces.
        graph.check_consistent(frozenset(graph.forwards_plan()) | frozenset(ks("a.0001", "a.0002", "a.0003")))
    finally:
        recording = False
    assert seen == []


def test_public_surface() -> None:
    assert sorted(graph_module.__all__) == ["MigrationGraph", "PlanStep", "ZERO"]
    public = [name for name in dir(MigrationGraph) if not name.startswith("_")]
    for name in public:
        assert getattr(MigrationGraph, name).__doc__, name

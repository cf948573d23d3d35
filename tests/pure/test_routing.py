"""Routes of apps to databases, one database's part of the graph, schedules, relations across databases."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, CreateModel
from reinhardt_migrations.pure.routing import (
    CrossDatabaseOperation,
    CrossDatabaseRelation,
    CrossDependency,
    DatabaseRoutes,
    UnknownDatabase,
    UnroutedApp,
    applied_dependents,
    check_relations,
    run_targets,
    schedule,
    split_for_database,
    unapplied_dependencies,
)

ID = FieldState("id", "bigauto", primary_key=True)
ROUTES = DatabaseRoutes(("default", "analytics"), {"events": "analytics"})
GRAPH = MigrationGraph(
    [
        Migration("0001_initial", "shop"),
        Migration("0001_initial", "events", dependencies=[("shop", "0001_initial")]),
        Migration("0002_more", "shop", dependencies=[("shop", "0001_initial"), ("events", "0001_initial")]),
        Migration("0001_initial", "blog"),
    ]
)


def test_routes_send_unrouted_apps_to_the_default() -> None:
    assert ROUTES.default == "default"
    assert ROUTES.alias_of("events") == "analytics"
    assert ROUTES.alias_of("anything") == "default"
    assert ROUTES.apps_of("default", ["shop", "events", "blog"]) == ("shop", "blog")
    assert ROUTES.apps_of("analytics", ["shop", "events", "blog"]) == ("events",)
    assert not ROUTES.is_single
    assert DatabaseRoutes().is_single
    assert DatabaseRoutes(("default", "analytics"), {"events": "analytics"}) == ROUTES


def test_without_a_default_an_unrouted_app_has_nowhere_to_go() -> None:
    routes = DatabaseRoutes(("one", "two"), {"shop": "one"})
    assert routes.default is None
    assert routes.alias_of("shop") == "one"
    with pytest.raises(UnroutedApp, match="App 'blog' is not routed to a database"):
        routes.alias_of("blog")
    with pytest.raises(UnknownDatabase, match=r"no database 'three' \(configured databases: one, two\)"):
        routes.apps_of("three", ["shop"])


@pytest.mark.parametrize(
    ("aliases", "routes", "problem"),
    [
        ((), {}, "at least one"),
        (("default", "not-an-alias"), {}, "not an identifier"),
        (("default", "default"), {}, "twice"),
        (("default",), {"events": "analytics"}, "goes to 'analytics'"),
    ],
)
def test_invalid_routes_cannot_be_built(
    aliases: tuple[str, ...], routes: dict[str, str], problem: str
) -> None:
    with pytest.raises(InvalidValue, match=problem):
        DatabaseRoutes(aliases, routes)


def test_a_database_gets_its_apps_without_cross_database_dependencies() -> None:
    analytics = split_for_database(GRAPH, ROUTES, "analytics")
    assert analytics.graph.nodes == (("events", "0001_initial"),)
    assert analytics.graph.migration(("events", "0001_initial")).dependencies == ()
    assert analytics.external == (
        CrossDependency(("events", "0001_initial"), ("shop", "0001_initial"), "default"),
    )
    default = split_for_database(GRAPH, ROUTES, "default")
    assert set(default.graph.nodes) == {
        ("shop", "0001_initial"),
        ("shop", "0002_more"),
        ("blog", "0001_initial"),
    }
    # A migration that loses nothing stays the very same value.
    assert default.graph.migration(("blog", "0001_initial")) is GRAPH.migration(("blog", "0001_initial"))
    assert default.external_of(("shop", "0002_more")) == (
        CrossDependency(("shop", "0002_more"), ("events", "0001_initial"), "analytics"),
    )


def test_cross_database_dependencies_are_checked_against_the_other_recorders() -> None:
    default = split_for_database(GRAPH, ROUTES, "default")
    planned = [("shop", "0001_initial"), ("shop", "0002_more")]
    missing = unapplied_dependencies(default, planned, GRAPH, {"analytics": frozenset()})
    assert [item.dependency for item in missing] == [("events", "0001_initial")]
    assert unapplied_dependencies(default, planned, GRAPH, {"analytics": {("events", "0001_initial")}}) == ()
    blocked = applied_dependents(
        GRAPH, ROUTES, "default", [("shop", "0001_initial")], {"analytics": {("events", "0001_initial")}}
    )
    assert blocked == ((("shop", "0001_initial"), ("events", "0001_initial"), "analytics", "zero"),)
    assert (
        applied_dependents(GRAPH, ROUTES, "default", [("shop", "0001_initial")], {"analytics": set()}) == ()
    )


def test_a_schedule_interleaves_databases_only_where_needed() -> None:
    plan = GRAPH.forwards_plan()
    assert schedule(GRAPH, ROUTES, plan) == (
        ("default", (("blog", "0001_initial"), ("shop", "0001_initial"))),
        ("analytics", (("events", "0001_initial"),)),
        ("default", (("shop", "0002_more"),)),
    )
    # Without the dependency back, each database runs once, the one depended on first.
    one_way = MigrationGraph([GRAPH.migration(key) for key in GRAPH.nodes if key != ("shop", "0002_more")])
    runs = schedule(one_way, ROUTES, one_way.forwards_plan())
    assert [alias for alias, _keys in runs] == ["default", "analytics"]
    assert run_targets(GRAPH, [("shop", "0001_initial"), ("shop", "0002_more")]) == (("shop", "0002_more"),)


def test_relations_across_databases_are_refused_with_the_migration_named() -> None:
    product = CreateModel("shop", "Product", [ID])
    linked = Migration(
        "0002_link",
        "events",
        dependencies=[("shop", "0001_initial")],
        operations=[
            CreateModel("events", "Event", [ID]),
            AddField(
                "events",
                "Event",
                FieldState("product", "BIGINT", relation=Relation("foreign_key", "shop.Product")),
            ),
        ],
    )
    graph = MigrationGraph([Migration("0001_initial", "shop", operations=[product]), linked])
    with pytest.raises(CrossDatabaseRelation) as raised:
        check_relations(graph, ROUTES)
    assert raised.value.migration == ("events", "0002_link")
    assert (raised.value.database, raised.value.target_database) == ("analytics", "default")
    assert "foreign keys cannot cross databases" in str(raised.value)
    # On one database the same history is fine.
    check_relations(graph, DatabaseRoutes())


def test_a_migration_changing_another_databases_model_is_refused() -> None:
    graph = MigrationGraph(
        [Migration("0001_initial", "events", operations=[CreateModel("shop", "Product", [ID])])]
    )
    with pytest.raises(CrossDatabaseOperation, match=r"on database 'analytics' but changes shop\.Product"):
        check_relations(graph, ROUTES)

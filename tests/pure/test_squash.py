"""Examples for squashing a range of migrations (reinhardt_migrations.pure.squash)."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.errors import InvalidValue, MigrationError, UnknownMigration
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey, replay
from reinhardt_migrations.pure.operations import (
    AddField,
    AlterField,
    CreateModel,
    RemoveField,
    RenameField,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.squash import (
    CircularSquash,
    InvalidSquashRange,
    SquashError,
    SquashNameTaken,
    UnfinishedSquash,
    plan_squash,
    squash,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import BigInteger, Integer, Text, Varchar

ID = FieldState("id", "auto", primary_key=True)


def author() -> Migration:
    return Migration(
        "0001_initial",
        "accounts",
        operations=[CreateModel("accounts", "Author", [ID, FieldState("name", Varchar(50))])],
        initial=True,
    )


def blog(*, elidable_sql: bool = True) -> tuple[Migration, ...]:
    """Four blog migrations: create Post, add and rename a field, a data step, alter and add."""
    return (
        Migration(
            "0001_initial",
            "blog",
            dependencies=[("accounts", "0001_initial")],
            operations=[
                CreateModel(
                    "blog",
                    "Post",
                    [
                        ID,
                        FieldState("title", Varchar(100)),
                        FieldState(
                            "author", BigInteger(), relation=Relation("foreign_key", ("accounts", "Author"))
                        ),
                    ],
                )
            ],
            initial=True,
        ),
        Migration(
            "0002_post_slug",
            "blog",
            dependencies=[("blog", "0001_initial")],
            operations=[AddField("blog", "Post", FieldState("slug", Varchar(50), null=True))],
        ),
        Migration(
            "0003_fill",
            "blog",
            dependencies=[("blog", "0002_post_slug")],
            operations=[
                RunSQL("UPDATE blog_post SET slug = title", elidable=elidable_sql),
                RenameField("blog", "Post", "slug", "handle"),
            ],
        ),
        Migration(
            "0004_post_views",
            "blog",
            dependencies=[("blog", "0003_fill"), ("accounts", "0001_initial")],
            operations=[
                AlterField("blog", "Post", "handle", FieldState("handle", Text(), null=True)),
                AddField("blog", "Post", FieldState("views", Integer(), default=0)),
            ],
        ),
    )


def graph_of(*migrations: Migration) -> MigrationGraph:
    return MigrationGraph(migrations)


def keys(*migrations: Migration) -> tuple[MigrationKey, ...]:
    return tuple(migration.key for migration in migrations)


def test_the_whole_app_squashes_into_one_optimized_migration() -> None:
    history = (author(), *blog())
    result = plan_squash(graph_of(*history), "blog", None, "0004_post_views")
    squashed = result.migration
    assert squashed.name == "0001_squashed_0004_post_views"
    assert squashed.app_label == "blog"
    assert squashed.replaces == keys(*blog())
    assert squashed.dependencies == (("accounts", "0001_initial"),)
    assert squashed.initial
    assert squashed.atomic
    # The elidable RunSQL went; everything else folded into the CreateModel.
    assert [type(op).__name__ for op in squashed.operations] == ["CreateModel"]
    assert (result.operations_in, result.elided, result.operations_out) == (6, 1, 1)
    assert [m.key for m in result.squashed] == list(keys(*blog()))
    # The law: the squash builds the state the range builds.
    before = replay([author()])
    assert squashed.apply(before) == replay(blog(), before)


def test_squash_is_plan_squash_migration_and_deterministic() -> None:
    graph = graph_of(author(), *blog())
    assert (
        squash(graph, "blog", None, "0004_post_views")
        == plan_squash(graph, "blog", None, "0004_post_views").migration
    )
    assert squash(graph, "blog", None, "0004_post_views") == squash(graph, "blog", None, "0004_post_views")


def test_a_range_from_start_depends_on_what_comes_before_it() -> None:
    history = (author(), *blog())
    squashed = squash(graph_of(*history), "blog", "0002_post_slug", "0003_fill", name="slugs")
    assert squashed.name == "0002_slugs"
    assert squashed.replaces == (("blog", "0002_post_slug"), ("blog", "0003_fill"))
    assert squashed.dependencies == (("blog", "0001_initial"),)
    assert not squashed.initial
    assert [type(op).__name__ for op in squashed.operations] == ["AddField"]
    assert squashed.operations[0].field.name == "handle"  # type: ignore[attr-defined]


def test_a_non_elidable_run_sql_stays_and_stands_in_the_way() -> None:
    history = (author(), *blog(elidable_sql=False))
    result = plan_squash(graph_of(*history), "blog", None, "0004_post_views")
    kinds = [type(op).__name__ for op in result.migration.operations]
    assert "RunSQL" in kinds
    assert len(result.kept_code) == 1
    assert result.elided == 0
    before = replay([author()])
    assert result.migration.apply(before) == replay(blog(elidable_sql=False), before)


def test_elidable_run_code_goes_and_elidable_sql_changing_the_state_stays() -> None:
    first = Migration("0001_initial", "a", operations=[CreateModel("a", "M", [ID])], initial=True)
    declared = RunSQL(
        "ALTER TABLE a_m ADD COLUMN x integer",
        state_operations=[AddField("a", "M", FieldState("x", Integer(), null=True))],
        elidable=True,
    )
    second = Migration(
        "0002_data",
        "a",
        dependencies=[("a", "0001_initial")],
        operations=[RunCode("a.migrations.fill", elidable=True), declared],
    )
    result = plan_squash(graph_of(first, second), "a", None, "0002_data", optimized=False)
    assert result.migration.operations == (*first.operations, declared)
    assert result.elided == 1
    assert result.migration.apply(ProjectState()) == replay([first, second])


def test_atomic_is_false_if_any_migration_was_not() -> None:
    first, second, *_ = blog()
    second = Migration(second.name, "blog", second.dependencies, second.operations, atomic=False)
    squashed = squash(graph_of(author(), first, second), "blog", None, second.name)
    assert not squashed.atomic


def test_dependencies_are_deduplicated_sorted_and_leave_out_the_range() -> None:
    history = (
        Migration("0001_initial", "accounts", initial=True),
        Migration("0001_initial", "tags", initial=True),
        Migration("0001_initial", "blog", dependencies=[("tags", "0001_initial")]),
        Migration(
            "0002_x",
            "blog",
            dependencies=[("blog", "0001_initial"), ("accounts", "0001_initial"), ("tags", "0001_initial")],
        ),
    )
    squashed = squash(graph_of(*history), "blog", None, "0002_x")
    assert squashed.dependencies == (("accounts", "0001_initial"), ("tags", "0001_initial"))
    assert squashed.operations == ()


def test_a_finished_squash_in_the_range_brings_what_it_replaced() -> None:
    # 0001_squashed_0002 replaced 0001 and 0002, whose files are gone.
    old = Migration(
        "0001_squashed_0002",
        "a",
        operations=[CreateModel("a", "M", [ID])],
        replaces=[("a", "0001_initial"), ("a", "0002_x")],
        initial=True,
    )
    third = Migration(
        "0003_y",
        "a",
        dependencies=[("a", "0002_x")],  # written before the squash: stands for it now
        operations=[AddField("a", "M", FieldState("y", Integer(), null=True))],
    )
    squashed = squash(graph_of(old, third), "a", None, "0003_y")
    assert squashed.name == "0001_squashed_0003_y"
    assert squashed.replaces == (
        ("a", "0001_initial"),
        ("a", "0002_x"),
        ("a", "0001_squashed_0002"),
        ("a", "0003_y"),
    )
    assert squashed.dependencies == ()
    assert squashed.initial
    # The graph with both squashes plans only the new one on a fresh database.
    both = graph_of(old, third, squashed)
    assert both.forwards_plan() == (squashed.key,)


def test_an_unfinished_squash_in_the_range_is_refused() -> None:
    first, second, third, fourth = blog()
    old = Migration(
        "0001_squashed_0002",
        "blog",
        dependencies=[("accounts", "0001_initial")],
        operations=[*first.operations, *second.operations],
        replaces=[first.key, second.key],
        initial=True,
    )
    graph = graph_of(author(), first, second, third, fourth, old)
    with pytest.raises(UnfinishedSquash) as raised:
        squash(graph, "blog", None, "0004_post_views")
    assert raised.value.squash == old.key
    assert raised.value.present == (first.key, second.key)
    assert "remove its `replaces`" in str(raised.value)
    # Naming a replaced migration as START or END is refused the same way.
    with pytest.raises(UnfinishedSquash):
        squash(graph, "blog", "0002_post_slug", "0004_post_views")
    # A range after the unfinished squash is fine, and depends on the old name.
    later = squash(graph, "blog", "0003_fill", "0004_post_views")
    assert later.dependencies == (("accounts", "0001_initial"), ("blog", "0002_post_slug"))
    assert graph_of(author(), first, second, third, fourth, old, later).forwards_plan() == (
        ("accounts", "0001_initial"),
        old.key,
        later.key,
    )


def test_a_dependency_that_needs_the_range_is_refused() -> None:
    history = (
        Migration("0001_initial", "blog", initial=True),
        Migration("0001_initial", "accounts", dependencies=[("blog", "0001_initial")]),
        Migration("0002_x", "blog", dependencies=[("blog", "0001_initial"), ("accounts", "0001_initial")]),
    )
    with pytest.raises(CircularSquash) as raised:
        squash(graph_of(*history), "blog", None, "0002_x")
    error = raised.value
    assert (error.migration, error.dependency, error.inside) == (
        ("blog", "0002_x"),
        ("accounts", "0001_initial"),
        ("blog", "0001_initial"),
    )
    assert "would depend on itself" in str(error)
    assert isinstance(error, SquashError)
    assert isinstance(error, MigrationError)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("0004_post_views", "0002_post_slug", "is not in the history of 0002_post_slug"),
        ("0002_post_slug", "0002_post_slug", "only one migration"),
        (None, "0001_initial", "only one migration"),
    ],
)
def test_bad_ranges_are_refused(start: str | None, end: str, problem: str) -> None:
    with pytest.raises(InvalidSquashRange, match=problem):
        squash(graph_of(author(), *blog()), "blog", start, end)


def test_a_branch_not_in_the_history_of_end_is_refused_as_start() -> None:
    history = (
        Migration("0001_initial", "a"),
        Migration("0002_left", "a", dependencies=[("a", "0001_initial")]),
        Migration("0002_right", "a", dependencies=[("a", "0001_initial")]),
    )
    with pytest.raises(InvalidSquashRange):
        squash(graph_of(*history), "a", "0002_right", "0002_left")
    assert squash(graph_of(*history), "a", None, "0002_left").replaces == (
        ("a", "0001_initial"),
        ("a", "0002_left"),
    )


def test_unknown_names_and_taken_names_are_refused() -> None:
    graph = graph_of(author(), *blog())
    with pytest.raises(UnknownMigration):
        squash(graph, "blog", None, "0009_nothing")
    with pytest.raises(SquashNameTaken):
        squash(graph, "blog", None, "0004_post_views", name="initial")
    with pytest.raises(InvalidValue):
        squash(graph, "blog", None, "0004_post_views", name="../evil")


def test_later_migrations_and_other_apps_follow_the_squash() -> None:
    first, second, third, fourth = blog()
    other = Migration("0002_more", "accounts", dependencies=[("blog", "0002_post_slug")])
    history = (author(), first, second, third, fourth, other)
    squashed = squash(graph_of(*history), "blog", None, "0003_fill")
    graph = graph_of(*history, squashed)
    assert graph.forwards_plan() == (
        ("accounts", "0001_initial"),
        squashed.key,
        ("accounts", "0002_more"),
        fourth.key,
    )
    # A database that applied part of the range keeps the originals.
    applied = frozenset({("accounts", "0001_initial"), first.key})
    assert graph.forwards_plan(None, applied) == (
        second.key,
        ("accounts", "0002_more"),
        third.key,
        fourth.key,
    )


def test_an_unnumbered_start_keeps_its_whole_name() -> None:
    history = (Migration("initial", "a"), Migration("second", "a", dependencies=[("a", "initial")]))
    assert squash(graph_of(*history), "a", None, "second").name == "initial_squashed_second"
    assert squash(graph_of(*history), "a", None, "second", name="all").name == "initial_all"


def test_the_optimizer_can_be_left_out() -> None:
    history = (author(), *blog())
    squashed = squash(graph_of(*history), "blog", None, "0004_post_views", optimized=False)
    assert len(squashed.operations) == 5
    before = replay([author()])
    assert squashed.apply(before) == replay(blog(), before)


def test_remove_then_add_in_the_range_replays_alike() -> None:
    first, second, *_ = blog()
    third = Migration(
        "0003_drop",
        "blog",
        dependencies=[second.key],
        operations=[RemoveField("blog", "Post", "slug"), RemoveField("blog", "Post", "title")],
    )
    result = plan_squash(graph_of(author(), first, second, third), "blog", None, "0003_drop")
    assert result.operations_out < result.operations_in
    before = replay([author()])
    assert result.migration.apply(before) == replay([first, second, third], before)

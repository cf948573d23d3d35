"""Migration values: building them in chain style without mutation, and replaying them."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.errors import (
    FieldAlreadyExists,
    InvalidValue,
    ModelAlreadyExists,
    UnknownModel,
)
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import AddField, CreateModel, RenameField, RunCode
from reinhardt_migrations.pure.state import ModelState, ProjectState

ID = FieldState("id", "auto", primary_key=True)


def initial() -> Migration:
    return (
        Migration.new("0001_initial", "blog")
        .add_operation(CreateModel("blog", "Author", [ID]))
        .add_operation(CreateModel("blog", "Post", [ID, FieldState("title", "VARCHAR(200)")]))
        .add_operation(
            AddField(
                "blog",
                "Post",
                FieldState("author", "integer", null=True, relation=Relation("foreign_key", "blog.Author")),
            )
        )
    )


def second() -> Migration:
    return (
        Migration.new("0002_rename_title", "blog")
        .add_dependency("blog", "0001_initial")
        .add_operation(RenameField("blog", "Post", "title", "headline"))
    )


def test_new_migration_is_empty() -> None:
    migration = Migration.new("0001_initial", "blog")
    assert migration.key == ("blog", "0001_initial")
    assert migration.operations == ()
    assert migration.dependencies == ()
    assert migration.replaces == ()
    assert migration.atomic
    assert not migration.initial


def test_chain_building_does_not_mutate() -> None:
    empty = Migration.new("0001_initial", "blog")
    create = CreateModel("blog", "Author", [ID])
    one = empty.add_operation(create)
    two = one.with_operation(RunCode("blog.data.fill"))
    assert empty.operations == ()
    assert one.operations == (create,)
    assert len(two.operations) == 2
    depending = two.with_dependency("auth", "0001_initial").add_dependency("blog", "0000_base")
    assert two.dependencies == ()
    assert depending.dependencies == (("auth", "0001_initial"), ("blog", "0000_base"))
    assert depending.operations is two.operations


def test_migrations_are_values() -> None:
    assert initial() == initial()
    assert hash(initial()) == hash(initial())
    assert initial() != initial().with_dependency("auth", "0001_initial")
    built = Migration(
        "0001_initial",
        "blog",
        dependencies=[["auth", "0001_initial"]],
        operations=[CreateModel("blog", "Author", [ID])],
        replaces=[("blog", "0001_a"), ("blog", "0002_b")],
        atomic=False,
        initial=True,
    )
    assert built.dependencies == (("auth", "0001_initial"),)
    assert isinstance(built.operations, tuple)
    assert built.replaces == (("blog", "0001_a"), ("blog", "0002_b"))


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (lambda: Migration("", "blog"), "migration name"),
        (lambda: Migration("0001", ""), "migration app_label"),
        (lambda: Migration("0001", "blog", dependencies=[("blog",)]), "migration dependency"),
        (lambda: Migration("0001", "blog", dependencies=[("blog", "")]), "migration dependency"),
        (lambda: Migration("0001", "blog", replaces=[("blog", "a", "b")]), "migration dependency"),
        (lambda: Migration.new("0001", "blog").with_dependency("auth", ""), "migration dependency"),
    ],
)
def test_migration_is_validated_when_built(build: object, what: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        build()  # type: ignore[operator]
    assert caught.value.what == what


def test_apply_runs_every_operation_in_order() -> None:
    state = initial().apply(ProjectState())
    assert [model.label for model in state] == ["blog.Author", "blog.Post"]
    post = state.model("blog", "Post")
    assert post.field_names() == ("id", "title", "author")
    assert post.field("author").column == "author_id"


def test_replay_starts_from_empty_or_from_the_given_state() -> None:
    state = replay([initial(), second()])
    assert state.model("blog", "Post").field_names() == ("id", "headline", "author")
    assert replay([]) == ProjectState()
    base = ProjectState.from_models([ModelState("auth", "User", [ID])])
    combined = replay([initial()], base)
    assert combined.has_model("auth", "User")
    assert combined.has_model("blog", "Post")
    assert combined.models[("auth", "User")] is base.models[("auth", "User")]


def test_replay_keeps_earlier_states_intact() -> None:
    after_first = replay([initial()])
    after_second = replay([second()], after_first)
    assert after_first.model("blog", "Post").field_names() == ("id", "title", "author")
    assert after_second.model("blog", "Post").field_names() == ("id", "headline", "author")
    assert after_second.models[("blog", "Author")] is after_first.models[("blog", "Author")]


def test_replay_is_deterministic() -> None:
    assert replay([initial(), second()]) == replay([initial(), second()])


def test_replay_raises_the_operation_error() -> None:
    with pytest.raises(UnknownModel) as missing:
        replay([second()])
    assert "blog.Post" in str(missing.value)
    with pytest.raises(ModelAlreadyExists, match=r"blog\.Author"):
        replay([initial(), initial()])
    again = Migration.new("0003_again", "blog").add_operation(
        AddField("blog", "Post", FieldState("author", "text"))
    )
    with pytest.raises(FieldAlreadyExists) as twice:
        replay([initial(), again])
    assert (twice.value.app_label, twice.value.model, twice.value.field) == ("blog", "Post", "author")

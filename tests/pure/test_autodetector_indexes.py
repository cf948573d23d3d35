"""Autodetector: indexes added, removed, renamed; constraints; unique_together; their order."""

from __future__ import annotations

from reinhardt_migrations.pure.autodetector import DetectionResult, NeverRename, autodetect
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import replay
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterUniqueTogether,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameIndex,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState

FIELDS = [
    FieldState("id", "auto", primary_key=True),
    FieldState("title", "VARCHAR(200)"),
    FieldState("slug", "VARCHAR(50)"),
]


def _post(*extra: FieldState, **options: object) -> ProjectState:
    return ProjectState.from_models([ModelState("blog", "Post", [*FIELDS, *extra], **options)])  # type: ignore[arg-type]


def _kinds(result: DetectionResult) -> list[str]:
    return [type(operation).__name__ for operation in result.operations]


def _index_of(result: DetectionResult, kind: type) -> int:
    return next(n for n, op in enumerate(result.operations) if isinstance(op, kind))


TITLE_IDX = IndexState("post_title_idx", ["title"])


def test_an_added_index_is_added_and_named_after_it() -> None:
    before = _post()
    after = _post(indexes=[TITLE_IDX])
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert result.operations == (AddIndex("blog", "Post", TITLE_IDX),)
    assert result.migrations[0].name == "0002_post_title_idx"
    assert replay(result.migrations, before) == after


def test_a_removed_index_is_removed() -> None:
    result = autodetect(_post(indexes=[TITLE_IDX]), _post())
    assert result.operations == (RemoveIndex("blog", "Post", "post_title_idx"),)
    assert result.destructive == ()


def test_an_index_with_a_new_name_only_is_renamed_not_rebuilt() -> None:
    before = _post(indexes=[TITLE_IDX])
    after = _post(indexes=[IndexState("post_title_index", ["title"])])
    result = autodetect(before, after)
    assert result.operations == (RenameIndex("blog", "Post", "post_title_idx", "post_title_index"),)
    assert replay(result.migrations, before) == after


def test_two_indexes_swapping_names_still_replay() -> None:
    first, second = IndexState("a_idx", ["title"]), IndexState("b_idx", ["slug"])
    before = _post(indexes=[first, second])
    after = _post(indexes=[IndexState("b_idx", ["title"]), IndexState("a_idx", ["slug"])])
    result = autodetect(before, after)
    assert replay(result.migrations, before) == after


def test_an_index_whose_definition_changed_is_removed_before_it_is_added_again() -> None:
    before = _post(indexes=[TITLE_IDX])
    after = _post(indexes=[IndexState("post_title_idx", ["title", "-slug"])])
    result = autodetect(before, after)
    assert _kinds(result) == ["RemoveIndex", "AddIndex"]
    assert replay(result.migrations, before) == after


def test_an_index_on_a_new_field_comes_after_the_field() -> None:
    published = FieldState("published", "date", null=True)
    after = _post(published, indexes=[IndexState("post_published_idx", ["published"])])
    result = autodetect(_post(), after)
    assert _index_of(result, AddField) < _index_of(result, AddIndex)
    assert replay(result.migrations, _post()) == after


def test_an_index_on_a_removed_field_goes_before_the_field() -> None:
    published = FieldState("published", "date", null=True)
    before = _post(published, indexes=[IndexState("post_published_idx", ["published"])])
    result = autodetect(before, _post())
    assert _index_of(result, RemoveIndex) < _index_of(result, RemoveField)
    assert replay(result.migrations, before) == _post()


def test_an_index_on_a_renamed_field_follows_the_rename() -> None:
    before = _post(indexes=[TITLE_IDX])
    headline = FieldState("headline", "VARCHAR(200)", previous_name="title")
    after = ProjectState.from_models(
        [
            ModelState(
                "blog",
                "Post",
                [FIELDS[0], headline, FIELDS[2]],
                indexes=[IndexState("post_title_idx", ["headline"])],
            )
        ]
    )
    result = autodetect(before, after, NeverRename())
    assert _kinds(result) == ["RenameField"]
    assert replay(result.migrations, before) == after


UNIQUE_SLUG = ConstraintState.unique_on("post_slug_uniq", ["slug"])
POSITIVE = ConstraintState.check_that("post_title_not_empty", "title <> ''")


def test_constraints_are_added_and_removed() -> None:
    before = _post(constraints=[UNIQUE_SLUG])
    after = _post(constraints=[POSITIVE])
    result = autodetect(before, after)
    assert result.operations == (
        RemoveConstraint("blog", "Post", "post_slug_uniq"),
        AddConstraint("blog", "Post", POSITIVE),
    )
    assert replay(result.migrations, before) == after


def test_a_changed_constraint_is_replaced() -> None:
    before = _post(constraints=[POSITIVE])
    after = _post(constraints=[ConstraintState.check_that("post_title_not_empty", "length(title) > 0")])
    result = autodetect(before, after)
    assert _kinds(result) == ["RemoveConstraint", "AddConstraint"]
    assert replay(result.migrations, before) == after


def test_a_constraint_on_a_removed_field_goes_first() -> None:
    code = FieldState("code", "VARCHAR(10)", null=True)
    before = _post(code, constraints=[ConstraintState.unique_on("post_code_uniq", ["code"])])
    result = autodetect(before, _post())
    assert _index_of(result, RemoveConstraint) < _index_of(result, RemoveField)
    assert replay(result.migrations, before) == _post()


def test_unique_together_changes_are_one_alter() -> None:
    before = _post()
    after = _post(unique_together=[("title", "slug")])
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert result.operations == (AlterUniqueTogether("blog", "Post", [("title", "slug")]),)
    assert result.migrations[0].name == "0002_alter_post_unique_together"
    assert replay(result.migrations, before) == after
    assert autodetect(after, before).operations == (AlterUniqueTogether("blog", "Post", []),)


def test_unique_together_over_a_removed_field_is_altered_before_the_removal() -> None:
    code = FieldState("code", "VARCHAR(10)", null=True)
    before = _post(code, unique_together=[("slug", "code")])
    after = _post(unique_together=[("title", "slug")])
    result = autodetect(before, after)
    assert _index_of(result, AlterUniqueTogether) < _index_of(result, RemoveField)
    assert replay(result.migrations, before) == after


def test_unique_together_over_an_added_field_is_altered_after_the_addition() -> None:
    code = FieldState("code", "VARCHAR(10)", null=True)
    after = _post(code, unique_together=[("slug", "code")])
    result = autodetect(_post(), after)
    assert _index_of(result, AddField) < _index_of(result, AlterUniqueTogether)
    assert replay(result.migrations, _post()) == after


def test_bookkeeping_names_alone_never_make_an_operation() -> None:
    unique_slug = FieldState("slug", "VARCHAR(50)", unique=True, db_index=True)
    before = ProjectState.from_models(
        [ModelState("blog", "Post", [FIELDS[0], unique_slug], db_table="posts")]
    )
    renamed_objects = ModelState(
        "blog",
        "Post",
        [
            FIELDS[0],
            FieldState(
                "slug", "VARCHAR(50)", unique=True, db_index=True, unique_name="other", index_name="x"
            ),
        ],
        db_table="posts",
    )
    after = ProjectState.from_models([renamed_objects])
    assert before.model("blog", "Post").field("slug").unique_name != "other"
    assert autodetect(before, after).operations == ()

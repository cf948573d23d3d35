"""Names two objects of one database would share: tables, indexes, unique constraints."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import DuplicateObjectName
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.object_names import check_object_names, shared_object_names
from reinhardt_migrations.pure.state import ModelState, ProjectState

ID = FieldState("id", "bigauto", primary_key=True)
TITLE = FieldState("title", "varchar(100)")


def test_one_index_name_on_two_models_is_found_with_both_owners() -> None:
    state = ProjectState.from_models(
        [
            ModelState("blog", "Post", [ID, TITLE], indexes=[IndexState("title_idx", ["title"])]),
            ModelState("news", "Item", [ID, TITLE], indexes=[IndexState("Title_Idx", ["title"])]),
        ]
    )
    (shared,) = shared_object_names(state)
    assert shared.name == "title_idx"
    assert shared.owners == (("index", "blog.Post"), ("index", "news.Item"))
    with pytest.raises(DuplicateObjectName, match=r"'title_idx' of blog\.Post is already used by news\.Item"):
        check_object_names(state)


def test_field_indexes_unique_constraints_and_tables_share_one_namespace() -> None:
    post = ModelState(
        "blog",
        "Post",
        [ID, FieldState("title", "varchar(100)", db_index=True)],
        constraints=[ConstraintState.unique_on("blog_tag", ["title"])],
    )
    tag = ModelState(
        "blog", "Tag", [ID, TITLE], indexes=[IndexState(post.field("title").index_name or "", ["title"])]
    )
    state = ProjectState.from_models([post, tag])
    found = {shared.name: shared.owners for shared in shared_object_names(state)}
    assert found == {
        "blog_post_title_idx": (("index", "blog.Post"), ("index", "blog.Tag")),
        "blog_tag": (("unique constraint", "blog.Post"), ("table", "blog.Tag")),
    }


def test_an_automatic_join_table_clashes_with_a_model_table() -> None:
    post = ModelState(
        "blog", "Post", [ID, FieldState("tags", "bigint", relation=Relation("many_to_many", "blog.Tag"))]
    )
    tag = ModelState("blog", "Tag", [ID])
    clash = ModelState("blog", "PostTags", [ID], db_table="blog_post_tags")
    (shared,) = shared_object_names(ProjectState.from_models([post, tag, clash]))
    assert shared.owners == (("join table", "blog.Post"), ("table", "blog.PostTags"))


def test_check_constraints_and_distinct_names_are_fine() -> None:
    state = ProjectState.from_models(
        [
            ModelState("blog", "Post", [ID, TITLE], constraints=[ConstraintState.check_that("ok", "1 = 1")]),
            ModelState("news", "Item", [ID, TITLE], constraints=[ConstraintState.check_that("ok", "1 = 1")]),
        ]
    )
    assert shared_object_names(state) == ()
    check_object_names(state)

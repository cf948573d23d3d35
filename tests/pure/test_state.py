"""ModelState and ProjectState: new values, structural sharing, indexes and object names."""

from __future__ import annotations

import attrs
import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState, UniqueTogether
from reinhardt_migrations.pure.errors import (
    DanglingRelation,
    DuplicateObjectName,
    FieldAlreadyExists,
    InvalidValue,
    ModelAlreadyExists,
    UnknownConstraint,
    UnknownField,
    UnknownIndex,
    UnknownModel,
)
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.names import MAX_NAME_BYTES
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState, default_table_name

ID = FieldState("id", "auto", primary_key=True)


def fk(target: str, name: str, **kwargs: object) -> FieldState:
    return FieldState(name, "bigint", relation=Relation("foreign_key", target), **kwargs)  # type: ignore[arg-type]


def author() -> ModelState:
    return ModelState("blog", "Author", [ID, FieldState("email", "varchar(100)", unique=True)])


def post() -> ModelState:
    return ModelState(
        "blog",
        "Post",
        [
            ID,
            FieldState("title", "varchar(200)", db_index=True),
            FieldState("slug", "varchar(50)", unique=True),
            fk("blog.Author", "author"),
        ],
        indexes=[IndexState("post_title_idx", ["-title"])],
        constraints=[ConstraintState.unique_on("post_slug_author", ["slug", "author"])],
        unique_together=[("title", "slug")],
    )


def blog_state() -> ProjectState:
    tag = ModelState("blog", "Tag", [ID, FieldState("name", "text")])
    user = ModelState("auth", "User", [ID])
    return ProjectState.from_models([author(), post(), tag, user])


# ModelState -------------------------------------------------------------------------------


def test_model_basics() -> None:
    model = post()
    assert model.key == ("blog", "Post")
    assert model.label == "blog.Post"
    assert model.db_table == "blog_post"
    assert model.field_names() == ("id", "title", "slug", "author")
    assert model.primary_key == ID
    assert model.field("slug").unique
    assert model.field_or_none("missing") is None
    assert model.related_models() == frozenset({("blog", "Author")})
    assert [f.name for f, _relation in model.relations()] == ["author"]


def test_default_table_name_is_lower_case() -> None:
    assert default_table_name("Shop", "OrderLine") == "shop_orderline"
    assert ModelState("Shop", "OrderLine").db_table == "shop_orderline"
    assert ModelState("shop", "OrderLine", db_table="lines").db_table == "lines"


def test_primary_key_is_none_unless_exactly_one() -> None:
    assert ModelState("a", "NoKey", [FieldState("x", "integer")]).primary_key is None
    both = [FieldState("a", "integer", primary_key=True), FieldState("b", "integer", primary_key=True)]
    assert ModelState("a", "Composite", both).primary_key is None


def test_unknown_field_message_names_app_model_and_field() -> None:
    with pytest.raises(UnknownField) as caught:
        post().field("body")
    error = caught.value
    assert (error.app_label, error.model, error.field) == ("blog", "Post", "body")
    assert "blog.Post" in str(error)
    assert "'body'" in str(error)
    assert isinstance(error, LookupError)


def test_with_field_returns_a_new_model_and_leaves_the_old_one() -> None:
    model = post()
    body = FieldState("body", "text")
    grown = model.with_field(body)
    assert grown.field_names() == ("id", "title", "slug", "author", "body")
    assert model.field_names() == ("id", "title", "slug", "author")
    assert grown is not model
    with pytest.raises(FieldAlreadyExists) as caught:
        grown.with_field(FieldState("body", "integer"))
    assert (caught.value.app_label, caught.value.model, caught.value.field) == ("blog", "Post", "body")
    assert "'body'" in str(caught.value)
    assert "blog.Post" in str(caught.value)


def test_two_fields_on_one_column_are_refused() -> None:
    # A foreign key "author" has the column author_id.
    with pytest.raises(InvalidValue, match="author_id"):
        post().with_field(FieldState("author_id", "integer"))
    with pytest.raises(InvalidValue, match="'title'"):
        post().with_field(FieldState("headline", "text", db_column="title"))


def test_with_field_replaced_keeps_the_position_and_returns_self_when_equal() -> None:
    model = post()
    same = model.with_field_replaced(FieldState("title", "varchar(200)", db_index=True))
    assert same is model
    longer = model.with_field_replaced(FieldState("title", "varchar(300)", db_index=True))
    assert longer.field_names() == model.field_names()
    assert longer.field("title").type == FieldState("t", "varchar(300)").type
    assert model.field("title").type == FieldState("t", "varchar(200)").type
    with pytest.raises(UnknownField):
        model.with_field_replaced(FieldState("body", "text"))


def test_without_field() -> None:
    model = post().without_index("post_title_idx").with_unique_together([])
    smaller = model.without_field("title")
    assert "title" not in smaller.field_names()
    assert "title" in model.field_names()
    with pytest.raises(UnknownField) as caught:
        model.without_field("body")
    assert caught.value.field == "body"


def test_without_field_refuses_a_field_still_indexed_or_constrained() -> None:
    with pytest.raises(InvalidValue) as caught:
        post().without_field("title")
    assert "blog.Post.title" in str(caught.value)
    assert "post_title_idx" in str(caught.value)
    assert "blog_post_title_slug_uniq" in str(caught.value)
    with pytest.raises(InvalidValue, match="post_slug_author"):
        post().without_field("author")


def test_renamed_field_follows_into_indexes_constraints_and_unique_together() -> None:
    model = post()
    renamed = model.renamed_field("title", "headline")
    assert renamed.field_names() == ("id", "headline", "slug", "author")
    assert renamed.indexes[0].fields == ("-headline",)
    assert renamed.unique_together[0].fields == ("headline", "slug")
    moved = model.renamed_field("slug", "handle")
    assert moved.constraints[0].fields == ("handle", "author")
    # The old value is untouched.
    assert model.indexes[0].fields == ("-title",)
    assert model.renamed_field("title", "title") is model


def test_renamed_field_errors() -> None:
    with pytest.raises(UnknownField):
        post().renamed_field("body", "text")
    with pytest.raises(FieldAlreadyExists) as caught:
        post().renamed_field("title", "slug")
    assert caught.value.field == "slug"


def test_indexes_and_constraints_by_name() -> None:
    model = post()
    assert model.index("post_title_idx").fields == ("-title",)
    with pytest.raises(UnknownIndex) as caught_index:
        model.index("nope")
    assert (caught_index.value.model, caught_index.value.index) == ("Post", "nope")
    assert "'nope'" in str(caught_index.value)
    assert model.constraint("post_slug_author").fields == ("slug", "author")
    with pytest.raises(UnknownConstraint) as caught_constraint:
        model.constraint("nope")
    assert "blog.Post" in str(caught_constraint.value)
    extra = model.with_index(IndexState("post_slug_idx", ["slug"]))
    assert [i.name for i in extra.indexes] == ["post_title_idx", "post_slug_idx"]
    assert [i.name for i in model.indexes] == ["post_title_idx"]
    assert extra.without_index("post_title_idx").indexes == (IndexState("post_slug_idx", ["slug"]),)
    checked = model.with_constraint(ConstraintState.check_that("positive", "id > 0"))
    assert [c.name for c in checked.without_constraint("post_slug_author").constraints] == ["positive"]
    with pytest.raises(UnknownIndex):
        model.without_index("nope")
    with pytest.raises(UnknownConstraint):
        model.without_constraint("nope")


def test_indexes_and_constraints_must_name_existing_fields() -> None:
    with pytest.raises(UnknownField) as caught:
        post().with_index(IndexState("body_idx", ["body"]))
    assert caught.value.field == "body"
    with pytest.raises(UnknownField):
        post().with_constraint(ConstraintState.unique_on("u", ["body"]))
    with pytest.raises(UnknownField):
        post().with_unique_together([("body", "title")])


def test_index_and_constraint_names_are_one_namespace_per_model() -> None:
    with pytest.raises(DuplicateObjectName) as caught:
        post().with_constraint(ConstraintState.unique_on("post_title_idx", ["slug"]))
    assert caught.value.name == "post_title_idx"
    assert "blog.Post" in str(caught.value)
    with pytest.raises(DuplicateObjectName):
        post().with_index(IndexState("post_title_idx", ["slug"]))


def test_uses_field_lists_every_user() -> None:
    model = post()
    assert sorted(model.uses_field("title")) == sorted(["post_title_idx", "blog_post_title_slug_uniq"])
    assert model.uses_field("slug") == ["post_slug_author", "blog_post_title_slug_uniq"]
    assert model.uses_field("id") == []


# Database object names ---------------------------------------------------------------------------


def test_object_names_are_filled_from_table_and_column() -> None:
    model = post()
    assert model.field("slug").unique_name == "blog_post_slug_uniq"
    assert model.field("title").index_name == "blog_post_title_idx"
    relation = model.field("author").relation
    assert relation is not None
    assert relation.constraint_name == "blog_post_author_id_fk"
    assert model.unique_together[0].name == "blog_post_title_slug_uniq"
    # A primary key's uniqueness is the key itself: no separate constraint.
    assert (
        ModelState("a", "M", [FieldState("code", "text", primary_key=True, unique=True)])
        .fields[0]
        .unique_name
        is None
    )


def test_many_to_many_gets_a_join_table_name_unless_it_has_a_through_model() -> None:
    tags = FieldState("tags", "bigint", relation=Relation("many_to_many", "blog.Tag"))
    through = FieldState(
        "readers", "bigint", relation=Relation("many_to_many", "auth.User", through="blog.Reading")
    )
    model = ModelState("blog", "Post", [ID, tags, through])
    assert model.field("tags").relation == Relation("many_to_many", "blog.Tag", db_table="blog_post_tags")
    readers = model.field("readers").relation
    assert readers is not None
    assert readers.db_table is None


def test_object_names_are_deterministic_and_fit_the_strictest_database() -> None:
    long_model = "Very" + "Long" * 20
    field = FieldState("a_rather_long_field_name_" * 2, "text", unique=True, db_index=True)
    first = ModelState("inventory", long_model, [field])
    second = ModelState("inventory", long_model, [field])
    assert first.fields[0].unique_name == second.fields[0].unique_name
    assert first.fields[0].index_name == second.fields[0].index_name
    for name in (first.fields[0].unique_name, first.fields[0].index_name):
        assert name is not None
        assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert first.fields[0].unique_name != first.fields[0].index_name


def test_names_already_set_are_kept() -> None:
    named = attrs.evolve(FieldState("slug", "text", unique=True), unique_name="legacy_slug_key")
    assert ModelState("blog", "Post", [named]).fields[0].unique_name == "legacy_slug_key"


def test_equality_and_hash_ignore_bookkeeping_names() -> None:
    named = post()
    other = ModelState(
        "blog",
        "Post",
        [
            ID,
            attrs.evolve(FieldState("title", "varchar(200)", db_index=True), index_name="x_idx"),
            attrs.evolve(FieldState("slug", "varchar(50)", unique=True), unique_name="x_uniq"),
            fk("blog.Author", "author"),
        ],
        indexes=[IndexState("post_title_idx", ["-title"])],
        constraints=[ConstraintState.unique_on("post_slug_author", ["slug", "author"])],
        unique_together=[UniqueTogether(("title", "slug"), name="x_together")],
        previous_name="Article",
    )
    assert other.field("title").index_name == "x_idx"
    assert other == named
    assert hash(other) == hash(named)


def test_unique_together_is_kept_in_canonical_order() -> None:
    first = ModelState(
        "a", "M", [ID, FieldState("x", "text"), FieldState("y", "text")], unique_together=[("y",), ("x",)]
    )
    second = ModelState(
        "a", "M", [ID, FieldState("x", "text"), FieldState("y", "text")], unique_together=[("x",), ("y",)]
    )
    assert first == second


def test_with_unique_together_keeps_the_names_of_kept_entries() -> None:
    model = ModelState(
        "a", "M", [ID, FieldState("x", "text"), FieldState("y", "text")], unique_together=[("x",)]
    )
    old_name = model.unique_together[0].name
    renamed_table = attrs.evolve(model, db_table="elsewhere")
    grown = renamed_table.with_unique_together([("x",), ("y",)])
    names = {entry.fields: entry.name for entry in grown.unique_together}
    assert names[("x",)] == old_name
    assert names[("y",)] == "elsewhere_y_uniq"


def test_model_is_validated_when_built() -> None:
    with pytest.raises(FieldAlreadyExists):
        ModelState("a", "M", [ID, ID])
    with pytest.raises(InvalidValue) as caught:
        ModelState("", "M")
    assert caught.value.what == "ModelState.app_label"
    with pytest.raises(InvalidValue):
        ModelState("a", "M", db_table="")


# ProjectState ---------------------------------------------------------------------------------


def test_states_built_in_different_orders_are_equal() -> None:
    models = [author(), post(), ModelState("blog", "Tag", [ID])]
    forwards = ProjectState.from_models(models)
    backwards = ProjectState()
    for model in reversed(models):
        backwards = backwards.with_model(model)
    assert forwards == backwards
    assert hash(forwards) == hash(backwards)
    assert [m.label for m in backwards] == ["blog.Author", "blog.Post", "blog.Tag"]
    assert len(forwards) == 3


def test_model_lookup() -> None:
    state = blog_state()
    assert state.has_model("blog", "Post")
    assert not state.has_model("blog", "post")
    assert state.model("blog", "Post") == post()
    with pytest.raises(UnknownModel) as caught:
        state.model("blog", "Comment")
    assert (caught.value.app_label, caught.value.model) == ("blog", "Comment")
    assert "blog.Comment" in str(caught.value)
    assert state.app_labels() == ("auth", "blog")


def test_with_model_shares_every_untouched_model() -> None:
    state = blog_state()
    changed = state.model("blog", "Tag").with_field(FieldState("slug", "text"))
    new = state.with_model(changed)
    assert new is not state
    assert new.model("blog", "Tag") is changed
    assert state.model("blog", "Tag").field_names() == ("id", "name")
    for key in [("blog", "Author"), ("blog", "Post"), ("auth", "User")]:
        assert new.models[key] is state.models[key]
    assert new.with_model(changed) is new


def test_with_new_model_checks_existence_and_relations() -> None:
    state = blog_state()
    with pytest.raises(ModelAlreadyExists) as caught:
        state.with_new_model(author())
    assert "blog.Author" in str(caught.value)
    comment = ModelState("blog", "Comment", [ID, fk("blog.Thread", "thread")])
    with pytest.raises(DanglingRelation) as dangling:
        state.with_new_model(comment)
    message = str(dangling.value)
    assert "blog.Comment.thread" in message
    assert "blog.Thread" in message
    assert (dangling.value.app_label, dangling.value.model, dangling.value.field) == (
        "blog",
        "Comment",
        "thread",
    )
    # A model may point at itself.
    tree = ModelState("blog", "Category", [ID, fk("blog.Category", "parent", null=True)])
    assert state.with_new_model(tree).has_model("blog", "Category")


def test_relation_to_a_missing_field_is_dangling() -> None:
    by_email = FieldState(
        "writer", "varchar(100)", relation=Relation("foreign_key", "blog.Author", to_field="mail")
    )
    with pytest.raises(DanglingRelation, match=r"blog\.Author\.mail"):
        blog_state().with_new_model(ModelState("blog", "Note", [ID, by_email]))


def test_reverse_relation_index_after_add_rename_and_delete() -> None:
    state = blog_state()
    assert [m.label for m in state.referrers_of(("blog", "Author"))] == ["blog.Post"]
    assert state.referrers_of(("blog", "Tag")) == ()

    review = ModelState("blog", "Review", [ID, fk("blog.Author", "reviewer"), fk("blog.Post", "post")])
    added = state.with_new_model(review)
    assert [m.label for m in added.referrers_of(("blog", "Author"))] == ["blog.Post", "blog.Review"]
    assert [m.label for m in added.referrers_of(("blog", "Post"))] == ["blog.Review"]

    renamed = added.renamed_model("blog", "Author", "Writer")
    assert renamed.referrers_of(("blog", "Author")) == ()
    assert [m.label for m in renamed.referrers_of(("blog", "Writer"))] == ["blog.Post", "blog.Review"]
    relation = renamed.model("blog", "Post").field("author").relation
    assert relation is not None
    assert relation.to == ("blog", "Writer")

    deleted = renamed.without_model("blog", "Review")
    assert [m.label for m in deleted.referrers_of(("blog", "Writer"))] == ["blog.Post"]
    assert deleted.referrers_of(("blog", "Post")) == ()
    # The derived indexes do not take part in equality, and match a state built afresh.
    rebuilt = ProjectState.from_models(list(deleted))
    assert rebuilt == deleted
    assert rebuilt.referrers == deleted.referrers
    assert rebuilt.tables == deleted.tables


def test_reverse_index_follows_a_changed_relation() -> None:
    state = blog_state()
    post_model = state.model("blog", "Post")
    repointed = post_model.with_field_replaced(fk("auth.User", "author"))
    new = state.with_model(repointed)
    assert new.referrers_of(("blog", "Author")) == ()
    assert [m.label for m in new.referrers_of(("auth", "User"))] == ["blog.Post"]
    assert ("blog", "Author") not in new.referrers


def test_through_models_count_as_related() -> None:
    readers = FieldState(
        "readers", "bigint", relation=Relation("many_to_many", "auth.User", through="blog.Reading")
    )
    reading = ModelState("blog", "Reading", [ID, fk("blog.Post", "post"), fk("auth.User", "user")])
    state = blog_state().with_new_model(reading)
    book = ModelState("blog", "Book", [ID, readers])
    with_book = state.with_new_model(book)
    assert [m.label for m in with_book.referrers_of(("blog", "Reading"))] == ["blog.Book"]
    with pytest.raises(DanglingRelation, match=r"blog\.Reading"):
        with_book.without_model("blog", "Reading")
    with pytest.raises(DanglingRelation, match=r"blog\.Reading"):
        blog_state().with_new_model(book)


def test_without_model_refuses_while_others_point_at_it() -> None:
    state = blog_state()
    with pytest.raises(DanglingRelation) as caught:
        state.without_model("blog", "Author")
    assert (caught.value.app_label, caught.value.model, caught.value.field) == ("blog", "Post", "author")
    assert "blog.Author" in str(caught.value)
    assert "is being deleted" in str(caught.value)
    with pytest.raises(UnknownModel):
        state.without_model("blog", "Comment")
    smaller = state.without_model("blog", "Post").without_model("blog", "Author")
    assert [m.label for m in smaller] == ["auth.User", "blog.Tag"]
    assert state.has_model("blog", "Author")
    assert "blog_post" not in smaller.tables


def test_a_model_pointing_at_itself_can_be_deleted_and_renamed() -> None:
    tree = ModelState("blog", "Category", [ID, fk("blog.Category", "parent", null=True)])
    state = ProjectState().with_new_model(tree)
    assert not state.without_model("blog", "Category").models
    renamed = state.renamed_model("blog", "Category", "Topic")
    relation = renamed.model("blog", "Topic").field("parent").relation
    assert relation is not None
    assert relation.to == ("blog", "Topic")
    assert renamed.referrers == ProjectState.from_models(list(renamed)).referrers


def test_renamed_model_moves_a_default_table_and_keeps_an_explicit_one() -> None:
    state = blog_state()
    renamed = state.renamed_model("blog", "Post", "Article")
    article = renamed.model("blog", "Article")
    assert article.db_table == "blog_article"
    assert not renamed.has_model("blog", "Post")
    assert renamed.tables["blog_article"] == ("blog", "Article")
    assert "blog_post" not in renamed.tables
    # Names made when the objects were created stay: the database still holds them.
    assert article.field("slug").unique_name == "blog_post_slug_uniq"
    assert article.unique_together[0].name == "blog_post_title_slug_uniq"
    pinned = ProjectState.from_models([ModelState("blog", "Post", [ID], db_table="posts")])
    assert pinned.renamed_model("blog", "Post", "Article").model("blog", "Article").db_table == "posts"


def test_renamed_model_errors() -> None:
    state = blog_state()
    with pytest.raises(ModelAlreadyExists):
        state.renamed_model("blog", "Post", "Author")
    with pytest.raises(UnknownModel):
        state.renamed_model("blog", "Comment", "Remark")


def test_renamed_model_shares_unrelated_models() -> None:
    state = blog_state()
    renamed = state.renamed_model("blog", "Author", "Writer")
    assert renamed.models[("blog", "Tag")] is state.models[("blog", "Tag")]
    assert renamed.models[("auth", "User")] is state.models[("auth", "User")]
    assert renamed.models[("blog", "Post")] is not state.models[("blog", "Post")]


def test_two_models_cannot_share_a_table() -> None:
    state = blog_state()
    clash = ModelState("news", "Item", [ID], db_table="blog_post")
    with pytest.raises(DuplicateObjectName) as caught:
        state.with_new_model(clash)
    assert "blog.Post" in str(caught.value)
    assert "news.Item" in str(caught.value)
    with pytest.raises(DuplicateObjectName):
        ProjectState.from_models([post(), attrs.evolve(author(), db_table="blog_post")])
    moved = state.with_model(attrs.evolve(state.model("blog", "Tag"), db_table="tags"))
    assert moved.tables["tags"] == ("blog", "Tag")
    assert "blog_tag" not in moved.tables
    # The freed name can be used again.
    assert moved.with_new_model(ModelState("news", "Tag", [ID], db_table="blog_tag")).has_model("news", "Tag")


def test_models_must_be_stored_under_their_own_key() -> None:
    with pytest.raises(InvalidValue, match=r"blog\.Post"):
        ProjectState(models={("blog", "Article"): post()})


def test_check_reports_dangling_relations() -> None:
    blog_state().check()
    broken = ProjectState.from_models([post()])
    with pytest.raises(DanglingRelation, match=r"blog\.Author"):
        broken.check()


def test_without_model_unchecked_allows_a_dangling_state() -> None:
    state = blog_state()
    author_model = state.model("blog", "Author")
    left = state.without_model_unchecked(author_model)
    assert not left.has_model("blog", "Author")
    with pytest.raises(DanglingRelation):
        left.check()


def test_extensions_and_collations() -> None:
    state = ProjectState()
    with_ext = state.with_extension("hstore")
    assert "hstore" in with_ext.extensions
    assert "hstore" not in state.extensions
    assert with_ext.without_extension("hstore") == state
    nocase = CollationState("nocase", "und-u-ks-level2", provider="icu", deterministic=False)
    with_collation = state.with_collation(nocase)
    assert with_collation.collations["nocase"] == nocase
    assert with_collation != state
    assert with_collation.without_collation("nocase") == state
    assert with_ext.with_model(author()).extensions == with_ext.extensions


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: the automatic join-table name of a many-to-many field is filled into "
        "Relation.db_table, which takes part in equality, so a renamed model's state differs "
        "from the same models built afresh (see the report of issue 2)"
    ),
)
def test_join_table_names_do_not_break_equality_after_a_rename() -> None:
    tag = ModelState("blog", "Tag", [ID])
    tags = FieldState("tags", "bigint", relation=Relation("many_to_many", "blog.Tag"))
    replayed = ProjectState.from_models([tag, ModelState("blog", "Post", [ID, tags])]).renamed_model(
        "blog", "Post", "Article"
    )
    fresh = ProjectState.from_models([tag, ModelState("blog", "Article", [ID, tags])])
    assert replayed == fresh

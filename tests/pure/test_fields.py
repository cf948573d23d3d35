"""FieldState, defaults and relations (fields.py), and indexes and constraints (constraints.py)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState, UniqueTogether
from reinhardt_migrations.pure.errors import InvalidColumnType, InvalidValue
from reinhardt_migrations.pure.fields import (
    NO_DEFAULT,
    CallableDefault,
    FieldState,
    LiteralDefault,
    NoDefault,
    OnDelete,
    Relation,
    SqlDefault,
    as_default,
    as_model_key,
)
from reinhardt_migrations.pure.types import BigInteger, Integer, Varchar


def fk(target: str = "blog.Author", **kwargs: Any) -> Relation:
    return Relation("foreign_key", target, **kwargs)


# Defaults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NO_DEFAULT),
        (0, LiteralDefault(0)),
        (False, LiteralDefault(False)),
        (1.5, LiteralDefault(1.5)),
        ("", LiteralDefault("")),
        (SqlDefault("CURRENT_TIMESTAMP"), SqlDefault("CURRENT_TIMESTAMP")),
        (CallableDefault("app.defaults.now"), CallableDefault("app.defaults.now")),
    ],
)
def test_as_default_turns_scalars_into_literals(value: Any, expected: Any) -> None:
    assert as_default(value) == expected


def test_literal_defaults_keep_bool_apart_from_int() -> None:
    # 0 == False in Python, but a boolean default is not an integer one.
    assert as_default(False).describe() == "False"
    assert as_default(0).describe() == "0"


@pytest.mark.parametrize("value", [[1], {"a": 1}, (1, 2), object()])
def test_defaults_must_be_json_scalars(value: Any) -> None:
    with pytest.raises(InvalidValue, match="JSON scalar"):
        as_default(value)
    with pytest.raises(InvalidValue, match="JSON scalar"):
        LiteralDefault(value)


def test_defaults_describe_themselves() -> None:
    assert NoDefault().describe() == "no default"
    assert LiteralDefault("draft").describe() == "'draft'"
    assert SqlDefault("CURRENT_TIMESTAMP").describe() == "SQL CURRENT_TIMESTAMP"
    assert CallableDefault("app.defaults.now").describe() == "app.defaults.now()"


@pytest.mark.parametrize("build", [lambda: SqlDefault(""), lambda: CallableDefault("a\x00b")])
def test_default_expressions_must_not_be_empty_or_hold_nul(build: Any) -> None:
    with pytest.raises(InvalidValue, match="non-empty string without NUL"):
        build()


# Relations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("blog.Post", ("blog", "Post")), (("blog", "Post"), ("blog", "Post")), (["a", "B"], ("a", "B"))],
)
def test_as_model_key_reads_labels_and_pairs(value: Any, expected: tuple[str, str]) -> None:
    assert as_model_key(value) == expected


@pytest.mark.parametrize(
    "value", ["Post", "blog.", ".Post", "blog.Post.title", ("blog",), ("blog", ""), (1, 2)]
)
def test_as_model_key_refuses_anything_else(value: Any) -> None:
    with pytest.raises(InvalidValue) as caught:
        as_model_key(value)
    assert repr(value) in str(caught.value)


def test_relation_converts_its_target_and_on_delete() -> None:
    relation = Relation("foreign_key", "blog.Author", on_delete="SET_NULL")
    assert relation.to == ("blog", "Author")
    assert relation.on_delete is OnDelete.SET_NULL
    assert relation.target_label == "blog.Author"
    assert relation.describe() == "foreign key to blog.Author"
    assert Relation("many_to_many", ("blog", "Tag")).describe() == "many to many to blog.Tag"


def test_relation_refuses_an_unknown_on_delete_and_lists_the_choices() -> None:
    with pytest.raises(InvalidValue) as caught:
        Relation("foreign_key", "blog.Author", on_delete="EXPLODE")
    assert "'EXPLODE'" in str(caught.value)
    assert "SET_NULL" in str(caught.value)


def test_relation_refuses_an_unknown_kind() -> None:
    with pytest.raises(InvalidValue, match="'generic' is not a relation kind"):
        Relation("generic", "blog.Author")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["foreign_key", "one_to_one"])
def test_only_many_to_many_relations_have_a_join_table(kind: Any) -> None:
    with pytest.raises(InvalidValue, match="join table"):
        Relation(kind, "blog.Author", through="blog.Authorship")
    with pytest.raises(InvalidValue, match="join table"):
        Relation(kind, "blog.Author", db_table="blog_post_authors")
    through = Relation("many_to_many", "blog.Author", through="blog.Authorship")
    assert through.through == ("blog", "Authorship")


def test_relation_equality_ignores_the_constraint_name() -> None:
    named = fk(constraint_name="blog_post_author_id_fk")
    assert named == fk()
    assert hash(named) == hash(fk())
    assert fk(on_delete="PROTECT") != fk()
    assert fk(to_field="email") != fk()


# FieldState ------------------------------------------------------------------------------


def test_field_type_accepts_sql_strings() -> None:
    assert FieldState("title", "VARCHAR(200)").type == Varchar(200)
    with pytest.raises(InvalidColumnType, match="frobnicate"):
        FieldState("title", "frobnicate")


@pytest.mark.parametrize(
    ("field", "column"),
    [
        (FieldState("title", "text"), "title"),
        (FieldState("title", "text", db_column="headline"), "headline"),
        (FieldState("author", "bigint", relation=fk()), "author_id"),
        (FieldState("author", "bigint", relation=fk(), db_column="writer"), "writer"),
        (FieldState("owner", "bigint", relation=Relation("one_to_one", "auth.User")), "owner_id"),
        (FieldState("tags", "bigint", relation=Relation("many_to_many", "blog.Tag")), None),
    ],
)
def test_column_follows_the_field_kind(field: FieldState, column: str | None) -> None:
    assert field.column == column
    assert field.is_concrete is (column is not None)
    assert field.is_many_to_many is (column is None)


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"name": ""}, "FieldState.name"),
        ({"name": "a\x00b"}, "FieldState.name"),
        ({"name": 3}, "FieldState.name"),
        ({"name": "ok", "db_column": ""}, "FieldState.db_column"),
        ({"name": "ok", "relation": "blog.Author"}, "FieldState.relation"),
    ],
)
def test_field_is_validated_when_built(kwargs: dict[str, Any], what: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        FieldState(type=Integer(), **kwargs)
    assert caught.value.what == what


def test_field_names_may_be_reserved_words_quotes_and_unicode() -> None:
    for name in ("order", 'say "hi"', "`tick`", "naïve", "with space"):
        assert FieldState(name, "integer").column == name


def test_field_equality_ignores_bookkeeping_names() -> None:
    plain = FieldState("slug", "varchar(50)", unique=True, db_index=True)
    named = attrs.evolve(plain, unique_name="u1", index_name="i1", previous_name="old_slug")
    assert named == plain
    assert hash(named) == hash(plain)
    assert attrs.evolve(plain, null=True) != plain


def test_without_object_names_clears_names_and_returns_self_when_none() -> None:
    plain = FieldState("author", "bigint", unique=True, relation=fk())
    assert plain.without_object_names() is plain
    named = attrs.evolve(
        plain, unique_name="u", index_name="i", relation=fk(constraint_name="blog_post_author_id_fk")
    )
    cleared = named.without_object_names()
    assert (cleared.unique_name, cleared.index_name) == (None, None)
    assert cleared.relation is not None
    assert cleared.relation.constraint_name is None
    # The original is untouched.
    assert named.unique_name == "u"
    assert named.relation is not None
    assert named.relation.constraint_name == "blog_post_author_id_fk"


def test_with_name_renames_the_column_unless_db_column_is_set() -> None:
    field = FieldState("email", "text", previous_name="mail")
    renamed = field.with_name("address")
    assert (renamed.name, renamed.column, renamed.previous_name) == ("address", "address", None)
    assert field.name == "email"
    pinned = FieldState("email", "text", db_column="mail_col").with_name("address")
    assert pinned.column == "mail_col"


def test_field_is_frozen() -> None:
    field = FieldState("title", "text")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        field.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (FieldState("title", Varchar(200)), "title varchar(200) NOT NULL"),
        (FieldState("id", "auto", primary_key=True), "id auto NOT NULL PRIMARY KEY"),
        (FieldState("slug", "varchar(50)", null=True, unique=True), "slug varchar(50) NULL UNIQUE"),
        (FieldState("views", BigInteger(), default=0), "views bigint NOT NULL DEFAULT 0"),
        (FieldState("author", "bigint", relation=fk()), "author foreign key to blog.Author NOT NULL"),
    ],
)
def test_field_describe(field: FieldState, expected: str) -> None:
    assert field.describe() == expected


# Indexes and constraints ---------------------------------------------------------------------


def test_index_field_names_strip_the_descending_mark() -> None:
    index = IndexState("post_idx", ["-created", "title"])
    assert index.fields == ("-created", "title")
    assert index.field_names == ("created", "title")
    assert index.definition() == (("-created", "title"), False, None)


@pytest.mark.parametrize("fields", ["title", [], ["a", "a"], ["a", "-a"], [""], ["-"], [3]])
def test_index_field_lists_are_checked(fields: Any) -> None:
    with pytest.raises(InvalidValue) as caught:
        IndexState("idx", fields)
    assert caught.value.what == "field list"


def test_index_rename_and_field_rename_return_new_values() -> None:
    index = IndexState("old_idx", ["-created", "title"], unique=True, condition="title IS NOT NULL")
    renamed = index.renamed("new_idx")
    assert renamed.name == "new_idx"
    assert renamed.definition() == index.definition()
    moved = index.with_field_renamed("created", "published")
    assert moved.fields == ("-published", "title")
    assert index.fields == ("-created", "title")
    assert index.with_field_renamed("missing", "x") == index


def test_index_describe() -> None:
    assert IndexState("t_idx", ["title"]).describe() == "index t_idx on (title)"
    partial = IndexState("u_idx", ["-a", "b"], unique=True, condition="a > 0")
    assert partial.describe() == "unique index u_idx on (-a, b) where a > 0"


def test_unique_constraint() -> None:
    constraint = ConstraintState.unique_on("uniq_slug", ["slug", "site"])
    assert constraint == ConstraintState("unique", "uniq_slug", ("slug", "site"))
    assert constraint.definition() == ("unique", ("slug", "site"), None)
    assert constraint.describe() == "unique constraint uniq_slug on (slug, site)"
    renamed = constraint.with_field_renamed("slug", "handle")
    assert renamed.fields == ("handle", "site")
    assert constraint.fields == ("slug", "site")


def test_check_constraint() -> None:
    constraint = ConstraintState.check_that("price_positive", "price > 0")
    assert constraint.definition() == ("check", (), "price > 0")
    assert constraint.describe() == "check constraint price_positive (price > 0)"
    # Check SQL is the user's text: a field rename does not rewrite it.
    assert constraint.with_field_renamed("price", "cost") == constraint


@pytest.mark.parametrize(
    "build",
    [
        lambda: ConstraintState("unique", "u", ()),
        lambda: ConstraintState("unique", "u", ("a",), check="a > 0"),
        lambda: ConstraintState("check", "c", ("a",), check="a > 0"),
        lambda: ConstraintState("check", "c"),
        lambda: ConstraintState("exclude", "x", ("a",)),  # type: ignore[arg-type]
        lambda: ConstraintState("unique", "", ("a",)),
    ],
)
def test_constraints_are_validated_when_built(build: Any) -> None:
    with pytest.raises(InvalidValue):
        build()


def test_unique_together_name_is_bookkeeping() -> None:
    entry = UniqueTogether(("a", "b"), name="t_a_b_uniq")
    assert entry == UniqueTogether(("a", "b"))
    assert hash(entry) == hash(UniqueTogether(("a", "b")))
    renamed = entry.with_field_renamed("a", "c")
    assert renamed.fields == ("c", "b")
    assert renamed.name == "t_a_b_uniq"
    with pytest.raises(InvalidValue):
        UniqueTogether(("a", "a"))

"""Every built-in operation: its state change, description, name fragment, footprint and errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs
import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import (
    DanglingRelation,
    DuplicateObjectName,
    FieldAlreadyExists,
    InvalidColumnType,
    InvalidOperation,
    InvalidValue,
    MigrationError,
    ModelAlreadyExists,
    UnknownConstraint,
    UnknownField,
    UnknownIndex,
    UnknownModel,
)
from reinhardt_migrations.pure.fields import NO_DEFAULT, FieldState, LiteralDefault, Relation
from reinhardt_migrations.pure.operations import (
    BUILTIN_OPERATIONS,
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    BaseOperation,
    ColumnDefinition,
    CreateCollation,
    CreateExtension,
    CreateModel,
    CreateTable,
    DeleteModel,
    DropExtension,
    Footprint,
    Operation,
    RemoveCollation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.state import CollationState, ProjectState
from reinhardt_migrations.pure.types import AutoField, Integer, Text, Varchar

ID = FieldState("id", "auto", primary_key=True)
AUTHOR = ("blog", "Author")
POST = ("blog", "Post")


def fk(target: str, name: str, **kwargs: object) -> FieldState:
    return FieldState(name, "bigint", relation=Relation("foreign_key", target), **kwargs)  # type: ignore[arg-type]


def blog() -> ProjectState:
    """Return a small project: authors, posts pointing at them, tags; built afresh each call."""
    state = ProjectState().with_extension("citext")
    state = state.with_collation(CollationState("nocase", "und-u-ks-level2", provider="icu"))
    for operation in (
        CreateModel("blog", "Author", [ID, FieldState("email", "varchar(100)", unique=True)]),
        CreateModel(
            "blog",
            "Post",
            [
                ID,
                FieldState("title", "varchar(200)"),
                FieldState("slug", "varchar(50)", unique=True),
                FieldState("body", "text", null=True),
                fk("blog.Author", "author"),
            ],
            indexes=[IndexState("post_title_idx", ["title"])],
            constraints=[ConstraintState.unique_on("post_slug_author", ["slug", "author"])],
        ),
        CreateModel("blog", "Tag", [ID, FieldState("name", "text")]),
    ):
        state = operation.state_forwards(state)
    return state


# One example of every built-in operation that applies to blog(). The generic tests below
# run each of them; the specific tests after check what each one does.
EXAMPLES: dict[str, Callable[[], Operation]] = {
    "CreateModel": lambda: CreateModel("blog", "Comment", [ID, fk("blog.Post", "post")]),
    "DeleteModel": lambda: DeleteModel("blog", "Tag"),
    "RenameModel": lambda: RenameModel("blog", "Post", "Article"),
    "AlterModelTable": lambda: AlterModelTable("blog", "Post", "posts"),
    "AlterModelOptions": lambda: AlterModelOptions(
        "blog", "Post", comment="Articles", options={"engine": "InnoDB"}
    ),
    "AlterUniqueTogether": lambda: AlterUniqueTogether("blog", "Post", [("title", "slug")]),
    "CreateTable": lambda: CreateTable(
        "users", [ColumnDefinition("id", "INTEGER PRIMARY KEY AUTOINCREMENT")]
    ),
    "AddField": lambda: AddField("blog", "Post", FieldState("views", "integer", default=0)),
    "RemoveField": lambda: RemoveField("blog", "Post", "body"),
    "AlterField": lambda: AlterField("blog", "Post", "title", FieldState("title", "varchar(300)")),
    "RenameField": lambda: RenameField("blog", "Post", "body", "content"),
    "AddIndex": lambda: AddIndex("blog", "Post", IndexState("post_slug_idx", ["slug"])),
    "RemoveIndex": lambda: RemoveIndex("blog", "Post", "post_title_idx"),
    "RenameIndex": lambda: RenameIndex("blog", "Post", "post_title_idx", "post_headline_idx"),
    "AddConstraint": lambda: AddConstraint(
        "blog", "Post", ConstraintState.check_that("has_title", "title <> ''")
    ),
    "RemoveConstraint": lambda: RemoveConstraint("blog", "Post", "post_slug_author"),
    "RunSQL": lambda: RunSQL("UPDATE blog_post SET title = upper(title)", reverse_sql="SELECT 1"),
    "RunCode": lambda: RunCode("blog.migrations.fill_slugs", reverse_code="blog.migrations.noop"),
    "SeparateDatabaseAndState": lambda: SeparateDatabaseAndState(
        database_operations=[RunSQL("ALTER TABLE blog_tag RENAME TO tags", reverse_sql="SELECT 1")],
        state_operations=[AlterModelTable("blog", "Tag", "tags")],
    ),
    "CreateExtension": lambda: CreateExtension("hstore"),
    "DropExtension": lambda: DropExtension("citext"),
    "CreateCollation": lambda: CreateCollation("german", "de-DE", provider="icu"),
    "RemoveCollation": lambda: RemoveCollation("nocase", "und-u-ks-level2", provider="icu"),
}

KINDS = sorted(BUILTIN_OPERATIONS)


def test_every_builtin_operation_has_an_example() -> None:
    assert sorted(EXAMPLES) == KINDS


def test_builtin_operations_are_registered_under_their_kind() -> None:
    for kind, cls in BUILTIN_OPERATIONS.items():
        assert cls.kind == kind
        assert attrs.has(cls)


@pytest.mark.parametrize("kind", KINDS)
def test_operation_returns_a_new_state_and_leaves_the_old_one(kind: str) -> None:
    operation = EXAMPLES[kind]()
    assert isinstance(operation, Operation)
    assert isinstance(operation, BUILTIN_OPERATIONS[kind])
    before = blog()
    after = operation.state_forwards(before)
    assert before == blog()
    assert before.referrers == blog().referrers
    assert before.tables == blog().tables
    if kind != "RunCode" and kind != "RunSQL":
        assert after != before
    # The result is a valid state, and its derived indexes match a state built afresh.
    after.check()
    rebuilt = ProjectState(models=after.models, extensions=after.extensions, collations=after.collations)
    assert rebuilt == after
    assert rebuilt.referrers == after.referrers
    assert rebuilt.tables == after.tables


@pytest.mark.parametrize("kind", KINDS)
def test_operation_is_deterministic_and_hashable(kind: str) -> None:
    first, second = EXAMPLES[kind](), EXAMPLES[kind]()
    assert first == second
    assert hash(first) == hash(second)
    assert first.state_forwards(blog()) == second.state_forwards(blog())


@pytest.mark.parametrize("kind", KINDS)
def test_describe_and_name_fragment(kind: str) -> None:
    operation = EXAMPLES[kind]()
    description = operation.describe()
    assert description
    assert "\n" not in description
    fragment = operation.migration_name_fragment
    assert re.fullmatch(r"[a-z0-9_]+", fragment), fragment


@pytest.mark.parametrize("kind", KINDS)
def test_operation_is_frozen(kind: str) -> None:
    operation = EXAMPLES[kind]()
    name = attrs.fields(BUILTIN_OPERATIONS[kind])[0].name  # type: ignore[arg-type]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(operation, name, getattr(operation, name))


@pytest.mark.parametrize(
    ("kind", "description", "fragment"),
    [
        ("CreateModel", "Create model blog.Comment", "comment"),
        ("DeleteModel", "Delete model blog.Tag", "delete_tag"),
        ("RenameModel", "Rename model blog.Post to Article", "rename_post_article"),
        ("AlterModelTable", "Rename table of blog.Post to posts", "alter_post_table"),
        ("AlterModelOptions", "Change options of blog.Post", "alter_post_options"),
        (
            "AlterUniqueTogether",
            "Alter unique_together for blog.Post (1 constraint(s))",
            "alter_post_unique_together",
        ),
        ("CreateTable", "Create table users", "users"),
        ("AddField", "Add field views to blog.Post", "post_views"),
        ("RemoveField", "Remove field body from blog.Post", "remove_post_body"),
        ("AlterField", "Alter field title on blog.Post", "alter_post_title"),
        ("RenameField", "Rename field body on blog.Post to content", "rename_post_body_post_content"),
        ("AddIndex", "Create index post_slug_idx on field(s) slug of blog.Post", "post_slug_idx"),
        ("RemoveIndex", "Remove index post_title_idx from blog.Post", "remove_post_post_title_idx"),
        (
            "RenameIndex",
            "Rename index post_title_idx on blog.Post to post_headline_idx",
            "rename_post_title_idx_post_headline_idx",
        ),
        ("AddConstraint", "Create constraint has_title on model blog.Post", "post_has_title"),
        (
            "RemoveConstraint",
            "Remove constraint post_slug_author from model blog.Post",
            "remove_post_post_slug_author",
        ),
        ("RunSQL", "Raw SQL operation: UPDATE blog_post SET title = upper(title)", "run_sql"),
        ("RunCode", "Run code blog.migrations.fill_slugs", "run_code"),
        (
            "SeparateDatabaseAndState",
            "Custom state/database change: 1 database and 1 state operation(s)",
            "separate_database_and_state",
        ),
        ("CreateExtension", "Create extension hstore", "create_extension_hstore"),
        ("DropExtension", "Drop extension citext", "drop_extension_citext"),
        ("CreateCollation", "Create collation german", "create_collation_german"),
        ("RemoveCollation", "Remove collation nocase", "remove_collation_nocase"),
    ],
)
def test_descriptions_name_what_changes(kind: str, description: str, fragment: str) -> None:
    operation = EXAMPLES[kind]()
    assert operation.describe() == description
    assert operation.migration_name_fragment == fragment


# Reversibility, data loss and footprints ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_examples_are_reversible(kind: str) -> None:
    assert EXAMPLES[kind]().reversible


@pytest.mark.parametrize(
    "operation",
    [
        RunSQL("DELETE FROM blog_post"),
        RunCode("blog.migrations.fill_slugs"),
        SeparateDatabaseAndState(database_operations=[RunSQL("DELETE FROM blog_post")]),
    ],
    ids=["RunSQL", "RunCode", "SeparateDatabaseAndState"],
)
def test_operations_without_a_reverse_are_irreversible(operation: Operation) -> None:
    assert not operation.reversible


def test_only_deleting_operations_destroy_data() -> None:
    destroying = sorted(kind for kind, cls in BUILTIN_OPERATIONS.items() if cls.destroys_data)
    assert destroying == ["DeleteModel", "RemoveField"]


@pytest.mark.parametrize(
    ("kind", "models", "fields"),
    [
        ("CreateModel", {("blog", "Comment"), POST}, set()),
        ("DeleteModel", {("blog", "Tag")}, set()),
        ("AlterModelOptions", {POST}, set()),
        ("AlterUniqueTogether", {POST}, set()),
        ("CreateTable", {("tables", "users")}, set()),
        ("AddField", {POST}, {("blog", "Post", "views")}),
        ("RemoveField", {POST}, {("blog", "Post", "body")}),
        ("AlterField", {POST}, {("blog", "Post", "title")}),
        ("AddIndex", {POST}, set()),
        ("RemoveIndex", {POST}, set()),
        ("RenameIndex", {POST}, set()),
        ("AddConstraint", {POST}, set()),
        ("RemoveConstraint", {POST}, set()),
    ],
)
def test_footprint_names_the_models_and_fields_touched(
    kind: str, models: set[tuple[str, str]], fields: set[tuple[str, str, str]]
) -> None:
    footprint = EXAMPLES[kind]().footprint()
    assert footprint == Footprint(models=frozenset(models), fields=frozenset(fields))
    assert not footprint.everything


@pytest.mark.parametrize(
    "kind", ["RenameModel", "AlterModelTable", "RenameField", "RunSQL", "RunCode", "SeparateDatabaseAndState"]
)
def test_operations_that_may_touch_other_models_are_barriers(kind: str) -> None:
    footprint = EXAMPLES[kind]().footprint()
    assert footprint.everything
    unrelated = EXAMPLES["CreateTable"]().footprint()
    assert footprint.overlaps(unrelated)
    assert unrelated.overlaps(footprint)


def test_relation_targets_are_in_the_footprint() -> None:
    add = AddField("blog", "Tag", fk("blog.Author", "owner", null=True))
    assert add.footprint().models == frozenset({("blog", "Tag"), AUTHOR})
    m2m = FieldState(
        "readers", "bigint", relation=Relation("many_to_many", "auth.User", through="blog.Reading")
    )
    create = CreateModel("blog", "Book", [ID, m2m])
    assert create.footprint().models == frozenset({("blog", "Book"), ("auth", "User"), ("blog", "Reading")})
    added = AddField("blog", "Tag", m2m).footprint()
    assert added.models == frozenset({("blog", "Tag"), ("auth", "User"), ("blog", "Reading")})
    assert added.fields == frozenset({("blog", "Tag", "readers")})


def test_footprints_of_unrelated_models_do_not_overlap() -> None:
    on_post = EXAMPLES["AddIndex"]().footprint()
    on_tag = AddField("blog", "Tag", FieldState("slug", "text", null=True)).footprint()
    on_author = AddField("blog", "Author", FieldState("bio", "text", null=True)).footprint()
    assert not on_tag.overlaps(on_post)
    # A foreign key to Author makes a change to Post overlap with changes to Author.
    assert EXAMPLES["CreateModel"]().footprint().overlaps(on_post)
    assert not on_author.overlaps(on_tag)
    assert AddField("blog", "Tag", fk("blog.Author", "owner", null=True)).footprint().overlaps(on_author)


def test_project_wide_operations_share_one_marker() -> None:
    extension = CreateExtension("hstore").footprint()
    assert extension == DropExtension("hstore").footprint() == RemoveCollation("x", "y").footprint()
    assert extension.overlaps(CreateCollation("x", "y").footprint())
    assert not extension.overlaps(EXAMPLES["AddIndex"]().footprint())


def test_base_operation_defaults() -> None:
    @attrs.frozen
    class Touch(BaseOperation):
        kind = "Touch"

        def state_forwards(self, state: ProjectState) -> ProjectState:
            return state

        def describe(self) -> str:
            return "touch"

    touch = Touch()
    assert isinstance(touch, Operation)
    assert touch.reversible
    assert touch.migration_name_fragment == "touch"
    assert touch.footprint().everything
    assert touch.reduce(touch) is None


# Models ---------------------------------------------------------------------------------------


def test_create_model_builds_the_model_with_names() -> None:
    state = EXAMPLES["CreateModel"]().state_forwards(blog())
    comment = state.model("blog", "Comment")
    assert comment.field_names() == ("id", "post")
    relation = comment.field("post").relation
    assert relation is not None
    assert relation.constraint_name == "blog_comment_post_id_fk"
    assert [m.label for m in state.referrers_of(POST)] == ["blog.Comment"]


def test_create_model_ignores_names_made_for_another_state() -> None:
    stale = attrs.evolve(FieldState("code", "text", unique=True), unique_name="somewhere_else_uniq")
    state = CreateModel("blog", "Coupon", [ID, stale]).state_forwards(blog())
    assert state.model("blog", "Coupon").field("code").unique_name == "blog_coupon_code_uniq"


def test_create_model_from_model_round_trips() -> None:
    post = blog().model("blog", "Post")
    operation = CreateModel.from_model(post)
    assert operation.db_table is None
    assert operation.model_state() == post
    pinned = attrs.evolve(blog().model("blog", "Tag"), db_table="tags")
    assert CreateModel.from_model(pinned).db_table == "tags"
    assert CreateModel.from_model(pinned).model_state() == pinned


def test_create_model_errors_name_the_model() -> None:
    with pytest.raises(ModelAlreadyExists) as exists:
        CreateModel("blog", "Post", [ID]).state_forwards(blog())
    assert (exists.value.app_label, exists.value.model) == POST
    assert "blog.Post" in str(exists.value)
    with pytest.raises(DanglingRelation) as dangling:
        CreateModel("shop", "Order", [ID, fk("shop.Customer", "customer")]).state_forwards(blog())
    assert (dangling.value.app_label, dangling.value.model, dangling.value.field) == (
        "shop",
        "Order",
        "customer",
    )
    assert "shop.Order.customer" in str(dangling.value)
    assert "shop.Customer" in str(dangling.value)
    with pytest.raises(DuplicateObjectName) as clash:
        CreateModel("news", "Post", [ID], db_table="blog_post").state_forwards(blog())
    assert "news.Post" in str(clash.value)
    assert "blog.Post" in str(clash.value)


def test_delete_model() -> None:
    state = blog()
    smaller = DeleteModel("blog", "Tag").state_forwards(state)
    assert not smaller.has_model("blog", "Tag")
    assert smaller.models[POST] is state.models[POST]
    with pytest.raises(UnknownModel) as missing:
        DeleteModel("blog", "Comment").state_forwards(state)
    assert "blog.Comment" in str(missing.value)
    with pytest.raises(DanglingRelation) as pointed:
        DeleteModel("blog", "Author").state_forwards(state)
    error = pointed.value
    assert (error.app_label, error.model, error.field) == ("blog", "Post", "author")
    assert "blog.Post.author" in str(error)
    assert "blog.Author" in str(error)


def test_rename_model_repoints_relations_and_keeps_object_names() -> None:
    state = RenameModel("blog", "Author", "Writer").state_forwards(blog())
    writer = state.model("blog", "Writer")
    assert writer.db_table == "blog_writer"
    assert writer.field("email").unique_name == "blog_author_email_uniq"
    relation = state.model("blog", "Post").field("author").relation
    assert relation is not None
    assert relation.to == ("blog", "Writer")
    assert relation.constraint_name == "blog_post_author_id_fk"
    with pytest.raises(ModelAlreadyExists, match=r"blog\.Tag"):
        RenameModel("blog", "Author", "Tag").state_forwards(blog())
    with pytest.raises(UnknownModel, match=r"blog\.Ghost"):
        RenameModel("blog", "Ghost", "Spirit").state_forwards(blog())


def test_alter_model_table() -> None:
    state = AlterModelTable("blog", "Post", "posts").state_forwards(blog())
    post = state.model("blog", "Post")
    assert post.db_table == "posts"
    assert state.tables["posts"] == POST
    assert "blog_post" not in state.tables
    # Objects keep the names the database holds.
    assert post.field("slug").unique_name == "blog_post_slug_uniq"
    with pytest.raises(DuplicateObjectName, match="blog_tag"):
        AlterModelTable("blog", "Post", "blog_tag").state_forwards(blog())
    with pytest.raises(UnknownModel):
        AlterModelTable("blog", "Ghost", "ghosts").state_forwards(blog())


def test_alter_model_options_replaces_them() -> None:
    state = EXAMPLES["AlterModelOptions"]().state_forwards(blog())
    post = state.model("blog", "Post")
    assert (post.comment, post.managed, dict(post.options)) == ("Articles", True, {"engine": "InnoDB"})
    unmanaged = AlterModelOptions("blog", "Post", managed=False).state_forwards(state)
    assert unmanaged.model("blog", "Post").comment is None
    assert not unmanaged.model("blog", "Post").managed


def test_alter_unique_together() -> None:
    state = EXAMPLES["AlterUniqueTogether"]().state_forwards(blog())
    entries = state.model("blog", "Post").unique_together
    assert [(e.fields, e.name) for e in entries] == [(("title", "slug"), "blog_post_title_slug_uniq")]
    cleared = AlterUniqueTogether("blog", "Post", []).state_forwards(state)
    assert cleared.model("blog", "Post").unique_together == ()
    with pytest.raises(UnknownField) as missing:
        AlterUniqueTogether("blog", "Post", [("title", "subtitle")]).state_forwards(blog())
    assert (missing.value.model, missing.value.field) == ("Post", "subtitle")


def test_create_table_reads_column_definitions() -> None:
    operation = CreateTable(
        "users",
        [
            ColumnDefinition("id", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            ColumnDefinition("name", "VARCHAR(80) NOT NULL"),
            ColumnDefinition("nickname", "TEXT"),
            ColumnDefinition("status", "VARCHAR(20) NOT NULL DEFAULT 'Draft  copy'"),
            ColumnDefinition("score", "REAL DEFAULT 1.5 NOT NULL"),
            ColumnDefinition("email", "TEXT UNIQUE NOT NULL"),
            ColumnDefinition("motto", "TEXT DEFAULT 'it''s fine' NOT NULL"),
        ],
    )
    users = operation.state_forwards(ProjectState()).model("tables", "users")
    assert users.db_table == "users"
    assert users.field("id") == FieldState("id", AutoField(), primary_key=True)
    assert users.field("name") == FieldState("name", Varchar(80))
    assert users.field("nickname") == FieldState("nickname", Text(), null=True)
    assert users.field("status").default == LiteralDefault("Draft  copy")
    assert not users.field("status").null
    assert users.field("score").default == LiteralDefault(1.5)
    assert not users.field("score").null
    assert users.field("email").unique
    assert users.field("motto").default == LiteralDefault("it's fine")
    assert not users.field("motto").null
    assert operation.as_create_model().app_label == "tables"


@pytest.mark.parametrize(
    ("definition", "error"),
    [
        ("FROBNICATE", InvalidColumnType),
        ("TEXT DEFAULT now()", InvalidValue),
        ("TEXT DEFAULT 'open", InvalidValue),
    ],
)
def test_create_table_refuses_what_it_cannot_read(definition: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        CreateTable("t", [ColumnDefinition("c", definition)]).state_forwards(ProjectState())


# Fields ---------------------------------------------------------------------------------------


def test_add_field_appends_and_names_it() -> None:
    state = AddField(
        "blog", "Post", FieldState("code", "varchar(10)", unique=True, null=True)
    ).state_forwards(blog())
    post = state.model("blog", "Post")
    assert post.field_names()[-1] == "code"
    assert post.field("code").unique_name == "blog_post_code_uniq"


def test_add_field_with_a_one_off_default_keeps_no_default() -> None:
    operation = AddField("blog", "Post", FieldState("views", "integer", default=0), preserve_default=False)
    assert operation.state_forwards(blog()).model("blog", "Post").field("views").default == NO_DEFAULT
    kept = EXAMPLES["AddField"]().state_forwards(blog())
    assert kept.model("blog", "Post").field("views").default == LiteralDefault(0)


def test_add_field_relation_updates_the_reverse_index() -> None:
    state = AddField("blog", "Tag", fk("blog.Author", "owner", null=True)).state_forwards(blog())
    assert [m.label for m in state.referrers_of(AUTHOR)] == ["blog.Post", "blog.Tag"]


def test_add_field_errors_name_app_model_and_field() -> None:
    with pytest.raises(FieldAlreadyExists) as twice:
        AddField("blog", "Post", FieldState("title", "text")).state_forwards(blog())
    assert (twice.value.app_label, twice.value.model, twice.value.field) == ("blog", "Post", "title")
    assert "blog.Post" in str(twice.value)
    assert "'title'" in str(twice.value)
    with pytest.raises(UnknownModel) as no_model:
        AddField("blog", "Comment", FieldState("text", "text")).state_forwards(blog())
    assert "blog.Comment" in str(no_model.value)
    with pytest.raises(DanglingRelation) as dangling:
        AddField("blog", "Post", fk("blog.Editor", "editor", null=True)).state_forwards(blog())
    assert (dangling.value.app_label, dangling.value.model, dangling.value.field) == (
        "blog",
        "Post",
        "editor",
    )
    assert "blog.Post.editor" in str(dangling.value)
    assert "blog.Editor" in str(dangling.value)


def test_remove_field() -> None:
    state = blog()
    smaller = RemoveField("blog", "Post", "body").state_forwards(state)
    assert "body" not in smaller.model("blog", "Post").field_names()
    assert smaller.models[AUTHOR] is state.models[AUTHOR]
    with pytest.raises(UnknownField) as missing:
        RemoveField("blog", "Post", "summary").state_forwards(state)
    assert (missing.value.app_label, missing.value.model, missing.value.field) == ("blog", "Post", "summary")
    assert "blog.Post" in str(missing.value)
    assert "'summary'" in str(missing.value)


@pytest.mark.parametrize(("field", "user"), [("title", "post_title_idx"), ("slug", "post_slug_author")])
def test_remove_field_refuses_an_indexed_or_constrained_field(field: str, user: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        RemoveField("blog", "Post", field).state_forwards(blog())
    message = str(caught.value)
    assert f"blog.Post.{field}" in message
    assert user in message


def test_remove_field_refuses_a_field_in_unique_together() -> None:
    state = AlterUniqueTogether("blog", "Post", [("title", "body")]).state_forwards(blog())
    with pytest.raises(InvalidValue, match=r"blog\.Post\.body"):
        RemoveField("blog", "Post", "body").state_forwards(state)


def test_remove_field_refuses_a_field_another_relation_targets() -> None:
    by_email = FieldState(
        "writer", "varchar(100)", relation=Relation("foreign_key", "blog.Author", to_field="email")
    )
    state = AddField("blog", "Tag", attrs.evolve(by_email, null=True)).state_forwards(blog())
    with pytest.raises(DanglingRelation) as caught:
        RemoveField("blog", "Author", "email").state_forwards(state)
    assert (caught.value.app_label, caught.value.model, caught.value.field) == ("blog", "Tag", "writer")
    assert "blog.Author.email" in str(caught.value)


def test_remove_a_relation_updates_the_reverse_index() -> None:
    state = blog()
    state = RemoveConstraint("blog", "Post", "post_slug_author").state_forwards(state)
    state = RemoveField("blog", "Post", "author").state_forwards(state)
    assert state.referrers_of(AUTHOR) == ()
    assert not DeleteModel("blog", "Author").state_forwards(state).has_model("blog", "Author")


def test_alter_field_keeps_the_position_and_the_object_names() -> None:
    state = AlterField("blog", "Post", "slug", FieldState("slug", "varchar(80)", unique=True)).state_forwards(
        blog()
    )
    post = state.model("blog", "Post")
    assert post.field_names() == ("id", "title", "slug", "body", "author")
    assert post.field("slug").type == Varchar(80)
    assert post.field("slug").unique_name == "blog_post_slug_uniq"


def test_alter_field_names_a_new_object_from_the_current_table() -> None:
    state = AlterModelTable("blog", "Post", "posts").state_forwards(blog())
    state = AlterField(
        "blog", "Post", "title", FieldState("title", "varchar(200)", db_index=True)
    ).state_forwards(state)
    assert state.model("blog", "Post").field("title").index_name == "posts_title_idx"
    state = AlterField("blog", "Post", "slug", FieldState("slug", "varchar(50)")).state_forwards(state)
    state = AlterField("blog", "Post", "slug", FieldState("slug", "varchar(50)", unique=True)).state_forwards(
        state
    )
    assert state.model("blog", "Post").field("slug").unique_name == "posts_slug_uniq"


def test_alter_field_keeps_an_index_name_while_the_index_stays() -> None:
    state = AlterField(
        "blog", "Post", "title", FieldState("title", "varchar(200)", db_index=True)
    ).state_forwards(blog())
    state = AlterModelTable("blog", "Post", "posts").state_forwards(state)
    state = AlterField("blog", "Post", "title", FieldState("title", "text", db_index=True)).state_forwards(
        state
    )
    assert state.model("blog", "Post").field("title").index_name == "blog_post_title_idx"


def test_alter_field_keeps_the_foreign_key_name_while_the_target_stays() -> None:
    altered = AlterField("blog", "Post", "author", fk("blog.Author", "author", null=True)).state_forwards(
        blog()
    )
    relation = altered.model("blog", "Post").field("author").relation
    assert relation is not None
    assert relation.constraint_name == "blog_post_author_id_fk"


def test_alter_field_with_a_one_off_default() -> None:
    operation = AlterField(
        "blog", "Post", "body", FieldState("body", "text", default=""), preserve_default=False
    )
    assert operation.state_forwards(blog()).model("blog", "Post").field("body").default == NO_DEFAULT


def test_alter_field_repoints_a_relation() -> None:
    state = blog()
    altered = AlterField("blog", "Post", "author", fk("blog.Tag", "author")).state_forwards(state)
    assert altered.referrers_of(AUTHOR) == ()
    assert [m.label for m in altered.referrers_of(("blog", "Tag"))] == ["blog.Post"]
    with pytest.raises(DanglingRelation) as dangling:
        AlterField("blog", "Post", "author", fk("blog.Editor", "author")).state_forwards(state)
    assert "blog.Post.author" in str(dangling.value)
    assert "blog.Editor" in str(dangling.value)


def test_alter_field_errors() -> None:
    with pytest.raises(InvalidValue) as renamed:
        AlterField("blog", "Post", "title", FieldState("headline", "text"))
    assert "blog.Post.title" in str(renamed.value)
    assert "RenameField" in str(renamed.value)
    with pytest.raises(UnknownField) as missing:
        AlterField("blog", "Post", "summary", FieldState("summary", "text")).state_forwards(blog())
    assert (missing.value.app_label, missing.value.model, missing.value.field) == ("blog", "Post", "summary")
    m2m = FieldState("title", "bigint", relation=Relation("many_to_many", "blog.Tag"))
    with pytest.raises(InvalidValue) as kind:
        AlterField("blog", "Post", "title", m2m).state_forwards(blog())
    assert "blog.Post.title" in str(kind.value)
    assert "many-to-many" in str(kind.value)


def test_rename_field_follows_into_indexes_constraints_and_relations() -> None:
    state = blog()
    state = AddField(
        "blog",
        "Tag",
        FieldState(
            "writer",
            "varchar(100)",
            null=True,
            relation=Relation("foreign_key", "blog.Author", to_field="email"),
        ),
    ).state_forwards(state)
    renamed = RenameField("blog", "Author", "email", "address").state_forwards(state)
    author = renamed.model("blog", "Author")
    assert author.field_names() == ("id", "address")
    # The unique constraint keeps the name the database holds.
    assert author.field("address").unique_name == "blog_author_email_uniq"
    writer = renamed.model("blog", "Tag").field("writer").relation
    assert writer is not None
    assert writer.to_field == "address"
    # Post does not point at the renamed field: it is shared.
    assert renamed.models[POST] is state.models[POST]

    moved = RenameField("blog", "Post", "title", "headline").state_forwards(blog())
    assert moved.model("blog", "Post").index("post_title_idx").fields == ("headline",)
    moved = RenameField("blog", "Post", "slug", "handle").state_forwards(blog())
    assert moved.model("blog", "Post").constraint("post_slug_author").fields == ("handle", "author")


def test_rename_field_errors() -> None:
    with pytest.raises(UnknownField) as missing:
        RenameField("blog", "Post", "summary", "abstract").state_forwards(blog())
    assert (missing.value.app_label, missing.value.model, missing.value.field) == ("blog", "Post", "summary")
    with pytest.raises(FieldAlreadyExists) as taken:
        RenameField("blog", "Post", "body", "title").state_forwards(blog())
    assert (taken.value.model, taken.value.field) == ("Post", "title")
    assert "blog.Post" in str(taken.value)
    with pytest.raises(UnknownModel):
        RenameField("blog", "Ghost", "a", "b").state_forwards(blog())


# Indexes and constraints ---------------------------------------------------------------------


def test_index_operations() -> None:
    state = EXAMPLES["AddIndex"]().state_forwards(blog())
    assert [i.name for i in state.model("blog", "Post").indexes] == ["post_title_idx", "post_slug_idx"]
    removed = EXAMPLES["RemoveIndex"]().state_forwards(blog())
    assert removed.model("blog", "Post").indexes == ()
    renamed = EXAMPLES["RenameIndex"]().state_forwards(blog())
    assert renamed.model("blog", "Post").indexes == (IndexState("post_headline_idx", ["title"]),)
    same = RenameIndex("blog", "Post", "post_title_idx", "post_title_idx").state_forwards(blog())
    assert same == blog()


def test_index_operation_errors() -> None:
    with pytest.raises(DuplicateObjectName) as twice:
        AddIndex("blog", "Post", IndexState("post_title_idx", ["slug"])).state_forwards(blog())
    assert (twice.value.model, twice.value.name) == ("Post", "post_title_idx")
    assert "blog.Post" in str(twice.value)
    with pytest.raises(DuplicateObjectName):
        AddIndex("blog", "Post", IndexState("post_slug_author", ["slug"])).state_forwards(blog())
    with pytest.raises(UnknownField) as no_field:
        AddIndex("blog", "Post", IndexState("post_summary_idx", ["summary"])).state_forwards(blog())
    assert (no_field.value.model, no_field.value.field) == ("Post", "summary")
    with pytest.raises(UnknownIndex) as missing:
        RemoveIndex("blog", "Post", "nope_idx").state_forwards(blog())
    assert "blog.Post" in str(missing.value)
    assert "'nope_idx'" in str(missing.value)
    with pytest.raises(UnknownIndex):
        RenameIndex("blog", "Post", "nope_idx", "other_idx").state_forwards(blog())
    with pytest.raises(DuplicateObjectName):
        RenameIndex("blog", "Post", "post_title_idx", "post_slug_author").state_forwards(blog())


def test_constraint_operations() -> None:
    state = EXAMPLES["AddConstraint"]().state_forwards(blog())
    assert state.model("blog", "Post").constraint("has_title").check == "title <> ''"
    removed = EXAMPLES["RemoveConstraint"]().state_forwards(blog())
    assert removed.model("blog", "Post").constraints == ()
    with pytest.raises(DuplicateObjectName) as twice:
        AddConstraint("blog", "Post", ConstraintState.unique_on("post_title_idx", ["slug"])).state_forwards(
            blog()
        )
    assert "blog.Post" in str(twice.value)
    with pytest.raises(UnknownField):
        AddConstraint("blog", "Post", ConstraintState.unique_on("u", ["summary"])).state_forwards(blog())
    with pytest.raises(UnknownConstraint) as missing:
        RemoveConstraint("blog", "Post", "nope").state_forwards(blog())
    assert (missing.value.model, missing.value.constraint) == ("Post", "nope")
    assert "blog.Post" in str(missing.value)


# SQL, code, separation ------------------------------------------------------------------------


def test_run_sql_changes_the_state_only_through_declared_operations() -> None:
    state = blog()
    assert EXAMPLES["RunSQL"]().state_forwards(state) is state
    declared = RunSQL(
        ["ALTER TABLE blog_tag ADD COLUMN color text", "SELECT 1"],
        reverse_sql=["ALTER TABLE blog_tag DROP COLUMN color"],
        state_operations=[AddField("blog", "Tag", FieldState("color", "text", null=True))],
    )
    assert declared.sql == ("ALTER TABLE blog_tag ADD COLUMN color text", "SELECT 1")
    assert declared.state_forwards(state).model("blog", "Tag").field_names() == ("id", "name", "color")


@pytest.mark.parametrize("sql", ["", "   ", [], ["SELECT 1", ""]])
def test_run_sql_needs_sql(sql: object) -> None:
    with pytest.raises(InvalidValue, match="RunSQL sql"):
        RunSQL(sql)  # type: ignore[arg-type]


def test_run_code_leaves_the_state_alone_and_checks_its_paths() -> None:
    state = blog()
    assert EXAMPLES["RunCode"]().state_forwards(state) is state
    assert RunCode("a.b", description="fill slugs").describe() == "Run code a.b: fill slugs"
    for bad in ["fill_slugs", "a..b", "a.b-c", ""]:
        with pytest.raises(InvalidValue, match="dotted path"):
            RunCode(bad)
    with pytest.raises(InvalidValue, match="RunCode reverse_code"):
        RunCode("a.b", reverse_code="nope")


def test_separate_database_and_state_applies_only_state_operations() -> None:
    state = EXAMPLES["SeparateDatabaseAndState"]().state_forwards(blog())
    assert state.model("blog", "Tag").db_table == "tags"
    database_only = SeparateDatabaseAndState(database_operations=[DeleteModel("blog", "Tag")])
    assert database_only.state_forwards(blog()) == blog()


# PostgreSQL project objects --------------------------------------------------------------------


def test_extensions() -> None:
    state = blog()
    assert "hstore" in CreateExtension("hstore").state_forwards(state).extensions
    assert CreateExtension("citext").state_forwards(state) == state
    assert "citext" not in DropExtension("citext").state_forwards(state).extensions
    with pytest.raises(InvalidOperation, match="'postgis'"):
        DropExtension("postgis").state_forwards(state)


def test_collations() -> None:
    state = blog()
    created = EXAMPLES["CreateCollation"]().state_forwards(state)
    assert created.collations["german"] == CollationState("german", "de-DE", provider="icu")
    assert "nocase" not in EXAMPLES["RemoveCollation"]().state_forwards(state).collations
    with pytest.raises(InvalidOperation, match="'nocase'"):
        CreateCollation("nocase", "und").state_forwards(state)
    with pytest.raises(InvalidOperation, match="'german'"):
        RemoveCollation("german", "de-DE").state_forwards(state)


def test_every_error_is_a_migration_error() -> None:
    failing: list[Callable[[], object]] = [
        lambda: AddField("blog", "Post", FieldState("title", "text")).state_forwards(blog()),
        lambda: DeleteModel("blog", "Ghost").state_forwards(blog()),
        lambda: RemoveField("blog", "Post", "title").state_forwards(blog()),
        lambda: DropExtension("postgis").state_forwards(blog()),
        lambda: AddField("blog", "Post", FieldState("n", Integer(), default=[1])),
    ]
    for action in failing:
        with pytest.raises(MigrationError):
            action()

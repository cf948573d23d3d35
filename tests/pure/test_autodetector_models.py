"""Autodetector: models created, deleted, renamed; tables and options; cycles; many-to-many."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.autodetector import (
    AcceptUnambiguousRenames,
    AskPolicy,
    DetectionResult,
    NeverRename,
    RenameQuestion,
    autodetect,
)
from reinhardt_migrations.pure.autodetector.passes import renamed_state
from reinhardt_migrations.pure.errors import ConflictingRenameHints, UnorderableChanges
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import (
    AddField,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    CreateModel,
    DeleteModel,
    RemoveField,
    RenameModel,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.views import ViewState


def _pk() -> FieldState:
    return FieldState("id", "auto", primary_key=True)


def _model(app: str, name: str, *fields: FieldState, **options: object) -> ModelState:
    return ModelState(app, name, [_pk(), *fields], **options)  # type: ignore[arg-type]


def _state(*models: ModelState) -> ProjectState:
    return ProjectState.from_models(models)


def _fk(name: str, target: str, **options: object) -> FieldState:
    return FieldState(name, "integer", relation=Relation("foreign_key", target), **options)  # type: ignore[arg-type]


def _kinds(result: DetectionResult) -> list[str]:
    return [type(operation).__name__ for operation in result.operations]


def _position(result: DetectionResult, kind: type, **where: str) -> int:
    """Return the index of the first operation of ``kind`` whose attributes match ``where``."""
    for number, operation in enumerate(result.operations):
        if isinstance(operation, kind) and all(getattr(operation, k) == v for k, v in where.items()):
            return number
    raise AssertionError(f"no {kind.__name__} {where} in {_kinds(result)}")


def _check_dependencies_come_first(migrations: tuple[Migration, ...], leaves: dict[str, str]) -> None:
    seen = set(leaves.items())
    for migration in migrations:
        for dependency in migration.dependencies:
            assert dependency in seen, f"{migration.key} depends on {dependency}, not made before it"
        seen.add(migration.key)


USER = _model("blog", "User", FieldState("email", "VARCHAR(100)"))
POST = _model("blog", "Post", FieldState("title", "VARCHAR(200)"), _fk("author", "blog.User"))


def test_a_new_app_gets_an_initial_migration_creating_its_models() -> None:
    wanted = _state(USER, POST)
    result = autodetect(ProjectState(), wanted)
    (migration,) = result.migrations
    assert migration.key == ("blog", "0001_initial")
    assert migration.initial
    assert migration.dependencies == ()
    assert _kinds(result) == ["CreateModel", "CreateModel"]
    # The post points at the user, so the user is created first.
    assert _position(result, CreateModel, name="User") < _position(result, CreateModel, name="Post")
    assert replay(result.migrations) == wanted


def test_a_new_model_in_an_existing_app_continues_the_numbering() -> None:
    before = _state(USER)
    after = _state(USER, POST)
    result = autodetect(before, after, leaves={"blog": "0004_users"})
    (migration,) = result.migrations
    assert migration.key == ("blog", "0005_post")
    assert migration.dependencies == (("blog", "0004_users"),)
    assert not migration.initial
    assert replay(result.migrations, before) == after


def test_a_deleted_model_is_deleted_and_flagged() -> None:
    before = _state(USER, POST)
    after = _state(USER)
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert _kinds(result) == ["DeleteModel"]
    assert result.migrations[0].name == "0002_delete_post"
    (loss,) = result.destructive
    assert isinstance(loss.operation, DeleteModel)
    assert "blog.Post" in loss.reason
    assert replay(result.migrations, before) == after


def test_relations_go_before_the_model_they_point_at_is_deleted() -> None:
    before = _state(USER, POST)
    after = _state(_model("blog", "Post", FieldState("title", "VARCHAR(200)")))
    result = autodetect(before, after)
    assert _position(result, RemoveField, name="author") < _position(result, DeleteModel, name="User")
    assert replay(result.migrations, before) == after


def test_models_deleted_in_a_cycle_lose_their_relations_first() -> None:
    first = _model("blog", "A", _fk("b", "blog.B", null=True))
    second = _model("blog", "B", _fk("a", "blog.A", null=True))
    before = _state(first, second, USER)
    after = _state(USER)
    result = autodetect(before, after)
    assert _kinds(result).count("DeleteModel") == 2
    assert "RemoveField" in _kinds(result)
    assert replay(result.migrations, before) == after


def test_a_hinted_model_rename_is_a_rename_even_when_renames_are_never_guessed() -> None:
    renamed = _model("blog", "Person", FieldState("email", "VARCHAR(100)"), previous_name="User")
    before = _state(USER)
    after = _state(renamed)
    result = autodetect(before, after, NeverRename(), leaves={"blog": "0002_x"})
    assert result.operations == (RenameModel("blog", "User", "Person"),)
    assert result.migrations[0].name == "0003_rename_user_person"
    assert result.destructive == ()
    assert replay(result.migrations, before) == after


def test_an_unhinted_identical_model_is_renamed_only_if_unambiguous() -> None:
    before = _state(USER)
    after = _state(_model("blog", "Person", FieldState("email", "VARCHAR(100)")))
    accepted = autodetect(before, after, AcceptUnambiguousRenames())
    assert _kinds(accepted) == ["RenameModel"]
    refused = autodetect(before, after, NeverRename())
    assert sorted(_kinds(refused)) == ["CreateModel", "DeleteModel"]
    assert refused.questions == ()
    # Two identical candidates for one new model: nobody can tell which was renamed.
    twin = _model("blog", "Member", FieldState("email", "VARCHAR(100)"))
    ambiguous = autodetect(_state(USER, twin), after, AcceptUnambiguousRenames())
    assert "RenameModel" not in _kinds(ambiguous)
    assert {(q.old_name, q.new_name) for q in ambiguous.questions if isinstance(q, RenameQuestion)} == {
        ("User", "Person"),
        ("Member", "Person"),
    }
    assert all(isinstance(q, RenameQuestion) and not q.unambiguous for q in ambiguous.questions)


def test_a_near_model_rename_is_proposed_as_a_rename_plus_changes() -> None:
    before = _state(USER)
    after = _state(
        _model("blog", "Person", FieldState("email", "VARCHAR(100)"), FieldState("age", "integer", null=True))
    )
    cautious = autodetect(before, after)
    (question,) = cautious.questions
    assert isinstance(question, RenameQuestion)
    assert (question.kind, question.old_name, question.new_name, question.exact) == (
        "model",
        "User",
        "Person",
        False,
    )
    assert "age" in question.prompt()
    bold = autodetect(before, after, AcceptUnambiguousRenames(include_near=True))
    assert _kinds(bold) == ["RenameModel", "AddField"]
    assert replay(bold.migrations, before) == after


def test_the_ask_policy_asks_the_callback_and_follows_its_answer() -> None:
    asked: list[RenameQuestion] = []

    def no(question: RenameQuestion) -> bool:
        asked.append(question)
        return False

    before = _state(USER)
    after = _state(_model("blog", "Person", FieldState("email", "VARCHAR(100)")))
    result = autodetect(before, after, AskPolicy(no))
    assert [(q.old_name, q.new_name, q.exact) for q in asked] == [("User", "Person", True)]
    assert sorted(_kinds(result)) == ["CreateModel", "DeleteModel"]
    assert result.questions == ()


def test_renaming_a_model_others_point_at_changes_nothing_else() -> None:
    order = _model("shop", "Order", _fk("buyer", "blog.User"))
    before = _state(USER, POST, order)
    person = _model("blog", "Person", FieldState("email", "VARCHAR(100)"), previous_name="User")
    post = _model("blog", "Post", FieldState("title", "VARCHAR(200)"), _fk("author", "blog.Person"))
    moved_order = _model("shop", "Order", _fk("buyer", "blog.Person"))
    after = _state(person, post, moved_order)
    result = autodetect(before, after, leaves={"blog": "0001_initial", "shop": "0001_initial"})
    assert result.operations == (RenameModel("blog", "User", "Person"),)
    assert list(result.changes()) == ["blog"]
    assert replay(result.migrations, before) == after


def test_a_renamed_model_with_a_table_of_its_own_keeps_it() -> None:
    before = _state(_model("blog", "User", FieldState("email", "VARCHAR(100)"), db_table="people"))
    after = _state(
        _model("blog", "Person", FieldState("email", "VARCHAR(100)"), db_table="people", previous_name="User")
    )
    result = autodetect(before, after)
    assert _kinds(result) == ["RenameModel"]
    assert replay(result.migrations, before).model("blog", "Person").db_table == "people"


def test_a_changed_table_name_is_altered() -> None:
    before = _state(USER)
    after = _state(_model("blog", "User", FieldState("email", "VARCHAR(100)"), db_table="accounts"))
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert result.operations == (AlterModelTable("blog", "User", "accounts"),)
    assert result.migrations[0].name == "0002_alter_user_table"
    assert replay(result.migrations, before) == after


def test_a_table_freed_by_one_model_can_be_taken_by_another() -> None:
    before = _state(_model("blog", "Old", db_table="shared"))
    after = _state(_model("blog", "New", FieldState("x", "integer", null=True), db_table="shared"))
    result = autodetect(before, after, NeverRename())
    assert _position(result, DeleteModel, name="Old") < _position(result, CreateModel, name="New")
    assert replay(result.migrations, before) == after


def test_a_relation_moved_to_the_model_taking_the_freed_table_takes_its_indexes_along() -> None:
    from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
    from reinhardt_migrations.pure.operations import AddIndex, RemoveIndex

    # New takes Old's table, so Old must go first; Post.owner must leave Old before that and
    # can only point at New once New exists: the relation is removed and added again, and
    # the index, the unique constraint and the unique_together entry over it with it.
    def post(target: str) -> ModelState:
        return _model(
            "blog",
            "Post",
            FieldState("slug", "varchar(20)"),
            _fk("owner", target, null=True),
            indexes=[IndexState("post_owner", ["id", "owner"])],
            constraints=[ConstraintState.unique_on("one_slug_per_owner", ["owner", "slug"])],
            unique_together=[("owner", "id")],
        )

    before = _state(_model("blog", "Old", db_table="shared"), post("blog.Old"))
    after = _state(
        _model("blog", "New", FieldState("x", "integer", null=True), db_table="shared"), post("blog.New")
    )
    result = autodetect(before, after, NeverRename())
    assert replay(result.migrations, before) == after
    assert _position(result, RemoveIndex, name="post_owner") < _position(result, RemoveField, name="owner")
    operations = list(enumerate(result.operations))
    added = next(n for n, op in operations if isinstance(op, AddField) and op.field.name == "owner")
    assert added < _position(result, AddIndex, model_name="Post")


@pytest.mark.parametrize(
    "options",
    [{"comment": "People who write"}, {"managed": False}, {"options": {"engine": "InnoDB"}}],
)
def test_changed_model_options_are_altered(options: dict[str, object]) -> None:
    before = _state(USER)
    after = _state(_model("blog", "User", FieldState("email", "VARCHAR(100)"), **options))
    result = autodetect(before, after)
    (operation,) = result.operations
    assert isinstance(operation, AlterModelOptions)
    assert replay(result.migrations, before) == after


def test_models_pointing_at_each_other_are_created_then_related() -> None:
    first = _model("blog", "A", FieldState("title", "text"), _fk("b", "blog.B"), FieldState("z", "text"))
    second = _model("blog", "B", _fk("a", "blog.A"))
    after = _state(first, second)
    result = autodetect(ProjectState(), after)
    (migration,) = result.migrations
    created_first = migration.operations[0]
    assert isinstance(created_first, CreateModel)
    assert created_first.name == "A"
    # The relation and every field after it wait, so A lists its fields in the wanted order.
    assert [f.name for f in created_first.fields] == ["id", "title"]
    assert _position(result, CreateModel, name="B") < _position(result, AddField, model_name="A")
    assert replay(result.migrations) == after


def test_a_cycle_across_apps_gets_a_second_migration_in_one_app() -> None:
    author = _model("people", "Author", _fk("favourite", "books.Book", null=True))
    book = _model("books", "Book", _fk("author", "people.Author"))
    after = _state(author, book)
    result = autodetect(ProjectState(), after)
    per_app = result.changes()
    assert sorted(len(migrations) for migrations in per_app.values()) == [1, 2]
    _check_dependencies_come_first(result.migrations, {})
    assert all(m.initial for m in result.migrations)
    two = next(migrations for migrations in per_app.values() if len(migrations) == 2)
    assert [m.name for m in two] == ["0001_initial", "0002_initial"]
    assert replay(result.migrations) == after


def test_a_migration_needing_another_apps_existing_model_depends_on_its_leaf() -> None:
    before = _state(USER)
    after = _state(USER, _model("shop", "Order", _fk("buyer", "blog.User")))
    result = autodetect(before, after, leaves={"blog": "0007_last"})
    (migration,) = result.migrations
    assert migration.key == ("shop", "0001_initial")
    assert migration.dependencies == (("blog", "0007_last"),)


def test_a_migration_needing_a_model_created_in_this_change_depends_on_that_migration() -> None:
    after = _state(USER, _model("shop", "Order", _fk("buyer", "blog.User")))
    result = autodetect(ProjectState(), after)
    shop = result.changes()["shop"][0]
    assert ("blog", "0001_initial") in shop.dependencies
    _check_dependencies_come_first(result.migrations, {})


def test_many_to_many_fields_and_their_join_tables() -> None:
    tag = _model("blog", "Tag", FieldState("label", "VARCHAR(50)"))
    tags = FieldState("tags", "integer", relation=Relation("many_to_many", "blog.Tag"))
    before = _state(tag, POST, USER)
    post = _model("blog", "Post", FieldState("title", "VARCHAR(200)"), _fk("author", "blog.User"), tags)
    after = _state(tag, post, USER)
    result = autodetect(before, after)
    (operation,) = result.operations
    assert isinstance(operation, AddField)
    assert operation.field.relation is not None
    assert operation.field.relation.db_table == "blog_post_tags"
    assert replay(result.migrations, before) == after
    # Renaming the model renames its automatic join table too.
    renamed = _model(
        "blog",
        "Article",
        FieldState("title", "VARCHAR(200)"),
        _fk("author", "blog.User"),
        tags,
        previous_name="Post",
    )
    moved = autodetect(after, _state(tag, renamed, USER))
    assert _kinds(moved) == ["RenameModel", "AlterField"]
    altered = moved.operations[1]
    assert isinstance(altered, AlterField)
    assert altered.field.relation is not None
    assert altered.field.relation.db_table == "blog_article_tags"
    assert replay(moved.migrations, after) == _state(tag, renamed, USER)


def test_a_through_model_is_created_before_and_deleted_after_its_many_to_many_field() -> None:
    tag = _model("blog", "Tag")
    through = _model("blog", "PostTag", _fk("post", "blog.Post"), _fk("tag", "blog.Tag"))
    tagged = FieldState(
        "tags", "integer", relation=Relation("many_to_many", "blog.Tag", through="blog.PostTag")
    )
    post = _model("blog", "Post", FieldState("title", "VARCHAR(200)"), tagged)
    with_tags = _state(tag, through, post)
    created = autodetect(ProjectState(), with_tags)
    assert _position(created, CreateModel, name="PostTag") < _position(created, AddField, model_name="Post")
    assert replay(created.migrations) == with_tags
    without = _state(tag, _model("blog", "Post", FieldState("title", "VARCHAR(200)")))
    deleted = autodetect(with_tags, without)
    assert _position(deleted, RemoveField, name="tags") < _position(deleted, DeleteModel, name="PostTag")
    assert replay(deleted.migrations, with_tags) == without


def test_a_new_model_taking_a_deleted_models_table_gets_its_relations_removed_and_added() -> None:
    # Not a rename (the fields differ), so "old" is deleted and "new" created on its table;
    # the post's relation cannot move from one to the other in place (the new model exists
    # only once the old one, still referred to, is gone), so it is removed and added.
    old = _model("blog", "Old", FieldState("a", "integer", null=True), db_table="shared")
    new = _model("blog", "New", FieldState("b", "text", null=True), db_table="shared")
    post_before = _model("blog", "Post", _fk("owner", "blog.Old", null=True))
    post_after = _model("blog", "Post", _fk("owner", "blog.New", null=True))
    before, after = _state(old, post_before), _state(new, post_after)
    result = autodetect(before, after, NeverRename())
    assert "AlterField" not in _kinds(result)
    assert _position(result, RemoveField, name="owner") < _position(result, DeleteModel, name="Old")
    assert _position(result, CreateModel, name="New") < _position(result, AddField, model_name="Post")
    assert replay(result.migrations, before) == after


def test_a_many_to_many_field_moved_to_another_through_model_is_removed_and_added() -> None:
    tag = _model("blog", "Tag")
    first = _model("blog", "First", _fk("post", "blog.Post"), _fk("tag", "blog.Tag"))
    second = _model("blog", "Second", _fk("post", "blog.Post"), _fk("tag", "blog.Tag"))
    through_first = FieldState(
        "tags", "integer", relation=Relation("many_to_many", "blog.Tag", through="blog.First")
    )
    through_second = FieldState(
        "tags", "integer", relation=Relation("many_to_many", "blog.Tag", through="blog.Second")
    )
    before = _state(tag, first, second, _model("blog", "Post", through_first))
    after = _state(tag, first, second, _model("blog", "Post", through_second))
    result = autodetect(before, after)
    assert _kinds(result) == ["RemoveField", "AddField"]
    assert replay(result.migrations, before) == after


def test_renaming_many_models_at_once_gives_the_state_renaming_them_one_by_one() -> None:
    through = FieldState("peers", "integer", relation=Relation("many_to_many", "blog.A", through="blog.Link"))
    models = [
        _model("blog", "A", _fk("parent", "blog.A", null=True), through),
        _model("blog", "Link", _fk("left", "blog.A"), _fk("right", "blog.A")),
        _model("blog", "B", _fk("a", "blog.A"), db_table="explicit_b"),
        _model("shop", "C", _fk("b", "blog.B"), _fk("link", "blog.Link")),
    ]
    state = ProjectState(
        models=models, extensions={"hstore"}, views={"cheap": ViewState("cheap", "SELECT 1")}
    )
    pairs = [("blog", "A", "Alpha"), ("blog", "B", "Beta"), ("blog", "Link", "Joint")]
    one_by_one = state
    for app, old, new in pairs:
        one_by_one = one_by_one.renamed_model(app, old, new)
    at_once = renamed_state(state, pairs)
    assert at_once == one_by_one
    assert dict(at_once.referrers) == dict(one_by_one.referrers)
    assert dict(at_once.tables) == dict(one_by_one.tables)
    assert at_once.model("blog", "Beta").db_table == "explicit_b"
    assert (at_once.views, at_once.extensions) == (state.views, state.extensions)


def test_two_models_claiming_one_previous_name_are_an_error() -> None:
    before = _state(USER)
    after = _state(
        _model("blog", "Person", FieldState("email", "VARCHAR(100)"), previous_name="User"),
        _model("blog", "Member", FieldState("email", "VARCHAR(100)"), previous_name="User"),
    )
    with pytest.raises(ConflictingRenameHints) as raised:
        autodetect(before, after)
    assert raised.value.claimants == ("Member", "Person")
    assert "app 'blog'" in str(raised.value)


def test_two_tables_swapping_names_cannot_be_ordered_and_say_so() -> None:
    before = _state(_model("blog", "A", db_table="first"), _model("blog", "B", db_table="second"))
    after = _state(_model("blog", "A", db_table="second"), _model("blog", "B", db_table="first"))
    with pytest.raises(UnorderableChanges) as raised:
        autodetect(before, after)
    assert any("Rename table of blog.A to second" in text for text in raised.value.operations)
    assert "two steps" in str(raised.value)


def test_a_question_is_asked_once_even_when_the_changes_are_planned_twice() -> None:
    asked: list[str] = []

    def no(question: RenameQuestion) -> bool:
        asked.append(question.prompt())
        return False

    old = _model("blog", "Old", FieldState("a", "integer", null=True), db_table="shared")
    new = _model("blog", "New", FieldState("b", "text", null=True), db_table="shared")
    before = _state(old, _model("blog", "Post", _fk("owner", "blog.Old", null=True)))
    after = _state(new, _model("blog", "Post", _fk("owner", "blog.New", null=True)))
    result = autodetect(before, after, AskPolicy(no))
    assert asked == ["Did you rename model blog.Old to New (and change fields a -> b)?"]
    assert replay(result.migrations, before) == after

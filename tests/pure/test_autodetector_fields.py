"""Autodetector: fields added, removed, renamed and altered; one-off defaults; data loss."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from reinhardt_migrations.pure.autodetector import (
    AcceptUnambiguousRenames,
    AskPolicy,
    DefaultQuestion,
    DetectionResult,
    MigrationAutodetector,
    NeverRename,
    RenameQuestion,
    autodetect,
    rename_key,
)
from reinhardt_migrations.pure.errors import ConflictingRenameHints, MissingOneOffDefault
from reinhardt_migrations.pure.fields import NO_DEFAULT, FieldState, LiteralDefault, OnDelete, Relation
from reinhardt_migrations.pure.migration import replay
from reinhardt_migrations.pure.operations import (
    AddField,
    AlterField,
    CreateModel,
    RemoveField,
    RenameField,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.types import (
    BigInteger,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Float,
    Integer,
    SmallInteger,
    Text,
    Varchar,
)


def _pk() -> FieldState:
    return FieldState("id", "auto", primary_key=True)


def _user(*fields: FieldState) -> ProjectState:
    return ProjectState.from_models([ModelState("blog", "User", [_pk(), *fields])])


def _kinds(result: DetectionResult) -> list[str]:
    return [type(operation).__name__ for operation in result.operations]


EMAIL = FieldState("email", "VARCHAR(100)")
# Nullable, so that a rename refused becomes a plain AddField with no one-off default question.
LOOSE_EMAIL = FieldState("email", "VARCHAR(100)", null=True)


def test_a_nullable_field_is_added_and_named_after_model_and_field() -> None:
    before = ProjectState.from_models([ModelState("blog", "Post", [_pk()])])
    published = FieldState("published_at", DateTime(), null=True)
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), published])])
    result = autodetect(before, after, leaves={"blog": "0003_tags"})
    assert result.operations == (AddField("blog", "Post", published),)
    assert result.migrations[0].name == "0004_post_published_at"
    assert result.destructive == ()
    assert replay(result.migrations, before) == after


def test_a_not_null_field_without_default_needs_a_one_off_default() -> None:
    before = _user(EMAIL)
    after = _user(EMAIL, FieldState("age", "integer"))
    detector = MigrationAutodetector(before, after)
    with pytest.raises(MissingOneOffDefault) as raised:
        detector.detect()
    assert (raised.value.app_label, raised.value.model, raised.value.field) == ("blog", "User", "age")
    assert "blog.User.age" in str(raised.value)
    assert "one_off_defaults" in str(raised.value)
    # The same need comes back as data, without raising.
    (question,) = detector.questions()
    assert isinstance(question, DefaultQuestion)
    assert (question.key, question.reason, question.required) == (("blog", "User", "age"), "add", True)


def test_a_one_off_default_fills_existing_rows_and_is_not_kept() -> None:
    before = _user(EMAIL)
    after = _user(EMAIL, FieldState("age", "integer"))
    policy = AcceptUnambiguousRenames().with_one_off_defaults({("blog", "User", "age"): 18})
    result = autodetect(before, after, policy)
    (operation,) = result.operations
    assert isinstance(operation, AddField)
    assert operation.field.default == LiteralDefault(18)
    assert operation.preserve_default is False
    replayed = replay(result.migrations, before)
    assert replayed == after
    assert replayed.model("blog", "User").field("age").default == NO_DEFAULT


def test_the_ask_policy_can_supply_the_one_off_default() -> None:
    asked: list[DefaultQuestion] = []

    def answer(question: DefaultQuestion) -> Any:
        asked.append(question)
        return "unknown"

    before = _user(EMAIL)
    after = _user(EMAIL, FieldState("city", "VARCHAR(80)"))
    result = autodetect(before, after, AskPolicy(lambda q: False, ask_default=answer))
    assert [q.key for q in asked] == [("blog", "User", "city")]
    assert isinstance(result.operations[0], AddField)
    assert result.operations[0].field.default == LiteralDefault("unknown")


@pytest.mark.parametrize(
    "field",
    [
        FieldState("age", "integer", null=True),
        FieldState("age", "integer", default=0),
        FieldState("serial", "bigauto"),
        FieldState("tags", "integer", relation=Relation("many_to_many", "blog.User")),
    ],
)
def test_no_one_off_default_is_needed_for_nullable_defaulted_auto_or_join_fields(field: FieldState) -> None:
    before = _user(EMAIL)
    after = _user(EMAIL, field)
    result = autodetect(before, after)
    assert _kinds(result) == ["AddField"]
    assert replay(result.migrations, before) == after


def test_a_new_table_needs_no_one_off_default() -> None:
    after = _user(EMAIL, FieldState("age", "integer"))
    result = autodetect(ProjectState(), after)
    assert _kinds(result) == ["CreateModel"]


def test_a_removed_field_is_removed_and_flagged() -> None:
    before = _user(EMAIL, FieldState("age", "integer", null=True))
    after = _user(EMAIL)
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert result.operations == (RemoveField("blog", "User", "age"),)
    assert result.migrations[0].name == "0002_remove_user_age"
    (loss,) = result.destructive
    assert "blog.User.age" in loss.reason
    assert loss.describe().startswith("blog: ")


def test_a_hinted_field_rename_is_named_as_in_the_issue() -> None:
    before = _user(EMAIL)
    after = _user(FieldState("address", "VARCHAR(100)", previous_name="email"))
    result = autodetect(before, after, NeverRename(), leaves={"blog": "0002_user_email"})
    assert result.operations == (RenameField("blog", "User", "email", "address"),)
    assert result.migrations[0].name == "0003_rename_user_email_user_address"
    assert result.destructive == ()
    assert replay(result.migrations, before) == after


def test_a_hinted_rename_with_changes_is_a_rename_then_an_alter() -> None:
    before = _user(EMAIL)
    address = FieldState("address", "VARCHAR(250)", null=True, previous_name="email")
    after = _user(address)
    result = autodetect(before, after, NeverRename())
    assert _kinds(result) == ["RenameField", "AlterField"]
    assert replay(result.migrations, before) == after


def test_a_stale_hint_is_ignored() -> None:
    before = _user(EMAIL)
    after = _user(EMAIL, FieldState("phone", "VARCHAR(20)", null=True, previous_name="fax"))
    result = autodetect(before, after)
    assert _kinds(result) == ["AddField"]


def test_two_fields_claiming_one_previous_name_are_an_error() -> None:
    before = _user(EMAIL)
    after = _user(
        FieldState("address", "VARCHAR(100)", previous_name="email"),
        FieldState("mail", "VARCHAR(100)", previous_name="email"),
    )
    with pytest.raises(ConflictingRenameHints) as raised:
        autodetect(before, after)
    assert raised.value.claimants == ("address", "mail")
    assert "previous_name='email'" in str(raised.value)


def test_an_unhinted_identical_field_follows_the_policy() -> None:
    before = _user(LOOSE_EMAIL)
    after = _user(FieldState("address", "VARCHAR(100)", null=True))
    assert _kinds(autodetect(before, after, AcceptUnambiguousRenames())) == ["RenameField"]
    never = autodetect(before, after, NeverRename())
    assert sorted(_kinds(never)) == ["AddField", "RemoveField"]
    assert never.questions == ()


def test_open_rename_questions_can_be_answered_in_a_second_call() -> None:
    before = _user(LOOSE_EMAIL, FieldState("backup", "VARCHAR(100)", null=True))
    after = _user(FieldState("address", "VARCHAR(100)", null=True))
    first = MigrationAutodetector(before, after, AcceptUnambiguousRenames())
    questions = first.questions()
    assert {(q.old_name, q.new_name) for q in questions if isinstance(q, RenameQuestion)} == {
        ("email", "address"),
        ("backup", "address"),
    }
    assert "RenameField" not in _kinds(first.detect())
    chosen = next(q for q in questions if isinstance(q, RenameQuestion) and q.old_name == "email")
    second = attrs.evolve(first, policy=first.policy.with_answers({chosen: True}))  # type: ignore[attr-defined]
    result = second.detect()
    assert _kinds(result) == ["RenameField", "RemoveField"]
    assert result.questions == ()
    assert replay(result.migrations, before) == after
    # Answers keyed by rename_key work the same way.
    by_key = NeverRename(answers={rename_key("field", "blog", "User", "email", "address"): True})
    assert autodetect(before, after, by_key).operations == result.operations


def test_a_near_field_rename_is_a_question_listing_what_else_changes() -> None:
    before = _user(LOOSE_EMAIL)
    after = _user(FieldState("address", "VARCHAR(200)", null=True))
    cautious = autodetect(before, after)
    (question,) = cautious.questions
    assert isinstance(question, RenameQuestion)
    assert not question.exact
    assert question.unambiguous
    assert question.differences == ("type varchar(100) -> varchar(200)",)
    assert "previous_name='email'" in question.hint()
    bold = autodetect(before, after, AcceptUnambiguousRenames(include_near=True))
    assert _kinds(bold) == ["RenameField", "AlterField"]
    assert replay(bold.migrations, before) == after


def test_fields_of_different_type_families_are_never_rename_candidates() -> None:
    before = _user(EMAIL)
    after = _user(FieldState("age", "integer", default=0))
    result = autodetect(before, after, AcceptUnambiguousRenames(include_near=True))
    assert sorted(_kinds(result)) == ["AddField", "RemoveField"]
    assert result.questions == ()


AUTHOR = ModelState("blog", "Author", [_pk()])
EDITOR = ModelState("blog", "Editor", [_pk()])
FK = FieldState("author", "integer", relation=Relation("foreign_key", "blog.Author"))

ALTERATIONS: list[tuple[str, FieldState, FieldState]] = [
    ("type", FieldState("n", "integer"), FieldState("n", "bigint")),
    ("length", FieldState("n", Varchar(100)), FieldState("n", Varchar(150))),
    ("precision", FieldState("n", Decimal(10, 2)), FieldState("n", Decimal(12, 4))),
    ("null", FieldState("n", "integer"), FieldState("n", "integer", null=True)),
    ("default", FieldState("n", "integer"), FieldState("n", "integer", default=5)),
    ("unique", FieldState("n", "integer"), FieldState("n", "integer", unique=True)),
    ("db_index", FieldState("n", "integer"), FieldState("n", "integer", db_index=True)),
    ("db_column", FieldState("n", "integer"), FieldState("n", "integer", db_column="number")),
    ("comment", FieldState("n", "integer"), FieldState("n", "integer", comment="how many")),
    ("target", FK, attrs.evolve(FK, relation=Relation("foreign_key", "blog.Editor"))),
    (
        "on_delete",
        FK,
        attrs.evolve(FK, relation=Relation("foreign_key", "blog.Author", on_delete=OnDelete.PROTECT)),
    ),
]


@pytest.mark.parametrize(("what", "old", "new"), ALTERATIONS, ids=[a[0] for a in ALTERATIONS])
def test_each_kind_of_field_change_is_one_alter_field(what: str, old: FieldState, new: FieldState) -> None:
    before = ProjectState.from_models([AUTHOR, EDITOR, ModelState("blog", "Post", [_pk(), old])])
    after = ProjectState.from_models([AUTHOR, EDITOR, ModelState("blog", "Post", [_pk(), new])])
    result = autodetect(before, after)
    (operation,) = result.operations
    assert isinstance(operation, AlterField)
    assert operation.field == new
    assert replay(result.migrations, before) == after


def test_a_relation_moved_to_a_new_model_is_altered_after_that_model_is_created() -> None:
    before = ProjectState.from_models([AUTHOR, ModelState("blog", "Post", [_pk(), FK])])
    moved = attrs.evolve(FK, relation=Relation("foreign_key", "blog.Writer"))
    writer = ModelState("blog", "Writer", [_pk()])
    after = ProjectState.from_models([AUTHOR, writer, ModelState("blog", "Post", [_pk(), moved])])
    result = autodetect(before, after, NeverRename())
    kinds = _kinds(result)
    assert kinds.index("CreateModel") < kinds.index("AlterField")
    assert isinstance(result.operations[kinds.index("CreateModel")], CreateModel)
    assert replay(result.migrations, before) == after


def test_turning_a_column_into_a_many_to_many_field_removes_and_adds_it() -> None:
    column = FieldState("tags", "integer", null=True)
    joined = FieldState("tags", "integer", relation=Relation("many_to_many", "blog.Author"))
    before = ProjectState.from_models([AUTHOR, ModelState("blog", "Post", [_pk(), column])])
    after = ProjectState.from_models([AUTHOR, ModelState("blog", "Post", [_pk(), joined])])
    result = autodetect(before, after)
    assert _kinds(result) == ["RemoveField", "AddField"]
    assert replay(result.migrations, before) == after


def _loss(old: FieldState, new: FieldState) -> str | None:
    before = ProjectState.from_models([ModelState("blog", "Post", [_pk(), old])])
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), new])])
    result = autodetect(before, after, AcceptUnambiguousRenames().with_one_off_defaults({}))
    assert _kinds(result) == ["AlterField"]
    return result.destructive[0].reason if result.destructive else None


LOSSY: list[tuple[ColumnType, ColumnType]] = [
    (Varchar(200), Varchar(100)),
    (Text(), Varchar(255)),
    (Decimal(10, 2), Decimal(8, 2)),
    (Decimal(10, 4), Decimal(10, 2)),
    (BigInteger(), Integer()),
    (Integer(), SmallInteger()),
    (Double(), Float()),
    (DateTime(), Date()),
    (Integer(), Varchar(20)),
]
SAFE: list[tuple[ColumnType, ColumnType]] = [
    (Varchar(100), Varchar(200)),
    (Varchar(100), Text()),
    (Decimal(8, 2), Decimal(10, 2)),
    (SmallInteger(), BigInteger()),
    (Float(), Double()),
    (Date(), DateTime()),
]


@pytest.mark.parametrize(("old", "new"), LOSSY, ids=[f"{o.describe()}->{n.describe()}" for o, n in LOSSY])
def test_narrowing_a_type_is_flagged(old: ColumnType, new: ColumnType) -> None:
    reason = _loss(FieldState("n", old, null=True), FieldState("n", new, null=True))
    assert reason is not None
    assert "blog.Post.n" in reason


@pytest.mark.parametrize(("old", "new"), SAFE, ids=[f"{o.describe()}->{n.describe()}" for o, n in SAFE])
def test_widening_a_type_is_not_flagged(old: ColumnType, new: ColumnType) -> None:
    assert _loss(FieldState("n", old, null=True), FieldState("n", new, null=True)) is None


def test_forbidding_null_is_flagged_and_may_take_a_one_off_default() -> None:
    old, new = FieldState("n", "integer", null=True), FieldState("n", "integer")
    reason = _loss(old, new)
    assert reason is not None
    assert "NULL" in reason
    assert _loss(new, old) is None
    before = ProjectState.from_models([ModelState("blog", "Post", [_pk(), old])])
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), new])])
    (question,) = MigrationAutodetector(before, after).questions()
    assert isinstance(question, DefaultQuestion)
    assert (question.reason, question.required) == ("not_null", False)
    filled = autodetect(before, after, NeverRename(one_off_defaults={("blog", "Post", "n"): 0}))
    (operation,) = filled.operations
    assert isinstance(operation, AlterField)
    assert (operation.field.default, operation.preserve_default) == (LiteralDefault(0), False)
    assert replay(filled.migrations, before) == after

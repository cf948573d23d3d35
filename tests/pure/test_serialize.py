"""Example tests for serialization: canonical JSON, Python module text, states (law 5)."""

from __future__ import annotations

import enum
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import attrs
import pytest

from reinhardt_migrations.pure import fields as fields_module
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import SerializationError
from reinhardt_migrations.pure.fields import (
    CallableDefault,
    FieldState,
    LiteralDefault,
    Relation,
    SqlDefault,
)
from reinhardt_migrations.pure.migration import Migration, replay
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
from reinhardt_migrations.pure.serialize import (
    FORMAT,
    migration_from_data,
    migration_from_json,
    migration_to_data,
    migration_to_json,
    migration_to_python,
    operation_from_data,
    operation_to_data,
    state_from_data,
    state_from_json,
    state_to_data,
    state_to_json,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    AutoField,
    BigAutoField,
    BigInteger,
    Boolean,
    Char,
    DateTime,
    Decimal,
    Double,
    Integer,
    Json,
    RawType,
    Text,
    Uuid,
    Varchar,
)

SOURCE = "blog/migrations/0002_x.json"
ON_DELETE = fields_module.OnDelete
# Hostile text: quotes of both kinds, a backslash, control characters, a line and a
# paragraph separator, wide characters, an emoji, a combining accent and a lone surrogate.
HOSTILE = 'it\'s "quoted" \\ back\nslash\t\x7f\u2028\u2029 模型 🦄 e\u0301 \ud800 end'


# Custom operations of a user's project: attrs classes at module level.
class Mood(enum.Enum):
    """An enum of the user's, used by a custom operation."""

    CALM = "calm"
    LOUD = "loud"


class OnDelete(enum.Enum):
    """A user enum that shares its name with ours, so the Python writer must alias one."""

    KEEP = "keep"
    DROP = "drop"


@attrs.frozen
class TagModel(BaseOperation):
    """A custom operation that changes nothing in the state."""

    app_label: str
    model_name: str
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    level: int | None = None
    mood: Mood = Mood.CALM
    policy: OnDelete = OnDelete.KEEP
    kind: ClassVar[str] = "TagModel"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state unchanged."""
        return state

    def describe(self) -> str:
        """Return a description."""
        return f"Tag {self.app_label}.{self.model_name}"


class NotAttrsOperation(BaseOperation):
    """A custom operation that is not an attrs class, so it cannot be written."""

    kind: ClassVar[str] = "NotAttrs"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state unchanged."""
        return state

    def describe(self) -> str:
        """Return a description."""
        return "not attrs"


@attrs.frozen
class ReservedKeyOperation(TagModel):
    """A custom operation with an attribute named like the format's tag."""

    op: str = "x"


@attrs.frozen
class LabelModel(TagModel):
    """A custom operation with a required keyword-only attribute left out of equality."""

    label: str = attrs.field(eq=False, kw_only=True)


@attrs.frozen
class ListOperation(TagModel):
    """A custom operation with an annotation the format has no rule for."""

    items: list[str] = attrs.field(factory=list)


def resolve(path: str) -> type:
    """Import a custom operation class by dotted path, as the shell's loader does."""
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    return cls


def author_fields() -> tuple[FieldState, ...]:
    return (
        FieldState("id", BigAutoField(), primary_key=True),
        FieldState("name", Varchar(100), unique=True, db_index=True, comment='Full "name"'),
        FieldState("email", "VARCHAR(254)", null=True, db_column="e_mail"),
    )


def post_fields() -> tuple[FieldState, ...]:
    return (
        FieldState("id", AutoField(), primary_key=True),
        FieldState("title", Varchar(200), null=True),
        FieldState("slug", Char(50), default=LiteralDefault("")),
        FieldState("views", BigInteger(), default=0),
        FieldState("rating", Double(), default=2.5),
        FieldState("published", Boolean(), default=False),
        FieldState("created", DateTime(timezone=True), default=SqlDefault("CURRENT_TIMESTAMP")),
        FieldState("uid", Uuid(), unique=True, default=CallableDefault("uuid.uuid4")),
        FieldState("body", RawType("citext", per_dialect={"sqlite": "TEXT", "mysql": "LONGTEXT"}), null=True),
        FieldState("price", Decimal(10, 2), default="9.99"),
        FieldState("meta", Json(), null=True, default=LiteralDefault(None)),
        FieldState(
            "author",
            BigInteger(),
            relation=Relation("foreign_key", ("blog", "Author"), on_delete=ON_DELETE.PROTECT, to_field="id"),
        ),
        FieldState(
            "editor", BigInteger(), null=True, relation=Relation("one_to_one", "blog.Author", "SET_NULL")
        ),
        FieldState(
            "fans", BigInteger(), relation=Relation("many_to_many", "blog.Author", db_table="post_fans")
        ),
        FieldState(
            "members",
            BigInteger(),
            relation=Relation("many_to_many", "blog.Author", through="blog.Membership"),
        ),
    )


def weird_model() -> CreateModel:
    """A model whose names are reserved words, quotes, unicode and control characters."""
    return CreateModel(
        app_label="wéird",
        name="Quote\"d'Name",
        db_table="select",
        fields=[
            FieldState("from", AutoField(), primary_key=True),
            FieldState("naïve_字段", Text(), null=True, comment=HOSTILE),
            FieldState('a"b', Varchar(10), default=LiteralDefault(HOSTILE)),
            FieldState("back\\slash", Integer(), default=-(2**70), db_column="order"),
            FieldState("group", Double(), default=1e-300),
        ],
        comment=HOSTILE,
        options={"z": "last", "a": "first", HOSTILE: HOSTILE},
    )


def history() -> list[Operation]:
    """Every built-in operation kind, with rich arguments, in an order that replays."""
    return [
        CreateExtension("hstore"),
        CreateCollation("case_insensitive", "und-u-ks-level2", provider="icu", deterministic=False),
        CreateModel(
            "blog",
            "Author",
            author_fields(),
            comment="People who write",
            options={"engine": "InnoDB", "charset": "utf8mb4"},
        ),
        CreateModel("blog", "Membership", [FieldState("id", AutoField(), primary_key=True)], managed=False),
        CreateModel(
            "blog",
            "Post",
            post_fields(),
            db_table="blog_posts",
            indexes=[IndexState("post_title_idx", ("title", "-created"), condition="title IS NOT NULL")],
            constraints=[
                ConstraintState.check_that("price_positive", "price > 0"),
                ConstraintState.unique_on("post_uid_slug", ["uid", "slug"]),
            ],
            unique_together=[("slug", "author")],
        ),
        weird_model(),
        AddField("blog", "Post", FieldState("score", Integer(), default=0), preserve_default=False),
        AlterField("blog", "Post", "title", FieldState("title", Varchar(300), default="untitled")),
        RenameField("blog", "Post", "views", "view_count"),
        AddIndex("blog", "Post", IndexState("post_slug_idx", ("slug",), unique=True)),
        RenameIndex("blog", "Post", "post_slug_idx", "post_slug_uidx"),
        RemoveIndex("blog", "Post", "post_slug_uidx"),
        AddConstraint("blog", "Post", ConstraintState.check_that("rating_range", "rating BETWEEN 0 AND 5")),
        RemoveConstraint("blog", "Post", "rating_range"),
        AlterUniqueTogether("blog", "Post", [("title", "editor"), ("slug", "author")]),
        AlterModelOptions("blog", "Author", comment=None, managed=True, options={"engine": "MyISAM"}),
        AlterModelTable("blog", "Author", "authors"),
        RenameModel("blog", "Membership", "Subscription"),
        CreateTable(
            "legacy_users",
            [
                ColumnDefinition("id", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ColumnDefinition("name", "VARCHAR(80) NOT NULL DEFAULT 'it''s'"),
            ],
            constraints=[ConstraintState.unique_on("legacy_name_uniq", ["name"])],
            app_label="legacy",
        ),
        RunSQL(
            ["UPDATE blog_posts SET slug = 'x';", "SELECT '\"';"],
            reverse_sql="SELECT 1",
            state_operations=[AddField("blog", "Post", FieldState("legacy", Text(), null=True))],
            elidable=True,
        ),
        RunCode("blog.fill.forwards", reverse_code="blog.fill.backwards", description=HOSTILE, elidable=True),
        SeparateDatabaseAndState(
            database_operations=[
                RunSQL(
                    "ALTER TABLE blog_posts DROP COLUMN legacy",
                    reverse_sql=["ALTER TABLE blog_posts ADD COLUMN legacy text"],
                )
            ],
            state_operations=[RemoveField("blog", "Post", "legacy")],
        ),
        RemoveField("blog", "Post", "score"),
        DeleteModel("legacy", "legacy_users"),
        DropExtension("hstore"),
        RemoveCollation("case_insensitive", "und-u-ks-level2", provider="icu", deterministic=False),
    ]


def rich_migration(operations: Sequence[Operation] | None = None) -> Migration:
    return Migration(
        name="0002_x",
        app_label="blog",
        dependencies=[("blog", "0001_initial"), ("auth", "0012_alter_user")],
        operations=history() if operations is None else operations,
        replaces=[("blog", "0002_a"), ("blog", "0003_b")],
        atomic=False,
        initial=True,
    )


def walk(operations: tuple[Operation, ...] | list[Operation]) -> Iterator[Operation]:
    """Yield operations and every operation nested in them."""
    for operation in operations:
        yield operation
        for attribute in ("state_operations", "database_operations"):
            yield from walk(getattr(operation, attribute, ()))


def run_python(text: str) -> Migration:
    namespace: dict[str, Any] = {}
    exec(compile(text, "<migration>", "exec"), namespace)
    loaded = namespace["migration"]
    assert isinstance(loaded, Migration)
    return loaded


def error_of(text_or_data: Any, **kwargs: Any) -> str:
    """Return the message of the SerializationError reading a document raises."""
    read = migration_from_json if isinstance(text_or_data, str) else migration_from_data
    with pytest.raises(SerializationError) as caught:
        read(text_or_data, source=SOURCE, **kwargs)
    return str(caught.value)


# The examples -------------------------------------------------------------------


def test_the_history_uses_every_builtin_operation_and_replays() -> None:
    operations = history()
    assert {getattr(op, "kind", None) for op in walk(operations)} == set(BUILTIN_OPERATIONS)
    state = replay([rich_migration()])
    assert state.has_model("blog", "Subscription")
    assert state.model("blog", "Post").field("view_count").default == LiteralDefault(0)


# JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(history())), ids=lambda i: type(history()[i]).__name__)
def test_each_operation_round_trips_through_data_and_json(index: int) -> None:
    operation = history()[index]
    data = operation_to_data(operation)
    assert data["op"] == getattr(operation, "kind", None)
    back = operation_from_data(json.loads(json.dumps(data)))
    assert back == operation
    assert operation_to_data(back) == data
    migration = rich_migration([operation])
    assert migration_from_json(migration_to_json(migration)) == migration
    assert run_python(migration_to_python(migration)) == migration


def test_a_rich_migration_round_trips_through_json() -> None:
    migration = rich_migration()
    text = migration_to_json(migration)
    loaded = migration_from_json(text, source=SOURCE)
    assert loaded == migration
    assert migration_to_json(loaded) == text
    assert replay([loaded]) == replay([migration])


def test_json_text_is_canonical_and_marked() -> None:
    text = migration_to_json(rich_migration())
    data = json.loads(text)
    assert data["format"] == FORMAT == "reinhardt-migrations/1"
    # Sorted keys, indent 2, one final newline: exactly what a canonical dump gives.
    canonical = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    # ... except that a lone surrogate, which UTF-8 cannot hold, stays escaped.
    assert text == canonical.replace("\ud800", "\\ud800")
    assert not text.endswith("\n\n")
    # Writable as UTF-8 (the lone surrogate is escaped) and readable back.
    assert text.encode("utf-8")
    assert "\\ud800" in text
    assert "模型" in text


def test_defaults_and_bookkeeping_are_left_out() -> None:
    plain = operation_to_data(AddField("blog", "Post", FieldState("title", Varchar(200))))
    assert plain == {
        "op": "AddField",
        "app_label": "blog",
        "model_name": "Post",
        "field": {"name": "title", "type": {"kind": "varchar", "max_length": 200}},
    }
    # A field taken from a state carries database names (eq=False): never written.
    post = replay([rich_migration()]).model("blog", "Post")
    assert post.field("uid").unique_name is not None
    relation = post.field("author").relation
    assert relation is not None
    assert relation.constraint_name is not None
    text = migration_to_json(rich_migration([CreateModel.from_model(post)]))
    for name in ("unique_name", "index_name", "constraint_name", "previous_name"):
        assert name not in text


def test_same_migration_gives_identical_bytes() -> None:
    first, second = rich_migration(), rich_migration()
    assert first is not second
    assert migration_to_json(first) == migration_to_json(second) == migration_to_json(first)
    assert migration_to_python(first) == migration_to_python(second)


def test_maps_built_in_another_order_give_identical_output() -> None:
    def build(keys: list[str]) -> Migration:
        options = {key: key.upper() for key in keys}
        raw = RawType("citext", per_dialect={key: key.upper() for key in keys})
        model = CreateModel("blog", "Tag", [FieldState("code", raw, primary_key=True)], options=options)
        return rich_migration([model, AlterModelOptions("blog", "Tag", options=options)])

    keys = ["sqlite", "mysql", "postgresql", "oracle", "zeta", "alpha"]
    forwards, backwards = build(keys), build(list(reversed(keys)))
    assert forwards == backwards
    assert migration_to_json(forwards) == migration_to_json(backwards)
    assert migration_to_python(forwards) == migration_to_python(backwards)


def test_output_does_not_depend_on_the_hash_seed() -> None:
    script = textwrap.dedent(
        """
        import sys
        from reinhardt_migrations.pure.fields import FieldState
        from reinhardt_migrations.pure.migration import Migration, replay
        from reinhardt_migrations.pure.operations import CreateModel, CreateExtension
        from reinhardt_migrations.pure.serialize import migration_to_json, migration_to_python, state_to_json
        from reinhardt_migrations.pure.types import RawType, Text

        names = [f"n{i}" for i in range(40)]
        ops = [CreateExtension(name) for name in names]
        ops += [
            CreateModel("app", f"M{i}", [FieldState("x", RawType("t", per_dialect={n: n for n in names}))],
                        options={n: n for n in names})
            for i in range(20)
        ]
        migration = Migration("0001", "app", operations=ops)
        sys.stdout.write(migration_to_json(migration) + migration_to_python(migration))
        sys.stdout.write(state_to_json(replay([migration]), bookkeeping=True))
        """
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "4242")
    }
    assert len(outputs) == 1
    assert '"format": "reinhardt-migrations/1"' in outputs.pop()


# Python text --------------------------------------------------------------------


def test_python_text_runs_to_an_equal_migration() -> None:
    migration = rich_migration()
    text = migration_to_python(migration)
    loaded = run_python(text)
    assert loaded == migration
    assert migration_to_python(loaded) == text
    assert migration_to_json(loaded) == migration_to_json(migration)


def test_python_text_reads_like_hand_written_code() -> None:
    migration = Migration(
        "0002_title",
        "blog",
        dependencies=[("blog", "0001_initial")],
        operations=[
            AddField("blog", "Post", FieldState("title", Varchar(200), null=True)),
            AddField(
                "blog",
                "Post",
                FieldState(
                    "author", BigInteger(), relation=Relation("foreign_key", "blog.Author", "SET_NULL")
                ),
            ),
        ],
    )
    text = migration_to_python(migration)
    assert text.startswith('"""')
    assert "\nmigration = Migration(\n" in text
    assert 'FieldState("title", Varchar(200), null=True)' in text
    assert 'Relation("foreign_key", ("blog", "Author"), on_delete=OnDelete.SET_NULL)' in text
    assert "from reinhardt_migrations.pure.operations import AddField\n" in text
    assert '    dependencies=[("blog", "0001_initial")],\n' in text
    # One operation per block, one keyword argument per line.
    assert '        AddField(\n            app_label="blog",\n            model_name="Post",\n' in text
    for line in text.splitlines():
        assert len(line) <= 110
    assert run_python(text) == migration


RUFF = shutil.which("ruff")


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed")
def test_python_text_is_left_unchanged_by_ruff() -> None:
    assert RUFF is not None
    text = migration_to_python(rich_migration([*history(), TagModel("blog", "Post", tags=("a",))]))
    formatted = subprocess.run(
        [RUFF, "format", "--isolated", "--line-length", "110", "--stdin-filename", "m.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    assert formatted.stdout == text
    checked = subprocess.run(
        [RUFF, "check", "--isolated", "--select", "F,E9", "--stdin-filename", "m.py", "-"],
        input=text,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout


def test_python_strings_escape_what_a_source_file_cannot_hold() -> None:
    migration = rich_migration([weird_model()])
    text = migration_to_python(migration)
    for escape in ("\\ud800", "\\u2028", "\\n", "\\t", "\\x7f"):
        assert escape in text
    for readable in ("模型", "🦄", "naïve_字段"):
        assert readable in text
    assert text.encode("utf-8")
    assert run_python(text) == migration


# Custom operations ---------------------------------------------------------------


def custom_migration() -> Migration:
    return rich_migration(
        [
            TagModel(
                "blog", "Post", tags=("a", "b"), weight=0.5, level=3, mood=Mood.LOUD, policy=OnDelete.DROP
            ),
            RunSQL("SELECT 1", state_operations=[TagModel("blog", "Post")]),
            AddField(
                "blog",
                "Post",
                FieldState("x", Integer(), relation=Relation("foreign_key", "blog.A", "PROTECT")),
            ),
        ]
    )


def test_custom_operation_round_trips_through_json_with_a_resolver() -> None:
    migration = custom_migration()
    text = migration_to_json(migration)
    assert json.loads(text)["operations"][0]["op"] == f"{__name__}.TagModel"
    loaded = migration_from_json(text, source=SOURCE, resolve_operation=resolve)
    assert loaded == migration
    assert migration_to_json(loaded) == text


def test_custom_operation_round_trips_through_python_with_aliases() -> None:
    migration = custom_migration()
    text = migration_to_python(migration)
    assert f"from {__name__} import Mood, TagModel\n" in text
    # Our OnDelete and the user's OnDelete meet in one file: the user's gets an alias.
    assert "from reinhardt_migrations.pure.fields import FieldState, OnDelete, Relation\n" in text
    assert f"from {__name__} import OnDelete as OnDelete2\n" in text
    assert "on_delete=OnDelete.PROTECT" in text
    assert "policy=OnDelete2.DROP" in text
    # The nested TagModel has every default: only its required arguments are written.
    nested = 'TagModel(\n{0}app_label="blog",\n{0}model_name="Post",\n{1}),'.format(" " * 20, " " * 16)
    assert nested in text
    assert run_python(text) == migration


def test_required_attributes_are_written_even_when_left_out_of_equality() -> None:
    migration = rich_migration([LabelModel("blog", "Post", label="x")])
    assert json.loads(migration_to_json(migration))["operations"][0]["label"] == "x"
    loaded = migration_from_json(migration_to_json(migration), resolve_operation=resolve)
    assert isinstance(loaded.operations[0], LabelModel)
    assert loaded.operations[0].label == "x"
    text = migration_to_python(migration)
    assert 'label="x",' in text
    executed = run_python(text).operations[0]
    assert isinstance(executed, LabelModel)
    assert executed.label == "x"


def test_unknown_custom_operation_without_a_resolver_says_what_to_do() -> None:
    message = error_of(migration_to_json(custom_migration()))
    assert message.startswith(f"{SOURCE}: operations[0]: unknown operation '{__name__}.TagModel'")
    assert "in migration blog.0002_x" in message
    assert "resolve_operation" in message


def test_resolver_failures_are_serialization_errors() -> None:
    text = migration_to_json(custom_migration())

    def missing(path: str) -> type:
        raise ImportError(f"No module named {path.rpartition('.')[0]!r}")

    message = error_of(text, resolve_operation=missing)
    assert f"{SOURCE}: operations[0]: cannot import operation '{__name__}.TagModel'" in message
    assert "No module named" in message
    message = error_of(text, resolve_operation=lambda path: NotAttrsOperation)
    assert "is not an attrs class" in message


@pytest.mark.parametrize("write", [migration_to_json, migration_to_python])
def test_operations_that_cannot_be_written_are_refused(write: Any) -> None:
    @attrs.frozen
    class Local(TagModel):
        pass

    cases: list[tuple[Operation, str]] = [
        (NotAttrsOperation(), "not an attrs class"),
        (Local("blog", "Post"), "define it at module level"),
        (AddField("blog", "Post", FieldState("f", Double(), default=float("inf"))), "SqlDefault"),
    ]
    for operation, problem in cases:
        with pytest.raises(SerializationError) as caught:
            write(rich_migration([operation]))
        assert str(caught.value).startswith("migration blog.0002_x: operations[0]")
        assert problem in str(caught.value)


def test_json_refuses_what_it_could_not_read_back() -> None:
    for operation, problem in (
        (ReservedKeyOperation("blog", "Post"), "named 'op'"),
        (ListOperation("blog", "Post", items=["a"]), "expected a value of list[str]"),
    ):
        with pytest.raises(SerializationError, match=re.escape(problem)):
            migration_to_json(rich_migration([operation]))


# Malformed documents -----------------------------------------------------------


def document() -> dict[str, Any]:
    data = migration_to_data(rich_migration())
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded


def operation_index(data: dict[str, Any], kind: str) -> int:
    return next(i for i, op in enumerate(data["operations"]) if op["op"] == kind)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
        ('{"format": 1, "format": 2}', "the key 'format' appears twice"),
        ('{"format": NaN}', "NaN is not valid JSON"),
        ("[]", "expected an object, got a list"),
        ("{}", "format: missing key 'format'"),
        ('{"format": "reinhardt-migrations/2"}', "format: 'reinhardt-migrations/2' is not a format this"),
        ('{"format": "django/1"}', "format: expected 'reinhardt-migrations/1', got the string 'django/1'"),
    ],
)
def test_documents_that_are_not_migrations(text: str, problem: str) -> None:
    message = error_of(text)
    assert message.startswith(f"{SOURCE}: ")
    assert problem in message


def test_the_issue_example_unknown_column_type() -> None:
    data = document()
    data["operations"][3] = {
        "op": "AddField",
        "app_label": "blog",
        "model_name": "Post",
        "field": {"name": "x", "type": {"kind": "varchr", "max_length": 5}},
    }
    message = error_of(json.dumps(data))
    assert message.startswith(f"{SOURCE}: operations[3].field.type: unknown kind 'varchr'; expected one of ")
    assert "varchar" in message


def test_malformed_values_name_their_json_path() -> None:
    def mutate(change: Any) -> str:
        data = document()
        change(data)
        return error_of(data)

    post = operation_index(document(), "CreateModel") + 2  # Author, Membership, Post

    def field(data: dict[str, Any], name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(f for f in data["operations"][post]["fields"] if f["name"] == name)
        return found

    at = f"{SOURCE}: operations[{post}]"
    cases: list[tuple[Any, str]] = [
        (lambda d: d.pop("app_label"), f"{SOURCE}: missing key 'app_label' (Migration needs it)"),
        (
            lambda d: d.update(dependencies="blog"),
            f"{SOURCE}: dependencies: expected a list, got the string 'blog'",
        ),
        (
            lambda d: d["dependencies"].append(["blog"]),
            f"{SOURCE}: dependencies[2]: expected a list of 2 items, got a list",
        ),
        (lambda d: d.update(atomic="yes"), f"{SOURCE}: atomic: expected true or false, got the string 'yes'"),
        (lambda d: d["operations"][post].pop("name"), f"{at}: missing key 'name' (CreateModel needs it)"),
        (lambda d: d["operations"][post].pop("op"), f"{at}.op: expected the operation's name"),
        (
            lambda d: d["operations"][post].update(app_labl="x"),
            f"{at}: unknown key 'app_labl' for CreateModel; expected one of app_label, comment",
        ),
        (
            lambda d: d["operations"][post].update(op="CreateModle"),
            f"{at}: unknown operation 'CreateModle' in migration blog.0002_x; built-in operations are "
            "AddConstraint, AddField,",
        ),
        (
            lambda d: field(d, "title")["type"].update(max_length="200"),
            f"{at}.fields[1].type.max_length: expected an integer, got the string '200'",
        ),
        (
            lambda d: field(d, "title")["type"].update(max_length=True),
            f"{at}.fields[1].type.max_length: expected an integer, got true",
        ),
        (
            lambda d: field(d, "title")["type"].update(max_length=-1),
            f"{at}.fields[1].type: Cannot understand the column type "
            "\"{'kind': 'varchar', 'max_length': -1}\": -1 must be > 0",
        ),
        (
            lambda d: field(d, "title")["type"].pop("kind"),
            f"{at}.fields[1].type: missing key 'kind'; expected one of",
        ),
        (
            lambda d: field(d, "author")["relation"].update(on_delete="EXPLODE"),
            f'{at}.fields[11].relation.on_delete: expected one of "CASCADE", "SET_NULL"',
        ),
        (
            lambda d: field(d, "author")["relation"].update(kind="one_to_many"),
            f'{at}.fields[11].relation.kind: expected one of "foreign_key", "one_to_one", "many_to_many"',
        ),
        (
            lambda d: field(d, "author")["relation"].update(db_table="t"),
            f"{at}.fields[11].relation: invalid Relation: Invalid Relation: only many-to-many",
        ),
        (
            lambda d: field(d, "author")["relation"].update(to=["blog", 1]),
            f"{at}.fields[11].relation.to[1]: expected a string, got the number 1",
        ),
        (
            lambda d: field(d, "slug")["default"].update(kind="magic"),
            f"{at}.fields[2].default: unknown kind 'magic'; expected one of callable, literal, none, sql",
        ),
        (
            lambda d: field(d, "slug")["default"].update(value=[1]),
            f"{at}.fields[2].default.value: expected null or true or false or an integer or a number "
            "or a string, got a list",
        ),
        (
            lambda d: field(d, "body")["type"].update(per_dialect=["x"]),
            f"{at}.fields[8].type.per_dialect: expected an object",
        ),
        (
            lambda d: field(d, "body")["type"]["per_dialect"].update(mysql=5),
            f'{at}.fields[8].type.per_dialect["mysql"]: expected a string, got the number 5',
        ),
        (lambda d: d["operations"][post].update(options=None), f"{at}.options: expected an object, got null"),
        (lambda d: d["operations"][post].update(fields={}), f"{at}.fields: expected a list, got an object"),
        (
            lambda d: d["operations"][post]["fields"].append(7),
            f"{at}.fields[15]: expected an object, got the number 7",
        ),
        (
            lambda d: field(d, "id").update(name=""),
            f"{at}.fields[0]: invalid FieldState: Invalid FieldState.name",
        ),
    ]
    for change, expected in cases:
        message = mutate(change)
        assert message.startswith(expected), f"{message!r} does not start with {expected!r}"


def test_nested_operations_report_their_full_path() -> None:
    data = document()
    run_sql = operation_index(data, "RunSQL")
    data["operations"][run_sql]["state_operations"][0]["field"]["type"] = {"kind": "varchr"}
    message = error_of(data)
    assert message.startswith(
        f"{SOURCE}: operations[{run_sql}].state_operations[0].field.type: unknown kind 'varchr'"
    )
    separate = operation_index(data, "SeparateDatabaseAndState")
    data = document()
    data["operations"][separate]["database_operations"][0]["op"] = "my.Thing"
    message = error_of(data)
    assert message.startswith(
        f"{SOURCE}: operations[{separate}].database_operations[0]: unknown operation 'my.Thing'"
    )


def test_every_malformed_document_raises_only_serialization_errors() -> None:
    # Replace each value of a document, one at a time, by values of other JSON types.
    operations = [op for op in history() if isinstance(op, CreateModel | RunSQL | SeparateDatabaseAndState)]
    base = json.dumps(migration_to_data(rich_migration(operations[2:])))
    replacements: list[Any] = [None, True, 2.5, "x", [], {"kind": "x"}]

    def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))

    messages: list[str] = []
    every_path = list(paths(json.loads(base)))
    for path in every_path:
        for replacement in replacements:
            data = json.loads(base)
            target = data
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = replacement
            try:
                migration_from_data(data, source=SOURCE)
            except SerializationError as error:
                messages.append(str(error))
    assert len(messages) > 2 * len(every_path)
    assert all(message.startswith(f"{SOURCE}: ") for message in messages)


def test_the_serialization_api_performs_no_io() -> None:
    recorded: list[str] = []
    watching = [False]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and (
            event == "open" or event.startswith(("socket.", "subprocess.", "sqlite3.", "os."))
        ):
            recorded.append(event)

    # An audit hook cannot be removed: it stays for the session and records only while watching.
    sys.addaudithook(hook)
    migration = custom_migration()
    watching[0] = True
    try:
        text = migration_to_json(migration)
        data = migration_to_data(migration)
        python = migration_to_python(migration)
        state = replay([rich_migration()])
        state_from_json(state_to_json(state, bookkeeping=True))
        migration_from_data(json.loads(migration_to_json(rich_migration())))
        with pytest.raises(SerializationError):
            migration_from_json(text)  # a custom operation without a resolver
    finally:
        watching[0] = False
    assert recorded == []
    assert data["format"] == FORMAT
    assert "TagModel" in python


# States ------------------------------------------------------------------------


def test_states_round_trip_at_every_step_of_the_history() -> None:
    state = ProjectState()
    for operation in history():
        state = operation.state_forwards(state)
        data = state_to_data(state)
        assert state_from_data(json.loads(json.dumps(data))) == state
        assert state_from_json(state_to_json(state)) == state


def test_state_data_is_canonical() -> None:
    models = list(replay([rich_migration()]))
    forwards = ProjectState.from_models(models).with_extension("a").with_extension("b")
    backwards = ProjectState.from_models(reversed(models)).with_extension("b").with_extension("a")
    assert state_to_json(forwards) == state_to_json(backwards)
    data = state_to_data(forwards)
    assert [(m["app_label"], m["name"]) for m in data["models"]] == sorted(m.key for m in models)
    assert data["extensions"] == ["a", "b"]


def test_bookkeeping_keeps_database_names_through_a_round_trip() -> None:
    # After a rename the unique constraint keeps its first name, which a fresh build would not give.
    state = replay([rich_migration()])
    renamed = RenameField("blog", "Author", "name", "full_name").state_forwards(state)
    field = renamed.model("blog", "Author").field("full_name")
    assert field.unique_name == "blog_author_name_uniq"
    plain, kept = state_to_data(renamed), state_to_data(renamed, bookkeeping=True)
    assert "unique_name" not in json.dumps(plain)
    assert "blog_author_name_uniq" in json.dumps(kept)
    assert (
        state_from_data(kept).model("blog", "Author").field("full_name").unique_name
        == "blog_author_name_uniq"
    )
    assert state_from_data(plain) == renamed


def test_malformed_state_data_is_refused() -> None:
    data = state_to_data(replay([rich_migration()]))
    cases: list[tuple[Any, str]] = [
        ([], "<state>: expected an object, got a list"),
        ({"model": []}, "<state>: unknown key 'model'; expected one of collations, extensions, models"),
        (
            {**data, "models": [*data["models"], data["models"][0]]},
            "<state>: models: ('blog', 'Author') appears twice",
        ),
        ({**data, "extensions": [1]}, "<state>: extensions[0]: expected a string, got the number 1"),
        (
            {"models": [data["models"][1]]},
            "<state>: invalid state: Field blog.Post.author relates to blog.Author",
        ),
        (
            {"models": [{**data["models"][0], "db_table": "blog_posts"}, data["models"][1]]},
            "<state>: invalid state: The table name 'blog_posts' of blog.Post is already used by blog.Author",
        ),
    ]
    for bad, expected in cases:
        with pytest.raises(SerializationError) as caught:
            state_from_data(bad)
        assert str(caught.value).startswith(expected), str(caught.value)

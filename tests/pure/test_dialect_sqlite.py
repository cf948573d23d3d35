"""The SQLite dialect's SQL for each operation, plans, quoting, names, and the catalog parsers.

Expected SQL is what SQLite's documentation requires for each case (native ALTER
TABLE where it is allowed, the 12-step rebuild otherwise), written out by hand.
tests/shell/test_sqlite_dialect_live.py runs the same kinds of statements on real files.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import ClassVar

import attrs
import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import SQLiteDialect, dialect_for
from reinhardt_migrations.pure.dialects.base import BaseDialect
from reinhardt_migrations.pure.dialects.sqlite import (
    parse_create_table,
    parse_index_condition,
    sqlite_affinity,
)
from reinhardt_migrations.pure.errors import IrreversibleOperation, UnknownDialect, UnsupportedOperation
from reinhardt_migrations.pure.fields import CallableDefault, FieldState, LiteralDefault, Relation, SqlDefault
from reinhardt_migrations.pure.introspection import (
    CatalogRows,
    ColumnRow,
    ForeignKeyRow,
    TableRow,
    UniqueRow,
    schema_of,
    state_from_catalog,
)
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    CreateExtension,
    CreateModel,
    DeleteModel,
    Operation,
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
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import AutoField, BigInteger, Double, Integer, Text, Varchar

D = SQLiteDialect()
DEFERRED = "DEFERRABLE INITIALLY DEFERRED"


def pk() -> FieldState:
    return FieldState("id", AutoField(), primary_key=True)


def replay(*operations: Operation) -> ProjectState:
    state = ProjectState()
    for operation in operations:
        state = operation.state_forwards(state)
    return state


AUTHOR = CreateModel("blog", "Author", [pk(), FieldState("name", Varchar(100))])
POST = CreateModel(
    "blog",
    "Post",
    [pk(), FieldState("title", Varchar(200)), FieldState("score", Double(), null=True)],
)
BASE = replay(AUTHOR, POST)


def forwards(operation: Operation, before: ProjectState = BASE) -> list[str]:
    return [s.sql for s in D.forwards(operation, before, operation.state_forwards(before))]


def backwards(operation: Operation, before: ProjectState = BASE) -> list[str]:
    return [s.sql for s in D.backwards(operation, before, operation.state_forwards(before))]


def is_rebuild(sql: Sequence[str], table: str) -> bool:
    """Tell whether ``sql`` is SQLite's rebuild of ``table``: create new__, copy, drop, rename."""
    temporary = f'"new__{table}"'
    return (
        sql[0].startswith(f"CREATE TABLE {temporary} (")
        and any(s.startswith(f"INSERT INTO {temporary} (") for s in sql)
        and f'DROP TABLE "{table}"' in sql
        and f'ALTER TABLE {temporary} RENAME TO "{table}"' in sql
    )


def copy_of(sql: Sequence[str]) -> str:
    """Return the statement of a rebuild that copies the rows."""
    return next(s for s in sql if s.startswith('INSERT INTO "new__'))


# -- create / delete -------------------------------------------------------------------


def test_create_model_renders_keys_defaults_and_named_constraints() -> None:
    operation = CreateModel(
        "shop",
        "Item",
        [
            pk(),
            FieldState("sku", Varchar(20), unique=True),
            FieldState("price", "decimal(10, 2)", default=0),
            FieldState("added", "datetime", default=SqlDefault("CURRENT_TIMESTAMP")),
            FieldState("token", Text(), default=CallableDefault("shop.tokens.new")),
            FieldState("label", Text(), null=True, db_index=True),
            FieldState(
                "maker", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Author", "SET_NULL")
            ),
        ],
        constraints=[ConstraintState.check_that("price_positive", "price >= 0")],
        indexes=[IndexState("item_recent", ["-added", "sku"], condition="label IS NOT NULL")],
    )
    create, *indexes = forwards(operation)
    lines = [line.strip().rstrip(",") for line in create.splitlines()]
    assert lines[0] == 'CREATE TABLE "shop_item" ('
    assert '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT' in lines
    assert '"price" decimal(10, 2) NOT NULL DEFAULT 0' in lines
    assert '"added" datetime NOT NULL DEFAULT (CURRENT_TIMESTAMP)' in lines
    # A callable default is computed in Python: the column has no database default.
    assert '"token" text NOT NULL' in lines
    assert '"maker_id" bigint NULL' in lines
    assert 'CONSTRAINT "shop_item_sku_uniq" UNIQUE ("sku")' in lines
    assert 'CONSTRAINT "price_positive" CHECK (price >= 0)' in lines
    assert (
        'CONSTRAINT "shop_item_maker_id_fk" FOREIGN KEY ("maker_id") REFERENCES "blog_author" ("id") '
        f"ON DELETE SET NULL {DEFERRED}"
    ) in lines
    assert indexes == [
        'CREATE INDEX "shop_item_label_idx" ON "shop_item" ("label")',
        'CREATE INDEX "item_recent" ON "shop_item" ("added" DESC, "sku") WHERE label IS NOT NULL',
    ]


def test_composite_primary_key_is_a_table_constraint_without_autoincrement() -> None:
    operation = CreateModel(
        "t",
        "Pair",
        [FieldState("a", Integer(), primary_key=True), FieldState("b", Integer(), primary_key=True)],
    )
    (create,) = forwards(operation)
    assert 'PRIMARY KEY ("a", "b")' in create
    assert "AUTOINCREMENT" not in create
    assert '"a" integer NOT NULL,' in create


def test_many_to_many_creates_and_drops_its_join_table() -> None:
    operation = AddField(
        "blog", "Post", FieldState("authors", Integer(), relation=Relation("many_to_many", "blog.Author"))
    )
    create, index = forwards(operation)
    assert create.startswith('CREATE TABLE "blog_post_authors" (')
    assert '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT' in create
    assert '"post_id" integer NOT NULL' in create
    assert '"author_id" integer NOT NULL' in create
    assert 'UNIQUE ("post_id", "author_id")' in create
    assert f'FOREIGN KEY ("post_id") REFERENCES "blog_post" ("id") ON DELETE CASCADE {DEFERRED}' in create
    assert f'FOREIGN KEY ("author_id") REFERENCES "blog_author" ("id") ON DELETE CASCADE {DEFERRED}' in create
    assert index == 'CREATE INDEX "blog_post_authors_target_idx" ON "blog_post_authors" ("author_id")'
    assert backwards(operation) == ['DROP TABLE "blog_post_authors"']


def test_self_referential_many_to_many_uses_from_and_to_columns() -> None:
    operation = AddField(
        "blog", "Author", FieldState("friends", Integer(), relation=Relation("many_to_many", "blog.Author"))
    )
    create = forwards(operation)[0]
    assert '"from_author_id" integer NOT NULL' in create
    assert '"to_author_id" integer NOT NULL' in create


def test_delete_model_drops_join_tables_first() -> None:
    with_tags = AddField(
        "blog", "Post", FieldState("tags", Integer(), relation=Relation("many_to_many", "blog.Author"))
    )
    state = replay(AUTHOR, POST, with_tags)
    assert forwards(DeleteModel("blog", "Post"), state) == [
        'DROP TABLE "blog_post_tags"',
        'DROP TABLE "blog_post"',
    ]
    # Undoing the delete creates the table before the join table that points at it.
    undo = backwards(DeleteModel("blog", "Post"), state)
    assert undo[0].startswith('CREATE TABLE "blog_post" (')
    assert undo[1].startswith('CREATE TABLE "blog_post_tags" (')


def test_unmanaged_models_render_nothing() -> None:
    operation = CreateModel("legacy", "Thing", [pk()], managed=False)
    assert forwards(operation) == []
    state = replay(operation)
    assert forwards(AddField("legacy", "Thing", FieldState("x", Integer(), null=True)), state) == []
    # Switching managed never touches the database (the table may already exist).
    assert forwards(AlterModelOptions("legacy", "Thing", managed=True), state) == []


# -- model-level alterations -----------------------------------------------------------


def test_rename_model_renames_its_table_and_join_columns() -> None:
    with_tags = AddField(
        "blog", "Post", FieldState("tags", Integer(), relation=Relation("many_to_many", "blog.Author"))
    )
    state = replay(AUTHOR, POST, with_tags)
    assert forwards(RenameModel("blog", "Author", "Writer"), state) == [
        'ALTER TABLE "blog_author" RENAME TO "blog_writer"',
        'ALTER TABLE "blog_post_tags" RENAME COLUMN "author_id" TO "writer_id"',
    ]
    # The join table keeps the name the state holds; only its column follows the model.
    assert backwards(RenameModel("blog", "Author", "Writer"), state) == [
        'ALTER TABLE "blog_writer" RENAME TO "blog_author"',
        'ALTER TABLE "blog_post_tags" RENAME COLUMN "writer_id" TO "author_id"',
    ]


def test_rename_model_with_explicit_table_changes_nothing() -> None:
    state = replay(CreateModel("blog", "Tag", [pk()], db_table="tags"))
    assert forwards(RenameModel("blog", "Tag", "Label"), state) == []


def test_foreign_keys_follow_a_renamed_table_without_rebuilding_the_referrer() -> None:
    with_fk = AddField(
        "blog",
        "Post",
        FieldState("author", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Author")),
    )
    state = replay(AUTHOR, POST, with_fk)
    # SQLite rewrites REFERENCES clauses itself when a table is renamed.
    assert forwards(AlterModelTable("blog", "Author", "writers"), state) == [
        'ALTER TABLE "blog_author" RENAME TO "writers"'
    ]


def test_alter_unique_together_rebuilds_with_a_named_constraint() -> None:
    sql = forwards(AlterUniqueTogether("blog", "Post", [("title", "score")]))
    assert is_rebuild(sql, "blog_post")
    assert 'CONSTRAINT "blog_post_title_score_uniq" UNIQUE ("title", "score")' in sql[0]


def test_alter_model_options_renders_nothing_on_sqlite() -> None:
    assert forwards(AlterModelOptions("blog", "Post", comment="Posts")) == []


# -- fields ----------------------------------------------------------------------------


def test_add_nullable_field_is_native() -> None:
    operation = AddField("blog", "Post", FieldState("views", Integer(), null=True))
    assert forwards(operation) == ['ALTER TABLE "blog_post" ADD COLUMN "views" integer NULL']
    assert backwards(operation) == ['ALTER TABLE "blog_post" DROP COLUMN "views"']


def test_add_not_null_field_with_constant_default_is_native() -> None:
    operation = AddField("blog", "Post", FieldState("draft", "bool", default=True))
    assert forwards(operation) == ['ALTER TABLE "blog_post" ADD COLUMN "draft" bool NOT NULL DEFAULT 1']


def test_add_indexed_field_adds_the_column_then_the_index() -> None:
    operation = AddField("blog", "Post", FieldState("slug", Varchar(50), null=True, db_index=True))
    assert forwards(operation) == [
        'ALTER TABLE "blog_post" ADD COLUMN "slug" varchar(50) NULL',
        'CREATE INDEX "blog_post_slug_idx" ON "blog_post" ("slug")',
    ]
    assert backwards(operation) == [
        'DROP INDEX "blog_post_slug_idx"',
        'ALTER TABLE "blog_post" DROP COLUMN "slug"',
    ]


def test_add_nullable_foreign_key_is_native_with_an_inline_reference() -> None:
    operation = AddField(
        "blog",
        "Post",
        FieldState("author", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Author")),
    )
    assert forwards(operation) == [
        'ALTER TABLE "blog_post" ADD COLUMN "author_id" bigint NULL CONSTRAINT "blog_post_author_id_fk" '
        f'REFERENCES "blog_author" ("id") ON DELETE CASCADE {DEFERRED}'
    ]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (FieldState("code", Varchar(10), null=True, unique=True), "is unique"),
        (FieldState("at", "datetime", default=SqlDefault("CURRENT_TIMESTAMP")), "expression default"),
        (FieldState("n", Integer()), "NOT NULL without a default"),
        (
            FieldState("author", BigInteger(), default=1, relation=Relation("foreign_key", "blog.Author")),
            "non-NULL default",
        ),
    ],
)
def test_add_field_that_sqlite_cannot_add_in_place_rebuilds(field: FieldState, reason: str) -> None:
    operation = AddField("blog", "Post", field)
    sql = forwards(operation)
    assert is_rebuild(sql, "blog_post")
    after = operation.state_forwards(BASE)
    change = D._pieces(0, operation, BASE, after, backwards=False)[0].changes
    assert change is not None
    assert any(reason in r for r in D.rebuild_reasons(change[0]))


def test_one_off_default_fills_rows_without_staying_in_the_table() -> None:
    operation = AddField("blog", "Post", FieldState("rank", Integer(), default=5), preserve_default=False)
    sql = forwards(operation)
    assert is_rebuild(sql, "blog_post")
    assert '"rank" integer NOT NULL\n' in sql[0]
    assert "DEFAULT" not in sql[0]
    copy = copy_of(sql)
    assert copy == (
        'INSERT INTO "new__blog_post" ("id", "title", "score", "rank") '
        'SELECT "id", "title", "score", 5 FROM "blog_post"'
    )


def test_remove_plain_field_is_native() -> None:
    assert forwards(RemoveField("blog", "Post", "score")) == ['ALTER TABLE "blog_post" DROP COLUMN "score"']


def test_remove_field_before_sqlite_3_35_rebuilds() -> None:
    old = SQLiteDialect(version=(3, 34, 1))
    operation = RemoveField("blog", "Post", "score")
    sql = [s.sql for s in old.forwards(operation, BASE, operation.state_forwards(BASE))]
    assert is_rebuild(sql, "blog_post")
    assert '"score"' not in sql[0]


@pytest.mark.parametrize(
    "field",
    [
        FieldState("code", Varchar(10), null=True, unique=True),
        FieldState("author", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Author")),
    ],
)
def test_remove_unique_or_foreign_key_field_rebuilds(field: FieldState) -> None:
    state = AddField("blog", "Post", field).state_forwards(BASE)
    sql = forwards(RemoveField("blog", "Post", field.name), state)
    assert is_rebuild(sql, "blog_post")
    copy = copy_of(sql)
    assert copy == (
        'INSERT INTO "new__blog_post" ("id", "title", "score") SELECT "id", "title", "score" FROM "blog_post"'
    )


def test_remove_many_to_many_field_drops_the_join_table() -> None:
    operation = AddField(
        "blog", "Post", FieldState("tags", Integer(), relation=Relation("many_to_many", "blog.Author"))
    )
    assert forwards(RemoveField("blog", "Post", "tags"), operation.state_forwards(BASE)) == [
        'DROP TABLE "blog_post_tags"'
    ]


def test_rename_field_is_native_and_reversible() -> None:
    operation = RenameField("blog", "Post", "title", "headline")
    assert forwards(operation) == ['ALTER TABLE "blog_post" RENAME COLUMN "title" TO "headline"']
    assert backwards(operation) == ['ALTER TABLE "blog_post" RENAME COLUMN "headline" TO "title"']


def test_rename_field_with_fixed_column_renders_nothing() -> None:
    state = replay(CreateModel("blog", "Note", [pk(), FieldState("body", Text(), db_column="txt")]))
    assert forwards(RenameField("blog", "Note", "body", "text"), state) == []


def test_rename_field_before_sqlite_3_25_rebuilds() -> None:
    old = SQLiteDialect(version=(3, 24, 0))
    operation = RenameField("blog", "Post", "title", "headline")
    sql = [s.sql for s in old.forwards(operation, BASE, operation.state_forwards(BASE))]
    assert is_rebuild(sql, "blog_post")
    assert copy_of(sql) == (
        'INSERT INTO "new__blog_post" ("id", "headline", "score") '
        'SELECT "id", "title", "score" FROM "blog_post"'
    )


def test_alter_field_type_rebuilds_and_rounds_reals_into_integers() -> None:
    sql = forwards(AlterField("blog", "Post", "score", FieldState("score", Integer(), null=True)))
    assert is_rebuild(sql, "blog_post")
    assert '"score" integer NULL' in sql[0]
    copy = copy_of(sql)
    assert (
        'CASE WHEN typeof("score") = \'real\' THEN CAST(round("score") AS INTEGER) ELSE "score" END' in copy
    )


def test_alter_field_to_not_null_fills_nulls_with_the_default() -> None:
    sql = forwards(AlterField("blog", "Post", "score", FieldState("score", Double(), default=0.5)))
    copy = copy_of(sql)
    assert 'COALESCE("score", 0.5)' in copy


def test_alter_field_index_only_is_native() -> None:
    operation = AlterField("blog", "Post", "title", FieldState("title", Varchar(200), db_index=True))
    assert forwards(operation) == ['CREATE INDEX "blog_post_title_idx" ON "blog_post" ("title")']
    assert backwards(operation) == ['DROP INDEX "blog_post_title_idx"']


@pytest.mark.parametrize(
    "field",
    [
        FieldState("title", Varchar(200), comment="shown on the page"),
        FieldState("title", Varchar(200), default=CallableDefault("blog.titles.make")),
    ],
)
def test_alter_field_invisible_to_sqlite_renders_nothing(field: FieldState) -> None:
    assert forwards(AlterField("blog", "Post", "title", field)) == []


# -- indexes and constraints -----------------------------------------------------------


def test_index_operations_are_native() -> None:
    index = IndexState("post_title_score", ["title", "-score"], unique=True)
    add = AddIndex("blog", "Post", index)
    assert forwards(add) == ['CREATE UNIQUE INDEX "post_title_score" ON "blog_post" ("title", "score" DESC)']
    state = add.state_forwards(BASE)
    assert forwards(RemoveIndex("blog", "Post", "post_title_score"), state) == [
        'DROP INDEX "post_title_score"'
    ]
    # SQLite has no ALTER INDEX ... RENAME: the index is dropped and created under the new name.
    assert forwards(RenameIndex("blog", "Post", "post_title_score", "post_ts"), state) == [
        'DROP INDEX "post_title_score"',
        'CREATE UNIQUE INDEX "post_ts" ON "blog_post" ("title", "score" DESC)',
    ]


def test_constraints_rebuild_the_table() -> None:
    add = AddConstraint("blog", "Post", ConstraintState.check_that("score_range", "score BETWEEN 0 AND 10"))
    sql = forwards(add)
    assert is_rebuild(sql, "blog_post")
    assert 'CONSTRAINT "score_range" CHECK (score BETWEEN 0 AND 10)' in sql[0]
    removed = forwards(RemoveConstraint("blog", "Post", "score_range"), add.state_forwards(BASE))
    assert is_rebuild(removed, "blog_post")
    assert "score_range" not in removed[0]


def test_rebuild_recreates_every_index_after_the_rename() -> None:
    state = AddIndex("blog", "Post", IndexState("post_score", ["score"])).state_forwards(BASE)
    sql = forwards(AddConstraint("blog", "Post", ConstraintState.unique_on("post_uniq", ["title"])), state)
    assert sql[-1] == 'CREATE INDEX "post_score" ON "blog_post" ("score")'
    assert sql[-4:-1] == [
        "PRAGMA legacy_alter_table = ON",
        'ALTER TABLE "new__blog_post" RENAME TO "blog_post"',
        "PRAGMA legacy_alter_table = OFF",
    ]


def test_rebuild_keeps_the_autoincrement_counter() -> None:
    sql = D.forwards(
        AddConstraint("blog", "Post", ConstraintState.check_that("c", "1")),
        BASE,
        AddConstraint("blog", "Post", ConstraintState.check_that("c", "1")).state_forwards(BASE),
    )
    sequence = [s for s in sql if "sqlite_sequence" in s.sql]
    assert len(sequence) == 1
    assert sequence[0].params == ("new__blog_post", "blog_post")


def test_rebuild_copies_rowid_of_tables_without_integer_key() -> None:
    state = replay(CreateModel("t", "Log", [FieldState("line", Text())]))
    operation = AlterField("t", "Log", "line", FieldState("line", Text(), null=True))
    copy = copy_of(forwards(operation, state))
    assert copy == 'INSERT INTO "new__t_log" (rowid, "line") SELECT rowid, "line" FROM "t_log"'


# -- special operations ----------------------------------------------------------------


def test_run_sql_renders_its_sql_and_reverse_sql() -> None:
    operation = RunSQL(["UPDATE a SET b = 1", "UPDATE a SET c = 2"], reverse_sql="UPDATE a SET b = 0")
    assert forwards(operation) == ["UPDATE a SET b = 1", "UPDATE a SET c = 2"]
    assert backwards(operation) == ["UPDATE a SET b = 0"]
    with pytest.raises(IrreversibleOperation):
        backwards(RunSQL("SELECT 1"))


def test_run_code_is_a_step_for_the_executor() -> None:
    migration = Migration("0002", "blog", operations=[RunCode("blog.data.fill", "blog.data.unfill")])
    (step,) = D.plan_migration(migration, BASE).steps
    assert (step.code, step.statements, step.operation_indexes) == ("blog.data.fill", (), (0,))
    (back,) = D.plan_migration(migration, BASE, backwards=True).steps
    assert back.code == "blog.data.unfill"
    one_way = Migration("0003", "blog", operations=[RunCode("blog.data.fill")])
    with pytest.raises(IrreversibleOperation, match=r"blog\.0003"):
        D.plan_migration(one_way, BASE, backwards=True)


def test_separate_database_and_state_renders_only_database_operations() -> None:
    rename = RenameField("blog", "Post", "title", "headline")
    operation = SeparateDatabaseAndState(
        database_operations=[rename, RunSQL("SELECT 1", "SELECT 2")], state_operations=[rename]
    )
    assert forwards(operation) == ['ALTER TABLE "blog_post" RENAME COLUMN "title" TO "headline"', "SELECT 1"]
    assert backwards(operation) == ["SELECT 2", 'ALTER TABLE "blog_post" RENAME COLUMN "headline" TO "title"']
    state_only = SeparateDatabaseAndState(state_operations=[rename])
    assert forwards(state_only) == []


def test_postgresql_operations_are_refused_before_anything_runs() -> None:
    migration = Migration("0002", "blog", operations=[RunSQL("SELECT 1"), CreateExtension("hstore")])
    with pytest.raises(UnsupportedOperation, match="sqlite"):
        D.plan_migration(migration, BASE)


@attrs.frozen
class _Touch:
    """A custom operation with a database side of its own."""

    table: str
    reversible: ClassVar[bool] = True
    migration_name_fragment: ClassVar[str] = "touch"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state

    def describe(self) -> str:
        return f"Touch {self.table}"

    def footprint(self) -> object:
        return None

    def reduce(self, other: object) -> None:
        return None

    def database_forwards(
        self, dialect: BaseDialect, before: ProjectState, after: ProjectState
    ) -> list[Statement]:
        return [Statement(f"UPDATE {dialect.quote(self.table)} SET x = x")]


def test_custom_operations_render_through_their_own_method() -> None:
    operation = _Touch("my table")
    assert forwards(operation) == ['UPDATE "my table" SET x = x']  # type: ignore[arg-type]
    # Without database_backwards it cannot be undone.
    with pytest.raises(IrreversibleOperation):
        backwards(operation)  # type: ignore[arg-type]


def test_custom_operation_without_database_side_is_unsupported() -> None:
    @attrs.frozen
    class Opaque(_Touch):
        database_forwards = None  # type: ignore[assignment]

    with pytest.raises(UnsupportedOperation, match="database_forwards"):
        forwards(Opaque("x"))  # type: ignore[arg-type]


def test_statements_between_renders_a_state_change_for_custom_operations() -> None:
    after = AddField("blog", "Post", FieldState("views", Integer(), null=True)).state_forwards(BASE)
    assert [s.sql for s in D.statements_between(BASE, after)] == [
        'ALTER TABLE "blog_post" ADD COLUMN "views" integer NULL'
    ]


# -- plans -----------------------------------------------------------------------------


def alters(count: int) -> list[Operation]:
    kinds = [Integer(), Double(), Text()]
    return [
        AlterField("blog", "Post", "score", FieldState("score", kinds[i % 3], null=True))
        for i in range(count)
    ]


def test_consecutive_alterations_of_one_table_share_one_rebuild() -> None:
    migration = Migration(
        "0002", "blog", operations=[*alters(3), RenameField("blog", "Post", "title", "headline")]
    )
    plan = D.plan_migration(migration, BASE)
    (step,) = plan.steps
    assert step.operation_indexes == (0, 1, 2, 3)
    sql = [s.sql for s in step.statements]
    assert is_rebuild(sql, "blog_post")
    assert sum(s.startswith("CREATE TABLE") for s in sql) == 1
    assert '"score" text NULL' in sql[0]  # the last definition wins
    assert copy_of(sql).startswith('INSERT INTO "new__blog_post" ("id", "headline", "score")')
    assert plan.after == migration.apply(BASE)


def test_other_operations_end_a_shared_rebuild() -> None:
    operations = [*alters(2), RunSQL("SELECT 1", "SELECT 1"), *alters(2)]
    plan = D.plan_migration(Migration("0002", "blog", operations=operations), BASE)
    assert [step.operation_indexes for step in plan.steps] == [(0, 1), (2,), (3, 4)]


def test_a_plan_with_a_rebuild_switches_foreign_keys_off_around_its_transaction() -> None:
    plan = D.plan_migration(Migration("0002", "blog", operations=alters(1)), BASE)
    assert [s.sql for s in plan.setup] == ["PRAGMA foreign_keys = OFF"]
    assert not plan.setup[0].transactional
    assert [(s.sql, s.expect_no_rows) for s in plan.checks] == [("PRAGMA foreign_key_check", True)]
    assert [s.sql for s in plan.teardown] == ["PRAGMA foreign_keys = ON"]
    assert plan.atomic
    native = D.plan_migration(
        Migration("0003", "blog", operations=[RemoveField("blog", "Post", "score")]), BASE
    )
    assert (native.setup, native.checks, native.teardown) == ((), (), ())


def test_backwards_plan_undoes_in_reverse_order() -> None:
    operations: list[Operation] = [
        AddField("blog", "Post", FieldState("views", Integer(), null=True)),
        RenameField("blog", "Post", "views", "hits"),
        RunSQL("SELECT 'forwards'", "SELECT 'backwards'"),
    ]
    migration = Migration("0002", "blog", operations=operations)
    plan = D.plan_migration(migration, BASE, backwards=True)
    assert (plan.before, plan.after, plan.backwards) == (migration.apply(BASE), BASE, True)
    assert [s.sql for step in plan.steps for s in step.statements] == [
        "SELECT 'backwards'",
        'ALTER TABLE "blog_post" RENAME COLUMN "hits" TO "views"',
        'ALTER TABLE "blog_post" DROP COLUMN "views"',
    ]
    assert plan.steps[0].description.startswith("Undo: ")


def test_non_atomic_migration_plans_non_atomic() -> None:
    plan = D.plan_migration(Migration("0002", "blog", operations=alters(1), atomic=False), BASE)
    assert not plan.atomic


def test_describe_prints_the_plan_as_commented_sql() -> None:
    plan = D.plan_migration(
        Migration("0002", "blog", operations=[*alters(1), RunCode("blog.data.fill")]), BASE
    )
    text = plan.describe()
    assert text.startswith("PRAGMA foreign_keys = OFF;")
    assert "-- Alter field score on blog.Post (rebuilds the table:" in text
    assert "-- calls blog.data.fill(connection, state)" in text
    assert text.endswith("PRAGMA foreign_keys = ON;\n-- runs outside the transaction")


_DETERMINISM_SCRIPT = """
from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AlterField, CreateModel, AddField
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.state import ProjectState
fields = [FieldState("id", "auto", primary_key=True)]
fields += [FieldState(f"f{i}", "integer", null=True, unique=i % 3 == 0, db_index=i % 2 == 0)
           for i in range(30)]
ops = [CreateModel("a", "M", fields,
                   constraints=[ConstraintState.check_that(f"c{i}", "1") for i in range(10)],
                   indexes=[IndexState(f"i{i}", [f"f{i}", f"-f{i+1}"]) for i in range(10)])]
ops += [CreateModel("a", f"N{i}", [FieldState("id", "auto", primary_key=True),
        FieldState("m", "integer", relation=Relation("many_to_many", "a.M"))]) for i in range(10)]
ops += [AlterField("a", "M", f"f{i}", FieldState(f"f{i}", "bigint", null=True)) for i in range(1, 30, 7)]
d = dialect_for("sqlite")
m = Migration("0001", "a", operations=ops)
print(d.plan_migration(m, ProjectState()).describe())
print(d.plan_migration(m, ProjectState(), backwards=True).describe())
"""


def test_sql_is_byte_identical_under_different_hash_seeds() -> None:
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    assert "CREATE TABLE" in outputs.pop()


# -- quoting and names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("order", '"order"'),
        ('a"b', '"a""b"'),
        ("naïve 表", '"naïve 表"'),
        ("my table", '"my table"'),
        ("MixedCase", '"MixedCase"'),
    ],
)
def test_identifiers_are_always_quoted(name: str, quoted: str) -> None:
    assert D.quote(name) == quoted


def test_odd_identifiers_reach_sql_only_quoted() -> None:
    operation = CreateModel(
        "x", "Order", [pk(), FieldState('a"b', Integer(), db_index=True)], db_table="order"
    )
    create, index = forwards(operation, ProjectState())
    assert create.startswith('CREATE TABLE "order" (')
    assert '"a""b" integer NOT NULL' in create
    assert index == 'CREATE INDEX "order_a""b_idx" ON "order" ("a""b")'


def test_identifiers_with_nul_are_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        D.quote("a\x00b")


def test_sqlite_keeps_long_names_and_limited_dialects_shorten_them_deterministically() -> None:
    long_name = "index_" + "x" * 100
    assert D.object_name(long_name) == long_name  # SQLite has no length limit

    class Limited(SQLiteDialect):
        max_identifier_bytes: ClassVar[int | None] = 63

    limited = Limited()
    short = limited.object_name(long_name)
    assert len(short.encode()) <= 63
    assert short == limited.object_name(long_name)
    assert short != limited.object_name(long_name + "y")
    assert short.startswith("index_xxx")
    sql = limited.create_index_sql(
        __import__("reinhardt_migrations.pure.dialects.tables", fromlist=["IndexDef"]).IndexDef(
            long_name, [("a", False)]
        ),
        "t",
    )
    assert f'"{short}"' in sql


def test_dialect_for_names_and_urls() -> None:
    assert isinstance(dialect_for("sqlite"), SQLiteDialect)
    assert isinstance(dialect_for("sqlite:///db.sqlite3"), SQLiteDialect)
    assert isinstance(dialect_for("SQLite3:///:memory:"), SQLiteDialect)
    with pytest.raises(UnknownDialect, match="oracle"):
        dialect_for("oracle://x")


# -- types and affinities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "affinity"),
    [
        ("integer", "INTEGER"),
        ("bigint", "INTEGER"),
        ("varchar(20)", "TEXT"),
        ("char(32)", "TEXT"),
        ("blob", "BLOB"),
        ("", "BLOB"),
        ("real", "REAL"),
        ("double", "REAL"),
        ("decimal(10, 2)", "NUMERIC"),
        ("bool", "NUMERIC"),
        ("datetime", "NUMERIC"),
    ],
)
def test_sqlite_affinity_rules(declared: str, affinity: str) -> None:
    assert sqlite_affinity(declared) == affinity


def test_uuid_json_and_array_columns_keep_text_affinity() -> None:
    # "123" stored in a uuid or JSON column must stay a string; arrays are JSON text here.
    from reinhardt_migrations.pure.types import Array, Json, Uuid

    assert sqlite_affinity(D.column_type_sql(Uuid())) == "TEXT"
    assert sqlite_affinity(D.column_type_sql(Json())) == "TEXT"
    assert D.column_type_sql(Array(Integer())) == "text"


def test_a_type_without_sqlite_spelling_is_refused_with_our_error() -> None:
    from reinhardt_migrations.pure.types import ColumnType

    @attrs.frozen
    class Geometry(ColumnType):
        kind: ClassVar[str] = "geometry"

    with pytest.raises(UnsupportedOperation, match="RawType"):
        D.column_type_sql(Geometry())


# -- parsing SQLite's SQL --------------------------------------------------------------


def test_parse_create_table_finds_names_checks_and_autoincrement() -> None:
    sql = (
        'CREATE TABLE "t" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
        '"a""b" text CONSTRAINT col_u UNIQUE CHECK (length("a""b") > 0), '
        "c int CONSTRAINT c_fk REFERENCES other (id) ON DELETE CASCADE, "
        "d text DEFAULT ('x, (y)') /* a comment, with a comma */, "
        'CONSTRAINT "pair, u" UNIQUE ("c", d), CONSTRAINT chk CHECK (c > 0 AND d <> \')\'), '
        "UNIQUE (d), FOREIGN KEY (d, c) REFERENCES other (a, b))"
    )
    parsed = parse_create_table(sql)
    assert parsed.autoincrement == ("id",)
    assert parsed.uniques == (("col_u", ('a"b',)), ("pair, u", ("c", "d")), (None, ("d",)))
    assert parsed.checks == ((None, 'length("a""b") > 0'), ("chk", "c > 0 AND d <> ')'"))
    assert parsed.foreign_keys == (("c_fk", ("c",)), (None, ("d", "c")))


def test_parse_index_condition() -> None:
    assert parse_index_condition('CREATE INDEX "i" ON "t" ("a" DESC) WHERE a > 0 AND "b" IS NULL') == (
        'a > 0 AND "b" IS NULL'
    )
    assert parse_index_condition('CREATE UNIQUE INDEX "i" ON "t" ("a")') is None
    assert parse_index_condition(None) is None


# -- catalog -> state ------------------------------------------------------------------


def test_state_from_catalog_builds_models_named_by_table() -> None:
    rows = CatalogRows(
        tables=[TableRow("authors"), TableRow("books")],
        columns=[
            ColumnRow("authors", "id", "INTEGER", False, None, 1, True),
            ColumnRow("authors", "email", "varchar(200)", False, "'none'"),
            ColumnRow("books", "id", "INTEGER", False, None, 1, True),
            ColumnRow("books", "author_id", "bigint", True),
            ColumnRow("books", "pages", "integer", False, "0"),
            ColumnRow("books", "weird", "geometry(point)", True, "random()"),
        ],
        uniques=[UniqueRow("authors", "authors_email_uniq", ["email"])],
        foreign_keys=[
            ForeignKeyRow("books", "books_author_fk", ["author_id"], "authors", ["id"], "SET NULL")
        ],
    )
    state = state_from_catalog(rows, app_label="inspected")
    books = state.model("inspected", "books")
    author = books.field("author")
    assert author.column == "author_id"
    assert author.relation is not None
    assert author.relation.to == ("inspected", "authors")
    assert author.relation.on_delete.value == "SET_NULL"
    assert author.relation.constraint_name == "books_author_fk"
    assert books.field("id").type == AutoField()
    assert books.field("pages").default == LiteralDefault(0)
    assert books.field("weird").default == SqlDefault("random()")
    assert books.field("weird").type.describe() == "raw(geometry(point))"
    email = state.model("inspected", "authors").field("email")
    assert (email.unique, email.unique_name, email.default) == (
        True,
        "authors_email_uniq",
        LiteralDefault("none"),
    )


# -- purity ----------------------------------------------------------------------------

_IO_EVENTS = ("open", "sqlite3.connect", "socket.connect", "subprocess.Popen", "os.system", "shutil.")
_recorded: list[str] = []
_recording = threading.local()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if getattr(_recording, "on", False) and event.startswith(_IO_EVENTS):
        _recorded.append(event)


sys.addaudithook(_audit)


def test_planning_and_introspection_do_no_io() -> None:
    operations = [
        *alters(2),
        AddField(
            "blog", "Post", FieldState("tags", Integer(), relation=Relation("many_to_many", "blog.Author"))
        ),
        RunCode("blog.data.fill", "blog.data.unfill"),
        RenameModel("blog", "Author", "Writer"),
    ]
    migration = Migration("0002", "blog", operations=operations)
    rows = CatalogRows(
        tables=[TableRow("t")], columns=[ColumnRow("t", "id", "INTEGER", False, None, 1, True)]
    )
    _recorded.clear()
    _recording.on = True
    try:
        plan = D.plan_migration(migration, BASE)
        D.plan_migration(migration, BASE, backwards=True).describe()
        schema_of(plan.after, D)
        state_from_catalog(rows)
        parse_create_table('CREATE TABLE "t" ("id" integer PRIMARY KEY AUTOINCREMENT)')
    finally:
        _recording.on = False
    assert _recorded == []

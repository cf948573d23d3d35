"""The PostgreSQL dialect's SQL for each kind of change, plans, names, and reading the catalog's text.

Expected SQL is written out by hand from PostgreSQL's documentation (``ALTER TABLE``,
``CREATE INDEX``, identity columns). The catalog texts below are what PostgreSQL 15
prints (``format_type``, ``pg_get_expr``) for the columns and defaults our SQL creates;
tests/shell/test_postgresql_*.py run the same statements on a real server.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import PostgreSQLDialect, dialect_for
from reinhardt_migrations.pure.dialects.tables import ColumnDef, TableChange, TableDef
from reinhardt_migrations.pure.errors import UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState, LiteralDefault, Relation, SqlDefault
from reinhardt_migrations.pure.introspection import schema_of
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.names import shorten_name
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AddIndexConcurrently,
    AlterField,
    AlterModelTable,
    CreateCollation,
    CreateExtension,
    CreateModel,
    DeleteModel,
    DropExtension,
    Operation,
    RemoveCollation,
    RemoveIndexConcurrently,
    RenameField,
    RenameIndex,
    RenameModel,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    Array,
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    Char,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Duration,
    Float,
    Integer,
    Json,
    RawType,
    SmallInteger,
    Text,
    Time,
    Uuid,
    Varchar,
    parse_sql_type,
)

D = PostgreSQLDialect()
DEFERRED = "DEFERRABLE INITIALLY DEFERRED"


def pk(column_type: ColumnType | None = None) -> FieldState:
    return FieldState("id", column_type or BigAutoField(), primary_key=True)


def replay(*operations: Operation, state: ProjectState | None = None) -> ProjectState:
    state = state or ProjectState()
    for operation in operations:
        state = operation.state_forwards(state)
    return state


AUTHOR = CreateModel("blog", "Author", [pk(), FieldState("name", Varchar(100))])
POST = CreateModel(
    "blog",
    "Post",
    [
        pk(),
        FieldState("title", Varchar(200)),
        FieldState("author", BigInteger(), relation=Relation("foreign_key", "blog.Author")),
    ],
)
BASE = replay(AUTHOR, POST)


def forwards(operation: Operation, before: ProjectState = BASE) -> list[str]:
    return [s.sql for s in D.forwards(operation, before, operation.state_forwards(before))]


def backwards(operation: Operation, before: ProjectState = BASE) -> list[str]:
    return [s.sql for s in D.backwards(operation, before, operation.state_forwards(before))]


# -- types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column_type", "ours", "catalog"),
    [
        (Integer(), "integer", "integer"),
        (BigInteger(), "bigint", "bigint"),
        (SmallInteger(), "smallint", "smallint"),
        (AutoField(), "integer", "integer"),
        (BigAutoField(), "bigint", "bigint"),
        (Boolean(), "boolean", "boolean"),
        (Varchar(20), "varchar(20)", "character varying(20)"),
        (Char(3), "char(3)", "character(3)"),
        (Text(), "text", "text"),
        (Decimal(10, 2), "numeric(10, 2)", "numeric(10,2)"),
        (Float(), "real", "real"),
        (Double(), "double precision", "double precision"),
        (Date(), "date", "date"),
        (DateTime(), "timestamp", "timestamp without time zone"),
        (DateTime(timezone=True), "timestamptz", "timestamp with time zone"),
        (Time(), "time", "time without time zone"),
        (Duration(), "interval", "interval"),
        (Uuid(), "uuid", "uuid"),
        (Json(), "jsonb", "jsonb"),
        (Binary(), "bytea", "bytea"),
        (Array(Integer()), "integer[]", "integer[]"),
        (Array(Varchar(20)), "varchar(20)[]", "character varying(20)[]"),
        (RawType("citext", {"mysql": "varchar(100)"}), "citext", "citext"),
        (RawType("int4"), "int4", "integer"),
    ],
)
def test_types_are_spelled_short_and_compare_with_the_catalog_spelling(
    column_type: ColumnType, ours: str, catalog: str
) -> None:
    assert D.column_type_sql(column_type) == ours
    assert D.normalise_type(ours) == D.normalise_type(catalog)


@pytest.mark.parametrize("catalog", ["character varying(20)[]", "timestamp with time zone", "numeric(10,2)"])
def test_catalog_type_spellings_parse_back_to_the_same_type(catalog: str) -> None:
    # state_from_catalog parses what the catalog prints; our spelling must mean the same type.
    parsed = parse_sql_type(catalog)
    assert D.normalise_type(D.column_type_sql(parsed)) == D.normalise_type(catalog)


def test_auto_keys_are_identity_columns() -> None:
    sql = forwards(CreateModel("shop", "Item", [pk(AutoField())]), ProjectState())
    assert sql[0] == (
        'CREATE TABLE "shop_item" (\n    "id" integer NOT NULL GENERATED BY DEFAULT AS IDENTITY,\n'
        '    PRIMARY KEY ("id")\n)'
    )


# -- defaults and expressions as the catalog prints them ---------------------------------------


@pytest.mark.parametrize(
    ("value", "catalog"),
    [
        ("x'y", "'x''y'::character varying"),
        (-5, "'-5'::integer"),
        (9223372036854775807, "'9223372036854775807'::bigint"),
        (1e10, "'10000000000'::numeric"),
        (-2.25, "'-2.25'::numeric"),
        (1.5, "1.5"),
        (0.0, "0.0"),
        (True, "true"),
        (None, "NULL::character varying"),
        ("", "''::bpchar"),
        ("2024-02-29", "'2024-02-29'::date"),
        ("a\nb", "'a\nb'::text"),
    ],
)
def test_literal_defaults_compare_with_the_catalog_text(value: object, catalog: str) -> None:
    ours = D.default_sql(LiteralDefault(value))  # type: ignore[arg-type]
    assert D.normalise_default(ours) == D.normalise_default(catalog)


def test_timestamptz_defaults_compare_by_wall_time_in_the_session_zone() -> None:
    ours = D.default_sql(LiteralDefault("2024-02-29 12:34:56"))
    catalog = "'2024-02-29 12:34:56+00'::timestamp with time zone"
    assert D.normalise_default(ours) == D.normalise_default(catalog)


def test_defaults_of_different_values_or_types_stay_apart() -> None:
    assert D.normalise_default("'5'::character varying") != D.normalise_default("5")
    assert D.normalise_default("'-5'::integer") != D.normalise_default("'-6'::integer")
    assert D.normalise_default(D.default_sql(SqlDefault("CURRENT_TIMESTAMP"))) == "CURRENT_TIMESTAMP"


def test_catalog_defaults_read_back_as_literals() -> None:
    # state_from_catalog parses these: a number, and a string with its spacing intact.
    assert D.catalog_default("'-5'::integer") == "-5"
    assert D.catalog_default("'a  b\nc'::text") == "'a  b\nc'"


@pytest.mark.parametrize(
    ("ours", "catalog"),
    [
        ("'a' <> 'b'", "('a'::text <> 'b'::text)"),
        ("1 = 1", "(1 = 1)"),
        ("price > 0 AND kind IN ('a', 'b')", "((price > 0) AND (kind IN ('a'::text, 'b'::text)))"),
    ],
)
def test_checks_compare_with_the_catalog_text(ours: str, catalog: str) -> None:
    # The last pair keeps the inner brackets PostgreSQL adds: only wrapping brackets and
    # literal casts are removed (documented in docs/dialects.md).
    same = D.normalise_expression(ours) == D.normalise_expression(catalog)
    assert same is (ours != "price > 0 AND kind IN ('a', 'b')")


# -- names -------------------------------------------------------------------------------


def test_identifiers_past_63_bytes_are_shortened_deterministically() -> None:
    long_a, long_b = "t" * 70, "t" * 69 + "u"
    quoted_a, quoted_b = D.quote(long_a), D.quote(long_b)
    assert quoted_a == D.quote(long_a)
    assert quoted_a != quoted_b
    assert len(quoted_a[1:-1].encode()) <= 63
    assert quoted_a == f'"{shorten_name(long_a, 63)}"'
    assert D.quote("表" * 30) == f'"{shorten_name("表" * 30, 63)}"'  # 90 bytes, cut on a character
    assert D.quote('say "hi"') == '"say ""hi"""'


def test_long_index_names_are_shortened_in_sql_and_in_the_expected_schema() -> None:
    name = "idx_" + "x" * 80
    state = replay(AddIndex("blog", "Post", IndexState(name, ["title"])), state=BASE)
    sql = forwards(AddIndex("blog", "Post", IndexState(name, ["title"])))
    short = shorten_name(name, 63)
    assert sql == [f'CREATE INDEX "{short}" ON "blog_post" ("title")']
    table = schema_of(state, D).table("blog_post")
    assert table is not None
    assert [i.name for i in table.indexes] == [short]


# -- tables ------------------------------------------------------------------------------


def test_create_model_renders_columns_constraints_indexes_and_comments() -> None:
    operation = CreateModel(
        "shop",
        "Item",
        [
            pk(),
            FieldState("sku", Varchar(20), unique=True, comment="stock unit"),
            FieldState("price", Decimal(10, 2), default=0),
            FieldState("added", DateTime(timezone=True), default=SqlDefault("now()"), db_index=True),
        ],
        indexes=[IndexState("item_recent", ["-added", "sku"], condition="price > 0")],
        constraints=[ConstraintState.check_that("price_positive", "price >= 0")],
        comment="what we sell",
    )
    assert forwards(operation, ProjectState()) == [
        'CREATE TABLE "shop_item" (\n'
        '    "id" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY,\n'
        '    "sku" varchar(20) NOT NULL,\n'
        '    "price" numeric(10, 2) NOT NULL DEFAULT 0,\n'
        '    "added" timestamptz NOT NULL DEFAULT (now()),\n'
        '    PRIMARY KEY ("id"),\n'
        '    CONSTRAINT "price_positive" CHECK (price >= 0)\n'
        ")",
        'ALTER TABLE "shop_item" ADD CONSTRAINT "shop_item_sku_uniq" UNIQUE ("sku")',
        'CREATE INDEX "shop_item_added_idx" ON "shop_item" ("added")',
        'CREATE INDEX "item_recent" ON "shop_item" ("added" DESC, "sku") WHERE price > 0',
        "COMMENT ON TABLE \"shop_item\" IS 'what we sell'",
        'COMMENT ON COLUMN "shop_item"."sku" IS \'stock unit\'',
    ]


def test_foreign_keys_of_created_tables_come_after_every_table_of_the_migration() -> None:
    migration = Migration("0001_initial", "blog", operations=[AUTHOR, POST])
    plan = D.plan_migration(migration, ProjectState())
    assert [s.description for s in plan.steps] == [
        "Create model blog.Author",
        "Create model blog.Post",
        "Add the foreign keys of the tables created above",
    ]
    assert plan.steps[2].operation_indexes == (1,)
    assert [s.sql for s in plan.steps[2].statements] == [
        'ALTER TABLE "blog_post" ADD CONSTRAINT "blog_post_author_id_fk" FOREIGN KEY ("author_id") '
        f'REFERENCES "blog_author" ("id") ON DELETE CASCADE {DEFERRED}'
    ]
    assert plan.atomic


def test_a_later_operation_on_existing_tables_gets_the_foreign_keys_first() -> None:
    add = AddField("blog", "Author", FieldState("age", Integer(), null=True))
    plan = D.plan_migration(Migration("0001", "blog", operations=[AUTHOR, POST, add]), ProjectState())
    assert [s.description for s in plan.steps] == [
        "Create model blog.Author",
        "Create model blog.Post",
        "Add the foreign keys of the tables created above",
        "Add field age to blog.Author",
    ]


def test_tables_pointing_at_each_other_are_all_created_before_any_foreign_key() -> None:
    # A state with a cycle (Author.favourite -> Post, Post.author -> Author), as a
    # database built from scratch by statements_between needs it.
    favourite = FieldState(
        "favourite", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Post")
    )
    state = replay(AddField("blog", "Author", favourite), state=BASE)
    sql = [s.sql for s in D.statements_between(ProjectState(), state)]
    creates = [i for i, s in enumerate(sql) if s.startswith("CREATE TABLE")]
    keys = [i for i, s in enumerate(sql) if " FOREIGN KEY " in s]
    assert len(creates) == 2
    assert len(keys) == 2
    assert max(creates) < min(keys)


def test_delete_model_drops_the_table() -> None:
    state = replay(DeleteModel("blog", "Post"), state=BASE)
    assert [s.sql for s in D.statements_between(BASE, state)] == ['DROP TABLE "blog_post"']


def test_rename_model_renames_table_and_join_columns_in_place() -> None:
    tags = FieldState("tags", BigInteger(), relation=Relation("many_to_many", "blog.Author"))
    before = replay(AddField("blog", "Post", tags), state=BASE)
    sql = forwards(RenameModel("blog", "Post", "Article"), before)
    assert sql == [
        'ALTER TABLE "blog_post" RENAME TO "blog_article"',
        'ALTER TABLE "blog_post_tags" RENAME COLUMN "post_id" TO "article_id"',
    ]


def test_alter_model_table_renames_and_keeps_foreign_keys_pointing_at_it() -> None:
    assert forwards(AlterModelTable("blog", "Author", "writers")) == [
        'ALTER TABLE "blog_author" RENAME TO "writers"'
    ]


# -- fields ------------------------------------------------------------------------------


def test_add_field_with_one_off_default_fills_rows_then_drops_it() -> None:
    operation = AddField("blog", "Post", FieldState("views", Integer(), default=0), preserve_default=False)
    assert forwards(operation) == [
        'ALTER TABLE "blog_post" ADD COLUMN "views" integer NOT NULL DEFAULT 0',
        'ALTER TABLE "blog_post" ALTER COLUMN "views" DROP DEFAULT',
    ]


def test_add_field_with_a_foreign_key_adds_the_constraint_after_the_column() -> None:
    editor = FieldState("editor", BigInteger(), null=True, relation=Relation("foreign_key", "blog.Author"))
    assert forwards(AddField("blog", "Post", editor)) == [
        'ALTER TABLE "blog_post" ADD COLUMN "editor_id" bigint NULL',
        'ALTER TABLE "blog_post" ADD CONSTRAINT "blog_post_editor_id_fk" FOREIGN KEY ("editor_id") '
        f'REFERENCES "blog_author" ("id") ON DELETE CASCADE {DEFERRED}',
    ]


def test_rename_field_renames_the_column() -> None:
    assert forwards(RenameField("blog", "Post", "title", "headline")) == [
        'ALTER TABLE "blog_post" RENAME COLUMN "title" TO "headline"'
    ]


def test_widening_a_type_needs_no_using_and_keeps_constraints() -> None:
    operation = AlterField("blog", "Post", "title", FieldState("title", Text()))
    assert forwards(operation) == ['ALTER TABLE "blog_post" ALTER COLUMN "title" TYPE text']


@pytest.mark.parametrize(
    ("old", "new", "using"),
    [
        (Varchar(10), Integer(), '"n"::integer'),
        (Integer(), Boolean(), '"n" <> 0'),
        (Boolean(), BigInteger(), '"n"::integer'),
        (Text(), Json(), '"n"::jsonb'),
        (Integer(), Json(), 'to_jsonb("n")'),
        (Varchar(10), Uuid(), '"n"::uuid'),
        (Integer(), Array(Integer()), 'ARRAY["n"]::integer[]'),
        (Array(Integer()), Integer(), '"n"[1]::integer'),
        (Integer(), BigInteger(), None),
        (Decimal(5, 2), Integer(), None),
        (Uuid(), Text(), None),
    ],
)
def test_type_changes_say_using_where_postgresql_has_no_assignment_cast(
    old: ColumnType, new: ColumnType, using: str | None
) -> None:
    before = replay(AddField("blog", "Post", FieldState("n", old, null=True)), state=BASE)
    sql = forwards(AlterField("blog", "Post", "n", FieldState("n", new, null=True)), before)
    expected = f'ALTER TABLE "blog_post" ALTER COLUMN "n" TYPE {D.column_type_sql(new)}'
    assert sql == [expected + (f" USING {using}" if using else "")]


def test_not_null_with_a_default_fills_nulls_and_settles_deferred_checks_first() -> None:
    before = replay(AddField("blog", "Post", FieldState("n", Integer(), null=True)), state=BASE)
    sql = forwards(AlterField("blog", "Post", "n", FieldState("n", Integer(), default=7)), before)
    assert sql == [
        'UPDATE "blog_post" SET "n" = 7 WHERE "n" IS NULL',
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET CONSTRAINTS ALL DEFERRED",
        'ALTER TABLE "blog_post" ALTER COLUMN "n" SET NOT NULL',
        'ALTER TABLE "blog_post" ALTER COLUMN "n" SET DEFAULT 7',
    ]
    assert backwards(AlterField("blog", "Post", "n", FieldState("n", Integer(), default=7)), before) == [
        'ALTER TABLE "blog_post" ALTER COLUMN "n" DROP DEFAULT',
        'ALTER TABLE "blog_post" ALTER COLUMN "n" DROP NOT NULL',
    ]


def test_changing_the_type_drops_the_default_first_and_sets_it_after() -> None:
    before = replay(AddField("blog", "Post", FieldState("n", Integer(), default=1)), state=BASE)
    sql = forwards(AlterField("blog", "Post", "n", FieldState("n", BigInteger(), default=1)), before)
    assert sql == [
        'ALTER TABLE "blog_post" ALTER COLUMN "n" DROP DEFAULT',
        'ALTER TABLE "blog_post" ALTER COLUMN "n" TYPE bigint',
        'ALTER TABLE "blog_post" ALTER COLUMN "n" SET DEFAULT 1',
    ]


def test_an_integer_key_becoming_auto_gets_an_identity_past_its_values() -> None:
    before = replay(CreateModel("shop", "Item", [pk(Integer())]))
    sql = forwards(AlterField("shop", "Item", "id", pk(AutoField())), before)
    assert sql == [
        'ALTER TABLE "shop_item" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY',
        "SELECT setval(pg_get_serial_sequence('\"shop_item\"', 'id'), "
        'COALESCE(MAX("id"), 0) + 1, false) FROM "shop_item"',
    ]
    assert backwards(AlterField("shop", "Item", "id", pk(AutoField())), before) == [
        'ALTER TABLE "shop_item" ALTER COLUMN "id" DROP IDENTITY IF EXISTS'
    ]


def test_a_new_primary_key_drops_the_old_one_whatever_its_name() -> None:
    before = replay(CreateModel("shop", "Item", [pk(Integer()), FieldState("code", Varchar(9))]))
    after_key = [FieldState("id", Integer()), FieldState("code", Varchar(9), primary_key=True)]
    state = replay(
        AlterField("shop", "Item", "id", after_key[0]),
        AlterField("shop", "Item", "code", after_key[1]),
        state=before,
    )
    sql = [s.sql for s in D.statements_between(before, state)]
    assert sql[0].startswith(
        "DO $$DECLARE key_name name; BEGIN SELECT conname INTO key_name FROM pg_constraint"
    )
    assert "'\"shop_item\"'::regclass" in sql[0]
    assert sql[1:] == ['ALTER TABLE "shop_item" ADD PRIMARY KEY ("code")']


# -- indexes and constraints -------------------------------------------------------------


def test_rename_index_renames_in_place() -> None:
    before = replay(AddIndex("blog", "Post", IndexState("old_idx", ["title"])), state=BASE)
    assert forwards(RenameIndex("blog", "Post", "old_idx", "new_idx"), before) == [
        'ALTER INDEX "old_idx" RENAME TO "new_idx"'
    ]


def test_changing_an_index_drops_and_creates_it() -> None:
    before = replay(AddIndex("blog", "Post", IndexState("t_idx", ["title"])), state=BASE)
    state = replay(
        RenameIndex("blog", "Post", "t_idx", "tmp"),
        AddIndex("blog", "Post", IndexState("t_idx", ["-title"], unique=True, condition="id > 0")),
        state=before,
    )
    sql = [s.sql for s in D.statements_between(before, state)]
    assert sql == [
        'ALTER INDEX "t_idx" RENAME TO "tmp"',
        'CREATE UNIQUE INDEX "t_idx" ON "blog_post" ("title" DESC) WHERE id > 0',
    ]


def test_add_constraint_renders_unique_and_check() -> None:
    unique = ConstraintState.unique_on("one_title", ["title", "author"])
    check = ConstraintState.check_that("has_title", "title <> ''")
    assert forwards(AddConstraint("blog", "Post", unique)) == [
        'ALTER TABLE "blog_post" ADD CONSTRAINT "one_title" UNIQUE ("title", "author_id")'
    ]
    assert backwards(AddConstraint("blog", "Post", check)) == [
        'ALTER TABLE "blog_post" DROP CONSTRAINT "has_title"'
    ]


def test_swapped_column_names_go_through_a_temporary_name() -> None:
    def column(key: str, name: str) -> ColumnDef:
        return ColumnDef(key, name, Integer())

    old = TableDef(("model", "a", "T"), "t", [column("x", "a"), column("y", "b")])
    new = TableDef(("model", "a", "T"), "t", [column("x", "b"), column("y", "a")])
    sql = [s.sql for s in D.render_change(TableChange(old, new, [("a", "b"), ("b", "a")]))]
    assert sql == [
        'ALTER TABLE "t" RENAME COLUMN "a" TO "__column_0__a"',
        'ALTER TABLE "t" RENAME COLUMN "b" TO "a"',
        'ALTER TABLE "t" RENAME COLUMN "__column_0__a" TO "b"',
    ]


# -- concurrent index builds -------------------------------------------------------------


def test_concurrent_index_runs_outside_the_transaction_so_the_plan_is_not_atomic() -> None:
    index = IndexState("title_idx", ["-title"], condition="id > 0")
    migration = Migration("0002", "blog", operations=[AddIndexConcurrently("blog", "Post", index)])
    plan = D.plan_migration(migration, BASE)
    statements = plan.steps[0].statements
    assert [s.sql for s in statements] == [
        'DROP INDEX CONCURRENTLY IF EXISTS "title_idx"',
        'CREATE INDEX CONCURRENTLY "title_idx" ON "blog_post" ("title" DESC) WHERE id > 0',
    ]
    assert not any(s.transactional for s in statements)
    assert not plan.atomic
    assert plan.after == replay(AddIndex("blog", "Post", index), state=BASE)
    undo = D.plan_migration(migration, BASE, backwards=True)
    assert [s.sql for s in undo.steps[0].statements] == ['DROP INDEX CONCURRENTLY IF EXISTS "title_idx"']


def test_remove_index_concurrently_drops_and_rebuilds_concurrently() -> None:
    before = replay(AddIndex("blog", "Post", IndexState("t_idx", ["title"])), state=BASE)
    operation = RemoveIndexConcurrently("blog", "Post", "t_idx")
    assert forwards(operation, before) == ['DROP INDEX CONCURRENTLY IF EXISTS "t_idx"']
    assert backwards(operation, before)[-1] == 'CREATE INDEX CONCURRENTLY "t_idx" ON "blog_post" ("title")'


def test_concurrent_index_operations_are_plain_index_changes_elsewhere() -> None:
    sqlite = dialect_for("sqlite")
    operation = AddIndexConcurrently("blog", "Post", IndexState("title_idx", ["title"]))
    plan = sqlite.plan_migration(Migration("0002", "blog", operations=[operation]), BASE)
    assert [s.sql for s in plan.steps[0].statements] == ['CREATE INDEX "title_idx" ON "blog_post" ("title")']
    assert plan.atomic


# -- project objects ---------------------------------------------------------------------


def test_extensions_are_created_and_dropped_if_needed() -> None:
    assert forwards(CreateExtension("hstore")) == ['CREATE EXTENSION IF NOT EXISTS "hstore"']
    assert backwards(CreateExtension("hstore")) == ['DROP EXTENSION IF EXISTS "hstore"']
    with_it = replay(CreateExtension("hstore"), state=BASE)
    assert forwards(DropExtension("hstore"), with_it) == ['DROP EXTENSION IF EXISTS "hstore"']


def test_collations_carry_provider_locale_and_determinism() -> None:
    create = CreateCollation("case_insensitive", "und-u-ks-level2", provider="icu", deterministic=False)
    assert forwards(create) == [
        "CREATE COLLATION \"case_insensitive\" (provider = icu, locale = 'und-u-ks-level2', "
        "deterministic = false)"
    ]
    assert backwards(create) == ['DROP COLLATION "case_insensitive"']
    with_it = replay(create, state=BASE)
    remove = RemoveCollation("case_insensitive", "und-u-ks-level2", provider="icu", deterministic=False)
    assert backwards(remove, with_it) == forwards(create)


def test_project_objects_stay_refused_on_sqlite() -> None:
    with pytest.raises(UnsupportedOperation):
        dialect_for("sqlite").forwards(CreateExtension("hstore"), BASE, BASE)


# -- determinism -------------------------------------------------------------------------

_DETERMINISM_SCRIPT = """
from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.constraints import IndexState, ConstraintState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel, AlterField
from reinhardt_migrations.pure.state import ProjectState
ops = [CreateModel("a", "M", [FieldState("id", "bigauto", primary_key=True)]
                   + [FieldState(f"f{i}", "integer", null=True, unique=i % 3 == 0) for i in range(30)],
                   constraints=[ConstraintState.check_that(f"c{i}", "1 = 1") for i in range(10)],
                   indexes=[IndexState(f"i{i}", [f"f{i}", f"-f{i+1}"]) for i in range(10)])]
ops += [CreateModel("a", f"N{i}", [FieldState("id", "bigauto", primary_key=True),
        FieldState("m", "bigint", relation=Relation("many_to_many", "a.M")),
        FieldState("k", "bigint", relation=Relation("foreign_key", "a.M"))]) for i in range(10)]
ops += [AlterField("a", "M", f"f{i}", FieldState(f"f{i}", "bigint", null=True)) for i in range(1, 30, 7)]
d = dialect_for("postgresql")
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
    assert "FOREIGN KEY" in outputs.pop()

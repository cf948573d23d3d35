"""The MySQL dialect and catalog reader as values: spelling, statement shapes, refusals, reading back."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import MySQLDialect, dialect_for
from reinhardt_migrations.pure.dialects.mysql_text import decode_string_literal
from reinhardt_migrations.pure.errors import InvalidValue, UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState, Relation, SqlDefault
from reinhardt_migrations.pure.introspection import (
    CheckSchema,
    DatabaseSchema,
    IndexSchema,
    TableSchema,
    UniqueSchema,
    schema_from_catalog,
    state_from_catalog,
)
from reinhardt_migrations.pure.introspection_mysql import (
    MysqlCatalog,
    catalog_from_mysql,
    fold_unique_indexes,
)
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    CreateExtension,
    CreateModel,
    Operation,
    RemoveField,
    RenameField,
    RenameIndex,
)
from reinhardt_migrations.pure.sql import render_literal
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    Array,
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    DateTime,
    Decimal,
    Duration,
    Integer,
    Json,
    Text,
    Time,
    Uuid,
    Varchar,
)

D = MySQLDialect()
ID = FieldState("id", AutoField(), primary_key=True)
AUTHOR = CreateModel("app", "Author", [ID, FieldState("name", Varchar(100))])


def sql_of(state: ProjectState, *operations: Operation, backwards: bool = False) -> list[str]:
    plan = D.plan_migration(Migration("m", "app", operations=operations), state, backwards=backwards)
    return [statement.sql for statement in plan.all_statements()]


def after(state: ProjectState, *operations: Operation) -> ProjectState:
    for operation in operations:
        state = operation.state_forwards(state)
    return state


# -- names and spelling ------------------------------------------------------------------------


def test_both_url_schemes_name_the_mysql_dialect() -> None:
    assert dialect_for("mysql://root@db/app") == D
    assert dialect_for("mariadb://root@db/app") == D
    assert dialect_for("mysql+pymysql://root@db/app") == D


def test_identifiers_are_backquoted_with_inner_backquotes_doubled() -> None:
    assert D.quote("order") == "`order`"
    assert D.quote("a`b") == "`a``b`"
    assert D.quote('say "hi"') == '`say "hi"`'


def test_identifiers_over_64_characters_are_refused_and_object_names_shortened() -> None:
    with pytest.raises(InvalidValue, match="64"):
        D.quote("t" * 65)
    assert D.quote("é" * 64) == "`" + "é" * 64 + "`"
    long_name = "index_" + "x" * 80
    short = D.object_name(long_name)
    assert len(short.encode()) <= 64
    assert short == D.object_name(long_name)
    assert short != D.object_name(long_name + "y")


@pytest.mark.parametrize(
    ("column_type", "spelled"),
    [
        (AutoField(), "integer"),
        (BigAutoField(), "bigint"),
        (Boolean(), "tinyint(1)"),
        (DateTime(), "datetime(6)"),
        (DateTime(timezone=True), "datetime(6)"),
        (Time(), "time(6)"),
        (Json(), "json"),
        (Array(Integer()), "json"),
        (Uuid(), "char(32)"),
        (Duration(), "bigint"),
        (Text(), "longtext"),
        (Binary(), "longblob"),
        (Decimal(10, 2), "decimal(10, 2)"),
    ],
)
def test_type_spellings(column_type: object, spelled: str) -> None:
    assert D.column_type_sql(column_type) == spelled  # type: ignore[arg-type]


def test_uuid_storage_is_a_dialect_choice() -> None:
    assert MySQLDialect(uuid_storage="binary(16)").column_type_sql(Uuid()) == "binary(16)"
    with pytest.raises(InvalidValue, match="uuid_storage"):
        MySQLDialect(uuid_storage="uuid")


# -- statements --------------------------------------------------------------------------------


def test_auto_increment_keys_and_explicit_on_delete() -> None:
    post = CreateModel(
        "app",
        "Post",
        [
            ID,
            FieldState(
                "author", Integer(), relation=Relation("foreign_key", "app.Author", on_delete="DO_NOTHING")
            ),
        ],
    )
    create = sql_of(after(ProjectState(), AUTHOR), post)[0]
    assert "`id` integer NOT NULL AUTO_INCREMENT" in create
    assert "PRIMARY KEY (`id`)" in create
    # Written out: MariaDB reads a foreign key without ON DELETE back as RESTRICT.
    assert "REFERENCES `app_author` (`id`) ON DELETE NO ACTION" in create


def test_a_foreign_key_no_index_serves_gets_a_helper_index_named_after_it() -> None:
    plain = CreateModel(
        "app", "Post", [ID, FieldState("author", Integer(), relation=Relation("foreign_key", "app.Author"))]
    )
    indexed = CreateModel(
        "app",
        "Post",
        [ID, FieldState("author", Integer(), db_index=True, relation=Relation("foreign_key", "app.Author"))],
    )
    state = after(ProjectState(), AUTHOR)
    assert "KEY `app_post_author_id_fk` (`author_id`)" in sql_of(state, plain)[0]
    create = sql_of(state, indexed)[0]
    assert "KEY `app_post_author_id_idx` (`author_id`)" in create
    assert "KEY `app_post_author_id_fk`" not in create


def test_dropping_the_index_a_foreign_key_uses_renames_it_to_the_helper() -> None:
    field = FieldState("author", Integer(), db_index=True, relation=Relation("foreign_key", "app.Author"))
    state = after(ProjectState(), AUTHOR, CreateModel("app", "Post", [ID, field]))
    plain = FieldState("author", Integer(), relation=Relation("foreign_key", "app.Author"))
    assert sql_of(state, AlterField("app", "Post", "author", plain)) == [
        "ALTER TABLE `app_post` RENAME INDEX `app_post_author_id_idx` TO `app_post_author_id_fk`"
    ]


def test_retyping_a_column_under_a_foreign_key_drops_and_adds_the_key_around_it() -> None:
    keyed = FieldState("id", Varchar(10), primary_key=True)
    state = after(
        ProjectState(),
        CreateModel("app", "Tag", [keyed]),
        CreateModel(
            "app", "Post", [ID, FieldState("tag", Varchar(10), relation=Relation("foreign_key", "app.Tag"))]
        ),
    )
    wider = FieldState("tag", Varchar(20), relation=Relation("foreign_key", "app.Tag"))
    statements = sql_of(state, AlterField("app", "Post", "tag", wider))
    assert statements == [
        "ALTER TABLE `app_post` DROP FOREIGN KEY `app_post_tag_id_fk`",
        "ALTER TABLE `app_post` MODIFY `tag_id` varchar(20) NOT NULL",
        "ALTER TABLE `app_post` ADD CONSTRAINT `app_post_tag_id_fk` FOREIGN KEY (`tag_id`) "
        "REFERENCES `app_tag` (`id`) ON DELETE CASCADE",
    ]


def test_renames_are_native_and_keep_the_definition() -> None:
    state = after(
        ProjectState(),
        CreateModel(
            "app", "Post", [ID, FieldState("title", Varchar(9))], indexes=[IndexState("i", ["title"])]
        ),
    )
    assert sql_of(state, RenameField("app", "Post", "title", "headline")) == [
        "ALTER TABLE `app_post` RENAME COLUMN `title` TO `headline`"
    ]
    assert sql_of(state, RenameIndex("app", "Post", "i", "j")) == [
        "ALTER TABLE `app_post` RENAME INDEX `i` TO `j`"
    ]


def test_an_added_column_takes_its_place_and_a_one_off_fill_is_dropped_afterwards() -> None:
    state = after(ProjectState(), AUTHOR)
    add = AddField("app", "Author", FieldState("rank", Integer(), default=3), preserve_default=False)
    assert sql_of(state, add) == [
        "ALTER TABLE `app_author` ADD COLUMN `rank` integer NOT NULL DEFAULT 3 AFTER `name`",
        "ALTER TABLE `app_author` MODIFY `rank` integer NOT NULL",
    ]
    # Undoing a RemoveField puts the column back where it was, not last.
    state = after(state, AddField("app", "Author", FieldState("bio", Text(), null=True)))
    back = sql_of(state, RemoveField("app", "Author", "name"), backwards=True)
    assert back == ["ALTER TABLE `app_author` ADD COLUMN `name` varchar(100) NOT NULL AFTER `id`"]


def test_a_column_becoming_not_null_gets_its_nulls_filled_first() -> None:
    state = after(ProjectState(), CreateModel("app", "Post", [ID, FieldState("views", Integer(), null=True)]))
    statements = sql_of(state, AlterField("app", "Post", "views", FieldState("views", Integer(), default=0)))
    assert statements == [
        "UPDATE `app_post` SET `views` = 0 WHERE `views` IS NULL",
        "ALTER TABLE `app_post` MODIFY `views` integer NOT NULL DEFAULT 0",
    ]


def test_dropping_a_column_restates_the_checks_mariadb_would_drop_with_it() -> None:
    state = after(
        ProjectState(),
        CreateModel(
            "app",
            "Post",
            [ID, FieldState("a", Integer()), FieldState("b", Integer())],
            constraints=[ConstraintState.check_that("always", "1 = 1")],
        ),
    )
    assert sql_of(state, RemoveField("app", "Post", "b")) == [
        "ALTER TABLE `app_post` DROP CONSTRAINT `always`, DROP COLUMN `b`, "
        "ADD CONSTRAINT `always` CHECK (1 = 1)"
    ]


def test_text_columns_are_indexed_by_a_prefix() -> None:
    state = after(ProjectState(), CreateModel("app", "Post", [ID, FieldState("body", Text())]))
    assert sql_of(state, AddIndex("app", "Post", IndexState("body_idx", ["-body"]))) == [
        "ALTER TABLE `app_post` ADD KEY `body_idx` (`body`(255) DESC)"
    ]


def test_table_options_and_comments() -> None:
    model = CreateModel(
        "app",
        "Log",
        [ID],
        comment="it's a log",
        options={"engine": "InnoDB", "charset": "utf8mb4", "other": "x"},
    )
    assert sql_of(ProjectState(), model)[0].endswith(
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='it''s a log'"
    )
    state = after(ProjectState(), model)
    change = AlterModelOptions("app", "Log", comment=None, options={"engine": "MyISAM", "charset": "utf8mb4"})
    assert sql_of(state, change) == ["ALTER TABLE `app_log` ENGINE=MyISAM, COMMENT=''"]


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        (AddIndex("app", "Author", IndexState("named", ["name"], condition="name <> ''")), "partial indexes"),
        (AlterModelOptions("app", "Author", options={"engine": "InnoDB; DROP TABLE x"}), "plain names"),
        (CreateExtension("hstore"), "extensions"),
        (
            AddField(
                "app",
                "Author",
                FieldState(
                    "boss",
                    Integer(),
                    null=True,
                    relation=Relation("foreign_key", "app.Author", on_delete="SET_DEFAULT"),
                ),
            ),
            "SET DEFAULT",
        ),
    ],
)
def test_what_mysql_cannot_express_is_refused_while_planning(operation: Operation, reason: str) -> None:
    with pytest.raises(UnsupportedOperation, match=reason):
        sql_of(after(ProjectState(), AUTHOR), operation)


def test_tables_created_together_get_their_foreign_keys_last() -> None:
    state = after(
        ProjectState(),
        CreateModel("app", "B", [ID]),
        CreateModel("app", "A", [ID, FieldState("b", Integer(), relation=Relation("foreign_key", "app.B"))]),
    )
    statements = [s.sql for s in D.statements_between(ProjectState(), state)]
    assert [s.split(" (")[0] for s in statements] == [
        "CREATE TABLE `app_a`",
        "CREATE TABLE `app_b`",
        "ALTER TABLE `app_a` ADD CONSTRAINT `app_a_b_id_fk` FOREIGN KEY",
    ]


# -- reading back ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "reported"),
    [
        ("integer", "int(11)"),
        ("bigint", "BIGINT(20)"),
        ("tinyint(1)", "tinyint(1)"),
        ("decimal(19, 4)", "decimal(19,4)"),
        ("double", "double precision"),
        ("float", "float4"),
    ],
)
def test_types_compare_however_they_are_spelled(ours: str, reported: str) -> None:
    assert D.normalise_type(ours) == D.normalise_type(reported)


def test_smallint_and_boolean_stay_apart() -> None:
    assert D.normalise_type("tinyint(4)") != D.normalise_type("tinyint(1)")


@pytest.mark.parametrize(
    ("ours", "reported"),
    [
        (render_literal("it's a\\b\nc", "mysql"), "'it''s a\\\\b\\nc'"),
        ("5", "5.00"),
        ("1.5", "1.50"),
        (render_literal(1e10, "mysql"), "10000000000"),
        ("'2024-02-29 12:34:56'", "'2024-02-29 12:34:56.000000'"),
        ("(CURRENT_TIMESTAMP)", "current_timestamp(6)"),
        ("'ab  '", "'ab'"),
        (None, "NULL"),
    ],
)
def test_defaults_compare_however_the_server_reports_them(ours: str | None, reported: str) -> None:
    assert D.normalise_default(ours) == D.normalise_default(reported)


def test_different_defaults_stay_different() -> None:
    assert D.normalise_default("'a'") != D.normalise_default("'b'")
    assert D.normalise_default("5") != D.normalise_default("'5'")
    assert D.normalise_default("0") is not None


def test_checks_compare_as_mariadb_and_mysql_print_them() -> None:
    written = "n > 0 AND 'x' = 'x'"
    assert D.normalise_expression(written) == D.normalise_expression("`n` > 0 and 'x' = 'x'")
    assert D.normalise_expression("'x' = 'x'") == D.normalise_expression("(_utf8mb4'x' = _utf8mb4'x')")
    assert D.normalise_expression("1 = 1") == D.normalise_expression("(1=1)")
    assert D.normalise_expression("a > 0") != D.normalise_expression("a > 1")


def test_string_literals_decode_mysql_escapes() -> None:
    assert decode_string_literal("it''s\\ta\\\\b\\%") == "it's\ta\\b\\%"


def _mariadb_catalog() -> MysqlCatalog:
    """Raw rows as MariaDB 10.11 returns them for a post table pointing at an author table."""
    return MysqlCatalog(
        tables=[("app_post", ""), ("app_author", "Authors")],
        columns=[
            ("app_post", "data", 3, "longtext", "YES", "NULL", "", "", "longtext"),
            ("app_post", "id", 1, "int(11)", "NO", None, "auto_increment", "", "int"),
            ("app_post", "author_id", 2, "int(11)", "NO", None, "", "", "int"),
            ("app_post", "score", 4, "float", "YES", "1.5", "", "", "float"),
            ("app_author", "id", 1, "int(11)", "NO", None, "auto_increment", "", "int"),
            ("app_author", "name", 2, "varchar(20)", "NO", "'it''s'", "", "the name", "varchar"),
        ],
        indexes=[
            ("app_post", "PRIMARY", 0, 1, "id", "A", None),
            ("app_post", "app_post_author_id_fk", 1, 1, "author_id", "A", None),
            ("app_post", "recent", 1, 1, "score", "D", None),
            ("app_post", "body", 1, 1, "data", "A", 255),
            ("app_author", "PRIMARY", 0, 1, "id", "A", None),
            ("app_author", "name_uniq", 0, 1, "name", "A", None),
            ("app_author", "name_desc", 0, 1, "name", "D", None),
        ],
        checks=[
            ("app_post", "data", "json_valid(`data`)", "Column"),
            ("app_post", "positive", "`score` > 0", "Table"),
        ],
        foreign_keys=[("app_post", "app_post_author_id_fk", 1, "author_id", "app_author", "id", "CASCADE")],
        mariadb=True,
    )


def test_mariadb_rows_read_back_as_the_schema_they_describe() -> None:
    rows = catalog_from_mysql(_mariadb_catalog())
    schema = schema_from_catalog(rows, D)
    post = schema.table("app_post")
    author = schema.table("app_author")
    assert post is not None
    assert author is not None
    assert [(c.name, c.type, c.null, c.default) for c in post.columns] == [
        ("id", "integer", False, None),
        ("author_id", "integer", False, None),
        ("data", "json", True, None),
        ("score", "float", True, "1.5"),
    ]
    assert post.primary_key == ("id",)
    assert post.columns[0].autoincrement
    # The foreign key's helper index is the dialect's, not the schema's; the json check is the type's.
    assert [i.name for i in post.indexes] == ["body", "recent"]
    assert post.checks == (CheckSchema("positive", "score>0"),)
    assert author.uniques == (UniqueSchema("name_uniq", ("name",)),)
    assert author.indexes == (IndexSchema("name_desc", (("name", True),), unique=True),)
    state = state_from_catalog(rows)
    name = state.model("tables", "app_author").field("name")
    assert (name.type, name.default.describe(), name.comment) == (Varchar(20), '"it\'s"', "the name")
    assert state.model("tables", "app_author").comment == "Authors"
    assert state.model("tables", "app_post").field("author").relation is not None


def test_mysql_8_reports_literals_unquoted_and_marks_expression_defaults() -> None:
    raw = MysqlCatalog(
        tables=[("t", "")],
        columns=[
            ("t", "name", 1, "varchar(9)", "NO", "it's", "", "", "varchar"),
            ("t", "n", 2, "int", "NO", "5", "", "", "int"),
            ("t", "at", 3, "datetime(6)", "NO", "CURRENT_TIMESTAMP(6)", "DEFAULT_GENERATED", "", "datetime"),
        ],
        mariadb=False,
    )
    defaults = [c.default for c in catalog_from_mysql(raw).columns]
    assert defaults == [render_literal("it's", "mysql"), "5", "(CURRENT_TIMESTAMP(6))"]
    assert D.normalise_default(defaults[2]) == D.normalise_default(
        D.default_sql(SqlDefault("CURRENT_TIMESTAMP"))
    )


def test_unique_indexes_fold_into_unique_constraints() -> None:
    schema = DatabaseSchema(
        [
            TableSchema(
                "t",
                [],
                indexes=[
                    IndexSchema("u", [("a", False)], unique=True),
                    IndexSchema("d", [("a", True)], unique=True),
                    IndexSchema("i", [("a", False)]),
                ],
            )
        ]
    )
    (table,) = fold_unique_indexes(schema).tables
    assert table.uniques == (UniqueSchema("u", ("a",)),)
    assert [i.name for i in table.indexes] == ["d", "i"]


def test_plans_are_the_same_for_equal_states_built_in_another_order() -> None:
    post = CreateModel(
        "app",
        "Post",
        [ID, FieldState("author", BigInteger(), relation=Relation("foreign_key", "app.Author"))],
    )
    one = after(ProjectState(), AUTHOR, post)
    two = ProjectState(models=list(reversed(list(one))))
    change = AddField("app", "Post", FieldState("title", Varchar(5), unique=True, null=True))
    assert sql_of(one, change) == sql_of(two, change)

"""Every built-in operation on a real MariaDB/MySQL server, with rows: forwards, read back, backwards.

Each case applies one migration to a small blog (authors, posts, tags) holding rows,
through the executor, then checks law 3 (the catalog reads back as the state the
operation produced), what happened to the rows, and law 4 (unapplying restores the
schema, and the rows in the columns the operation did not destroy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.fields import FieldState, Relation, SqlDefault
from reinhardt_migrations.pure.introspection import schema_from_catalog, schema_of
from reinhardt_migrations.pure.introspection_mysql import fold_unique_indexes
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    ColumnDefinition,
    CreateModel,
    CreateTable,
    DeleteModel,
    Operation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import AutoField, DateTime, Decimal, Integer, Json, Text, Uuid, Varchar
from reinhardt_migrations.shell.backends.mysql import MysqlBackend
from reinhardt_migrations.shell.executor import MigrationExecutor

D = dialect_for("mysql")
ID = FieldState("id", AutoField(), primary_key=True)
BLOG = Migration(
    "0001_initial",
    "blog",
    operations=[
        CreateModel("blog", "Author", [ID, FieldState("name", Varchar(50), unique=True)]),
        CreateModel(
            "blog",
            "Post",
            [
                ID,
                FieldState("title", Varchar(100), db_index=True),
                FieldState("score", Decimal(5, 1), null=True),
                FieldState("summary", Text(), null=True, comment="a line or two"),
                FieldState("author", Integer(), relation=Relation("foreign_key", "blog.Author")),
                FieldState("tags", Integer(), relation=Relation("many_to_many", "blog.Author")),
            ],
            indexes=[IndexState("post_recent", ["-score", "title"])],
            constraints=[ConstraintState.check_that("post_positive", "score IS NULL OR score >= 0")],
        ),
    ],
    initial=True,
)
ROWS = (
    "INSERT INTO blog_author (name) VALUES ('ann'), ('bob')",
    "INSERT INTO blog_post (title, score, summary, author_id) "
    "VALUES ('first', 1.5, 'one', 1), ('second', NULL, NULL, 2), ('third', 3, 'x', 1)",
    "INSERT INTO blog_post_tags (post_id, author_id) VALUES (1, 2), (3, 1)",
)
BASE = replay([BLOG])

# (operation, (table, column) pairs whose values it may destroy (column None: the table),
#  a check of the rows after it ran forwards)
Check = Callable[[MysqlBackend], None]


def _rows(backend: MysqlBackend, sql: str) -> list[tuple[Any, ...]]:
    return backend.query(sql)


def _expect(sql: str, rows: list[tuple[Any, ...]]) -> Check:
    def check(backend: MysqlBackend) -> None:
        assert _rows(backend, sql) == rows

    return check


CASES: list[tuple[str, Operation, set[tuple[str, str | None]], Check]] = [
    (
        "create model with a key to an existing one",
        CreateModel(
            "blog",
            "Comment",
            [
                ID,
                FieldState("post", Integer(), relation=Relation("foreign_key", "blog.Post")),
                FieldState("at", DateTime(), default=SqlDefault("CURRENT_TIMESTAMP")),
            ],
        ),
        set(),
        _expect("SELECT COUNT(*) FROM blog_comment", [(0,)]),
    ),
    (
        "create table from column definitions",
        CreateTable(
            "ledger",
            [
                ColumnDefinition("id", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ColumnDefinition("amount", "DECIMAL(10, 2) DEFAULT 12"),
            ],
        ),
        set(),
        _expect("SELECT COUNT(*) FROM ledger", [(0,)]),
    ),
    (
        "delete model",
        DeleteModel("blog", "Post"),
        {("blog_post", None), ("blog_post_tags", None)},
        _expect("SELECT COUNT(*) FROM blog_author", [(2,)]),
    ),
    (
        "rename model (its table, the key and the join table follow)",
        RenameModel("blog", "Author", "Writer"),
        set(),
        _expect(
            "SELECT p.title, w.name FROM blog_post p JOIN blog_writer w ON w.id = p.author_id ORDER BY p.id",
            [("first", "ann"), ("second", "bob"), ("third", "ann")],
        ),
    ),
    (
        "alter model table",
        AlterModelTable("blog", "Post", "posts"),
        set(),
        _expect("SELECT COUNT(*) FROM posts", [(3,)]),
    ),
    (
        "alter model options",
        AlterModelOptions(
            "blog",
            "Author",
            comment="people who write",
            options={"engine": "InnoDB", "row_format": "DYNAMIC"},
        ),
        set(),
        _expect(
            "SELECT TABLE_COMMENT, ROW_FORMAT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'blog_author'",
            [("people who write", "Dynamic")],
        ),
    ),
    (
        "alter unique together",
        AlterUniqueTogether("blog", "Post", [("title", "author")]),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "add field with a default",
        AddField("blog", "Post", FieldState("views", Integer(), default=7)),
        set(),
        _expect("SELECT views FROM blog_post ORDER BY id", [(7,), (7,), (7,)]),
    ),
    (
        "add field with a one-off default",
        AddField("blog", "Post", FieldState("slug", Varchar(20), default="draft"), preserve_default=False),
        set(),
        _expect("SELECT slug FROM blog_post ORDER BY id", [("draft",), ("draft",), ("draft",)]),
    ),
    (
        "add a nullable foreign key",
        AddField(
            "blog",
            "Author",
            FieldState(
                "mentor",
                Integer(),
                null=True,
                relation=Relation("foreign_key", "blog.Author", on_delete="SET_NULL"),
            ),
        ),
        set(),
        _expect("SELECT mentor_id FROM blog_author ORDER BY id", [(None,), (None,)]),
    ),
    (
        "add a json field",
        AddField("blog", "Author", FieldState("data", Json(), null=True)),
        set(),
        _expect("SELECT data FROM blog_author", [(None,), (None,)]),
    ),
    (
        "remove field",
        RemoveField("blog", "Post", "summary"),
        {("blog_post", "summary")},
        _expect("SELECT title FROM blog_post ORDER BY id", [("first",), ("second",), ("third",)]),
    ),
    (
        "remove a many-to-many field",
        RemoveField("blog", "Post", "tags"),
        {("blog_post_tags", None)},
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "alter field: wider type, NOT NULL with its NULLs filled",
        AlterField("blog", "Post", "score", FieldState("score", Decimal(7, 1), default=0)),
        {("blog_post", "score")},
        _expect("SELECT score FROM blog_post ORDER BY id", [(pytest.approx(1.5),), (0,), (3,)]),
    ),
    (
        "alter field: varchar to text, indexed by a prefix",
        AlterField("blog", "Post", "title", FieldState("title", Text())),
        {("blog_post", "title")},
        _expect("SELECT title FROM blog_post ORDER BY id", [("first",), ("second",), ("third",)]),
    ),
    (
        "alter field: a key's on-delete action",
        AlterField(
            "blog",
            "Post",
            "author",
            FieldState(
                "author", Integer(), relation=Relation("foreign_key", "blog.Author", on_delete="PROTECT")
            ),
        ),
        {("blog_post", "author_id")},
        _expect("SELECT author_id FROM blog_post ORDER BY id", [(1,), (2,), (1,)]),
    ),
    (
        "alter field: index a key column (its helper index becomes the field's)",
        AlterField(
            "blog",
            "Post",
            "author",
            FieldState("author", Integer(), db_index=True, relation=Relation("foreign_key", "blog.Author")),
        ),
        set(),
        _expect("SELECT author_id FROM blog_post ORDER BY id", [(1,), (2,), (1,)]),
    ),
    (
        "rename field",
        RenameField("blog", "Post", "title", "headline"),
        set(),
        _expect("SELECT headline FROM blog_post ORDER BY id", [("first",), ("second",), ("third",)]),
    ),
    (
        "rename a field a check constraint names",
        RenameField("blog", "Post", "score", "rating"),
        set(),
        _expect("SELECT rating FROM blog_post ORDER BY id", [(1.5,), (None,), (3,)]),
    ),
    (
        "rename a key field",
        RenameField("blog", "Post", "author", "writer"),
        set(),
        _expect("SELECT writer_id FROM blog_post ORDER BY id", [(1,), (2,), (1,)]),
    ),
    (
        "add index on text",
        AddIndex("blog", "Post", IndexState("post_title_desc", ["-title", "author"])),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "remove index",
        RemoveIndex("blog", "Post", "post_recent"),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "rename index",
        RenameIndex("blog", "Post", "post_recent", "post_latest"),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "add unique constraint",
        AddConstraint("blog", "Post", ConstraintState.unique_on("post_unique_title", ["title"])),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "add check constraint",
        AddConstraint("blog", "Author", ConstraintState.check_that("named", "name <> ''")),
        set(),
        _expect("SELECT COUNT(*) FROM blog_author", [(2,)]),
    ),
    (
        "remove check constraint",
        RemoveConstraint("blog", "Post", "post_positive"),
        set(),
        _expect("SELECT COUNT(*) FROM blog_post", [(3,)]),
    ),
    (
        "run SQL with its reverse",
        RunSQL(
            ["UPDATE blog_author SET name = CONCAT(name, '!')"],
            reverse_sql=["UPDATE blog_author SET name = TRIM(TRAILING '!' FROM name)"],
        ),
        set(),
        _expect("SELECT name FROM blog_author ORDER BY id", [("ann!",), ("bob!",)]),
    ),
    (
        "separate database and state",
        SeparateDatabaseAndState(
            database_operations=[AddField("blog", "Author", FieldState("key", Uuid(), null=True))],
            state_operations=[AddField("blog", "Author", FieldState("key", Uuid(), null=True))],
        ),
        set(),
        _expect("SELECT `key` FROM blog_author", [(None,), (None,)]),
    ),
]


@pytest.fixture
def backend(mysql_url: str) -> Iterator[MysqlBackend]:
    opened = MysqlBackend(mysql_url)
    yield opened
    opened.close()


def kept_rows(backend: MysqlBackend, lost: set[tuple[str, str | None]]) -> dict[str, list[Any]]:
    whole = {table for table, column in lost if column is None}
    names: dict[str, list[str]] = {}
    for row in backend.catalog().columns:
        if row.table not in whole and (row.table, row.name) not in lost and row.table.startswith("blog"):
            names.setdefault(row.table, []).append(row.name)
    return {
        table: sorted(
            backend.query(f"SELECT {', '.join(D.quote(c) for c in cols)} FROM {D.quote(table)}"), key=repr
        )
        for table, cols in sorted(names.items())
    }


def assert_schema_is(backend: MysqlBackend, state: ProjectState) -> None:
    rows = backend.catalog().without_tables(["reinhardt_migrations", "reinhardt_migrations_progress"])
    found = schema_from_catalog(rows, D)
    expected = fold_unique_indexes(schema_of(state, D))
    assert found == expected, "\n".join(expected.differences(found))


@pytest.mark.parametrize(
    ("operation", "lost", "check"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_operation_forwards_and_backwards_with_rows(
    backend: MysqlBackend, operation: Operation, lost: set[tuple[str, str | None]], check: Check
) -> None:
    migration = Migration(
        "0002_change", "blog", dependencies=[("blog", "0001_initial")], operations=[operation]
    )
    executor = MigrationExecutor(backend, [BLOG, migration])
    executor.migrate([("blog", "0001_initial")])
    backend.execute([Statement(sql) for sql in ROWS])
    assert_schema_is(backend, BASE)
    before = kept_rows(backend, lost)
    executor.migrate()
    assert_schema_is(backend, migration.apply(BASE))
    check(backend)
    executor.migrate([("blog", "0001_initial")])
    assert_schema_is(backend, BASE)
    assert kept_rows(backend, lost) == before

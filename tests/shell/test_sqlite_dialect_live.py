"""The SQLite dialect's statements, run with the stdlib sqlite3 module on real files with rows.

Each test plans migrations with the pure dialect, runs the plan as the executor does
(``setup`` outside the transaction, steps and ``checks`` inside it, ``teardown`` after),
then checks the rows, the indexes and the foreign keys, and compares the introspected
schema with ``schema_of`` the state the migration produced (law 3).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import SQLiteDialect
from reinhardt_migrations.pure.dialects.base import MigrationSQL
from reinhardt_migrations.pure.fields import FieldState, Relation, SqlDefault
from reinhardt_migrations.pure.introspection import (
    SQLITE_CATALOG_QUERIES,
    CatalogRows,
    SqliteTableRows,
    catalog_from_sqlite,
    schema_from_catalog,
    schema_of,
    state_from_catalog,
)
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterUniqueTogether,
    CreateModel,
    Operation,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameModel,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import AutoField, BigInteger, Double, Integer, Text, Varchar

D = SQLiteDialect(version=sqlite3.sqlite_version_info)


class CheckFailed(Exception):
    """A statement marked expect_no_rows returned rows."""


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A real database file, foreign keys on (as the SQLite backend keeps them)."""
    connection = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    yield connection
    connection.close()


def run(conn: sqlite3.Connection, plan: MigrationSQL) -> None:
    """Run a plan the way the executor does."""
    for statement in plan.setup:
        conn.execute(statement.sql, statement.params)
    try:
        conn.execute("BEGIN")
        try:
            for statement in (*[s for step in plan.steps for s in step.statements], *plan.checks):
                rows = conn.execute(statement.sql, statement.params).fetchall()
                if statement.expect_no_rows and rows:
                    raise CheckFailed(statement.sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        for statement in plan.teardown:
            conn.execute(statement.sql, statement.params)


def migrate(conn: sqlite3.Connection, state: ProjectState, *operations: Operation) -> ProjectState:
    """Plan and run one migration of ``operations``; return the state after it."""
    plan = D.plan_migration(Migration("m", "app", operations=operations), state)
    run(conn, plan)
    return plan.after


def unmigrate(conn: sqlite3.Connection, state: ProjectState, *operations: Operation) -> ProjectState:
    """Plan and run the backwards plan of a migration applied on ``state``."""
    plan = D.plan_migration(Migration("m", "app", operations=operations), state, backwards=True)
    run(conn, plan)
    return plan.after


def read_catalog(conn: sqlite3.Connection) -> CatalogRows:
    """The small reader the shell runs: SQLITE_CATALOG_QUERIES into SqliteTableRows."""
    queries = SQLITE_CATALOG_QUERIES
    tables = []
    for name, sql in conn.execute(queries["tables"]).fetchall():
        indexes = conn.execute(queries["indexes"], (name,)).fetchall()
        tables.append(
            SqliteTableRows(
                name=name,
                sql=sql,
                columns=conn.execute(queries["columns"], (name,)).fetchall(),
                indexes=indexes,
                index_columns={
                    row[1]: conn.execute(queries["index_columns"], (row[1],)).fetchall() for row in indexes
                },
                index_sql=dict(conn.execute(queries["index_sql"], (name,)).fetchall()),
                foreign_keys=conn.execute(queries["foreign_keys"], (name,)).fetchall(),
            )
        )
    return catalog_from_sqlite(tables)


def assert_schema_is(conn: sqlite3.Connection, state: ProjectState) -> None:
    """Law 3: the introspected schema equals the schema of the state."""
    found = schema_from_catalog(read_catalog(conn), D)
    expected = schema_of(state, D)
    assert found == expected, "\n".join(expected.differences(found))


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in conn.execute(sql).fetchall()]


def indexes(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA index_list({D.quote(table)})") if row[3] == "c"}


def pk() -> FieldState:
    return FieldState("id", AutoField(), primary_key=True)


AUTHOR = CreateModel("app", "Author", [pk(), FieldState("name", Varchar(100), unique=True)])
POST = CreateModel(
    "app",
    "Post",
    [
        pk(),
        FieldState("title", Varchar(200), db_index=True),
        FieldState("score", Double(), null=True),
        FieldState("author", BigInteger(), relation=Relation("foreign_key", "app.Author")),
    ],
    indexes=[IndexState("post_recent", ["-score", "title"], condition="score IS NOT NULL")],
)


def blog(conn: sqlite3.Connection) -> ProjectState:
    """Create authors and posts, with rows."""
    state = migrate(conn, ProjectState(), AUTHOR, POST)
    conn.executemany("INSERT INTO app_author (name) VALUES (?)", [("ann",), ("bob",)])
    conn.executemany(
        "INSERT INTO app_post (title, score, author_id) VALUES (?, ?, ?)",
        [("first", 1.5, 1), ("second", None, 2), ("third", 3.0, 1)],
    )
    return state


# -- the schema the dialect creates is the schema of the state --------------------------------


def test_created_schema_matches_the_state_and_reads_back_as_the_same_state(conn: sqlite3.Connection) -> None:
    with_tags = AddField(
        "app", "Post", FieldState("tags", Integer(), relation=Relation("many_to_many", "app.Author"))
    )
    state = migrate(conn, blog(conn), with_tags)
    assert_schema_is(conn, state)
    catalog = read_catalog(conn)
    rebuilt = state_from_catalog(catalog)
    assert schema_of(rebuilt, D) == schema_from_catalog(catalog, D)


def test_unique_constraints_keep_their_names_although_sqlite_reports_autoindexes(
    conn: sqlite3.Connection,
) -> None:
    blog(conn)
    (unique,) = [u for u in read_catalog(conn).uniques if u.table == "app_author"]
    assert (unique.name, unique.columns) == ("app_author_name_uniq", ("name",))
    automatic = [row[1] for row in conn.execute("PRAGMA index_list(app_author)") if row[3] == "u"]
    assert automatic == ["sqlite_autoindex_app_author_1"]


# -- native changes --------------------------------------------------------------------------


def test_renames_keep_rows(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    before = rows(conn, "SELECT id, title, score, author_id FROM app_post ORDER BY id")
    state = migrate(
        conn,
        state,
        RenameField("app", "Post", "title", "headline"),
        RenameModel("app", "Author", "Writer"),
        RenameModel("app", "Post", "Article"),
    )
    assert rows(conn, "SELECT id, headline, score, author_id FROM app_article ORDER BY id") == before
    assert rows(conn, "SELECT name FROM app_writer ORDER BY id") == [("ann",), ("bob",)]
    # The foreign key followed the renamed table, so deleting a writer still cascades.
    conn.execute("DELETE FROM app_writer WHERE id = 2")
    assert rows(conn, "SELECT id FROM app_article ORDER BY id") == [(1,), (3,)]
    assert_schema_is(conn, state)


def test_native_add_and_drop_column(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    add = AddField("app", "Post", FieldState("views", Integer(), default=7))
    plan = D.plan_migration(Migration("m", "app", operations=[add]), state)
    assert [s.sql for s in plan.all_statements()] == [
        'ALTER TABLE "app_post" ADD COLUMN "views" integer NOT NULL DEFAULT 7'
    ]
    run(conn, plan)
    assert rows(conn, "SELECT views FROM app_post") == [(7,), (7,), (7,)]
    state = migrate(conn, plan.after, RemoveField("app", "Post", "views"))
    assert_schema_is(conn, state)


# -- rebuilds --------------------------------------------------------------------------------


def test_type_and_null_changes_rebuild_keeping_rows_indexes_and_keys(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    state = migrate(
        conn,
        state,
        AlterField("app", "Post", "score", FieldState("score", Integer(), default=0)),
        AlterField("app", "Post", "title", FieldState("title", Text(), db_index=True)),
    )
    # REAL became INTEGER by rounding; the NULL took the default of the now NOT NULL column.
    assert rows(conn, "SELECT id, title, score, author_id FROM app_post ORDER BY id") == [
        (1, "first", 2, 1),
        (2, "second", 0, 2),
        (3, "third", 3, 1),
    ]
    assert rows(conn, "SELECT typeof(score) FROM app_post") == [("integer",)] * 3
    assert indexes(conn, "app_post") == {"app_post_title_idx", "post_recent"}
    assert rows(conn, "PRAGMA foreign_key_check") == []
    assert_schema_is(conn, state)


def test_several_alterations_of_one_table_share_one_rebuild(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    operations: list[Operation] = [
        AlterField("app", "Post", "score", FieldState("score", Text(), null=True)),
        AlterField("app", "Post", "score", FieldState("score", Double(), null=True)),
        AddField("app", "Post", FieldState("rank", Integer(), default=5)),
        AlterField("app", "Post", "rank", FieldState("rank", BigInteger(), null=True)),
        RenameField("app", "Post", "rank", "position"),
        AddConstraint("app", "Post", ConstraintState.check_that("position_positive", "position > 0")),
    ]
    plan = D.plan_migration(Migration("m", "app", operations=operations), state)
    sql = [s.sql for s in plan.all_statements()]
    assert sum(s.startswith('CREATE TABLE "new__app_post"') for s in sql) == 1
    assert [step.operation_indexes for step in plan.steps] == [(0, 1, 2, 3, 4, 5)]
    run(conn, plan)
    # The rows hold what running the operations one by one would leave: the 5 the
    # AddField wrote survives the later AlterField that drops the default.
    assert rows(conn, "SELECT id, score, position FROM app_post ORDER BY id") == [
        (1, 1.5, 5),
        (2, None, 5),
        (3, 3.0, 5),
    ]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE app_post SET position = -1")
    assert_schema_is(conn, plan.after)


def test_rebuilding_a_parent_keeps_cascading_children(conn: sqlite3.Connection) -> None:
    # With foreign keys on, DROP TABLE would run ON DELETE CASCADE on every post:
    # the plan must switch them off around its transaction.
    state = blog(conn)
    state = migrate(conn, state, AlterField("app", "Author", "name", FieldState("name", Text(), unique=True)))
    assert rows(conn, "SELECT count(*) FROM app_post") == [(3,)]
    assert rows(conn, "PRAGMA foreign_keys") == [(1,)]  # switched back on
    conn.execute("DELETE FROM app_author WHERE id = 1")
    assert rows(conn, "SELECT title FROM app_post") == [("second",)]
    assert_schema_is(conn, state)


def test_rebuild_keeps_the_autoincrement_counter(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    conn.execute("DELETE FROM app_post WHERE id = 3")
    state = migrate(
        conn, state, AlterField("app", "Post", "score", FieldState("score", Integer(), null=True))
    )
    conn.execute("INSERT INTO app_post (title, author_id) VALUES ('fourth', 1)")
    # Id 3 was used once: AUTOINCREMENT must not give it again.
    assert rows(conn, "SELECT max(id) FROM app_post") == [(4,)]


def test_unique_constraint_survives_a_rebuild(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    state = migrate(conn, state, AlterUniqueTogether("app", "Post", [("title", "author")]))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO app_author (name) VALUES ('ann')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO app_post (title, author_id) VALUES ('first', 1)")
    assert_schema_is(conn, state)


def test_foreign_key_check_reports_rows_left_dangling(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO app_post (title, author_id) VALUES ('orphan', 99)")
    conn.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(CheckFailed):
        migrate(conn, state, AlterField("app", "Post", "score", FieldState("score", Integer(), null=True)))
    # Rolled back: the table is the one from before.
    assert rows(conn, "SELECT type FROM pragma_table_info('app_post') WHERE name = 'score'") == [("double",)]


def test_one_off_default_fills_rows_and_the_default_does_not_stay(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    add = AddField("app", "Post", FieldState("slug", Varchar(50), default="-"), preserve_default=False)
    state = migrate(conn, state, add)
    assert rows(conn, "SELECT slug FROM app_post") == [("-",), ("-",), ("-",)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO app_post (title, author_id) VALUES ('x', 1)")
    assert_schema_is(conn, state)


def test_expression_default_applies_to_existing_rows(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    add = AddField("app", "Post", FieldState("added", "datetime", default=SqlDefault("CURRENT_TIMESTAMP")))
    state = migrate(conn, state, add)
    assert rows(conn, "SELECT count(*) FROM app_post WHERE added IS NOT NULL") == [(3,)]
    assert_schema_is(conn, state)


def test_text_to_integer_keeps_values_that_are_not_numbers(conn: sqlite3.Connection) -> None:
    state = migrate(conn, ProjectState(), CreateModel("app", "Code", [pk(), FieldState("value", Text())]))
    conn.executemany("INSERT INTO app_code (value) VALUES (?)", [("12",), ("x7",)])
    state = migrate(conn, state, AlterField("app", "Code", "value", FieldState("value", Integer())))
    assert rows(conn, "SELECT value, typeof(value) FROM app_code ORDER BY id") == [
        (12, "integer"),
        ("x7", "text"),
    ]


def test_odd_identifiers_work_end_to_end(conn: sqlite3.Connection) -> None:
    odd = CreateModel(
        "app",
        "Order",
        [
            pk(),
            FieldState('a"b', Integer(), null=True, db_index=True),
            FieldState("naïve 表", Text(), default="é"),
        ],
        db_table="order",
        constraints=[ConstraintState.unique_on("select", ['a"b', "naïve 表"])],
    )
    state = migrate(conn, ProjectState(), odd)
    conn.execute('INSERT INTO "order" ("a""b") VALUES (1)')
    state = migrate(
        conn,
        state,
        RenameField("app", "Order", "naïve 表", "group by"),
        AlterField("app", "Order", 'a"b', FieldState('a"b', BigInteger(), null=True, db_index=True)),
    )
    assert rows(conn, 'SELECT "a""b", "group by" FROM "order"') == [(1, "é")]
    assert_schema_is(conn, state)


def test_many_to_many_rows_survive_renaming_the_target(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    tags = AddField(
        "app", "Post", FieldState("fans", Integer(), relation=Relation("many_to_many", "app.Author"))
    )
    state = migrate(conn, state, tags)
    conn.executemany("INSERT INTO app_post_fans (post_id, author_id) VALUES (?, ?)", [(1, 1), (1, 2), (3, 2)])
    state = migrate(conn, state, RenameModel("app", "Author", "Reader"))
    assert rows(conn, "SELECT post_id, reader_id FROM app_post_fans ORDER BY id") == [(1, 1), (1, 2), (3, 2)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO app_post_fans (post_id, reader_id) VALUES (1, 1)")
    assert_schema_is(conn, state)


# -- backwards -------------------------------------------------------------------------------


BACKWARDS_CASES: Sequence[Sequence[Operation]] = (
    [RenameField("app", "Post", "title", "headline"), RenameModel("app", "Post", "Entry")],
    [AlterField("app", "Post", "score", FieldState("score", Integer(), default=0))],
    [
        AddField("app", "Post", FieldState("extra", Text(), null=True)),
        AddIndex("app", "Post", IndexState("e", ["extra"])),
    ],
    [AddConstraint("app", "Post", ConstraintState.check_that("title_set", "length(title) > 0"))],
    [RemoveIndex("app", "Post", "post_recent"), RemoveField("app", "Post", "score")],
)


@pytest.mark.parametrize("operations", BACKWARDS_CASES, ids=lambda ops: ops[0].describe())
def test_backwards_restores_the_schema_and_untouched_rows(
    conn: sqlite3.Connection, operations: Sequence[Operation]
) -> None:
    state = blog(conn)
    schema = schema_from_catalog(read_catalog(conn), D)
    kept = rows(conn, "SELECT id, author_id FROM app_post ORDER BY id")
    after = migrate(conn, state, *operations)
    assert_schema_is(conn, after)
    back = unmigrate(conn, state, *operations)
    assert back == state
    assert schema_from_catalog(read_catalog(conn), D) == schema
    assert rows(conn, "SELECT id, author_id FROM app_post ORDER BY id") == kept
    assert rows(conn, "PRAGMA foreign_key_check") == []


def test_undoing_removal_of_a_not_null_field_without_default_fails_and_rolls_back(
    conn: sqlite3.Connection,
) -> None:
    # The existing rows need a value the state does not have: the database refuses,
    # and the transaction leaves the table as it was.
    state = blog(conn)
    remove = RemoveField("app", "Post", "author")
    migrate(conn, state, remove)
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        unmigrate(conn, state, remove)
    assert rows(conn, "SELECT name FROM pragma_table_info('app_post')") == [("id",), ("title",), ("score",)]
    assert rows(conn, "SELECT count(*) FROM app_post") == [(3,)]


def test_a_rebuild_keeps_the_views_that_read_the_table(conn: sqlite3.Connection) -> None:
    state = blog(conn)
    conn.execute("CREATE VIEW scored AS SELECT title, score FROM app_post WHERE score IS NOT NULL")
    state = migrate(
        conn, state, AlterField("app", "Post", "score", FieldState("score", Integer(), null=True))
    )
    assert rows(conn, "SELECT title, score FROM scored ORDER BY title") == [("first", 2), ("third", 3)]
    conn.execute("INSERT INTO app_post (title, score, author_id) VALUES ('fourth', 4, 1)")
    assert rows(conn, "SELECT title FROM scored ORDER BY title") == [("first",), ("fourth",), ("third",)]
    # A later rename still rewrites the view, as SQLite's modern rename does.
    migrate(conn, state, RenameModel("app", "Post", "Article"))
    assert rows(conn, "SELECT count(*) FROM scored") == [(3,)]


def test_renaming_a_field_follows_it_into_checks_and_index_conditions(conn: sqlite3.Connection) -> None:
    state = migrate(
        conn,
        ProjectState(),
        CreateModel(
            "app",
            "Game",
            [pk(), FieldState("score", Integer())],
            constraints=[ConstraintState.check_that("score_range", "score BETWEEN 0 AND 10")],
            indexes=[IndexState("high_scores", ["score"], condition="score > 5")],
        ),
    )
    conn.executemany("INSERT INTO app_game (score) VALUES (?)", [(3,), (7,)])
    state = migrate(conn, state, RenameField("app", "Game", "score", "points"))
    assert_schema_is(conn, state)
    # A later rebuild recreates the check and the index from the state: they must name the new column.
    state = migrate(
        conn, state, AlterField("app", "Game", "points", FieldState("points", Integer(), null=True))
    )
    assert_schema_is(conn, state)
    assert rows(conn, "SELECT points FROM app_game ORDER BY points") == [(3,), (7,)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO app_game (points) VALUES (11)")

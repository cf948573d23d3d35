"""MigrationExecutor on real SQLite files holding rows: every operation, plans, fakes, code, checksums."""

from __future__ import annotations

import sqlite3
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import InconsistentHistory, IrreversibleOperation
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.graph import PlanStep
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelTable,
    AlterUniqueTogether,
    CreateModel,
    DeleteModel,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import AutoField, BigInteger, Integer, Text, Varchar
from reinhardt_migrations.shell.backends.sqlite import SqliteBackend
from reinhardt_migrations.shell.errors import ChecksumMismatch, DatabaseError, FakeInitialMismatch
from reinhardt_migrations.shell.executor import MigrationExecutor, ProgressEvent
from reinhardt_migrations.shell.recorder import DEFAULT_TABLE

ID = FieldState("id", AutoField(), primary_key=True)


def _author_and_post() -> Migration:
    return Migration(
        "0001_initial",
        "blog",
        operations=[
            CreateModel("blog", "Author", [ID, FieldState("name", Varchar(50))]),
            CreateModel(
                "blog",
                "Post",
                [
                    ID,
                    FieldState("title", Varchar(100)),
                    FieldState("views", Integer(), null=True),
                    FieldState("author", BigInteger(), relation=Relation("foreign_key", ("blog", "Author"))),
                ],
                indexes=[IndexState("post_title_idx", ["title"])],
            ),
        ],
        initial=True,
    )


def _then(name: str, *operations: Any, atomic: bool = True, previous: str = "0001_initial") -> Migration:
    return Migration(name, "blog", dependencies=[("blog", previous)], operations=operations, atomic=atomic)


class Database:
    """A SQLite file, its backend, and helpers that read it through a separate connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backend = SqliteBackend(str(path))

    def executor(self, *migrations: Migration, **options: Any) -> MigrationExecutor:
        return MigrationExecutor(self.backend, migrations, **options)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def write(self, *statements: str) -> None:
        """Run ``statements`` in one transaction of a separate connection enforcing foreign keys."""
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            for sql in statements:
                conn.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.rows(f'PRAGMA table_info("{table}")')]

    def indexes(self, table: str) -> set[str]:
        return {row[1] for row in self.rows(f'PRAGMA index_list("{table}")') if row[3] == "c"}

    def tables(self) -> set[str]:
        return {row[0] for row in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")} - {
            "sqlite_sequence"
        }

    def schema_sql(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")

    def recorded(self) -> list[tuple[str, str]]:
        if DEFAULT_TABLE not in self.tables():
            return []
        return [
            tuple(row) for row in self.rows(f'SELECT app, name FROM "{DEFAULT_TABLE}" ORDER BY app, name')
        ]

    def fill_blog(self) -> None:
        conn = sqlite3.connect(self.path)
        conn.execute("INSERT INTO blog_author (id, name) VALUES (1, 'Ann'), (2, 'Bob')")
        conn.execute(
            "INSERT INTO blog_post (id, title, views, author_id) VALUES "
            "(1, 'First', 10, 1), (2, 'Second', NULL, 2), (3, 'Third', 30, 1)"
        )
        conn.commit()
        conn.close()

    def fk_check(self) -> list[tuple[Any, ...]]:
        return self.rows("PRAGMA foreign_key_check")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "db.sqlite3")
    yield database
    database.backend.close()


def _migrated(db: Database, *later: Migration) -> MigrationExecutor:
    """Apply the initial migration, fill rows, then apply ``later``; return the executor."""
    initial = _author_and_post()
    db.executor(initial).migrate()
    db.fill_blog()
    executor = db.executor(initial, *later)
    executor.migrate()
    return executor


# -- each operation, with rows in the tables ------------------------------------------


def test_initial_migration_creates_tables_indexes_and_records(db: Database) -> None:
    result = db.executor(_author_and_post()).migrate()
    assert result.applied == (("blog", "0001_initial"),)
    assert {"blog_author", "blog_post", DEFAULT_TABLE} <= db.tables()
    assert db.columns("blog_post") == ["id", "title", "views", "author_id"]
    assert "post_title_idx" in db.indexes("blog_post")
    assert db.recorded() == [("blog", "0001_initial")]


def test_rename_field_keeps_the_data(db: Database) -> None:
    _migrated(db, _then("0002", RenameField("blog", "Post", "title", "headline")))
    assert db.columns("blog_post") == ["id", "headline", "views", "author_id"]
    assert db.rows("SELECT id, headline FROM blog_post ORDER BY id") == [
        (1, "First"),
        (2, "Second"),
        (3, "Third"),
    ]
    assert "post_title_idx" in db.indexes("blog_post"), "the index follows the renamed column"


def test_type_change_keeps_the_data_and_the_index(db: Database) -> None:
    _migrated(db, _then("0002", AlterField("blog", "Post", "title", FieldState("title", Text()))))
    assert db.rows("SELECT id, title FROM blog_post ORDER BY id") == [
        (1, "First"),
        (2, "Second"),
        (3, "Third"),
    ]
    assert "post_title_idx" in db.indexes("blog_post")
    declared = {row[1]: row[2] for row in db.rows('PRAGMA table_info("blog_post")')}
    assert declared["title"].lower() == "text"
    assert db.fk_check() == []


def test_null_to_not_null_with_a_default_fills_the_nulls(db: Database) -> None:
    _migrated(
        db, _then("0002", AlterField("blog", "Post", "views", FieldState("views", Integer(), default=0)))
    )
    assert db.rows("SELECT id, views FROM blog_post ORDER BY id") == [(1, 10), (2, 0), (3, 30)]
    notnull = {row[1]: row[3] for row in db.rows('PRAGMA table_info("blog_post")')}
    assert notnull["views"] == 1
    with pytest.raises(sqlite3.IntegrityError):
        db.write("INSERT INTO blog_post (id, title, views, author_id) VALUES (9, 'x', NULL, 1)")


def test_not_null_to_null_keeps_rows(db: Database) -> None:
    _migrated(
        db, _then("0002", AlterField("blog", "Post", "title", FieldState("title", Varchar(100), null=True)))
    )
    db.write("INSERT INTO blog_post (id, title, author_id) VALUES (4, NULL, 1)")
    assert db.rows("SELECT count(*) FROM blog_post") == [(4,)]


def test_add_field_with_a_default_fills_existing_rows(db: Database) -> None:
    _migrated(db, _then("0002", AddField("blog", "Post", FieldState("slug", Varchar(50), default="none"))))
    assert db.rows("SELECT id, slug FROM blog_post ORDER BY id") == [(1, "none"), (2, "none"), (3, "none")]


def test_add_unique_field_rebuilds_and_keeps_rows(db: Database) -> None:
    _migrated(
        db,
        _then("0002", AddField("blog", "Author", FieldState("email", Varchar(80), null=True, unique=True))),
    )
    assert db.rows("SELECT id, name, email FROM blog_author ORDER BY id") == [
        (1, "Ann", None),
        (2, "Bob", None),
    ]
    db.write("UPDATE blog_author SET email = 'a@x' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError):
        db.write("UPDATE blog_author SET email = 'a@x' WHERE id = 2")


def test_remove_field_keeps_the_other_columns(db: Database) -> None:
    _migrated(db, _then("0002", RemoveField("blog", "Post", "views")))
    assert db.columns("blog_post") == ["id", "title", "author_id"]
    assert db.rows("SELECT id, title, author_id FROM blog_post ORDER BY id") == [
        (1, "First", 1),
        (2, "Second", 2),
        (3, "Third", 1),
    ]


def test_rename_model_keeps_rows_and_foreign_keys(db: Database) -> None:
    _migrated(db, _then("0002", RenameModel("blog", "Author", "Writer")))
    assert "blog_writer" in db.tables()
    assert "blog_author" not in db.tables()
    assert db.rows("SELECT id, name FROM blog_writer ORDER BY id") == [(1, "Ann"), (2, "Bob")]
    targets = {row[2] for row in db.rows('PRAGMA foreign_key_list("blog_post")')}
    assert targets == {"blog_writer"}
    assert db.fk_check() == []


def test_alter_model_table_keeps_rows(db: Database) -> None:
    _migrated(db, _then("0002", AlterModelTable("blog", "Post", "posts")))
    assert db.rows("SELECT count(*) FROM posts") == [(3,)]
    assert "post_title_idx" in db.indexes("posts")


def test_rebuilding_the_referenced_table_keeps_referring_rows(db: Database) -> None:
    # Author is rebuilt (a new NOT NULL unique column forces it); its posts must survive,
    # even though their foreign key cascades on delete.
    _migrated(
        db,
        _then("0002", AlterField("blog", "Author", "name", FieldState("name", Varchar(50), unique=True))),
    )
    assert db.rows("SELECT count(*) FROM blog_post") == [(3,)]
    assert db.fk_check() == []
    with pytest.raises(sqlite3.IntegrityError):
        db.write("INSERT INTO blog_post (id, title, author_id) VALUES (9, 'x', 99)")


def test_indexes_and_constraints_come_and_go(db: Database) -> None:
    _migrated(
        db,
        _then(
            "0002",
            AddIndex("blog", "Post", IndexState("post_views_idx", ["-views"], condition='"views" > 0')),
            AddConstraint("blog", "Post", ConstraintState.check_that("views_positive", '"views" >= 0')),
            AddConstraint("blog", "Author", ConstraintState.unique_on("author_name_uniq", ["name"])),
            AlterUniqueTogether("blog", "Post", [("title", "author")]),
        ),
        _then(
            "0003",
            RenameIndex("blog", "Post", "post_views_idx", "post_popular_idx"),
            previous="0002",
        ),
    )
    assert {"post_title_idx", "post_popular_idx"} <= db.indexes("blog_post")
    with pytest.raises(sqlite3.IntegrityError):
        db.write("UPDATE blog_post SET views = -1 WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError):
        db.write("INSERT INTO blog_author (id, name) VALUES (3, 'Ann')")
    assert db.rows("SELECT count(*) FROM blog_post") == [(3,)]


def test_remove_index_and_constraint(db: Database) -> None:
    _migrated(
        db,
        _then(
            "0002",
            AddConstraint("blog", "Post", ConstraintState.check_that("views_positive", '"views" >= 0')),
        ),
        _then(
            "0003",
            RemoveIndex("blog", "Post", "post_title_idx"),
            RemoveConstraint("blog", "Post", "views_positive"),
            previous="0002",
        ),
    )
    assert "post_title_idx" not in db.indexes("blog_post")
    db.write("UPDATE blog_post SET views = -1 WHERE id = 1")


def test_delete_model_drops_its_table(db: Database) -> None:
    _migrated(
        db,
        _then("0002", RemoveField("blog", "Post", "author"), DeleteModel("blog", "Author")),
    )
    assert "blog_author" not in db.tables()
    assert db.rows("SELECT count(*) FROM blog_post") == [(3,)]


# -- plans, backwards, preview ----------------------------------------------------------------


def test_backwards_to_zero_restores_an_empty_schema(db: Database) -> None:
    second = _then("0002", RenameField("blog", "Post", "title", "headline"))
    executor = _migrated(db, second)
    result = executor.migrate([("blog", "zero")])
    assert result.unapplied == (("blog", "0002"), ("blog", "0001_initial"))
    assert db.tables() == {DEFAULT_TABLE}
    assert db.recorded() == []


def test_backwards_one_step_restores_the_data(db: Database) -> None:
    executor = _migrated(db, _then("0002", RenameField("blog", "Post", "title", "headline")))
    executor.migrate([("blog", "0001_initial")])
    assert db.columns("blog_post") == ["id", "title", "views", "author_id"]
    assert db.rows("SELECT title FROM blog_post ORDER BY id") == [("First",), ("Second",), ("Third",)]
    assert db.recorded() == [("blog", "0001_initial")]


def test_plan_lists_steps_without_running(db: Database) -> None:
    executor = db.executor(_author_and_post(), _then("0002", RemoveField("blog", "Post", "views")))
    assert executor.plan() == (PlanStep(("blog", "0001_initial")), PlanStep(("blog", "0002")))
    assert db.tables() == set()
    executor.migrate()
    assert executor.plan() == ()
    assert executor.plan([("blog", "0001_initial")]) == (PlanStep(("blog", "0002"), backwards=True),)


def test_preview_returns_the_statements_and_runs_nothing(db: Database) -> None:
    executor = db.executor(_author_and_post())
    before = db.schema_sql()
    (step,) = executor.preview()
    assert step.key == ("blog", "0001_initial")
    text = step.describe()
    assert 'CREATE TABLE "blog_post"' in text
    assert 'CREATE INDEX "post_title_idx"' in text
    assert f'INSERT INTO "{DEFAULT_TABLE}"' in text
    # In the order migrate runs them: the recorder row inside the migration's transaction.
    order = ["BEGIN;", 'CREATE TABLE "blog_author"', f'INSERT INTO "{DEFAULT_TABLE}"', "COMMIT;"]
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    assert db.schema_sql() == before
    # What preview shows is what migrate runs.
    result = executor.migrate()
    assert result.steps[0].statements[: len(step.statements)] == step.statements


def test_an_irreversible_operation_stops_the_backwards_plan_before_anything_runs(db: Database) -> None:
    executor = _migrated(
        db,
        _then("0002", RunSQL("UPDATE blog_post SET views = 1")),
        _then("0003", RenameField("blog", "Post", "title", "headline"), previous="0002"),
    )
    before = db.schema_sql()
    with pytest.raises(IrreversibleOperation) as raised:
        executor.migrate([("blog", "0001_initial")])
    assert "blog.0002" in str(raised.value)
    assert db.schema_sql() == before, "0003 must not have been unapplied"
    assert db.recorded() == [("blog", "0001_initial"), ("blog", "0002"), ("blog", "0003")]


def test_run_sql_with_reverse_runs_both_ways(db: Database) -> None:
    executor = _migrated(
        db,
        _then(
            "0002",
            RunSQL(
                "UPDATE blog_post SET views = 100 WHERE id = 2",
                reverse_sql="UPDATE blog_post SET views = NULL WHERE id = 2",
            ),
        ),
    )
    assert db.rows("SELECT views FROM blog_post WHERE id = 2") == [(100,)]
    executor.migrate([("blog", "0001_initial")])
    assert db.rows("SELECT views FROM blog_post WHERE id = 2") == [(None,)]


def test_inconsistent_history_is_refused(db: Database) -> None:
    second = _then("0002", RemoveField("blog", "Post", "views"))
    db.executor(_author_and_post()).migrate()
    executor = db.executor(_author_and_post(), second)
    executor.recorder.record_unapplied(("blog", "0001_initial"))
    executor.recorder.record_applied(second)
    with pytest.raises(InconsistentHistory):
        executor.migrate()


# -- fake and fake_initial --------------------------------------------------------------------


def test_fake_records_without_running(db: Database) -> None:
    executor = db.executor(_author_and_post())
    result = executor.migrate(fake=True)
    assert result.steps[0].faked
    assert db.tables() == {DEFAULT_TABLE}
    assert db.recorded() == [("blog", "0001_initial")]
    executor.migrate([("blog", "zero")], fake=True)
    assert db.recorded() == []


def test_fake_initial_records_when_the_tables_exist(db: Database) -> None:
    # Build the schema without recording it (as an older tool would have).
    db.executor(_author_and_post()).migrate()
    db.backend.execute([executor_flush_statement()])
    db.fill_blog()
    result = db.executor(_author_and_post()).migrate(fake_initial=True)
    assert result.steps[0].faked
    assert db.recorded() == [("blog", "0001_initial")]
    assert db.rows("SELECT count(*) FROM blog_post") == [(3,)]


def test_fake_initial_applies_when_no_table_exists(db: Database) -> None:
    result = db.executor(_author_and_post()).migrate(fake_initial=True)
    assert not result.steps[0].faked
    assert "blog_post" in db.tables()


def test_fake_initial_refuses_a_partial_schema(db: Database) -> None:
    db.write('CREATE TABLE "blog_author" ("id" integer PRIMARY KEY)')  # no "name" column, no posts
    with pytest.raises(FakeInitialMismatch) as raised:
        db.executor(_author_and_post()).migrate(fake_initial=True)
    message = str(raised.value)
    assert "blog_post is missing" in message
    assert "blog_author lacks column(s) name" in message
    assert db.recorded() == []


def test_fake_initial_checks_columns_not_just_table_names(db: Database) -> None:
    conn = sqlite3.connect(db.path)
    conn.execute('CREATE TABLE "blog_author" ("id" integer PRIMARY KEY, "nickname" text)')
    conn.execute(
        'CREATE TABLE "blog_post" ("id" integer PRIMARY KEY, "title" text, "views" int, "author_id" int)'
    )
    conn.commit()
    conn.close()
    with pytest.raises(FakeInitialMismatch, match="blog_author lacks column"):
        db.executor(_author_and_post()).migrate(fake_initial=True)


def executor_flush_statement() -> Any:
    from reinhardt_migrations.pure.sql import Statement

    return Statement(f'DELETE FROM "{DEFAULT_TABLE}"')


# -- RunCode, progress, checksums ---------------------------------------------------------------


@pytest.fixture
def code_module() -> Iterator[types.ModuleType]:
    module = types.ModuleType("reinhardt_test_code")
    module.calls = []  # type: ignore[attr-defined]

    def forwards(connection: sqlite3.Connection, state: ProjectState) -> None:
        module.calls.append(("forwards", sorted(m.db_table for m in state)))  # type: ignore[attr-defined]
        connection.execute("UPDATE blog_post SET views = coalesce(views, 0) + 1")

    def backwards(connection: sqlite3.Connection, state: ProjectState) -> None:
        module.calls.append(("backwards", sorted(m.db_table for m in state)))  # type: ignore[attr-defined]
        connection.execute("UPDATE blog_post SET views = views - 1")

    def explode(connection: sqlite3.Connection, state: ProjectState) -> None:
        connection.execute("UPDATE blog_post SET views = 0")
        raise RuntimeError("boom")

    module.forwards = forwards  # type: ignore[attr-defined]
    module.backwards = backwards  # type: ignore[attr-defined]
    module.explode = explode  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_run_code_gets_the_connection_and_the_historical_state(db: Database, code_module: Any) -> None:
    executor = _migrated(
        db,
        _then(
            "0002",
            AddField("blog", "Post", FieldState("slug", Varchar(20), null=True)),
            RunCode("reinhardt_test_code.forwards", "reinhardt_test_code.backwards"),
        ),
    )
    assert db.rows("SELECT id, views FROM blog_post ORDER BY id") == [(1, 11), (2, 1), (3, 31)]
    assert code_module.calls == [("forwards", ["blog_author", "blog_post"])]
    executor.migrate([("blog", "0001_initial")])
    assert db.rows("SELECT id, views FROM blog_post ORDER BY id") == [(1, 10), (2, 0), (3, 30)]
    assert code_module.calls[-1][0] == "backwards"


def test_failing_run_code_rolls_the_migration_back(db: Database, code_module: Any) -> None:
    initial = _author_and_post()
    db.executor(initial).migrate()
    db.fill_blog()
    failing = _then(
        "0002",
        AddField("blog", "Post", FieldState("slug", Varchar(20), null=True)),
        RunCode("reinhardt_test_code.explode"),
    )
    with pytest.raises(RuntimeError, match="boom") as raised:
        db.executor(initial, failing).migrate()
    assert any("blog.0002" in note for note in getattr(raised.value, "__notes__", []))
    assert db.columns("blog_post") == ["id", "title", "views", "author_id"]
    assert db.rows("SELECT views FROM blog_post ORDER BY id") == [(10,), (None,), (30,)]
    assert db.recorded() == [("blog", "0001_initial")]


def test_progress_reports_each_migration(db: Database) -> None:
    events: list[ProgressEvent] = []
    executor = db.executor(_author_and_post(), _then("0002", RemoveField("blog", "Post", "views")))
    executor.migrate(progress=events.append)
    assert [(e.phase, e.key[1], e.index, e.total) for e in events] == [
        ("start", "0001_initial", 1, 2),
        ("done", "0001_initial", 1, 2),
        ("start", "0002", 2, 2),
        ("done", "0002", 2, 2),
    ]
    assert events[1].describe().startswith("[1/2] Applying blog.0001_initial... OK")


def test_an_edited_applied_migration_is_reported(db: Database) -> None:
    db.executor(_author_and_post(), _then("0002", RemoveField("blog", "Post", "views"))).migrate()
    edited = _then("0002", RemoveField("blog", "Post", "title"))
    executor = db.executor(_author_and_post(), edited)
    statuses = {status.key: status for status in executor.status()}
    assert statuses[("blog", "0001_initial")].checksum_matches is True
    assert statuses[("blog", "0002")].checksum_matches is False
    with pytest.raises(ChecksumMismatch) as raised:
        executor.migrate([("blog", "zero")])
    assert "blog.0002" in str(raised.value)
    assert "blog_post" in db.tables(), "nothing ran"


def test_a_failing_statement_names_migration_operation_and_statement(db: Database) -> None:
    initial = _author_and_post()
    db.executor(initial).migrate()
    failing = _then(
        "0002",
        RemoveField("blog", "Post", "views"),
        RunSQL("INSERT INTO nowhere VALUES (1)", reverse_sql="SELECT 1"),
    )
    with pytest.raises(DatabaseError) as raised:
        db.executor(initial, failing).migrate()
    error = raised.value
    assert error.migration == "blog.0002"
    assert "#2" in error.operation
    assert "INSERT INTO nowhere" in error.statement
    assert "rolled back" in str(error)
    assert "views" in db.columns("blog_post")


def test_non_atomic_migration_keeps_earlier_operations_on_failure(db: Database) -> None:
    initial = _author_and_post()
    db.executor(initial).migrate()
    failing = _then(
        "0002",
        AddField("blog", "Post", FieldState("slug", Varchar(20), null=True)),
        RunSQL("INSERT INTO nowhere VALUES (1)"),
        atomic=False,
    )
    with pytest.raises(DatabaseError) as raised:
        db.executor(initial, failing).migrate()
    assert "not atomic" in str(raised.value)
    assert "slug" in db.columns("blog_post")
    assert db.recorded() == [("blog", "0001_initial")]


def test_squash_records_itself_and_what_it_replaces(db: Database) -> None:
    first = _author_and_post()
    second = _then("0002", RemoveField("blog", "Post", "views"))
    squash = Migration(
        "0001_squashed_0002",
        "blog",
        operations=[*first.operations, *second.operations],
        replaces=[("blog", "0001_initial"), ("blog", "0002")],
        initial=True,
    )
    executor = db.executor(first, second, squash)
    executor.migrate()
    assert db.recorded() == [("blog", "0001_initial"), ("blog", "0001_squashed_0002"), ("blog", "0002")]
    executor.migrate([("blog", "zero")])
    assert db.recorded() == []
    assert db.tables() == {DEFAULT_TABLE}


def test_a_concurrent_run_that_applied_first_is_skipped(db: Database) -> None:
    initial = _author_and_post()
    second = _then("0002", RemoveField("blog", "Post", "views"))
    executor = db.executor(initial, second)

    def another_process_gets_there_first(event: ProgressEvent) -> None:
        # Between our plan and our transaction, another connection applies 0001.
        if event.phase == "start" and event.key == ("blog", "0001_initial"):
            other = SqliteBackend(str(db.path))
            MigrationExecutor(other, [initial]).migrate()
            other.close()

    result = executor.migrate(progress=another_process_gets_there_first)
    assert [(step.key[1], step.skipped) for step in result.steps] == [("0001_initial", True), ("0002", False)]
    assert db.recorded() == [("blog", "0001_initial"), ("blog", "0002")]
    assert db.columns("blog_post") == ["id", "title", "author_id"]


def test_an_irreversible_migration_can_be_faked_backwards(db: Database) -> None:
    executor = _migrated(db, _then("0002", RunSQL("UPDATE blog_post SET views = 1")))
    with pytest.raises(IrreversibleOperation):
        executor.migrate([("blog", "0001_initial")])
    result = executor.migrate([("blog", "0001_initial")], fake=True)
    assert result.unapplied == (("blog", "0002"),)
    assert db.recorded() == [("blog", "0001_initial")]
    assert db.rows("SELECT DISTINCT views FROM blog_post") == [(1,)], "nothing ran"

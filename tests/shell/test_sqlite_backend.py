"""The SQLite backend on real database files: URLs, statements, transactions, errors, catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.introspection import state_from_catalog
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.backends.sqlite import MEMORY, SqliteBackend, sqlite_path
from reinhardt_migrations.shell.errors import (
    DatabaseError,
    DatabaseLocked,
    ForeignKeyViolation,
    InvalidDatabaseUrl,
    MissingDriver,
)


@pytest.fixture
def backend(tmp_path: Path) -> SqliteBackend:
    opened = SqliteBackend(str(tmp_path / "db.sqlite3"))
    yield opened  # type: ignore[misc]
    opened.close()


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read with a separate stdlib connection: what another process would see."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///db.sqlite3", "db.sqlite3"),
        ("sqlite:////var/lib/app/db.sqlite3", "/var/lib/app/db.sqlite3"),
        ("sqlite://:memory:", MEMORY),
        ("sqlite:///:memory:", MEMORY),
        ("sqlite:///dir%20with%20space/db.sqlite3", "dir with space/db.sqlite3"),
    ],
)
def test_sqlite_urls_name_their_file(url: str, path: str) -> None:
    assert sqlite_path(url)[0] == path


def test_timeout_comes_from_the_query_string() -> None:
    assert sqlite_path("sqlite:///db.sqlite3?timeout=0.5") == ("db.sqlite3", 0.5)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite://host/db.sqlite3", "three slashes"),
        ("sqlite://", "names no database"),
        ("sqlite:///db.sqlite3?timeout=soon", "timeout"),
        ("oracle://scott@db/orcl", "'oracle' is not one of"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(InvalidDatabaseUrl) as raised:
        connect(url)
    assert words in str(raised.value)
    assert isinstance(raised.value, MigrationError)
    assert isinstance(raised.value, ValueError)


def test_connect_opens_a_sqlite_file_by_url(tmp_path: Path) -> None:
    path = tmp_path / "by_url.sqlite3"
    backend = connect(f"sqlite:///{path}")
    try:
        assert isinstance(backend, Backend)
        assert backend.dialect == "sqlite"
        with backend.atomic():
            backend.execute([Statement('CREATE TABLE "t" ("x" integer)')])
    finally:
        backend.close()
    assert _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("t",)]


def test_connect_in_memory() -> None:
    backend = connect("sqlite://:memory:")
    try:
        backend.execute([Statement("CREATE TABLE t (x)")])
        assert backend.has_table("t")
        assert backend.has_table("T"), "SQLite table names compare case-insensitively"
        assert not backend.has_table("u")
    finally:
        backend.close()


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import reinhardt_migrations.shell.backends as backends

    monkeypatch.setitem(
        backends.BACKENDS, "postgresql", ("nowhere.backend", "Nothing", "no_such_driver_xyz", "postgresql")
    )
    with pytest.raises(MissingDriver) as raised:
        connect("postgresql://user@host/db")
    assert "pip install 'reinhardt-migrations[postgresql]'" in str(raised.value)
    assert isinstance(raised.value, ImportError)


def test_foreign_keys_are_enforced_outside_migrations(backend: SqliteBackend) -> None:
    backend.execute(
        [
            Statement('CREATE TABLE "p" ("id" integer PRIMARY KEY)'),
            Statement('CREATE TABLE "c" ("id" integer PRIMARY KEY, "p_id" integer REFERENCES "p" ("id"))'),
        ]
    )
    with pytest.raises(DatabaseError) as raised:
        backend.execute([Statement('INSERT INTO "c" VALUES (1, 99)')])
    assert "FOREIGN KEY" in str(raised.value)
    assert 'INSERT INTO "c"' in raised.value.statement
    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)


def test_atomic_commits_ddl_and_rows_together(tmp_path: Path, backend: SqliteBackend) -> None:
    with backend.atomic():
        backend.execute(
            [Statement('CREATE TABLE "t" ("x" integer)'), Statement('INSERT INTO "t" VALUES (?)', (7,))]
        )
        assert backend.in_transaction
    assert not backend.in_transaction
    assert _rows(tmp_path / "db.sqlite3", 'SELECT "x" FROM "t"') == [(7,)]


def test_atomic_rolls_back_ddl_on_failure(tmp_path: Path, backend: SqliteBackend) -> None:
    backend.execute(
        [Statement('CREATE TABLE "kept" ("x" integer)'), Statement('INSERT INTO "kept" VALUES (1)')]
    )
    with pytest.raises(DatabaseError), backend.atomic():
        backend.execute(
            [
                Statement('CREATE TABLE "new" ("x" integer)'),
                Statement('ALTER TABLE "kept" ADD COLUMN "y" integer'),
                Statement('INSERT INTO "missing" VALUES (1)'),
            ]
        )
    tables = _rows(tmp_path / "db.sqlite3", "SELECT name FROM sqlite_master ORDER BY name")
    assert tables == [("kept",)]
    assert _rows(tmp_path / "db.sqlite3", "SELECT * FROM kept") == [(1,)]
    assert not backend.in_transaction


def test_atomic_rolls_back_on_any_exception(backend: SqliteBackend) -> None:
    class Boom(Exception):
        pass

    def create_then_fail() -> None:
        backend.execute([Statement("CREATE TABLE t (x)")])
        raise Boom

    with pytest.raises(Boom), backend.atomic():
        create_then_fail()
    assert not backend.has_table("t")


def test_nested_atomic_is_a_savepoint(backend: SqliteBackend) -> None:
    with backend.atomic():
        backend.execute([Statement("CREATE TABLE outer_t (x)")])
        with pytest.raises(DatabaseError), backend.atomic():
            backend.execute([Statement("CREATE TABLE inner_t (x)"), Statement("SELECT * FROM nowhere")])
        assert backend.in_transaction
    assert backend.has_table("outer_t")
    assert not backend.has_table("inner_t")


def test_a_deferred_foreign_key_left_dangling_fails_the_commit(
    tmp_path: Path, backend: SqliteBackend
) -> None:
    backend.execute(
        [
            Statement('CREATE TABLE "p" ("id" integer PRIMARY KEY)'),
            Statement(
                'CREATE TABLE "c" ("id" integer PRIMARY KEY, "p_id" integer '
                'REFERENCES "p" ("id") DEFERRABLE INITIALLY DEFERRED)'
            ),
            Statement('INSERT INTO "p" VALUES (1)'),
            Statement('INSERT INTO "c" VALUES (1, 1)'),
        ]
    )
    with pytest.raises(DatabaseError) as raised, backend.atomic():
        backend.execute([Statement('DELETE FROM "p"')])
    assert raised.value.statement == "COMMIT"
    assert "FOREIGN KEY" in str(raised.value)
    assert not backend.in_transaction
    assert _rows(tmp_path / "db.sqlite3", 'SELECT count(*) FROM "p"') == [(1,)]
    assert backend.query("PRAGMA foreign_keys") == [(1,)]


def test_a_rebuild_framed_by_the_dialect_keeps_referring_rows(backend: SqliteBackend) -> None:
    backend.execute(
        [
            Statement('CREATE TABLE "p" ("id" integer PRIMARY KEY, "name" text)'),
            Statement(
                'CREATE TABLE "c" ("id" integer PRIMARY KEY, '
                '"p_id" integer REFERENCES "p" ("id") ON DELETE CASCADE)'
            ),
            Statement("INSERT INTO \"p\" VALUES (1, 'one')"),
            Statement('INSERT INTO "c" VALUES (10, 1)'),
        ]
    )
    # The frame the SQLite dialect puts around a plan that rebuilds tables.
    backend.execute([Statement("PRAGMA foreign_keys = OFF", transactional=False)])
    with backend.atomic():
        backend.execute(
            [
                Statement('CREATE TABLE "new__p" ("id" integer PRIMARY KEY, "name" text NOT NULL)'),
                Statement('INSERT INTO "new__p" ("id", "name") SELECT "id", "name" FROM "p"'),
                Statement('DROP TABLE "p"'),
                Statement('ALTER TABLE "new__p" RENAME TO "p"'),
                Statement("PRAGMA foreign_key_check", expect_no_rows=True),
            ]
        )
    backend.execute([Statement("PRAGMA foreign_keys = ON", transactional=False)])
    # With enforcement on, DROP TABLE would have cascaded into "c".
    assert backend.query('SELECT * FROM "c"') == [(10, 1)]


def test_expect_no_rows_statements_fail_when_rows_come_back(backend: SqliteBackend) -> None:
    backend.execute([Statement("CREATE TABLE t (x)"), Statement("INSERT INTO t VALUES (1)")])
    with pytest.raises(ForeignKeyViolation):
        backend.execute([Statement("SELECT 't', 1, 'p', 0 FROM t", expect_no_rows=True)])
    backend.execute([Statement("SELECT * FROM t WHERE x = 2", expect_no_rows=True)])


def test_a_locked_database_is_reported_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    backend = SqliteBackend(str(path), timeout=0.05)
    try:
        with pytest.raises(DatabaseLocked) as raised, backend.run_lock():
            pass
        assert "locked" in str(raised.value)
        with pytest.raises(DatabaseLocked), backend.atomic():
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        backend.close()
    # Once the other connection is gone, the lock is free.
    backend = SqliteBackend(str(path), timeout=0.05)
    with backend.run_lock(), backend.atomic():
        backend.execute([Statement("INSERT INTO t VALUES (1)")])
    backend.close()


def test_catalog_reads_tables_columns_indexes_and_keys(backend: SqliteBackend) -> None:
    backend.execute(
        [
            Statement(
                'CREATE TABLE "blog_author" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
                '"name" varchar(50) NOT NULL)'
            ),
            Statement(
                'CREATE TABLE "blog_post" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
                '"title" varchar(200) NOT NULL DEFAULT \'untitled\', "views" integer NULL, '
                '"author_id" bigint NOT NULL, '
                'CONSTRAINT "blog_post_author_id_fk" FOREIGN KEY ("author_id") '
                'REFERENCES "blog_author" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, '
                'CONSTRAINT "views_positive" CHECK ("views" >= 0))'
            ),
            Statement('CREATE INDEX "blog_post_title_idx" ON "blog_post" ("title" DESC) WHERE "views" > 10'),
        ]
    )
    state = state_from_catalog(backend.catalog())
    tables = {model.db_table: model for model in state}
    assert set(tables) >= {"blog_author", "blog_post"}
    post = tables["blog_post"]
    assert [field.column for field in post.fields] == ["id", "title", "views", "author_id"]
    title = post.fields[1]
    assert not title.null
    views = post.fields[2]
    assert views.null
    assert post.fields[0].primary_key
    author = post.fields[3]
    assert author.relation is not None
    assert author.relation.on_delete.value == "CASCADE"
    (index,) = post.indexes
    assert index.name == "blog_post_title_idx"
    assert index.fields[0].startswith("-")
    assert index.condition is not None
    assert [c.name for c in post.constraints if c.kind == "check"] == ["views_positive"]

"""The PostgreSQL backend on a real server: URLs, statements, transactions, errors, catalog, run lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.introspection import (
    CheckRow,
    ForeignKeyRow,
    IndexRow,
    UniqueRow,
    schema_from_catalog,
    state_from_catalog,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.types import AutoField, BigAutoField, Integer, Varchar
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.backends.postgresql import PostgresqlBackend, display_url, postgresql_settings
from reinhardt_migrations.shell.errors import (
    DatabaseError,
    ForeignKeyViolation,
    InvalidDatabaseUrl,
    RunLockHeld,
)

D = dialect_for("postgresql")


@pytest.fixture
def backend(postgresql_url: str) -> Iterator[PostgresqlBackend]:
    opened = PostgresqlBackend(postgresql_url)
    yield opened
    opened.close()


def other_connection(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain psycopg connection: what another process sees."""
    return psycopg.connect(url, autocommit=True)


def in_one_transaction(backend: PostgresqlBackend, *sql: str) -> None:
    with backend.atomic():
        backend.execute([Statement(text) for text in sql])


def tables_seen_by(url: str) -> list[str]:
    with other_connection(url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "ORDER BY relname"
        ).fetchall()
    return [str(row[0]) for row in rows]


# -- URLs and secrets --------------------------------------------------------------------


def test_urls_of_both_schemes_open_the_postgresql_backend(postgresql_url: str) -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        url = scheme + postgresql_url[len("postgresql") :]
        backend = connect(url)
        try:
            assert isinstance(backend, PostgresqlBackend)
            assert isinstance(backend, Backend)
            assert backend.dialect == "postgresql"
            assert backend.query("SELECT 1 + 1") == [(2,)]
        finally:
            backend.close()


def test_our_url_parameters_are_taken_out_and_the_rest_goes_to_libpq() -> None:
    libpq, timeout = postgresql_settings("postgres://u@h:5/db?lock_timeout=2.5&sslmode=disable")
    assert timeout == 2.5
    assert libpq == "postgresql://u@h:5/db?sslmode=disable"
    with pytest.raises(InvalidDatabaseUrl, match="lock_timeout"):
        postgresql_settings("postgresql://u:pw@h/db?lock_timeout=soon")
    with pytest.raises(InvalidDatabaseUrl):
        postgresql_settings("mysql://u@h/db")


def test_libpq_options_in_the_url_reach_the_server(postgresql_url: str) -> None:
    with other_connection(postgresql_url) as conn:
        conn.execute("CREATE SCHEMA tenant")
    backend = PostgresqlBackend(postgresql_url + "?options=-c%20search_path%3Dtenant&lock_timeout=3")
    try:
        assert backend.lock_timeout == 3
        assert backend.query("SELECT current_schema()") == [("tenant",)]
    finally:
        backend.close()


def test_the_password_never_shows(postgresql_url: str) -> None:
    parts = urlsplit(postgresql_url)
    secret = "s3cr3t-Passw0rd"
    with_password = urlunsplit(
        parts._replace(netloc=f"{parts.username}:{secret}@{parts.hostname}:{parts.port}")
    )
    assert display_url(with_password) == urlunsplit(
        parts._replace(netloc=f"{parts.username}:***@{parts.hostname}:{parts.port}")
    )
    backend = PostgresqlBackend(with_password)  # the test server trusts local connections
    try:
        assert secret not in repr(backend)
        assert "***" in repr(backend)
    finally:
        backend.close()
    missing = urlunsplit(parts._replace(path="/no_such_database_here"))
    missing = missing.replace(f"{parts.username}@", f"{parts.username}:{secret}@")
    with pytest.raises(DatabaseError) as raised:
        PostgresqlBackend(missing)
    assert secret not in str(raised.value)
    assert "no_such_database_here" in str(raised.value)
    assert raised.value.__cause__ is None  # the driver's error (and its conninfo) is not chained


# -- statements and transactions -----------------------------------------------------------


def test_statements_bind_parameters_and_leave_percent_signs_alone(backend: PostgresqlBackend) -> None:
    backend.execute(
        [
            Statement("CREATE TABLE t (id integer PRIMARY KEY, note text)"),
            Statement("INSERT INTO t VALUES (%s, %s)", (1, "50% off")),
            Statement("INSERT INTO t VALUES (2, '100% sure')"),
        ]
    )
    assert backend.query("SELECT note FROM t WHERE id = %s", (1,)) == [("50% off",)]
    assert backend.query("SELECT note FROM t WHERE note LIKE '100%'") == [("100% sure",)]
    assert backend.has_table("t")
    assert not backend.has_table("T")


def test_a_failed_statement_rolls_back_the_whole_transaction_ddl_included(
    backend: PostgresqlBackend, postgresql_url: str
) -> None:
    with pytest.raises(DatabaseError) as raised:
        in_one_transaction(
            backend, "CREATE TABLE kept_if_committed (id integer)", "CREATE TABLE broken (id no_such_type)"
        )
    assert 'type "no_such_type" does not exist' in str(raised.value)
    assert raised.value.statement == "CREATE TABLE broken (id no_such_type)"
    assert tables_seen_by(postgresql_url) == []
    assert not backend.in_transaction


def test_statements_sent_together_still_name_the_one_that_failed(
    backend: PostgresqlBackend, postgresql_url: str
) -> None:
    statements = [
        Statement("CREATE TABLE one (id integer) -- a comment ends this statement"),
        Statement("CREATE TABLE two (id integer)"),
        Statement("INSERT INTO two VALUES (1 / 0)"),
        Statement("CREATE TABLE three (id integer)"),
    ]
    with pytest.raises(DatabaseError) as raised, backend.atomic():
        backend.execute(statements)
    assert raised.value.statement == "INSERT INTO two VALUES (1 / 0)"
    assert "division by zero" in str(raised.value)
    assert tables_seen_by(postgresql_url) == []
    with backend.atomic():
        backend.execute([s for s in statements if "1 / 0" not in s.sql])
    assert tables_seen_by(postgresql_url) == ["one", "three", "two"]


def test_a_transaction_whose_error_was_swallowed_does_not_pretend_to_commit(
    backend: PostgresqlBackend, postgresql_url: str
) -> None:
    def swallow() -> None:
        with backend.atomic():
            backend.execute([Statement("CREATE TABLE lost (id integer)")])
            with suppress(DatabaseError):
                backend.execute([Statement("SELECT 1 / 0")])

    with pytest.raises(DatabaseError) as raised:
        swallow()
    assert raised.value.statement == "COMMIT"
    assert tables_seen_by(postgresql_url) == []


def test_nested_atomic_blocks_are_savepoints(backend: PostgresqlBackend, postgresql_url: str) -> None:
    with backend.atomic():
        backend.execute([Statement("CREATE TABLE outer_table (id integer)")])
        with pytest.raises(DatabaseError):
            in_one_transaction(backend, "CREATE TABLE inner_table (id integer)", "SELECT 1 / 0")
        assert backend.in_transaction
    assert tables_seen_by(postgresql_url) == ["outer_table"]


def test_a_deferred_foreign_key_fails_at_commit_and_nothing_is_committed(
    backend: PostgresqlBackend, postgresql_url: str
) -> None:
    backend.execute(
        [
            Statement("CREATE TABLE parent (id integer PRIMARY KEY)"),
            Statement(
                "CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            ),
        ]
    )
    with pytest.raises(DatabaseError) as raised:
        in_one_transaction(
            backend, "INSERT INTO child VALUES (1, 99)", "CREATE TABLE made_before_commit (id integer)"
        )
    assert raised.value.statement == "COMMIT"
    assert "foreign key" in str(raised.value)
    assert tables_seen_by(postgresql_url) == ["child", "parent"]


def test_a_non_transactional_statement_runs_alone_and_is_refused_inside_a_transaction(
    backend: PostgresqlBackend,
) -> None:
    backend.execute([Statement("CREATE TABLE t (id integer)")])
    concurrently = Statement("CREATE INDEX CONCURRENTLY t_id ON t (id)", transactional=False)
    with pytest.raises(DatabaseError, match="cannot run inside a transaction block"), backend.atomic():
        backend.execute([concurrently])
    backend.execute([concurrently])
    assert backend.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass") == [(True,)]


def test_a_check_statement_that_returns_rows_fails(backend: PostgresqlBackend) -> None:
    with pytest.raises(ForeignKeyViolation):
        backend.execute([Statement("SELECT 't', 1, 'parent'", expect_no_rows=True)])
    backend.execute([Statement("SELECT 1 WHERE false", expect_no_rows=True)])


def test_runcode_gets_the_connection_inside_the_transaction(backend: PostgresqlBackend) -> None:
    with backend.atomic():
        backend.connection.execute("CREATE TABLE from_code (id integer)")
        assert backend.in_transaction
    assert backend.has_table("from_code")


# -- catalog -----------------------------------------------------------------------------


def test_the_catalog_reads_every_kind_of_row(backend: PostgresqlBackend) -> None:
    backend.execute(
        [
            Statement(
                "CREATE TABLE author (id bigint GENERATED BY DEFAULT AS IDENTITY, name varchar(50) NOT NULL "
                "DEFAULT 'anon', born date, PRIMARY KEY (id), CONSTRAINT author_name_uniq UNIQUE (name), "
                "CONSTRAINT born_ok CHECK (born > '1900-01-01'))"
            ),
            Statement(
                "CREATE TABLE book (isbn varchar(13), edition integer DEFAULT -1, author_id bigint, "
                "PRIMARY KEY (edition, isbn), CONSTRAINT book_author_fk FOREIGN KEY (author_id) "
                "REFERENCES author (id) ON DELETE SET NULL)"
            ),
            Statement("CREATE INDEX book_recent ON book (edition DESC, isbn) WHERE edition > 0"),
            Statement("CREATE TABLE legacy (id serial PRIMARY KEY)"),
            Statement("COMMENT ON TABLE author IS 'who writes'"),
        ]
    )
    rows = backend.catalog()
    assert [(t.name, t.comment) for t in rows.tables] == [
        ("author", "who writes"),
        ("book", None),
        ("legacy", None),
    ]
    columns = {(c.table, c.name): c for c in rows.columns}
    assert [c.name for c in rows.columns if c.table == "book"] == ["isbn", "edition", "author_id"]
    assert columns[("author", "id")].autoincrement
    assert columns[("author", "id")].default is None
    assert columns[("legacy", "id")].autoincrement  # serial: a nextval() default
    assert columns[("author", "name")].default == "'anon'"
    assert columns[("book", "edition")].default == "-1"
    assert (columns[("book", "edition")].primary_key, columns[("book", "isbn")].primary_key) == (1, 2)
    assert rows.indexes == (
        IndexRow("book", "book_recent", ("edition", "isbn"), (True, False), False, "edition > 0"),
    )
    assert rows.uniques == (UniqueRow("author", "author_name_uniq", ("name",)),)
    assert rows.checks == (CheckRow("author", "born_ok", "born > '1900-01-01'"),)
    assert rows.foreign_keys == (
        ForeignKeyRow("book", "book_author_fk", ("author_id",), "author", ("id",), "SET NULL"),
    )
    state = state_from_catalog(rows)
    author = state.model("tables", "author")
    assert author.field("id").type == BigAutoField()
    assert author.field("name").type == Varchar(50)
    assert state.model("tables", "legacy").field("id").type == AutoField()
    assert state.model("tables", "book").field("author").relation is not None
    assert state.model("tables", "book").field("edition").type == Integer()


def test_the_catalog_reads_only_the_current_schema(backend: PostgresqlBackend) -> None:
    backend.execute(
        [
            Statement("CREATE TABLE public_one (id integer)"),
            Statement("CREATE SCHEMA other"),
            Statement("CREATE TABLE other.elsewhere (id integer)"),
        ]
    )
    assert [t.name for t in backend.catalog().tables] == ["public_one"]
    backend.execute([Statement("SET search_path TO other")])
    assert [t.name for t in backend.catalog().tables] == ["elsewhere"]
    assert schema_from_catalog(backend.catalog(), D).table("elsewhere") is not None


# -- the run lock ------------------------------------------------------------------------


def test_a_second_run_waits_then_names_the_holder(postgresql_url: str) -> None:
    first = PostgresqlBackend(postgresql_url)
    second = PostgresqlBackend(postgresql_url + "?lock_timeout=0.3")
    try:
        holder_pid = first.query("SELECT pg_backend_pid()")[0][0]
        with first.run_lock():
            with pytest.raises(RunLockHeld) as raised, second.run_lock():
                pass
            message = str(raised.value)
            assert f"server process {holder_pid}" in message
            assert "application 'reinhardt-migrations'" in message
            assert "127.0.0.1" in message
            assert "pg_terminate_backend" in message
            assert raised.value.waited >= 0.3
        with second.run_lock():
            assert second.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == [
                (1,)
            ]
    finally:
        first.close()
        second.close()


def test_the_lock_is_released_when_the_block_ends_or_the_connection_dies(postgresql_url: str) -> None:
    first = PostgresqlBackend(postgresql_url)
    second = PostgresqlBackend(postgresql_url + "?lock_timeout=5")
    try:
        with pytest.raises(RuntimeError), first.run_lock():
            raise RuntimeError("migration failed")
        with second.run_lock():
            pass
        lock = first.run_lock()
        lock.__enter__()
        first.close()  # the session ends: PostgreSQL releases its advisory locks
        with second.run_lock():
            pass
    finally:
        second.close()


def test_runs_on_different_schemas_do_not_block_each_other(postgresql_url: str) -> None:
    first = PostgresqlBackend(postgresql_url)
    second = PostgresqlBackend(postgresql_url + "?lock_timeout=0.2")
    try:
        first.execute([Statement("CREATE SCHEMA tenant"), Statement("SET search_path TO tenant")])
        with first.run_lock(), second.run_lock():
            assert first.query("SELECT current_schema()") != second.query("SELECT current_schema()")
    finally:
        first.close()
        second.close()

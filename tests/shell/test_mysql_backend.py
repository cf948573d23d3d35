"""The MySQL/MariaDB backend on a real server: URLs, session, transactions, the run lock, the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pymysql
import pytest

from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends import Backend, connect
from reinhardt_migrations.shell.backends.mysql import MysqlBackend, display_url, lock_name, mysql_settings
from reinhardt_migrations.shell.errors import DatabaseError, InvalidDatabaseUrl, RunLockHeld


@pytest.fixture
def backend(mysql_url: str) -> Iterator[MysqlBackend]:
    opened = MysqlBackend(mysql_url)
    yield opened
    opened.close()


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}"))


# -- URLs -----------------------------------------------------------------------------------------


def test_urls_name_host_port_user_database_and_our_parameters() -> None:
    arguments, timeout = mysql_settings(
        "mariadb://app:s%40cret@db.example:3307/shop?lock_timeout=2.5&charset=utf8"
    )
    assert (arguments["host"], arguments["port"], arguments["user"]) == ("db.example", 3307, "app")
    assert (arguments["password"], arguments["database"], arguments["charset"]) == ("s@cret", "shop", "utf8")
    assert timeout == 2.5
    assert mysql_settings("mysql+pymysql://root@localhost/x")[0]["port"] == 3306


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://root:hunter2@localhost", "names no database"),
        ("mysql://root:hunter2@localhost/x?lock_timeout=soon", "not a number"),
        ("mysql://root:hunter2@localhost/x?sslmode=require", "'sslmode' is not one of"),
        ("postgresql://root:hunter2@localhost/x", "is not mysql"),
    ],
)
def test_bad_urls_are_refused_without_showing_the_password(url: str, problem: str) -> None:
    with pytest.raises(InvalidDatabaseUrl, match=problem) as caught:
        mysql_settings(url)
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_display_url_masks_the_password() -> None:
    assert display_url("mysql://app:pw@h:1/d") == "mysql://app:***@h:1/d"
    assert display_url("mysql://app@h/d") == "mysql://app@h/d"


def test_a_refused_login_names_the_server_but_not_the_password(mysql_url: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        MysqlBackend(with_password(mysql_url, "not-the-password-42"))
    message = str(caught.value)
    assert "error 1045" in message
    assert "not-the-password-42" not in message
    assert "***" in message


def test_connect_opens_mysql_and_mariadb_urls(mysql_url: str) -> None:
    for url in (mysql_url, mysql_url.replace("mysql://", "mariadb://", 1)):
        opened = connect(url)
        try:
            assert isinstance(opened, MysqlBackend)
            assert isinstance(opened, Backend)
            assert opened.dialect == "mysql"
            assert opened.transactional_ddl is False
        finally:
            opened.close()


def test_lock_names_fit_the_servers_64_characters() -> None:
    assert lock_name("shop") == "reinhardt_migrations:shop"
    long = lock_name("d" * 100)
    assert len(long) <= 64
    assert long == lock_name("d" * 100) != lock_name("d" * 101)


# -- session and transactions -----------------------------------------------------------------------


def test_the_session_is_strict_and_reads_backslashes_as_escapes(backend: MysqlBackend) -> None:
    modes = str(backend.query("SELECT @@SESSION.sql_mode")[0][0]).split(",")
    assert "STRICT_TRANS_TABLES" in modes or "STRICT_ALL_TABLES" in modes
    assert "NO_BACKSLASH_ESCAPES" not in modes
    # Strict: a value too long for its column is refused, not cut.
    backend.execute([Statement("CREATE TABLE t (s varchar(2))")])
    with pytest.raises(DatabaseError, match="1406"):
        backend.execute([Statement("INSERT INTO t VALUES ('abc')")])


def run_then_fail(backend: MysqlBackend, *sql: str) -> None:
    """Run ``sql`` in an atomic block that then fails."""
    with backend.atomic():
        backend.execute([Statement(text) for text in sql])
        raise RuntimeError("the block failed")


def test_atomic_rolls_back_data_but_a_ddl_statement_commits_by_itself(backend: MysqlBackend) -> None:
    backend.execute([Statement("CREATE TABLE t (n integer)")])
    with pytest.raises(RuntimeError):
        run_then_fail(backend, "INSERT INTO t VALUES (1)")
    assert backend.query("SELECT n FROM t") == []
    with pytest.raises(RuntimeError):
        run_then_fail(backend, "INSERT INTO t VALUES (2)", "CREATE TABLE u (n integer)")
    # The CREATE TABLE committed the INSERT before it, and itself: MySQL has no transactional DDL.
    assert backend.query("SELECT n FROM t") == [(2,)]
    assert backend.has_table("u")


def test_nested_atomic_blocks_are_savepoints(backend: MysqlBackend) -> None:
    backend.execute([Statement("CREATE TABLE t (n integer)")])
    with backend.atomic():
        backend.execute([Statement("INSERT INTO t VALUES (1)")])
        with pytest.raises(RuntimeError):
            run_then_fail(backend, "INSERT INTO t VALUES (2)")
        backend.execute([Statement("INSERT INTO t VALUES (3)")])
    assert backend.query("SELECT n FROM t ORDER BY n") == [(1,), (3,)]


def test_has_table_compares_names_exactly(backend: MysqlBackend) -> None:
    backend.execute([Statement("CREATE TABLE `Mixed` (n integer)")])
    assert backend.has_table("Mixed")
    assert not backend.has_table("mixed")
    assert not backend.has_table("other")


def test_percent_signs_in_statements_without_parameters_are_left_alone(backend: MysqlBackend) -> None:
    backend.execute([Statement("CREATE TABLE t (s varchar(9) DEFAULT '100%' COMMENT 'a %s b')")])
    backend.execute(
        [Statement("INSERT INTO t VALUES (DEFAULT)"), Statement("INSERT INTO t VALUES (%s)", ["5%"])]
    )
    assert backend.query("SELECT s FROM t ORDER BY s") == [("100%",), ("5%",)]


# -- the run lock ---------------------------------------------------------------------------------


def test_a_second_run_waits_for_the_lock_and_names_who_holds_it(mysql_url: str) -> None:
    holder = MysqlBackend(mysql_url)
    waiter = MysqlBackend(mysql_url, lock_timeout=0.5)
    try:
        holder_id = holder.query("SELECT CONNECTION_ID()")[0][0]
        with holder.run_lock(), pytest.raises(RunLockHeld) as caught, waiter.run_lock():
            pytest.fail("the lock was given twice")
        message = str(caught.value)
        assert f"connection {holder_id} (user 'root'" in message
        assert "KILL <connection id>" in message
        assert "Nothing was run" in message
        # Released: the waiter gets it now.
        with waiter.run_lock():
            assert waiter.query(
                "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (lock_name(urlsplit(mysql_url).path[1:]),)
            ) == [(1,)]
    finally:
        holder.close()
        waiter.close()


def test_the_lock_dies_with_its_connection(mysql_url: str) -> None:
    holder = MysqlBackend(mysql_url)
    waiter = MysqlBackend(mysql_url, lock_timeout=5)
    try:
        lock = holder.run_lock()
        lock.__enter__()
        holder_id = holder.query("SELECT CONNECTION_ID()")[0][0]
        killer = pymysql.connect(
            host=urlsplit(mysql_url).hostname, port=urlsplit(mysql_url).port, user="root", autocommit=True
        )
        killer.cursor().execute(f"KILL {int(holder_id)}")
        killer.close()
        with waiter.run_lock():
            pass
    finally:
        holder.close()
        waiter.close()


# -- the catalog ----------------------------------------------------------------------------------


def test_the_catalog_reads_tables_keys_and_comments(backend: MysqlBackend) -> None:
    backend.execute(
        [
            Statement("CREATE TABLE a (id integer NOT NULL AUTO_INCREMENT PRIMARY KEY) COMMENT 'the a'"),
            Statement(
                "CREATE TABLE b (id bigint NOT NULL, a_id integer NULL COMMENT 'points', j json NULL, "
                "PRIMARY KEY (id), CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE SET NULL, "
                "CONSTRAINT ok CHECK (id > 0))"
            ),
        ]
    )
    rows = backend.catalog()
    assert [(t.name, t.comment) for t in rows.tables] == [("a", "the a"), ("b", None)]
    assert [(c.table, c.name, c.type, c.autoincrement) for c in rows.columns] == [
        ("a", "id", "int", True),
        ("b", "id", "bigint", False),
        ("b", "a_id", "int", False),
        ("b", "j", "json", False),
    ]
    assert [(k.name, k.columns, k.target_table, k.on_delete) for k in rows.foreign_keys] == [
        ("b_a", ("a_id",), "a", "SET NULL")
    ]
    # MySQL made an index for the key, named after it: it is the key's, not the schema's.
    assert rows.indexes == ()
    assert [(c.name, c.check) for c in rows.checks] == [("ok", "`id` > 0")]

"""Smoke tests: the session really runs PostgreSQL and MariaDB/MySQL servers.

Each test creates a table, inserts, selects and reads the server's version, so a
broken fixture shows up here first rather than as a confusing backend failure.
"""

from __future__ import annotations

import psycopg
import pymysql
import pytest


def test_postgresql_url_names_a_fresh_database_on_loopback(
    postgresql_url: str, postgresql_server: object
) -> None:
    """The URL points at 127.0.0.1 and at a database with no tables in it."""
    assert postgresql_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(postgresql_url) as connection:
        row = connection.execute(
            "SELECT current_database(), count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert row is not None
    assert postgresql_url.endswith(f"/{row[0]}")
    assert row[1] == 0


def test_postgresql_conn_creates_inserts_and_selects(
    postgresql_conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """A table round-trips rows, inside a committed transaction."""
    postgresql_conn.execute("CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL)")
    postgresql_conn.execute("INSERT INTO author (name) VALUES (%s), (%s)", ("Ada", "Grace"))
    postgresql_conn.commit()
    rows = postgresql_conn.execute("SELECT id, name FROM author ORDER BY id").fetchall()
    assert rows == [(1, "Ada"), (2, "Grace")]


def test_postgresql_server_reports_its_version(
    postgresql_conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """It is a real PostgreSQL, at least 14 (the oldest pytest-postgresql supports)."""
    row = postgresql_conn.execute("SELECT version(), current_setting('server_version_num')").fetchone()
    assert row is not None
    assert str(row[0]).startswith("PostgreSQL ")
    assert int(str(row[1])) >= 140000


def test_each_postgresql_test_gets_its_own_database(
    postgresql_conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """The table made by another test is not here."""
    row = postgresql_conn.execute("SELECT to_regclass('author')").fetchone()
    assert row == (None,)


def test_mysql_url_names_a_fresh_database_on_loopback(mysql_url: str) -> None:
    """The URL points at 127.0.0.1 and at an empty utf8mb4 database."""
    assert mysql_url.startswith("mysql://root@127.0.0.1:")
    host_port, database = mysql_url.removeprefix("mysql://root@").split("/")
    host, port = host_port.split(":")
    connection = pymysql.connect(host=host, port=int(port), user="root", database=database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE(), @@character_set_database")
            assert cursor.fetchone() == (database, "utf8mb4")
            cursor.execute("SHOW TABLES")
            assert cursor.fetchall() == ()
    finally:
        connection.close()


def test_mysql_conn_creates_inserts_and_selects(mysql_conn: pymysql.Connection) -> None:
    """An InnoDB table round-trips rows, inside a committed transaction."""
    with mysql_conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE author (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL) ENGINE=InnoDB"
        )
        cursor.executemany("INSERT INTO author (name) VALUES (%s)", [("Ada",), ("Grace",)])
        mysql_conn.commit()
        cursor.execute("SELECT id, name FROM author ORDER BY id")
        assert cursor.fetchall() == ((1, "Ada"), (2, "Grace"))


def test_mysql_server_reports_its_version(mysql_conn: pymysql.Connection) -> None:
    """It is a real MariaDB or MySQL server."""
    with mysql_conn.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@version_comment")
        version, comment = cursor.fetchone()
    assert version[0].isdigit()
    assert "mariadb" in f"{version} {comment}".lower() or "mysql" in str(comment).lower()


def test_each_mysql_test_gets_its_own_database(mysql_conn: pymysql.Connection) -> None:
    """The table made by another test is not here."""
    with mysql_conn.cursor() as cursor:
        cursor.execute("SHOW TABLES LIKE 'author'")
        assert cursor.fetchall() == ()


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_server_fixture_describes_the_running_server(scheme: str, request: pytest.FixtureRequest) -> None:
    """The session Server value names the scheme, loopback host and a version."""
    server = request.getfixturevalue(f"{scheme}_server")
    assert server.scheme == scheme
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.version
    assert server.url("x") == f"{scheme}://{server.user}@127.0.0.1:{server.port}/x"

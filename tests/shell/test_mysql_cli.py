"""End to end through the real CLI on a MariaDB database (``DATABASE_URL``), checked by introspection."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends.mysql import MysqlBackend
from reinhardt_migrations.shell.cli import cli

PYPROJECT = """\
[project]
name = "demo"

[tool.reinhardt-migrations]
models = ["accounts.models", "blog.models"]
apps = ["accounts", "blog"]
"""

ACCOUNTS = """\
from reinhardt_migrations.pure.models import Model, Varchar


class Author(Model):
    username = Varchar(50, unique=True)
    email = Varchar(254)
"""

BLOG = """\
from reinhardt_migrations.pure.models import CASCADE, CheckConstraint, ForeignKey, Index, Integer
from reinhardt_migrations.pure.models import Model, Varchar


class Post(Model):
    title = Varchar(200)
    author = ForeignKey("accounts.Author", on_delete=CASCADE)
    views = Integer(default=0)

    class Meta:
        indexes = [Index("title", name="post_title_idx")]
        constraints = [CheckConstraint(check="views >= 0", name="post_views_not_negative")]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mysql_url: str) -> Iterator[Path]:
    """A fresh two-app project as the current folder, its DATABASE_URL a fresh MariaDB database."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for app, text in (("accounts", ACCOUNTS), ("blog", BLOG)):
        (root / app).mkdir()
        (root / app / "__init__.py").write_text("", encoding="utf-8")
        (root / app / "models.py").write_text(text, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", mysql_url)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] in ("accounts", "blog")]:
        del sys.modules[name]


def rmig(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    backend = MysqlBackend(url)
    try:
        return backend.query(sql)
    finally:
        backend.close()


def execute(url: str, *sql: str) -> None:
    backend = MysqlBackend(url)
    try:
        backend.execute([Statement(text) for text in sql])
    finally:
        backend.close()


def columns(url: str, table: str) -> list[str]:
    backend = MysqlBackend(url)
    try:
        return [row.name for row in backend.catalog().columns if row.table == table]
    finally:
        backend.close()


def test_make_migrate_change_and_unmigrate_on_mariadb(project: Path, mysql_url: str) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    plan = rmig("sqlmigrate", "blog", "0001")
    assert plan.exit_code == 0, plan.output
    assert "AUTO_INCREMENT" in plan.output
    assert "ON DELETE CASCADE" in plan.output
    assert "runs outside the transaction" in plan.output  # MySQL's DDL commits by itself

    migrated = rmig("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "Applying blog.0001_initial... OK" in migrated.output
    assert columns(mysql_url, "blog_post") == ["id", "title", "author_id", "views"]
    execute(
        mysql_url,
        "INSERT INTO accounts_author (username, email) VALUES ('ann', 'ann@example.org')",
        "INSERT INTO blog_post (title, author_id) VALUES ('Hello', 1)",
    )
    with pytest.raises(Exception, match="4025"):  # the check constraint is there
        execute(mysql_url, "INSERT INTO blog_post (title, author_id, views) VALUES ('Bad', 1, -1)")
    assert rmig("migrate").output.strip() == "No migrations to apply: the database is up to date."

    edit(
        project / "blog" / "models.py",
        "    title = Varchar(200)\n",
        "    headline = Varchar(200, previous_name='title')\n",
    )
    edit(project / "blog" / "models.py", 'Index("title"', 'Index("headline"')
    assert rmig("makemigrations", "--noinput").exit_code == 0
    assert rmig("migrate").exit_code == 0
    assert columns(mysql_url, "blog_post") == ["id", "headline", "author_id", "views"]
    assert query(mysql_url, "SELECT headline, views FROM blog_post") == [("Hello", 0)]

    back = rmig("migrate", "blog", "zero")
    assert back.exit_code == 0, back.output
    assert columns(mysql_url, "blog_post") == []
    assert columns(mysql_url, "accounts_author") == ["id", "username", "email"]


def test_a_migration_failing_midway_says_what_ran_and_a_rerun_finishes_it(
    project: Path, mysql_url: str
) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    assert rmig("migrate").exit_code == 0
    execute(
        mysql_url,
        "INSERT INTO accounts_author (username, email) "
        "VALUES ('ann', 'x@example.org'), ('bob', 'x@example.org')",
    )
    # One migration: a new field, then a unique email the rows refuse.
    edit(
        project / "accounts" / "models.py",
        "    email = Varchar(254)\n",
        "    email = Varchar(254, unique=True)\n",
    )
    edit(project / "accounts" / "models.py", "Varchar(50, unique=True)", "Varchar(60, unique=True)")
    made = rmig("makemigrations", "accounts", "--noinput", "--name", "email_unique")
    assert made.exit_code == 0, made.output

    failed = CliRunner().invoke(cli, ["migrate"])
    assert failed.exit_code == 1
    text = " ".join(failed.output.split())
    assert "Database error in migration accounts.0002_email_unique" in text
    assert "Duplicate entry 'x@example.org'" in text
    assert "MySQL commits each DDL statement" in text
    assert "The migration is not recorded as applied." in text
    assert "rmig migrate accounts 0001_initial" in text
    assert "Operations through: #1 (Alter field username on accounts.Author)." in text
    assert query(mysql_url, "SELECT COUNT(*) FROM reinhardt_migrations_progress") == [(1,)]

    execute(mysql_url, "UPDATE accounts_author SET email = 'bob@example.org' WHERE username = 'bob'")
    finished = rmig("migrate")
    assert finished.exit_code == 0, finished.output
    assert "Applying accounts.0002_email_unique... OK" in finished.output
    assert query(
        mysql_url,
        "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'username'",
    ) == [(60,)]
    assert query(mysql_url, "SELECT COUNT(*) FROM reinhardt_migrations_progress") == [(0,)]

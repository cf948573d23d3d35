"""End to end through the real CLI, in temporary projects, checking the SQLite database by introspection."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

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
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh two-app project as the current folder; sys.path and sys.modules restored after."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for app, text in (("accounts", ACCOUNTS), ("blog", BLOG)):
        (root / app).mkdir()
        (root / app / "__init__.py").write_text("", encoding="utf-8")
        (root / app / "models.py").write_text(text, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    # Models are edited between commands within one second; never read stale bytecode.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] in ("accounts", "blog")]:
        del sys.modules[name]


def rmig(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def connect(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "db.sqlite3")


def tables(root: Path) -> set[str]:
    with connect(root) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {name for (name,) in rows}


def columns(root: Path, table: str) -> list[str]:
    with connect(root) as db:
        return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]


def indexes(root: Path, table: str) -> set[str]:
    with connect(root) as db:
        return {row[1] for row in db.execute(f'PRAGMA index_list("{table}")') if row[3] == "c"}


def foreign_keys(root: Path, table: str) -> set[tuple[str, str, str]]:
    with connect(root) as db:
        return {(row[3], row[2], row[4]) for row in db.execute(f'PRAGMA foreign_key_list("{table}")')}


def migration_files(root: Path, app: str) -> list[str]:
    return sorted(path.name for path in (root / app / "migrations").glob("0*"))


def test_the_whole_life_of_a_project(project: Path) -> None:
    # 1. First migrations, and the database they build.
    made = rmig("makemigrations", "--noinput")
    assert made.exit_code == 0, made.output
    assert migration_files(project, "accounts") == ["0001_initial.py"]
    assert migration_files(project, "blog") == ["0001_initial.py"]
    assert "Create model blog.Post" in made.output
    assert not (project / "db.sqlite3").exists()  # makemigrations never touches the database

    migrated = rmig("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "Applying accounts.0001_initial... OK" in migrated.output
    assert {"accounts_author", "blog_post", "reinhardt_migrations"} <= tables(project)
    assert columns(project, "blog_post") == ["id", "title", "author_id", "views"]
    assert "post_title_idx" in indexes(project, "blog_post")
    assert foreign_keys(project, "blog_post") == {("author_id", "accounts_author", "id")}
    with connect(project) as db:
        db.execute("INSERT INTO accounts_author (username, email) VALUES ('ann', 'ann@example.org')")
        db.execute("INSERT INTO blog_post (title, author_id, views) VALUES ('Hello', 1, 3)")
        with pytest.raises(sqlite3.IntegrityError):  # the check constraint is there
            db.execute("INSERT INTO blog_post (title, author_id, views) VALUES ('Bad', 1, -1)")

    # Running both again is quiet: nothing to make, nothing to apply.
    again = rmig("makemigrations", "--noinput")
    assert (again.exit_code, again.output.strip()) == (0, "No changes detected.")
    assert rmig("migrate").output.strip() == "No migrations to apply: the database is up to date."
    assert rmig("makemigrations", "--check").exit_code == 0

    # 2. Add a field, rename one with a hint and one without (an exact, unambiguous match).
    edit(
        project / "blog" / "models.py",
        "    title = Varchar(200)\n",
        "    headline = Varchar(200, previous_name='title')\n",
    )
    edit(project / "blog" / "models.py", 'Index("title"', 'Index("headline"')
    edit(project / "blog" / "models.py", "    views = ", "    body = Varchar(500, default='')\n    views = ")
    edit(project / "accounts" / "models.py", "    email = Varchar(254)", "    mail = Varchar(254)")
    checked = rmig("makemigrations", "--check")
    assert checked.exit_code == 1
    assert "Rename field title on blog.Post to headline" in checked.output
    assert migration_files(project, "blog") == ["0001_initial.py"]  # --check writes nothing

    made = rmig("makemigrations", "--noinput")
    assert made.exit_code == 0, made.output
    assert "Rename field email on accounts.Author to mail" in made.output
    assert "Rename field title on blog.Post to headline" in made.output
    assert "Add field body to blog.Post" in made.output
    assert len(migration_files(project, "blog")) == 2
    assert rmig("migrate").exit_code == 0
    assert columns(project, "blog_post") == ["id", "headline", "author_id", "views", "body"]
    assert columns(project, "accounts_author") == ["id", "username", "mail"]
    with connect(project) as db:
        # Renames kept the rows: drop-and-add would have lost them.
        assert db.execute("SELECT headline, body, views FROM blog_post").fetchall() == [("Hello", "", 3)]
        assert db.execute("SELECT mail FROM accounts_author").fetchall() == [("ann@example.org",)]
    assert "post_title_idx" in indexes(project, "blog_post")

    # 3. Remove a field: the data loss is announced.
    edit(project / "blog" / "models.py", "    body = Varchar(500, default='')\n", "")
    made = rmig("makemigrations", "--noinput")
    assert made.exit_code == 0, made.output
    assert "Remove field body from blog.Post" in made.output
    assert "lose data" in made.output
    assert rmig("migrate").exit_code == 0
    assert columns(project, "blog_post") == ["id", "headline", "author_id", "views"]

    # 4. Backwards: one step, then the whole app, then everything.
    assert rmig("migrate", "blog", "0002").exit_code == 0
    assert "body" in columns(project, "blog_post")
    status = json.loads(rmig("showmigrations", "blog", "--json").output)
    assert [m["applied"] for m in status["migrations"]] == [True, True, False]
    assert rmig("migrate", "blog", "zero").exit_code == 0
    assert "blog_post" not in tables(project)
    assert "accounts_author" in tables(project)
    assert rmig("migrate", "accounts", "zero").exit_code == 0
    assert tables(project) == {"reinhardt_migrations"}
    listing = rmig("showmigrations").output
    assert "[X]" not in listing
    assert listing.count("[ ]") == 5

    # 5. And forwards again to the latest.
    assert rmig("migrate").exit_code == 0
    assert columns(project, "blog_post") == ["id", "headline", "author_id", "views"]
    assert rmig("check").exit_code == 0


def test_makemigrations_check_exit_codes(project: Path) -> None:
    assert rmig("makemigrations", "--check").exit_code == 1  # nothing written yet: changes missing
    assert not (project / "blog" / "migrations").exists()
    assert rmig("makemigrations", "--noinput").exit_code == 0
    assert rmig("makemigrations", "--check").exit_code == 0
    assert rmig("check").exit_code == 0
    edit(project / "blog" / "models.py", "    views = ", "    rating = Integer(null=True)\n    views = ")
    assert rmig("makemigrations", "--check").exit_code == 1
    failed = rmig("check")
    assert failed.exit_code == 1
    assert "Add field rating to blog.Post" in failed.output
    report = json.loads(rmig("check", "--json").output)
    assert report["ok"] is False
    assert report["pending"][0]["app"] == "blog"


def test_two_branches_conflict_and_merge_fixes_it(project: Path) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    assert rmig("migrate").exit_code == 0
    models = project / "blog" / "models.py"
    original = models.read_text(encoding="utf-8")
    folder = project / "blog" / "migrations"
    # Branch one adds `summary`, branch two adds `rating`; each makes its 0002 from 0001.
    edit(models, "    views = ", "    summary = Varchar(100, null=True)\n    views = ")
    assert rmig("makemigrations", "--noinput", "--name", "post_summary").exit_code == 0
    aside = project / "0002_post_summary.py"
    (folder / "0002_post_summary.py").rename(aside)
    models.write_text(original, encoding="utf-8")
    edit(models, "    views = ", "    rating = Integer(null=True)\n    views = ")
    assert rmig("makemigrations", "--noinput", "--name", "post_rating").exit_code == 0
    aside.rename(folder / "0002_post_summary.py")
    edit(models, "    views = ", "    summary = Varchar(100, null=True)\n    views = ")

    for args in (("migrate",), ("makemigrations", "--noinput"), ("check",)):
        failed = rmig(*args)
        assert failed.exit_code == 1, args
        assert "0002_post_rating" in failed.output
        assert "0002_post_summary" in failed.output
        assert "--merge" in failed.output

    merged = rmig("makemigrations", "--merge", "--noinput")
    assert merged.exit_code == 0, merged.output
    assert "0003_merge_0002_post_rating_0002_post_summary.py" in merged.output
    assert rmig("makemigrations", "--noinput").output.strip() == "No changes detected."
    assert rmig("migrate").exit_code == 0
    assert {"summary", "rating"} <= set(columns(project, "blog_post"))
    assert rmig("makemigrations", "--merge", "--noinput").output.strip() == "No conflicts detected to merge."


def test_json_files_plan_sqlmigrate_and_json_output(project: Path) -> None:
    made = rmig("makemigrations", "--format", "json", "--json")
    assert made.exit_code == 0, made.output
    document = json.loads(made.output)
    assert document["written"] == [
        "accounts/migrations/0001_initial.json",
        "blog/migrations/0001_initial.json",
    ]
    assert (
        json.loads((project / "blog" / "migrations" / "0001_initial.json").read_text())["name"]
        == "0001_initial"
    )

    plan = rmig("migrate", "--plan")
    assert plan.exit_code == 0
    assert 'CREATE TABLE "blog_post"' in plan.output
    assert not (project / "db.sqlite3").exists() or tables(project) <= {"reinhardt_migrations"}
    steps = json.loads(rmig("migrate", "--plan", "--json").output)["plan"]
    assert [(s["app"], s["name"]) for s in steps] == [("accounts", "0001_initial"), ("blog", "0001_initial")]

    forwards = rmig("sqlmigrate", "blog", "0001_initial")
    assert forwards.exit_code == 0
    assert 'CREATE TABLE "blog_post"' in forwards.output
    backwards = rmig("sqlmigrate", "blog", "0001", "--backwards")
    assert 'DROP TABLE "blog_post"' in backwards.output
    statements = json.loads(rmig("sqlmigrate", "blog", "0001", "--json").output)["statements"]
    assert any(s["sql"].startswith('CREATE TABLE "blog_post"') for s in statements)

    result = json.loads(rmig("migrate", "--json").output)
    assert [(s["app"], s["direction"]) for s in result["steps"]] == [
        ("accounts", "forwards"),
        ("blog", "forwards"),
    ]
    assert "blog_post" in tables(project)
    listing = json.loads(rmig("showmigrations", "--json").output)["migrations"]
    assert all(entry["applied"] for entry in listing)
    assert listing[1]["path"] == "blog/migrations/0001_initial.json"


def test_fake_records_without_running_and_fake_initial_recognises_tables(project: Path) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    faked = rmig("migrate", "--fake")
    assert faked.exit_code == 0
    assert "FAKED" in faked.output
    assert tables(project) == {"reinhardt_migrations"}
    assert rmig("migrate", "blog", "zero", "--fake").exit_code == 0
    assert rmig("migrate", "accounts", "zero", "--fake").exit_code == 0
    # Build the tables for real, forget the records, then let --fake-initial find them.
    assert rmig("migrate").exit_code == 0
    with connect(project) as db:
        db.execute("DELETE FROM reinhardt_migrations")
    again = rmig("migrate", "--fake-initial")
    assert again.exit_code == 0, again.output
    assert again.output.count("FAKED") == 2


def test_empty_and_named_migrations(project: Path) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    empty = rmig("makemigrations", "blog", "--empty", "--name", "fill_titles")
    assert empty.exit_code == 0, empty.output
    assert migration_files(project, "blog") == ["0001_initial.py", "0002_fill_titles.py"]
    assert rmig("makemigrations", "--empty").exit_code == 1  # an empty migration needs an app
    dry = rmig("makemigrations", "blog", "--empty", "--dry-run", "--verbose")
    assert "0003_custom.py" in dry.output
    assert "migration = Migration(" in dry.output
    assert migration_files(project, "blog") == ["0001_initial.py", "0002_fill_titles.py"]


def test_a_not_null_field_without_default_needs_a_one_off_default(project: Path) -> None:
    assert rmig("makemigrations", "--noinput").exit_code == 0
    edit(project / "blog" / "models.py", "    views = ", "    slug = Varchar(50)\n    views = ")
    refused = rmig("makemigrations", "--noinput")
    assert refused.exit_code == 1
    assert "blog.Post.slug" in refused.output
    assert "one-off default" in refused.output
    given = rmig("makemigrations", "--noinput", "--default", "blog.Post.slug='untitled'")
    assert given.exit_code == 0, given.output
    assert rmig("migrate").exit_code == 0
    assert "slug" in columns(project, "blog_post")
    bad = rmig("makemigrations", "--noinput", "--default", "blog.Post=1")
    assert bad.exit_code == 2


def test_the_formatters_are_pure_functions_of_the_results(tmp_path: Path) -> None:
    from reinhardt_migrations.pure.migration import Migration
    from reinhardt_migrations.shell.cli_output import format_check, format_progress, format_status
    from reinhardt_migrations.shell.executor import ProgressEvent
    from reinhardt_migrations.shell.service import CheckResult, StatusEntry, StatusResult

    status = StatusResult(
        (
            StatusEntry(("blog", "0001_initial"), True, "2024-01-01", False, tmp_path / "0001_initial.py"),
            StatusEntry(("blog", "0002_more"), False, None, None, None),
        ),
        ("accounts", "blog"),
    )
    assert format_status(status).splitlines() == [
        "accounts",
        " (no migrations)",
        "blog",
        " [X] 0001_initial  (file changed since it was applied)",
        " [ ] 0002_more",
    ]
    assert format_status(status, plan=True).splitlines()[1] == "[ ]  blog.0002_more"
    start = ProgressEvent("start", ("blog", "0001_initial"), False, 1, 2)
    done = ProgressEvent("done", ("blog", "0001_initial"), False, 1, 2, seconds=0.25)
    assert (
        format_progress(start) + format_progress(done) == "[1/2] Applying blog.0001_initial... OK (0.250 s)"
    )
    failed = format_check(
        CheckResult(conflicts=(("blog", ("0002_a", "0002_b")),), pending=(Migration("0003_x", "blog"),))
    )
    assert "Conflict in app 'blog': leaves 0002_a, 0002_b." in failed
    assert "rmig makemigrations --merge" in failed
    assert "blog.0003_x" in failed
    # A styler only wraps text; roles say what the text is.
    marked = format_status(status, style=lambda text, role: f"<{role}>{text}</{role}>")
    assert "<ok>[X]</ok>" in marked
    assert "<head>blog</head>" in marked

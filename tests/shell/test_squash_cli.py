"""``rmig squashmigrations`` end to end, on real SQLite files: fresh, fully and partly migrated databases."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import RunSQL
from reinhardt_migrations.shell.cli import cli
from reinhardt_migrations.shell.loader import load_migration_file
from reinhardt_migrations.shell.service import MigrationService
from reinhardt_migrations.shell.writer import write_migration

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
"""

BLOG = """\
from reinhardt_migrations.pure.models import CASCADE, ForeignKey, Index, Integer, Model, Varchar


class Post(Model):
    title = Varchar(200)
    author = ForeignKey("accounts.Author", on_delete=CASCADE)

    class Meta:
        indexes = [Index("title", name="post_title_idx")]
"""

SQUASH = "0001_squashed_0004_post_rating"
ORIGINALS = ["0001_initial", "0002_post_slug", "0003_fill", "0004_post_rating"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A two-app project whose blog has four migrations, the third an elidable data step."""
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
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    ok(rmig("makemigrations", "--noinput"))
    edit(root / "blog" / "models.py", "    author =", "    slug = Varchar(50, null=True)\n    author =")
    ok(rmig("makemigrations", "--noinput"))
    fill = Migration(
        "0003_fill",
        "blog",
        dependencies=[("blog", "0002_post_slug")],
        operations=[RunSQL("UPDATE blog_post SET slug = title", elidable=True)],
    )
    write_migration(fill, root / "blog" / "migrations")
    edit(root / "blog" / "models.py", "    author =", "    rating = Integer(default=0)\n    author =")
    ok(rmig("makemigrations", "--noinput"))
    assert migration_files(root, "blog") == [f"{name}.py" for name in ORIGINALS]
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] in ("accounts", "blog")]:
        del sys.modules[name]


def rmig(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def migration_files(root: Path, app: str) -> list[str]:
    return sorted(path.name for path in (root / app / "migrations").glob("0*"))


def schema(path: Path) -> dict[str, Any]:
    """Return every user table's columns, indexes and foreign keys, read by introspection."""
    with sqlite3.connect(path) as db:
        names = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name != 'reinhardt_migrations' ORDER BY name"
            )
        ]
        return {
            name: (
                [row[1:] for row in db.execute(f'PRAGMA table_info("{name}")')],
                sorted(row[1:4] for row in db.execute(f'PRAGMA index_list("{name}")')),
                sorted(row[2:5] for row in db.execute(f'PRAGMA foreign_key_list("{name}")')),
            )
            for name in names
        }


def recorded(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT app, name FROM reinhardt_migrations"))


def blog_status(*args: str) -> dict[str, bool]:
    listing = json.loads(ok(rmig("showmigrations", "blog", "--json", *args)).output)
    return {entry["name"]: entry["applied"] for entry in listing["migrations"]}


def test_dry_run_prints_the_squash_and_writes_nothing(project: Path) -> None:
    shown = ok(rmig("squashmigrations", "blog", "0004", "--dry-run"))
    assert "Squashing 4 migrations of 'blog' (0001_initial .. 0004_post_rating)" in shown.output
    assert "4 operation(s) in, 1 out, 1 elidable dropped." in shown.output
    assert f"blog/migrations/{SQUASH}.py" in shown.output
    assert "(would be written)" in shown.output
    assert "- Create model blog.Post" in shown.output
    assert "Keep the old migration files until every database has applied the squash" in shown.output
    assert "remove `replaces`" in shown.output
    assert migration_files(project, "blog") == [f"{name}.py" for name in ORIGINALS]


def test_json_and_refusing_to_overwrite(project: Path) -> None:
    made = json.loads(ok(rmig("squashmigrations", "blog", "0004", "--json")).output)
    assert made["name"] == SQUASH
    assert made["written"] == f"blog/migrations/{SQUASH}.py"
    assert made["replaces"] == [["blog", name] for name in ORIGINALS]
    assert made["dependencies"] == [["accounts", "0001_initial"]]
    assert (made["operations_in"], made["operations_out"], made["elided"]) == (4, 1, 1)
    assert made["squashed"] == ORIGINALS
    # Squashing again names the unfinished squash; a taken name is refused; nothing is overwritten.
    text = (project / "blog" / "migrations" / f"{SQUASH}.py").read_text()
    again = rmig("squashmigrations", "blog", ORIGINALS[0], "0004")
    assert again.exit_code == 1
    assert f"blog.{SQUASH} is a squash whose replaced migrations still exist" in again.output
    assert "a squash whose replaced" in rmig("squashmigrations", "blog", "0004", "--name", "x").output
    assert (project / "blog" / "migrations" / f"{SQUASH}.py").read_text() == text
    # The squash loads back equal to what was reported, and the project still checks.
    squashed = load_migration_file(project / "blog" / "migrations" / f"{SQUASH}.py", "blog")
    assert squashed.replaces == tuple(("blog", name) for name in ORIGINALS)
    ok(rmig("check"))


def test_a_fresh_database_applies_only_the_squash_and_records_the_replaced(project: Path) -> None:
    ok(rmig("migrate", "--database", "sqlite:///originals.sqlite3"))
    ok(rmig("squashmigrations", "blog", "0004_post_rating"))
    migrated = ok(rmig("migrate"))
    assert f"Applying blog.{SQUASH}... OK" in migrated.output
    assert "blog.0002_post_slug" not in migrated.output
    assert recorded(project / "db.sqlite3") == [
        ("accounts", "0001_initial"),
        *(("blog", name) for name in sorted([*ORIGINALS, SQUASH])),
    ]
    # The same schema as the database the original migrations built, and as the files' state.
    assert schema(project / "db.sqlite3") == schema(project / "originals.sqlite3")
    assert "rating" in [column[0] for column in schema(project / "db.sqlite3")["blog_post"][0]]
    ok(rmig("check", "--drift"))
    assert ok(rmig("migrate")).output.strip() == "No migrations to apply: the database is up to date."
    assert set(blog_status().values()) == {True}
    # Backwards to zero through the squash, and forwards again.
    ok(rmig("migrate", "blog", "zero"))
    assert "blog_post" not in schema(project / "db.sqlite3")
    assert recorded(project / "db.sqlite3") == [("accounts", "0001_initial")]
    ok(rmig("migrate"))
    assert schema(project / "db.sqlite3") == schema(project / "originals.sqlite3")


def test_a_database_that_applied_the_originals_has_nothing_to_do(project: Path) -> None:
    ok(rmig("migrate"))
    before = schema(project / "db.sqlite3")
    ok(rmig("squashmigrations", "blog", "0004"))
    assert ok(rmig("migrate")).output.strip() == "No migrations to apply: the database is up to date."
    assert schema(project / "db.sqlite3") == before
    status = blog_status()
    assert status == {SQUASH: True} or set(status.values()) == {True}, status
    plain = ok(rmig("showmigrations", "blog")).output
    assert "[ ]" not in plain
    ok(rmig("check", "--drift"))
    # Deleting the old files and `replaces` finishes the squash: still nothing to do.
    for name in ORIGINALS:
        (project / "blog" / "migrations" / f"{name}.py").unlink()
    _drop_replaces(project / "blog" / "migrations" / f"{SQUASH}.py")
    assert ok(rmig("migrate")).output.strip() == "No migrations to apply: the database is up to date."
    assert blog_status() == {SQUASH: True}


def _drop_replaces(path: Path) -> None:
    """Remove the ``replaces=[...]`` argument (as a user finishing the squash would)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("    replaces=["))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("    ],"))
    path.write_text("".join(lines[:start] + lines[end + 1 :]), encoding="utf-8")


def test_a_partly_migrated_database_finishes_the_originals(project: Path) -> None:
    ok(rmig("migrate", "--database", "sqlite:///originals.sqlite3"))
    ok(rmig("migrate", "blog", "0002"))
    ok(rmig("squashmigrations", "blog", "0004"))
    status = blog_status()
    assert SQUASH not in status
    assert status == {
        "0001_initial": True,
        "0002_post_slug": True,
        "0003_fill": False,
        "0004_post_rating": False,
    }
    migrated = ok(rmig("migrate"))
    assert "Applying blog.0003_fill... OK" in migrated.output
    assert "Applying blog.0004_post_rating... OK" in migrated.output
    assert SQUASH not in migrated.output
    assert schema(project / "db.sqlite3") == schema(project / "originals.sqlite3")
    # Now that all of them are applied, the squash counts as applied too.
    assert ok(rmig("migrate")).output.strip() == "No migrations to apply: the database is up to date."
    assert "[ ]" not in ok(rmig("showmigrations", "blog")).output
    ok(rmig("check", "--drift"))


def test_a_taken_name_is_refused(project: Path) -> None:
    taken = rmig("squashmigrations", "blog", "0002", "0004", "--name", "post_slug")
    assert taken.exit_code == 1
    assert "Migration blog.0002_post_slug already exists" in taken.output
    assert migration_files(project, "blog") == [f"{name}.py" for name in ORIGINALS]


def test_start_name_format_and_unknown_names(project: Path) -> None:
    made = ok(
        rmig("squashmigrations", "blog", "0002", "0004", "--name", "slug_and_rating", "--format", "json")
    )
    assert "blog/migrations/0002_slug_and_rating.json" in made.output
    assert "Squashing 3 migrations of 'blog' (0002_post_slug .. 0004_post_rating)" in made.output
    document = json.loads((project / "blog" / "migrations" / "0002_slug_and_rating.json").read_text())
    assert document["dependencies"] == [["blog", "0001_initial"]]
    ok(rmig("migrate"))
    assert ("blog", "0002_slug_and_rating") in recorded(project / "db.sqlite3")
    missing = rmig("squashmigrations", "blog", "0009")
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    usage = rmig("squashmigrations", "blog")
    assert usage.exit_code == 2


def test_the_service_returns_the_squash_without_printing(project: Path) -> None:
    with MigrationService.from_pyproject() as service:
        result = service.squashmigrations("blog", "0004", dry_run=True)
        assert result.written is None
        assert result.migration.name == SQUASH
        assert result.plan.operations_in == 4
        assert result.replaced == tuple(("blog", name) for name in ORIGINALS)
        written = service.squashmigrations("blog", "0003", start="0002", optimize=False)
        assert written.written == project / "blog" / "migrations" / "0002_squashed_0003_fill.py"
        assert len(written.migration.operations) == 1  # AddField; the elidable RunSQL dropped


def test_a_target_inside_an_applied_squash_goes_back_through_its_originals(project: Path) -> None:
    ok(rmig("squashmigrations", "blog", "0004_post_rating"))
    ok(rmig("migrate"))
    # Back to 0003: the squash gives way to its originals, and only 0004 is undone.
    back = ok(rmig("migrate", "blog", "0003"))
    assert "Unapplying blog.0004_post_rating... OK" in back.output
    assert "rating" not in [column[0] for column in schema(project / "db.sqlite3")["blog_post"][0]]
    ok(rmig("check", "--drift"))
    # Further back needs 0003's data step undone, which cannot be: refused, nothing run.
    refused = rmig("migrate", "blog", "0002")
    assert refused.exit_code == 1
    assert "blog.0003_fill cannot be reversed" in refused.stderr
    assert "rating" not in [column[0] for column in schema(project / "db.sqlite3")["blog_post"][0]]
    # Forwards again: the partly applied squash finishes through its originals.
    again = ok(rmig("migrate"))
    assert "Applying blog.0004_post_rating... OK" in again.output
    ok(rmig("check", "--drift"))

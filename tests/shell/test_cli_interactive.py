"""Interactive makemigrations on a real pseudo-terminal: rename questions, one-off defaults, data loss."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from reinhardt_migrations.shell.service import MigrationService

PYPROJECT = """\
[tool.reinhardt-migrations]
models = ["blog.models"]
apps = ["blog"]
"""

MODELS = """\
from reinhardt_migrations.pure.models import Model, Varchar


class Post(Model):
    title = Varchar(200, default="")
"""

COMMAND = [sys.executable, "-m", "reinhardt_migrations.shell.cli"]


def environment() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NO_COLOR")}
    return {**keep, "TERM": "xterm", "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A one-app project whose first migration is written and applied (in this process), with one row."""
    root = tmp_path / "site"
    (root / "blog").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "blog" / "__init__.py").write_text("", encoding="utf-8")
    (root / "blog" / "models.py").write_text(MODELS, encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    migrate(root, makemigrations=True)
    with sqlite3.connect(root / "db.sqlite3") as db:
        db.execute("INSERT INTO blog_post (title) VALUES ('kept')")
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] == "blog"]:
        del sys.modules[name]


def migrate(root: Path, *, makemigrations: bool = False) -> None:
    with MigrationService.from_pyproject(root / "pyproject.toml") as service:
        if makemigrations:
            service.makemigrations()
        service.migrate()


def rename_title(root: Path) -> None:
    models = root / "blog" / "models.py"
    models.write_text(models.read_text().replace("title = Varchar(", "headline = Varchar("))


def spawn(root: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        COMMAND[0], [*COMMAND[1:], *args], cwd=str(root), env=environment(), encoding="utf-8", timeout=30
    )


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def written(root: Path) -> list[str]:
    return sorted(path.name for path in (root / "blog" / "migrations").glob("0*"))


def test_a_rename_question_answered_yes_renames_and_keeps_the_rows(project: Path) -> None:
    rename_title(project)
    child = spawn(project, "makemigrations")
    child.expect(r"Did you rename field blog\.Post\.title to headline\?")
    child.sendline("y")
    status, output = finish(child)
    assert status == 0, output
    assert "previous_name='title'" in output  # how to skip the question next time
    assert "Rename field title on blog.Post to headline" in output
    assert "\x1b[" in output  # colour on a terminal
    migrate(project)
    with sqlite3.connect(project / "db.sqlite3") as db:
        assert db.execute("SELECT headline FROM blog_post").fetchall() == [("kept",)]


def test_a_rename_answered_no_warns_about_data_loss_and_can_stop(project: Path) -> None:
    rename_title(project)
    child = spawn(project, "makemigrations")
    child.expect(r"Did you rename field blog\.Post\.title to headline\?")
    child.sendline("n")
    child.expect("lose data")
    child.expect(r"Write the migration\(s\) anyway\?")
    child.sendline("n")
    status, output = finish(child)
    assert status == 1
    assert "Nothing was written" in output
    assert written(project) == ["0001_initial.py"]

    child = spawn(project, "makemigrations")
    child.expect(r"Did you rename")
    child.sendline("n")
    child.expect(r"anyway\?")
    child.sendline("y")
    status, output = finish(child)
    assert status == 0, output
    assert "Remove field title from blog.Post" in output
    assert "Add field headline to blog.Post" in output
    assert len(written(project)) == 2


def test_a_new_not_null_field_asks_for_a_one_off_default(project: Path) -> None:
    models = project / "blog" / "models.py"
    models.write_text(models.read_text() + "    slug = Varchar(50)\n")
    child = spawn(project, "makemigrations")
    child.expect(r"Field blog\.Post\.slug is a new NOT NULL field without a default")
    child.expect("Value")
    child.sendline("[1, 2]")  # not a scalar: asked again
    child.expect("Try again")
    child.expect("Value")
    child.sendline("'draft'")
    status, output = finish(child)
    assert status == 0, output
    migrate(project)
    with sqlite3.connect(project / "db.sqlite3") as db:
        assert db.execute("SELECT title, slug FROM blog_post").fetchall() == [("kept", "draft")]


def test_an_empty_answer_to_a_required_default_stops_without_writing(project: Path) -> None:
    models = project / "blog" / "models.py"
    models.write_text(models.read_text() + "    slug = Varchar(50)\n")
    child = spawn(project, "makemigrations")
    child.expect("Value")
    child.sendline("")
    status, output = finish(child)
    assert status == 1
    assert "Stopped at your request" in output
    assert written(project) == ["0001_initial.py"]


def test_noinput_on_a_terminal_asks_nothing(project: Path) -> None:
    rename_title(project)
    child = spawn(project, "makemigrations", "--noinput", "--rename-policy", "never")
    status, output = finish(child)
    assert status == 0, output
    assert "Did you rename" not in output
    assert "Remove field title from blog.Post" in output
    assert "lose data" in output

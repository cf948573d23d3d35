"""The documentation keeps up with the code: CLI reference, public docstrings, the example project."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

import reinhardt_migrations.pure
import reinhardt_migrations.shell
from reinhardt_migrations.shell.cli import cli

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS = REPOSITORY / "docs"
EXAMPLE = DOCS / "examples" / "blog"


def cli_reference_sections() -> dict[str, str]:
    """Return docs/cli.md split into its ``## `rmig <command>` `` sections."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    sections = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        match = re.fullmatch(r"`rmig ([a-z-]+)`", heading.strip())
        if match:
            sections[match.group(1)] = body
    return sections


COMMANDS: dict[str, click.Command] = dict(cli.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_is_in_the_cli_reference(name: str) -> None:
    sections = cli_reference_sections()
    assert name in sections, f"docs/cli.md has no section ## `rmig {name}`"
    section = sections[name]
    for parameter in COMMANDS[name].params:
        if isinstance(parameter, click.Option):
            for option in (*parameter.opts, *parameter.secondary_opts):
                assert f"`{option}" in section or f" {option}`" in section or f"{option}`" in section, (
                    f"docs/cli.md, section rmig {name}, does not mention {option}"
                )
        elif isinstance(parameter, click.Argument):
            # Arguments are written in capitals: APP, TARGET, NAME.
            assert (parameter.name or "").upper().rstrip("S") in section, parameter.name


def test_the_reference_documents_no_command_that_does_not_exist() -> None:
    assert set(cli_reference_sections()) == set(COMMANDS)


def test_global_options_and_exit_codes_are_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for option in cli.params:
        if isinstance(option, click.Option):
            assert any(f"`{name}" in text for name in option.opts), option.opts
    for code in ("`0`", "`1`", "`2`"):
        assert code in text


def public_modules() -> Iterator[ModuleType]:
    for package in (reinhardt_migrations.pure, reinhardt_migrations.shell):
        yield package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield importlib.import_module(info.name)


def test_every_module_has_all_and_every_exported_class_and_function_a_docstring() -> None:
    missing: list[str] = []
    for module in public_modules():
        names = getattr(module, "__all__", None)
        if names is None:
            missing.append(f"{module.__name__} has no __all__")
            continue
        for name in names:
            if not hasattr(module, name):
                missing.append(f"{module.__name__}.{name} is in __all__ but does not exist")
                continue
            value = getattr(module, name)
            if (inspect.isclass(value) or inspect.isfunction(value)) and not (value.__doc__ or "").strip():
                missing.append(f"{module.__name__}.{name} has no docstring")
    assert missing == []


def test_the_docs_the_readme_and_the_tutorial_point_at_exist() -> None:
    for name in ("tutorial.md", "cli.md", "file-format.md", "models.md"):
        assert (DOCS / name).is_file(), name
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    first_command = re.search(r"```sh\n(.+?)\n```", readme, flags=re.DOTALL)
    assert first_command is not None
    assert "cd docs/examples/blog && rmig makemigrations && rmig migrate" in first_command.group(1)
    for text in (readme, *(path.read_text(encoding="utf-8") for path in DOCS.glob("*.md"))):
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", text):
            assert (DOCS / target).is_file() or (REPOSITORY / target).is_file(), target


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of docs/examples/blog as the current folder."""
    copy = tmp_path / "blog-example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"))
    monkeypatch.chdir(copy)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield copy
    for name in [name for name in sys.modules if name.split(".")[0] in ("accounts", "blog")]:
        del sys.modules[name]


def test_the_example_project_runs_as_the_readme_says(example: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["makemigrations", "--noinput"], catch_exceptions=False)
    assert (made.exit_code, made.output.strip()) == (0, "No changes detected.")
    migrated = runner.invoke(cli, ["migrate"], catch_exceptions=False)
    assert migrated.exit_code == 0, migrated.output
    with sqlite3.connect(example / "db.sqlite3") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        foreign = {row[2] for row in db.execute('PRAGMA foreign_key_list("blog_post")')}
    assert {"accounts_author", "blog_post", "blog_tag", "blog_post_tags"} <= tables
    assert foreign == {"accounts_author"}  # the relation across the two apps
    again = runner.invoke(cli, ["migrate"], catch_exceptions=False)
    assert "No migrations to apply" in again.output
    assert runner.invoke(cli, ["check"], catch_exceptions=False).exit_code == 0

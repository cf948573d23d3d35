"""Every bad file, bad setting and bad usage gives its message and a non-zero exit, and runs nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reinhardt_migrations.shell.cli import EXIT_ERROR, EXIT_USAGE, cli

PYPROJECT = """\
[tool.reinhardt-migrations]
models = ["blog.models"]
apps = ["blog"]
"""

MODELS = """\
from reinhardt_migrations.pure.models import Model, Varchar


class Post(Model):
    title = Varchar(200)
"""

GOOD = """\
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel

migration = Migration(
    name="0001_initial",
    app_label="blog",
    operations=[CreateModel("blog", "Post", [FieldState("id", "bigauto", primary_key=True)])],
    initial=True,
)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A one-app project with one good migration, as the current folder."""
    root = tmp_path / "site"
    (root / "blog" / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "blog" / "__init__.py").write_text("", encoding="utf-8")
    (root / "blog" / "models.py").write_text(MODELS, encoding="utf-8")
    (root / "blog" / "migrations" / "0001_initial.py").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] == "blog"]:
        del sys.modules[name]


def rmig(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def user_tables(root: Path) -> set[str]:
    if not (root / "db.sqlite3").exists():
        return set()
    with sqlite3.connect(root / "db.sqlite3") as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {name for (name,) in rows} - {"reinhardt_migrations"}


SECOND = (
    GOOD.replace("0001_initial", "0002_second")
    .replace(
        "    operations=[CreateModel(",
        '    dependencies=[("blog", "0001_initial")],\n    operations=[CreateModel(',
    )
    .replace('"Post"', '"Tag"')
    .replace("    initial=True,\n", "")
)

BAD_FILES = {
    "broken JSON": (
        "0002_second.json",
        '{"format": "reinhardt-migrations/1", "name": "0002_second",',
        ["JSON"],
    ),
    "unknown operation": (
        "0002_second.json",
        '{"format": "reinhardt-migrations/1", "name": "0002_second", "app_label": "blog", '
        '"dependencies": [["blog", "0001_initial"]], "operations": [{"op": "DropEverything"}]}',
        ["DropEverything"],
    ),
    "same name twice": ("0001_initial.json", None, ["0001_initial.py", "delete one"]),
    "missing dependency": (
        "0002_second.py",
        SECOND.replace('("blog", "0001_initial")', '("blog", "0001_gone")'),
        ["blog.0001_gone", "does not exist"],
    ),
    "cycle": ("0002_second.py", None, ["Circular dependency"]),
    "no migration defined": ("0002_second.py", "OPERATIONS = []\n", ["does not define a migration"]),
    "syntax error": ("0002_second.py", "migration = Migration(\n", ["invalid Python syntax"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_migration_file_is_named_and_nothing_is_applied(project: Path, case: str) -> None:
    name, text, fragments = BAD_FILES[case]
    folder = project / "blog" / "migrations"
    if case == "same name twice":
        from reinhardt_migrations.pure.serialize import migration_to_json
        from reinhardt_migrations.shell.loader import load_migration_file

        text = migration_to_json(load_migration_file(folder / "0001_initial.py", "blog"))
    if case == "cycle":
        # 0001 depends on 0002, which depends on 0001.
        first = GOOD.replace(
            "    operations=", '    dependencies=[("blog", "0002_second")],\n    operations='
        )
        (folder / "0001_initial.py").write_text(first, encoding="utf-8")
        text = SECOND
    assert text is not None
    (folder / name).write_text(text, encoding="utf-8")
    for command in (("migrate",), ("showmigrations",), ("makemigrations", "--noinput"), ("check",)):
        result = rmig(*command)
        assert result.exit_code == EXIT_ERROR, (command, result.output)
        assert "blog/migrations/" in result.stderr, result.stderr
        for fragment in fragments:
            assert fragment in result.stderr, (fragment, result.stderr)
        assert "Traceback" not in result.output
    assert user_tables(project) == set()


def test_the_syntax_error_message_has_the_line(project: Path) -> None:
    (project / "blog" / "migrations" / "0002_second.py").write_text(
        "x = 1\n\nmigration = (\n", encoding="utf-8"
    )
    result = rmig("showmigrations")
    assert result.exit_code == EXIT_ERROR
    assert "blog/migrations/0002_second.py:3: invalid Python syntax" in result.stderr


def test_no_configuration_is_an_error_that_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = rmig("showmigrations")
    assert result.exit_code == EXIT_ERROR
    assert "[tool.reinhardt-migrations]" in result.stderr
    assert "--config" in result.stderr


def test_config_option_points_at_another_project(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = rmig("--config", str(project / "pyproject.toml"), "showmigrations")
    assert result.exit_code == 0, result.output
    assert "[ ] 0001_initial" in result.output


def test_a_wrong_setting_names_the_key(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + 'format = "yaml"\n', encoding="utf-8")
    result = rmig("makemigrations", "--noinput")
    assert result.exit_code == EXIT_ERROR
    assert "format: 'yaml' is not a file format" in result.stderr


def test_models_that_cannot_be_imported_name_the_source(project: Path) -> None:
    (project / "blog" / "models.py").write_text("import no_such_module_here\n", encoding="utf-8")
    result = rmig("makemigrations", "--noinput")
    assert result.exit_code == EXIT_ERROR
    assert "Models source 'blog.models'" in result.stderr
    assert "no_such_module_here" in result.stderr


def test_models_of_an_unconfigured_app_are_refused(project: Path) -> None:
    text = MODELS + "\n\nclass Item(Model):\n    class Meta:\n        app_label = 'shop'\n"
    (project / "blog" / "models.py").write_text(text, encoding="utf-8")
    result = rmig("makemigrations", "--noinput")
    assert result.exit_code == EXIT_ERROR
    assert "shop.Item" in result.stderr
    assert "add them to apps" in result.stderr


def test_unknown_app_and_target_are_errors(project: Path) -> None:
    unknown_app = rmig("migrate", "shop")
    assert unknown_app.exit_code == EXIT_ERROR
    assert "no app 'shop' (configured apps: blog)" in unknown_app.stderr
    unknown_target = rmig("migrate", "blog", "0009")
    assert unknown_target.exit_code == EXIT_ERROR
    assert "blog.0009" in unknown_target.stderr
    assert rmig("sqlmigrate", "blog", "0009").exit_code == EXIT_ERROR
    assert user_tables(project) == set()


@pytest.mark.parametrize(
    "args",
    [
        ("migrate", "--no-such-option"),
        ("sqlmigrate", "blog"),
        ("makemigrations", "--format", "yaml"),
        ("no-such-command",),
        ("migrate", "--rename-policy", "never"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: tuple[str, ...]) -> None:
    assert rmig(*args).exit_code == EXIT_USAGE


def test_a_missing_driver_prints_the_pip_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The MySQL driver is an optional extra; pretend it is not installed.
    monkeypatch.setitem(sys.modules, "pymysql", None)
    result = rmig("migrate", "--database", "mysql://root@127.0.0.1/app")
    assert result.exit_code == EXIT_ERROR
    assert "pip install 'reinhardt-migrations[mysql]'" in result.stderr


def test_an_unknown_database_scheme_is_an_error(project: Path) -> None:
    result = rmig("showmigrations", "--database", "oracle://db/x")
    assert result.exit_code == EXIT_ERROR
    assert "oracle" in result.stderr


def test_the_database_option_and_environment_choose_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rmig("migrate", "--database", "sqlite:///other.db").exit_code == 0
    assert (project / "other.db").exists()
    assert not (project / "db.sqlite3").exists()
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_env.db")
    assert rmig("migrate").exit_code == 0
    assert (project / "from_env.db").exists()


def test_every_command_and_option_has_help() -> None:
    for name, command in cli.commands.items():  # type: ignore[attr-defined]
        assert command.help, name
        for parameter in command.params:
            if parameter.param_type_name == "option":
                assert parameter.help, (name, parameter.name)
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Usage:" in result.output


def test_the_console_script_runs_as_a_process(project: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [sys.executable, "-m", "reinhardt_migrations.shell.cli"]
    done = subprocess.run([*command, "migrate"], cwd=project, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Applying blog.0001_initial... OK" in done.stdout
    failed = subprocess.run(
        [*command, "migrate", "blog", "0009"], cwd=project, env=environment, capture_output=True, text=True
    )
    assert failed.returncode == EXIT_ERROR
    assert failed.stderr.startswith("Error: ")
    assert "Traceback" not in failed.stderr
    # No colour when the output is not a terminal.
    assert "\x1b[" not in done.stdout + failed.stderr
    assert not list(project.rglob("__pycache__"))

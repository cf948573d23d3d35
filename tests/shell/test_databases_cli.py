"""The CLI on a project with two SQLite databases: migrate --database ALIAS, grouped showmigrations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.shell.cli import EXIT_ERROR, cli
from reinhardt_migrations.shell.writer import write_migration

PYPROJECT = """\
[tool.reinhardt-migrations]
apps = ["shop", "events"]

[tool.reinhardt-migrations.databases]
default = "sqlite:///shop.sqlite3"
analytics = "sqlite:///analytics.sqlite3"

[tool.reinhardt-migrations.routes]
events = "analytics"
"""

ID = FieldState("id", "bigauto", primary_key=True)
MIGRATIONS = (
    Migration("0001_initial", "shop", operations=[CreateModel("shop", "Product", [ID])], initial=True),
    Migration(
        "0001_initial",
        "events",
        dependencies=[("shop", "0001_initial")],
        operations=[CreateModel("events", "Event", [ID])],
        initial=True,
    ),
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for migration in MIGRATIONS:
        write_migration(migration, root / migration.app_label / "migrations")
    monkeypatch.chdir(root)
    for variable in ("DATABASE_URL", "DATABASE_URL_ANALYTICS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


def rmig(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows if not row[0].startswith("sqlite_")}


def test_migrate_by_alias_then_everything_and_showmigrations_groups_by_database(project: Path) -> None:
    refused = rmig("migrate", "--database", "analytics")
    assert refused.exit_code == EXIT_ERROR
    assert "events.0001_initial" in refused.stderr
    assert "shop.0001_initial" in refused.stderr
    assert "rmig migrate --database default" in refused.stderr

    planned = rmig("migrate", "--plan")
    assert planned.exit_code == 0, planned.output
    assert "Apply shop.0001_initial on database 'default'" in planned.output
    assert "Apply events.0001_initial on database 'analytics'" in planned.output

    first = rmig("migrate", "--database", "default")
    assert first.exit_code == 0, first.output
    assert "shop.0001_initial" in first.output
    assert "events" not in first.output
    assert "shop_product" in tables(project / "shop.sqlite3")
    assert not (project / "analytics.sqlite3").exists() or "events_event" not in tables(
        project / "analytics.sqlite3"
    )

    listing = rmig("showmigrations").output
    assert listing.splitlines() == [
        "Database 'default':",
        "  shop",
        "   [X] 0001_initial",
        "Database 'analytics':",
        "  events",
        "   [ ] 0001_initial",
    ]
    rest = rmig("migrate")
    assert rest.exit_code == 0, rest.output
    assert "Database 'analytics':" in rest.output
    assert "[1/1] Applying events.0001_initial... OK" in rest.output
    assert tables(project / "analytics.sqlite3") == {"events_event", "reinhardt_migrations"}

    document = json.loads(rmig("showmigrations", "--json").output)
    assert [(m["database"], m["app"], m["applied"]) for m in document["migrations"]] == [
        ("default", "shop", True),
        ("analytics", "events", True),
    ]
    only = rmig("showmigrations", "--database", "analytics").output
    assert "shop" not in only
    assert "[X] 0001_initial" in only


def test_backwards_across_databases_is_refused_with_the_command_to_run(project: Path) -> None:
    assert rmig("migrate").exit_code == 0
    refused = rmig("migrate", "shop", "zero")
    assert refused.exit_code == EXIT_ERROR
    assert "rmig migrate events zero --database analytics" in refused.stderr
    assert rmig("migrate", "events", "zero", "--database", "analytics").exit_code == 0
    done = rmig("migrate", "shop", "zero", "--json")
    assert done.exit_code == 0
    assert [(s["database"], s["direction"]) for s in json.loads(done.output)["steps"]] == [
        ("default", "backwards")
    ]
    assert tables(project / "shop.sqlite3") == {"reinhardt_migrations"}


def test_an_unknown_alias_lists_the_configured_ones(project: Path) -> None:
    for command in (("migrate",), ("showmigrations",), ("sqlmigrate", "shop", "0001")):
        result = rmig(*command, "--database", "analytic")
        assert result.exit_code == EXIT_ERROR
        assert "no database 'analytic' (configured databases: default, analytics)" in result.stderr
    assert not (project / "shop.sqlite3").exists()


def test_a_url_replaces_the_default_database_and_sqlmigrate_uses_the_apps_dialect(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rmig("migrate", "--database", "sqlite:///elsewhere.sqlite3").exit_code == 0
    assert "shop_product" in tables(project / "elsewhere.sqlite3")
    assert not (project / "shop.sqlite3").exists()
    assert "events_event" in tables(project / "analytics.sqlite3")

    monkeypatch.setenv("DATABASE_URL_ANALYTICS", "postgresql://app:secret@db.invalid/analytics")
    sql = json.loads(rmig("sqlmigrate", "events", "0001", "--json").output)
    assert sql["dialect"] == "postgresql"
    assert json.loads(rmig("sqlmigrate", "shop", "0001", "--json").output)["dialect"] == "sqlite"
    wrong = rmig("sqlmigrate", "events", "0001", "--database", "default")
    assert wrong.exit_code == EXIT_ERROR
    assert "lives on database 'analytics'" in wrong.stderr
    assert "secret" not in wrong.stderr


def test_check_reports_a_foreign_key_across_databases(project: Path) -> None:
    from reinhardt_migrations.pure.fields import Relation
    from reinhardt_migrations.pure.migration import replay
    from reinhardt_migrations.pure.operations import AddField
    from reinhardt_migrations.shell.config import load_config
    from reinhardt_migrations.shell.service import MigrationService

    across = Migration(
        "0002_event_product",
        "events",
        dependencies=[("events", "0001_initial")],
        operations=[
            AddField(
                "events",
                "Event",
                FieldState("product", "bigint", null=True, relation=Relation("foreign_key", "shop.Product")),
            )
        ],
    )
    write_migration(across, project / "events" / "migrations")
    models = replay([*MIGRATIONS, across])
    with MigrationService(load_config(project / "pyproject.toml", environ={}), models=models) as service:
        result = service.check()
    assert not result.ok
    assert not result.pending
    assert any(
        "events.0002_event_product" in problem and "foreign keys cannot cross databases" in problem
        for problem in result.problems
    ), result.problems

"""Drift: a live database compared with the state its applied migrations build, on all three backends."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import AddIndex, CreateModel
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.shell.backends import connect
from reinhardt_migrations.shell.cli import EXIT_ERROR, cli
from reinhardt_migrations.shell.config import config_from_data
from reinhardt_migrations.shell.service import MigrationService
from reinhardt_migrations.shell.writer import write_migration

ID = FieldState("id", "bigauto", primary_key=True)
INITIAL = Migration(
    "0001_initial",
    "shop",
    operations=[
        CreateModel("shop", "Maker", [ID, FieldState("name", "varchar(50)")]),
        CreateModel(
            "shop",
            "Product",
            [
                ID,
                FieldState("title", "varchar(100)"),
                FieldState("maker", "bigint", relation=Relation("foreign_key", "shop.Maker")),
            ],
        ),
    ],
    initial=True,
)
INDEXED = Migration(
    "0002_product_title",
    "shop",
    [("shop", "0001_initial")],
    [AddIndex("shop", "Product", IndexState("product_title", ["title"]))],
)


def project(root: Path, url: str) -> MigrationService:
    """A one-app project with two migrations on disk, its database at ``url``."""
    for migration in (INITIAL, INDEXED):
        write_migration(migration, root / "shop" / "migrations")
    config = config_from_data({"apps": ["shop"], "database_url": url}, root=root)
    return MigrationService(config, models=replay([INITIAL, INDEXED]))


def run_sql(url: str, *statements: str) -> None:
    """Change the database behind the migrations' back."""
    backend = connect(url)
    try:
        backend.execute([Statement(sql, transactional=False) for sql in statements])
    finally:
        backend.close()


def assert_drift_found(service: MigrationService, url: str, quote: str) -> None:
    """No drift after migrate; a hand-made index, a dropped one and a new column are each reported."""
    service.migrate()
    assert service.drift() == ()
    run_sql(
        url,
        f"CREATE INDEX {quote}by_hand{quote} ON {quote}shop_maker{quote} ({quote}name{quote})",
        f"ALTER TABLE {quote}shop_product{quote} ADD COLUMN {quote}price{quote} integer",
    )
    found = service.drift()
    assert any("table shop_maker: index by_hand" in line for line in found), found
    assert any("table shop_product: column price" in line for line in found), found
    assert len(found) == 2, found
    # Partly migrated back, the comparison follows what the recorder says is applied.
    service.migrate("shop", "0001_initial")
    assert [line for line in service.drift() if "product_title" in line] == []


def test_drift_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    with project(tmp_path, url) as service:
        assert_drift_found(service, url, '"')


def test_drift_on_postgresql(tmp_path: Path, postgresql_url: str) -> None:
    with project(tmp_path, postgresql_url) as service:
        assert_drift_found(service, postgresql_url, '"')


def test_drift_on_mariadb(tmp_path: Path, mysql_url: str) -> None:
    with project(tmp_path, mysql_url) as service:
        assert_drift_found(service, mysql_url, "`")


def test_check_drift_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for migration in (INITIAL, INDEXED):
        write_migration(migration, tmp_path / "shop" / "migrations")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.reinhardt-migrations]\napps = ["shop"]\nmodels = "shop_state:STATE"\n', encoding="utf-8"
    )
    (tmp_path / "shop_state.py").write_text(
        "from reinhardt_migrations.shell.loader import load_migrations\n"
        "from reinhardt_migrations.shell.config import load_config\n"
        "from reinhardt_migrations.pure.migration import replay\n"
        "_graph = load_migrations(load_config()).graph\n"
        "STATE = replay(_graph.migration(key) for key in _graph.forwards_plan())\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delitem(sys.modules, "shop_state", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"], catch_exceptions=False).exit_code == 0
    clean = runner.invoke(cli, ["check", "--drift"], catch_exceptions=False)
    assert clean.exit_code == 0, clean.output
    assert "The database matches its applied migrations." in clean.output
    run_sql(f"sqlite:///{tmp_path / 'db.sqlite3'}", 'DROP INDEX "product_title"')
    drifted = runner.invoke(cli, ["check", "--drift"], catch_exceptions=False)
    assert drifted.exit_code == EXIT_ERROR
    assert "Drift: table shop_product: index product_title" in drifted.output
    # Without --drift, check needs no database and still passes.
    assert runner.invoke(cli, ["check"], catch_exceptions=False).exit_code == 0

"""Custom operations end to end: views in the state, files, sqlmigrate, migrate, check --reversible.

The project is a copy of docs/examples/custom_ops: CreateView written in a JSON file
(named by dotted path), a batched backfill through RunCode in a Python file.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from reinhardt_migrations.pure.custom import CustomOperation, is_database_operation
from reinhardt_migrations.pure.dialects import Dialect, dialect_for
from reinhardt_migrations.pure.errors import DuplicateView, UnknownView, UnsupportedOperation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.serialize import state_from_data, state_to_data
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.types import AutoField
from reinhardt_migrations.pure.views import ViewState, create_view_statement, view_differences
from reinhardt_migrations.shell.cli import cli
from reinhardt_migrations.shell.config import load_config
from reinhardt_migrations.shell.loader import load_migrations
from reinhardt_migrations.shell.service import MigrationService
from reinhardt_migrations.shell.writer import render_migration

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custom_ops"
PRODUCT = ModelState("shop", "Product", [FieldState("id", AutoField(), primary_key=True)])


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example project as the current folder; its modules are forgotten afterwards."""
    copy = tmp_path / "custom_ops"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"))
    monkeypatch.chdir(copy)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield copy
    for name in [name for name in sys.modules if name.split(".")[0] == "shop"]:
        del sys.modules[name]


# -- views in the state --------------------------------------------------------------------


def test_views_are_state_objects_in_equality_and_in_the_state_data() -> None:
    view = ViewState("cheap", "SELECT id FROM shop_product", {"mysql": "SELECT `id` FROM `shop_product`"})
    state = ProjectState.from_models([PRODUCT]).with_view(view)
    assert state != ProjectState.from_models([PRODUCT])
    assert state.without_view("cheap") == ProjectState.from_models([PRODUCT])
    assert state.view("cheap").sql_for("mysql") == "SELECT `id` FROM `shop_product`"
    assert state.view("cheap").sql_for("postgresql") == "SELECT id FROM shop_product"
    data = state_to_data(state)
    assert data["views"] == [
        {
            "name": "cheap",
            "sql": "SELECT id FROM shop_product",
            "per_dialect": {"mysql": view.per_dialect["mysql"]},
        }
    ]
    assert state_from_data(data) == state
    assert "views" not in state_to_data(state.without_view("cheap"))  # states without views keep their data


def test_a_view_shares_the_namespace_of_tables_and_is_validated() -> None:
    state = ProjectState.from_models([PRODUCT])
    with pytest.raises(DuplicateView, match="shop_product"):
        state.with_view(ViewState("shop_product", "SELECT 1"))
    with pytest.raises(DuplicateView, match="another view"):
        state.with_view(ViewState("v", "SELECT 1")).with_view(ViewState("v", "SELECT 2"))
    with pytest.raises(DuplicateView, match="cannot use it as its table"):
        state.with_view(ViewState("t", "SELECT 1")).with_model(
            attrs.evolve(PRODUCT, name="Other", db_table="t")
        )
    with pytest.raises(UnknownView, match="'nope'"):
        state.without_view("nope")
    with pytest.raises(ValueError, match="final ';'"):
        ViewState("v", "SELECT 1;")


def test_view_differences_compare_names_everywhere_and_sql_on_sqlite() -> None:
    views = {"v": ViewState("v", "SELECT  id FROM t")}
    assert view_differences(views, {"v": 'CREATE VIEW "v" AS SELECT id FROM t'}, "sqlite") == ()
    assert view_differences(views, {"v": 'CREATE VIEW "v" AS SELECT 2'}, "sqlite")[0].startswith("view v:")
    assert view_differences(views, {"v": " SELECT t.id FROM t;"}, "postgresql") == ()
    assert view_differences(views, {"w": None}, "mysql") == (
        "view v: in the state, not in the database",
        "view w: in the database, not in the state",
    )
    assert (
        create_view_statement(dialect_for("mysql"), views["v"]).sql == "CREATE VIEW `v` AS SELECT  id FROM t"
    )


# -- the CustomOperation base ----------------------------------------------------------------


@attrs.frozen
class LockTable(CustomOperation):
    """Runs on PostgreSQL only, and cannot be undone (it has no backwards_sql)."""

    table: str
    dialects = frozenset({"postgresql"})

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state

    def describe(self) -> str:
        return f"Lock table {self.table}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        return [Statement(f"LOCK TABLE {dialect.quote(self.table)}")]


def test_the_base_gives_defaults_and_refuses_other_dialects_while_planning() -> None:
    operation = LockTable("shop_product")
    assert is_database_operation(operation)
    assert operation.migration_name_fragment == "lock_table"
    assert not operation.reversible
    migration = Migration("0002_lock", "shop", operations=[operation])
    state = ProjectState.from_models([PRODUCT])
    plan = dialect_for("postgresql").plan_migration(migration, state)
    assert plan.all_statements() == (Statement('LOCK TABLE "shop_product"'),)
    with pytest.raises(UnsupportedOperation, match="runs on postgresql only"):
        dialect_for("sqlite").plan_migration(migration, state)


# -- files, sqlmigrate, migrate --------------------------------------------------------------------


def test_the_files_load_and_write_back_identically(shop: Path) -> None:
    loaded = load_migrations(load_config(cwd=shop))
    for file in loaded.files:
        text = file.path.read_text(encoding="utf-8")
        assert render_migration(file.migration, "json" if file.path.suffix == ".json" else "python") == text
    view = loaded.graph.migration(("shop", "0003_cheap_products")).operations[0]
    assert type(view).__qualname__ == "CreateView"
    assert (
        '"op": "shop.operations.CreateView"'
        in (shop / "shop/migrations/0003_cheap_products.json").read_text()
    )


@pytest.mark.parametrize(
    ("url", "spelling"),
    [
        ("sqlite:///db.sqlite3", '"shop_cheap_product"'),
        ("postgresql://h/db", '"shop_cheap_product"'),
        ("mysql://h/db", "`shop_cheap_product`"),
    ],
)
def test_sqlmigrate_renders_the_custom_operation_offline(shop: Path, url: str, spelling: str) -> None:
    forwards = CliRunner().invoke(
        cli, ["sqlmigrate", "shop", "0003", "--database", url], catch_exceptions=False
    )
    assert forwards.exit_code == 0, forwards.output
    assert (
        f"CREATE VIEW {spelling} AS SELECT id, name, slug FROM shop_product WHERE price < 10;"
        in forwards.output
    )
    backwards = CliRunner().invoke(cli, ["sqlmigrate", "shop", "0003", "--backwards", "--database", url])
    assert f"DROP VIEW {spelling};" in backwards.output


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database_url(request: pytest.FixtureRequest, shop: Path) -> str:
    """Return each database: a file in the project, or a fresh server database (skipped without servers)."""
    if request.param == "sqlite":
        return f"sqlite:///{shop / 'db.sqlite3'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_migrate_runs_the_custom_operation_and_the_backfill_on_every_backend(
    shop: Path, database_url: str
) -> None:
    config = load_config(cwd=shop, database_url=database_url)
    with MigrationService(config) as service:
        service.migrate("shop", "0001")
        mark = "?" if database_url.startswith("sqlite") else "%s"
        with service.backend.atomic():
            service.backend.execute(
                [
                    Statement(
                        f"INSERT INTO shop_product (name, price) VALUES ({mark}, {mark})", ("Desk Lamp", 9)
                    )
                ]
            )
        service.migrate()
        assert service.backend.query("SELECT name, slug FROM shop_cheap_product") == [
            ("Desk Lamp", "desk-lamp-1")
        ]
        service.migrate("shop", "zero")
        assert not service.backend.has_table("shop_product")
        assert service.check_reversible() == ()


LOCKS = """\
from collections.abc import Sequence

import attrs

from reinhardt_migrations.pure.custom import CustomOperation
from reinhardt_migrations.pure.dialects import Dialect
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState


@attrs.frozen
class LockTable(CustomOperation):
    table: str
    dialects = frozenset({"postgresql"})

    def state_forwards(self, state: ProjectState) -> ProjectState:
        return state

    def describe(self) -> str:
        return f"Lock table {self.table}"

    def forwards_sql(self, dialect: Dialect, before: ProjectState, after: ProjectState) -> list[Statement]:
        return [Statement(f"LOCK TABLE {dialect.quote(self.table)}")]
"""
LOCK_MIGRATION = """\
from reinhardt_migrations.pure.migration import Migration

from shop.locks import LockTable

migration = Migration(
    name="0004_lock",
    app_label="shop",
    dependencies=[("shop", "0003_cheap_products")],
    operations=[LockTable(table="shop_product")],
)
"""


def test_a_database_the_operation_does_not_support_gets_an_error_before_anything_runs(shop: Path) -> None:
    (shop / "shop" / "locks.py").write_text(LOCKS)
    (shop / "shop" / "migrations" / "0004_lock.py").write_text(LOCK_MIGRATION)
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 1
    assert "Lock table shop_product cannot run on sqlite" in result.output
    assert "runs on postgresql only" in result.output
    # The whole plan is rendered first: not even 0001 ran.
    with sqlite3.connect(shop / "db.sqlite3") as connection:
        assert connection.execute("SELECT name FROM sqlite_master WHERE name LIKE 'shop%'").fetchall() == []
    on_postgresql = CliRunner().invoke(cli, ["sqlmigrate", "shop", "0004", "--database", "postgresql://h/db"])
    assert 'LOCK TABLE "shop_product";' in on_postgresql.output


# -- check --reversible ---------------------------------------------------------------------------


def test_check_reversible_passes_the_example_and_names_a_migration_that_is_not(shop: Path) -> None:
    runner = CliRunner()
    passed = runner.invoke(cli, ["check", "--reversible"], catch_exceptions=False)
    assert (passed.exit_code, passed.output.strip()) == (
        0,
        "OK: migrations load, have no conflicts and match the models. All 3 migration(s) ran "
        "forwards, backwards and forwards again on a scratch SQLite database, matching their "
        "state at every step.",
    )
    as_json = runner.invoke(cli, ["check", "--reversible", "--json"], catch_exceptions=False)
    assert '"reversible_checked": 3' in as_json.output
    operations = shop / "shop" / "operations.py"
    text = operations.read_text(encoding="utf-8")
    # Break CreateView's backwards: it no longer drops the view.
    operations.write_text(
        text.replace(
            '        """Return ``DROP VIEW``."""\n        return [drop_view_statement(dialect, self.name)]',
            '        """Forgets."""\n        return []',
            1,
        )
    )
    failed = runner.invoke(cli, ["check", "--reversible"], catch_exceptions=False)
    assert failed.exit_code == 1
    assert "shop.0003_cheap_products: after unapplying, the database differs from the state" in failed.output
    assert "view shop_cheap_product: in the database, not in the state" in failed.output
    assert not (shop / "db.sqlite3").exists()  # a scratch database, never the configured one


def test_check_reversible_reports_a_migration_that_cannot_be_reversed(tmp_path: Path) -> None:
    from reinhardt_migrations.pure.graph import MigrationGraph
    from reinhardt_migrations.pure.operations import RunSQL
    from reinhardt_migrations.shell.database_laws import check_migrations_reversible

    first = Migration("0001_initial", "shop", operations=[CreateModel.from_model(PRODUCT)])
    second = Migration(
        "0002_seed",
        "shop",
        dependencies=[first.key],
        operations=[RunSQL("INSERT INTO shop_product DEFAULT VALUES")],
    )
    problems = check_migrations_reversible(MigrationGraph.from_migrations([first, second]))
    assert problems == (
        "shop.0002_seed cannot be reversed: Raw SQL operation: INSERT INTO shop_product DEFAULT VALUES",
    )

"""Several databases in one project: real SQLite files (and servers), routed apps, cross-database rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.introspection import state_from_catalog
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, CreateModel
from reinhardt_migrations.pure.routing import (
    AppliedCrossDatabaseDependent,
    AppOnOtherDatabase,
    CrossDatabaseRelation,
    DatabaseRoutes,
    UnappliedCrossDatabaseDependency,
)
from reinhardt_migrations.shell.backends import Backend
from reinhardt_migrations.shell.config import ConfigError, config_from_data, load_config
from reinhardt_migrations.shell.databases import DatabaseMigrationExecutor
from reinhardt_migrations.shell.recorder import migration_checksum
from reinhardt_migrations.shell.service import MigrationService
from reinhardt_migrations.shell.writer import write_migration

ID = FieldState("id", "bigauto", primary_key=True)

SHOP_1 = Migration(
    "0001_initial",
    "shop",
    operations=[CreateModel("shop", "Product", [ID, FieldState("name", "VARCHAR(80)")])],
    initial=True,
)
# events lives on the analytics database and needs shop's first migration applied first.
EVENTS_1 = Migration(
    "0001_initial",
    "events",
    dependencies=[("shop", "0001_initial")],
    operations=[CreateModel("events", "Event", [ID, FieldState("product_id", "BIGINT")])],
    initial=True,
)
# And back: shop's second migration needs events' first, so the databases interleave.
SHOP_2 = Migration(
    "0002_price",
    "shop",
    dependencies=[("shop", "0001_initial"), ("events", "0001_initial")],
    operations=[AddField("shop", "Product", FieldState("price", "INTEGER", null=True))],
)
HISTORY = (SHOP_1, EVENTS_1, SHOP_2)


def project(tmp_path: Path, migrations: tuple[Migration, ...] = HISTORY, **settings: Any) -> MigrationService:
    """Write the migrations; return a service with shop on default and events on analytics."""
    for migration in migrations:
        folder = tmp_path / migration.app_label / "migrations"
        if not (folder / f"{migration.name}.py").exists():
            write_migration(migration, folder)
    data: dict[str, Any] = {
        "apps": ["shop", "events"],
        "databases": {"default": "sqlite:///shop.sqlite3", "analytics": "sqlite:///analytics.sqlite3"},
        "routes": {"events": "analytics"},
        **settings,
    }
    return MigrationService(config_from_data(data, root=tmp_path))


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows if not row[0].startswith("sqlite_")}


def recorded(path: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT app, name, checksum FROM reinhardt_migrations").fetchall()
    return {(app, name): checksum for app, name, checksum in rows}


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]


def test_migrate_every_database_interleaves_them_and_each_holds_only_its_apps(tmp_path: Path) -> None:
    with project(tmp_path) as service:
        result = service.migrate()
    assert [(step.database, step.key) for step in result.steps] == [  # type: ignore[attr-defined]
        ("default", ("shop", "0001_initial")),
        ("analytics", ("events", "0001_initial")),
        ("default", ("shop", "0002_price")),
    ]
    assert tables(tmp_path / "shop.sqlite3") == {"shop_product", "reinhardt_migrations"}
    assert tables(tmp_path / "analytics.sqlite3") == {"events_event", "reinhardt_migrations"}
    assert columns(tmp_path / "shop.sqlite3", "shop_product") == ["id", "name", "price"]
    assert set(recorded(tmp_path / "shop.sqlite3")) == {("shop", "0001_initial"), ("shop", "0002_price")}
    assert set(recorded(tmp_path / "analytics.sqlite3")) == {("events", "0001_initial")}
    # A second run has nothing to do on either database.
    with project(tmp_path) as service:
        assert service.migrate().steps == ()
        assert all(entry.applied for entry in service.status().entries)


def test_checksums_are_those_of_the_files_as_written(tmp_path: Path) -> None:
    with project(tmp_path) as service:
        service.migrate()
        # events.0001 reached its executor without its cross-database dependency ...
        split = service.databases().split("analytics").graph.migration(("events", "0001_initial"))
        assert split.dependencies == ()
        # ... yet the recorder keeps the checksum of the file, and status sees no change.
        statuses = service.status().entries
    assert recorded(tmp_path / "analytics.sqlite3")[("events", "0001_initial")] == migration_checksum(
        EVENTS_1
    )
    assert recorded(tmp_path / "shop.sqlite3")[("shop", "0002_price")] == migration_checksum(SHOP_2)
    assert migration_checksum(split) != migration_checksum(EVENTS_1)
    assert [entry.checksum_matches for entry in statuses] == [True, True, True]


def test_one_database_refuses_a_plan_whose_cross_database_dependency_is_missing(tmp_path: Path) -> None:
    with project(tmp_path) as service:
        with pytest.raises(UnappliedCrossDatabaseDependency) as raised:
            service.migrate(database="analytics")
        error = raised.value
        assert (error.migration, error.dependency, error.on) == (
            ("events", "0001_initial"),
            ("shop", "0001_initial"),
            "default",
        )
        assert "rmig migrate --database default" in str(error)
        assert "Nothing was run" in str(error)
        assert "events_event" not in tables(tmp_path / "analytics.sqlite3")
        # The default database alone would need events.0001 for shop.0002: refused before shop.0001 runs.
        with pytest.raises(
            UnappliedCrossDatabaseDependency, match=r"shop\.0002_price .* events\.0001_initial"
        ):
            service.migrate(database="default")
        assert not (tmp_path / "shop.sqlite3").exists() or "shop_product" not in tables(
            tmp_path / "shop.sqlite3"
        )
        # Step by step, each database on its own, in the order the message says.
        assert service.migrate("shop", "0001", database="default").applied == (("shop", "0001_initial"),)
        assert service.migrate(database="analytics").applied == (("events", "0001_initial"),)
        assert service.migrate(database="default").applied == (("shop", "0002_price"),)
        with pytest.raises(AppOnOtherDatabase, match="--database analytics"):
            service.migrate("events", "zero", database="default")


def test_unapplying_what_another_database_depends_on_is_refused(tmp_path: Path) -> None:
    with project(tmp_path) as service:
        service.migrate()
        for database in (None, "default"):
            with pytest.raises(AppliedCrossDatabaseDependent) as raised:
                service.migrate("shop", "zero", database=database)
            assert (raised.value.migration, raised.value.dependent, raised.value.on) == (
                ("shop", "0001_initial"),
                ("events", "0001_initial"),
                "analytics",
            )
            assert "rmig migrate events zero --database analytics" in str(raised.value)
        # events.0001 is needed by shop.0002 on the default database.
        with pytest.raises(
            AppliedCrossDatabaseDependent, match="rmig migrate shop 0001_initial --database default"
        ):
            service.migrate("events", "zero")
        assert set(recorded(tmp_path / "shop.sqlite3")) == {("shop", "0001_initial"), ("shop", "0002_price")}
        # In the order the messages say, it works.
        assert service.migrate("shop", "0001_initial").unapplied == (("shop", "0002_price"),)
        assert service.migrate("events", "zero", database="analytics").unapplied == (
            ("events", "0001_initial"),
        )
        assert service.migrate("shop", "zero").unapplied == (("shop", "0001_initial"),)
    assert recorded(tmp_path / "shop.sqlite3") == {}
    assert tables(tmp_path / "analytics.sqlite3") == {"reinhardt_migrations"}


def test_a_foreign_key_across_databases_fails_before_anything_runs(tmp_path: Path) -> None:
    linked = Migration(
        "0001_initial",
        "events",
        dependencies=[("shop", "0001_initial")],
        operations=[
            CreateModel(
                "events",
                "Event",
                [ID, FieldState("product", "BIGINT", relation=Relation("foreign_key", "shop.Product"))],
            )
        ],
    )
    with project(tmp_path, (SHOP_1, linked)) as service:
        for database in (None, "default", "analytics"):
            with pytest.raises(CrossDatabaseRelation) as raised:
                service.migrate(database=database)
            message = str(raised.value)
            assert "events.Event.product" in message
            assert "shop.Product" in message
            assert "foreign keys cannot cross databases" in message
        with pytest.raises(CrossDatabaseRelation):
            service.plan()
    for name in ("shop.sqlite3", "analytics.sqlite3"):
        assert not (tmp_path / name).exists() or tables(tmp_path / name) <= {"reinhardt_migrations"}


def test_plan_and_status_name_the_database_of_each_migration(tmp_path: Path) -> None:
    with project(tmp_path) as service:
        planned = service.plan()
        assert [(step.database, step.key[0]) for step in planned] == [  # type: ignore[attr-defined]
            ("default", "shop"),
            ("analytics", "events"),
            ("default", "shop"),
        ]
        assert any("CREATE TABLE" in statement.sql for statement in planned[1].statements)
        assert not (tmp_path / "analytics.sqlite3").exists() or "events_event" not in tables(
            tmp_path / "analytics.sqlite3"
        )
        service.migrate("shop", "0001_initial")
        status = service.status()
        assert status.databases == (("default", ("shop",)), ("analytics", ("events",)))
        assert [(entry.database, entry.key, entry.applied) for entry in status.entries] == [
            ("default", ("shop", "0001_initial"), True),
            ("analytics", ("events", "0001_initial"), False),
            ("default", ("shop", "0002_price"), False),
        ]
        only = service.status(database="analytics")
        assert only.databases == (("analytics", ("events",)),)
        assert [entry.key for entry in only.entries] == [("events", "0001_initial")]


def test_sqlmigrate_uses_the_dialect_of_the_apps_database(tmp_path: Path) -> None:
    service = project(
        tmp_path,
        databases={"default": "sqlite:///shop.sqlite3", "analytics": "postgresql://app:secret@db.invalid/x"},
    )
    assert service.sql("events", "0001").dialect == "postgresql"
    assert service.sql("shop", "0001").dialect == "sqlite"
    assert service.sql("events", "0001", database="mysql://u@h/d").dialect == "mysql"
    with pytest.raises(AppOnOtherDatabase):
        service.sql("events", "0001", database="default")
    service.close()  # sqlmigrate opened no connection (db.invalid would not answer)


def test_the_executor_takes_urls_and_closes_what_it_opened(tmp_path: Path) -> None:
    routes = DatabaseRoutes(("default", "analytics"), {"events": "analytics"})
    urls = {"default": f"sqlite:///{tmp_path / 'a.db'}", "analytics": f"sqlite:///{tmp_path / 'b.db'}"}
    with DatabaseMigrationExecutor(urls, HISTORY, routes) as executor:
        assert [step.database for step in executor.plan()] == ["default", "analytics", "default"]
        result = executor.migrate()
        assert len(result.applied) == 3
        assert executor.recorded("analytics") == {("events", "0001_initial")}
    assert tables(tmp_path / "b.db") == {"events_event", "reinhardt_migrations"}


# -- configuration ---------------------------------------------------------------------------


def write_config(folder: Path, section: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text('[tool.reinhardt-migrations]\napps = ["shop", "events"]\n' + section, encoding="utf-8")
    return path


def test_databases_and_routes_are_read_with_paths_and_environment(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        'database_url = "sqlite:///main.db"\n'
        "[tool.reinhardt-migrations.databases]\n"
        'analytics = "sqlite:///data/analytics.db"\n'
        "[tool.reinhardt-migrations.routes]\n"
        'events = "analytics"\n',
    )
    config = load_config(cwd=tmp_path, environ={})
    assert config.aliases == ("default", "analytics")
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'main.db'}"
    assert config.url_of("analytics") == f"sqlite:///{tmp_path.resolve() / 'data' / 'analytics.db'}"
    assert config.alias_of("events") == "analytics"
    assert config.alias_of("shop") == "default"
    environment = {"DATABASE_URL": "postgresql://a@h/main", "DATABASE_URL_ANALYTICS": "mysql://b@h/data"}
    config = load_config(cwd=tmp_path, environ=environment)
    assert config.database_url == "postgresql://a@h/main"
    assert config.url_of("analytics") == "mysql://b@h/data"
    # A flag URL replaces the default database only.
    config = load_config(cwd=tmp_path, environ=environment, database_url="sqlite:///flag.db")
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'flag.db'}"
    assert config.url_of("analytics") == "mysql://b@h/data"


def test_every_app_routed_needs_no_default_database(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "[tool.reinhardt-migrations.databases]\n"
        'one = "sqlite:///one.db"\ntwo = "sqlite:///two.db"\n'
        "[tool.reinhardt-migrations.routes]\n"
        'shop = "one"\nevents = "two"\n',
    )
    config = load_config(cwd=tmp_path, environ={"DATABASE_URL": "sqlite:///ignored.db"})
    assert config.aliases == ("one", "two")
    with pytest.raises(ConfigError, match=r"no database 'default' \(configured databases: one, two\)"):
        _ = config.database_url


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            'database_url = "sqlite:///a.db"\n[tool.reinhardt-migrations.databases]\ndefault = "sqlite:///b.db"\n',
            r"databases\.default: database_url and databases\.default both name the default database",
        ),
        (
            '[tool.reinhardt-migrations.databases]\n"2nd" = "sqlite:///b.db"\n',
            r"databases: '2nd' is not a valid database alias",
        ),
        (
            '[tool.reinhardt-migrations.databases]\nother = "nonsense"\n',
            r"databases\.other: 'nonsense' is not a database URL",
        ),
        (
            '[tool.reinhardt-migrations.databases]\ndefault = "sqlite:///d.db"\nother = "sqlite:///o.db"\n'
            '[tool.reinhardt-migrations.routes]\nevents = "elsewhere"\n',
            r"routes\.events: sends app 'events' to 'elsewhere', which is not a configured database "
            r"\(databases: default, other\)",
        ),
        (
            '[tool.reinhardt-migrations.databases]\nother = "sqlite:///o.db"\n'
            '[tool.reinhardt-migrations.routes]\nblog = "other"\n',
            r"routes\.blog: routes app 'blog', which is not configured \(configured apps: shop, events\)",
        ),
        (
            'database_url = "sqlite:///d.db"\n[tool.reinhardt-migrations.databases]\nother = "sqlite:///o.db"\n'
            '[tool.reinhardt-migrations.routes]\nevents = "other"\n',
            None,
        ),
        (
            '[tool.reinhardt-migrations.databases]\nother = "sqlite:///o.db"\nOTHER = "sqlite:///p.db"\n',
            r"the aliases 'other' and 'OTHER' differ only in case",
        ),
        ("databases = 3\n", r"databases: must be a table of alias"),
        ('routes = ["events"]\n', r"routes: must be a table of app"),
    ],
)
def test_a_wrong_databases_setting_names_the_key(tmp_path: Path, section: str, message: str | None) -> None:
    write_config(tmp_path, section)
    if message is None:
        assert load_config(cwd=tmp_path, environ={}).alias_of("events") == "other"
        return
    with pytest.raises(ConfigError, match=message):
        load_config(cwd=tmp_path, environ={})


def test_without_a_default_every_app_needs_a_route(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        '[tool.reinhardt-migrations.databases]\none = "sqlite:///one.db"\n'
        '[tool.reinhardt-migrations.routes]\nevents = "one"\n',
    )
    with pytest.raises(ConfigError, match=r"there is no default database, and app\(s\) shop have no route"):
        load_config(cwd=tmp_path, environ={})


def test_a_password_in_a_wrong_url_is_not_shown(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.reinhardt-migrations.databases]\ndefault = "sqlite:///d.db"\nother = 5\n')
    with pytest.raises(ConfigError, match="5 is not a database URL"):
        load_config(cwd=tmp_path, environ={})
    write_config(
        tmp_path,
        '[tool.reinhardt-migrations.databases]\ndefault = "sqlite:///d.db"\nother = "postgresql://u:hunter2@db/x"\n',
    )
    config = load_config(cwd=tmp_path, environ={})
    with pytest.raises(ConfigError) as raised:
        config.url_of("nowhere")
    assert "hunter2" not in str(raised.value)
    assert "configured databases: default, other" in str(raised.value)


# -- servers -----------------------------------------------------------------------------------


def catalog_tables(backend: Backend) -> set[str]:
    """Return the tables the backend's catalog introspects into models."""
    return {model.db_table for model in state_from_catalog(backend.catalog())}


def test_sqlite_postgresql_and_mariadb_in_one_project(
    tmp_path: Path, postgresql_url: str, mysql_url: str
) -> None:
    audit = Migration(
        "0001_initial",
        "audit",
        dependencies=[("events", "0001_initial")],
        operations=[CreateModel("audit", "Entry", [ID, FieldState("note", "VARCHAR(200)")])],
        initial=True,
    )
    for migration in (SHOP_1, EVENTS_1, audit):
        write_migration(migration, tmp_path / migration.app_label / "migrations")
    config = config_from_data(
        {
            "apps": ["shop", "events", "audit"],
            "databases": {"default": "sqlite:///shop.sqlite3", "pg": postgresql_url, "maria": mysql_url},
            "routes": {"events": "pg", "audit": "maria"},
        },
        root=tmp_path,
    )
    with MigrationService(config) as service:
        with pytest.raises(UnappliedCrossDatabaseDependency, match="rmig migrate --database pg"):
            service.migrate(database="maria")
        result = service.migrate()
        assert [(step.database, step.key[0]) for step in result.steps] == [  # type: ignore[attr-defined]
            ("default", "shop"),
            ("pg", "events"),
            ("maria", "audit"),
        ]
        # Each server holds its app's table and the recorder, nothing of the others.
        assert catalog_tables(service.backend_for("pg")) == {"events_event", "reinhardt_migrations"}
        assert catalog_tables(service.backend_for("maria")) >= {"audit_entry", "reinhardt_migrations"}
        assert not catalog_tables(service.backend_for("maria")) & {"events_event", "shop_product"}
        assert tables(tmp_path / "shop.sqlite3") == {"shop_product", "reinhardt_migrations"}
        status = service.status()
        assert {(entry.database, entry.applied) for entry in status.entries} == {
            ("default", True),
            ("pg", True),
            ("maria", True),
        }
        assert "pg" in {alias for alias, _apps in status.databases}
        with pytest.raises(AppliedCrossDatabaseDependent, match="rmig migrate audit zero --database maria"):
            service.migrate("events", "zero")
        assert service.migrate("audit", "zero").unapplied == (("audit", "0001_initial"),)
        assert not service.backend_for("maria").has_table("audit_entry")

"""A pytest plugin: fresh migrated databases per backend, and a ``migrator`` for data migrations.

Installed with the package (entry point ``pytest11``) and off unless used: it adds one
command-line option and fixtures, none of them autouse, and imports nothing of ours
until a fixture runs. Tests ask for what they need:

- ``rmig_config``: the project's ``MigrationConfig`` (the pyproject.toml found from
  pytest's rootdir); override the fixture in a conftest.py to point elsewhere.
- ``rmig_database_url``: a fresh, empty database for one test. A SQLite file in the
  test's tmp_path; each ``--rmig-database URL`` (or URL in ``REINHARDT_TEST_DATABASES``)
  runs the test once more on that throwaway server database, whose name must contain
  ``test``: it is emptied before and after the test.
- ``rmig_backends``: ``("sqlite", *those URLs)``, for ``check_operation(backends=...)``.
- ``rmig_service``: a ``MigrationService`` on that database (other configured databases
  become fresh SQLite files: a test never reaches a configured server).
- ``migrated_database``: the database's ``Backend`` with every migration applied.
- ``migrator``: a ``Migrator`` on the empty database, in the spirit of
  django-test-migrations: migrate to a named migration, insert rows through plain SQL or
  the historical state, migrate on (or back), and read the rows::

      def test_slugs_are_filled(migrator):
          migrator.migrate("shop", "0001_initial")
          migrator.insert("shop.Product", name="Red Chair", price=5)
          migrator.migrate("shop", "0002_product_slug")
          assert migrator.rows("shop.Product", "slug") == [{"slug": "red-chair-1"}]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from reinhardt_migrations.pure.state import ModelState, ProjectState
    from reinhardt_migrations.shell.backends import Backend
    from reinhardt_migrations.shell.config import MigrationConfig
    from reinhardt_migrations.shell.service import MigrationService

__all__ = [
    "Migrator",
    "migrated_database",
    "migrator",
    "pytest_addoption",
    "pytest_generate_tests",
    "rmig_backends",
    "rmig_config",
    "rmig_database_url",
    "rmig_service",
]

_OPTION = "--rmig-database"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--rmig-database URL`` (repeatable): also run database tests on that server database."""
    parser.getgroup("reinhardt-migrations").addoption(
        _OPTION,
        action="append",
        default=[],
        metavar="URL",
        help="Also run the tests using rmig_database_url (migrator, migrated_database) on this throwaway "
        "PostgreSQL or MySQL database; its name must contain 'test', and it is emptied before each test.",
    )


def _server_urls(config: pytest.Config) -> list[str]:
    from reinhardt_migrations.shell.scratch import environment_backends

    urls: list[str] = list(config.getoption(_OPTION) or [])
    return [*urls, *(url for url in environment_backends()[1:] if url not in urls)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses ``rmig_database_url`` on SQLite and on every configured server database."""
    if "rmig_database_url" not in metafunc.fixturenames:
        return
    urls = ["sqlite", *_server_urls(metafunc.config)]
    ids: list[str] = []
    for url in urls:
        scheme = url.partition(":")[0]
        count = sum(1 for other in ids if other.rstrip("0123456789") == scheme)
        ids.append(f"{scheme}{count + 1}" if count else scheme)
    metafunc.parametrize("rmig_database_url", urls, indirect=True, ids=ids)


@pytest.fixture
def rmig_backends(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """Return ``("sqlite", *server URLs)`` from ``--rmig-database`` and ``REINHARDT_TEST_DATABASES``."""
    return ("sqlite", *_server_urls(pytestconfig))


@pytest.fixture
def rmig_config(pytestconfig: pytest.Config) -> MigrationConfig:
    """Return the project's configuration, from the pyproject.toml found from pytest's rootdir."""
    from reinhardt_migrations.shell.config import load_config

    return load_config(cwd=Path(pytestconfig.rootpath))


@pytest.fixture
def rmig_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a fresh, empty database: a SQLite file, or an emptied server database."""
    from reinhardt_migrations.shell.scratch import ScratchDatabase

    url: str = getattr(request, "param", "sqlite")
    if url == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    scratch = ScratchDatabase(url)
    scratch.fresh()
    try:
        yield url
    finally:
        scratch.fresh()
        scratch.close()


@pytest.fixture
def rmig_service(
    rmig_config: MigrationConfig, rmig_database_url: str, tmp_path: Path
) -> Iterator[MigrationService]:
    """Return a MigrationService on the test's fresh database, closed after the test.

    The default database is the test's; every other configured database is replaced by
    a fresh SQLite file in ``tmp_path``, so a test never touches a configured server.
    """
    from reinhardt_migrations.pure.routing import DEFAULT_ALIAS
    from reinhardt_migrations.shell.service import MigrationService

    others = {
        alias: f"sqlite:///{tmp_path / f'rmig-{alias}.sqlite3'}"
        for alias in rmig_config.aliases
        if alias != DEFAULT_ALIAS
    }
    config = rmig_config.with_overrides(database_url=rmig_database_url, databases=others)
    with MigrationService(config) as service:
        yield service


@pytest.fixture
def migrated_database(rmig_service: MigrationService) -> Backend:
    """Return the test's database with every migration applied."""
    rmig_service.migrate()
    return rmig_service.backend


@pytest.fixture
def migrator(rmig_service: MigrationService) -> Migrator:
    """Return a Migrator on the test's fresh, empty database."""
    return Migrator(rmig_service)


class Migrator:
    """Moves a test database between migrations and reads and writes its rows, by the historical state."""

    def __init__(self, service: MigrationService) -> None:
        """Work on ``service``'s database and migrations."""
        self.service = service

    @property
    def backend(self) -> Backend:
        """Return the database connection."""
        return self.service.backend

    @property
    def state(self) -> ProjectState:
        """Return the historical state: the applied migrations, replayed in order."""
        from reinhardt_migrations.pure.migration import replay

        graph = self.service.load().graph
        applied = set(self.service.executor().applied())
        return replay(graph.migration(key) for key in graph.forwards_plan() if key in applied)

    def migrate(self, app_label: str | None = None, target: str | None = None) -> ProjectState:
        """Migrate to ``target`` of ``app_label`` (``"zero"``: unapply all; None: all); return the state.

        Raises:
            MigrationError: as ``MigrationService.migrate``.
        """
        self.service.migrate(app_label, target)
        return self.state

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one SQL statement of yours and commit it (placeholders as the driver takes them)."""
        from reinhardt_migrations.pure.sql import Statement

        with self.backend.atomic():
            self.backend.execute([Statement(sql, params)])

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query of yours and return its rows."""
        return self.backend.query(sql, params)

    def _model(self, label: str) -> tuple[ModelState, Any]:
        from reinhardt_migrations.pure.dialects import dialect_for

        app_label, _, name = label.partition(".")
        return self.state.model(app_label, name), dialect_for(self.backend.dialect)

    def insert(self, model: str, **values: object) -> None:
        """Insert one row into ``model`` (``"app.Model"``) as the historical state has it.

        Keywords are field names (a relation's name or its column, ``author=1`` or
        ``author_id=1``); tables and columns come from the state at the current migration.

        Raises:
            UnknownModel, UnknownField: the model or a field does not exist at this point.
        """
        found, dialect = self._model(model)
        columns = [_column(found, name) for name in values]
        marks = ", ".join("?" if dialect.name == "sqlite" else "%s" for _ in columns)
        names = ", ".join(dialect.quote(column) for column in columns)
        self.execute(
            f"INSERT INTO {dialect.quote(found.db_table)} ({names}) VALUES ({marks})", list(values.values())
        )

    def rows(self, model: str, *fields: str) -> list[dict[str, Any]]:
        """Return ``model``'s rows as dicts of ``fields`` (default: every column), by primary key.

        Raises:
            UnknownModel, UnknownField: the model or a field does not exist at this point.
        """
        found, dialect = self._model(model)
        names = list(fields) or [field.name for field in found.fields if field.column is not None]
        columns = ", ".join(dialect.quote(_column(found, name)) for name in names)
        key = found.primary_key
        order = f" ORDER BY {dialect.quote(key.column)}" if key is not None and key.column else ""
        rows = self.query(f"SELECT {columns} FROM {dialect.quote(found.db_table)}{order}")
        return [dict(zip(names, row, strict=True)) for row in rows]


def _column(model: ModelState, name: str) -> str:
    """Return the column of field ``name`` (or ``name`` itself if it is a column of a relation)."""
    for field in model.fields:
        if field.column is not None and name in (field.name, field.column):
            return field.column
    return model.field(name).column or name

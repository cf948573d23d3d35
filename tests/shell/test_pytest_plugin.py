"""The pytest plugin, run by pytest itself (pytester) on a copy of docs/examples/custom_ops.

The example's own tests are what a user writes: the ten-line law test of CreateView and
DropView, and migrator tests of a data migration. They must pass on SQLite and on the
servers given with ``--rmig-database``, and a broken operation must fail with a report
that names the law, the state and the SQL that ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custom_ops"


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding a copy of the example project."""
    shutil.copytree(
        EXAMPLE, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__")
    )
    return pytester


def test_the_plugin_is_registered_by_its_entry_point_and_adds_nothing_autouse(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_plain(request):
            assert request.config.pluginmanager.has_plugin("reinhardt_migrations")
            assert "migrator" not in request.fixturenames
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "--rmig-database=URL" in pytester.runpytest_subprocess("--help").stdout.str()


def test_the_migrator_tests_of_the_example_pass(shop: pytest.Pytester) -> None:
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_backfill.py", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_slugs_are_filled_from_names_and_keys[[]sqlite[]] PASSED*"])


def test_migrated_database_has_every_migration_applied(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        test_migrated="""
        def test_views_and_tables(migrated_database):
            assert migrated_database.has_table("shop_product")
            assert migrated_database.query("SELECT count(*) FROM shop_cheap_product") == [(0,)]
        """
    )
    shop.runpytest_subprocess("-p", "no:cacheprovider", "test_migrated.py").assert_outcomes(passed=1)


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_with_a_server_every_database_test_runs_there_too(
    shop: pytest.Pytester, request: pytest.FixtureRequest, server: str
) -> None:
    url = request.getfixturevalue(f"{server}_url")
    result = shop.runpytest_subprocess(
        "-p", "no:cacheprovider", "tests/test_backfill.py", "--rmig-database", url, "-v"
    )
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [f"*test_unapplying_clears_the_slugs_and_the_view_goes[[]{server}[]] PASSED*"]
    )


def test_the_ten_line_law_test_passes(shop: pytest.Pytester) -> None:
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_operations.py")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_the_law_test_of_create_view_passes_on_a_server(
    shop: pytest.Pytester, request: pytest.FixtureRequest, server: str
) -> None:
    url = request.getfixturevalue(f"{server}_url")
    result = shop.runpytest_subprocess(
        "-p", "no:cacheprovider", "tests/test_operations.py", "-k", "create", "--rmig-database", url
    )
    result.assert_outcomes(passed=1)


def test_a_broken_operation_fails_the_law_test_with_a_readable_report(shop: pytest.Pytester) -> None:
    operations = shop.path / "shop" / "operations.py"
    text = operations.read_text(encoding="utf-8")
    # The classic slip: the SQL is built from something else than the state's view.
    broken = text.replace(
        "return [create_view_statement(dialect, self.view())]",
        'return [Statement(f"CREATE VIEW {dialect.quote(self.name)} AS SELECT 1 AS one")]',
        1,
    )
    assert broken != text
    operations.write_text(broken, encoding="utf-8")
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_operations.py", "-k", "create")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            # The view's name is drawn, so its description may come in either kind of quotes.
            "*LawViolation: Operation ?Create view *? breaks the law 'agreement': after its statements the "
            "database differs from its state: view *: the database defines it as *SELECT 1 AS one*",
            "*Backend: sqlite (a scratch file)",
            "*State before it:",
            "*SQL that ran forwards:",
            "*CREATE VIEW * AS SELECT 1 AS one;",
        ]
    )


def test_other_configured_databases_are_replaced_by_fresh_files(shop: pytest.Pytester) -> None:
    pyproject = shop.path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    # A second database the tests must never reach: its file would appear in the project.
    pyproject.write_text(
        text
        + '\n[tool.reinhardt-migrations.databases]\nanalytics = "sqlite:///configured-analytics.sqlite3"\n',
        encoding="utf-8",
    )
    shop.makepyfile(
        test_aliases="""
        def test_every_database_is_a_fresh_one(rmig_service, tmp_path):
            urls = dict(rmig_service.config.databases)
            assert set(urls) == {"default", "analytics"}
            assert str(tmp_path) in urls["analytics"]
            rmig_service.migrate()
            assert rmig_service.backend.has_table("shop_product")
        """
    )
    shop.runpytest_subprocess("-p", "no:cacheprovider", "test_aliases.py").assert_outcomes(passed=1)
    assert not (shop.path / "configured-analytics.sqlite3").exists()

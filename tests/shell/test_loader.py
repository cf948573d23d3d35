"""The loader reads Python and JSON migration files into values and a graph; bad files are named."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reinhardt_migrations.pure.errors import MigrationError, SerializationError
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, CreateModel
from reinhardt_migrations.pure.serialize import migration_to_json
from reinhardt_migrations.shell.config import MigrationConfig, config_from_data
from reinhardt_migrations.shell.loader import (
    MigrationFileError,
    load_migration_file,
    load_migrations,
    migration_paths,
)
from reinhardt_migrations.shell.writer import render_migration

INITIAL = Migration(
    "0001_initial",
    "blog",
    operations=[CreateModel("blog", "Post", [FieldState("id", "auto", primary_key=True)])],
    initial=True,
)
SECOND = Migration(
    "0002_post_title",
    "blog",
    dependencies=[("blog", "0001_initial")],
    operations=[AddField("blog", "Post", FieldState("title", "VARCHAR(50)", null=True))],
)


def project(tmp_path: Path, apps: tuple[str, ...] = ("blog",)) -> MigrationConfig:
    return config_from_data({"apps": list(apps)}, root=tmp_path)


def put(tmp_path: Path, app: str, name: str, text: str) -> Path:
    folder = tmp_path / app / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_python_and_json_files_load_into_the_graph_in_order(tmp_path: Path) -> None:
    put(tmp_path, "blog", "0001_initial.py", render_migration(INITIAL, "python"))
    put(tmp_path, "blog", "0002_post_title.json", migration_to_json(SECOND))
    put(tmp_path, "blog", "__init__.py", "")
    put(tmp_path, "blog", ".0003_half_written.py.tmp", "garbage")
    put(tmp_path, "blog", "README.md", "not a migration")
    loaded = load_migrations(project(tmp_path))
    assert loaded.migrations == (INITIAL, SECOND)
    assert loaded.graph.leaf_nodes("blog") == (("blog", "0002_post_title"),)
    assert loaded.path_of(SECOND.key) == tmp_path / "blog" / "migrations" / "0002_post_title.json"


def test_an_app_without_a_migrations_folder_has_no_migrations(tmp_path: Path) -> None:
    loaded = load_migrations(project(tmp_path, ("blog", "shop")))
    assert loaded.migrations == ()
    assert migration_paths(tmp_path / "shop" / "migrations") == ()


def test_python_files_do_not_leak_into_sys_modules_or_each_other(tmp_path: Path) -> None:
    # Both files define a helper with one name; each must see its own.
    helper = 'HELPER = "{}"\n'
    text = render_migration(INITIAL, "python")
    put(tmp_path, "blog", "0001_initial.py", helper.format("blog") + text)
    put(tmp_path, "shop", "0001_initial.py", helper.format("shop") + text.replace('"blog"', '"shop"'))
    before = set(sys.modules)
    loaded = load_migrations(project(tmp_path, ("blog", "shop")))
    assert [m.key for m in loaded.migrations] == [("blog", "0001_initial"), ("shop", "0001_initial")]
    assert set(sys.modules) - before == set()


def bad_case(tmp_path: Path, name: str, text: str) -> MigrationError:
    put(tmp_path, "blog", name, text)
    with pytest.raises(MigrationError) as caught:
        load_migrations(project(tmp_path))
    return caught.value


def test_broken_json_names_the_file(tmp_path: Path) -> None:
    error = bad_case(tmp_path, "0001_initial.json", '{"format": "reinhardt-migrations/1", "name": ')
    assert isinstance(error, SerializationError)
    assert "blog/migrations/0001_initial.json" in str(error)


def test_an_unknown_operation_names_the_file_and_the_operation(tmp_path: Path) -> None:
    text = migration_to_json(INITIAL).replace('"CreateModel"', '"CreateModle"')
    error = bad_case(tmp_path, "0001_initial.json", text)
    assert "blog/migrations/0001_initial.json" in str(error)
    assert "CreateModle" in str(error)


def test_a_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    text = render_migration(INITIAL, "python").replace("migration = Migration(", "migration = Migration((", 1)
    error = bad_case(tmp_path, "0001_initial.py", "import os\n\n" + text)
    assert isinstance(error, MigrationFileError)
    assert error.path == "blog/migrations/0001_initial.py"
    assert error.line is not None
    assert str(error).startswith(f"blog/migrations/0001_initial.py:{error.line}: invalid Python syntax")


def test_an_exception_while_running_the_file_names_its_line(tmp_path: Path) -> None:
    error = bad_case(tmp_path, "0001_initial.py", "x = 1\ny = undefined_name\n")
    assert isinstance(error, MigrationFileError)
    assert error.line == 2
    assert "NameError" in str(error)


def test_a_file_that_defines_no_migration_says_what_to_write(tmp_path: Path) -> None:
    error = bad_case(tmp_path, "0001_initial.py", "MIGRATION = None\n")
    assert isinstance(error, MigrationFileError)
    assert "does not define a migration" in str(error)
    assert "migration = Migration(...)" in str(error)


def test_a_migration_named_unlike_its_file_is_refused(tmp_path: Path) -> None:
    error = bad_case(tmp_path, "0001_first.py", render_migration(INITIAL, "python"))
    assert "0001_first.py" in str(error)
    assert "defines migration blog.0001_initial" in str(error)


def test_a_migration_of_another_app_is_refused(tmp_path: Path) -> None:
    error = bad_case(
        tmp_path, "0001_initial.py", render_migration(INITIAL, "python").replace('"blog"', '"shop"')
    )
    assert "of app 'shop'" in str(error)
    assert "migrations folder of app 'blog'" in str(error)


def test_two_files_of_one_migration_are_refused_naming_both(tmp_path: Path) -> None:
    put(tmp_path, "blog", "0001_initial.py", render_migration(INITIAL, "python"))
    error = bad_case(tmp_path, "0001_initial.json", migration_to_json(INITIAL))
    assert "0001_initial.json" in str(error)
    assert "0001_initial.py" in str(error)
    assert "delete one" in str(error)


def test_a_dependency_on_a_missing_migration_names_the_file(tmp_path: Path) -> None:
    error = bad_case(tmp_path, "0002_post_title.py", render_migration(SECOND, "python"))
    assert isinstance(error, MigrationFileError)
    assert error.path == "blog/migrations/0002_post_title.py"
    assert "depends on migration blog.0001_initial, which does not exist" in str(error)


def test_a_cycle_names_the_migrations_and_their_files(tmp_path: Path) -> None:
    first = Migration("0001_initial", "blog", dependencies=[("blog", "0002_post_title")])
    put(tmp_path, "blog", "0001_initial.py", render_migration(first, "python"))
    error = bad_case(tmp_path, "0002_post_title.py", render_migration(SECOND, "python"))
    assert "Circular dependency" in str(error)
    assert "blog.0001_initial -> blog.0002_post_title -> blog.0001_initial" in str(error)
    assert "blog/migrations/0002_post_title.py" in str(error)


def test_a_custom_operation_in_json_is_imported_by_its_dotted_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site_ops"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "ops.py").write_text(
        "import attrs\n"
        "from reinhardt_migrations.pure.operations import BaseOperation\n\n"
        "@attrs.frozen\n"
        "class Touch(BaseOperation):\n"
        "    label: str\n"
        "    def state_forwards(self, state):\n"
        "        return state\n"
        "    def describe(self):\n"
        "        return 'touch ' + self.label\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    document = migration_to_json(INITIAL).replace(
        '"operations": [', '"operations": [\n    {"op": "site_ops.ops.Touch", "label": "hello"},', 1
    )
    path = put(tmp_path, "blog", "0001_initial.json", document)
    migration = load_migration_file(path, "blog")
    assert migration.operations[0].describe() == "touch hello"
    assert type(migration.operations[0]).__module__ == "site_ops.ops"

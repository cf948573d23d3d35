"""MigrationConfig from pyproject.toml, the environment and flags, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reinhardt_migrations.shell.config import (
    ConfigError,
    MigrationConfig,
    find_config_file,
    load_config,
)
from reinhardt_migrations.shell.errors import InvalidDatabaseUrl


def write_project(folder: Path, section: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n\n[tool.reinhardt-migrations]\n' + section, encoding="utf-8")
    return path


def test_defaults_fill_everything_but_the_apps(tmp_path: Path) -> None:
    write_project(tmp_path, 'apps = ["blog", "accounts"]\n')
    config = load_config(cwd=tmp_path, environ={})
    assert config.app_labels == ("blog", "accounts")
    assert config.app("blog").migrations == tmp_path.resolve() / "blog" / "migrations"
    assert config.format == "python"
    assert config.recorder_table == "reinhardt_migrations"
    assert config.python_path == (tmp_path.resolve(),)
    assert config.models == ()
    # sqlite:///db.sqlite3 is relative to the configuration file, whatever the current folder.
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'db.sqlite3'}"
    assert config.source == tmp_path.resolve() / "pyproject.toml"


def test_every_setting_is_read(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        'models = "schema:build_state"\n'
        'database_url = "postgresql://me@db/app"\n'
        'format = "json"\n'
        'recorder_table = "schema_history"\n'
        'python_path = ["src"]\n'
        "[tool.reinhardt-migrations.apps]\n"
        'blog = "src/blog/migrations"\n',
    )
    config = load_config(tmp_path / "pyproject.toml", environ={})
    assert config.models == ("schema:build_state",)
    assert config.database_url == "postgresql://me@db/app"
    assert config.format == "json"
    assert config.recorder_table == "schema_history"
    assert config.python_path == (tmp_path.resolve() / "src",)
    assert config.app("blog").migrations == tmp_path.resolve() / "src" / "blog" / "migrations"


def test_the_file_is_found_from_a_sub_folder_past_a_pyproject_without_the_section(tmp_path: Path) -> None:
    write_project(tmp_path, 'apps = ["blog"]\n')
    inner = tmp_path / "packages" / "inner"
    inner.mkdir(parents=True)
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n', encoding="utf-8")
    deep = inner / "src" / "deeper"
    deep.mkdir(parents=True)
    assert find_config_file(deep) == tmp_path.resolve() / "pyproject.toml"
    assert load_config(cwd=deep, environ={}).root == tmp_path.resolve()


def test_no_configuration_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no pyproject\.toml with a \[tool\.reinhardt-migrations\].*--config"
    ):
        find_config_file(tmp_path)


def test_database_url_precedence_is_file_then_environment_then_flag(tmp_path: Path) -> None:
    write_project(tmp_path, 'apps = ["blog"]\ndatabase_url = "sqlite:///from_file.db"\n')
    from_file = load_config(cwd=tmp_path, environ={})
    from_environment = load_config(cwd=tmp_path, environ={"DATABASE_URL": "sqlite:///from_env.db"})
    from_flag = load_config(
        cwd=tmp_path, environ={"DATABASE_URL": "sqlite:///from_env.db"}, database_url="sqlite:///flag.db"
    )
    assert from_file.database_url.endswith("/from_file.db")
    assert from_environment.database_url.endswith("/from_env.db")
    assert from_flag.database_url.endswith("/flag.db")


def test_absolute_and_memory_sqlite_urls_are_kept(tmp_path: Path) -> None:
    write_project(tmp_path, 'apps = ["blog"]\n')
    for url in ("sqlite:////var/lib/app.db", "sqlite://:memory:", "sqlite:///:memory:"):
        assert load_config(cwd=tmp_path, environ={"DATABASE_URL": url}).database_url == url


def test_a_relative_sqlite_url_keeps_its_query_and_quotes_odd_paths(tmp_path: Path) -> None:
    from reinhardt_migrations.shell.backends.sqlite import sqlite_path

    project = tmp_path / "my project"
    write_project(project, 'apps = ["blog"]\ndatabase_url = "sqlite:///data/db.sqlite3?timeout=2"\n')
    url = load_config(cwd=project, environ={}).database_url
    # The backend reads back exactly the absolute file, and the timeout.
    assert sqlite_path(url) == (str(project.resolve() / "data" / "db.sqlite3"), 2.0)


def test_the_format_flag_overrides_the_file(tmp_path: Path) -> None:
    write_project(tmp_path, 'apps = ["blog"]\nformat = "json"\n')
    assert load_config(cwd=tmp_path, environ={}, format="python").format == "python"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("", r"apps: is missing"),
        ('apps = ["blog"]\nfromat = "json"\n', r"unknown setting\(s\) fromat"),
        (
            'apps = ["blog"]\nformat = "yaml"\n',
            r"format: 'yaml' is not a file format; use one of python, json",
        ),
        (
            'apps = ["blog"]\ndatabase_url = "db.sqlite3"\n',
            r"database_url: 'db.sqlite3' is not a database URL",
        ),
        ("apps = []\n", r"apps: lists no app"),
        ('apps = ["my-blog"]\n', r"'my-blog' is not a valid app label"),
        ("apps = 3\n", r"apps: must be a list of labels"),
        ('apps = ["blog"]\nmodels = [1]\n', r"models: must be a string or a list"),
        ('apps = ["blog"]\nrecorder_table = ""\n', r"recorder_table: must be a non-empty table name"),
    ],
)
def test_a_wrong_setting_names_the_file_and_the_key(tmp_path: Path, section: str, message: str) -> None:
    path = write_project(tmp_path, section)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(str(path.resolve()))


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.reinhardt-migrations\napps = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pyproject\.toml.*not valid TOML"):
        load_config(path, environ={})


def test_a_config_path_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_a_config_file_without_the_section_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has no \[tool\.reinhardt-migrations\] section"):
        load_config(path, environ={})


def test_an_unknown_app_lists_the_configured_ones(tmp_path: Path) -> None:
    config = load_config(write_project(tmp_path, 'apps = ["blog", "shop"]\n'), environ={})
    with pytest.raises(ConfigError, match=r"no app 'blgo' \(configured apps: blog, shop\)"):
        config.app("blgo")


def test_a_bad_url_from_the_environment_is_refused_when_used(tmp_path: Path) -> None:
    from reinhardt_migrations.shell.backends import connect

    config = load_config(
        write_project(tmp_path, 'apps = ["blog"]\n'), environ={"DATABASE_URL": "oracle://x/y"}
    )
    with pytest.raises(InvalidDatabaseUrl, match="oracle"):
        connect(config.database_url)


@pytest.mark.parametrize(
    "url",
    [
        "oracle://scott:tiger-secret@db.example/orders",
        "mysql://scott:tiger-secret@db.example:not-a-port/orders",
        "postgresql://scott:tiger-secret@db.example/orders?lock_timeout=soon",
        "mysql://scott:tiger-secret@db.example/orders?colour=blue",
    ],
)
def test_a_refused_url_never_shows_its_password(url: str) -> None:
    from reinhardt_migrations.shell.backends import connect

    with pytest.raises(InvalidDatabaseUrl) as refused:
        connect(url)
    assert "tiger-secret" not in str(refused.value)
    assert "scott:***@db.example" in str(refused.value)


def test_a_config_is_a_frozen_value(tmp_path: Path) -> None:
    config = load_config(write_project(tmp_path, 'apps = ["blog"]\n'), environ={})
    assert isinstance(config, MigrationConfig)
    changed = config.with_overrides(format="json")
    assert config.format == "python"
    assert changed.format == "json"
    assert config.with_overrides() is config

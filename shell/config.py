"""MigrationConfig: read from ``[tool.reinhardt-migrations]`` in pyproject.toml, the environment and flags.

Theory of operation: the configuration file is found by walking up from the current
directory to the first ``pyproject.toml`` that has the section (or named with
``--config``). Its values are checked into a frozen ``MigrationConfig`` whose paths are
absolute, resolved against the folder of the file, so a command behaves the same from
any sub-folder. Precedence, lowest first: built-in defaults, the file, the environment
(``DATABASE_URL``), command-line flags. A relative SQLite path in a URL is relative to
the folder of the configuration file too.

    [tool.reinhardt-migrations]
    models = ["blog.models", "accounts.models"]   # modules of Model classes, or "pkg.mod:STATE"
    database_url = "sqlite:///db.sqlite3"
    format = "python"                             # or "json"
    recorder_table = "reinhardt_migrations"
    python_path = ["."]                           # folders put on sys.path to import the models

    [tool.reinhardt-migrations.apps]              # or: apps = ["blog", "accounts"]
    blog = "blog/migrations"
    accounts = "accounts/migrations"

Several databases: ``databases`` names them by alias, ``routes`` sends apps to them;
an app without a route goes to ``default`` (which ``database_url`` names, if given).
``DATABASE_URL`` overrides the default database, ``DATABASE_URL_<ALIAS>`` (the alias
in capitals) another one.

    [tool.reinhardt-migrations.databases]
    default = "sqlite:///db.sqlite3"
    analytics = "postgresql://app@db/analytics"

    [tool.reinhardt-migrations.routes]
    events = "analytics"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import attrs

from reinhardt_migrations.pure.routing import DEFAULT_ALIAS, DatabaseRoutes, UnknownDatabase
from reinhardt_migrations.shell.errors import CONFIG_SECTION as SECTION
from reinhardt_migrations.shell.errors import ConfigError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_RECORDER_TABLE",
    "ENVIRONMENT_DATABASE_URL",
    "ENVIRONMENT_DATABASE_URL_PREFIX",
    "FORMATS",
    "SECTION",
    "AppConfig",
    "ConfigError",
    "FileFormat",
    "MigrationConfig",
    "config_from_data",
    "find_config_file",
    "load_config",
]

DEFAULT_DATABASE_URL = "sqlite:///db.sqlite3"
DEFAULT_RECORDER_TABLE = "reinhardt_migrations"
ENVIRONMENT_DATABASE_URL = "DATABASE_URL"
ENVIRONMENT_DATABASE_URL_PREFIX = "DATABASE_URL_"
FileFormat = Literal["python", "json"]
FORMATS: tuple[FileFormat, ...] = ("python", "json")

_KEYS = ("apps", "database_url", "databases", "format", "models", "python_path", "recorder_table", "routes")


@attrs.frozen
class AppConfig:
    """One app: its label and the absolute path of its migrations folder."""

    label: str
    migrations: Path


@attrs.frozen
class MigrationConfig:
    """Where the apps, their migrations, the models and the databases are; paths are absolute.

    ``databases`` holds ``(alias, URL)`` pairs, the default database first; ``routes``
    holds ``(app, alias)`` pairs. Apps without a route live on the ``default`` alias.
    """

    root: Path
    apps: tuple[AppConfig, ...]
    models: tuple[str, ...] = ()
    databases: tuple[tuple[str, str], ...] = ((DEFAULT_ALIAS, DEFAULT_DATABASE_URL),)
    format: FileFormat = "python"
    recorder_table: str = DEFAULT_RECORDER_TABLE
    python_path: tuple[Path, ...] = ()
    source: Path | None = None
    routes: tuple[tuple[str, str], ...] = ()

    @property
    def app_labels(self) -> tuple[str, ...]:
        """Return the app labels in the order the configuration lists them."""
        return tuple(app.label for app in self.apps)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Return the database aliases, the default first."""
        return tuple(alias for alias, _url in self.databases)

    @property
    def database_url(self) -> str:
        """Return the URL of the default database.

        Raises:
            ConfigError: the configuration has no default database (every app is routed).
        """
        return self.url_of(DEFAULT_ALIAS)

    @property
    def database_routes(self) -> DatabaseRoutes:
        """Return the routes as the pure core takes them."""
        return DatabaseRoutes(self.aliases, dict(self.routes))

    def url_of(self, alias: str) -> str:
        """Return the URL of the database ``alias``.

        Raises:
            ConfigError: no database has that alias (the message lists the configured ones).
        """
        for name, url in self.databases:
            if name == alias:
                return url
        raise ConfigError(str(UnknownDatabase(alias, self.aliases)), source=self.source, key="databases")

    def alias_of(self, app_label: str) -> str:
        """Return the alias of the database ``app_label`` lives on."""
        return self.database_routes.alias_of(app_label)

    def app(self, label: str) -> AppConfig:
        """Return the app called ``label``.

        Raises:
            ConfigError: no app has that label (the message lists the known ones).
        """
        for app in self.apps:
            if app.label == label:
                return app
        known = ", ".join(self.app_labels) or "none"
        raise ConfigError(
            f"there is no app {label!r} (configured apps: {known}); add it under "
            f"[tool.{SECTION}.apps] or check the spelling",
            source=self.source,
            key="apps",
        )

    def with_overrides(
        self,
        *,
        database_url: str | None = None,
        format: str | None = None,
        databases: Mapping[str, str] | None = None,
    ) -> MigrationConfig:
        """Return a copy with the given settings replaced (None keeps the current one).

        ``database_url`` replaces the default database's URL (adding the default database
        if there is none); ``databases`` replaces the URLs of the aliases it names.

        Raises:
            ConfigError: the format is not one of FORMATS, a URL is empty, or an alias unknown.
        """
        changes: dict[str, Any] = {}
        urls = dict(self.databases)
        if database_url is not None:
            urls[DEFAULT_ALIAS] = _database_url(database_url, self.root, self.source)
        for alias, url in (databases or {}).items():
            self.url_of(alias)
            urls[alias] = _database_url(url, self.root, self.source, key=f"databases.{alias}")
        if urls != dict(self.databases):
            changes["databases"] = _ordered_databases(urls)
        if format is not None:
            changes["format"] = _format(format, self.source)
        return attrs.evolve(self, **changes) if changes else self


def find_config_file(start: Path) -> Path:
    """Return the first pyproject.toml with a ``[tool.reinhardt-migrations]`` section at or above ``start``.

    Raises:
        ConfigError: no such file up to the root of the file system.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and SECTION in _read_toml(candidate).get("tool", {}):
            return candidate
    raise ConfigError(
        f"no pyproject.toml with a [tool.{SECTION}] section in {start} or its parents. "
        "Add the section (see docs/cli.md), run from the project's folder, or pass --config PATH"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML ({error}); fix the syntax", source=path) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot be read ({error})", source=path) from error


def load_config(
    path: Path | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
    format: str | None = None,
) -> MigrationConfig:
    """Return the configuration: the file (``path`` or found from ``cwd``), then the environment, then flags.

    Raises:
        ConfigError: no configuration file, or a missing or wrong setting.
    """
    environment = os.environ if environ is None else environ
    if path is None:
        path = find_config_file(cwd or Path.cwd())
    path = path.resolve()
    if not path.is_file():
        raise ConfigError("the configuration file does not exist; check the --config path", source=path)
    section = _read_toml(path).get("tool", {}).get(SECTION)
    if section is None:
        raise ConfigError(f"the file has no [tool.{SECTION}] section; add one (see docs/cli.md)", source=path)
    config = config_from_data(section, root=path.parent, source=path)
    return _from_environment(config, environment).with_overrides(database_url=database_url, format=format)


def _from_environment(config: MigrationConfig, environment: Mapping[str, str]) -> MigrationConfig:
    """Return ``config`` with the URLs of ``DATABASE_URL`` and ``DATABASE_URL_<ALIAS>`` put in.

    ``DATABASE_URL`` names the default database; a project whose apps are all routed
    elsewhere has none, and then ignores it (many hosts set it for every process).
    """
    urls: dict[str, str] = {}
    for alias in config.aliases:
        variable = (
            ENVIRONMENT_DATABASE_URL
            if alias == DEFAULT_ALIAS
            else ENVIRONMENT_DATABASE_URL_PREFIX + alias.upper()
        )
        value = environment.get(variable)
        if value:
            urls[alias] = value
    return config.with_overrides(databases=urls)


def config_from_data(data: Any, *, root: Path, source: Path | None = None) -> MigrationConfig:
    """Return the configuration a parsed ``[tool.reinhardt-migrations]`` table describes.

    Raises:
        ConfigError: a key is unknown, missing or has a wrong value (the message says which).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"[tool.{SECTION}] must be a table", source=source)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(_KEYS)}",
            source=source,
        )
    if "apps" not in data:
        raise ConfigError(
            'is missing; list your apps, e.g. apps = ["blog"] (migrations in blog/migrations)',
            source=source,
            key="apps",
        )
    apps = _apps(data["apps"], root.resolve(), source)
    databases = _databases(data, root.resolve(), source)
    return MigrationConfig(
        root=root.resolve(),
        apps=apps,
        models=_strings(data.get("models", ()), source, "models"),
        databases=databases,
        routes=_routes(data.get("routes", {}), apps, databases, source),
        format=_format(data.get("format", "python"), source),
        recorder_table=_identifier(data.get("recorder_table", DEFAULT_RECORDER_TABLE), source),
        python_path=tuple(
            (root / folder).resolve()
            for folder in _strings(data.get("python_path", ["."]), source, "python_path")
        ),
        source=source,
    )


def _apps(value: Any, root: Path, source: Path | None) -> tuple[AppConfig, ...]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(label, f"{label}/migrations") for label in value]
    else:
        raise ConfigError(
            'must be a list of labels (apps = ["blog"]) or a table of label = "folder"',
            source=source,
            key="apps",
        )
    if not pairs:
        raise ConfigError("lists no app; add at least one", source=source, key="apps")
    apps = []
    for label, folder in pairs:
        if not isinstance(label, str) or not label.isidentifier():
            raise ConfigError(
                f"{label!r} is not a valid app label (use letters, digits and underscores)",
                source=source,
                key="apps",
            )
        if not isinstance(folder, str) or not folder.strip():
            raise ConfigError(
                f"the folder of app {label!r} must be a non-empty string", source=source, key="apps"
            )
        apps.append(AppConfig(label, (root / folder).resolve()))
    if len({app.label for app in apps}) != len(apps):
        raise ConfigError("lists an app twice", source=source, key="apps")
    return tuple(apps)


def _strings(value: Any, source: Path | None, key: str) -> tuple[str, ...]:
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) and item for item in items):
        raise ConfigError("must be a string or a list of non-empty strings", source=source, key=key)
    return tuple(items)


def _format(value: Any, source: Path | None) -> FileFormat:
    if value == "python":
        return "python"
    if value == "json":
        return "json"
    raise ConfigError(
        f"{value!r} is not a file format; use one of {', '.join(FORMATS)}", source=source, key="format"
    )


def _identifier(value: Any, source: Path | None) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ConfigError("must be a non-empty table name", source=source, key="recorder_table")
    return value


def _databases(data: Mapping[str, Any], root: Path, source: Path | None) -> tuple[tuple[str, str], ...]:
    """Return the ``(alias, URL)`` pairs of ``database_url`` and ``databases``, the default first."""
    table = data.get("databases", {})
    if not isinstance(table, Mapping):
        raise ConfigError(
            'must be a table of alias = "URL", e.g. [tool.reinhardt-migrations.databases] '
            'analytics = "postgresql://app@db/analytics"',
            source=source,
            key="databases",
        )
    if "database_url" in data and DEFAULT_ALIAS in table:
        raise ConfigError(
            "database_url and databases.default both name the default database; keep one of them",
            source=source,
            key="databases.default",
        )
    urls: dict[str, str] = {}
    for alias, url in table.items():
        if not isinstance(alias, str) or not alias.isidentifier():
            raise ConfigError(
                f"{alias!r} is not a valid database alias (use letters, digits and underscores, "
                "not starting with a digit)",
                source=source,
                key="databases",
            )
        clash = [other for other in urls if other.upper() == alias.upper()]
        if clash:
            raise ConfigError(
                f"the aliases {clash[0]!r} and {alias!r} differ only in case, so both would be set by "
                f"{ENVIRONMENT_DATABASE_URL_PREFIX}{alias.upper()}; rename one",
                source=source,
                key="databases",
            )
        urls[alias] = _database_url(url, root, source, key=f"databases.{alias}")
    if DEFAULT_ALIAS not in urls and ("database_url" in data or not urls):
        urls[DEFAULT_ALIAS] = _database_url(data.get("database_url", DEFAULT_DATABASE_URL), root, source)
    return _ordered_databases(urls)


def _ordered_databases(urls: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Return the ``(alias, URL)`` pairs with the default first, then by alias."""
    return tuple(sorted(urls.items(), key=lambda item: (item[0] != DEFAULT_ALIAS, item[0])))


def _routes(
    value: Any, apps: tuple[AppConfig, ...], databases: tuple[tuple[str, str], ...], source: Path | None
) -> tuple[tuple[str, str], ...]:
    """Return the ``(app, alias)`` pairs of ``routes``, checked against the apps and the databases."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            'must be a table of app = "alias", e.g. [tool.reinhardt-migrations.routes] events = "analytics"',
            source=source,
            key="routes",
        )
    labels = tuple(app.label for app in apps)
    aliases = tuple(alias for alias, _url in databases)
    for app, alias in value.items():
        if app not in labels:
            raise ConfigError(
                f"routes app {app!r}, which is not configured (configured apps: {', '.join(labels)}); "
                f"add it to apps or remove the route",
                source=source,
                key=f"routes.{app}",
            )
        if not isinstance(alias, str) or alias not in aliases:
            raise ConfigError(
                f"sends app {app!r} to {alias!r}, which is not a configured database (databases: "
                f"{', '.join(aliases)}); add it under [tool.{SECTION}.databases] or fix the route",
                source=source,
                key=f"routes.{app}",
            )
    routed = tuple((label, str(value[label])) for label in labels if label in value)
    if DEFAULT_ALIAS not in aliases:
        unrouted = [label for label in labels if label not in value]
        if unrouted:
            raise ConfigError(
                f"there is no default database, and app(s) {', '.join(unrouted)} have no route; add "
                f"databases.default (or database_url), or route them under [tool.{SECTION}.routes]",
                source=source,
                key="databases",
            )
    return routed


def _database_url(value: Any, root: Path, source: Path | None, *, key: str = "database_url") -> str:
    """Return the URL with a relative SQLite path made absolute against ``root``."""
    if not isinstance(value, str) or "://" not in value:
        raise ConfigError(
            f"{value!r} is not a database URL; write e.g. {DEFAULT_DATABASE_URL!r} or "
            "'postgresql://user@host/name'",
            source=source,
            key=key,
        )
    parts = urlsplit(value)
    if parts.scheme.split("+", 1)[0] not in ("sqlite", "sqlite3"):
        return value
    # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy and Django-environ write them.
    relative = unquote(parts.path[1:])
    if parts.netloc or not relative or relative == ":memory:" or relative.startswith("/"):
        return value
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}:///{quote(str((root / relative).resolve()))}{query}"

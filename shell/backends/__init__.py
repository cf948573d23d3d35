"""Database backends behind one small protocol, opened by URL scheme."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

from reinhardt_migrations.shell.backends.base import Backend
from reinhardt_migrations.shell.errors import InvalidDatabaseUrl, MissingDriver

__all__ = ["BACKENDS", "Backend", "connect"]

# URL scheme -> (backend module, class, driver module, pip extra). Backend modules are
# imported only when their scheme is used, so a missing driver costs nothing elsewhere.
BACKENDS: dict[str, tuple[str, str, str, str]] = {
    "sqlite": ("reinhardt_migrations.shell.backends.sqlite", "SqliteBackend", "sqlite3", ""),
    "sqlite3": ("reinhardt_migrations.shell.backends.sqlite", "SqliteBackend", "sqlite3", ""),
    "postgresql": (
        "reinhardt_migrations.shell.backends.postgresql",
        "PostgresqlBackend",
        "psycopg",
        "postgresql",
    ),
    "postgres": (
        "reinhardt_migrations.shell.backends.postgresql",
        "PostgresqlBackend",
        "psycopg",
        "postgresql",
    ),
    "mysql": ("reinhardt_migrations.shell.backends.mysql", "MysqlBackend", "pymysql", "mysql"),
    "mariadb": ("reinhardt_migrations.shell.backends.mysql", "MysqlBackend", "pymysql", "mysql"),
}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def connect(url: str) -> Backend:
    """Open the database ``url`` names: ``sqlite:///path``, ``sqlite://:memory:``, ``postgresql://...``, ``mysql://...``.

    Raises:
        InvalidDatabaseUrl: the scheme names no backend, or the URL is malformed.
        MissingDriver: the backend's driver (an optional extra) is not installed.
        DatabaseError: the database cannot be opened.
    """
    scheme = urlsplit(url).scheme.lower().split("+", 1)[0]
    entry = BACKENDS.get(scheme)
    if entry is None:
        known = ", ".join(sorted(BACKENDS))
        raise InvalidDatabaseUrl(url, f"the scheme {scheme!r} is not one of {known}")
    module_name, class_name, driver, extra = entry
    if extra and not _importable(driver):
        raise MissingDriver(scheme, extra)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise InvalidDatabaseUrl(url, f"the {scheme} backend is not available in this version") from None
        raise
    factory = cast(Callable[[str], Backend], getattr(module, class_name).from_url)
    return factory(url)

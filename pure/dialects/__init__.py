"""SQL dialects: (operation, state before, state after) -> statements, without a connection.

``dialect_for("sqlite")`` or ``dialect_for("sqlite:///db.sqlite3")`` returns the dialect
for a name or a database URL. PostgreSQL and MySQL fill in the same structure
(``base.BaseDialect``) in their own issue.
"""

from __future__ import annotations

from collections.abc import Callable

from reinhardt_migrations.pure.dialects.base import BaseDialect, Dialect, MigrationSQL, OperationSQL
from reinhardt_migrations.pure.dialects.mysql import MySQLDialect
from reinhardt_migrations.pure.dialects.postgresql import PostgreSQLDialect
from reinhardt_migrations.pure.dialects.sqlite import SQLiteDialect
from reinhardt_migrations.pure.dialects.tables import Renames, TableChange, TableDef, tables_of_model
from reinhardt_migrations.pure.errors import UnknownDialect

__all__ = [
    "DIALECTS",
    "BaseDialect",
    "Dialect",
    "MigrationSQL",
    "MySQLDialect",
    "OperationSQL",
    "PostgreSQLDialect",
    "Renames",
    "SQLiteDialect",
    "TableChange",
    "TableDef",
    "dialect_for",
    "tables_of_model",
]

#: Dialect factories by name and by the URL schemes and aliases that mean them.
DIALECTS: dict[str, Callable[[], BaseDialect]] = {
    "sqlite": SQLiteDialect,
    "sqlite3": SQLiteDialect,
    "postgresql": PostgreSQLDialect,
    "postgres": PostgreSQLDialect,
    "mysql": MySQLDialect,
    "mariadb": MySQLDialect,
}


def dialect_for(name_or_url: str) -> Dialect:
    """Return the dialect for a name (``"sqlite"``) or a database URL (``"sqlite:///db.sqlite3"``).

    Raises:
        UnknownDialect: no dialect answers to that name or URL scheme.
    """
    scheme = name_or_url.partition(":")[0].lower()
    # "postgresql+psycopg://" style URLs name a driver after the plus sign.
    factory = DIALECTS.get(scheme.partition("+")[0])
    if factory is None:
        raise UnknownDialect(name_or_url, sorted(DIALECTS))
    return factory()

"""A data migration: fill ``Product.slug`` from ``name`` and the key, in batches, through RunCode.

RunCode calls ``fill_slugs(connection, state)`` inside the migration's transaction, with
the DB-API connection and the *historical* state: the schema as this migration sees it,
not as the models say today. Table and column names come from that state, so the code
keeps working after later migrations rename them. Rows are read and written in batches
of ``BATCH_SIZE`` by primary key, so memory stays flat on a big table.
"""

from __future__ import annotations

import re
from typing import Any

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["BATCH_SIZE", "clear_slugs", "fill_slugs", "slugify"]

BATCH_SIZE = 500


def slugify(name: str) -> str:
    """Return ``name`` in lower case, other characters as dashes: ``Red Chair!`` gives ``red-chair``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# The driver's module -> (the dialect that quotes for its database, its placeholder).
_DRIVERS = {"sqlite3": ("sqlite", "?"), "psycopg": ("postgresql", "%s"), "pymysql": ("mysql", "%s")}


def _names(connection: Any, state: ProjectState) -> tuple[str, str, str, str, str]:
    """Return the placeholder and the quoted table, key, name and slug columns as ``state`` has them."""
    dialect, mark = _DRIVERS[type(connection).__module__.split(".")[0]]
    quote = dialect_for(dialect).quote
    model = state.model("shop", "Product")
    key = model.primary_key
    assert key is not None, "the shop.Product model has a primary key"
    assert key.column is not None
    columns = [quote(model.field(name).column or name) for name in ("name", "slug")]
    return (mark, quote(model.db_table), quote(key.column), columns[0], columns[1])


def fill_slugs(connection: Any, state: ProjectState) -> None:
    """Set every product's slug from its name and key, ``BATCH_SIZE`` rows at a time."""
    mark, table, key, name, slug = _names(connection, state)
    cursor = connection.cursor()
    last = None
    while True:
        after = "" if last is None else f" WHERE {key} > {mark}"
        cursor.execute(
            f"SELECT {key}, {name} FROM {table}{after} ORDER BY {key} LIMIT {BATCH_SIZE}",
            () if last is None else (last,),
        )
        batch = cursor.fetchall()
        if not batch:
            return
        for row_key, row_name in batch:
            # The key keeps slugs unique when names repeat: "Red Chair!" with key 7 is "red-chair-7".
            value = f"{slugify(row_name)}-{row_key}"
            cursor.execute(f"UPDATE {table} SET {slug} = {mark} WHERE {key} = {mark}", (value, row_key))
        last = batch[-1][0]


def clear_slugs(connection: Any, state: ProjectState) -> None:
    """Undo ``fill_slugs``: set every slug back to NULL (the column is dropped right after anyway)."""
    _mark, table, _key, _name, slug = _names(connection, state)
    connection.cursor().execute(f"UPDATE {table} SET {slug} = NULL")

"""Deterministic names for database objects (indexes, constraints, join tables).

Names are made once, when the object is created, and then held in the state, so SQL
can always be rendered from states alone. A name longer than the strictest database
limit (PostgreSQL's 63 bytes) is shortened with a hash of the full name, so the same
inputs always give the same name and different inputs stay apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["MAX_NAME_BYTES", "object_name", "shorten_name"]

MAX_NAME_BYTES = 63


def shorten_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """Return ``name`` if it fits in ``limit`` bytes, else a prefix plus an 8-digit hash."""
    encoded = name.encode("utf-8")
    if len(encoded) <= limit:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    prefix = encoded[: limit - 9].decode("utf-8", errors="ignore")
    return f"{prefix}_{digest}"


def object_name(table: str, columns: Iterable[str], suffix: str) -> str:
    """Return the default name of an object on ``table`` over ``columns``, e.g. ``blog_post_title_idx``."""
    parts = [table, *columns, suffix]
    return shorten_name("_".join(part for part in parts if part))

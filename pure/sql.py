"""Statement values, and the one audited renderer of SQL literals.

Theory of operation: a dialect turns operations into ``Statement`` values; nothing
runs them here. A statement carries its SQL text, its parameters (values the driver
binds, never spliced into the text), whether it may run inside a transaction, and
whether the executor must check that it returns no rows (SQLite's
``PRAGMA foreign_key_check``). Identifiers reach SQL only through a dialect's
``quote()``. Constant values reach SQL text only through ``render_literal`` below:
column defaults are part of DDL, where drivers cannot bind parameters, so this is
the single place that writes a value into SQL, and it refuses what it cannot write
exactly (NaN, infinities, NUL characters, types it does not know).
"""

from __future__ import annotations

import decimal
import math

import attrs

from reinhardt_migrations.pure.errors import InvalidValue

__all__ = ["LITERAL_DIALECTS", "Statement", "render_literal"]

#: Dialect names render_literal knows.
LITERAL_DIALECTS = ("mysql", "postgresql", "sqlite")


def _sql_text(instance: Statement, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("Statement.sql", f"{value!r} must be non-empty SQL text")


def _params(value: object) -> tuple[object, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise InvalidValue("Statement.params", f"{value!r} must be a sequence of values")
    return tuple(value)


@attrs.frozen
class Statement:
    """One SQL statement: text, bound parameters, and how the executor must run it.

    ``transactional`` is False for statements that must run outside a transaction
    (SQLite's ``PRAGMA foreign_keys``). ``expect_no_rows`` asks the executor to fail,
    and roll back, if the statement returns any row (a consistency check).
    """

    sql: str = attrs.field(validator=_sql_text)
    params: tuple[object, ...] = attrs.field(default=(), converter=_params)
    transactional: bool = True
    expect_no_rows: bool = False

    def describe(self) -> str:
        """Return the SQL followed by comments for parameters and how it must run."""
        text = self.sql if self.sql.rstrip().endswith(";") else f"{self.sql};"
        notes = []
        if self.params:
            notes.append(f"parameters: {list(self.params)!r}")
        if not self.transactional:
            notes.append("runs outside the transaction")
        if self.expect_no_rows:
            notes.append("must return no rows")
        return text + "".join(f"\n-- {note}" for note in notes)


def render_literal(value: object, dialect_name: str) -> str:
    """Return ``value`` as an SQL literal for ``dialect_name`` (for DDL such as column defaults).

    Accepts None, bool, int, float, str and decimal.Decimal. Anything else belongs in
    ``Statement.params``.

    Raises:
        InvalidValue: the value cannot be written exactly (NaN, infinity, a NUL
            character, an unknown type) or the dialect is unknown.
    """
    if dialect_name not in LITERAL_DIALECTS:
        raise InvalidValue("SQL literal", f"unknown dialect {dialect_name!r}; use one of {LITERAL_DIALECTS}")
    if value is None:
        return "NULL"
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        if dialect_name == "postgresql":
            return "true" if value else "false"
        # SQLite and MySQL store booleans as the integers 1 and 0.
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue("SQL literal", f"{value!r} has no SQL literal; use NULL or a finite number")
        # repr is the shortest text that reads back as the same double.
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise InvalidValue("SQL literal", f"{value!r} has no SQL literal; use NULL or a finite number")
        # Positional notation: exponents ("1E+2") are not numeric literals in every dialect.
        return format(value, "f")
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValue("SQL literal", f"{value!r} holds a NUL character, which SQL text cannot carry")
        escaped = value.replace("'", "''")
        if dialect_name == "mysql":
            # MySQL reads backslash escapes inside quotes unless NO_BACKSLASH_ESCAPES is set.
            escaped = escaped.replace("\\", "\\\\")
        return f"'{escaped}'"
    raise InvalidValue(
        "SQL literal",
        f"{value!r} of type {type(value).__name__} has no audited SQL literal; "
        "pass it as a statement parameter",
    )

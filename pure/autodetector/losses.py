"""Which field changes can lose data: narrowing a type, or forbidding NULL.

Theory of operation: a change loses data when some value the old column can hold has
no equal in the new one. Within a type family that is a rule on capacities (the
table below); across families we do not guess and call every change lossy, as we do
for hand-written ``RawType`` changes, whose meaning we cannot know.
"""

from __future__ import annotations

import math

from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.types import (
    AutoField,
    BigAutoField,
    BigInteger,
    Char,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Float,
    Integer,
    SmallInteger,
    Text,
    Time,
    Varchar,
)

__all__ = ["narrowing_reason", "type_narrowing"]

# Integer widths in bytes: a narrower integer cannot hold every value of a wider one.
_INTEGER_BYTES: dict[type[ColumnType], int] = {
    SmallInteger: 2,
    Integer: 4,
    AutoField: 4,
    BigInteger: 8,
    BigAutoField: 8,
}
# Floating point precisions in bits; a decimal is exact, so any float <-> decimal change rounds.
_FLOAT_BITS: dict[type[ColumnType], int] = {Float: 24, Double: 53}


def _text_capacity(column_type: ColumnType) -> float:
    if isinstance(column_type, Varchar):
        return column_type.max_length
    if isinstance(column_type, Char):
        return column_type.length
    return math.inf if isinstance(column_type, Text) else 0


def _number_narrowing(old: ColumnType, new: ColumnType) -> str | None:
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        if new.decimal_places < old.decimal_places:
            return f"fewer decimal places ({old.decimal_places} -> {new.decimal_places})"
        if new.max_digits - new.decimal_places < old.max_digits - old.decimal_places:
            return f"fewer digits before the point ({old.describe()} -> {new.describe()})"
        return None
    if type(old) in _FLOAT_BITS and type(new) in _FLOAT_BITS:
        return "less floating point precision" if _FLOAT_BITS[type(new)] < _FLOAT_BITS[type(old)] else None
    return f"{old.describe()} -> {new.describe()} rounds values"


def _temporal_narrowing(old: ColumnType, new: ColumnType) -> str | None:
    if isinstance(old, DateTime) and isinstance(new, DateTime):
        return None
    if isinstance(old, Date) and isinstance(new, DateTime):
        return None
    if isinstance(old, DateTime | Time) and isinstance(new, Date):
        return f"{old.describe()} -> {new.describe()} drops the time of day"
    return f"{old.describe()} -> {new.describe()} drops part of each value"


def type_narrowing(old: ColumnType, new: ColumnType) -> str | None:
    """Return why changing a column from ``old`` to ``new`` can lose values, or None."""
    if old == new:
        return None
    if old.family != new.family:
        return f"changes the type family ({old.describe()} -> {new.describe()})"
    family = old.family
    if family == "integer":
        before, after = _INTEGER_BYTES[type(old)], _INTEGER_BYTES[type(new)]
        return f"narrows {old.describe()} to {new.describe()}" if after < before else None
    if family == "text":
        if _text_capacity(new) < _text_capacity(old):
            return f"shortens {old.describe()} to {new.describe()}"
        return None
    if family == "number":
        return _number_narrowing(old, new)
    if family == "temporal":
        return _temporal_narrowing(old, new)
    # raw, and any family whose members we cannot rank: assume the worst.
    return f"changes {old.describe()} to {new.describe()}"


def narrowing_reason(old: FieldState, new: FieldState) -> str | None:
    """Return why altering ``old`` into ``new`` can lose data (narrower type, NULL forbidden), or None."""
    reasons = []
    if old.is_concrete and new.is_concrete:
        narrowing = type_narrowing(old.type, new.type)
        if narrowing is not None:
            reasons.append(narrowing)
    if old.null and not new.null and new.is_concrete:
        reasons.append("NULL is no longer allowed (existing NULLs must be replaced)")
    return "; ".join(reasons) or None

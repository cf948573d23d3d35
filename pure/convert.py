"""Typed converters for attrs fields: collections become tuples and persistent maps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pyrsistent import PMap, PSet, pmap, pset

if TYPE_CHECKING:
    from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
    from reinhardt_migrations.pure.fields import FieldState
    from reinhardt_migrations.pure.operations.base import Operation

__all__ = [
    "constraint_tuple",
    "field_tuple",
    "index_tuple",
    "operation_tuple",
    "str_map",
    "str_set",
]


def field_tuple(value: Iterable[FieldState]) -> tuple[FieldState, ...]:
    """Return the fields as a tuple."""
    return tuple(value)


def index_tuple(value: Iterable[IndexState]) -> tuple[IndexState, ...]:
    """Return the indexes as a tuple."""
    return tuple(value)


def constraint_tuple(value: Iterable[ConstraintState]) -> tuple[ConstraintState, ...]:
    """Return the constraints as a tuple."""
    return tuple(value)


def operation_tuple(value: Iterable[Operation]) -> tuple[Operation, ...]:
    """Return the operations as a tuple."""
    return tuple(value)


def str_map(value: Mapping[str, str] | None) -> PMap[str, str]:
    """Return a string-to-string mapping as a persistent map."""
    return value if isinstance(value, PMap) else pmap(value or {})


def str_set(value: Iterable[str]) -> PSet[str]:
    """Return strings as a persistent set."""
    return value if isinstance(value, PSet) else pset(value)

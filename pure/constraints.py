"""IndexState and ConstraintState: named database objects on one model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import check_identifier
from reinhardt_migrations.pure.sql_rewrite import rename_column_in_sql

__all__ = ["ConstraintKind", "ConstraintState", "IndexState", "UniqueTogether"]


def _field_names(value: Iterable[str]) -> tuple[str, ...]:
    names = tuple(value)
    if isinstance(value, str) or not names:
        raise InvalidValue("field list", f"{value!r} must be a non-empty list of field names")
    for name in names:
        if not isinstance(name, str) or not name.lstrip("-"):
            raise InvalidValue("field list", f"{name!r} is not a field name")
    if len({name.lstrip("-") for name in names}) != len(names):
        raise InvalidValue("field list", f"{list(names)!r} names a field twice")
    return names


@attrs.frozen
class IndexState:
    """A named index over fields; ``-name`` sorts that field descending; ``condition`` makes it partial."""

    name: str = attrs.field(validator=check_identifier)
    fields: tuple[str, ...] = attrs.field(converter=_field_names)
    unique: bool = False
    condition: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Return the field names without their order marks."""
        return tuple(name.lstrip("-") for name in self.fields)

    def definition(self) -> tuple[tuple[str, ...], bool, str | None]:
        """Return everything but the name: two indexes with one definition are the same index."""
        return (self.fields, self.unique, self.condition)

    def renamed(self, name: str) -> IndexState:
        """Return a copy named ``name``."""
        return attrs.evolve(self, name=name)

    def with_field_renamed(self, old: str, new: str) -> IndexState:
        """Return a copy where field ``old`` is called ``new``."""
        return attrs.evolve(self, fields=tuple(_rename_entry(f, old, new) for f in self.fields))

    def with_column_renamed(self, old: str, new: str) -> IndexState:
        """Return a copy whose condition names column ``new`` where it named ``old``."""
        if self.condition is None:
            return self
        return attrs.evolve(self, condition=rename_column_in_sql(self.condition, old, new))

    def describe(self) -> str:
        """Return e.g. ``index blog_post_title_idx on (title, -created)``."""
        kind = "unique index" if self.unique else "index"
        where = f" where {self.condition}" if self.condition else ""
        return f"{kind} {self.name} on ({', '.join(self.fields)}){where}"


def _rename_entry(entry: str, old: str, new: str) -> str:
    descending = entry.startswith("-")
    if entry.lstrip("-") != old:
        return entry
    return f"-{new}" if descending else new


ConstraintKind = Literal["unique", "check"]


def _names_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class ConstraintState:
    """A named constraint: ``unique`` over fields, or ``check`` with an SQL condition."""

    kind: ConstraintKind
    name: str = attrs.field(validator=check_identifier)
    fields: tuple[str, ...] = attrs.field(default=(), converter=_names_tuple)
    check: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind == "unique":
            _field_names(self.fields)
            if self.check is not None:
                raise InvalidValue(f"constraint {self.name}", "a unique constraint has no check")
        elif self.kind == "check":
            if not self.check or self.fields:
                raise InvalidValue(
                    f"constraint {self.name}", "a check constraint needs check SQL and no fields"
                )
        else:
            raise InvalidValue(f"constraint {self.name}", f"unknown kind {self.kind!r}")

    @classmethod
    def unique_on(cls, name: str, fields: Iterable[str]) -> ConstraintState:
        """Return a unique constraint over ``fields``."""
        return cls("unique", name, _names_tuple(fields))

    @classmethod
    def check_that(cls, name: str, check: str) -> ConstraintState:
        """Return a check constraint with the SQL condition ``check``."""
        return cls("check", name, (), check)

    def definition(self) -> tuple[str, tuple[str, ...], str | None]:
        """Return everything but the name."""
        return (self.kind, self.fields, self.check)

    def with_field_renamed(self, old: str, new: str) -> ConstraintState:
        """Return a copy where field ``old`` is called ``new`` (see ``with_column_renamed`` for check SQL)."""
        renamed = [new if f == old else f for f in self.fields]
        return attrs.evolve(self, fields=renamed)

    def with_column_renamed(self, old: str, new: str) -> ConstraintState:
        """Return a copy whose check SQL names column ``new`` where it named ``old``."""
        if self.check is None:
            return self
        return attrs.evolve(self, check=rename_column_in_sql(self.check, old, new))

    def describe(self) -> str:
        """Return e.g. ``unique constraint uniq_slug on (slug)``."""
        if self.kind == "unique":
            return f"unique constraint {self.name} on ({', '.join(self.fields)})"
        return f"check constraint {self.name} ({self.check})"


@attrs.frozen
class UniqueTogether:
    """One ``unique_together`` entry: fields, and the name of its unique constraint.

    The name is bookkeeping made when the entry is added, left out of equality.
    """

    fields: tuple[str, ...] = attrs.field(converter=_field_names)
    name: str | None = attrs.field(default=None, eq=False)

    def with_field_renamed(self, old: str, new: str) -> UniqueTogether:
        """Return a copy where field ``old`` is called ``new``."""
        return attrs.evolve(self, fields=tuple(new if f == old else f for f in self.fields))

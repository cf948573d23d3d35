"""The extension point for custom operations: the database side of the Operation protocol.

Theory of operation: an operation is a frozen attrs value. ``Operation`` (operations/base.py)
is what every operation implements: ``state_forwards`` (a pure function of the state:
no IO, no mutation of its input, the same result for equal inputs), ``describe``,
``reversible``, ``migration_name_fragment``, and for the optimizer ``footprint`` (what it
touches) and ``reduce`` (how it merges with the next operation). A custom operation adds
the database side, ``DatabaseOperation``: the statements that take a database from the
state before it to the state after it, and back, for the dialect asked. The dialects call
them while planning, so a refusal (``UnsupportedOperation``, ``IrreversibleOperation``)
surfaces before anything runs.

``CustomOperation`` is a base with the defaults most custom operations want: it refuses
dialects outside ``dialects``, is reversible exactly when it defines ``backwards_sql``,
derives its name fragment from its class name, and blocks the optimizer (footprint:
everything) until told better. docs/custom-operations.md walks through one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from reinhardt_migrations.pure.errors import IrreversibleOperation, UnsupportedOperation
from reinhardt_migrations.pure.operations.base import BaseOperation

if TYPE_CHECKING:
    from reinhardt_migrations.pure.dialects.base import Dialect
    from reinhardt_migrations.pure.sql import Statement
    from reinhardt_migrations.pure.state import ProjectState

__all__ = ["CustomOperation", "DatabaseOperation", "is_database_operation"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@runtime_checkable
class DatabaseOperation(Protocol):
    """The database side of a custom operation: statements per dialect, forwards and backwards."""

    def database_forwards(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements taking a database at ``before`` to ``after`` (this operation applied).

        Raises:
            UnsupportedOperation: the operation cannot run on this dialect.
        """
        ...

    def database_backwards(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements taking a database at ``after`` back to ``before``.

        Raises:
            IrreversibleOperation: the operation cannot be undone.
            UnsupportedOperation: the operation cannot run on this dialect.
        """
        ...


def is_database_operation(operation: object) -> bool:
    """Tell whether ``operation`` renders its own SQL (``database_forwards``), as custom operations do."""
    return callable(getattr(operation, "database_forwards", None))


class CustomOperation(BaseOperation):
    """A base for custom operations; subclasses are ``@attrs.frozen`` and implement at least
    ``state_forwards``, ``describe`` and ``forwards_sql`` (``backwards_sql`` to be reversible).
    """

    __slots__ = ()

    #: The dialect names the operation runs on (``"sqlite"``, ``"postgresql"``, ``"mysql"``); None: all.
    dialects: ClassVar[frozenset[str] | None] = None

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state after the operation (a subclass implements it; pure, never mutating ``state``)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement state_forwards(state)")

    def describe(self) -> str:
        """Return a one-line human description (a subclass implements it)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement describe()")

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements applying the operation (a subclass implements it)."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must implement forwards_sql(dialect, before, after)"
        )

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements undoing the operation; a subclass that can be undone implements it."""
        raise IrreversibleOperation(self.describe())

    @property
    def reversible(self) -> bool:
        """Tell whether the subclass defines ``backwards_sql``."""
        return type(self).backwards_sql is not CustomOperation.backwards_sql

    @property
    def migration_name_fragment(self) -> str:
        """Return the class name in snake_case (``CreateView`` gives ``create_view``)."""
        return _CAMEL.sub("_", type(self).__name__).lower()

    def check_dialect(self, dialect: Dialect) -> None:
        """Refuse a dialect outside ``dialects``.

        Raises:
            UnsupportedOperation: the operation does not run on ``dialect``.
        """
        if self.dialects is not None and dialect.name not in self.dialects:
            raise UnsupportedOperation(
                dialect.name,
                self.describe(),
                f"{type(self).__qualname__} runs on {', '.join(sorted(self.dialects))} only; keep it out "
                "of the migrations this database applies, or wrap it in SeparateDatabaseAndState",
            )

    def database_forwards(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``forwards_sql`` after checking the dialect.

        Raises:
            UnsupportedOperation: the operation does not run on ``dialect``.
        """
        self.check_dialect(dialect)
        return tuple(self.forwards_sql(dialect, before, after))

    def database_backwards(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``backwards_sql`` after checking the dialect.

        Raises:
            IrreversibleOperation: the subclass defines no ``backwards_sql``.
            UnsupportedOperation: the operation does not run on ``dialect``.
        """
        self.check_dialect(dialect)
        return tuple(self.backwards_sql(dialect, before, after))

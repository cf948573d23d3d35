"""The one small interface every database backend implements.

Theory of operation: the executor and the recorder talk to a database only through
this protocol. Statements come rendered from the pure dialects; a backend runs them,
brackets them in transactions, reads the catalog into plain rows for the pure
introspection, and converts its driver's errors into ``reinhardt_migrations.shell.errors``
where the driver is called. Driver imports live only in each backend's module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from reinhardt_migrations.pure.introspection import CatalogRows
    from reinhardt_migrations.pure.sql import Statement

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """A connection to one database, as the executor and the recorder need it."""

    @property
    def dialect(self) -> str:
        """Return the name of the pure dialect that renders this database's SQL (``"sqlite"``)."""
        ...

    @property
    def connection(self) -> Any:
        """Return the driver's DB-API connection (handed to RunCode callables)."""
        ...

    @property
    def transactional_ddl(self) -> bool:
        """Tell whether DDL runs inside transactions; if not (MySQL), the executor records progress."""
        ...

    def execute(self, statements: Iterable[Statement]) -> None:
        """Run ``statements`` in order, in the current transaction if one is open.

        Raises:
            DatabaseError: a statement failed (the error names it).
        """
        ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one read query and return its rows.

        Raises:
            DatabaseError: the query failed.
        """
        ...

    def has_table(self, name: str) -> bool:
        """Tell whether a table called ``name`` exists."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """Return a context that commits on success and rolls back on any exception.

        Raises:
            DatabaseError: the commit failed (then nothing was committed).
        """
        ...

    def run_lock(self) -> AbstractContextManager[None]:
        """Return a context held for a whole ``migrate`` run, keeping other runs out."""
        ...

    def catalog(self) -> CatalogRows:
        """Return the schema as plain rows for ``reinhardt_migrations.pure.introspection``."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...

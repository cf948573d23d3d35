"""Operations that carry SQL or code of the user's, and state/database separation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from reinhardt_migrations.pure.convert import operation_tuple
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint, Operation
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["RunCode", "RunSQL", "SeparateDatabaseAndState"]


def _statements(value: str | Iterable[str]) -> tuple[str, ...]:
    statements = (value,) if isinstance(value, str) else tuple(value)
    if not statements or not all(isinstance(s, str) and s.strip() for s in statements):
        raise InvalidValue("RunSQL sql", f"{value!r} must be SQL text or a list of SQL texts")
    return statements


def _optional_statements(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _statements(value)


def _dotted_path(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None and attribute.name != "code":
        return
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise InvalidValue(
            f"RunCode {attribute.name}",
            f"{value!r} must be a dotted path like 'myapp.migrations.fill_slugs'",
        )


@attrs.frozen
class RunSQL(BaseOperation):
    """Run SQL of the user's; ``state_operations`` say what it does to the schema, if anything."""

    sql: tuple[str, ...] = attrs.field(converter=_statements)
    reverse_sql: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_statements)
    state_operations: tuple[Operation, ...] = attrs.field(default=(), converter=operation_tuple)
    elidable: bool = False
    kind: ClassVar[str] = "RunSQL"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state after the declared state operations."""
        for operation in self.state_operations:
            state = operation.state_forwards(state)
        return state

    @property
    def reversible(self) -> bool:
        """Tell whether reverse SQL was given."""
        return self.reverse_sql is not None

    def describe(self) -> str:
        """Return ``Raw SQL operation`` with the first line of SQL."""
        first = self.sql[0].strip().splitlines()[0]
        return f"Raw SQL operation: {first[:60]}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``run_sql``."""
        return "run_sql"

    def footprint(self) -> Footprint:
        """Return everything: SQL may touch anything, so nothing moves past it."""
        return Footprint(everything=True)


@attrs.frozen
class RunCode(BaseOperation):
    """Run Python code (a data migration): callables named by dotted path.

    Each callable receives a connection and the historical ProjectState when it runs.
    """

    code: str = attrs.field(validator=_dotted_path)  # type: ignore[assignment]
    reverse_code: str | None = attrs.field(default=None, validator=_dotted_path)
    description: str = ""
    elidable: bool = False
    kind: ClassVar[str] = "RunCode"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state unchanged: code does not change the schema."""
        return state

    @property
    def reversible(self) -> bool:
        """Tell whether backwards code was given."""
        return self.reverse_code is not None

    def describe(self) -> str:
        """Return the description, or the code's path."""
        return f"Run code {self.code}" + (f": {self.description}" if self.description else "")

    @property
    def migration_name_fragment(self) -> str:
        """Return ``run_code``."""
        return "run_code"

    def footprint(self) -> Footprint:
        """Return everything: code may read anything."""
        return Footprint(everything=True)


@attrs.frozen
class SeparateDatabaseAndState(BaseOperation):
    """Run some operations on the database and others on the state only."""

    database_operations: tuple[Operation, ...] = attrs.field(default=(), converter=operation_tuple)
    state_operations: tuple[Operation, ...] = attrs.field(default=(), converter=operation_tuple)
    kind: ClassVar[str] = "SeparateDatabaseAndState"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state after the state operations."""
        for operation in self.state_operations:
            state = operation.state_forwards(state)
        return state

    @property
    def reversible(self) -> bool:
        """Tell whether every database operation is reversible."""
        return all(op.reversible for op in self.database_operations)

    def describe(self) -> str:
        """Return a summary of both lists."""
        return (
            f"Custom state/database change: {len(self.database_operations)} database "
            f"and {len(self.state_operations)} state operation(s)"
        )

    @property
    def migration_name_fragment(self) -> str:
        """Return ``separate_database_and_state``."""
        return "separate_database_and_state"

    def footprint(self) -> Footprint:
        """Return everything."""
        return Footprint(everything=True)

"""Migration values: a named, ordered list of operations with its dependencies."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from reinhardt_migrations.pure.convert import operation_tuple
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["Migration", "MigrationKey", "replay"]

MigrationKey = tuple[str, str]


def _keys(value: Iterable[Iterable[str]]) -> tuple[MigrationKey, ...]:
    keys = []
    for item in value:
        pair = tuple(item)
        if len(pair) != 2 or not all(isinstance(part, str) and part for part in pair):
            raise InvalidValue("migration dependency", f"{item!r} is not an (app, name) pair")
        keys.append((pair[0], pair[1]))
    return tuple(keys)


def _check_name(instance: Migration, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or not isinstance(value, str):
        raise InvalidValue(f"migration {attribute.name}", f"{value!r} must be a non-empty string")


@attrs.frozen
class Migration:
    """One migration: app label, name, dependencies, operations and flags."""

    name: str = attrs.field(validator=_check_name)
    app_label: str = attrs.field(validator=_check_name)
    dependencies: tuple[MigrationKey, ...] = attrs.field(default=(), converter=_keys)
    operations: tuple[Operation, ...] = attrs.field(default=(), converter=operation_tuple)
    replaces: tuple[MigrationKey, ...] = attrs.field(default=(), converter=_keys)
    atomic: bool = True
    initial: bool = False

    @classmethod
    def new(cls, name: str, app_label: str) -> Migration:
        """Return an empty migration (the original crate's constructor)."""
        return cls(name=name, app_label=app_label)

    @property
    def key(self) -> MigrationKey:
        """Return ``(app_label, name)``, the migration's node in the graph."""
        return (self.app_label, self.name)

    def with_operation(self, operation: Operation) -> Migration:
        """Return a copy with ``operation`` appended."""
        return attrs.evolve(self, operations=(*self.operations, operation))

    def with_dependency(self, app_label: str, name: str) -> Migration:
        """Return a copy that also depends on ``app_label.name``."""
        return attrs.evolve(self, dependencies=(*self.dependencies, (app_label, name)))

    # The original crate's chain style; each returns a new value like the with_ methods.
    add_operation = with_operation
    add_dependency = with_dependency

    def apply(self, state: ProjectState) -> ProjectState:
        """Return the state after every operation of this migration."""
        for operation in self.operations:
            state = operation.state_forwards(state)
        return state


def replay(migrations: Iterable[Migration], state: ProjectState | None = None) -> ProjectState:
    """Return the state after applying ``migrations`` in order to ``state`` (default: empty)."""
    current = state if state is not None else ProjectState()
    for migration in migrations:
        current = migration.apply(current)
    return current

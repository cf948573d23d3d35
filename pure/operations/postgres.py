"""PostgreSQL project-wide objects: extensions and collations."""

from __future__ import annotations

from typing import ClassVar

import attrs

from reinhardt_migrations.pure.errors import InvalidOperation
from reinhardt_migrations.pure.fields import check_identifier
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint
from reinhardt_migrations.pure.state import CollationState, ProjectState

__all__ = ["CreateCollation", "CreateExtension", "DropExtension", "RemoveCollation"]

_PROJECT = Footprint(models=frozenset({("", "__project__")}))


@attrs.frozen
class CreateExtension(BaseOperation):
    """Install a PostgreSQL extension (``CREATE EXTENSION IF NOT EXISTS``)."""

    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "CreateExtension"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the extension."""
        return state.with_extension(self.name)

    def describe(self) -> str:
        """Return e.g. ``Create extension hstore``."""
        return f"Create extension {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``create_extension_<name>``."""
        return f"create_extension_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the project-wide marker (extensions stay in order among themselves)."""
        return _PROJECT


@attrs.frozen
class DropExtension(BaseOperation):
    """Remove a PostgreSQL extension."""

    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "DropExtension"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the extension."""
        if self.name not in state.extensions:
            raise InvalidOperation(
                f"Extension {self.name!r} is not installed at this point of the history. Check the name."
            )
        return state.without_extension(self.name)

    def describe(self) -> str:
        """Return e.g. ``Drop extension hstore``."""
        return f"Drop extension {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``drop_extension_<name>``."""
        return f"drop_extension_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the project-wide marker."""
        return _PROJECT


@attrs.frozen
class CreateCollation(BaseOperation):
    """Create a PostgreSQL collation."""

    name: str = attrs.field(validator=check_identifier)
    locale: str
    provider: str = "libc"
    deterministic: bool = True
    kind: ClassVar[str] = "CreateCollation"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the collation."""
        if self.name in state.collations:
            raise InvalidOperation(f"Collation {self.name!r} already exists. Pick another name.")
        return state.with_collation(CollationState(self.name, self.locale, self.provider, self.deterministic))

    def describe(self) -> str:
        """Return e.g. ``Create collation case_insensitive``."""
        return f"Create collation {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``create_collation_<name>``."""
        return f"create_collation_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the project-wide marker."""
        return _PROJECT


@attrs.frozen
class RemoveCollation(BaseOperation):
    """Drop a PostgreSQL collation; it carries its definition so it can be recreated."""

    name: str = attrs.field(validator=check_identifier)
    locale: str
    provider: str = "libc"
    deterministic: bool = True
    kind: ClassVar[str] = "RemoveCollation"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the collation."""
        if self.name not in state.collations:
            raise InvalidOperation(
                f"Collation {self.name!r} does not exist at this point of the history. Check the name."
            )
        return state.without_collation(self.name)

    def describe(self) -> str:
        """Return e.g. ``Remove collation case_insensitive``."""
        return f"Remove collation {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``remove_collation_<name>``."""
        return f"remove_collation_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the project-wide marker."""
        return _PROJECT

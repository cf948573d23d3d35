"""PostgreSQL operations: project-wide objects (extensions, collations) and concurrent index builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from reinhardt_migrations.pure.errors import InvalidOperation
from reinhardt_migrations.pure.fields import check_identifier
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint
from reinhardt_migrations.pure.operations.indexes import AddIndex, RemoveIndex
from reinhardt_migrations.pure.state import CollationState, ProjectState

if TYPE_CHECKING:
    from reinhardt_migrations.pure.sql import Statement

__all__ = [
    "AddIndexConcurrently",
    "CreateCollation",
    "CreateExtension",
    "DropExtension",
    "RemoveCollation",
    "RemoveIndexConcurrently",
]

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


# Concurrent index builds. They are custom operations as far as the rest of the code is
# concerned (serialized by dotted path, left alone by the optimizer): their SQL comes
# from ``database_forwards``/``database_backwards``, which ask the dialect for
# ``concurrent_index_statements`` (PostgreSQL: statements that run outside any
# transaction, so the migration runs operation by operation) and fall back to the
# plain index change on databases without concurrent builds.


def _index_change(
    dialect: Any,
    state: ProjectState,
    other: ProjectState,
    app_label: str,
    model: str,
    name: str,
    create: bool,
) -> Sequence[Statement]:
    """Return the statements creating (or dropping) index ``name`` between ``other`` and ``state``."""
    concurrent = getattr(dialect, "concurrent_index_statements", None)
    if concurrent is None:
        start, end = (other, state) if create else (state, other)
        return tuple(dialect.statements_between(start, end))
    return tuple(concurrent(state.model(app_label, model), state, name, create=create))


@attrs.frozen
class AddIndexConcurrently(AddIndex):
    """Create an index without blocking writes (PostgreSQL ``CREATE INDEX CONCURRENTLY``).

    The build cannot run inside a transaction, so a migration holding this operation is
    not atomic: the executor runs it operation by operation. Elsewhere it is ``AddIndex``.
    """

    kind: ClassVar[str] = "AddIndexConcurrently"

    def describe(self) -> str:
        """Return e.g. ``Create index blog_title_idx concurrently on field(s) title of blog.Post``."""
        return (
            f"Create index {self.index.name} concurrently on field(s) {', '.join(self.index.fields)} "
            f"of {self.app_label}.{self.model_name}"
        )

    def database_forwards(
        self, dialect: Any, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements building the index."""
        return _index_change(dialect, after, before, self.app_label, self.model_name, self.index.name, True)

    def database_backwards(
        self, dialect: Any, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements dropping the index again."""
        return _index_change(dialect, after, before, self.app_label, self.model_name, self.index.name, False)


@attrs.frozen
class RemoveIndexConcurrently(RemoveIndex):
    """Drop an index without blocking reads and writes (PostgreSQL ``DROP INDEX CONCURRENTLY``).

    Like ``AddIndexConcurrently``, it makes its migration non-atomic on PostgreSQL.
    """

    kind: ClassVar[str] = "RemoveIndexConcurrently"

    def describe(self) -> str:
        """Return e.g. ``Remove index blog_title_idx concurrently from blog.Post``."""
        return f"Remove index {self.name} concurrently from {self.app_label}.{self.model_name}"

    def database_forwards(
        self, dialect: Any, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements dropping the index."""
        return _index_change(dialect, before, after, self.app_label, self.model_name, self.name, False)

    def database_backwards(
        self, dialect: Any, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return the statements building the index again."""
        return _index_change(dialect, before, after, self.app_label, self.model_name, self.name, True)

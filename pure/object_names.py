"""Names that must be unique across a whole database, not just within one model.

Theory of operation: SQLite keeps tables and indexes in one namespace per database, and
PostgreSQL keeps tables, indexes and the indexes behind unique constraints in one per
schema; only MySQL scopes index names to their table. The state checks names per model
(two indexes of one model cannot share a name) and table names per project, but two
models may each carry an index called ``title_idx``: the second ``CREATE INDEX`` then
fails at ``migrate`` time. ``shared_object_names`` finds such clashes in a state, so
``makemigrations`` can refuse to write them and ``check`` can report them, as Django's
system checks do for index and constraint names (models.E029/E032). Check constraints
and foreign-key constraints are named per table everywhere and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from reinhardt_migrations.pure.errors import DuplicateObjectName
from reinhardt_migrations.pure.state import ModelState, ProjectState

__all__ = ["SharedName", "check_object_names", "shared_object_names"]


@attrs.frozen
class SharedName:
    """One database object name that two or more objects of a state would use."""

    name: str
    #: ``(kind, model label)`` of each object, in model order.
    owners: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """Return e.g. ``the name 'title_idx' is used by index of blog.Post and index of blog.Tag``."""
        users = " and ".join(f"{kind} of {label}" for kind, label in self.owners)
        return f"the name {self.name!r} is used by {users}; give each its own name"


def _names_of(model: ModelState) -> Iterator[tuple[str, str]]:
    """Yield ``(name, kind)`` for every table and index-like object of ``model``."""
    yield model.db_table, "table"
    for field in model.fields:
        if field.index_name is not None:
            yield field.index_name, "index"
        if field.unique_name is not None:
            yield field.unique_name, "unique constraint"
        relation = field.relation
        if relation is not None and relation.through is None and relation.db_table is not None:
            yield relation.db_table, "join table"
    for index in model.indexes:
        yield index.name, "index"
    for constraint in model.constraints:
        if constraint.kind == "unique":
            yield constraint.name, "unique constraint"
    for entry in model.unique_together:
        if entry.name is not None:
            yield entry.name, "unique constraint"


def shared_object_names(state: ProjectState) -> tuple[SharedName, ...]:
    """Return every name that two objects of ``state`` would use in one database, by name."""
    owners: dict[str, list[tuple[str, str]]] = {}
    spelled: dict[str, str] = {}
    for model in state:
        for name, kind in _names_of(model):
            # SQLite compares names without case; so does PostgreSQL for unquoted ones.
            folded = name.lower()
            spelled.setdefault(folded, name)
            owners.setdefault(folded, []).append((kind, model.label))
    return tuple(
        SharedName(spelled[folded], tuple(users))
        for folded, users in sorted(owners.items())
        if len(users) > 1
    )


def check_object_names(state: ProjectState) -> None:
    """Raise DuplicateObjectName for the first name two objects of ``state`` would share."""
    for shared in shared_object_names(state):
        (kind, label), (_other_kind, other) = shared.owners[0], shared.owners[1]
        app_label, _, model = label.partition(".")
        raise DuplicateObjectName(app_label, model, shared.name, kind, owner=other)

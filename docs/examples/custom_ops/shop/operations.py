"""Custom operations: CreateView and DropView keep views in the ProjectState.

Each is a frozen attrs value (so migration files can hold it, and JSON files name it
``shop.operations.CreateView``). ``state_forwards`` is pure: it returns a new state with
the view added or removed. The SQL comes from ``forwards_sql`` and ``backwards_sql``,
which ``CustomOperation`` calls for every dialect; ``per_dialect`` carries spellings
for databases that quote differently (MySQL's backticks).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.convert import str_map
from reinhardt_migrations.pure.custom import CustomOperation
from reinhardt_migrations.pure.dialects import Dialect
from reinhardt_migrations.pure.operations import Operation
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.views import ViewState, create_view_statement, drop_view_statement

__all__ = ["CreateView", "DropView"]


@attrs.frozen
class CreateView(CustomOperation):
    """Create a view: its name and the SELECT that defines it (other spellings in ``per_dialect``)."""

    name: str
    sql: str
    per_dialect: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)

    def view(self) -> ViewState:
        """Return the view this operation creates."""
        return ViewState(self.name, self.sql, self.per_dialect)

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the view (refused if a view or table has its name)."""
        return state.with_view(self.view())

    def describe(self) -> str:
        """Return e.g. ``Create view cheap_products``."""
        return f"Create view {self.name}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``CREATE VIEW``."""
        return [create_view_statement(dialect, self.view())]

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``DROP VIEW``."""
        return [drop_view_statement(dialect, self.name)]

    def reduce(self, other: Operation) -> Sequence[Operation] | None:
        """Return nothing for CreateView then DropView of the same view: the pair cancels out."""
        if isinstance(other, DropView) and other.name == self.name:
            return []
        return None


@attrs.frozen
class DropView(CustomOperation):
    """Drop a view; it carries the view's definition so that it can be created again backwards."""

    name: str
    sql: str
    per_dialect: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the view (refused if there is no such view)."""
        return state.without_view(self.name)

    def describe(self) -> str:
        """Return e.g. ``Drop view cheap_products``."""
        return f"Drop view {self.name}"

    def forwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``DROP VIEW``."""
        return [drop_view_statement(dialect, self.name)]

    def backwards_sql(
        self, dialect: Dialect, before: ProjectState, after: ProjectState
    ) -> Sequence[Statement]:
        """Return ``CREATE VIEW`` with the definition the view had."""
        return [create_view_statement(dialect, before.view(self.name))]

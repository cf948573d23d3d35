"""Hypothesis strategies for the shop's operations: what the test kit draws them from.

Each takes a state and returns a strategy of operations valid on it, or None when
none is (``DropView`` needs a view). Views select columns of a table of the state,
quoted for each dialect, so any generated name works everywhere.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy, composite

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.strategies import identifiers
from reinhardt_migrations.pure.strategies.names import fold, project_object_names
from shop.operations import CreateView, DropView

__all__ = ["create_views", "drop_views"]


def _select(dialect: str, model: ModelState, columns: list[str]) -> str:
    quote = dialect_for(dialect).quote
    return f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model.db_table)}"


@composite
def _create_view(draw: DrawFn, state: ProjectState, models: list[ModelState]) -> CreateView:
    model = draw(st.sampled_from(models))
    concrete = [field.column for field in model.fields if field.column is not None]
    columns = draw(st.lists(st.sampled_from(concrete), min_size=1, max_size=3, unique=True))
    # Views share one namespace with tables and indexes (case-insensitive in SQLite and MySQL).
    taken = project_object_names(state)
    name = draw(identifiers().filter(lambda n: fold(n) not in taken))
    sql = _select("postgresql", model, columns)
    mysql = _select("mysql", model, columns)
    return CreateView(name, sql, {"mysql": mysql} if mysql != sql else {})


def create_views(state: ProjectState) -> SearchStrategy[CreateView] | None:
    """Return CreateView operations over the managed models of ``state``, or None if it has none."""
    models = [model for model in state if model.managed]
    return _create_view(state, models) if models else None


def drop_views(state: ProjectState) -> SearchStrategy[DropView] | None:
    """Return DropView operations for the views of ``state``, or None if it has none."""
    if not state.views:
        return None
    views = [state.views[name] for name in sorted(state.views)]
    return st.sampled_from(views).map(lambda view: DropView(view.name, view.sql, view.per_dialect))

"""Drift: how a live database differs from the state its applied migrations build.

Theory of operation: the recorder says which migrations a database has applied; replaying
them gives the schema it should have. The database's catalog, read into the same schema
values the laws compare (``schema_from_catalog`` against ``schema_of``), says what it has.
Every difference is drift: a hand-made index, a column changed outside the migrations, a
table restored from an old dump. The recorder's own tables are left out; PostgreSQL and
MySQL add columns at the end, so on them column order is not compared; MySQL keeps
unique indexes as unique constraints, and the state's schema is folded the same way.
Nothing is written: drift is reported, and fixing it (a migration, or the database) is
the user's decision.
"""

from __future__ import annotations

from reinhardt_migrations.pure.introspection import schema_from_catalog, schema_of
from reinhardt_migrations.pure.introspection_mysql import fold_unique_indexes
from reinhardt_migrations.pure.plan_render import history_order, replay_applied
from reinhardt_migrations.pure.views import view_differences
from reinhardt_migrations.shell.database_laws import in_any_column_order, schema_differences
from reinhardt_migrations.shell.executor import MigrationExecutor
from reinhardt_migrations.shell.scratch import database_views

__all__ = ["schema_drift"]


def schema_drift(executor: MigrationExecutor) -> tuple[str, ...]:
    """Return, item by item, how the executor's database differs from its applied migrations' state.

    Raises:
        DatabaseError: the catalog or the recorder cannot be read.
    """
    recorded = frozenset(executor.applied())
    graph = executor.graph
    state = replay_applied(graph, history_order(graph, recorded), graph.applied_nodes(recorded))
    dialect = executor.dialect
    bookkeeping = [executor.recorder.table]
    if executor.progress is not None:
        bookkeeping.append(executor.progress.table)
    found = schema_from_catalog(executor.backend.catalog().without_tables(bookkeeping), dialect)
    expected = schema_of(state, dialect)
    if dialect.name == "mysql":
        expected = fold_unique_indexes(expected)
    if dialect.name != "sqlite":
        expected, found = in_any_column_order(expected), in_any_column_order(found)
    lines = list(schema_differences(expected, found))
    lines += view_differences(state.views, database_views(executor.backend, dialect.name), dialect.name)
    if executor.progress is not None:
        lines += [
            f"migration {key[0]}.{key[1]} stopped midway: run `rmig migrate` to finish it"
            for key in sorted(executor.progress.read())
        ]
    return tuple(lines)

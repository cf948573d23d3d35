"""Rendering a plan: the state before each migration and its SQL, replayed once per run.

Theory of operation: ``migrate``, ``migrate --plan`` and ``sqlmigrate`` need, for every
step of a plan, the state the database is in before it and the statements that take
it one step further. Re-deriving a whole state per migration is what makes Django's
``migrate`` slow, so states are replayed once along the plan: forwards, the applied
history is replayed once and each migration's ``after`` becomes the next one's
``before``; backwards, the applied history is replayed once, keeping the state before
each migration to undo. Irreversible operations are found here, before anything runs.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

import attrs

from reinhardt_migrations.pure.dialects.base import Dialect, MigrationSQL
from reinhardt_migrations.pure.errors import IrreversibleOperation
from reinhardt_migrations.pure.graph import MigrationGraph, PlanStep
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.state import ProjectState

__all__ = [
    "RenderedStep",
    "check_reversible",
    "history_order",
    "render_plan",
    "replay_applied",
    "states_before",
]


@attrs.frozen
class RenderedStep:
    """A plan step with its migration, the state before it, and its rendered SQL."""

    step: PlanStep
    migration: Migration
    before: ProjectState
    sql: MigrationSQL


def history_order(graph: MigrationGraph, recorded: Set[MigrationKey]) -> tuple[MigrationKey, ...]:
    """Return every migration in the order states are replayed, given what is recorded."""
    return graph.resolved(recorded).nodes


def render_plan(
    graph: MigrationGraph,
    dialect: Dialect,
    plan: Sequence[PlanStep],
    recorded: frozenset[MigrationKey],
    *,
    with_sql: bool = True,
    targets: Sequence[MigrationKey] | None = None,
) -> list[RenderedStep]:
    """Render every step of ``plan`` (``with_sql`` False: states only, for a fake run).

    ``targets`` are those the plan was made for: they decide which squashes it uses.

    Raises:
        IrreversibleOperation: a backwards step meets an operation that cannot be undone.
        UnsupportedOperation: the dialect cannot express an operation.
    """
    resolved = graph.resolved_for(targets, recorded)
    order = resolved.nodes
    applied = set(resolved.applied_nodes(recorded))
    rendered: list[RenderedStep] = []
    state: ProjectState | None = None
    start = 0
    while start < len(plan):
        backwards = plan[start].backwards
        end = start
        while end < len(plan) and plan[end].backwards == backwards:
            end += 1
        run = plan[start:end]
        if not backwards:
            if state is None:
                state = replay_applied(graph, order, applied)
            for step in run:
                migration = graph.migration(step.key)
                sql = (
                    dialect.plan_migration(migration, state)
                    if with_sql
                    else MigrationSQL((), state, migration.apply(state))
                )
                rendered.append(RenderedStep(step, migration, state, sql))
                state = sql.after
                applied.add(step.key)
        else:
            befores = states_before(graph, order, applied, {step.key for step in run})
            for step in run:
                migration = graph.migration(step.key)
                before = befores[step.key]
                if with_sql:
                    check_reversible(migration)
                    sql = dialect.plan_migration(migration, before, backwards=True)
                else:
                    sql = MigrationSQL((), migration.apply(before), before, backwards=True)
                rendered.append(RenderedStep(step, migration, before, sql))
                applied.discard(step.key)
            state = None
        start = end
    return rendered


def replay_applied(
    graph: MigrationGraph, order: Sequence[MigrationKey], applied: Set[MigrationKey]
) -> ProjectState:
    """Return the state the ``applied`` migrations build, replayed in ``order``."""
    state = ProjectState()
    for key in order:
        if key in applied:
            state = graph.migration(key).apply(state)
    return state


def states_before(
    graph: MigrationGraph,
    order: Sequence[MigrationKey],
    applied: Set[MigrationKey],
    wanted: Set[MigrationKey],
) -> dict[MigrationKey, ProjectState]:
    """Return the state before each ``wanted`` migration, replaying the applied history once."""
    befores: dict[MigrationKey, ProjectState] = {}
    state = ProjectState()
    for key in order:
        if len(befores) == len(wanted):
            break
        if key in wanted:
            befores[key] = state
        if key in applied:
            state = graph.migration(key).apply(state)
    return befores


def check_reversible(migration: Migration) -> None:
    """Raise IrreversibleOperation for the first operation of ``migration`` that cannot be undone."""
    for operation in migration.operations:
        if not operation.reversible:
            raise IrreversibleOperation(operation.describe(), f"{migration.app_label}.{migration.name}")

"""Squashing keeps the state: replaying the squash on the state before START equals replaying the range.

Histories come from the project's strategies: a start state, then a valid operation
sequence cut into a chain of migrations of one app, with elidable data steps
(``RunSQL``/``RunCode`` that change no state) sprinkled in. Any range of the chain is
squashed; the squash must build the same state, never hold more operations, replace
exactly the range, and depend on what comes before it.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure import strategies as rs
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import Operation, RunCode, RunSQL
from reinhardt_migrations.pure.squash import plan_squash
from reinhardt_migrations.pure.state import ProjectState

APP = "history"


@st.composite
def histories(draw: st.DrawFn) -> tuple[ProjectState, tuple[Migration, ...]]:
    """Draw a start state and a chain of 2 to 6 migrations whose operations apply in order to it."""
    start = draw(rs.project_states())
    operations: list[Operation] = list(draw(rs.operation_sequences(start, 12)))
    for _ in range(draw(st.integers(0, 3))):
        data_step: Operation = draw(
            st.sampled_from(
                (
                    RunSQL("UPDATE t SET x = 1", elidable=True),
                    RunCode("app.migrations.fill", elidable=True),
                    RunSQL("UPDATE t SET x = 2"),
                )
            )
        )
        operations.insert(draw(st.integers(0, len(operations))), data_step)
    count = draw(st.integers(2, 6))
    cuts = sorted(draw(st.lists(st.integers(0, len(operations)), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, len(operations)]
    chain: list[Migration] = []
    for number in range(count):
        name = f"{number + 1:04d}_step"
        chain.append(
            Migration(
                name,
                APP,
                dependencies=[chain[-1].key] if chain else [],
                operations=operations[bounds[number] : bounds[number + 1]],
                atomic=draw(st.booleans()),
                initial=number == 0,
            )
        )
    return start, tuple(chain)


@given(histories(), st.data())
def test_the_squash_replays_like_the_range(
    history: tuple[ProjectState, tuple[Migration, ...]], data: st.DataObject
) -> None:
    start, chain = history
    first = data.draw(st.integers(0, len(chain) - 2))
    last = data.draw(st.integers(first + 1, len(chain) - 1))
    optimized = data.draw(st.booleans())
    plan = plan_squash(
        MigrationGraph(chain),
        APP,
        chain[first].name if first or data.draw(st.booleans()) else None,
        chain[last].name,
        optimized=optimized,
    )
    squashed = plan.migration
    members = chain[first : last + 1]
    before = replay(chain[:first], start)
    assert squashed.apply(before) == replay(members, before)
    assert plan.operations_out <= plan.operations_in - plan.elided
    assert squashed.replaces == tuple(m.key for m in members)
    assert squashed.dependencies == ((chain[first - 1].key,) if first else ())
    assert squashed.atomic == all(m.atomic for m in members)
    assert squashed.initial == (first == 0)
    # The graph with the squash beside the originals uses it on a fresh database.
    graph = MigrationGraph((*chain, squashed))
    planned = graph.forwards_plan()
    assert squashed.key in planned
    assert not set(planned) & {m.key for m in members}

"""Law 8 for states: replaying the same operations gives the same state, byte for byte.

Replaying a generated sequence twice, or on an equal state built in another order,
gives equal states with identical canonical JSON (bookkeeping names included). Under
two different PYTHONHASHSEEDs, the same derandomized examples give the same bytes:
neither the core nor the strategies let hash order through.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.serialize import state_to_json
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import operation_sequences, project_states


def apply_all(operations: tuple[Operation, ...], state: ProjectState) -> ProjectState:
    for operation in operations:
        state = operation.state_forwards(state)
    return state


@st.composite
def states_and_sequences(draw: st.DrawFn) -> tuple[ProjectState, tuple[Operation, ...]]:
    state = draw(project_states())
    return state, draw(operation_sequences(state, 8))


@given(states_and_sequences())
def test_replaying_twice_gives_identical_states(case: tuple[ProjectState, tuple[Operation, ...]]) -> None:
    start, sequence = case
    first = apply_all(sequence, start)
    second = apply_all(sequence, start)
    assert first == second
    assert hash(first) == hash(second)
    assert state_to_json(first, bookkeeping=True) == state_to_json(second, bookkeeping=True)


@given(states_and_sequences())
def test_replay_does_not_depend_on_how_the_start_was_built(
    case: tuple[ProjectState, tuple[Operation, ...]],
) -> None:
    start, sequence = case
    rebuilt = ProjectState(
        models=list(reversed(list(start))),
        extensions=sorted(start.extensions, reverse=True),
        collations=dict(sorted(start.collations.items(), reverse=True)),
    )
    assert rebuilt == start
    expected = apply_all(sequence, start)
    got = apply_all(sequence, rebuilt)
    assert got == expected
    assert state_to_json(got, bookkeeping=True) == state_to_json(expected, bookkeeping=True)


@given(states_and_sequences(), st.integers(1, 3))
def test_splitting_into_migrations_does_not_change_the_result(
    case: tuple[ProjectState, tuple[Operation, ...]], parts: int
) -> None:
    start, sequence = case
    size = max(1, -(-len(sequence) // parts))
    chunks = [sequence[i : i + size] for i in range(0, len(sequence), size)]
    migrations = [Migration(f"{n:04d}_part", "app", operations=chunk) for n, chunk in enumerate(chunks, 1)]
    replayed = replay(migrations, start)
    assert state_to_json(replayed, bookkeeping=True) == state_to_json(
        apply_all(sequence, start), bookkeeping=True
    )


_SCRIPT = textwrap.dedent(
    """
    import hashlib

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from reinhardt_migrations.pure.migration import replay
    from reinhardt_migrations.pure.serialize import migration_to_json, state_to_json
    from reinhardt_migrations.pure.strategies import migrations, project_states

    digest = hashlib.sha256()
    count = 0


    @settings(
        derandomize=True,
        database=None,
        max_examples=12,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def generate(data):
        global count
        state = data.draw(project_states())
        migration = data.draw(migrations(state))
        digest.update(state_to_json(replay([migration], state), bookkeeping=True).encode())
        digest.update(migration_to_json(migration).encode())
        count += 1


    generate()
    print(count, digest.hexdigest())
    """
)


def test_output_is_the_same_under_two_hash_seeds(tmp_path: Path) -> None:
    script = tmp_path / "generate.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    outputs = []
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=True,
            env={
                "PYTHONHASHSEED": seed,
                "PATH": "/usr/bin:/bin",
                "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path),
            },
            timeout=120,
        )
        outputs.append(result.stdout.strip())
    count = int(outputs[0].split()[0])
    assert count >= 10, outputs
    assert outputs[0] == outputs[1]

"""Benchmark: replay a history keeping every intermediate state; compare with Django in place.

Run with ``python tests/benchmarks/state_replay.py [--sizes small,medium] [--runs 5]``.
For each neutral history (the shared small/medium/large sizes and the issue's two sizes,
generated once by ../shared/bench/gen_history.py, see neutral.py) it prints:

- the median wall time of ``--runs`` replays keeping the state after every operation
  in a list (all of them stay reachable), and of replays keeping only the current state;
- the peak memory (tracemalloc, a separate run) of both, and what the list still holds;
- when Django is importable, the median time of replaying the same migrations through
  one Django ``ProjectState`` mutated in place by ``operation.state_forwards(app, state)``
  (no intermediate state kept, no model rendering), its peak memory, and the ratio.

Nothing is asserted: this is a script, not a test.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from neutral import SIZES, django_history, final_state, history_path, load_history, same_schema

from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["main", "replay_all_states", "replay_django_in_place", "replay_one_state"]

RUNS = 5


def replay_all_states(migrations: list[Migration]) -> list[ProjectState]:
    """Return the empty state followed by the state after every operation, in order."""
    state = ProjectState()
    states = [state]
    for migration in migrations:
        for operation in migration.operations:
            state = operation.state_forwards(state)
            states.append(state)
    return states


def replay_one_state(migrations: list[Migration]) -> ProjectState:
    """Return only the final state (each intermediate one is dropped at once)."""
    state = ProjectState()
    for migration in migrations:
        for operation in migration.operations:
            state = operation.state_forwards(state)
    return state


def replay_django_in_place(migrations: list[Any]) -> Any:
    """Return one Django ProjectState mutated by every operation, as Django's executor does."""
    from django.db.migrations.state import (  # type: ignore[import-untyped,unused-ignore]
        ProjectState as DjangoProjectState,
    )

    state = DjangoProjectState()
    for migration in migrations:
        for operation in migration.operations:
            operation.state_forwards(migration.app_label, state)
    return state


def median_seconds(action: Callable[[], Any], runs: int, prepare: Callable[[], Any] | None = None) -> float:
    """Return the median wall time of ``action`` over ``runs`` runs (``prepare`` runs untimed)."""
    timings: list[float] = []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        gc.collect()
        start = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - start)
        del result
    return statistics.median(timings)


def peak_and_held_mib(action: Callable[[], Any]) -> tuple[float, float]:
    """Return the peak traced memory while ``action`` runs and what its result still holds (MiB)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = action()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak / 2**20, held / 2**20


def bench_size(size: str, runs: int, with_django: bool) -> None:
    """Print the figures of one history size."""
    path = history_path(size)
    start = time.perf_counter()
    migrations, summary = load_history(path)
    load_s = time.perf_counter() - start
    operations = summary["operations"]
    skipped = sum(summary["skipped"].values())
    print(
        f"{size}: {len(migrations)} migrations, {operations} operations "
        f"({skipped} skipped), {len(summary['final_models'])} final models; loaded in {load_s:.3f} s"
    )

    states = replay_all_states(migrations)
    expected = final_state(summary)
    differ = same_schema(states[-1], expected)
    differ_names_only = same_schema(states[-1], expected, ignore_join_tables=True)
    print(
        f"  final state vs final_models: {len(differ)} model(s) differ, "
        f"{len(differ_names_only)} when automatic join-table names are ignored"
    )
    del states, expected

    all_s = median_seconds(lambda: replay_all_states(migrations), runs)
    one_s = median_seconds(lambda: replay_one_state(migrations), runs)
    all_peak, all_held = peak_and_held_mib(lambda: replay_all_states(migrations))
    one_peak, one_held = peak_and_held_mib(lambda: replay_one_state(migrations))
    per_op_us = all_s / max(operations, 1) * 1e6
    print(f"  ours, every intermediate state kept  {all_s:8.3f} s  ({per_op_us:6.1f} us/op)")
    print(f"  ours, one state                      {one_s:8.3f} s")
    print(
        f"  memory, all {operations + 1} states: peak {all_peak:8.1f} MiB, held {all_held:8.1f} MiB; "
        f"one state: peak {one_peak:6.1f} MiB, held {one_held:6.1f} MiB"
    )
    if not with_django:
        return
    holder: dict[str, list[Any]] = {}

    def prepare() -> None:
        # Fresh operation objects for every run: Django's state_forwards may mutate shared fields.
        holder["migrations"] = django_history(path)

    django_s = median_seconds(lambda: replay_django_in_place(holder["migrations"]), runs, prepare)
    prepare()
    django_peak, django_held = peak_and_held_mib(lambda: replay_django_in_place(holder["migrations"]))
    print(f"  django, one state in place           {django_s:8.3f} s")
    print(f"  django memory: peak {django_peak:8.1f} MiB, held {django_held:8.1f} MiB")
    print(
        f"  ratio django in place / ours all states {django_s / all_s:6.2f}x; "
        f"/ ours one state {django_s / one_s:6.2f}x"
    )


def main() -> None:
    """Parse the options and print the figures of each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, from {', '.join(SIZES)}")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--no-django", action="store_true", help="skip the Django comparison")
    options = parser.parse_args()
    with_django = not options.no_django
    if with_django:
        try:
            import django  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
        except ImportError:
            print("django is not installed: no comparison")
            with_django = False
    print(f"state replay; median of {options.runs} runs; memory from one tracemalloc run")
    for size in options.sizes.split(","):
        bench_size(size.strip(), options.runs, with_django)


if __name__ == "__main__":
    main()

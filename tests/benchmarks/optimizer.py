"""Benchmark: optimize 5,000 operations over 500 models; compare with Django's optimizer.

Run with ``python tests/benchmarks/optimizer.py`` (``--help`` for other sizes). Four
workloads; the first three are built deterministically from one script of abstract
steps, so both optimizers get exactly the same work:

- squash: 500 CreateModel, then field and index operations interleaved across the
  models (add, alter, rename, remove; add, rename, remove index; some foreign keys);
- existing: the same changes on models that already exist (no CreateModel in the list),
  as the autodetector's output or a squash of later migrations looks;
- no indexes: a smaller squash without index operations. Any index operation between two
  operations stops Django's optimizer from merging them, so on the first two workloads
  it merges almost nothing; here it merges as much as ours, and its time grows about
  cubically (an hour at 5,000 operations), hence the smaller default size;
- history: the shared benchmark history (``neutral.py``; ``--history small|medium|large``),
  each app's operations squashed in one list, as ``squashmigrations`` does. Law 6 is
  checked on the whole history as one list (an app alone may not replay without the others).

Prints the median wall-clock and CPU time of ``RUNS`` runs (Django: as many as fit in
``DJANGO_BUDGET_SECONDS``, at least one, since one run takes minutes at this size), the
ratios, and the lengths; CPU time is the steadier figure on a busy machine. It also
replays our result to check law 6 on each workload. At the default sizes Django's side
takes about 10 minutes, ours about a second. Nothing is asserted about time: this is a
script, not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.operations import (
    AddField,
    AddIndex,
    AlterField,
    CreateModel,
    Operation,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
)
from reinhardt_migrations.pure.optimizer import optimize
from reinhardt_migrations.pure.state import ProjectState

APP = "bench"
MODELS = 500
OPERATIONS = 5_000
RUNS = 5
NO_INDEX_MODELS = 100
NO_INDEX_OPERATIONS = 1_000
#: Django is run again only while its runs so far took less than this in total.
DJANGO_BUDGET_SECONDS = 30.0
SEED = 20_240_611

#: kind -> (our column type, Django field class name)
KINDS = {"int": "integer", "big": "bigint", "text": "text", "char": "varchar(40)"}

Step = tuple[Any, ...]


def build_steps(models: int = MODELS, total: int = OPERATIONS) -> list[Step]:
    """Return a valid script: creates, then changes interleaved across models, in a neutral form."""
    rng = random.Random(SEED)
    names = [f"M{number:03d}" for number in range(models)]
    fields: dict[str, dict[str, str]] = {}
    indexes: dict[str, dict[str, str]] = {}
    steps: list[Step] = []
    counter = 0
    for name in names:
        fields[name] = {"a": "int", "b": "char"}
        indexes[name] = {}
        steps.append(("create", name, dict(fields[name])))
    while len(steps) < total:
        model = rng.choice(names)
        own, own_indexes = fields[model], indexes[model]
        indexed = set(own_indexes.values())
        roll = rng.random()
        counter += 1
        if roll < 0.30 or not own:
            field = f"f{counter}"
            if rng.random() < 0.1:
                target = rng.choice(names)
                own[field] = f"fk:{target}"
            else:
                own[field] = rng.choice(sorted(KINDS))
            steps.append(("add", model, field, own[field]))
            continue
        field = rng.choice(sorted(own))
        if roll < 0.50 and not own[field].startswith("fk:"):
            own[field] = rng.choice(sorted(KINDS))
            steps.append(("alter", model, field, own[field]))
        elif roll < 0.62 and field not in indexed:
            new = f"r{counter}"
            own[new] = own.pop(field)
            steps.append(("rename", model, field, new))
        elif roll < 0.74 and field not in indexed:
            del own[field]
            steps.append(("remove", model, field))
        elif roll < 0.86:
            index = f"{model.lower()}_i{counter}"
            own_indexes[index] = field
            steps.append(("add_index", model, index, field))
        elif own_indexes:
            index = rng.choice(sorted(own_indexes))
            if rng.random() < 0.5:
                del own_indexes[index]
                steps.append(("remove_index", model, index))
            else:
                new = f"{model.lower()}_j{counter}"
                own_indexes[new] = own_indexes.pop(index)
                steps.append(("rename_index", model, index, new))
        else:
            counter -= 1
    return steps


def our_field(name: str, kind: str) -> FieldState:
    """Return our field for an abstract one."""
    if kind.startswith("fk:"):
        return FieldState(name, "integer", null=True, relation=Relation("foreign_key", (APP, kind[3:])))
    return FieldState(name, KINDS[kind], null=True)


def our_operations(steps: list[Step]) -> list[Operation]:
    """Return our operations for a script."""
    result: list[Operation] = []
    for step in steps:
        kind, model = step[0], step[1]
        if kind == "create":
            defined = [FieldState("id", "auto", primary_key=True)]
            defined += [our_field(name, value) for name, value in step[2].items()]
            result.append(CreateModel(APP, model, defined))
        elif kind == "add":
            result.append(AddField(APP, model, our_field(step[2], step[3])))
        elif kind == "alter":
            result.append(AlterField(APP, model, step[2], our_field(step[2], step[3])))
        elif kind == "rename":
            result.append(RenameField(APP, model, step[2], step[3]))
        elif kind == "remove":
            result.append(RemoveField(APP, model, step[2]))
        elif kind == "add_index":
            result.append(AddIndex(APP, model, IndexState(step[2], [step[3]])))
        elif kind == "remove_index":
            result.append(RemoveIndex(APP, model, step[2]))
        else:
            result.append(RenameIndex(APP, model, step[2], step[3]))
    return result


def django_operations(steps: list[Step]) -> list[Any]:
    """Return Django's operations for a script (Django must be set up)."""
    from django.db import migrations, models

    def field(kind: str) -> Any:
        if kind.startswith("fk:"):
            return models.ForeignKey(f"{APP}.{kind[3:]}", models.CASCADE, null=True)
        if kind == "int":
            return models.IntegerField(null=True)
        if kind == "big":
            return models.BigIntegerField(null=True)
        if kind == "text":
            return models.TextField(null=True)
        return models.CharField(max_length=40, null=True)

    result: list[Any] = []
    for step in steps:
        kind, model = step[0], step[1]
        if kind == "create":
            defined = [("id", models.AutoField(primary_key=True))]
            defined += [(name, field(value)) for name, value in step[2].items()]
            result.append(migrations.CreateModel(model, defined))
        elif kind == "add":
            result.append(migrations.AddField(model, step[2], field(step[3])))
        elif kind == "alter":
            result.append(migrations.AlterField(model, step[2], field(step[3])))
        elif kind == "rename":
            result.append(migrations.RenameField(model, step[2], step[3]))
        elif kind == "remove":
            result.append(migrations.RemoveField(model, step[2]))
        elif kind == "add_index":
            result.append(migrations.AddIndex(model, models.Index(fields=[step[3]], name=step[2])))
        elif kind == "remove_index":
            result.append(migrations.RemoveIndex(model, step[2]))
        else:
            result.append(migrations.RenameIndex(model, new_name=step[3], old_name=step[2]))
    return result


@attrs.frozen
class Timing:
    """Medians of several runs: wall-clock and CPU seconds, and the last result."""

    wall: float
    cpu: float
    runs: int
    result: Any


def timed(prepare: Callable[[], Any], action: Callable[[Any], Any], *, budget: float | None = None) -> Timing:
    """Run ``action(prepare())`` ``RUNS`` times (prepare is not timed); return the medians.

    With a budget, stop repeating once the runs so far took that many seconds (at least one run).
    """
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    while len(walls) < RUNS and (budget is None or sum(walls) < budget):
        argument = prepare()
        wall, cpu = time.perf_counter(), time.process_time()
        result = action(argument)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Timing(statistics.median(walls), statistics.median(cpus), len(walls), result)


def report(name: str, timing: Timing, length: int) -> None:
    """Print one optimizer's figures."""
    print(
        f"  {name:<26}{timing.wall * 1000:10.1f} ms wall {timing.cpu * 1000:10.1f} ms cpu"
        f"  -> {length} operations  (median of {timing.runs})",
        flush=True,
    )


def report_ratio(ours: Timing, django: Timing) -> None:
    """Print how many times faster ours is, by wall-clock and by CPU time."""
    print(
        f"  ratio django / ours       {django.wall / ours.wall:10.1f}x wall {django.cpu / ours.cpu:7.1f}x cpu"
    )


def replay(operations: Any, state: ProjectState) -> ProjectState:
    """Return the state after the operations."""
    for operation in operations:
        state = operation.state_forwards(state)
    return state


def setup_django() -> bool:
    """Configure Django for its optimizer; tell whether it is installed."""
    try:
        import django
        from django.conf import settings
    except ImportError:
        return False
    if not settings.configured:
        settings.configure()
        django.setup()
    return True


def compare(title: str, steps: list[Step], start: ProjectState, has_django: bool) -> None:
    """Time both optimizers on one workload and print the figures."""
    ours = our_operations(steps)
    timing = timed(lambda: ours, optimize)
    same = replay(timing.result, start) == replay(ours, start)
    print(f"{title}: {len(ours)} operations", flush=True)
    report("reinhardt optimize", timing, len(timing.result))
    print(f"  law 6 on this workload    {'holds' if same else 'BROKEN'}", flush=True)
    if not has_django:
        print("  django is not installed: no comparison", flush=True)
        return
    from django.db.migrations.optimizer import MigrationOptimizer

    # Fresh operation lists for every run, built off the clock; Django is repeated only
    # while quick, since one run takes minutes at the default size.
    django = timed(
        lambda: django_operations(steps),
        lambda operations: MigrationOptimizer().optimize(operations, APP),
        budget=DJANGO_BUDGET_SECONDS,
    )
    report("django MigrationOptimizer", django, len(django.result))
    report_ratio(timing, django)


def compare_history(size: str, has_django: bool) -> None:
    """Time both optimizers squashing each app of a shared neutral history, and print the figures."""
    import neutral

    path = neutral.history_path(size)
    migrations, _summary = neutral.load_history(path)
    apps = sorted({migration.app_label for migration in migrations})
    per_app = [[op for m in migrations if m.app_label == app for op in m.operations] for app in apps]
    timing = timed(lambda: per_app, lambda lists: [optimize(operations) for operations in lists])
    whole = [op for migration in migrations for op in migration.operations]
    same = replay(optimize(whole), ProjectState()) == replay(whole, ProjectState())
    total = sum(map(len, per_app))
    print(f"history {size} ({len(apps)} apps, {len(migrations)} migrations): {total} operations", flush=True)
    report("reinhardt optimize", timing, sum(map(len, timing.result)))
    print(f"  law 6 on the whole history {'holds' if same else 'BROKEN'}", flush=True)
    if not has_django:
        return
    from django.db.migrations.optimizer import MigrationOptimizer

    def django_lists() -> list[tuple[str, list[Any]]]:
        history = neutral.django_history(path)
        return [(app, [op for m in history if m.app_label == app for op in m.operations]) for app in apps]

    django = timed(
        django_lists,
        lambda lists: [MigrationOptimizer().optimize(operations, app) for app, operations in lists],
        budget=DJANGO_BUDGET_SECONDS,
    )
    report("django MigrationOptimizer", django, sum(map(len, django.result)))
    report_ratio(timing, django)


def main() -> None:
    """Print the figures for both workloads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=MODELS)
    parser.add_argument("--operations", type=int, default=OPERATIONS)
    parser.add_argument("--no-index-models", type=int, default=NO_INDEX_MODELS)
    parser.add_argument("--no-index-operations", type=int, default=NO_INDEX_OPERATIONS)
    parser.add_argument("--history", default="medium", help="shared history size, or 'none'")
    arguments = parser.parse_args()
    has_django = setup_django()
    steps = build_steps(arguments.models, arguments.operations)
    compare("squash (creates, then changes)", steps, ProjectState(), has_django)
    creates = [step for step in steps if step[0] == "create"]
    start = replay(our_operations(creates), ProjectState())
    changes = [step for step in steps if step[0] != "create"]
    compare("existing models (changes only)", changes, start, has_django)
    sized = build_steps(arguments.no_index_models, arguments.no_index_operations)
    without_indexes = [step for step in sized if "index" not in step[0]]
    compare("no indexes (squash without index operations)", without_indexes, ProjectState(), has_django)
    if arguments.history != "none":
        compare_history(arguments.history, has_django)


if __name__ == "__main__":
    main()

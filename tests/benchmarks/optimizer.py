"""Benchmark: optimize 5,000 operations over 500 models; compare with Django's optimizer.

Run with ``python tests/benchmarks/optimizer.py``. Two workloads, built deterministically
from one script of abstract steps, so both optimizers get exactly the same work:

- squash: 500 CreateModel, then field and index operations interleaved across the
  models (add, alter, rename, remove; add, rename, remove index; some foreign keys);
- existing: the same changes on models that already exist (no CreateModel in the list),
  as the autodetector's output or a squash of later migrations looks.

Prints the median of ``RUNS`` runs for each optimizer, the ratio, and the lengths. It
also replays our result to check law 6 on the workload. Nothing is asserted about
time: this is a script, not a test.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

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


def median_seconds(action: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """Return the median wall time of ``action`` in seconds, and its last result."""
    timings: list[float] = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), result


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
    seconds, optimized = median_seconds(lambda: optimize(ours))
    same = replay(optimized, start) == replay(ours, start)
    print(f"{title}: {len(ours)} operations; median of {RUNS}")
    print(f"  reinhardt optimize        {seconds * 1000:9.1f} ms  -> {len(optimized)} operations")
    print(f"  law 6 on this workload    {'holds' if same else 'BROKEN'}")
    if not has_django:
        print("  django is not installed: no comparison")
        return
    from django.db.migrations.optimizer import MigrationOptimizer

    # Fresh operation lists for every run, built before the clock starts.
    inputs = [django_operations(steps) for _ in range(RUNS)]
    django_seconds, django_result = median_seconds(lambda: MigrationOptimizer().optimize(inputs.pop(), APP))
    print(f"  django MigrationOptimizer {django_seconds * 1000:9.1f} ms  -> {len(django_result)} operations")
    print(f"  ratio django / ours       {django_seconds / seconds:9.1f}x")


def main() -> None:
    """Print the figures for both workloads."""
    has_django = setup_django()
    steps = build_steps()
    compare("squash (creates, then changes)", steps, ProjectState(), has_django)
    creates = [step for step in steps if step[0] == "create"]
    start = replay(our_operations(creates), ProjectState())
    changes = [step for step in steps if step[0] != "create"]
    compare("existing models (changes only)", changes, start, has_django)


if __name__ == "__main__":
    main()

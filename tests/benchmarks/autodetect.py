"""Benchmark: autodetect on large states; compare with Django's MigrationAutodetector.

Run with ``python tests/benchmarks/autodetect.py``. Prints the median of several runs
for each case, and, when Django is installed, the same work through Django's
autodetector in this process and the ratio. Nothing is asserted: this is a script.

Times are CPU time of this process (``time.process_time``): the work is single-threaded
and CPU-bound, and CPU time stays meaningful on a shared machine where wall time does
not. Before each run, garbage is collected and the objects alive (the inputs) are
frozen out of the collector, for Django's runs as for ours, so a run pays for the
garbage it makes, not for scanning the other cases' inputs.

Cases:

- no change, 2,000 models x 15 fields, the two states built apart (every model is
  compared by value) and the same state twice (identity);
- one changed field among the 2,000 models;
- 500 models all renamed (definitions unique, so each rename is unambiguous), with
  and without ``previous_name`` hints;
- a full autodetect of 1,000 models from nothing (a new project's first migrations).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import attrs

from reinhardt_migrations.pure.autodetector import AcceptUnambiguousRenames, NeverRename, autodetect
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.types import (
    Boolean,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Integer,
    Text,
    Varchar,
)

RUNS = 5
SEED = 20_240_611
APPS = 20

# (our type, Django field class name, Django keyword arguments)
_TYPES: tuple[tuple[ColumnType, str, dict[str, Any]], ...] = (
    (Integer(), "IntegerField", {}),
    (Varchar(100), "CharField", {"max_length": 100}),
    (Varchar(255), "CharField", {"max_length": 255}),
    (Text(), "TextField", {}),
    (Decimal(10, 2), "DecimalField", {"max_digits": 10, "decimal_places": 2}),
    (Boolean(), "BooleanField", {}),
    (Date(), "DateField", {}),
    (DateTime(), "DateTimeField", {}),
)


@attrs.frozen
class FieldSpec:
    """One field of a generated model, neutral between us and Django."""

    name: str
    type_index: int
    null: bool
    target: tuple[str, str] | None = None


@attrs.frozen
class ModelSpec:
    """One generated model."""

    app: str
    name: str
    fields: tuple[FieldSpec, ...]
    previous_name: str | None = None


def model_specs(count: int, fields: int, *, unique_fields: bool = False) -> list[ModelSpec]:
    """Return ``count`` deterministic models of ``fields`` fields (one a foreign key to an earlier model)."""
    rng = random.Random(SEED)
    specs: list[ModelSpec] = []
    for number in range(count):
        app = f"app{number % APPS:02d}"
        name = f"Model{number:05d}"
        columns = []
        for position in range(fields - 2):
            field_name = f"m{number}_f{position}" if unique_fields else f"field_{position:02d}"
            columns.append(FieldSpec(field_name, rng.randrange(len(_TYPES)), rng.random() < 0.3))
        if number:
            parent = specs[rng.randrange(number)]
            columns.append(FieldSpec("parent", 0, True, (parent.app, parent.name)))
        specs.append(ModelSpec(app, name, tuple(columns)))
    return specs


def renamed_specs(specs: list[ModelSpec], *, hinted: bool) -> list[ModelSpec]:
    """Return the specs with every model renamed (and relations following)."""
    new_names = {(s.app, s.name): (s.app, "Renamed" + s.name[5:]) for s in specs}
    return [
        ModelSpec(
            spec.app,
            new_names[(spec.app, spec.name)][1],
            tuple(attrs.evolve(f, target=new_names[f.target]) if f.target else f for f in spec.fields),
            previous_name=spec.name if hinted else None,
        )
        for spec in specs
    ]


def our_state(specs: list[ModelSpec]) -> ProjectState:
    """Return our ProjectState for the specs (new objects on every call)."""
    models = []
    for spec in specs:
        fields = [FieldState("id", "bigauto", primary_key=True)]
        for field in spec.fields:
            if field.target is not None:
                relation = Relation("foreign_key", field.target)
                fields.append(FieldState(field.name, "bigint", null=field.null, relation=relation))
            else:
                fields.append(FieldState(field.name, _TYPES[field.type_index][0], null=field.null))
        models.append(ModelState(spec.app, spec.name, fields, previous_name=spec.previous_name))
    return ProjectState.from_models(models)


def median_ms(action: Callable[..., Any], runs: int = RUNS, setup: Callable[[], Any] | None = None) -> float:
    """Return the median CPU time of ``action(setup())`` (or ``action()``) in milliseconds."""
    timings: list[float] = []
    for _ in range(runs):
        argument = setup() if setup is not None else None
        gc.collect()
        gc.freeze()
        start = time.process_time()
        action(argument) if setup is not None else action()
        timings.append((time.process_time() - start) * 1000)
        gc.unfreeze()
    return statistics.median(timings)


def _django() -> Any | None:
    try:
        import django  # type: ignore[import-untyped]
        from django.conf import settings  # type: ignore[import-untyped]
    except ImportError:
        return None
    if not settings.configured:
        settings.configure(INSTALLED_APPS=[], DATABASES={}, USE_TZ=True)
        django.setup()
    return django


def django_state(specs: list[ModelSpec]) -> Any:
    """Return Django's ProjectState for the specs."""
    from django.db import models  # type: ignore[import-untyped]
    from django.db.migrations.state import ModelState as DjangoModelState  # type: ignore[import-untyped]
    from django.db.migrations.state import ProjectState as DjangoProjectState

    state = DjangoProjectState()
    for spec in specs:
        fields: list[tuple[str, Any]] = [("id", models.BigAutoField(primary_key=True))]
        for field in spec.fields:
            if field.target is not None:
                target = f"{field.target[0]}.{field.target[1]}"
                fields.append((field.name, models.ForeignKey(target, models.CASCADE, null=field.null)))
            else:
                _type, class_name, options = _TYPES[field.type_index]
                fields.append((field.name, getattr(models, class_name)(null=field.null, **options)))
        state.add_model(DjangoModelState(spec.app, spec.name, fields, options={}))
    return state


def django_pair(before: list[ModelSpec], after: list[ModelSpec]) -> tuple[Any, Any]:
    """Return fresh Django states for both sides (Django caches rendered models on a state)."""
    return django_state(before), django_state(after)


def django_detect(pair: tuple[Any, Any]) -> Any:
    """Run Django's autodetector as makemigrations does (renames answered yes)."""
    from django.db.migrations.autodetector import MigrationAutodetector  # type: ignore[import-untyped]
    from django.db.migrations.graph import MigrationGraph  # type: ignore[import-untyped]
    from django.db.migrations.questioner import MigrationQuestioner  # type: ignore[import-untyped]

    questioner = MigrationQuestioner(defaults={"ask_rename_model": True, "ask_rename": True})
    return MigrationAutodetector(pair[0], pair[1], questioner).changes(graph=MigrationGraph())


def _count(result: Any) -> int:
    return sum(len(m.operations) for m in result.migrations)


def main() -> None:
    """Print the medians for each case, ours and Django's."""
    big = model_specs(2_000, 15)
    old, new = our_state(big), our_state(big)
    changed_model = new.model(big[777].app, big[777].name)
    changed = new.with_model(changed_model.with_field_replaced(FieldState("field_03", Text(), null=True)))
    renaming = model_specs(500, 15, unique_fields=True)
    before_renames = our_state(renaming)
    hinted, unhinted = (
        our_state(renamed_specs(renaming, hinted=True)),
        our_state(renamed_specs(renaming, hinted=False)),
    )
    initial = model_specs(1_000, 15)
    initial_state = our_state(initial)
    never, accept = NeverRename(), AcceptUnambiguousRenames()

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("no change, 2,000 x 15, built apart", lambda: autodetect(old, new, never)),
        ("no change, 2,000 x 15, same state", lambda: autodetect(old, old, never)),
        ("one changed field of 2,000 models", lambda: autodetect(new, changed, never)),
        ("500 renamed models, unhinted", lambda: autodetect(before_renames, unhinted, accept)),
        ("500 renamed models, hinted", lambda: autodetect(before_renames, hinted, never)),
        ("initial, 1,000 models from nothing", lambda: autodetect(ProjectState(), initial_state, never)),
    ]
    print(f"reinhardt-migrations autodetect; median of {RUNS} runs")
    ours: dict[str, float] = {}
    for label, action in cases:
        result = action()
        ours[label] = median_ms(action)
        print(f"  {label:<40} {ours[label]:9.2f} ms  ({_count(result)} operations)")

    if _django() is None:
        print("django is not installed: no comparison")
        return
    import django

    django_cases: list[tuple[str, list[ModelSpec], list[ModelSpec]]] = [
        ("no change, 2,000 x 15, built apart", big, big),
        ("one changed field of 2,000 models", big, [*big[:777], _text_field(big[777]), *big[778:]]),
        ("500 renamed models, unhinted", renaming, renamed_specs(renaming, hinted=False)),
        ("initial, 1,000 models from nothing", [], initial),
    ]
    print(f"django {django.get_version()} MigrationAutodetector.changes(), same work; median of 3 runs")
    for label, before, after in django_cases:
        timing = median_ms(django_detect, runs=3, setup=partial(django_pair, before, after))
        print(f"  {label:<40} {timing:9.2f} ms   ratio django / ours {timing / ours[label]:8.1f}x")


def _text_field(spec: ModelSpec) -> ModelSpec:
    fields = tuple(
        attrs.evolve(f, type_index=3, null=True) if f.name == "field_03" else f for f in spec.fields
    )
    return attrs.evolve(spec, fields=fields)


if __name__ == "__main__":
    main()

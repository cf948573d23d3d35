"""Comparators for whole models: create, delete, rename, table, options; and one model's parts.

Theory of operation: models that point at each other in a cycle cannot all be created
with their relations. Two kinds of cycle are broken:

- apps whose new models point at each other (a strongly connected component of the
  "has a new model relating to" graph between apps): a relation to a model of an app
  of the cycle sorting later waits, so every app's new models fit in one migration and
  the relations between them in a second (``arrange`` cuts apps of a cycle in label
  order, and puts back into CreateModel what turned out not to need waiting);
- models of one app that point at each other: they are created one by one, a ready
  one first, and a relation to a member not yet created waits.

A waiting relation becomes an AddField after every CreateModel, *and so does every
field after it*, so the created model lists its fields in the wanted order; indexes,
constraints and unique_together entries over waiting fields follow them. Deleted
models that point at each other in a cycle first lose those relations (and whatever
uses them), then go.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import TypeVar

import attrs

from reinhardt_migrations.pure.autodetector.arrange import cycles
from reinhardt_migrations.pure.autodetector.compare_fields import (
    add_field_step,
    compare_fields,
    remove_field_step,
    replaced_fields,
)
from reinhardt_migrations.pure.autodetector.compare_indexes import (
    add_constraint_step,
    add_index_step,
    compare_constraints,
    compare_indexes,
    compare_unique_together,
    unique_together_step,
)
from reinhardt_migrations.pure.autodetector.context import Diff, DiffContext
from reinhardt_migrations.pure.autodetector.steps import (
    Resource,
    Step,
    chained,
    free_object_res,
    free_table_res,
    model_res,
    relation_needs,
    relation_releases,
    unref_res,
    unused_res,
)
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState, ModelKey
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    CreateModel,
    DeleteModel,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
)
from reinhardt_migrations.pure.state import ModelState

__all__ = [
    "compare_model",
    "compare_options",
    "create_model_steps",
    "deferred_fields",
    "delete_model_steps",
    "rename_model_step",
]

_T = TypeVar("_T")


def _claim(table: str, key: ModelKey, tables: Mapping[str, ModelKey]) -> list[Resource]:
    """Return the need for ``table`` to be free if another model holds it before the change."""
    holder = tables.get(table)
    return [free_table_res(table)] if holder is not None and holder != key else []


def rename_model_step(old: ModelState, renamed: ModelState, tables: Mapping[str, ModelKey]) -> Step:
    """Return the RenameModel step from ``old`` to ``renamed`` (the model after the rename).

    ``tables`` maps the table names held before the change to their models.
    """
    needs: list[Resource] = []
    provides = [model_res(renamed.key)]
    if old.db_table != renamed.db_table:
        needs += _claim(renamed.db_table, old.key, tables)
        provides.append(free_table_res(old.db_table))
    operation = RenameModel(old.app_label, old.name, renamed.name)
    return Step(old.app_label, operation, needs=needs, provides=provides)


def _targets(field: FieldState) -> tuple[ModelKey, ...]:
    relation = field.relation
    if relation is None:
        return ()
    return (relation.to,) if relation.through is None else (relation.to, relation.through)


def _relations(
    models: Mapping[ModelKey, ModelState],
) -> dict[ModelKey, list[tuple[str, tuple[ModelKey, ...]]]]:
    """Return, per model, its relational fields that point at other models of ``models``."""
    found: dict[ModelKey, list[tuple[str, tuple[ModelKey, ...]]]] = {}
    for key, model in models.items():
        pointing: list[tuple[str, tuple[ModelKey, ...]]] = []
        for field in model.fields:
            relation = field.relation
            if relation is None:
                continue
            if relation.through is None:
                # ``_targets`` inlined for the usual one target: this runs for every field created.
                if relation.to in models and relation.to != key:
                    pointing.append((field.name, (relation.to,)))
            else:
                targets = tuple(t for t in (relation.to, relation.through) if t in models and t != key)
                if targets:
                    pointing.append((field.name, targets))
        found[key] = pointing
    return found


def _graph(
    relations: Mapping[ModelKey, list[tuple[str, tuple[ModelKey, ...]]]],
) -> dict[ModelKey, list[ModelKey]]:
    """Return, per model, the other models its relations point at."""
    graph: dict[ModelKey, list[ModelKey]] = {}
    for key, pointing in relations.items():
        if len(pointing) == 1 and len(pointing[0][1]) == 1:
            graph[key] = [pointing[0][1][0]]
        else:
            graph[key] = sorted({t for _name, targets in pointing for t in targets})
    return graph


def _split_tail(items: Sequence[_T], is_deferred: Callable[[_T], bool]) -> tuple[Sequence[_T], Sequence[_T]]:
    """Split ``items`` before the first deferred one: everything from there on waits."""
    if not items:
        return items, items
    for position, item in enumerate(items):
        if is_deferred(item):
            return list(items[:position]), list(items[position:])
    return list(items), []


def _cyclic_apps(relations: Mapping[ModelKey, list[tuple[str, tuple[ModelKey, ...]]]]) -> dict[str, int]:
    """Return, for each app in a cycle of apps (through created models), the number of its cycle."""
    pointed: dict[str, set[str]] = {}
    for (app, _model), pointing in relations.items():
        other_apps = pointed.setdefault(app, set())
        for _name, targets in pointing:
            for target in targets:
                if target[0] != app:
                    other_apps.add(target[0])
    # Keyed like the models graphs that ``cycles`` takes (the components come out sorted).
    graph = {("", app): {("", other) for other in others} for app, others in pointed.items()}
    return {app: number for number, component in enumerate(cycles(graph)) for _blank, app in component}


def _creation_order(
    component: Iterable[ModelKey], graph: Mapping[ModelKey, Sequence[ModelKey]]
) -> Iterator[tuple[ModelKey, Set[ModelKey]]]:
    """Yield the models of a cycle in creation order, each with those not yet created.

    Each time, the model that waits for the fewest others of the cycle comes next (ties
    by key). The counts are kept up to date as models are made, with a heap whose stale
    entries are skipped, so a cycle of n models costs O(n log n), not O(n^2).
    """
    members = set(component)
    waiting = {key: sum(1 for t in graph[key] if t in members) for key in members}
    waited_by: dict[ModelKey, list[ModelKey]] = {}
    for key in members:
        for target in graph[key]:
            if target in members:
                waited_by.setdefault(target, []).append(key)
    heap = [(count, key) for key, count in waiting.items()]
    heapq.heapify(heap)
    unmade = set(members)
    while heap:
        count, pick = heapq.heappop(heap)
        if pick not in unmade or count != waiting[pick]:
            continue
        yield pick, unmade
        unmade.discard(pick)
        for key in waited_by.get(pick, ()):
            if key in unmade:
                waiting[key] -= 1
                heapq.heappush(heap, (waiting[key], key))


def deferred_fields(created: Mapping[ModelKey, ModelState]) -> dict[ModelKey, frozenset[str]]:
    """Return, per created model, the fields added after the models are created (see the module doc).

    Two kinds of cycle defer relations: apps whose new models point at each other (a
    relation to a model of an app of the cycle that sorts later waits, so each app's
    models can be created in one migration), then models of one app that do.
    """
    relations = _relations(created)
    app_cycle = _cyclic_apps(relations)
    waits: dict[ModelKey, set[str]] = {}
    kept: dict[ModelKey, list[tuple[str, tuple[ModelKey, ...]]]] = {}
    for key, pointing in relations.items():
        cycle = app_cycle.get(key[0])
        if cycle is None or not pointing:
            kept[key] = pointing
            continue
        staying = []
        app = key[0]
        for name, targets in pointing:
            # Apps of a cycle are cut in label order, so a relation to an app sorting after
            # this one waits; one to an app before it is met when this app's models come.
            if len(targets) == 1:
                target_app = targets[0][0]
                waiting = target_app > app and app_cycle.get(target_app) == cycle
            else:
                waiting = any(t[0] > app and app_cycle.get(t[0]) == cycle for t in targets)
            if waiting:
                waits.setdefault(key, set()).add(name)
            else:
                staying.append((name, targets))
        kept[key] = staying
    graph = _graph(kept)
    for component in cycles(graph):
        for pick, later in _creation_order(component, graph):
            for name, targets in kept[pick]:
                if any(t in later and t != pick for t in targets):
                    waits.setdefault(pick, set()).add(name)
    deferred: dict[ModelKey, frozenset[str]] = {}
    for key, names in waits.items():
        fields = created[key].fields
        first = 0
        while fields[first].name not in names:
            first += 1
        deferred[key] = frozenset([field.name for field in fields[first:]])
    return deferred


def create_model_steps(
    model: ModelState,
    deferred: frozenset[str] = frozenset(),
    tables: Mapping[str, ModelKey] | None = None,
) -> tuple[Step, list[Step]]:
    """Return CreateModel for ``model`` without ``deferred`` fields, and the steps adding them later.

    ``tables`` maps the table names held before the change to their models.
    """
    key, app = model.key, model.app_label
    needs = _claim(model.db_table, key, tables) if tables else []
    fields = model.fields
    cut = len(fields)
    if deferred:
        for position, field in enumerate(fields):
            if field.name in deferred:
                cut = position
                break
    for field in fields[:cut] if cut < len(fields) else fields:
        if field.relation is not None:
            needs += relation_needs(field, key)
    provides = frozenset([model_res(key)])
    if cut == len(fields):
        return Step(app, CreateModel.from_model(model), needs=frozenset(needs), provides=provides), []
    late_fields = fields[cut:]
    late_names = {f.name for f in late_fields}
    # Most models have no indexes or constraints: nothing to split then.
    indexes: Sequence[IndexState] = model.indexes
    late_indexes: Sequence[IndexState] = ()
    if indexes:
        indexes, late_indexes = _split_tail(indexes, lambda i: bool(late_names & set(i.field_names)))
    constraints: Sequence[ConstraintState] = model.constraints
    late_constraints: Sequence[ConstraintState] = ()
    if constraints:
        constraints, late_constraints = _split_tail(constraints, lambda c: bool(late_names & set(c.fields)))
    together = model.unique_together
    if together:
        together = tuple(e for e in together if not late_names & set(e.fields))
    # The trimmed operation from the model's parts: a trimmed ModelState would be validated again.
    operation = CreateModel.from_model_part(model, fields[:cut], tuple(indexes), tuple(constraints), together)
    create = Step(app, operation, needs=frozenset(needs), provides=provides)
    additions = [add_field_step(model, field, None)[0] for field in late_fields]
    steps = chained([step for step in additions if step is not None], ("field", *key))
    if late_indexes:
        steps += chained([add_index_step(model, index) for index in late_indexes], ("index", *key))
    if late_constraints:
        steps += chained([add_constraint_step(model, c) for c in late_constraints], ("constraint", *key))
    if len(together) != len(model.unique_together):
        steps.append(unique_together_step(model, [e.fields for e in together]))
    return create, steps


def _release_users(model: ModelState, names: set[str]) -> tuple[list[Step], ModelState]:
    """Return steps removing the indexes, constraints and unique_together entries that use
    fields ``names``, and the model without them."""
    key, app = model.key, model.app_label
    steps: list[Step] = []
    indexes, constraints = [], []
    for index in model.indexes:
        if names & set(index.field_names):
            provides = [free_object_res(key, index.name)] + [unused_res(key, f) for f in index.field_names]
            steps.append(Step(app, RemoveIndex(app, model.name, index.name), provides=provides))
        else:
            indexes.append(index)
    for constraint in model.constraints:
        if names & set(constraint.fields):
            provides = [free_object_res(key, constraint.name)]
            provides += [unused_res(key, f) for f in constraint.fields]
            steps.append(Step(app, RemoveConstraint(app, model.name, constraint.name), provides=provides))
        else:
            constraints.append(constraint)
    kept = [entry.fields for entry in model.unique_together if not names & set(entry.fields)]
    released = model
    if len(kept) != len(model.unique_together):
        released = model.with_unique_together(kept)
        previous = [entry.fields for entry in model.unique_together]
        steps.append(unique_together_step(released, previous))
    if len(indexes) != len(model.indexes) or len(constraints) != len(model.constraints):
        released = attrs.evolve(released, indexes=indexes, constraints=constraints)
    return steps, released


def _detach(model: ModelState, names: set[str]) -> list[Step]:
    """Return steps removing fields ``names`` of a model about to be deleted, users first."""
    steps, _released = _release_users(model, names)
    steps += [remove_field_step(model, field) for field in model.fields if field.name in names]
    return steps


def delete_model_steps(deleted: Mapping[ModelKey, ModelState]) -> list[Step]:
    """Return DeleteModel steps (after relations to them go); cycles lose their relations first."""
    graph = _graph(_relations(deleted))
    detached: dict[ModelKey, set[str]] = {}
    for component in cycles(graph):
        members = set(component)
        for key in sorted(members):
            model = deleted[key]
            names = {f.name for f in model.fields if any(t in members and t != key for t in _targets(f))}
            if names:
                detached[key] = names
    steps: list[Step] = []
    for key in sorted(deleted):
        model = deleted[key]
        names = detached.get(key, set())
        if names:
            steps += _detach(model, names)
        provides = [free_table_res(model.db_table)]
        for field in model.fields:
            if field.name not in names:
                provides += relation_releases(field.relation, key)
        steps.append(
            Step(
                model.app_label,
                DeleteModel(model.app_label, model.name),
                needs=[unref_res(key)],
                provides=provides,
                loss=f"deletes model {model.label} with its table {model.db_table!r} and all its rows",
            )
        )
    return steps


def compare_options(old: ModelState, new: ModelState, tables: Mapping[str, ModelKey]) -> list[Step]:
    """Return AlterModelTable and AlterModelOptions steps for a changed table, comment or options."""
    key, app = new.key, new.app_label
    steps: list[Step] = []
    if old.db_table != new.db_table:
        operation = AlterModelTable(app, new.name, new.db_table)
        steps.append(
            Step(
                app,
                operation,
                needs=[model_res(key), *_claim(new.db_table, key, tables)],
                provides=[free_table_res(old.db_table)],
            )
        )
    if (old.comment, old.managed, old.options) != (new.comment, new.managed, new.options):
        operation_options = AlterModelOptions(app, new.name, new.comment, new.managed, new.options)
        steps.append(Step(app, operation_options, needs=[model_res(key)]))
    return steps


# The order in which one model's steps are listed (ties in the final order follow it):
# renames first, then what goes, what changes, what comes.
_PHASES: dict[type, int] = {
    RenameField: 0,
    AlterModelTable: 1,
    AlterModelOptions: 2,
    RemoveIndex: 3,
    RemoveConstraint: 3,
    RenameIndex: 4,
    AlterUniqueTogether: 5,
    RemoveField: 6,
    AlterField: 7,
    AddField: 8,
    AddIndex: 9,
    AddConstraint: 10,
}
# What is appended to a model keeps its order (see steps.chained).
_APPENDED: tuple[tuple[type, str], ...] = (
    (AddField, "field"),
    (AddIndex, "index"),
    (AddConstraint, "constraint"),
)


def compare_model(old: ModelState, new: ModelState, context: DiffContext) -> Diff:
    """Return the steps turning ``old`` (renames applied) into ``new``: table, options, parts."""
    fields = compare_fields(old, new, context)
    releases: list[Step] = []
    replaced = replaced_fields(old, new, context)
    if replaced:
        # A field removed and added again takes its indexes and constraints with it:
        # they go before the RemoveField and come back (as new's) after the AddField.
        releases, old = _release_users(old, replaced)
    steps = [
        *compare_options(old, new, context.tables),
        *releases,
        *compare_indexes(old, new),
        *compare_constraints(old, new),
        *compare_unique_together(old, new),
        *fields.steps,
    ]
    steps.sort(key=_phase)
    ordered: list[Step] = []
    for kind, tag in _APPENDED:
        run = [step for step in steps if type(step.operation) is kind]
        ordered += chained(run, (tag, *new.key))
    rest = [step for step in steps if type(step.operation) not in {kind for kind, _tag in _APPENDED}]
    return Diff(sorted([*rest, *ordered], key=_phase), fields.questions)


def _phase(step: Step) -> int:
    return _PHASES.get(type(step.operation), 99)

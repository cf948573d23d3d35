"""Comparators for a model's indexes, constraints and unique_together.

``old`` is the model as it stands once its renames are applied (its fields already
carry their new names), ``new`` the model wanted. An index keeps its name and
definition (nothing to do), changes its name only (RenameIndex, never drop and
create), or goes (RemoveIndex) and comes (AddIndex). Constraints have no rename:
a changed one is removed and added. Additions keep the order of ``new``, so a
replayed model lists them as the wanted one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reinhardt_migrations.pure.autodetector.steps import (
    Step,
    field_res,
    free_object_res,
    model_res,
    unused_res,
)
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.operations.indexes import (
    AddConstraint,
    AddIndex,
    RemoveConstraint,
    RemoveIndex,
    RenameIndex,
)
from reinhardt_migrations.pure.operations.models import AlterUniqueTogether
from reinhardt_migrations.pure.state import ModelState

__all__ = [
    "add_constraint_step",
    "add_index_step",
    "compare_constraints",
    "compare_indexes",
    "compare_unique_together",
    "unique_together_step",
]


def add_index_step(model: ModelState, index: IndexState) -> Step:
    """Return the AddIndex step for ``index`` on ``model`` (after its fields exist)."""
    key = model.key
    needs = [model_res(key), free_object_res(key, index.name)]
    needs += [field_res(key, name) for name in index.field_names]
    return Step(model.app_label, AddIndex(model.app_label, model.name, index), needs=needs)


def _remove_index_step(model: ModelState, index: IndexState) -> Step:
    key = model.key
    provides = [free_object_res(key, index.name)] + [unused_res(key, name) for name in index.field_names]
    operation = RemoveIndex(model.app_label, model.name, index.name)
    return Step(model.app_label, operation, needs=[model_res(key)], provides=provides)


def _index_renames(
    left_old: Sequence[IndexState], left_new: Sequence[IndexState]
) -> list[tuple[IndexState, IndexState]]:
    """Pair leftover indexes of one definition as renames, refusing a rename that closes a cycle.

    Renaming onto a name an old index still holds waits for that index to be renamed away;
    a ring of such waits (``a -> b``, ``b -> a``) could never start, so its last link is
    left as RemoveIndex plus AddIndex.
    """
    by_definition: dict[Any, list[IndexState]] = {}
    for index in left_old:
        by_definition.setdefault(index.definition(), []).append(index)
    pairs: list[tuple[IndexState, IndexState]] = []
    target_of: dict[str, str] = {}
    for index in left_new:
        pool = by_definition.get(index.definition())
        if not pool:
            continue
        old = pool[0]
        name = index.name
        while name in target_of:
            name = target_of[name]
        if name == old.name:
            continue
        pool.pop(0)
        target_of[old.name] = index.name
        pairs.append((old, index))
    return pairs


def compare_indexes(old: ModelState, new: ModelState) -> list[Step]:
    """Return RenameIndex, RemoveIndex and AddIndex steps that turn old's indexes into new's."""
    if old.indexes == new.indexes:
        return []
    app, name, key = new.app_label, new.name, new.key
    new_by_name = {index.name: index for index in new.indexes}
    old_by_name = {index.name: index for index in old.indexes}
    left_old = [index for index in old.indexes if new_by_name.get(index.name) != index]
    left_new = [index for index in new.indexes if old_by_name.get(index.name) != index]
    renames = _index_renames(left_old, left_new)
    renamed_old = {before.name for before, _after in renames}
    renamed_new = {after.name for _before, after in renames}
    steps: list[Step] = []
    for before, after in renames:
        operation = RenameIndex(app, name, before.name, after.name)
        steps.append(
            Step(
                app,
                operation,
                needs=[model_res(key), free_object_res(key, after.name)],
                provides=[free_object_res(key, before.name)],
            )
        )
    steps += [_remove_index_step(old, index) for index in left_old if index.name not in renamed_old]
    steps += [add_index_step(new, index) for index in left_new if index.name not in renamed_new]
    return steps


def add_constraint_step(model: ModelState, constraint: ConstraintState) -> Step:
    """Return the AddConstraint step for ``constraint`` on ``model``."""
    key = model.key
    needs = [model_res(key), free_object_res(key, constraint.name)]
    needs += [field_res(key, field) for field in constraint.fields]
    return Step(model.app_label, AddConstraint(model.app_label, model.name, constraint), needs=needs)


def compare_constraints(old: ModelState, new: ModelState) -> list[Step]:
    """Return RemoveConstraint and AddConstraint steps (a changed constraint is both)."""
    if old.constraints == new.constraints:
        return []
    key = new.key
    new_by_name = {constraint.name: constraint for constraint in new.constraints}
    old_by_name = {constraint.name: constraint for constraint in old.constraints}
    steps: list[Step] = []
    for constraint in old.constraints:
        if new_by_name.get(constraint.name) != constraint:
            provides = [free_object_res(key, constraint.name)]
            provides += [unused_res(key, field) for field in constraint.fields]
            operation = RemoveConstraint(new.app_label, new.name, constraint.name)
            steps.append(Step(new.app_label, operation, needs=[model_res(key)], provides=provides))
    for constraint in new.constraints:
        if old_by_name.get(constraint.name) != constraint:
            steps.append(add_constraint_step(new, constraint))
    return steps


def unique_together_step(model: ModelState, previous: Sequence[tuple[str, ...]] = ()) -> Step:
    """Return the AlterUniqueTogether step setting ``model``'s entries, coming from ``previous``."""
    key = model.key
    entries = [entry.fields for entry in model.unique_together]
    needs = [model_res(key)] + [field_res(key, field) for fields in entries for field in fields]
    kept = set(entries)
    provides = [unused_res(key, field) for fields in previous if fields not in kept for field in fields]
    operation = AlterUniqueTogether(model.app_label, model.name, entries)
    return Step(model.app_label, operation, needs=needs, provides=provides)


def compare_unique_together(old: ModelState, new: ModelState) -> list[Step]:
    """Return one AlterUniqueTogether step if the entries differ."""
    before = [entry.fields for entry in old.unique_together]
    if before == [entry.fields for entry in new.unique_together]:
        return []
    return [unique_together_step(new, before)]

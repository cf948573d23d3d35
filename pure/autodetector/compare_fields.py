"""Comparators for the fields of one model: rename, remove, add, alter.

``old`` is the model once its renames are applied, ``new`` the model wanted; fields
are matched by name. A field that turns from a column into a many-to-many relation
(or back), or a many-to-many relation that changes its target or ``through`` model,
cannot be altered in place (as in Django), so it is removed and added. A NOT NULL field
without a default added to an existing table needs a one-off default for the rows
already there: the policy gives it, or the question is returned open.
"""

from __future__ import annotations

import attrs

from reinhardt_migrations.pure.autodetector.context import Diff, DiffContext
from reinhardt_migrations.pure.autodetector.losses import narrowing_reason
from reinhardt_migrations.pure.autodetector.policy import DefaultQuestion, Question
from reinhardt_migrations.pure.autodetector.steps import (
    Resource,
    Step,
    field_res,
    free_field_res,
    model_res,
    relation_needs,
    relation_releases,
    unused_res,
)
from reinhardt_migrations.pure.fields import FieldState, NoDefault
from reinhardt_migrations.pure.operations.fields import AddField, AlterField, RemoveField, RenameField
from reinhardt_migrations.pure.state import ModelState
from reinhardt_migrations.pure.types import AutoField, BigAutoField

__all__ = [
    "add_field_step",
    "compare_fields",
    "needs_one_off_default",
    "remove_field_step",
    "rename_field_step",
]


def needs_one_off_default(field: FieldState) -> bool:
    """Tell whether existing rows need a value to add ``field`` (NOT NULL, no default, a column)."""
    return (
        not field.null
        and isinstance(field.default, NoDefault)
        and field.is_concrete
        and not isinstance(field.type, AutoField | BigAutoField)
    )


def add_field_step(
    model: ModelState, field: FieldState, context: DiffContext | None
) -> tuple[Step | None, Question | None]:
    """Return the AddField step for ``field``; ``context`` None means the table is new (empty).

    Without a one-off default where one is needed, return no step and the open question.
    """
    key = model.key
    needs = [model_res(key), free_field_res(key, field.name), *relation_needs(field, key)]
    provides = [field_res(key, field.name)]
    operation = AddField(model.app_label, model.name, field)
    if context is not None and needs_one_off_default(field):
        question = DefaultQuestion(model.app_label, model.name, field, "add")
        default = context.policy.one_off_default(question, ask=context.ask)
        if default is None:
            return None, question
        stored = attrs.evolve(field, default=default)
        operation = AddField(model.app_label, model.name, stored, preserve_default=False)
    return Step(model.app_label, operation, needs=needs, provides=provides), None


def remove_field_step(model: ModelState, field: FieldState) -> Step:
    """Return the RemoveField step for ``field`` (after whatever still uses it is gone)."""
    key = model.key
    provides = [free_field_res(key, field.name), *relation_releases(field.relation, key)]
    what = "its join table and rows" if field.is_many_to_many else "its column and values"
    return Step(
        model.app_label,
        RemoveField(model.app_label, model.name, field.name),
        needs=[model_res(key), unused_res(key, field.name)],
        provides=provides,
        loss=f"removes field {model.label}.{field.name} with {what}",
    )


def rename_field_step(model: ModelState, old: str, new: str) -> Step:
    """Return the RenameField step for ``old`` -> ``new`` on ``model``."""
    key = model.key
    return Step(
        model.app_label,
        RenameField(model.app_label, model.name, old, new),
        needs=[model_res(key), free_field_res(key, new)],
        provides=[field_res(key, new), free_field_res(key, old)],
    )


def _alterable(old: FieldState, new: FieldState, context: DiffContext) -> bool:
    """Tell whether ``old`` can become ``new`` by AlterField (else RemoveField plus AddField)."""
    if old.is_concrete != new.is_concrete:
        return False
    before, after = old.relation, new.relation
    if before is None or after is None:
        return True
    moved = (before.to, before.through) != (after.to, after.through)
    return not (moved and (old.is_many_to_many or context.split_relation_changes))


def replaced_fields(old: ModelState, new: ModelState, context: DiffContext) -> set[str]:
    """Return the names of fields in both models that change by RemoveField plus AddField."""
    old_by_name = {field.name: field for field in old.fields}
    return {
        field.name
        for field in new.fields
        if (before := old_by_name.get(field.name)) is not None
        and before != field
        and not _alterable(before, field, context)
    }


def _released(old: FieldState, new: FieldState, own: tuple[str, str]) -> list[Resource]:
    if old.relation == new.relation:
        return []
    kept = set(relation_releases(new.relation, own))
    return [resource for resource in relation_releases(old.relation, own) if resource not in kept]


def _alter_field_step(
    model: ModelState, old: FieldState, new: FieldState, context: DiffContext
) -> tuple[Step, Question | None]:
    key = model.key
    needs = [model_res(key), field_res(key, new.name), *relation_needs(new, key)]
    operation = AlterField(model.app_label, model.name, new.name, new)
    question: Question | None = None
    if old.null and needs_one_off_default(new):
        asked = DefaultQuestion(model.app_label, model.name, new, "not_null")
        default = context.policy.one_off_default(asked, ask=context.ask)
        if default is None:
            question = asked
        else:
            stored = attrs.evolve(new, default=default)
            operation = AlterField(model.app_label, model.name, new.name, stored, preserve_default=False)
    loss = narrowing_reason(old, new)
    step = Step(
        model.app_label,
        operation,
        needs=needs,
        provides=_released(old, new, key),
        loss=f"alters field {model.label}.{new.name}: {loss}" if loss else None,
    )
    return step, question


def compare_fields(old: ModelState, new: ModelState, context: DiffContext) -> Diff:
    """Return RemoveField, AlterField and AddField steps that turn old's fields into new's."""
    old_by_name = {field.name: field for field in old.fields}
    new_names = {field.name for field in new.fields}
    removals = [remove_field_step(old, field) for field in old.fields if field.name not in new_names]
    alters: list[Step] = []
    additions: list[Step] = []
    questions: list[Question] = []
    for field in new.fields:
        before = old_by_name.get(field.name)
        if before is not None and before == field:
            continue
        if before is not None and _alterable(before, field, context):
            step, question = _alter_field_step(new, before, field, context)
            alters.append(step)
        else:
            if before is not None:
                removals.append(remove_field_step(old, before))
            added, question = add_field_step(new, field, context)
            if added is not None:
                additions.append(added)
        if question is not None:
            questions.append(question)
    return Diff([*removals, *alters, *additions], questions)

"""MigrationAutodetector: diff two project states into named, ordered, per-app migrations.

Theory of operation
-------------------
The diff runs in passes over values, never mutating one:

1. *Project*: extensions and collations (``compare_project``).
2. *Which models changed*: one pass over the wanted models, by identity first, then by
   equality of the model (never of whole states), so unchanged models cost a lookup.
3. *Model renames* per app between removed and added models (hints, then candidates
   through the policy); the from-state with those RenameModel operations applied is
   the *renamed* state, where relations to renamed models already follow.
4. *Field renames* per changed model, applied the same way (RenameField also updates
   relations naming the field in ``to_field``): the *base* state. Every later
   comparison is between a base model and its wanted model, by name.
5. *Comparators*: created models (cycles deferred), changed models (table, options,
   indexes, constraints, unique_together, fields), deleted models. Each step says
   what it needs and provides.
6. ``arrange``: order, cut per app, depend, number, name; optionally optimize.

Questions the policy leaves open are returned as values. A NOT NULL field added to an
existing table without a one-off default stops ``detect()`` with
``MissingOneOffDefault``; ``questions()`` lists it without raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.autodetector.arrange import arrange
from reinhardt_migrations.pure.autodetector.compare_models import (
    compare_model,
    create_model_steps,
    deferred_fields,
    delete_model_steps,
)
from reinhardt_migrations.pure.autodetector.compare_project import compare_collations, compare_extensions
from reinhardt_migrations.pure.autodetector.context import DiffContext
from reinhardt_migrations.pure.autodetector.passes import (
    RememberingPolicy,
    for_lookups,
    model_changes,
    rename_fields,
    rename_models,
)
from reinhardt_migrations.pure.autodetector.policy import (
    AcceptUnambiguousRenames,
    DefaultQuestion,
    Policy,
    Question,
)
from reinhardt_migrations.pure.autodetector.steps import Step
from reinhardt_migrations.pure.errors import InvalidValue, MissingOneOffDefault, UnorderableChanges
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import Operation
from reinhardt_migrations.pure.optimizer import optimize
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["DataLoss", "DetectionResult", "MigrationAutodetector", "autodetect"]


@attrs.frozen
class DataLoss:
    """An operation that can lose data, and why (for the CLI to warn before writing it)."""

    app_label: str
    operation: Operation
    reason: str

    def describe(self) -> str:
        """Return e.g. ``blog: removes field blog.Post.title with its column and values``."""
        return f"{self.app_label}: {self.reason}"


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class DetectionResult:
    """New migrations in an order that applies them, their operations, losses and open questions."""

    migrations: tuple[Migration, ...] = attrs.field(default=(), converter=_tuple)
    destructive: tuple[DataLoss, ...] = attrs.field(default=(), converter=_tuple)
    questions: tuple[Question, ...] = attrs.field(default=(), converter=_tuple)

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Return every operation, migration after migration (replaying them gives the wanted state)."""
        return tuple(operation for migration in self.migrations for operation in migration.operations)

    @property
    def destructive_operations(self) -> tuple[Operation, ...]:
        """Return the operations that can lose data."""
        return tuple(loss.operation for loss in self.destructive)

    @property
    def has_changes(self) -> bool:
        """Tell whether there is anything to migrate."""
        return bool(self.migrations)

    def changes(self) -> dict[str, tuple[Migration, ...]]:
        """Return the migrations per app label, apps sorted, each app's in order."""
        per_app: dict[str, list[Migration]] = {}
        for migration in self.migrations:
            per_app.setdefault(migration.app_label, []).append(migration)
        return {app: tuple(per_app[app]) for app in sorted(per_app)}


@attrs.frozen
class _Plan:
    """The steps of every pass, in generation order, and the questions left open."""

    steps: tuple[Step, ...]
    questions: tuple[Question, ...]


def _leaves(value: Mapping[str, str | None] | None) -> PMap[str, str | None]:
    return pmap(value or {})


def _check_name(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not value.isidentifier():
        raise InvalidValue("migration name", f"{value!r} must be letters, digits and underscores")


@attrs.frozen
class MigrationAutodetector:
    """Diff ``from_state`` (the history) against ``to_state`` (the models) into migrations.

    ``leaves`` maps each app label with migrations to its current leaf migration name;
    numbering continues from it and a new app starts at ``0001_initial``. ``name``
    replaces the suggested part of every name. ``project_app`` holds extension and
    collation operations (default: the first app with changes).
    """

    from_state: ProjectState
    to_state: ProjectState
    policy: Policy = attrs.field(factory=AcceptUnambiguousRenames)
    leaves: PMap[str, str | None] = attrs.field(factory=pmap, converter=_leaves)
    name: str | None = attrs.field(default=None, validator=_check_name)
    project_app: str | None = None
    optimize: bool = True

    def questions(self) -> tuple[Question, ...]:
        """Return the questions the policy cannot answer without asking (never asks, never raises)."""
        return self._plan(DiffContext(self.policy, ask=False, tables=self.from_state.tables)).questions

    def detect(self) -> DetectionResult:
        """Return the new migrations, the operations that can lose data, and open rename questions.

        Raises:
            MissingOneOffDefault: a NOT NULL field without a default is added to an existing
                model and the policy has no one-off default for it.
            ConflictingRenameHints: two models or fields hint the same previous name.
            UnorderableChanges: the operations need each other in a cycle.
        """
        # One memory for the whole detection: the fallback below plans again without asking again.
        context = DiffContext(RememberingPolicy(self.policy), ask=True, tables=self.from_state.tables)
        plan = self._plan(context)
        _raise_missing_defaults(plan)
        steps = self._with_project_app(plan.steps)
        optimizer = optimize if self.optimize else None
        try:
            migrations = arrange(steps, self.leaves, name=self.name, optimizer=optimizer)
        except UnorderableChanges:
            # A relation moved to a model that can only exist once the old target is gone:
            # remove and add such fields instead of altering them.
            plan = self._plan(attrs.evolve(context, split_relation_changes=True))
            _raise_missing_defaults(plan)
            steps = self._with_project_app(plan.steps)
            migrations = arrange(steps, self.leaves, name=self.name, optimizer=optimizer)
        losses = [DataLoss(step.app_label, step.operation, step.loss) for step in steps if step.loss]
        return DetectionResult(migrations=migrations, destructive=losses, questions=plan.questions)

    def changes(self, name: str | None = None) -> dict[str, tuple[Migration, ...]]:
        """Return the new migrations per app label (apps sorted); ``name`` overrides ``self.name``."""
        detector = self if name is None else attrs.evolve(self, name=name)
        return detector.detect().changes()

    def generate_migrations(self) -> tuple[Migration, ...]:
        """Return the new migrations of every app, in an order that applies them (the crate's API)."""
        return self.detect().migrations

    def generate_operations(self) -> tuple[Operation, ...]:
        """Return every new operation in a valid order."""
        return self.detect().operations

    def _with_project_app(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if all(step.app_label for step in steps):
            return steps
        apps = sorted({step.app_label for step in steps if step.app_label})
        app = self.project_app or (apps[0] if apps else None)
        app = app or next(iter(self.to_state.app_labels() or self.from_state.app_labels()), "project")
        return tuple(step if step.app_label else attrs.evolve(step, app_label=app) for step in steps)

    def _plan(self, context: DiffContext) -> _Plan:
        old, new = self.from_state, self.to_state
        if old is new:
            return _Plan((), ())
        project_steps = [*compare_extensions(old, new), *compare_collations(old, new)]
        added, changed, removed = model_changes(old, new)
        models = rename_models(old, new, added, removed, context)
        new_keys = {(app, new_name) for app, _old_name, new_name in models.pairs}
        old_keys = {(app, old_name) for app, old_name, _new_name in models.pairs}
        created = tuple(key for key in added if key not in new_keys)
        deleted = tuple(key for key in removed if key not in old_keys)
        fields = rename_fields(models.state, new, sorted({*changed, *new_keys}), context)
        base, rename_steps, field_steps = fields.state, models.steps, fields.steps
        questions = [*models.questions, *fields.questions]
        steps: list[Step] = [*project_steps, *rename_steps, *field_steps]
        wanted = for_lookups(new.models, len(created) + len(fields.differing))
        created_models = {key: wanted[key] for key in created}
        deferred = deferred_fields(created_models)
        later: list[Step] = []
        tables = for_lookups(context.tables, len(created))
        for key in created:
            model = created_models[key]
            create, deferred_steps = create_model_steps(model, deferred.get(key, frozenset()), tables)
            steps.append(create)
            later += deferred_steps
        # Every CreateModel first: an app's migration then holds all its new models.
        steps += later
        based = for_lookups(base.models, len(fields.differing) + len(deleted))
        for key in fields.differing:
            before, after = based[key], wanted[key]
            if key in fields.renamed and before == after:
                continue
            diff = compare_model(before, after, context)
            steps += diff.steps
            questions += diff.questions
        steps += delete_model_steps({key: based[key] for key in deleted})
        return _Plan(tuple(steps), tuple(questions))


def _raise_missing_defaults(plan: _Plan) -> None:
    for question in plan.questions:
        if isinstance(question, DefaultQuestion) and question.required:
            raise MissingOneOffDefault(question.app_label, question.model_name, question.field.name)


def autodetect(
    from_state: ProjectState,
    to_state: ProjectState,
    policy: Policy | None = None,
    **options: Any,
) -> DetectionResult:
    """Return ``MigrationAutodetector(from_state, to_state, policy, **options).detect()``.

    Raises:
        MissingOneOffDefault: see ``MigrationAutodetector.detect``.
    """
    detector = MigrationAutodetector(
        from_state, to_state, policy if policy is not None else AcceptUnambiguousRenames(), **options
    )
    return detector.detect()

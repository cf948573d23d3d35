"""The passes before the comparators: which models changed, and which were renamed.

Theory of operation: ``model_changes`` walks the wanted models once, identity first,
then equality of one model (never of whole states). ``rename_models`` decides model
renames per app in rounds: a relation to a model renamed in an earlier round then
compares equal, so a chain of renamed models pointing at each other is found link by
link (each round is O(models): the field maps of a model are computed once per pass,
and again only when a model it points at is renamed). Definitive answers are
remembered, so no question is asked twice. The decided renames are applied to the
from-state at once (``renamed_state``), giving the state where every later comparison
happens. ``rename_fields`` does the same per changed model with RenameField, which
also moves relations naming the field in ``to_field``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import attrs
from pyrsistent import PMap

from reinhardt_migrations.pure.autodetector.compare_fields import rename_field_step
from reinhardt_migrations.pure.autodetector.compare_models import rename_model_step
from reinhardt_migrations.pure.autodetector.context import DiffContext
from reinhardt_migrations.pure.autodetector.policy import (
    DefaultQuestion,
    Policy,
    Question,
    RenameKey,
    RenameQuestion,
)
from reinhardt_migrations.pure.autodetector.renames import (
    Candidate,
    SignatureCache,
    field_candidates,
    match_renames,
    model_candidates,
)
from reinhardt_migrations.pure.autodetector.steps import Step
from reinhardt_migrations.pure.fields import Default, FieldState, ModelKey
from reinhardt_migrations.pure.operations import RenameField
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name

__all__ = [
    "FieldRenames",
    "ModelRenames",
    "RememberingPolicy",
    "for_lookups",
    "model_changes",
    "rename_fields",
    "rename_models",
    "renamed_state",
]

_K = TypeVar("_K")
_V = TypeVar("_V")

# Below this many models per rename, renaming one by one shares more than rebuilding.
_MODELS_PER_RENAME_FOR_BATCH = 50


def model_changes(
    old: ProjectState, new: ProjectState
) -> tuple[list[ModelKey], list[ModelKey], list[ModelKey]]:
    """Return the added, changed and removed model keys, each sorted."""
    added: list[ModelKey] = []
    changed: list[ModelKey] = []
    # A plain dict for the lookups: iterating a PMap is cheap, each PMap.get is not.
    old_models = dict(old.models.items())
    found = 0
    for key, model in new.models.items():
        before = old_models.get(key)
        if before is None:
            added.append(key)
            continue
        found += 1
        if before is not model and before != model:
            changed.append(key)
    removed: list[ModelKey] = []
    if found != len(old_models):
        new_models = dict(new.models.items())
        removed = [key for key in old_models if key not in new_models]
    return sorted(added), sorted(changed), sorted(removed)


def for_lookups(values: PMap[_K, _V], wanted: int) -> Mapping[_K, _V]:
    """Return ``values`` for ``wanted`` lookups: the PMap itself, or a plain dict for many.

    One PMap lookup costs about a microsecond, iterating it a tenth of that per entry, so
    past a tenth of the entries one dict of them all is cheaper than the lookups.
    """
    return dict(values.items()) if wanted * 10 > len(values) else values


@attrs.frozen
class RememberingPolicy:
    """A policy wrapper that keeps definitive answers, so nothing is asked twice in one detection."""

    policy: Policy
    answers: dict[RenameKey, bool] = attrs.field(factory=dict)
    defaults: dict[tuple[str, str, str], Default | None] = attrs.field(factory=dict)

    def decide_rename(self, question: RenameQuestion, *, ask: bool) -> bool | None:
        """Return the remembered answer, else the policy's (remembered if definitive)."""
        key = question.key
        if key in self.answers:
            return self.answers[key]
        answer = self.policy.decide_rename(question, ask=ask)
        if answer is not None:
            self.answers[key] = answer
        return answer

    def one_off_default(self, question: DefaultQuestion, *, ask: bool) -> Default | None:
        """Return the remembered one-off default, else the policy's (remembered when asked)."""
        if question.key in self.defaults:
            return self.defaults[question.key]
        default = self.policy.one_off_default(question, ask=ask)
        if ask:
            self.defaults[question.key] = default
        return default


@attrs.frozen
class ModelRenames:
    """The renamed state, its RenameModel steps, the pairs ``(app, old, new)`` and open questions."""

    state: ProjectState
    steps: tuple[Step, ...]
    pairs: tuple[tuple[str, str, str], ...]
    questions: tuple[Question, ...]


def rename_models(
    old: ProjectState,
    new: ProjectState,
    added: Sequence[ModelKey],
    removed: Sequence[ModelKey],
    context: DiffContext,
) -> ModelRenames:
    """Return the model renames decided between removed and added models, applied to ``old``.

    Raises:
        ConflictingRenameHints: two models of an app hint the same previous name.
    """
    apps = sorted({app for app, _name in added} & {app for app, _name in removed})
    if not apps:
        return ModelRenames(old, (), (), ())
    old_models = for_lookups(old.models, len(removed))
    new_models = for_lookups(new.models, len(added))
    gone: dict[str, dict[str, ModelState]] = {app: {} for app in apps}
    came: dict[str, dict[str, ModelState]] = {app: {} for app in apps}
    for app, name in removed:
        if app in gone:
            gone[app][name] = old_models[(app, name)]
    for app, name in added:
        if app in came:
            came[app][name] = new_models[(app, name)]
    # Hints first, across apps, so candidates already compare relations to hinted models as equal.
    renames: dict[ModelKey, ModelKey] = {
        (app, model.previous_name): model.key
        for app in apps
        for model in came[app].values()
        if model.previous_name in gone[app]
    }
    # Remember answers across the rounds (``detect`` already passes a remembering policy).
    policy = context.policy
    if not isinstance(policy, RememberingPolicy):
        policy = RememberingPolicy(policy)
    cache = SignatureCache()
    pairs: list[tuple[str, str, str]] = []
    questions: dict[str, tuple[RenameQuestion, ...]] = {}
    # Exact rounds while they find renames (each makes relations to its renames compare
    # equal), then one round with near candidates too; again while that one finds any.
    near = False
    while True:
        progress = False
        for app in apps:
            left_old, left_new = gone[app], came[app]
            if not left_old or not left_new:
                questions[app] = ()
                continue
            # ``renames`` is read only while ``match_renames`` runs, before it grows: no copy.
            candidates = partial(_model_pool_candidates, left_old, left_new, renames, near, cache)
            hints = {name: model.previous_name for name, model in left_new.items() if model.previous_name}
            matching = match_renames(
                "model", app, "", left_old, left_new, hints, candidates, policy, ask=context.ask
            )
            questions[app] = matching.questions
            if matching.pairs:
                # New dicts, not deletions: ``left_old`` and ``left_new`` were handed out above.
                taken_old = {old_name for old_name, _new_name in matching.pairs}
                taken_new = {new_name for _old_name, new_name in matching.pairs}
                gone[app] = {n: m for n, m in left_old.items() if n not in taken_old}
                came[app] = {n: m for n, m in left_new.items() if n not in taken_new}
                progress = True
            for old_name, new_name in matching.pairs:
                pairs.append((app, old_name, new_name))
                renames[(app, old_name)] = (app, new_name)
        if near and not progress:
            break
        near = not progress
    pairs.sort()
    state = renamed_state(old, pairs)
    renamed_models = for_lookups(state.models, len(pairs))
    tables = for_lookups(context.tables, len(pairs))
    steps = tuple(
        rename_model_step(old_models[(app, before)], renamed_models[(app, after)], tables)
        for app, before, after in pairs
    )
    open_questions = tuple(q for app in apps for q in questions.get(app, ()))
    return ModelRenames(state, steps, tuple(pairs), open_questions)


def _model_pool_candidates(
    gone: Mapping[str, ModelState],
    came: Mapping[str, ModelState],
    renames: Mapping[ModelKey, ModelKey],
    near: bool,
    cache: SignatureCache,
    left_old: frozenset[str],
    left_new: frozenset[str],
) -> list[Candidate]:
    return model_candidates(
        [gone[n] for n in sorted(left_old)],
        [came[n] for n in sorted(left_new)],
        renames,
        near=near,
        cache=cache,
    )


def _moved(model: ModelState, renames: Mapping[ModelKey, ModelKey]) -> ModelState:
    """Return ``model`` as RenameModel leaves it: renamed if it is, its relations retargeted.

    A default table name follows the new model name; an explicit one stays. The values are
    built directly, not with ``attrs.evolve`` (which costs twice as much, and this runs for
    every renamed model and every model pointing at one); ``retargeted`` does not check the
    model's parts again, as only relation targets change.
    """
    fields = model.fields
    retargeted: list[FieldState] | None = None
    for position, field in enumerate(fields):
        if field.relation is not None:
            moved = _retargeted(field, renames)
            if moved is not field:
                retargeted = retargeted or list(fields)
                retargeted[position] = moved
    if retargeted is not None:
        fields = tuple(retargeted)
    name, table, previous_name = model.name, model.db_table, model.previous_name
    new_key = renames.get(model.key)
    if new_key is not None:
        name, previous_name = new_key[1], None
        if table == default_table_name(model.app_label, model.name):
            table = default_table_name(model.app_label, name)
    elif fields is model.fields:
        return model
    return model.retargeted(name, table, fields, previous_name)


def _retargeted(field: FieldState, renames: Mapping[ModelKey, ModelKey]) -> FieldState:
    """Return ``field`` with its relation pointing at the new names of renamed models."""
    relation = field.relation
    if relation is None or (relation.to not in renames and relation.through not in renames):
        return field
    # Made directly (``with_targets``, ``with_relation``): this runs for every field pointing at
    # a renamed model.
    through = relation.through
    moved = relation.with_targets(
        renames.get(relation.to, relation.to), renames.get(through, through) if through is not None else None
    )
    return field.with_relation(moved)


def renamed_state(state: ProjectState, pairs: Sequence[tuple[str, str, str]]) -> ProjectState:
    """Return ``state`` after RenameModel for each ``(app, old, new)``, as replaying them would give."""
    if len(pairs) * _MODELS_PER_RENAME_FOR_BATCH < len(state.models):
        for app, old, new in pairs:
            state = state.renamed_model(app, old, new)
        return state
    renames = {(app, old): (app, new) for app, old, new in pairs}
    touched = set(renames)
    referrers = state.referrers
    for key in renames:
        touched.update(referrers.get(key, ()))
    before = for_lookups(state.models, len(touched))
    models = state.models.evolver()
    for key in touched:
        models.remove(key)
    for key in sorted(touched):
        model = _moved(before[key], renames)
        models.set(model.key, model)
    # Every compared field of the state but the models carries over (extensions, views ...);
    # the derived indexes (referrers, tables) are left out, so the new state builds them afresh.
    values: dict[str, Any] = {f.name: getattr(state, f.name) for f in attrs.fields(ProjectState) if f.eq}
    values["models"] = models.persistent()
    return ProjectState(**values)


@attrs.frozen
class FieldRenames:
    """The base state (field renames applied), the RenameField steps, and what differs.

    ``differing`` are the compared models unequal before the field renames; ``renamed``
    the ones that had a field renamed (they may be equal now).
    """

    state: ProjectState
    steps: tuple[Step, ...]
    questions: tuple[Question, ...]
    differing: tuple[ModelKey, ...]
    renamed: frozenset[ModelKey]


def rename_fields(
    renamed: ProjectState,
    new: ProjectState,
    compared: Sequence[ModelKey],
    context: DiffContext,
) -> FieldRenames:
    """Return the field renames decided in each compared model, applied to ``renamed``.

    Raises:
        ConflictingRenameHints: two fields of a model hint the same previous name.
    """
    state = renamed
    steps: list[Step] = []
    questions: list[Question] = []
    differing: list[ModelKey] = []
    touched: set[ModelKey] = set()
    renamed_models = for_lookups(renamed.models, len(compared))
    new_models = for_lookups(new.models, len(compared))
    for key in compared:
        before, after = renamed_models[key], new_models[key]
        if before is after or before == after:
            continue
        differing.append(key)
        after_names = {field.name for field in after.fields}
        before_names = {field.name for field in before.fields}
        gone = {f.name: f for f in before.fields if f.name not in after_names}
        came = {f.name: f for f in after.fields if f.name not in before_names}
        if not gone or not came:
            continue
        candidates = partial(_field_pool_candidates, gone, came, before, after)
        hints = {field.name: field.previous_name for field in came.values() if field.previous_name}
        matching = match_renames(
            "field", key[0], key[1], gone, came, hints, candidates, context.policy, ask=context.ask
        )
        questions += matching.questions
        for old_name, new_name in matching.pairs:
            steps.append(rename_field_step(state.models[key], old_name, new_name))
            state = RenameField(key[0], key[1], old_name, new_name).state_forwards(state)
            touched.add(key)
    return FieldRenames(state, tuple(steps), tuple(questions), tuple(differing), frozenset(touched))


def _field_pool_candidates(
    gone: Mapping[str, FieldState],
    came: Mapping[str, FieldState],
    before: ModelState,
    after: ModelState,
    left_old: frozenset[str],
    left_new: frozenset[str],
) -> list[Candidate]:
    return field_candidates(
        [gone[n] for n in sorted(left_old)], [came[n] for n in sorted(left_new)], before, after
    )

"""Rename candidates: scoring removed/added pairs, and matching them under a policy.

Theory of operation: a removed and an added item (model or field) are a candidate
when their definitions, apart from the name, are

- *exact*: equal (Django's only kind of candidate); found through a dict keyed on
  the definition, so n removed and n added items cost O(n), not O(n^2);
- *near*: fields of one type family with the same relation (kind, target, through),
  scored by the share of their attributes that are equal; models sharing at least
  half of their fields. Near candidates are scored pairwise, so they are only looked
  for when the pool is small (``NEAR_PAIR_LIMIT``).

``match_renames`` then decides: ``previous_name`` hints first (they always win; a
hint naming nothing removed is stale and ignored), then candidates best first, each
through the policy. A candidate is *unambiguous* when it is the only one of its kind
(exact, or any) for both its old and its new item.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from reinhardt_migrations.pure.autodetector.policy import Policy, RenameKind, RenameQuestion
from reinhardt_migrations.pure.errors import ConflictingRenameHints
from reinhardt_migrations.pure.fields import FieldState, ModelKey, Relation
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import ModelState

__all__ = [
    "NEAR_PAIR_LIMIT",
    "NEAR_THRESHOLD",
    "Candidate",
    "Matching",
    "SignatureCache",
    "field_candidates",
    "field_differences",
    "field_signature",
    "match_renames",
    "model_candidates",
]

#: Most (removed x added) pairs scored for near candidates in one pool.
NEAR_PAIR_LIMIT = 10_000
#: Least share of equal attributes (fields) or shared fields (models) of a near candidate.
NEAR_THRESHOLD = 0.5

_SELF = ("", "<self>")
_AUTO_TABLE = "<auto>"


@attrs.frozen
class Candidate:
    """A possible rename of ``old`` to ``new``."""

    old: str
    new: str
    exact: bool
    similarity: float
    differences: tuple[str, ...] = ()


@attrs.frozen
class Matching:
    """Decided renames ``(old, new)`` and the questions left open."""

    pairs: tuple[tuple[str, str], ...] = ()
    questions: tuple[RenameQuestion, ...] = ()


def _target(key: ModelKey | None, own: ModelKey, renames: Mapping[ModelKey, ModelKey]) -> ModelKey | None:
    if key is None:
        return None
    if key == own:
        return _SELF
    return renames.get(key, key)


def _is_auto_join(field: FieldState, table: str) -> bool:
    relation = field.relation
    return (
        relation is not None
        and relation.through is None
        and relation.db_table is not None
        and relation.db_table == object_name(table, [field.name], "")
    )


def _relation_signature(
    field: FieldState, table: str, own: ModelKey, renames: Mapping[ModelKey, ModelKey], auto: bool
) -> tuple[Any, ...] | None:
    relation = field.relation
    if relation is None:
        return None
    join = _AUTO_TABLE if auto and _is_auto_join(field, table) else relation.db_table
    return (
        relation.kind,
        _target(relation.to, own, renames),
        relation.on_delete,
        relation.to_field,
        _target(relation.through, own, renames),
        join,
    )


def field_signature(
    field: FieldState,
    table: str,
    own: ModelKey,
    renames: Mapping[ModelKey, ModelKey] | None = None,
    *,
    auto: bool = True,
) -> tuple[Any, ...]:
    """Return the field's definition apart from its name.

    ``renames`` maps old model keys to new ones, so relations to renamed models compare equal;
    a relation to the field's own model compares equal whatever the model is called. With
    ``auto``, an automatic join table (named after table and field) compares equal to another
    automatic one: a rename makes the new name follow. Without it, the join table name must
    be kept as it is (what RenameField alone does).
    """
    return (
        field.type,
        field.null,
        field.default,
        field.primary_key,
        field.unique,
        field.db_index,
        field.db_column,
        field.comment,
        _relation_signature(field, table, own, renames or {}, auto),
    )


def _signatures(
    field: FieldState, table: str, own: ModelKey, renames: Mapping[ModelKey, ModelKey] | None = None
) -> tuple[tuple[Any, ...], ...]:
    """Return the field's signature, and its kept-join-table variant when that differs."""
    following = field_signature(field, table, own, renames)
    if not _is_auto_join(field, table):
        return (following,)
    return (following, field_signature(field, table, own, renames, auto=False))


def _relation_shape(relation: Relation | None) -> tuple[Any, ...] | None:
    return None if relation is None else (relation.kind, relation.to, relation.through)


_FIELD_ATTRIBUTES = ("type", "null", "default", "primary_key", "unique", "db_index", "db_column", "comment")


def field_differences(old: FieldState, new: FieldState) -> tuple[str, ...]:
    """Return what differs between two fields apart from the name, for people to read."""
    differences: list[str] = []
    for name in _FIELD_ATTRIBUTES:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            differences.append(f"{name} {_show(before)} -> {_show(after)}")
    if old.relation != new.relation:
        before_text = old.relation.describe() if old.relation else "none"
        after_text = new.relation.describe() if new.relation else "none"
        if before_text == after_text:
            before_text, after_text = repr(old.relation), repr(new.relation)
        differences.append(f"relation {before_text} -> {after_text}")
    return tuple(differences)


def _show(value: Any) -> str:
    describe = getattr(value, "describe", None)
    return str(describe()) if callable(describe) else repr(value)


def field_candidates(
    removed: Sequence[FieldState],
    added: Sequence[FieldState],
    old_model: ModelState,
    new_model: ModelState,
) -> list[Candidate]:
    """Return the rename candidates between fields removed from and added to one model."""
    own = new_model.key
    by_signature: dict[tuple[Any, ...], list[str]] = {}
    for field in removed:
        for signature in _signatures(field, old_model.db_table, own):
            by_signature.setdefault(signature, []).append(field.name)
    candidates: list[Candidate] = []
    exact: set[tuple[str, str]] = set()
    for field in added:
        for signature in _signatures(field, new_model.db_table, own):
            for old_name in by_signature.get(signature, ()):
                if (old_name, field.name) not in exact:
                    candidates.append(Candidate(old_name, field.name, True, 1.0))
                    exact.add((old_name, field.name))
    if len(removed) * len(added) > NEAR_PAIR_LIMIT:
        return candidates
    for new in added:
        for old in removed:
            if (old.name, new.name) in exact:
                continue
            if old.type.family != new.type.family or _relation_shape(old.relation) != _relation_shape(
                new.relation
            ):
                continue
            differences = field_differences(old, new)
            similarity = 1.0 - len(differences) / (len(_FIELD_ATTRIBUTES) + 1)
            if similarity >= NEAR_THRESHOLD:
                candidates.append(Candidate(old.name, new.name, False, similarity, differences))
    return candidates


# One element per field: the field itself when it has no relation (its own equality and
# hash are the definition plus the name, and cost half of building a signature), else
# ``(name, signature)`` so that relations to renamed models compare equal.
_Element = FieldState | tuple[str, tuple[Any, ...]]
_FieldSet = frozenset[_Element]


def _element(
    field: FieldState, name: str, table: str, own: ModelKey, renames: Mapping[ModelKey, ModelKey], auto: bool
) -> _Element:
    if field.relation is None:
        return field if name == field.name else field.with_name(name)
    return (name, field_signature(field, table, own, renames, auto=auto))


def _element_name(element: _Element) -> str:
    return element.name if isinstance(element, FieldState) else element[0]


def _field_sets(
    model: ModelState | _Fields, renames: Mapping[ModelKey, ModelKey], hints: Mapping[str, str]
) -> tuple[_FieldSet, ...]:
    """Return the model's fields as a set of elements: join tables following, then kept."""
    own, table = model.key, model.db_table
    fields = model.fields
    following = frozenset(_element(f, hints.get(f.name, f.name), table, own, renames, True) for f in fields)
    if not any(_is_auto_join(f, table) for f in fields if f.relation is not None):
        return (following,)
    kept = frozenset(_element(f, hints.get(f.name, f.name), table, own, renames, False) for f in fields)
    return (following, kept)


@attrs.define
class SignatureCache:
    """Field sets of models already computed, kept across the rounds of one rename pass.

    An added model's sets never change. A removed model's plain fields never change
    either; its relational fields change only when a model they point at is renamed, so
    they are keyed on the new names of its targets.
    """

    sets: dict[tuple[Any, ...], tuple[_FieldSet, ...]] = attrs.field(factory=dict)

    def old(self, model: ModelState, renames: Mapping[ModelKey, ModelKey]) -> tuple[_FieldSet, ...]:
        """Return the field sets of a removed model under the renames decided so far."""
        plain = self.sets.get(("plain", model.key))
        if plain is None:
            plain = self.sets[("plain", model.key)] = _field_sets(_only(model, relational=False), {}, {})
        related = _only(model, relational=True)
        if not related.fields:
            return plain
        targets = tuple(
            renames.get(t) for _f, r in related.relations() for t in (r.to, r.through) if t is not None
        )
        key = ("related", model.key, targets)
        found = self.sets.get(key)
        if found is None:
            found = self.sets[key] = tuple(p | r for r in _field_sets(related, renames, {}) for p in plain)
        return found

    def new(self, model: ModelState) -> tuple[_FieldSet, ...]:
        """Return the field sets of an added model, with and without its fields' hints."""
        key = ("new", model.key)
        found = self.sets.get(key)
        if found is None:
            found = _field_sets(model, {}, {})
            hints = {field.name: field.previous_name for field in model.fields if field.previous_name}
            if hints:
                found += _field_sets(model, {}, hints)
            self.sets[key] = found
        return found


@attrs.frozen
class _Fields:
    """A model's key, table and some of its fields: what ``_field_sets`` reads."""

    key: ModelKey
    db_table: str
    fields: tuple[FieldState, ...]

    def relations(self) -> list[tuple[FieldState, Relation]]:
        return [(f, f.relation) for f in self.fields if f.relation is not None]


def _only(model: ModelState, *, relational: bool) -> _Fields:
    chosen = tuple(f for f in model.fields if (f.relation is not None) == relational)
    return _Fields(model.key, model.db_table, chosen)


def model_candidates(
    removed: Sequence[ModelState],
    added: Sequence[ModelState],
    renames: Mapping[ModelKey, ModelKey],
    *,
    near: bool = True,
    cache: SignatureCache | None = None,
) -> list[Candidate]:
    """Return the rename candidates between models removed from and added to one app.

    An added model is compared with and without its fields' ``previous_name`` hints, so a
    model renamed together with hinted fields is still an exact candidate, and a stale
    hint does not spoil one. ``near`` False looks for exact candidates only.
    """
    cache = cache if cache is not None else SignatureCache()
    old_sets = {model.name: cache.old(model, renames) for model in removed}
    by_set: dict[_FieldSet, list[str]] = {}
    for name, variants in old_sets.items():
        for fields in variants:
            by_set.setdefault(fields, []).append(name)
    candidates: list[Candidate] = []
    exact: set[tuple[str, str]] = set()
    new_sets: dict[str, tuple[_FieldSet, ...]] = {}
    for model in added:
        new_variants = new_sets[model.name] = cache.new(model)
        for old_name in sorted({name for fields in new_variants for name in by_set.get(fields, ())}):
            candidates.append(Candidate(old_name, model.name, True, 1.0))
            exact.add((old_name, model.name))
    if not near or len(removed) * len(added) > NEAR_PAIR_LIMIT:
        return candidates
    for new_name, new_variants in new_sets.items():
        for old_name, old_variants in old_sets.items():
            if (old_name, new_name) in exact:
                continue
            old_fields, best = max(
                ((o, n) for o in old_variants for n in new_variants), key=lambda pair: len(pair[0] & pair[1])
            )
            similarity = len(old_fields & best) / max(len(old_fields), len(best), 1)
            if similarity >= NEAR_THRESHOLD:
                only_old = sorted(_element_name(element) for element in old_fields - best)
                only_new = sorted(_element_name(element) for element in best - old_fields)
                differences = (f"fields {', '.join(only_old) or '-'} -> {', '.join(only_new) or '-'}",)
                candidates.append(Candidate(old_name, new_name, False, similarity, differences))
    return candidates


def _check_hints(
    app_label: str, model: str, removed: Iterable[str], hints: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Return the hinted pairs ``(old, new)`` that apply; raise if two items claim one name."""
    removed_names = set(removed)
    claims: dict[str, list[str]] = {}
    for new, old in hints.items():
        if old in removed_names:
            claims.setdefault(old, []).append(new)
    for old, news in claims.items():
        if len(news) > 1:
            raise ConflictingRenameHints(app_label, model, old, sorted(news))
    return sorted(((old, news[0]) for old, news in claims.items()), key=lambda pair: pair[1])


def match_renames(
    kind: RenameKind,
    app_label: str,
    model_name: str,
    removed: Iterable[str],
    added: Iterable[str],
    hints: Mapping[str, str],
    candidates: Callable[[frozenset[str], frozenset[str]], list[Candidate]],
    policy: Policy,
    *,
    ask: bool,
) -> Matching:
    """Return the renames decided between ``removed`` and ``added`` names, and the open questions.

    ``hints`` maps added names to their ``previous_name``; ``candidates(old_left, new_left)``
    scores the pairs left once the hints are taken.

    Raises:
        ConflictingRenameHints: two added items hint the same previous name.
    """
    removed_names = frozenset(removed)
    added_names = frozenset(added)
    pairs = _check_hints(app_label, model_name, removed_names, hints)
    taken_old = {old for old, _new in pairs}
    taken_new = {new for _old, new in pairs}
    left_old, left_new = removed_names - taken_old, added_names - taken_new
    if not left_old or not left_new:
        return Matching(tuple(pairs))
    found = candidates(left_old, left_new)
    counts: dict[tuple[str, bool, str], int] = {}
    for candidate in found:
        for side, name in (("old", candidate.old), ("new", candidate.new)):
            for exact_only in (True, False):
                if candidate.exact or not exact_only:
                    slot = (side, exact_only, name)
                    counts[slot] = counts.get(slot, 0) + 1
    open_questions: list[RenameQuestion] = []
    for candidate in sorted(found, key=_rank):
        if candidate.old in taken_old or candidate.new in taken_new:
            continue
        exact = candidate.exact
        question = RenameQuestion(
            kind=kind,
            app_label=app_label,
            model_name=model_name,
            old_name=candidate.old,
            new_name=candidate.new,
            exact=exact,
            similarity=round(candidate.similarity, 3),
            unambiguous=counts[("old", exact, candidate.old)] == 1
            and counts[("new", exact, candidate.new)] == 1,
            differences=candidate.differences,
        )
        decision = policy.decide_rename(question, ask=ask)
        if decision:
            pairs.append((candidate.old, candidate.new))
            taken_old.add(candidate.old)
            taken_new.add(candidate.new)
        elif decision is None:
            open_questions.append(question)
    still_open = tuple(
        q for q in open_questions if q.old_name not in taken_old and q.new_name not in taken_new
    )
    return Matching(tuple(pairs), still_open)


def _rank(candidate: Candidate) -> tuple[bool, float, float, str, str]:
    # Among equals, a candidate whose names look alike comes first (only asked when it matters).
    closeness = (
        0.0 if candidate.exact else difflib.SequenceMatcher(None, candidate.old, candidate.new).ratio()
    )
    return (not candidate.exact, -candidate.similarity, -closeness, candidate.old, candidate.new)

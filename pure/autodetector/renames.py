"""Rename candidates: scoring removed/added pairs, and matching them under a policy.

Theory of operation: a removed and an added item (model or field) are a candidate
when their definitions, apart from the name, are

- *exact*: equal (Django's only kind of candidate); found through a dict keyed on
  the definition (fields), or for models on their field names and then compared name
  by name (``_FieldMap``), so n removed and n added items cost O(n), not O(n^2);
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


# A model's fields as elements by name. Field names are unique in a model, so two such
# maps are equal exactly when the sets of their elements are, and comparing them never
# hashes a field (hashing fifteen fields costs four times building the map). Only a
# hinted variant can give two different elements one name: it stays a set (``_FieldSet``)
# and is never an exact candidate (a removed model's names are unique).
_FieldMap = dict[str, _Element]
_Variant = tuple[frozenset[str] | None, _FieldMap | _FieldSet]
# What a removed model is split into once: its names, plain fields by name, relational
# fields, the models they point at, and whether one has an automatic join table.
_Parts = tuple[frozenset[str], _FieldMap, tuple[FieldState, ...], tuple[ModelKey, ...], bool]


def _with_elements(
    plain: _FieldMap,
    special: Sequence[FieldState],
    hints: Mapping[str, str],
    model: ModelState,
    renames: Mapping[ModelKey, ModelKey],
    auto: bool,
) -> _Variant:
    """Return ``plain`` plus the elements of ``special``, keyed by name, with its names."""
    table, own = model.db_table, model.key
    elements = [_element(f, hints.get(f.name, f.name), table, own, renames, auto) for f in special]
    found = dict(plain)
    for element in elements:
        name = _element_name(element)
        other = found.setdefault(name, element)
        if other is not element and other != element:
            return None, frozenset([*plain.values(), *elements])
    return frozenset(found), found


def _field_maps(
    model: ModelState, renames: Mapping[ModelKey, ModelKey], hints: Mapping[str, str]
) -> tuple[_Variant, ...]:
    """Return the model's fields as elements by name: join tables following, then kept."""
    # A plain field without a hint is its own element; only the others go through ``_element``.
    plain: _FieldMap = {}
    special: list[FieldState] = []
    for field in model.fields:
        if field.relation is not None or field.name in hints:
            special.append(field)
        else:
            plain[field.name] = field
    if not special:
        return ((frozenset(plain), plain),)
    following = _with_elements(plain, special, hints, model, renames, True)
    if not any(_is_auto_join(f, model.db_table) for f in special if f.relation is not None):
        return (following,)
    return (following, _with_elements(plain, special, hints, model, renames, False))


def _element_set(variant: _Variant) -> _FieldSet:
    """Return a variant's elements as a set (for near candidates)."""
    fields = variant[1]
    return frozenset(fields.values()) if isinstance(fields, dict) else fields


@attrs.define
class SignatureCache:
    """Field maps of models already computed, kept across the rounds of one rename pass.

    An added model's maps never change. A removed model's plain fields never change
    either; its relational fields change only when a model they point at is renamed, so
    they are keyed on the new names of its targets. What a removed model is split into
    (plain fields, relational fields, their targets) is computed once, not every round.
    """

    maps: dict[tuple[Any, ...], tuple[_Variant, ...]] = attrs.field(factory=dict)
    parts: dict[ModelKey, _Parts] = attrs.field(factory=dict)

    def old(self, model: ModelState, renames: Mapping[ModelKey, ModelKey]) -> tuple[_Variant, ...]:
        """Return the field maps of a removed model under the renames decided so far."""
        parts = self.parts.get(model.key)
        if parts is None:
            plain_fields: _FieldMap = {}
            relational: list[FieldState] = []
            for field in model.fields:
                if field.relation is None:
                    plain_fields[field.name] = field
                else:
                    relational.append(field)
            targets = tuple(
                target
                for field in relational
                if field.relation is not None
                for target in (field.relation.to, field.relation.through)
                if target is not None
            )
            names = frozenset(field.name for field in model.fields)
            kept = any(_is_auto_join(field, model.db_table) for field in relational)
            parts = self.parts[model.key] = (names, plain_fields, tuple(relational), targets, kept)
        names, plain_fields, related_fields, targets, kept = parts
        key = ("related", model.key, tuple([renames.get(t) for t in targets]))
        found = self.maps.get(key)
        if found is None:
            # Without hints, names are unique: every variant of a removed model is a map (what
            # ``_field_maps`` gives, built here without its checks). Its relational elements come
            # first: comparing maps follows the left one's order, and until the models they point
            # at are renamed, those are what differ.
            table, own = model.db_table, model.key
            variants: list[_Variant] = []
            for auto in (True, False) if kept else (True,):
                fields: _FieldMap = {
                    field.name: _element(field, field.name, table, own, renames, auto)
                    for field in related_fields
                }
                fields.update(plain_fields)
                variants.append((names, fields))
            found = self.maps[key] = tuple(variants)
        return found

    def new(self, model: ModelState) -> tuple[_Variant, ...]:
        """Return the field maps of an added model, with and without its fields' hints."""
        key = ("new", model.key)
        found = self.maps.get(key)
        if found is None:
            found = _field_maps(model, {}, {})
            hints = {field.name: field.previous_name for field in model.fields if field.previous_name}
            if hints:
                found += _field_maps(model, {}, hints)
            self.maps[key] = found
        return found


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
    old_maps = {model.name: cache.old(model, renames) for model in removed}
    by_names: dict[frozenset[str], list[tuple[str, _FieldMap | _FieldSet]]] = {}
    for name, variants in old_maps.items():
        for names, fields in variants:
            if names is not None:
                by_names.setdefault(names, []).append((name, fields))
    candidates: list[Candidate] = []
    exact: set[tuple[str, str]] = set()
    new_maps: dict[str, tuple[_Variant, ...]] = {}
    for model in added:
        new_variants = new_maps[model.name] = cache.new(model)
        matched = {
            old_name
            for names, fields in new_variants
            if names is not None
            for old_name, old_fields in by_names.get(names, ())
            if old_fields == fields
        }
        for old_name in sorted(matched):
            candidates.append(Candidate(old_name, model.name, True, 1.0))
            exact.add((old_name, model.name))
    if not near or len(removed) * len(added) > NEAR_PAIR_LIMIT:
        return candidates
    old_sets = {name: [_element_set(v) for v in variants] for name, variants in old_maps.items()}
    for new_name, variants in new_maps.items():
        new_sets = [_element_set(v) for v in variants]
        for old_name, old_variants in old_sets.items():
            if (old_name, new_name) in exact:
                continue
            old_fields, best = max(
                ((o, n) for o in old_variants for n in new_sets), key=lambda pair: len(pair[0] & pair[1])
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
        slots = [("old", False, candidate.old), ("new", False, candidate.new)]
        if candidate.exact:
            slots += [("old", True, candidate.old), ("new", True, candidate.new)]
        for slot in slots:
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

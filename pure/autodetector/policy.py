"""Rename and one-off default policies, and the questions the diff cannot answer, as values.

Theory of operation: the diff finds *candidates* (a removed and an added model or
field that may be one thing renamed) and *needs* (a NOT NULL field added to a table
that has rows). It never prompts. Each candidate becomes a ``RenameQuestion`` and
each need a ``DefaultQuestion``; a policy answers them in this order:

1. a ``previous_name`` hint on the new model or field (decided before any question);
2. ``answers`` / ``one_off_defaults`` the policy carries (what the shell collected);
3. the policy's own rule: ``AskPolicy`` calls the shell's callback,
   ``AcceptUnambiguousRenames`` accepts a candidate that is the only one for both
   sides, ``NeverRename`` says no.

A question no one answers comes back in ``DetectionResult.questions`` (renames) or
raises ``MissingOneOffDefault`` (defaults); the shell asks the user and calls again
with ``policy.with_answers(...)`` / ``policy.with_one_off_defaults(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, Self

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.fields import Default, FieldState, NoDefault, as_default

__all__ = [
    "AcceptUnambiguousRenames",
    "AskPolicy",
    "DefaultQuestion",
    "DefaultReason",
    "FieldKey",
    "NeverRename",
    "Policy",
    "Question",
    "RenameKey",
    "RenameKind",
    "RenamePolicy",
    "RenameQuestion",
    "rename_key",
]

RenameKind = Literal["model", "field"]
#: ``(kind, app_label, model, old_name, new_name)``; ``model`` is ``""`` for a model rename.
RenameKey = tuple[str, str, str, str, str]
#: ``(app_label, model, field)``.
FieldKey = tuple[str, str, str]


def rename_key(kind: RenameKind, app_label: str, model: str, old_name: str, new_name: str) -> RenameKey:
    """Return the key answering a rename question (``model`` is ignored for model renames)."""
    return (kind, app_label, model if kind == "field" else "", old_name, new_name)


@attrs.frozen
class RenameQuestion:
    """Was ``old_name`` renamed to ``new_name``? ``exact`` when nothing else changed."""

    kind: RenameKind
    app_label: str
    model_name: str
    old_name: str
    new_name: str
    exact: bool
    similarity: float
    unambiguous: bool
    differences: tuple[str, ...] = ()

    @property
    def key(self) -> RenameKey:
        """Return the key under which an answer is given."""
        return rename_key(self.kind, self.app_label, self.model_name, self.old_name, self.new_name)

    def prompt(self) -> str:
        """Return the question as a sentence for a terminal."""
        if self.kind == "model":
            subject = f"model {self.app_label}.{self.old_name} to {self.new_name}"
        else:
            subject = f"field {self.app_label}.{self.model_name}.{self.old_name} to {self.new_name}"
        also = f" (and change {'; '.join(self.differences)})" if self.differences else ""
        return f"Did you rename {subject}{also}?"

    def hint(self) -> str:
        """Return how to make the answer permanent in the models."""
        return f"add previous_name={self.old_name!r} to {self.kind} {self.new_name!r} to say yes for good"


DefaultReason = Literal["add", "not_null"]


@attrs.frozen
class DefaultQuestion:
    """Which value should existing rows get in a NOT NULL field that has no default?

    ``reason`` is ``"add"`` (the field is new; an answer is required) or ``"not_null"``
    (a nullable field becomes NOT NULL; without an answer, existing NULLs make it fail).
    """

    app_label: str
    model_name: str
    field: FieldState
    reason: DefaultReason

    @property
    def key(self) -> FieldKey:
        """Return ``(app_label, model, field)``, the key of ``one_off_defaults``."""
        return (self.app_label, self.model_name, self.field.name)

    @property
    def required(self) -> bool:
        """Tell whether the autodetector refuses to go on without an answer."""
        return self.reason == "add"

    def prompt(self) -> str:
        """Return the question as a sentence for a terminal."""
        label = f"{self.app_label}.{self.model_name}.{self.field.name}"
        what = "a new NOT NULL field" if self.reason == "add" else "becoming NOT NULL"
        return f"Field {label} is {what} without a default: which value should existing rows get?"


Question = RenameQuestion | DefaultQuestion


def _answers(value: Mapping[Any, bool] | None) -> PMap[RenameKey, bool]:
    if isinstance(value, PMap) and all(isinstance(k, tuple) for k in value):
        return value
    return pmap(
        {(k.key if isinstance(k, RenameQuestion) else tuple(k)): bool(v) for k, v in (value or {}).items()}
    )


def _defaults(value: Mapping[Any, Any] | None) -> PMap[FieldKey, Default]:
    converted: dict[FieldKey, Default] = {}
    for key, default in (value or {}).items():
        field_key = key.key if isinstance(key, DefaultQuestion) else tuple(key)
        converted[field_key] = as_default(default)
    return pmap(converted)


class Policy(Protocol):
    """What the autodetector asks of a policy."""

    def decide_rename(self, question: RenameQuestion, *, ask: bool) -> bool | None:
        """Return True to rename, False not to, None to leave the question open."""
        ...

    def one_off_default(self, question: DefaultQuestion, *, ask: bool) -> Default | None:
        """Return the value existing rows get, or None if there is none."""
        ...


@attrs.frozen
class RenamePolicy:
    """Base of the built-in policies: answers and one-off defaults given in advance.

    ``answers`` maps rename keys (or questions) to yes/no; ``one_off_defaults`` maps
    ``(app_label, model, field)`` to a value (a JSON scalar, ``SqlDefault`` ...).
    """

    one_off_defaults: PMap[FieldKey, Default] = attrs.field(factory=pmap, converter=_defaults, kw_only=True)
    answers: PMap[RenameKey, bool] = attrs.field(factory=pmap, converter=_answers, kw_only=True)

    def decide_rename(self, question: RenameQuestion, *, ask: bool) -> bool | None:
        """Return the given answer, else the policy's own decision (None leaves it open)."""
        # No answers given is the usual case: skip building the key and the PMap lookup.
        answer = self.answers.get(question.key) if self.answers else None
        if answer is not None:
            return answer
        return self._decide(question, ask)

    def one_off_default(self, question: DefaultQuestion, *, ask: bool) -> Default | None:
        """Return the given one-off default, else what the policy asks (None if nothing)."""
        given = self.one_off_defaults.get(question.key)
        if given is not None and not isinstance(given, NoDefault):
            return given
        return self._ask_default(question) if ask else None

    def with_answers(self, answers: Mapping[Any, bool]) -> Self:
        """Return a copy that also holds ``answers`` (keys: RenameQuestion or RenameKey)."""
        return attrs.evolve(self, answers=self.answers.update(_answers(answers)))

    def with_one_off_defaults(self, defaults: Mapping[Any, Any]) -> Self:
        """Return a copy that also holds ``defaults`` (keys: DefaultQuestion or FieldKey)."""
        return attrs.evolve(self, one_off_defaults=self.one_off_defaults.update(_defaults(defaults)))

    def _decide(self, question: RenameQuestion, ask: bool) -> bool | None:
        return None

    def _ask_default(self, question: DefaultQuestion) -> Default | None:
        return None


@attrs.frozen
class AskPolicy(RenamePolicy):
    """Ask the shell: ``ask_rename(question) -> bool``, ``ask_default(question) -> value``."""

    ask_rename: Callable[[RenameQuestion], bool]
    ask_default: Callable[[DefaultQuestion], Any] | None = None

    def _decide(self, question: RenameQuestion, ask: bool) -> bool | None:
        return bool(self.ask_rename(question)) if ask else None

    def _ask_default(self, question: DefaultQuestion) -> Default | None:
        if self.ask_default is None:
            return None
        value = as_default(self.ask_default(question))
        return None if isinstance(value, NoDefault) else value


@attrs.frozen
class AcceptUnambiguousRenames(RenamePolicy):
    """Rename when a candidate is the only one for both sides; leave the rest as questions.

    A candidate whose definitions differ (a near match: rename plus alter) is accepted
    only with ``include_near=True``; by default it stays a question.
    """

    include_near: bool = False

    def _decide(self, question: RenameQuestion, ask: bool) -> bool | None:
        if question.unambiguous and (question.exact or self.include_near):
            return True
        return None


@attrs.frozen
class NeverRename(RenamePolicy):
    """Never rename without a ``previous_name`` hint or an explicit answer."""

    def _decide(self, question: RenameQuestion, ask: bool) -> bool | None:
        return False

"""What every comparator receives besides the two objects it compares, and what it returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.autodetector.policy import Policy, Question
from reinhardt_migrations.pure.autodetector.steps import Step
from reinhardt_migrations.pure.fields import ModelKey

__all__ = ["Diff", "DiffContext"]


def _tables(value: Mapping[str, ModelKey]) -> PMap[str, ModelKey]:
    return value if isinstance(value, PMap) else pmap(value)


@attrs.frozen
class DiffContext:
    """What comparators need besides the two objects.

    ``policy`` answers questions; ``ask`` False only collects them; ``tables`` maps the
    table names held before the change to their models; ``split_relation_changes`` makes
    a relation moving to another model a RemoveField plus AddField (the way out when an
    AlterField would close a cycle, such as a new model taking a deleted model's table).
    """

    policy: Policy
    ask: bool = True
    tables: PMap[str, ModelKey] = attrs.field(factory=pmap, converter=_tables)
    split_relation_changes: bool = False


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(value)


def _questions(value: Iterable[Question]) -> tuple[Question, ...]:
    return tuple(value)


@attrs.frozen
class Diff:
    """A comparator's result: steps in generation order and the questions left open."""

    steps: tuple[Step, ...] = attrs.field(default=(), converter=_steps)
    questions: tuple[Question, ...] = attrs.field(default=(), converter=_questions)

"""Comparators for project-wide objects: PostgreSQL extensions and collations.

Creations run before anything that could use them (``PROJECT_FIRST``); removals run
after everything that could have used them (``PROJECT_LAST``). A collation whose
definition changed is removed and created again, both before the schema changes. The
steps carry no app label yet: the detector gives them the project app.
"""

from __future__ import annotations

from reinhardt_migrations.pure.autodetector.steps import PROJECT_FIRST, PROJECT_LAST, Step
from reinhardt_migrations.pure.operations.postgres import (
    CreateCollation,
    CreateExtension,
    DropExtension,
    RemoveCollation,
)
from reinhardt_migrations.pure.state import CollationState, ProjectState

__all__ = ["compare_collations", "compare_extensions"]


def compare_extensions(old: ProjectState, new: ProjectState) -> list[Step]:
    """Return CreateExtension for added extensions and DropExtension for removed ones."""
    if old.extensions == new.extensions:
        return []
    steps = [
        Step("", CreateExtension(name), provides=[PROJECT_FIRST])
        for name in sorted(new.extensions - old.extensions)
    ]
    steps += [
        Step("", DropExtension(name), needs=[PROJECT_LAST])
        for name in sorted(old.extensions - new.extensions)
    ]
    return steps


def _free(name: str) -> tuple[str, ...]:
    return ("free_collation", name)


def _create(collation: CollationState) -> Step:
    operation = CreateCollation(collation.name, collation.locale, collation.provider, collation.deterministic)
    return Step("", operation, needs=[_free(collation.name)], provides=[PROJECT_FIRST])


def _remove(collation: CollationState, *, replaced: bool) -> Step:
    operation = RemoveCollation(collation.name, collation.locale, collation.provider, collation.deterministic)
    # A replaced collation is removed early, so its new definition can precede the schema changes.
    needs = [] if replaced else [PROJECT_LAST]
    return Step("", operation, needs=needs, provides=[_free(collation.name)])


def compare_collations(old: ProjectState, new: ProjectState) -> list[Step]:
    """Return CreateCollation / RemoveCollation steps (both for a changed definition)."""
    if old.collations == new.collations:
        return []
    steps: list[Step] = []
    for name in sorted(set(old.collations) | set(new.collations)):
        before, after = old.collations.get(name), new.collations.get(name)
        if before == after:
            continue
        if before is not None:
            steps.append(_remove(before, replaced=after is not None))
        if after is not None:
            steps.append(_create(after))
    return steps

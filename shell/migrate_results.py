"""What ``migrate``, a plan preview and ``status`` report: values, built by the executor.

Kept apart from ``executor.py`` so that code which only reads results (the CLI's
output, the service, the multi-database executor) does not need the machinery that
produces them; ``executor`` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

from reinhardt_migrations.pure.dialects.base import MigrationSQL
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.sql import Statement

__all__ = [
    "MigrateResult",
    "MigrationStatus",
    "PreviewStep",
    "ProgressCallback",
    "ProgressEvent",
    "StepResult",
]


@attrs.frozen
class ProgressEvent:
    """One report to the progress callback: a migration starts, or is done."""

    phase: Literal["start", "done"]
    key: MigrationKey
    backwards: bool
    index: int
    total: int
    fake: bool = False
    skipped: bool = False
    seconds: float = 0.0

    def describe(self) -> str:
        """Return a line such as ``Applying blog.0001_initial... OK (0.012 s)``."""
        verb = "Unapplying" if self.backwards else "Applying"
        label = f"[{self.index}/{self.total}] {verb} {self.key[0]}.{self.key[1]}..."
        if self.phase == "start":
            return label
        outcome = "SKIPPED (already done)" if self.skipped else "FAKED" if self.fake else "OK"
        return f"{label} {outcome} ({self.seconds:.3f} s)"


ProgressCallback = Callable[[ProgressEvent], None]


@attrs.frozen
class StepResult:
    """What happened to one migration of a plan, and the statements that ran for it."""

    key: MigrationKey
    backwards: bool
    faked: bool
    skipped: bool
    statements: tuple[Statement, ...]
    seconds: float


@attrs.frozen
class MigrateResult:
    """The outcome of ``migrate``: one step result per migration of the plan, in order."""

    steps: tuple[StepResult, ...]

    @property
    def applied(self) -> tuple[MigrationKey, ...]:
        """Return the keys applied (or faked) forwards."""
        return tuple(s.key for s in self.steps if not s.backwards and not s.skipped)

    @property
    def unapplied(self) -> tuple[MigrationKey, ...]:
        """Return the keys unapplied (or faked) backwards."""
        return tuple(s.key for s in self.steps if s.backwards and not s.skipped)

    @property
    def statements(self) -> tuple[Statement, ...]:
        """Return every statement that ran, recorder rows included, in order."""
        return tuple(statement for step in self.steps for statement in step.statements)


@attrs.frozen
class PreviewStep:
    """The statements one migration of a plan would run (``record`` writes the recorder row)."""

    key: MigrationKey
    backwards: bool
    migration: Migration
    sql: MigrationSQL
    record: tuple[Statement, ...]

    @property
    def statements(self) -> tuple[Statement, ...]:
        """Return the migration's statements in the order they run, without the recorder's."""
        return self.sql.all_statements()

    def describe(self) -> str:
        """Return the statements as commented SQL in the order ``migrate`` runs them, record included."""
        verb = "Unapply" if self.backwards else "Apply"
        atomic = self.migration.atomic and self.sql.atomic
        lines = [f"-- {verb} {self.key[0]}.{self.key[1]}"]
        lines += [statement.describe() for statement in self.sql.setup]
        lines.append("BEGIN;" if atomic else "-- not atomic: each operation runs in its own transaction")
        lines += [step.describe() for step in self.sql.steps]
        lines += [statement.describe() for statement in (*self.sql.checks, *self.record)]
        if atomic:
            lines.append("COMMIT;")
        lines += [statement.describe() for statement in self.sql.teardown]
        return "\n".join(lines)


@attrs.frozen
class MigrationStatus:
    """One migration of the graph: applied or not, when, and whether its file still matches."""

    key: MigrationKey
    applied: bool
    applied_at: str | None
    checksum_matches: bool | None

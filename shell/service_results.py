"""What the service's commands return: plain values the CLI formats and scripts read.

``service`` re-exports every name here.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from reinhardt_migrations.pure.dialects.base import MigrationSQL
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.routing import DEFAULT_ALIAS
from reinhardt_migrations.pure.squash import SquashPlan

__all__ = [
    "CheckResult",
    "MakeMigrationsResult",
    "PlannedMigration",
    "SqlResult",
    "SquashMigrationsResult",
    "StatusEntry",
    "StatusResult",
]


@attrs.frozen
class PlannedMigration:
    """A new migration, the file it goes to, its text, and what in it can lose data."""

    migration: Migration
    path: Path
    text: str
    data_loss: tuple[str, ...] = ()


@attrs.frozen
class MakeMigrationsResult:
    """What ``makemigrations`` found (and wrote, unless a dry run)."""

    migrations: tuple[PlannedMigration, ...] = ()
    written: tuple[Path, ...] = ()
    open_questions: tuple[str, ...] = ()
    dry_run: bool = False
    merge: bool = False

    @property
    def has_changes(self) -> bool:
        """Tell whether there was anything to write."""
        return bool(self.migrations)

    @property
    def data_loss(self) -> tuple[str, ...]:
        """Return the warnings of every migration, in order."""
        return tuple(warning for planned in self.migrations for warning in planned.data_loss)


@attrs.frozen
class SquashMigrationsResult:
    """What ``squashmigrations`` made (and wrote, unless a dry run): the squash and its counts."""

    planned: PlannedMigration
    plan: SquashPlan
    written: Path | None = None
    dry_run: bool = False
    optimized: bool = True

    @property
    def migration(self) -> Migration:
        """Return the squashed migration."""
        return self.planned.migration

    @property
    def replaced(self) -> tuple[MigrationKey, ...]:
        """Return the keys the squash replaces."""
        return self.planned.migration.replaces


@attrs.frozen
class StatusEntry:
    """One migration for ``showmigrations``: applied or not, when, its file, and whether the file changed."""

    key: MigrationKey
    applied: bool
    applied_at: str | None
    checksum_matches: bool | None
    path: Path | None
    database: str = DEFAULT_ALIAS


@attrs.frozen
class StatusResult:
    """Every migration (of one app, or all) in planning order, with the configured apps.

    ``databases`` pairs each database alias shown with its apps, in configuration order.
    """

    entries: tuple[StatusEntry, ...]
    apps: tuple[str, ...]
    databases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def of_app(self, app_label: str) -> tuple[StatusEntry, ...]:
        """Return the entries of one app, in planning order."""
        return tuple(entry for entry in self.entries if entry.key[0] == app_label)


@attrs.frozen
class SqlResult:
    """The statements one migration runs (``sqlmigrate``), rendered offline for a dialect."""

    key: MigrationKey
    backwards: bool
    dialect: str
    sql: MigrationSQL


@attrs.frozen
class CheckResult:
    """What ``check`` found: conflicting leaves, and migrations the models still need."""

    conflicts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pending: tuple[Migration, ...] = ()
    problems: tuple[str, ...] = ()
    #: How many migrations ``check --reversible`` ran forwards, backwards and forwards again.
    reversible_checked: int | None = None
    #: Whether ``check --drift`` compared the live database(s) with the applied migrations.
    drift_checked: bool = False

    @property
    def ok(self) -> bool:
        """Tell whether models and migrations agree and the graph has no conflicts."""
        return not self.conflicts and not self.pending and not self.problems

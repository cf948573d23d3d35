"""Errors the shell raises: database URLs, drivers, statements, recorded history.

Theory of operation: foreign errors (sqlite3, psycopg, the MySQL driver) are turned
into these once, where the driver is called, with ``raise ... from`` so the driver's
own message stays in the chain. A ``DatabaseError`` is born knowing only its
statement; the executor adds the migration and the operation it was running with
``in_context`` before the error reaches the caller.

    MigrationError (pure)
    ├── AmbiguousMigrationName   (LookupError)  a name prefix several migrations of an app start with
    ├── ConfigError              (ValueError)   the configuration is missing, or a setting in it is wrong
    ├── InvalidDatabaseUrl       (ValueError)   a URL no backend understands
    ├── MissingDriver            (ImportError)  the optional extra is not installed
    ├── DatabaseError                           a statement failed (migration, operation, statement)
    │   ├── ForeignKeyViolation                 rows break a foreign key after a migration
    │   ├── DatabaseLocked                      another process holds the database
    │   │   └── RunLockHeld                     another migrate run kept the run lock past the timeout
    │   └── InterruptedMigration                a migration failed midway where DDL commits (MySQL)
    ├── ProgressMismatch                        a half-run migration cannot be continued as it is
    ├── ChecksumMismatch                        an applied migration's file changed since
    └── FakeInitialMismatch                     --fake-initial met a schema unlike the migration's
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from reinhardt_migrations.pure.errors import MigrationError

__all__ = [
    "CONFIG_SECTION",
    "AmbiguousMigrationName",
    "ChecksumMismatch",
    "ConfigError",
    "DatabaseError",
    "DatabaseLocked",
    "FakeInitialMismatch",
    "ForeignKeyViolation",
    "InterruptedMigration",
    "InvalidDatabaseUrl",
    "MissingDriver",
    "ProgressMismatch",
    "RunLockHeld",
    "display_url",
]

_SQL_SHOWN = 400
#: The pyproject.toml table the configuration lives in: ``[tool.reinhardt-migrations]``.
CONFIG_SECTION = "reinhardt-migrations"


def _short_sql(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= _SQL_SHOWN else text[: _SQL_SHOWN - 3] + "..."


def display_url(url: str) -> str:
    """Return ``url`` with its password, if any, replaced by ``***`` (also when it does not parse)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # A port that is not a number and the like: mask whatever sits between ':' and '@'.
        return re.sub(r"(//[^/:@]*):[^@/]*@", r"\1:***@", url)
    if password is None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class InvalidDatabaseUrl(MigrationError, ValueError):
    """A database URL that names no backend, or names it wrongly; its password is never shown."""

    def __init__(self, url: str, problem: str) -> None:
        url = display_url(url)
        self.url = url
        self.problem = problem
        super().__init__(
            f"Cannot use the database URL {url!r}: {problem}. Write it like "
            "'sqlite:///db.sqlite3', 'sqlite://:memory:', 'postgresql://user@host/name' "
            "or 'mysql://user@host/name'."
        )


class MissingDriver(MigrationError, ImportError):
    """The driver of a database is not installed; the message names the extra to install."""

    def __init__(self, scheme: str, extra: str) -> None:
        self.scheme = scheme
        self.extra = extra
        super().__init__(
            f"The {scheme} backend needs its driver, which is not installed. Run: "
            f"pip install 'reinhardt-migrations[{extra}]'"
        )


class DatabaseError(MigrationError):
    """A statement failed on the database; carries the migration, the operation and the statement."""

    def __init__(
        self,
        statement: str,
        reason: str,
        *,
        migration: str = "",
        operation: str = "",
        rolled_back: bool = True,
    ) -> None:
        self.statement = statement
        self.reason = reason
        self.migration = migration
        self.operation = operation
        self.rolled_back = rolled_back
        super().__init__(self._message())

    def _message(self) -> str:
        where = ""
        if self.migration:
            where = f" in migration {self.migration}"
            if self.operation:
                where += f", operation {self.operation}"
        if not self.migration:
            outcome = "Check the statement and the database, then try again."
        elif self.rolled_back:
            outcome = (
                "The migration was rolled back: nothing of it is applied or recorded. "
                "Fix the migration or the data, then run migrate again."
            )
        else:
            outcome = (
                "The migration is not atomic, so the statements before this one stay "
                "applied and the migration is not recorded. Repair the schema by hand "
                "(or finish it and record it with --fake), then run migrate again."
            )
        return f"Database error{where}: {self.reason}. Statement: {_short_sql(self.statement)} {outcome}"

    def in_context(self, migration: str, operation: str, *, rolled_back: bool = True) -> DatabaseError:
        """Return the same error naming the migration and the operation that ran the statement."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.migration = migration
        clone.operation = operation
        clone.rolled_back = rolled_back
        MigrationError.__init__(clone, clone._message())
        return clone


class ForeignKeyViolation(DatabaseError):
    """A check statement (``PRAGMA foreign_key_check``) found rows referring to missing rows."""

    def __init__(self, statement: str, violations: Sequence[tuple[object, ...]]) -> None:
        self.violations = tuple(violations)
        shown = "; ".join(
            f"table {row[0]} rowid {row[1]} -> {row[2]}" for row in self.violations[:5] if len(row) >= 3
        )
        more = f" and {len(self.violations) - 5} more" if len(self.violations) > 5 else ""
        super().__init__(statement, f"{len(self.violations)} row(s) break a foreign key ({shown}{more})")


class DatabaseLocked(DatabaseError):
    """The database stayed locked by another connection for longer than the timeout."""


class RunLockHeld(DatabaseLocked):
    """Another ``migrate`` run kept the run lock for longer than this run would wait.

    ``holder`` describes who holds it (process id, application, client address, as far
    as the database tells); ``advice`` says how to end a holder that is stuck.
    """

    def __init__(self, database: str, holder: str, waited: float, advice: str = "") -> None:
        self.database = database
        self.holder = holder
        self.waited = waited
        self.advice = advice
        super().__init__("-- take the migrate run lock", f"another migrate run holds the lock of {database}")

    def _message(self) -> str:
        advice = f" {self.advice}" if self.advice else ""
        return (
            f"Another migrate run holds the run lock of {self.database}, and kept it for the "
            f"{self.waited:g} s this run waited: {self.holder}. Nothing was run. Let that run finish, "
            f"then run migrate again (it skips what the other run applied).{advice}"
        )


class InterruptedMigration(DatabaseError):
    """A migration failed in its middle on a database that commits each DDL statement (MySQL).

    What ran before the failing statement stays, and is recorded as progress: ``done``
    lists the operations that are through, ``ran`` the statements of the failing
    ``operation`` that ran (of ``total``), ``pending`` the operations that did not run.
    ``advice`` says how to finish, or to undo what ran.
    """

    def __init__(
        self,
        statement: str,
        reason: str,
        *,
        migration: str,
        operation: str,
        while_doing: str,
        done: Sequence[str],
        ran: Sequence[str],
        total: int,
        pending: Sequence[str],
        recorded: bool,
        advice: str,
    ) -> None:
        self.while_doing = while_doing
        self.done = tuple(done)
        self.ran = tuple(ran)
        self.total = total
        self.pending = tuple(pending)
        self.recorded = recorded
        self.advice = advice
        super().__init__(statement, reason, migration=migration, operation=operation, rolled_back=False)

    def _message(self) -> str:
        done = ", ".join(self.done) if self.done else "none"
        pending = ", ".join(self.pending) if self.pending else "none"
        if self.ran:
            statements = "; ".join(_short_sql(sql) for sql in self.ran)
            failed = f"{self.operation} ran {len(self.ran)} of its {self.total} statement(s) ({statements})"
        else:
            failed = f"{self.operation} ran none of its {self.total} statement(s)"
        recorded = "is still recorded as applied" if self.recorded else "is not recorded as applied"
        return (
            f"Database error in migration {self.migration}, operation {self.operation}, while "
            f"{self.while_doing}: {self.reason}. Statement: {_short_sql(self.statement)}. "
            "MySQL commits each DDL statement, so what ran before it stays, recorded as progress. "
            f"Operations through: {done}. Operation {failed}. Not run: {pending}. "
            f"The migration {recorded}. {self.advice}"
        )


class ProgressMismatch(MigrationError):
    """A half-run migration (see ``InterruptedMigration``) that cannot be continued or undone as it is."""

    def __init__(self, migration: str, problem: str, advice: str) -> None:
        self.migration = migration
        self.problem = problem
        self.advice = advice
        super().__init__(f"Migration {migration} is half run, and {problem}. {advice} Nothing was run.")


class ChecksumMismatch(MigrationError):
    """Applied migrations whose files changed after they were applied (history was edited)."""

    def __init__(self, mismatches: Sequence[tuple[tuple[str, str], str, str]]) -> None:
        self.mismatches = tuple(sorted(mismatches))
        listed = "; ".join(
            f"{app}.{name} (recorded {recorded[:12]}, file {current[:12]})"
            for (app, name), recorded, current in self.mismatches
        )
        super().__init__(
            f"Applied migration(s) changed since they were applied: {listed}. Restore the "
            "files as they were applied and put new changes in a new migration; if the edit "
            "is intended and the database already matches it, re-record the migration "
            "(migrate --fake back and forth)."
        )


class FakeInitialMismatch(MigrationError):
    """``fake_initial`` found some of an initial migration's tables, but not all, or not as written."""

    def __init__(self, migration: str, problems: Sequence[str]) -> None:
        self.migration = migration
        self.problems = tuple(problems)
        super().__init__(
            f"Cannot fake the initial migration {migration}: {'; '.join(self.problems)}. "
            "The database holds part of its schema only. Bring the tables in line with "
            "the migration by hand, or drop them and migrate without --fake-initial."
        )


class AmbiguousMigrationName(MigrationError, LookupError):
    """A migration name prefix that several migrations of an app start with."""

    def __init__(self, app_label: str, prefix: str, matches: tuple[str, ...]) -> None:
        self.app_label = app_label
        self.prefix = prefix
        self.matches = matches
        super().__init__(
            f"More than one migration of app {app_label!r} starts with {prefix!r}: "
            f"{', '.join(matches)}. Give more of the name."
        )


class ConfigError(MigrationError, ValueError):
    """The configuration is missing, or a setting in it is wrong; names the file and the key."""

    def __init__(self, problem: str, *, source: Path | None = None, key: str | None = None) -> None:
        self.problem = problem
        self.source = source
        self.key = key
        where = str(source) if source is not None else "configuration"
        setting = f" [tool.{CONFIG_SECTION}] {key}" if key else ""
        super().__init__(f"{where}:{setting}: {problem}")

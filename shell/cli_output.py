"""Pure formatters of the CLI: service results -> text or JSON documents.

Each ``format_…`` function takes a result value and returns the text a command prints;
nothing here prints or reads anything. Colour comes from a ``style(text, role)``
callable the CLI passes (roles: ok, warn, error, head, dim); the default adds none.
JSON documents have sorted keys, so scripts and tests can compare them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from reinhardt_migrations.shell.databases import (
    DatabasePreviewStep,
    DatabaseProgressEvent,
    DatabaseStepResult,
)
from reinhardt_migrations.shell.executor import MigrateResult, PreviewStep, ProgressEvent, StepResult
from reinhardt_migrations.shell.service import (
    CheckResult,
    MakeMigrationsResult,
    SqlResult,
    SquashMigrationsResult,
    StatusResult,
)

__all__ = [
    "Styler",
    "format_check",
    "format_check_json",
    "format_database_heading",
    "format_makemigrations",
    "format_makemigrations_json",
    "format_migrate",
    "format_migrate_json",
    "format_plan",
    "format_plan_json",
    "format_progress",
    "format_sql",
    "format_sql_json",
    "format_squashmigrations",
    "format_squashmigrations_json",
    "format_status",
    "format_status_json",
    "plain",
    "squash_advice",
]

Styler = Callable[[str, str], str]


def plain(text: str, role: str) -> str:
    """Return ``text`` as it is: the styler for output without colour."""
    return text


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


# -- pure formatters -----------------------------------------------------------------------


def format_makemigrations(
    result: MakeMigrationsResult, root: Path, *, verbose: bool = False, style: Styler = plain
) -> str:
    """Return what makemigrations made (or would make), with each migration's operations described."""
    if not result.has_changes:
        return "No conflicts detected to merge." if result.merge else "No changes detected."
    lines: list[str] = []
    app = None
    for planned in result.migrations:
        if planned.migration.app_label != app:
            app = planned.migration.app_label
            verb = "would be written" if result.dry_run else "written"
            lines.append(style(f"Migrations for {app!r} ({verb}):", "head"))
        lines.append(f"  {_relative(planned.path, root)}")
        if result.merge:
            lines.append(f"    - Merge {', '.join(name for _app, name in planned.migration.dependencies)}")
        for operation in planned.migration.operations:
            lines.append(f"    - {operation.describe()}")
        if verbose and result.dry_run:
            lines.extend(f"      {line}".rstrip() for line in planned.text.splitlines())
    if result.data_loss:
        lines.append(style("Warning: these operations lose data when migrate runs them:", "warn"))
        lines.extend(style(f"  - {warning}", "warn") for warning in result.data_loss)
    for question in result.open_questions:
        lines.append(style(f"Note: {question}", "warn"))
    return "\n".join(lines)


def format_makemigrations_json(result: MakeMigrationsResult, root: Path) -> str:
    """Return the makemigrations result as a JSON document."""
    return _json(
        {
            "changes": result.has_changes,
            "dry_run": result.dry_run,
            "merge": result.merge,
            "migrations": [
                {
                    "app": planned.migration.app_label,
                    "name": planned.migration.name,
                    "path": _relative(planned.path, root),
                    "dependencies": [list(key) for key in planned.migration.dependencies],
                    "operations": [operation.describe() for operation in planned.migration.operations],
                    "data_loss": list(planned.data_loss),
                }
                for planned in result.migrations
            ],
            "written": [_relative(path, root) for path in result.written],
            "open_questions": list(result.open_questions),
        }
    )


def _squash_range(result: SquashMigrationsResult) -> str:
    squashed = result.plan.squashed
    return f"{squashed[0].name} .. {squashed[-1].name}"


def squash_advice(result: SquashMigrationsResult) -> str:
    """Return what to do after a squash: keep the old files until every database applied it."""
    migration = result.migration
    return (
        f"Keep the old migration files until every database has applied the squash (`rmig migrate`; "
        f"fresh databases apply only {migration.name}). Then delete the files of "
        f"{migration.app_label} {_squash_range(result)} and remove `replaces` from {migration.name}, "
        "which makes it a normal migration."
    )


def format_squashmigrations(result: SquashMigrationsResult, root: Path, style: Styler = plain) -> str:
    """Return what squashmigrations made (or would make): counts, the file, its operations, advice."""
    plan, migration = result.plan, result.migration
    app = migration.app_label
    elided = f", {plan.elided} elidable dropped" if plan.elided else ""
    optimized = "" if result.optimized else ", not optimized"
    verb = "would be written" if result.dry_run else "written"
    lines = [
        f"Squashing {len(plan.squashed)} migrations of {app!r} ({_squash_range(result)}): "
        f"{plan.operations_in} operation(s) in, {plan.operations_out} out{elided}{optimized}.",
        style(f"Squashed migration for {app!r} ({verb}):", "head"),
        f"  {_relative(result.planned.path, root)}",
    ]
    lines.extend(f"    - {operation.describe()}" for operation in migration.operations)
    if plan.kept_code:
        lines.append(
            style(
                f"Note: the squash keeps {len(plan.kept_code)} RunSQL/RunCode operation(s); they run when a "
                "fresh database applies it. Mark the ones only existing databases need elidable=True "
                "before squashing to leave them out.",
                "warn",
            )
        )
    lines.append(squash_advice(result))
    return "\n".join(lines)


def format_squashmigrations_json(result: SquashMigrationsResult, root: Path) -> str:
    """Return the squashmigrations result as a JSON document."""
    plan, migration = result.plan, result.migration
    return _json(
        {
            "app": migration.app_label,
            "name": migration.name,
            "path": _relative(result.planned.path, root),
            "dry_run": result.dry_run,
            "written": None if result.written is None else _relative(result.written, root),
            "replaces": [list(key) for key in migration.replaces],
            "squashed": [migration.name for migration in plan.squashed],
            "dependencies": [list(key) for key in migration.dependencies],
            "operations": [operation.describe() for operation in migration.operations],
            "operations_in": plan.operations_in,
            "operations_out": plan.operations_out,
            "elided": plan.elided,
            "kept_code": len(plan.kept_code),
            "optimized": result.optimized,
            "advice": squash_advice(result),
        }
    )


def format_progress(event: ProgressEvent, style: Styler = plain) -> str:
    """Return the text of a progress event: the label when a migration starts, its outcome when done.

    The two halves make one line, ``[1/2] Applying blog.0001_initial... OK (0.012 s)``, so a
    long migration shows what is running while it runs.
    """
    start = attrs.evolve(event, phase="start").describe()
    if event.phase == "start":
        return start
    outcome = event.describe()[len(start) :]
    return style(outcome, "dim" if event.skipped else "ok")


def _database_of(step: StepResult | PreviewStep) -> str | None:
    if isinstance(step, DatabaseStepResult | DatabasePreviewStep):
        return step.database
    return None


def format_database_heading(event: ProgressEvent, previous: str | None) -> str:
    """Return ``Database 'alias':`` when a migration of another database than the last starts, else ``""``."""
    if not isinstance(event, DatabaseProgressEvent) or event.phase != "start":
        return ""
    heading = f"Database {event.database!r}:"
    return "" if heading == previous else heading


def format_migrate(result: MigrateResult, style: Styler = plain) -> str:
    """Return the closing line of a migrate run (naming how many databases, if more than one)."""
    if not result.steps:
        return "No migrations to apply: the database is up to date."
    applied, unapplied = len(result.applied), len(result.unapplied)
    faked = sum(1 for step in result.steps if step.faked)
    parts = []
    if applied:
        parts.append(f"applied {applied}")
    if unapplied:
        parts.append(f"unapplied {unapplied}")
    summary = ", ".join(parts) or "nothing changed"
    extra = f" ({faked} faked)" if faked else ""
    databases = {_database_of(step) for step in result.steps} - {None}
    where = f" on {len(databases)} databases" if len(databases) > 1 else ""
    return style(f"Done: {summary} migration(s){extra}{where}.", "ok")


def format_migrate_json(result: MigrateResult) -> str:
    """Return the migrate result as a JSON document."""
    return _json(
        {
            "steps": [
                {
                    "app": step.key[0],
                    "name": step.key[1],
                    "direction": "backwards" if step.backwards else "forwards",
                    "faked": step.faked,
                    "skipped": step.skipped,
                    "statements": len(step.statements),
                    "seconds": round(step.seconds, 6),
                    **_database_field(step),
                }
                for step in result.steps
            ]
        }
    )


def _database_field(step: StepResult | PreviewStep) -> dict[str, str]:
    database = _database_of(step)
    return {} if database is None else {"database": database}


def format_plan(steps: Sequence[PreviewStep], style: Styler = plain, *, databases: bool = False) -> str:
    """Return the migrations a migrate would run, each with its SQL (and, with ``databases``, where)."""
    if not steps:
        return "No planned migration operations: the database is up to date."
    lines = [style("Planned operations:", "head")]
    for step in steps:
        verb = "Unapply" if step.backwards else "Apply"
        database = _database_of(step)
        where = f" on database {database!r}" if databases and database is not None else ""
        lines.append(style(f"{verb} {step.key[0]}.{step.key[1]}{where}", "head"))
        # The SQL is headed by a comment describing each operation; the first line repeats ours.
        lines.extend(f"    {line}" for line in step.describe().splitlines()[1:])
    return "\n".join(lines)


def format_plan_json(steps: Sequence[PreviewStep]) -> str:
    """Return the plan as a JSON document: migrations in order, with their statements."""
    return _json(
        {
            "plan": [
                {
                    "app": step.key[0],
                    "name": step.key[1],
                    "direction": "backwards" if step.backwards else "forwards",
                    "operations": [operation.describe() for operation in step.migration.operations],
                    "sql": [statement.sql for statement in step.statements],
                    **_database_field(step),
                }
                for step in steps
            ]
        }
    )


def format_status(status: StatusResult, *, plan: bool = False, style: Styler = plain) -> str:
    """Return ``showmigrations`` output: per app (or, with ``plan``, in global order) with [X] marks."""

    def mark(applied: bool) -> str:
        return style("[X]", "ok") if applied else "[ ]"

    def note(matches: bool | None) -> str:
        return style("  (file changed since it was applied)", "warn") if matches is False else ""

    several = len(status.databases) > 1
    if plan:
        if not status.entries:
            return "(no migrations)"
        return "\n".join(
            f"{mark(e.applied)}  {e.key[0]}.{e.key[1]}"
            f"{f'  (database {e.database})' if several else ''}{note(e.checksum_matches)}"
            for e in status.entries
        )
    lines = []
    groups = status.databases if several else (("", status.apps),)
    for database, apps in groups:
        indent = "  " if several else ""
        if several:
            lines.append(style(f"Database {database!r}:", "head"))
        for app in apps:
            lines.append(indent + style(app, "head"))
            entries = status.of_app(app)
            if not entries:
                lines.append(f"{indent} (no migrations)")
            lines.extend(f"{indent} {mark(e.applied)} {e.key[1]}{note(e.checksum_matches)}" for e in entries)
    return "\n".join(lines)


def format_status_json(status: StatusResult, root: Path) -> str:
    """Return the status as a JSON document in planning order."""
    return _json(
        {
            "migrations": [
                {
                    "app": entry.key[0],
                    "name": entry.key[1],
                    "applied": entry.applied,
                    "applied_at": entry.applied_at,
                    "checksum_matches": entry.checksum_matches,
                    "path": _relative(entry.path, root),
                    "database": entry.database,
                }
                for entry in status.entries
            ]
        }
    )


def format_sql(result: SqlResult) -> str:
    """Return the SQL of one migration as ``sqlmigrate`` prints it."""
    verb = "Unapply" if result.backwards else "Apply"
    header = f"-- {verb} {result.key[0]}.{result.key[1]} ({result.dialect})"
    transaction = [] if not result.sql.atomic else ["-- runs in one transaction"]
    return "\n".join([header, *transaction, result.sql.describe()])


def format_sql_json(result: SqlResult) -> str:
    """Return the SQL of one migration as a JSON document."""
    return _json(
        {
            "app": result.key[0],
            "name": result.key[1],
            "direction": "backwards" if result.backwards else "forwards",
            "dialect": result.dialect,
            "atomic": result.sql.atomic,
            "statements": [
                {"sql": s.sql, "params": list(map(repr, s.params)), "transactional": s.transactional}
                for s in result.sql.all_statements()
            ],
        }
    )


def format_check(result: CheckResult, style: Styler = plain) -> str:
    """Return the check's verdict and, if it failed, why and what to do."""
    if result.ok:
        verdict = "OK: migrations load, have no conflicts and match the models."
        if result.reversible_checked is not None:
            verdict += (
                f" All {result.reversible_checked} migration(s) ran forwards, backwards and forwards "
                "again on a scratch SQLite database, matching their state at every step."
            )
        if result.drift_checked:
            verdict += " The database matches its applied migrations."
        return style(verdict, "ok")
    lines = []
    for app, leaves in result.conflicts:
        lines.append(style(f"Conflict in app {app!r}: leaves {', '.join(leaves)}.", "error"))
    if result.conflicts:
        lines.append("Run `rmig makemigrations --merge` to write merge migrations.")
    if result.pending:
        lines.append(style("The models have changes that are not in migrations:", "error"))
        for migration in result.pending:
            lines.append(f"  {migration.app_label}.{migration.name}")
            lines.extend(f"    - {operation.describe()}" for operation in migration.operations)
        lines.append("Run `rmig makemigrations` to write them.")
    lines.extend(style(problem, "error") for problem in result.problems)
    return "\n".join(lines)


def format_check_json(result: CheckResult) -> str:
    """Return the check's verdict as a JSON document."""
    return _json(
        {
            "ok": result.ok,
            "conflicts": {app: list(leaves) for app, leaves in result.conflicts},
            "pending": [
                {
                    "app": migration.app_label,
                    "name": migration.name,
                    "operations": [operation.describe() for operation in migration.operations],
                }
                for migration in result.pending
            ],
            "problems": list(result.problems),
            "reversible_checked": result.reversible_checked,
            "drift_checked": result.drift_checked,
        }
    )

"""The console commands ``reinhardt-migrations`` and ``rmig``: thin over MigrationService.

Theory of operation: each command parses its options, calls one MigrationService
method and prints the result through a pure ``format_…`` function of ``cli_output``
(text, or a JSON document with ``--json``). Colour is applied by a styler passed to the formatters and
shown only on a terminal (click strips it elsewhere; ``NO_COLOR`` turns it off).

Exit codes: 0 success; 1 a MigrationError (our message, no traceback), a failed
``check`` or ``makemigrations --check`` with changes, or a stop at a prompt;
2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import click

from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.shell.cli_output import (
    Styler,
    format_check,
    format_check_json,
    format_database_heading,
    format_makemigrations,
    format_makemigrations_json,
    format_migrate,
    format_migrate_json,
    format_plan,
    format_plan_json,
    format_progress,
    format_sql,
    format_sql_json,
    format_squashmigrations,
    format_squashmigrations_json,
    format_status,
    format_status_json,
    plain,
)
from reinhardt_migrations.shell.config import FORMATS
from reinhardt_migrations.shell.executor import ProgressEvent
from reinhardt_migrations.shell.prompts import (
    RENAME_POLICIES,
    TerminalQuestioner,
    noinput_policy,
    parse_default_answer,
)
from reinhardt_migrations.shell.service import MigrationService

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "cli", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

_COLOURS = {"ok": "green", "warn": "yellow", "error": "red", "head": "cyan", "dim": "bright_black"}


def _terminal_style(text: str, role: str) -> str:
    return click.style(text, fg=_COLOURS.get(role), bold=role == "head")


# -- the commands ------------------------------------------------------------------------


class _State:
    """What the group passes to its commands: the --config path and the styler."""

    def __init__(self, config: Path | None, style: Styler) -> None:
        self.config = config
        self.style = style

    def service(self, *, database_url: str | None = None, file_format: str | None = None) -> MigrationService:
        return MigrationService.from_pyproject(
            self.config, database_url=database_url, file_format=file_format
        )


def _url_or_alias(database: str | None) -> tuple[str | None, str | None]:
    """Return ``(url, alias)`` for a --database value: a value with ``://`` is a URL, else an alias."""
    if database is None:
        return None, None
    return (database, None) if "://" in database else (None, database)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn our errors into a message on stderr and exit code 1, without a traceback."""
    try:
        yield
    except MigrationError as error:
        _echo(click.style(f"Error: {error}", fg="red"), err=True)
        sys.exit(EXIT_ERROR)


def _echo(text: str, *, newline: bool = True, err: bool = False) -> None:
    click.echo(text, nl=newline, err=err, color=False if "NO_COLOR" in os.environ else None)


def _style_for(ctx: click.Context) -> Styler:
    state = ctx.find_object(_State)
    return state.style if state is not None else plain


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="pyproject.toml to read [tool.reinhardt-migrations] from (default: found by walking up "
    "from the current folder).",
)
@click.version_option(package_name="reinhardt-migrations", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Schema migrations in the spirit of Django's, for any Python project.

    Exit codes: 0 success, 1 error or check failed, 2 usage error.
    """
    style: Styler = plain if "NO_COLOR" in os.environ else _terminal_style
    ctx.obj = _State(config, style)


def _database_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database",
        "database",
        metavar="ALIAS|URL",
        default=None,
        help="A database alias of the configuration (only that database), or a URL replacing the "
        "default database's (overrides DATABASE_URL and the configuration), e.g. sqlite:///db.sqlite3.",
    )(function)


def _json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON document for scripts.")(
        function
    )


@cli.command()
@click.argument("apps", nargs=-1, metavar="[APP]...")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be written (and the operations), write nothing."
)
@click.option(
    "--name", "-n", default=None, help="Use this name for the migration(s) instead of a generated one."
)
@click.option("--empty", is_flag=True, help="Write an empty migration for each APP (for RunSQL or RunCode).")
@click.option(
    "--check", "check_only", is_flag=True, help="Write nothing; exit 1 if migrations are missing (CI)."
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    default=None,
    help="File format of new migrations (default: the configuration's, else python).",
)
@click.option(
    "--interactive/--noinput",
    " /--no-input",
    "interactive",
    default=None,
    help="Ask about renames, one-off defaults and data loss (default: only on a terminal).",
)
@click.option(
    "--rename-policy",
    type=click.Choice(sorted(RENAME_POLICIES)),
    default="unambiguous",
    show_default=True,
    help="Without questions, how to treat rename candidates: "
    + "; ".join(f"{name}: {text}" for name, text in sorted(RENAME_POLICIES.items()))
    + ". previous_name hints always rename.",
)
@click.option(
    "--default",
    "defaults",
    multiple=True,
    metavar="APP.MODEL.FIELD=VALUE",
    help="One-off default for existing rows of a new NOT NULL field (a Python literal, or "
    "sql:EXPR); repeatable.",
)
@click.option(
    "--merge", is_flag=True, help="Write a merge migration for each app with several leaf migrations."
)
@click.option("--verbose", "-v", is_flag=True, help="With --dry-run, also print the files' text.")
@_json_option
@click.pass_context
def makemigrations(
    ctx: click.Context,
    apps: tuple[str, ...],
    dry_run: bool,
    name: str | None,
    empty: bool,
    check_only: bool,
    file_format: str | None,
    interactive: bool | None,
    rename_policy: str,
    defaults: tuple[str, ...],
    merge: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Write new migrations for the changes between the models and the migration files.

    With APP labels, only those apps (and the new migrations they depend on).
    Prints "No changes detected." and exits 0 when everything is up to date.
    """
    state: _State = ctx.ensure_object(_State)
    if interactive is None:
        interactive = sys.stdin.isatty() and not check_only and not as_json
    with _errors(), state.service(file_format=file_format) as service:
        questioner = TerminalQuestioner()
        policy = questioner.policy() if interactive else noinput_policy(rename_policy)
        if defaults:
            policy = policy.with_one_off_defaults(_parse_defaults(defaults))
        result = service.makemigrations(
            apps,
            name=name,
            empty=empty,
            merge=merge,
            dry_run=dry_run or check_only,
            policy=policy,
            confirm_data_loss=questioner.confirm_data_loss if interactive else None,
            confirm_merge=questioner.confirm_merge if interactive else None,
        )
        root = service.config.root
        _echo(
            format_makemigrations_json(result, root)
            if as_json
            else format_makemigrations(result, root, verbose=verbose, style=state.style)
        )
    if check_only and result.has_changes:
        sys.exit(EXIT_ERROR)


def _parse_defaults(values: Sequence[str]) -> dict[tuple[str, str, str], Any]:
    parsed: dict[tuple[str, str, str], Any] = {}
    for value in values:
        target, equals, text = value.partition("=")
        parts = target.split(".")
        if not equals or len(parts) != 3 or not all(parts):
            raise click.BadParameter(f"{value!r} is not APP.MODEL.FIELD=VALUE", param_hint="--default")
        try:
            parsed[(parts[0], parts[1], parts[2])] = parse_default_answer(text)
        except (ValueError, SyntaxError) as error:
            raise click.BadParameter(f"{text!r} is not a value ({error})", param_hint="--default") from None
    return parsed


@cli.command()
@click.argument("app")
@click.argument("start", required=False, metavar="[START]")
@click.argument("end", required=False, metavar="END")
@click.option("--name", "-n", default=None, help="Name the squash NNNN_NAME instead of NNNN_squashed_END.")
@click.option("--dry-run", is_flag=True, help="Show the squash and its operations; write nothing.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    default=None,
    help="File format of the squash (default: the configuration's, else python).",
)
@click.option(
    "--no-optimize",
    "no_optimize",
    is_flag=True,
    help="Keep the operations as they are (only elidable ones dropped), without the optimizer.",
)
@_json_option
@click.pass_context
def squashmigrations(
    ctx: click.Context,
    app: str,
    start: str | None,
    end: str | None,
    name: str | None,
    dry_run: bool,
    file_format: str | None,
    no_optimize: bool,
    as_json: bool,
) -> None:
    """Write one migration replacing APP's migrations from START (default: the first) to END.

    START and END are names or unique prefixes (0004). The operations are concatenated,
    elidable RunSQL/RunCode dropped, and optimized. Keep the old files until every
    database has applied the squash; then delete them and remove `replaces` from it.
    """
    state: _State = ctx.ensure_object(_State)
    if end is None:
        # One name is END; START is optional and comes first.
        start, end = None, start
    if end is None:
        raise click.UsageError("Missing argument 'END': the last migration to squash.")
    with _errors(), state.service(file_format=file_format) as service:
        result = service.squashmigrations(
            app, end, start=start, name=name, dry_run=dry_run, optimize=not no_optimize
        )
        root = service.config.root
        _echo(
            format_squashmigrations_json(result, root)
            if as_json
            else format_squashmigrations(result, root, state.style)
        )


@cli.command()
@click.argument("app", required=False)
@click.argument("target", required=False)
@click.option("--fake", is_flag=True, help="Record (or unrecord) the migrations without running their SQL.")
@click.option(
    "--fake-initial",
    is_flag=True,
    help="Record initial migrations whose tables already exist (checked by introspection) "
    "without running them.",
)
@click.option("--plan", "show_plan", is_flag=True, help="Show the migrations and their SQL; run nothing.")
@_database_option
@_json_option
@click.pass_context
def migrate(
    ctx: click.Context,
    app: str | None,
    target: str | None,
    fake: bool,
    fake_initial: bool,
    show_plan: bool,
    database: str | None,
    as_json: bool,
) -> None:
    """Bring the databases to the latest migrations, or to TARGET of APP.

    TARGET is a migration name or a unique prefix of one (0002); `zero` unapplies all of APP.
    An applied TARGET migrates backwards, unapplying what comes after it. With several
    databases, every one is migrated (dependencies between them first) unless
    --database ALIAS names one.
    """
    state: _State = ctx.ensure_object(_State)
    if target is not None and app is None:
        raise click.UsageError("TARGET needs APP")
    database_url, alias = _url_or_alias(database)
    with _errors(), state.service(database_url=database_url) as service:
        several = len(service.config.aliases) > 1
        if show_plan:
            steps = service.plan(app, target, database=alias)
            _echo(format_plan_json(steps) if as_json else format_plan(steps, state.style, databases=several))
            return

        open_line = False
        shown: list[str] = []

        def progress(event: ProgressEvent) -> None:
            nonlocal open_line
            if not as_json:
                heading = format_database_heading(event, shown[-1] if shown else None) if several else ""
                if heading:
                    shown.append(heading)
                    _echo(state.style(heading, "head"))
                open_line = event.phase == "start"
                _echo(format_progress(event, state.style), newline=not open_line)

        try:
            result = service.migrate(
                app, target, fake=fake, fake_initial=fake_initial, progress=progress, database=alias
            )
        finally:
            if open_line:
                _echo("")  # end the progress line a failure interrupted, before the error
        _echo(format_migrate_json(result) if as_json else format_migrate(result, state.style))


@cli.command()
@click.argument("app", required=False)
@click.option(
    "--plan", "show_plan", is_flag=True, help="List every migration in the order migrate applies them."
)
@_database_option
@_json_option
@click.pass_context
def showmigrations(
    ctx: click.Context, app: str | None, show_plan: bool, database: str | None, as_json: bool
) -> None:
    """List the migrations of each app (or APP) with [X] for the applied ones.

    With several databases, the apps are grouped by the database they live on.
    """
    state: _State = ctx.ensure_object(_State)
    database_url, alias = _url_or_alias(database)
    with _errors(), state.service(database_url=database_url) as service:
        status = service.status(app, database=alias)
        root = service.config.root
        _echo(
            format_status_json(status, root)
            if as_json
            else format_status(status, plan=show_plan, style=state.style)
        )


@cli.command()
@click.argument("app")
@click.argument("name")
@click.option("--backwards", is_flag=True, help="Show the SQL that unapplies the migration.")
@_database_option
@_json_option
@click.pass_context
def sqlmigrate(
    ctx: click.Context, app: str, name: str, backwards: bool, database: str | None, as_json: bool
) -> None:
    """Print the SQL migration NAME of APP runs; offline: no database connection is opened.

    The SQL dialect is that of APP's database (its alias's URL, DATABASE_URL or the
    configuration); a --database URL renders for that URL's dialect instead.
    """
    state: _State = ctx.ensure_object(_State)
    with _errors(), state.service() as service:
        result = service.sql(app, name, backwards=backwards, database=database)
        _echo(format_sql_json(result) if as_json else format_sql(result))


@cli.command()
@click.option(
    "--reversible",
    is_flag=True,
    help="Also run every migration forwards, backwards and forwards again on a scratch SQLite "
    "database, comparing it with the migrations' state at each step.",
)
@click.option(
    "--drift",
    is_flag=True,
    help="Also compare the live database(s) with the state their applied migrations build, and "
    "report every table, column, index, constraint or view that differs (reads only).",
)
@_database_option
@_json_option
@click.pass_context
def check(ctx: click.Context, reversible: bool, drift: bool, database: str | None, as_json: bool) -> None:
    """Exit 1 if the migrations are broken, conflict, or miss changes in the models (for CI).

    Needs no database, unless --drift asks to look at one (--database picks it).
    """
    state: _State = ctx.ensure_object(_State)
    database_url, alias = _url_or_alias(database)
    with _errors(), state.service(database_url=database_url) as service:
        result = service.check()
        if reversible and not result.conflicts:
            result = attrs.evolve(
                result,
                problems=(*result.problems, *service.check_reversible()),
                reversible_checked=len(service.load().graph),
            )
        if drift and not result.conflicts:
            found = service.drift(alias)
            result = attrs.evolve(
                result,
                problems=(*result.problems, *(f"Drift: {line}" for line in found)),
                drift_checked=True,
            )
        _echo(format_check_json(result) if as_json else format_check(result, state.style))
    if not result.ok:
        sys.exit(EXIT_ERROR)


def main() -> None:
    """Run the command line (the ``rmig`` and ``reinhardt-migrations`` scripts)."""
    # The models modules are imported afresh each run; bytecode files beside them would
    # only clutter the user's project.
    sys.dont_write_bytecode = True
    cli(prog_name=Path(sys.argv[0]).name or "rmig")


if __name__ == "__main__":
    main()

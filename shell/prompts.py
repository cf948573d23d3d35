"""Asking the autodetector's open questions at a terminal, and the policies for --noinput.

Theory of operation: the pure autodetector never prompts; its policy decides renames
and one-off defaults. For an interactive ``makemigrations`` the CLI builds an
``AskPolicy`` whose callbacks are the methods of a ``TerminalQuestioner``: each rename
candidate becomes a yes/no question (with the hint that makes the answer permanent),
each NOT NULL field added without a default asks for a value. Without a terminal
(``--noinput``), a rename policy named on the command line decides instead.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from typing import Literal

import click

from reinhardt_migrations.pure.autodetector.policy import (
    AcceptUnambiguousRenames,
    AskPolicy,
    DefaultQuestion,
    NeverRename,
    RenamePolicy,
    RenameQuestion,
)
from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.fields import Default, SqlDefault

__all__ = [
    "RENAME_POLICIES",
    "AbortedByUser",
    "RenamePolicyName",
    "TerminalQuestioner",
    "noinput_policy",
    "parse_default_answer",
]

RenamePolicyName = Literal["unambiguous", "near", "never"]
#: The rename policies ``--noinput`` can use, with what each does (shown in --help).
RENAME_POLICIES: dict[str, str] = {
    "unambiguous": "rename when a removed and an added name match exactly and nothing else competes",
    "near": "like unambiguous, also when the definitions differ a little (rename, then alter)",
    "never": "never rename without a previous_name hint: drop and add instead",
}


class AbortedByUser(MigrationError):
    """The person at the terminal chose to stop; nothing was written."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"Stopped at your request ({what}). Nothing was written.")


def noinput_policy(name: str) -> RenamePolicy:
    """Return the policy ``--noinput --rename-policy NAME`` means (``previous_name`` hints always win)."""
    if name == "never":
        return NeverRename()
    return AcceptUnambiguousRenames(include_near=name == "near")


def parse_default_answer(text: str) -> Default | bool | int | float | str | None:
    """Return the one-off default a typed answer means: a Python literal, or ``sql:EXPRESSION``.

    Raises:
        ValueError: the text is neither a literal nor ``sql:...``.
    """
    stripped = text.strip()
    if stripped.lower().startswith("sql:"):
        return SqlDefault(stripped[4:].strip())
    value = ast.literal_eval(stripped)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"{stripped} is not a number, string, boolean or None")


def _warning(text: str) -> str:
    return text if "NO_COLOR" in os.environ else click.style(text, fg="yellow")


class TerminalQuestioner:
    """Asks rename and one-off default questions, and confirmations, at the terminal."""

    def policy(self) -> AskPolicy:
        """Return an autodetector policy that asks through this questioner."""
        return AskPolicy(ask_rename=self.ask_rename, ask_default=self.ask_default)

    def ask_rename(self, question: RenameQuestion) -> bool:
        """Ask whether a candidate is a rename; say how to record the answer in the models."""
        answer = click.confirm(question.prompt(), default=question.exact)
        if answer:
            click.echo(f"  (to skip this question next time, {question.hint()})")
        return answer

    def ask_default(self, question: DefaultQuestion) -> Default | bool | int | float | str | None:
        """Ask for the value existing rows get; an empty answer stops (or skips, when optional)."""
        click.echo(question.prompt())
        click.echo(
            "  Type a Python literal (0, 'draft', True, None) or sql:EXPRESSION "
            "(sql:CURRENT_TIMESTAMP); this value fills existing rows only."
        )
        if not question.required:
            click.echo("  Leave empty to go on without one (existing NULL values then make it fail).")
        else:
            click.echo("  Leave empty to stop, then give the field a default or make it nullable.")
        while True:
            text: str = click.prompt("  Value", default="", show_default=False)
            if not text.strip():
                if question.required:
                    raise AbortedByUser(f"no value for {'.'.join(question.key)}")
                return None
            try:
                return parse_default_answer(text)
            except (ValueError, SyntaxError) as error:
                click.echo(f"  Not a value: {error}. Try again.")

    def confirm_data_loss(self, warnings: Sequence[str]) -> bool:
        """List the operations that lose data and ask whether to write them anyway."""
        click.echo(_warning("These operations lose data when migrate runs them:"), err=True)
        for warning in warnings:
            click.echo(_warning(f"  - {warning}"), err=True)
        return click.confirm("Write the migration(s) anyway?", default=True)

    def confirm_merge(self, app_label: str, leaves: Sequence[str]) -> bool:
        """Ask whether to write a merge migration for ``app_label``'s ``leaves``."""
        return click.confirm(
            f"Merge {', '.join(leaves)} of app {app_label!r} with a merge migration?", default=True
        )

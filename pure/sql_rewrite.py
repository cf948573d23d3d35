"""Renaming a column inside SQL text the state holds: check constraints and index conditions.

Theory of operation: a check constraint or a partial index's condition is SQL the user
wrote, and it names columns. When RenameField changes a column's name, the databases
rewrite their own copy (SQLite's RENAME COLUMN edits the stored text, PostgreSQL keeps a
parsed expression), so the state must follow, or a later SQLite rebuild or an offline
plan recreates the check against a column that no longer exists. This is a scanner, not
a parser: it skips string literals and comments, renames quoted identifiers that equal
the old name exactly and bare words that equal it case-insensitively (SQL folds bare
names), and leaves a bare word alone when it is called as a function. Each occurrence
keeps its quoting style; a bare one becomes quoted only when the new name is not a plain
lower-case identifier.
"""

from __future__ import annotations

import re

__all__ = ["rename_column_in_sql"]

_TOKEN = re.compile(
    r"""
      (?P<string>'(?:[^']|'')*'?)
    | (?P<double>"(?:[^"]|"")*"?)
    | (?P<backtick>`(?:[^`]|``)*`?)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?(?:\*/|\Z))
    | (?P<word>[^\W\d]\w*\$?\w*)
    """,
    re.VERBOSE | re.DOTALL,
)
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_CALL = re.compile(r"\s*\(")


def rename_column_in_sql(sql: str, old: str, new: str) -> str:
    """Return ``sql`` with every reference to the column ``old`` made a reference to ``new``."""
    if old == new:
        return sql
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(sql):
        parts.append(sql[position : match.start()])
        position = match.end()
        text = match.group()
        kind = match.lastgroup
        if kind == "double" and _unquote(text, '"') == old:
            text = _quote(new, '"')
        elif kind == "backtick" and _unquote(text, "`") == old:
            text = _quote(new, "`")
        elif kind == "word" and text.lower() == old.lower() and not _CALL.match(sql, match.end()):
            text = new if _PLAIN.fullmatch(new) else _quote(new, '"')
        parts.append(text)
    parts.append(sql[position:])
    return "".join(parts)


def _unquote(token: str, mark: str) -> str | None:
    if len(token) < 2 or not token.endswith(mark):
        return None
    return token[1:-1].replace(mark * 2, mark)


def _quote(name: str, mark: str) -> str:
    return mark + name.replace(mark, mark * 2) + mark

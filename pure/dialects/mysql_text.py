"""MySQL's and MariaDB's printed SQL (types, defaults, checks) read back into one canonical form.

Theory of operation: ``schema_of(state)`` spells types, defaults and checks as the MySQL
dialect writes them, and the catalog reports them as the server prints them: MariaDB
says ``int(11)``, ``5.00``, ``current_timestamp(6)``, strings with backslash escapes,
and checks with lower-case keywords and backticks; MySQL 8 says ``int``, unquoted
literals, and ``_utf8mb4'a'``. The functions here map both sides to one text, so the
two schemas compare with ``==`` (law 3). They only compare; no SQL that runs is rewritten.
"""

from __future__ import annotations

import decimal
import re

from reinhardt_migrations.pure.sql import render_literal

__all__ = [
    "canonical_default",
    "canonical_expression",
    "canonical_type",
    "decode_string_literal",
]

# Catalog and hand-written spellings -> ours, after lower-casing and removing integer
# display widths (MariaDB reports int(11); MySQL 8.0.19+ plain int).
_TYPE_ALIASES: dict[str, str] = {
    "int": "integer",
    "int4": "integer",
    "bool": "tinyint(1)",
    "boolean": "tinyint(1)",
    "float4": "float",
    "double precision": "double",
    "real": "double",
    "float8": "double",
    "numeric": "decimal(10,0)",
    "decimal": "decimal(10,0)",
    "character varying": "varchar",
}
_DISPLAY_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STRING = re.compile(r"(?:_[A-Za-z0-9]+)?'((?:[^'\\]|''|\\.)*)'", re.DOTALL)
_ZERO_FRACTION = re.compile(r"^((?:\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}:\d{2})\.0+$")
_NOW = re.compile(r"(?:current_timestamp|now|localtimestamp|localtime)(?:\(\d*\))?")
_ESCAPES = {"0": "\x00", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def decode_string_literal(body: str) -> str:
    """Return the value of a MySQL string literal from its body (the text between the quotes)."""
    out: list[str] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\" and position + 1 < len(body):
            following = body[position + 1]
            # MySQL keeps the backslash of \% and \_ (they matter to LIKE only).
            out.append(_ESCAPES.get(following, "\\" + following if following in "%_" else following))
            position += 2
        elif char == "'" and body[position + 1 : position + 2] == "'":
            out.append("'")
            position += 2
        else:
            out.append(char)
            position += 1
    return "".join(out)


def _canonical_number(text: str) -> str:
    value = decimal.Decimal(text).normalize()
    return format(value, "f") if value != 0 else "0"


def _unwrap(text: str) -> str:
    """Remove brackets around the whole text, minding quotes: ``((1 + 2))`` -> ``1 + 2``."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        quote = ""
        for position, char in enumerate(text):
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"`":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0 and position != len(text) - 1:
                    return text
        text = text[1:-1].strip()
    return text


_EXPRESSION_TOKEN = re.compile(
    r"(?P<single>(?:_[A-Za-z0-9]+)?'(?:[^'\\]|''|\\.)*')|(?P<double>\"(?:[^\"\\]|\"\"|\\.)*\")"
    r"|(?P<backtick>`(?:[^`]|``)*`)|(?P<space>\s+)|(?P<other>(?:(?!_[A-Za-z0-9]+')[^'\"`\s])+)",
    re.DOTALL,
)


def canonical_expression(text: str) -> str:
    """Return an expression in one form: keywords lower case, ``"x"`` as ``'x'``, no backticks.

    MariaDB prints a check back with lower-case keywords and backticks around columns;
    MySQL adds charset introducers (``_utf8mb4'a'``). Without ANSI_QUOTES a double-quoted
    text is a string to MySQL, so it is written as one. A space is kept only between two
    words (``a and b``), never next to punctuation (``a > 0`` is ``a>0``).
    """
    tokens: list[str] = []
    spaced: list[bool] = []
    pending = False
    for match in _EXPRESSION_TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "space":
            pending = True
            continue
        if kind == "single":
            token = render_literal(decode_string_literal(token[token.index("'") + 1 : -1]), "mysql")
        elif kind == "double":
            token = render_literal(token[1:-1].replace('""', '"'), "mysql")
        elif kind == "backtick":
            token = token[1:-1].replace("``", "`").lower()
        else:
            token = token.lower()
        tokens.append(token)
        spaced.append(pending)
        pending = False
    joined = ""
    for token, space in zip(tokens, spaced, strict=True):
        if space and joined and _wordy(joined[-1]) and _wordy(token[0]):
            joined += " "
        joined += token
    return _unwrap(joined)


def _wordy(char: str) -> bool:
    return char.isalnum() or char in "_'$"


def _tight(text: str) -> str:
    for mark in ("(", ")", ","):
        text = text.replace(f" {mark}", mark).replace(f"{mark} ", mark)
    return text


def canonical_type(text: str) -> str:
    """Return a type in the dialect's spelling, however written (``INT(11)``, ``bool``, ``numeric(9)``)."""
    spelled = _tight(" ".join(text.lower().split()))
    if spelled != "tinyint(1)":
        spelled = _DISPLAY_WIDTH.sub(r"\1", spelled)
    spelled = _TYPE_ALIASES.get(spelled, spelled)
    for alias, ours in (("numeric(", "decimal("), ("character varying(", "varchar(")):
        if spelled.startswith(alias):
            spelled = ours + spelled[len(alias) :]
    if re.fullmatch(r"decimal\(\d+\)", spelled):
        spelled = spelled[:-1] + ",0)"
    return spelled


def canonical_default(text: str | None) -> str | None:
    """Return a column default in one form, whichever way MySQL or MariaDB report it.

    ``NULL`` is no default (MariaDB reports it for every nullable column without one);
    strings are decoded and written back by ``render_literal``, without the trailing
    spaces ``char`` drops and the zero microseconds ``datetime(6)`` adds; numbers are
    canonical (``5.00`` is ``5``); ``CURRENT_TIMESTAMP`` in any spelling is
    ``current_timestamp``; other expressions go through ``canonical_expression``.
    """
    if text is None:
        return None
    value = _unwrap(text.strip())
    if value.upper() == "NULL":
        return None
    string = _STRING.fullmatch(value)
    if string is not None:
        decoded = decode_string_literal(string.group(1)).rstrip(" ")
        return render_literal(_ZERO_FRACTION.sub(r"\1", decoded), "mysql")
    if _NUMBER.fullmatch(value):
        return _canonical_number(value)
    if _NOW.fullmatch(value.lower()):
        return "current_timestamp"
    return canonical_expression(value)

"""Names for generated values: identifiers, app labels, and fresh names in a namespace.

Theory of operation: generated names are legal but hostile (SQL reserved words, mixed
case, unicode letters, embedded quotes, backticks and spaces), at most 30 UTF-8 bytes
so ``app_model`` table names and ``table_column_suffix`` object names stay within 63
bytes. Uniqueness is decided by ``fold`` (case folding), because SQLite and MySQL
compare column, index and table names case-insensitively: a state valid here is then
valid on every database. A fresh name is drawn once and, if taken, made free with a
numeric suffix, so generation never rejects examples.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import hypothesis.strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy, composite

from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import ModelState, ProjectState

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "app_labels",
    "draw_fresh",
    "fold",
    "identifiers",
    "model_object_names",
    "project_object_names",
    "python_paths",
    "sql_texts",
    "texts",
]

MAX_IDENTIFIER_BYTES = 30

# Lower case first: hypothesis shrinks sampled characters towards the first one.
_WORD_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_"
# Letters whose lower and upper case have the same UTF-8 length, all in the Basic
# Multilingual Plane (MySQL identifiers cannot hold other planes).
_UNICODE_ALPHABET = "éüößñçåøæдлжщыαβγδλΩÉÜ名前表日本"
_RESERVED = (
    "order",
    "select",
    "group",
    "table",
    "from",
    "where",
    "user",
    "index",
    "key",
    "check",
    "default",
    "limit",
    "Order",
    "SELECT",
    "Group",
)
_ODD = ('say "hi"', "it's", "back`tick", "two words", 'q"', "o'clock", "a`b`c", "x  y", '""', "''")
_SEPARATORS = ("_", " ", '"', "'", "`", "")

# Free text (defaults, comments): quotes, backslash, percent, unicode, a newline.
_TEXT_ALPHABET = "abcXYZ019 _'\"`\\%éßД名\n-;"

_words: SearchStrategy[str] = st.one_of(
    st.text(_WORD_ALPHABET, min_size=1, max_size=10),
    st.sampled_from(_RESERVED),
    st.sampled_from(_ODD),
    st.text(_UNICODE_ALPHABET, min_size=1, max_size=6),
)


def fold(name: str) -> str:
    """Return the key two names clash on: case-folded, as SQLite and MySQL compare them."""
    return name.casefold()


def _clip(name: str, limit: int) -> str:
    """Return the longest prefix of ``name`` of at most ``limit`` UTF-8 bytes, without outer spaces."""
    while len(name.encode("utf-8")) > limit:
        name = name[:-1]
    # MySQL refuses names ending in a space; a leading one reads as a mistake.
    return name.strip(" ")


@composite
def identifiers(draw: DrawFn) -> str:
    """Generate a legal, hostile identifier of 1 to 30 bytes (no NUL, no dot, no leading '-')."""
    name = draw(_words)
    if draw(st.booleans()):
        name += draw(st.sampled_from(_SEPARATORS)) + draw(_words)
    return _clip(name, MAX_IDENTIFIER_BYTES) or "x"


@composite
def app_labels(draw: DrawFn) -> str:
    """Generate an app label: a Python identifier (it names a package), sometimes reserved or unicode."""
    return draw(
        st.one_of(
            st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True),
            st.sampled_from(("order", "group", "select", "café", "données", "Blog")),
        )
    )


@composite
def python_paths(draw: DrawFn) -> str:
    """Generate a dotted path to a callable, e.g. ``shop.migrations_code.fill_slugs``."""
    parts = draw(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True), min_size=2, max_size=4))
    return ".".join(parts)


def texts(max_size: int = 20) -> SearchStrategy[str]:
    """Return a strategy of free text with quotes, backslashes, unicode and newlines."""
    return st.text(_TEXT_ALPHABET, max_size=max_size)


@composite
def sql_texts(draw: DrawFn) -> str:
    """Generate SQL that runs unchanged on SQLite, PostgreSQL and MySQL (no backslash, no %)."""
    literal = draw(st.text("abcXYZ019 _'\"`éД名", max_size=12)).replace("'", "''")
    return draw(
        st.sampled_from(
            (
                "SELECT 1",
                f"SELECT '{literal}'",
                f"SELECT 1;\n-- {literal.replace(chr(10), ' ')}\n",
                f"/* multi\nline {literal.replace('*/', '')} */ SELECT 2",
            )
        )
    )


def draw_fresh(
    draw: DrawFn,
    is_free: Callable[[str], bool],
    names: SearchStrategy[str] | None = None,
    limit: int = MAX_IDENTIFIER_BYTES,
) -> str:
    """Draw a name and, if ``is_free`` refuses it, suffix ``_2``, ``_3`` ... until it is free."""
    base = draw(names if names is not None else identifiers())
    candidate, number = base, 2
    while not is_free(candidate):
        suffix = f"_{number}"
        candidate = (_clip(base, limit - len(suffix)) or "x") + suffix
        number += 1
    return candidate


def project_object_names(state: ProjectState) -> set[str]:
    """Return the folded names of every table, view and named database object of ``state``.

    PostgreSQL and SQLite put tables, indexes and (in PostgreSQL) unique constraints in
    one namespace per schema, so a new object name must avoid all of them.
    """
    taken: set[str] = set()
    for model in state:
        taken.add(fold(model.db_table))
        taken.update(fold(name) for name in model_object_names(model))
    taken.update(fold(name) for name in state.views)
    return taken


def model_object_names(model: ModelState) -> list[str]:
    """Return the object names a model holds: indexes, constraints, field and join-table names."""
    names = [index.name for index in model.indexes]
    names += [constraint.name for constraint in model.constraints]
    names += [entry.name for entry in model.unique_together if entry.name]
    for field in model.fields:
        names += [name for name in (field.unique_name, field.index_name) if name]
        relation = field.relation
        if relation is not None:
            if relation.constraint_name:
                names.append(relation.constraint_name)
            if relation.db_table:
                names.append(relation.db_table)
            elif relation.kind == "many_to_many" and relation.through is None:
                names.append(object_name(model.db_table, [field.name], ""))
    return names

"""Strategies for operations valid on a given state, operation sequences and migrations.

Theory of operation: ``_RULES`` is a literal table from operation kind to a pair
(does it apply to this state?, draw one); the schema kinds' rules live in
schema_rules.py, the special and PostgreSQL ones here. ``operations(state)`` keeps the
kinds that apply and draws one of them, so it never rejects. Each rule reads the state
through ``Facts``, computed once per draw. A sequence draws each operation against the
state after the previous one. Everything iterates in key order, never in hash order, so a seed gives
the same examples under any ``PYTHONHASHSEED``.
"""

from __future__ import annotations

from collections.abc import Collection

import hypothesis.strategies as st
from hypothesis import assume
from hypothesis.strategies import DrawFn, composite

from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    BUILTIN_OPERATIONS,
    CreateCollation,
    CreateExtension,
    DropExtension,
    Operation,
    RemoveCollation,
    RunCode,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies.names import app_labels, fold, python_paths, sql_texts, texts
from reinhardt_migrations.pure.strategies.schema_rules import SCHEMA_RULES, Facts, Rule, always
from reinhardt_migrations.pure.strategies.values import EXTENSIONS, collation_states

__all__ = [
    "BUILTIN_KINDS",
    "SCHEMA_KINDS",
    "applicable_kinds",
    "migrations",
    "operation_sequences",
    "operations",
]

#: Every built-in operation kind, in the order ``operations`` prefers when shrinking.
BUILTIN_KINDS: tuple[str, ...] = tuple(BUILTIN_OPERATIONS)
#: Kinds whose effect on a database is exactly their effect on the state. RunSQL and
#: SeparateDatabaseAndState may change the state without the database, RunCode runs
#: user code, and extensions and collations exist on PostgreSQL only: leave them out
#: when comparing a real database with the state.
SCHEMA_KINDS: tuple[str, ...] = tuple(
    kind
    for kind in BUILTIN_KINDS
    if kind
    not in {
        "RunSQL",
        "RunCode",
        "SeparateDatabaseAndState",
        "CreateExtension",
        "DropExtension",
        "CreateCollation",
        "RemoveCollation",
    }
)
# Kinds that nest operations are not nested themselves, which bounds the depth.
_NESTABLE_KINDS = tuple(k for k in BUILTIN_KINDS if k not in {"RunSQL", "SeparateDatabaseAndState"})


# -- special --------------------------------------------------------------------------


def _nested(draw: DrawFn, facts: Facts) -> tuple[Operation, ...]:
    return _draw_sequence(draw, facts.state, 2, _NESTABLE_KINDS, facts.partial_indexes)


def _run_sql(draw: DrawFn, facts: Facts) -> Operation:
    sql = draw(st.lists(sql_texts(), min_size=1, max_size=2))
    reverse = draw(st.one_of(st.none(), st.lists(sql_texts(), min_size=1, max_size=2)))
    return RunSQL(sql, reverse, _nested(draw, facts), elidable=draw(st.booleans()))


def _run_code(draw: DrawFn, facts: Facts) -> Operation:
    return RunCode(
        draw(python_paths()),
        draw(st.one_of(st.none(), python_paths())),
        description=draw(texts().map(lambda text: text.replace("\n", " "))),
        elidable=draw(st.booleans()),
    )


def _separate_database_and_state(draw: DrawFn, facts: Facts) -> Operation:
    state_operations = _nested(draw, facts)
    database = draw(st.sampled_from(("same", "sql", "none")))
    if database == "same":
        database_operations: tuple[Operation, ...] = state_operations
    elif database == "sql":
        database_operations = (RunSQL(draw(sql_texts()), draw(sql_texts())),)
    else:
        database_operations = ()
    return SeparateDatabaseAndState(database_operations, state_operations)


# -- PostgreSQL -----------------------------------------------------------------------


def _missing_extensions(facts: Facts) -> list[str]:
    return [name for name in EXTENSIONS if name not in facts.state.extensions]


def _create_extension(draw: DrawFn, facts: Facts) -> Operation:
    return CreateExtension(draw(st.sampled_from(_missing_extensions(facts))))


def _drop_extension(draw: DrawFn, facts: Facts) -> Operation:
    return DropExtension(draw(st.sampled_from(sorted(facts.state.extensions))))


def _create_collation(draw: DrawFn, facts: Facts) -> Operation:
    collation = draw(collation_states(frozenset(fold(name) for name in facts.state.collations)))
    return CreateCollation(collation.name, collation.locale, collation.provider, collation.deterministic)


def _remove_collation(draw: DrawFn, facts: Facts) -> Operation:
    collation = facts.state.collations[draw(st.sampled_from(sorted(facts.state.collations)))]
    return RemoveCollation(collation.name, collation.locale, collation.provider, collation.deterministic)


# Kind -> (applies to the state?, draw one), in BUILTIN_KINDS order (shrinking prefers
# the first kinds: creating a model before anything subtler).
_SPECIAL_RULES: dict[str, Rule] = {
    "RunSQL": (always, _run_sql),
    "RunCode": (always, _run_code),
    "SeparateDatabaseAndState": (always, _separate_database_and_state),
    "CreateExtension": (lambda f: bool(_missing_extensions(f)), _create_extension),
    "DropExtension": (lambda f: bool(f.state.extensions), _drop_extension),
    "CreateCollation": (always, _create_collation),
    "RemoveCollation": (lambda f: bool(f.state.collations), _remove_collation),
}
_ALL_RULES = {**SCHEMA_RULES, **_SPECIAL_RULES}
assert set(_ALL_RULES) == set(BUILTIN_KINDS), "every built-in operation needs a rule"
_RULES: dict[str, Rule] = {kind: _ALL_RULES[kind] for kind in BUILTIN_KINDS}


def _usable(facts: Facts, kinds: Collection[str] | None) -> list[str]:
    wanted = _RULES if kinds is None else [kind for kind in _RULES if kind in kinds]
    return [kind for kind in wanted if _RULES[kind][0](facts)]


def applicable_kinds(state: ProjectState, kinds: Collection[str] | None = None) -> tuple[str, ...]:
    """Return the built-in kinds (among ``kinds``, default all) that ``operations(state)`` can draw."""
    return tuple(_usable(Facts.of(state, False), kinds))


def _draw_operation(
    draw: DrawFn, state: ProjectState, kinds: Collection[str] | None, partial_indexes: bool
) -> Operation | None:
    facts = Facts.of(state, partial_indexes)
    usable = _usable(facts, kinds)
    if not usable:
        return None
    return _RULES[draw(st.sampled_from(usable))][1](draw, facts)


def _draw_sequence(
    draw: DrawFn, state: ProjectState, max_size: int, kinds: Collection[str] | None, partial_indexes: bool
) -> tuple[Operation, ...]:
    chosen: list[Operation] = []
    for _ in range(draw(st.integers(0, max_size))):
        operation = _draw_operation(draw, state, kinds, partial_indexes)
        if operation is None:
            break
        state = operation.state_forwards(state)
        chosen.append(operation)
    return tuple(chosen)


@composite
def operations(
    draw: DrawFn,
    state: ProjectState,
    *,
    kinds: Collection[str] | None = None,
    partial_indexes: bool = False,
) -> Operation:
    """Generate one built-in operation valid on ``state``, of one of ``kinds`` (default: any).

    Examples are discarded (``assume``) only when none of ``kinds`` applies to ``state``.
    """
    operation = _draw_operation(draw, state, kinds, partial_indexes)
    assume(operation is not None)
    assert operation is not None
    return operation


@composite
def operation_sequences(
    draw: DrawFn,
    state: ProjectState,
    max_size: int = 5,
    *,
    kinds: Collection[str] | None = None,
    partial_indexes: bool = False,
) -> tuple[Operation, ...]:
    """Generate up to ``max_size`` operations, each valid on the state the previous ones leave."""
    return _draw_sequence(draw, state, max_size, kinds, partial_indexes)


def _migration_keys(draw: DrawFn, max_size: int) -> list[tuple[str, str]]:
    return draw(
        st.lists(st.tuples(app_labels(), _migration_names()), max_size=max_size, unique=True),
    )


def _migration_names() -> st.SearchStrategy[str]:
    return st.builds(
        "{:04d}_{}".format, st.integers(1, 9999), st.from_regex(r"[a-z][a-z0-9_]{0,19}", fullmatch=True)
    )


@composite
def migrations(
    draw: DrawFn,
    state: ProjectState,
    *,
    app_label: str | None = None,
    max_operations: int = 5,
    kinds: Collection[str] | None = None,
    partial_indexes: bool = False,
) -> Migration:
    """Generate a migration whose operations apply in order to ``state``, with dependencies and flags."""
    return Migration(
        name=draw(_migration_names()),
        app_label=app_label if app_label is not None else Facts.of(state, False).app_label(draw),
        dependencies=_migration_keys(draw, 3),
        operations=_draw_sequence(draw, state, max_operations, kinds, partial_indexes),
        replaces=_migration_keys(draw, 2),
        atomic=draw(st.booleans()),
        initial=draw(st.booleans()),
    )

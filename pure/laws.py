"""The laws every operation obeys, as checks on values, for built-in and custom operations.

Theory of operation: each ``check_*`` function runs an operation on values and raises
``LawViolation`` (naming the law, the operation and a summary of the state) when the
operation breaks its law; otherwise it returns what it computed. The property tests run
them on generated states and operations (``reinhardt_migrations.pure.strategies``), and
users run them on their own operations::

    from reinhardt_migrations.pure.laws import check_operation_laws

    check_operation_laws(MyOperation(...), state)

An operation that does not fit the state raises its own MigrationError, which passes
through unchanged: that is the operation refusing the state, not breaking a law. Any
other exception from the operation is a broken law.

The checks compare states by ``state_to_data(..., bookkeeping=True)``: canonical data
that includes the database object names left out of equality, so a change to those
counts too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from reinhardt_migrations.pure.errors import LawViolation, MigrationError
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.serialize import (
    OperationResolver,
    migration_from_json,
    migration_to_json,
    migration_to_python,
    operation_from_data,
    operation_to_data,
    state_to_data,
)
from reinhardt_migrations.pure.state import ProjectState

__all__ = [
    "check_describe",
    "check_deterministic",
    "check_keeps_state_valid",
    "check_migration_round_trip",
    "check_operation_laws",
    "check_serialization_round_trip",
    "check_state_forwards_pure",
    "summarize_state",
]

_T = TypeVar("_T")


def summarize_state(state: ProjectState) -> str:
    """Return a short description of a state for messages, e.g. ``3 models in apps blog, shop``."""
    apps = state.app_labels()
    parts = [f"{len(state)} model(s)" + (f" in apps {', '.join(apps)}" if apps else "")]
    if state.extensions:
        parts.append(f"extensions {', '.join(sorted(state.extensions))}")
    if state.collations:
        parts.append(f"collations {', '.join(sorted(state.collations))}")
    return "; ".join(parts)


def _label(operation: object) -> str:
    """Return the operation's description, or its repr when describe itself fails."""
    try:
        text = operation.describe()  # type: ignore[attr-defined]
    except Exception:
        text = None
    return f"{text!r}" if isinstance(text, str) and text else repr(operation)


def _first_difference(before: Any, after: Any, path: str = "") -> str:
    """Return the path of the first place two JSON-like values differ, e.g. ``models[2].fields[0]``."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                return _first_difference(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (left, right) in enumerate(zip(before, after, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
    return f"{path or '<top>'}: {before!r} became {after!r}"


def _run(law: str, operation: Operation, state: ProjectState, step: Callable[[], _T]) -> _T:
    """Run ``step``; let MigrationErrors through, turn any other exception into a LawViolation."""
    try:
        return step()
    except MigrationError:
        raise
    except Exception as error:
        raise LawViolation(
            law,
            _label(operation),
            f"it raised {type(error).__name__}: {error} (only MigrationError subclasses may escape)",
            summarize_state(state),
        ) from error


def _forwards(law: str, operation: Operation, state: ProjectState) -> ProjectState:
    result = _run(law, operation, state, lambda: operation.state_forwards(state))
    if not isinstance(result, ProjectState):
        raise LawViolation(
            law,
            _label(operation),
            f"state_forwards returned {type(result).__name__}, not a ProjectState",
            summarize_state(state),
        )
    return result


def check_state_forwards_pure(operation: Operation, state: ProjectState) -> ProjectState:
    """Return ``operation.state_forwards(state)``, checking that the input state is left unchanged.

    Raises:
        LawViolation: the input changed, the result is not a ProjectState, or a non-MigrationError escaped.
    """
    law = "state_forwards leaves its input unchanged"
    before = state_to_data(state, bookkeeping=True)
    result = _forwards(law, operation, state)
    after = state_to_data(state, bookkeeping=True)
    if after != before:
        raise LawViolation(
            law,
            _label(operation),
            f"the input state changed at {_first_difference(before, after)}",
            summarize_state(state),
        )
    return result


def _rebuilt(state: ProjectState) -> ProjectState:
    """Return a state equal to ``state`` built afresh, models inserted in reverse key order."""
    return ProjectState(
        models=list(reversed(list(state))),
        extensions=sorted(state.extensions, reverse=True),
        collations=dict(sorted(state.collations.items(), reverse=True)),
    )


def check_deterministic(operation: Operation, state: ProjectState) -> ProjectState:
    """Return the state after ``operation``, checking that the result depends only on the input's value.

    The operation runs twice on ``state`` and once on an equal state built in another
    order; all three results must be equal, hash alike and have identical canonical data.

    Raises:
        LawViolation: two runs gave different states.
    """
    law = "state_forwards is deterministic"
    first = _forwards(law, operation, state)
    expected = state_to_data(first, bookkeeping=True)
    for what, other in (
        ("a second run", _forwards(law, operation, state)),
        ("a run on an equal state built in another order", _forwards(law, operation, _rebuilt(state))),
    ):
        data = state_to_data(other, bookkeeping=True)
        if other != first or hash(other) != hash(first) or data != expected:
            raise LawViolation(
                law,
                _label(operation),
                f"{what} gave another state ({_first_difference(expected, data)})",
                summarize_state(state),
            )
    return first


def _check_index(
    law: str,
    operation: Operation,
    state: ProjectState,
    name: str,
    kept: Mapping[Any, Any],
    computed: Mapping[Any, Any],
) -> None:
    """Raise LawViolation if an index kept up incrementally differs from a fresh build's."""
    if kept == computed:
        return
    stale = sorted((k for k in set(kept) | set(computed) if kept.get(k) != computed.get(k)), key=repr)[:3]
    raise LawViolation(
        law,
        _label(operation),
        f"its {name} index is stale for {stale!r} (kept {[kept.get(k) for k in stale]!r}, "
        f"a fresh build gives {[computed.get(k) for k in stale]!r})",
        summarize_state(state),
    )


def check_keeps_state_valid(operation: Operation, state: ProjectState) -> ProjectState:
    """Return the state after ``operation``, checking it is valid and its lookup indexes are right.

    Valid means ``check()`` passes (no relation to a missing model or field), and the
    derived indexes kept up incrementally (``referrers``, ``tables``) equal the ones a
    fresh build of the same models computes.

    Raises:
        LawViolation: the result is invalid or its indexes are stale.
    """
    law = "state_forwards keeps the state valid"
    result = _forwards(law, operation, state)
    try:
        result.check()
    except MigrationError as error:
        raise LawViolation(
            law, _label(operation), f"the result is invalid: {error}", summarize_state(state)
        ) from error
    fresh = ProjectState(models=result.models, extensions=result.extensions, collations=result.collations)
    _check_index(law, operation, state, "referrers", result.referrers, fresh.referrers)
    _check_index(law, operation, state, "tables", result.tables, fresh.tables)
    return result


def check_migration_round_trip(
    migration: Migration, *, resolve_operation: OperationResolver | None = None
) -> None:
    """Check law 5 for a migration: JSON and Python text both read back to an equal migration.

    Each operation's data must read back equal and write the same data again; the
    JSON text must read back equal and write identical bytes again; the Python text,
    executed, must define an equal ``migration`` and write identical text again.
    ``resolve_operation`` turns a custom operation's dotted path back into its class.

    Raises:
        LawViolation: a round trip lost or changed something, or a value could not be written.
    """
    law = "serialization round trip"

    def violation(problem: str) -> LawViolation:
        return LawViolation(law, f"in migration {migration.app_label}.{migration.name}", problem)

    for index, operation in enumerate(migration.operations):
        try:
            data = operation_to_data(operation)
            back = operation_from_data(data, source="<law>", resolve_operation=resolve_operation)
            again = operation_to_data(back)
        except MigrationError as error:
            raise violation(
                f"operation {index} ({_label(operation)}) does not round trip: {error}"
            ) from error
        if back != operation:
            raise violation(f"operation {index} ({_label(operation)}) reads back as {back!r}")
        if again != data:
            raise violation(f"operation {index} writes {data!r}, then {again!r} once read back")
    try:
        text = migration_to_json(migration)
        loaded = migration_from_json(text, source="<law>", resolve_operation=resolve_operation)
        text_again = migration_to_json(loaded)
    except MigrationError as error:
        raise violation(f"the JSON round trip failed: {error}") from error
    if loaded != migration:
        raise violation(f"the JSON text reads back as another migration: {loaded!r}")
    if text_again != text:
        raise violation("the JSON text of the migration read back differs from the original text")
    _check_python_round_trip(migration, violation)


def _check_python_round_trip(migration: Migration, violation: Callable[[str], LawViolation]) -> None:
    try:
        source = migration_to_python(migration)
    except MigrationError as error:
        raise violation(f"the migration cannot be written as Python: {error}") from error
    namespace: dict[str, Any] = {}
    try:
        # Executing the module text is the law itself: the file must rebuild the migration.
        exec(compile(source, f"<migration {migration.app_label}.{migration.name}>", "exec"), namespace)
    except Exception as error:
        raise violation(f"the Python text does not run: {type(error).__name__}: {error}") from error
    loaded = namespace.get("migration")
    if loaded != migration:
        raise violation(f"the Python text defines another migration: {loaded!r}")
    if migration_to_python(loaded) != source:
        raise violation("the Python text of the migration read back differs from the original text")


def check_serialization_round_trip(
    operation: Operation, *, resolve_operation: OperationResolver | None = None
) -> None:
    """Check law 5 for one operation, inside a one-operation migration (see check_migration_round_trip).

    Raises:
        LawViolation: the operation does not read back equal from JSON or Python text.
    """
    check_migration_round_trip(
        Migration(name="0001_law", app_label="laws", operations=(operation,)),
        resolve_operation=resolve_operation,
    )


def check_describe(operation: Operation) -> str:
    """Return ``operation.describe()``, checking it is a non-empty string.

    Raises:
        LawViolation: describe raised or returned something else than a non-empty str.
    """
    law = "describe returns a non-empty str"
    try:
        text = operation.describe()
    except Exception as error:
        raise LawViolation(law, repr(operation), f"it raised {type(error).__name__}: {error}") from error
    if not isinstance(text, str) or not text.strip():
        raise LawViolation(law, repr(operation), f"it returned {text!r}")
    return text


def check_operation_laws(
    operation: Operation, state: ProjectState, *, resolve_operation: OperationResolver | None = None
) -> ProjectState:
    """Run every law on ``operation`` applied to ``state``; return the state after it.

    Raises:
        LawViolation: the operation breaks a law (the error names which).
        MigrationError: the operation does not fit ``state`` (not a broken law).
    """
    check_describe(operation)
    result = check_state_forwards_pure(operation, state)
    check_deterministic(operation, state)
    check_keeps_state_valid(operation, state)
    check_serialization_round_trip(operation, resolve_operation=resolve_operation)
    return result

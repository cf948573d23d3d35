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
counts too. ``check_read_back_behaves_alike`` (a read-back operation gives the same state
and SQL) and ``check_optimizer_keeps_state`` (reduce and footprint keep the replayed
state) complete the laws for custom operations; the shell's test kit runs them all, with
the database laws, under hypothesis (``reinhardt_migrations.shell.testkit``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from reinhardt_migrations.pure.dialects.base import Dialect
from reinhardt_migrations.pure.errors import LawViolation, MigrationError
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.optimizer import optimize
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
    "check_optimizer_keeps_state",
    "check_read_back_behaves_alike",
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
    if state.views:
        parts.append(f"views {', '.join(sorted(state.views))}")
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
    summary = summarize_state(state)  # before the operation: it may change what it summarizes
    result = _forwards(law, operation, state)
    after = state_to_data(state, bookkeeping=True)
    if after != before:
        raise LawViolation(
            law, _label(operation), f"the input state changed at {_first_difference(before, after)}", summary
        )
    return result


def _rebuilt(state: ProjectState) -> ProjectState:
    """Return a state equal to ``state`` built afresh, models inserted in reverse key order."""
    return ProjectState(
        models=list(reversed(list(state))),
        extensions=sorted(state.extensions, reverse=True),
        collations=dict(sorted(state.collations.items(), reverse=True)),
        views=dict(sorted(state.views.items(), reverse=True)),
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


def _statements_or_refusal(render: Callable[[], Sequence[Any]]) -> tuple[Any, ...] | str:
    """Return the rendered statements, or the name of the error that refused them."""
    try:
        return tuple(render())
    except MigrationError as error:
        return type(error).__name__


def check_read_back_behaves_alike(
    operation: Operation,
    state: ProjectState,
    *,
    dialects: Sequence[Dialect] = (),
    resolve_operation: OperationResolver | None = None,
) -> Operation:
    """Return ``operation`` read back from its JSON data, checking it behaves as the original.

    Equal is not enough: an attribute left out of equality (``eq=False``) is also left
    out of the file. The read-back operation must give the same state (bookkeeping
    included), description and reversibility, and render the same statements forwards
    and backwards on each of ``dialects``.

    Raises:
        LawViolation: the read-back operation behaves differently.
    """
    law = "serialization round trip"
    back: Operation = operation_from_data(
        operation_to_data(operation), source="<law>", resolve_operation=resolve_operation
    )
    expected = state_to_data(_forwards(law, operation, state), bookkeeping=True)
    after = _forwards(law, back, state)
    found = state_to_data(after, bookkeeping=True)
    problems = []
    if found != expected:
        problems.append(f"state_forwards gives another state ({_first_difference(expected, found)})")
    if back.describe() != operation.describe():
        problems.append(f"describe() gives {back.describe()!r} instead of {operation.describe()!r}")
    if back.reversible != operation.reversible:
        problems.append(f"reversible is {back.reversible} instead of {operation.reversible}")
    for dialect in dialects if not problems else ():
        for direction in ("forwards", "backwards"):
            render = getattr(dialect, direction)
            original = _statements_or_refusal(partial(render, operation, state, after))
            again = _statements_or_refusal(partial(render, back, state, after))
            if original != again:
                problems.append(f"its {dialect.name} SQL {direction} is {again!r} instead of {original!r}")
                break
    if problems:
        raise LawViolation(
            law,
            _label(operation),
            f"read back from its JSON data {operation_to_data(operation)!r} it behaves differently: "
            f"{'; '.join(problems)} (an attribute left out of equality, eq=False, is left out of the file "
            "too; a converter must keep every value)",
            summarize_state(state),
        )
    return back


def check_optimizer_keeps_state(
    operations: Sequence[Operation], state: ProjectState
) -> tuple[Operation, ...]:
    """Return ``optimize(operations)``, checking law 6 for a sequence that holds custom operations.

    Each adjacent pair's own ``first.reduce(second)``, when it returns operations, must
    replay to the state the pair gives; the optimized sequence (which also trusts each
    operation's ``footprint()`` to move operations past each other) must replay to the
    state the whole sequence gives, and be no longer.

    Raises:
        LawViolation: a reduction or the optimized sequence changes the replayed state.
        MigrationError: ``operations`` do not apply in order to ``state`` (not a broken law).
    """
    law = "the optimizer keeps the replayed state"
    states = [state]
    for operation in operations:
        states.append(_forwards(law, operation, states[-1]))
    for index in range(len(operations) - 1):
        first, second = operations[index], operations[index + 1]
        reduced = _run(law, first, states[index], partial(first.reduce, second))
        if reduced is None:
            continue
        try:
            replayed = states[index]
            for operation in reduced:
                replayed = operation.state_forwards(replayed)
        except MigrationError as error:
            problem = f"its reduce({_label(second)}) returned operations that do not apply: {error}"
            raise LawViolation(law, _label(first), problem, summarize_state(states[index])) from error
        if replayed != states[index + 2]:
            expected = state_to_data(states[index + 2])
            difference = _first_difference(expected, state_to_data(replayed))
            problem = (
                f"its reduce({_label(second)}) returned {list(reduced)!r}, which gives another state "
                f"({difference})"
            )
            raise LawViolation(law, _label(first), problem, summarize_state(states[index]))
    result = optimize(operations)
    replayed = state
    try:
        for operation in result:
            replayed = operation.state_forwards(replayed)
    except MigrationError as error:
        problem = f"the optimized sequence {list(result)!r} does not apply: {error} (check footprint())"
        raise LawViolation(law, _label(operations[0]), problem, summarize_state(state)) from error
    if replayed != states[-1] or len(result) > len(operations):
        difference = _first_difference(state_to_data(states[-1]), state_to_data(replayed))
        problem = (
            f"optimizing {[_label(op) for op in operations]} gave {[_label(op) for op in result]}, which "
            f"replays to another state ({difference}); check the footprint() and reduce() of the custom ones"
        )
        raise LawViolation(law, _label(operations[0]), problem, summarize_state(state))
    return result


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

"""The test kit: one call that checks an operation against every law, on values and on databases.

Theory of operation: ``check_operation(strategy, states=..., backends=...)`` runs under
hypothesis. Each example is a state ``s`` and an operation ``op`` the strategy drew for
it; the laws run in the order of ``LAWS`` and the first broken one raises
``LawViolation`` naming the law, the operation, the state and, for the database laws,
the backend and the SQL that ran. Hypothesis then shrinks the example to a minimal
state and operation and raises that one.

- On values (``reinhardt_migrations.pure.laws``): ``describe`` never fails; ``pure``:
  state_forwards leaves its input unchanged; ``deterministic``; ``valid``: the result is
  a valid state; ``serialization``: Python and JSON files read back equal and the
  read-back operation behaves alike (same state, same SQL on each backend);
  ``optimizer``: followed by one or two operations (its own kind or built-in ones),
  optimizing keeps the replayed state, so ``reduce`` and ``footprint`` tell the truth.
- On each backend (``database_laws``): ``agreement`` (law 3) and ``reversal`` (law 4),
  with rows in the tables.

An example whose operation refuses the state (a ``MigrationError`` from state_forwards)
is discarded, as is a backend the operation refuses (``UnsupportedOperation``) for that
example. ``DatabaseMachine`` is ``pure.strategies.OperationMachine`` with a database
kept in step: after every step the database must equal the state.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis.strategies import SearchStrategy

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.dialects.base import Dialect
from reinhardt_migrations.pure.errors import InvalidValue, LawViolation, MigrationError
from reinhardt_migrations.pure.laws import (
    check_describe,
    check_deterministic,
    check_keeps_state_valid,
    check_optimizer_keeps_state,
    check_read_back_behaves_alike,
    check_serialization_round_trip,
    check_state_forwards_pure,
)
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import Operation
from reinhardt_migrations.pure.serialize import OperationResolver
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies import OperationMachine, OperationStrategy, project_states
from reinhardt_migrations.pure.strategies import operations as builtin_operations
from reinhardt_migrations.shell.backends import Backend
from reinhardt_migrations.shell.database_laws import (
    DATABASE_LAWS,
    ScratchDatabase,
    all_managed,
    check_database_laws,
    check_migrations_reversible,
    database_differences,
    format_state,
)
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import run_sql
from reinhardt_migrations.shell.loader import resolve_operation as import_operation
from reinhardt_migrations.shell.scratch import TEST_DATABASES_VARIABLE, environment_backends

__all__ = [
    "DATABASE_LAWS",
    "LAWS",
    "TEST_DATABASES_VARIABLE",
    "DatabaseMachine",
    "ScratchDatabase",
    "check_migrations_reversible",
    "check_operation",
    "environment_backends",
    "format_state",
]

#: Every law ``check_operation`` knows, in the order it checks them.
LAWS = ("describe", "pure", "deterministic", "valid", "serialization", "optimizer", *DATABASE_LAWS)
# Built-in kinds drawn after the operation for the optimizer law: ones the optimizer moves
# and merges, and cheap to draw (a CreateModel costs a whole model).
_FOLLOWERS = ("AddField", "AddIndex", "RemoveField", "AlterField", "RenameField")


def _check_values(
    operation: Operation,
    state: ProjectState,
    laws: Collection[str],
    dialects: Sequence[Dialect],
    resolve: OperationResolver,
    round_tripped: set[Operation],
) -> ProjectState:
    """Run the laws on values; return the state after ``operation``.

    The round trip depends on the operation alone, so ``round_tripped`` remembers the
    operations it was checked for (shrinking meets the same ones again and again).
    """
    if "describe" in laws:
        check_describe(operation)
    # Purity first: an operation that mutates its input would spoil every later check.
    after = check_state_forwards_pure(operation, state) if "pure" in laws else operation.state_forwards(state)
    if "deterministic" in laws:
        check_deterministic(operation, state)
    if "valid" in laws:
        check_keeps_state_valid(operation, state)
    if "serialization" in laws:
        if not _seen(operation, round_tripped):
            check_serialization_round_trip(operation, resolve_operation=resolve)
        check_read_back_behaves_alike(operation, state, dialects=dialects, resolve_operation=resolve)
    return after


def _seen(operation: Operation, seen: set[Operation]) -> bool:
    """Tell whether ``operation`` is in ``seen``, adding it (an unhashable one is never seen)."""
    try:
        if operation in seen:
            return True
        seen.add(operation)
    except TypeError:
        pass
    return False


def _strategy_for(
    operations: OperationStrategy | SearchStrategy[Operation], state: ProjectState
) -> SearchStrategy[Operation] | None:
    return operations if isinstance(operations, SearchStrategy) else operations(state)


def check_operation(
    operations: OperationStrategy | SearchStrategy[Operation],
    *,
    states: SearchStrategy[ProjectState] | None = None,
    backends: Sequence[str] = ("sqlite",),
    laws: Collection[str] = LAWS,
    rows: bool = True,
    max_examples: int = 25,
    resolve_operation: OperationResolver | None = None,
    settings: hypothesis_settings | None = None,
) -> None:
    """Check every law for the operations ``operations`` draws, under hypothesis, on each backend.

    ``operations`` is a function from a state to a strategy of operations valid on it (or
    None when none applies), or a plain strategy. ``states`` default to the library's
    ``project_states``; ``backends`` are ``"sqlite"`` and PostgreSQL or MySQL URLs of
    throwaway databases whose names contain ``test`` (they are emptied before each
    example; ``environment_backends()`` reads them from the environment). ``settings`` replace
    the default (``max_examples`` examples, no deadline). Custom operation classes are
    imported by their dotted path, as the migration loader does, unless
    ``resolve_operation`` is given.

    Raises:
        LawViolation: an operation broke a law; the message names the law, the backend,
            the operation, the (shrunk) state and the SQL that ran.
        InvalidValue: an unknown law, or a server database whose name lacks ``test``.
    """
    unknown = sorted(set(laws) - set(LAWS))
    if unknown:
        raise InvalidValue("laws", f"{unknown!r} are not laws; choose from {', '.join(LAWS)}")
    resolve = resolve_operation or import_operation
    scratches = [ScratchDatabase(url) for url in backends] if set(laws) & set(DATABASE_LAWS) else []
    dialects = [scratch.dialect for scratch in scratches] or [dialect_for(url) for url in backends]
    base = states if states is not None else project_states(min_models=1, max_models=3)
    if any(not scratch.is_sqlite for scratch in scratches):
        mysql = any(scratch.dialect.name == "mysql" for scratch in scratches)
        base = base.map(lambda state: all_managed(state, without_options=mysql))

    def cases_of(state: ProjectState) -> SearchStrategy[tuple[ProjectState, Operation]]:
        strategy = _strategy_for(operations, state)
        return (st.nothing() if strategy is None else strategy).map(lambda op: (state, op))

    round_tripped: set[Operation] = set()

    def following(state: ProjectState) -> SearchStrategy[Operation]:
        mine = _strategy_for(operations, state)
        builtin = builtin_operations(state, kinds=_FOLLOWERS)
        return builtin if mine is None else st.one_of(mine, builtin)

    def run(case: tuple[ProjectState, Operation], data: st.DataObject) -> None:
        state, operation = case
        try:
            after = _check_values(operation, state, laws, dialects, resolve, round_tripped)
        except LawViolation:
            raise
        except MigrationError:
            assume(False)  # the operation refuses this state: not an example
        for scratch in scratches:
            check_database_laws(operation, state, scratch, laws=laws, rows=rows)
        # Last: its draws would only make a failure of another law slower to shrink.
        if "optimizer" in laws:
            sequence = [operation]
            for _ in range(data.draw(st.integers(1, 2), label="operations after it")):
                sequence.append(data.draw(following(after), label="then"))
                after = sequence[-1].state_forwards(after)
            check_optimizer_keeps_state(sequence, state)

    chosen = settings or hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    try:
        chosen(given(case=base.flatmap(cases_of), data=st.data())(run))()
    finally:
        for scratch in scratches:
            scratch.close()


class DatabaseMachine(OperationMachine):
    """``OperationMachine`` with a database in step: after every step it must equal the state.

    Set ``database_url`` to a throwaway server database to run on PostgreSQL or MySQL.
    The tables hold no rows (an operation valid on a state may still fail on some rows).
    """

    #: ``"sqlite"`` (a scratch file per run) or the URL of a throwaway server database.
    database_url: ClassVar[str] = "sqlite"

    def on_start(self, state: ProjectState) -> None:
        """Open a fresh database and build ``state`` in it."""
        self.scratch = ScratchDatabase(self.database_url)
        if not self.scratch.is_sqlite:
            mysql = self.scratch.dialect.name == "mysql"
            self.state = self.start = state = all_managed(state, without_options=mysql)
        self.backend: Backend = self.scratch.fresh()
        self.scratch.build(self.backend, state)

    def after_step(self, operation: Operation, before: ProjectState, after: ProjectState) -> None:
        """Run the operation's statements and compare the database with ``after``.

        Raises:
            LawViolation: the database differs from the state (the agreement law).
        """
        plan = self.scratch.dialect.plan_migration(
            Migration("0001_step", "machine", operations=[operation]), before
        )
        try:
            run_sql(self.backend, plan)
            problems = database_differences(self.scratch, self.backend, after)
        except DatabaseError as error:
            problems = (f"its statements failed: {error}",)
        if problems:
            raise LawViolation(
                "agreement",
                repr(operation.describe()),
                f"after its statements the database differs from its state: {'; '.join(problems)}",
                details=f"Backend: {self.scratch.label}\nState before it:\n{format_state(before)}\n"
                f"SQL that ran forwards:\n{plan.describe()}",
            )

    def teardown(self) -> None:
        """Check the optimizer law and close the database."""
        try:
            super().teardown()
        finally:
            scratch = getattr(self, "scratch", None)
            if scratch is not None:
                scratch.close()

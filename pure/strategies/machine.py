"""A hypothesis state machine that runs custom operations interleaved with the built-in ones.

Theory of operation: ``OperationMachine`` holds a ProjectState, drawn at the start from
``initial_states()``. Each step applies one operation, drawn either from the built-in
strategies (``operations(state, kinds=builtin_kinds)``) or from one of the subclass's
``custom_operations``: functions from a state to a strategy of operations valid on it,
or to None when none applies. Every operation passes the pure laws on the state it
meets (``laws.check_operation_laws`` and ``check_read_back_behaves_alike``), the state
stays valid after each step, and at the end the optimizer law holds for the whole
history. Hypothesis shrinks a failing run to the fewest, simplest steps.

Subclasses hook in with ``on_start(state)`` and ``after_step(operation, before,
after)``; the shell's ``testkit.DatabaseMachine`` uses them to run each step's SQL on a
real database. A custom operation class is resolved for the round trip by the classes
the machine has met, so nothing is imported by path here::

    class ViewMachine(OperationMachine):
        custom_operations = (create_views, drop_views)

    TestViews = ViewMachine.TestCase
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import ClassVar

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from hypothesis.strategies import DrawFn, SearchStrategy, composite

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.laws import (
    check_operation_laws,
    check_optimizer_keeps_state,
    check_read_back_behaves_alike,
)
from reinhardt_migrations.pure.operations import Operation
from reinhardt_migrations.pure.serialize import OperationResolver
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.strategies.edits import SCHEMA_KINDS, applicable_kinds, operations
from reinhardt_migrations.pure.strategies.values import project_states

__all__ = ["OperationMachine", "OperationStrategy", "states_after"]

#: A function from a state to a strategy of operations valid on it, or None if none applies.
OperationStrategy = Callable[[ProjectState], SearchStrategy[Operation] | None]


@composite
def states_after(
    draw: DrawFn, states: SearchStrategy[ProjectState], *steps: OperationStrategy, max_each: int = 2
) -> ProjectState:
    """Generate states from ``states`` with up to ``max_each`` operations of each of ``steps`` applied.

    Use it for operations that need something only other operations make: a DropView
    needs ``states_after(project_states(), create_views)``.
    """
    state = draw(states)
    for step in steps:
        for _ in range(draw(st.integers(0, max_each))):
            strategy = step(state)
            if strategy is None:
                break
            state = draw(strategy).state_forwards(state)
    return state


class OperationMachine(RuleBasedStateMachine):
    """Built-in and custom operations, interleaved, each checked against the pure laws."""

    #: The subclass's operations: functions ``state -> strategy | None``.
    custom_operations: ClassVar[Sequence[OperationStrategy]] = ()
    #: The built-in kinds drawn between them (None: all, RunSQL and PostgreSQL ones included).
    builtin_kinds: ClassVar[Collection[str] | None] = SCHEMA_KINDS
    #: The dialects whose SQL a read-back operation must render alike.
    dialect_names: ClassVar[Sequence[str]] = ("sqlite", "postgresql", "mysql")

    def __init__(self) -> None:
        super().__init__()
        self.state = ProjectState()
        self.start = self.state
        self.history: list[Operation] = []
        self._classes: dict[str, type] = {}

    def initial_states(self) -> SearchStrategy[ProjectState]:
        """Return the strategy the first state is drawn from (override to start elsewhere)."""
        return project_states(min_models=1, max_models=3)

    def on_start(self, state: ProjectState) -> None:
        """Hook called with the first state (the database machine builds it)."""

    def after_step(self, operation: Operation, before: ProjectState, after: ProjectState) -> None:
        """Hook called after each operation passed the pure laws (the database machine runs its SQL)."""

    def resolve_operation(self, dotted_path: str) -> type:
        """Return the class of a custom operation the machine has met, by ``module.QualName``.

        Raises:
            LookupError: no operation of that class has been applied.
        """
        try:
            return self._classes[dotted_path]
        except KeyError:
            raise LookupError(f"no operation of class {dotted_path} was applied by this machine") from None

    @initialize(data=st.data())
    def begin(self, data: st.DataObject) -> None:
        """Draw the first state."""
        self.state = self.start = data.draw(self.initial_states(), label="initial state")
        self.on_start(self.state)

    @precondition(lambda self: bool(applicable_kinds(self.state, self.builtin_kinds)))
    @rule(data=st.data())
    def builtin_operation(self, data: st.DataObject) -> None:
        """Apply a built-in operation."""
        self.apply(data.draw(operations(self.state, kinds=self.builtin_kinds), label="built-in operation"))

    @precondition(lambda self: bool(self.custom_operations))
    @rule(data=st.data())
    def custom_operation(self, data: st.DataObject) -> None:
        """Apply one of the subclass's operations, if one applies to the state."""
        candidates = [s for s in (make(self.state) for make in self.custom_operations) if s is not None]
        if candidates:
            self.apply(data.draw(st.one_of(candidates), label="custom operation"))

    def apply(self, operation: Operation) -> None:
        """Check the pure laws on ``operation`` at the current state, then move to its result.

        Raises:
            LawViolation: the operation breaks a law.
        """
        cls = type(operation)
        self._classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
        resolve: OperationResolver = self.resolve_operation
        before = self.state
        after = check_operation_laws(operation, before, resolve_operation=resolve)
        dialects = [dialect_for(name) for name in self.dialect_names]
        check_read_back_behaves_alike(operation, before, dialects=dialects, resolve_operation=resolve)
        self.after_step(operation, before, after)
        self.state = after
        self.history.append(operation)

    @invariant()
    def state_is_valid(self) -> None:
        """Check the state is valid after every step."""
        self.state.check()

    def teardown(self) -> None:
        """Check that optimizing the whole history keeps the state it replays to."""
        if self.history:
            check_optimizer_keeps_state(self.history, self.start)

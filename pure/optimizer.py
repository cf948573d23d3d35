"""Reduce an operation sequence to an equivalent one that is never longer.

Theory of operation: two operations merge when a rule says so (``optimizer_rules.RULES``,
else ``first.reduce(second)``) and nothing between them stands in the way. What stands
in the way is decided by ``Touch`` values (``optimizer_touch``): footprints refined with
what the scan has learnt about the state, so that operations on unrelated models always
commute, and operations on different fields, indexes or constraints of one model mostly
do. A merge needs one of two moves: the second operation moves back past everything in
between (then the result takes the first one's place), or the first moves forward past
everything in between (the result takes the second one's place). Either way the merged
sequence replays to the same state as the original (law 6), and it is shorter, since a
merge replaces two operations by at most one.

One pass reads the operations left to right into numbered slots. For each model it
keeps the slots of the live operations that touch it (a "chain", sorted), and a few
project-wide lists (barriers such as RunSQL, operations that claim or free table names,
that drop relations or check for referrers). A new operation looks back along its own
model's chain only, nearest first, for a partner (at most ``LOOKBACK`` steps, stopping
at the first operation it can neither merge with nor pass). Checking the operations in
between costs a bisection per project-wide list plus the chain entries of its own
models in that window: operations on other models are never visited. A merged result
gets the exact touch of its own (what was known before the first of the pair is known
before it) and looks for a partner in turn.

A pass can miss a merge only where a later merge in the same pass changes an operation
that stopped a look-back, or clears what stood between a pair found apart, or where a
look-back stops at a merged operation whose touch is the pair's joined (wider than
needed: a DeleteModel that absorbed an AlterField still claims the relation the alter
added); the pass notes all three, and only then does another pass run (at most
``MAX_PASSES``), recomputing every touch exactly, so the result is a fixed point:
optimizing it again changes nothing. The work is near linear in the
number of operations; Django's optimizer restarts its quadratic scan after every merge.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence

from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.fields import ModelKey
from reinhardt_migrations.pure.operations import BUILTIN_OPERATIONS
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.operations.models import DeleteModel
from reinhardt_migrations.pure.optimizer_knowledge import Before, Knowledge
from reinhardt_migrations.pure.optimizer_rules import RULES, Reduced, model_key
from reinhardt_migrations.pure.optimizer_touch import EVERYTHING, Touch, touch_of

__all__ = ["LOOKBACK", "MAX_PASSES", "optimize"]

#: How many earlier operations on its model a new operation considers as partners.
LOOKBACK = 64

#: At most this many passes; another runs only if the previous one may have missed a merge.
MAX_PASSES = 8

_BUILT_IN: frozenset[type] = frozenset(BUILTIN_OPERATIONS.values())


def optimize(operations: Sequence[Operation]) -> tuple[Operation, ...]:
    """Return an equivalent operation sequence, never longer: merged, cancelled and collapsed pairs.

    Replaying the result on any state where the input replays gives the same state.
    The input is not changed; the result is deterministic.
    """
    current = tuple(operations)
    for _ in range(MAX_PASSES):
        scan = _Pass(current)
        current = scan.run()
        if not scan.retry:
            break
    return current


def _reduce_pair(first: Operation, second: Operation, before: Before) -> Reduced | None:
    """Return what ``first`` then ``second`` reduce to (at most one operation), or None."""
    rule = RULES.get((type(first), type(second)))
    if rule is not None:
        try:
            return rule(first, second, before)
        except MigrationError:
            # The pair cannot be expressed as one valid operation; leave it as it is.
            return None
    if type(first) in _BUILT_IN:
        # Built-in operations merge through RULES only (their reduce() is the default None).
        return None
    result = first.reduce(second)
    if result is None:
        return None
    reduced = tuple(result)
    return reduced if len(reduced) <= 1 else None


class _Pass:
    """One left-to-right pass. Mutable on purpose, for speed; it lives inside ``optimize`` only."""

    __slots__ = (
        "alive",
        "barriers",
        "chains",
        "checks",
        "claims_all",
        "claims_any",
        "claims_named",
        "drops",
        "frees_all",
        "frees_any",
        "frees_named",
        "inexact",
        "knowledge",
        "member",
        "next",
        "operations",
        "prev",
        "retry",
        "tail",
        "touches",
        "unblocked",
        "watched",
    )

    def __init__(self, operations: Sequence[Operation]) -> None:
        size = len(operations)
        self.operations: list[Operation] = list(operations)
        # Each slot's touch is set when its operation is read; EVERYTHING is a placeholder.
        self.touches: list[Touch] = [EVERYTHING] * size
        self.alive = [False] * size
        # The sorted slot lists each slot is in, so that removing it visits only those.
        self.member: list[list[list[int]]] = [[] for _ in range(size)]
        self.prev = [-1] * size
        self.next = [-1] * size
        self.tail = -1
        self.knowledge = Knowledge()
        self.chains: dict[ModelKey, list[int]] = {}
        self.barriers: list[int] = []
        self.drops: list[int] = []
        self.checks: list[int] = []
        self.claims_all: list[int] = []
        self.frees_all: list[int] = []
        self.claims_any: list[int] = []
        self.frees_any: list[int] = []
        self.claims_named: dict[str, list[int]] = {}
        self.frees_named: dict[str, list[int]] = {}
        # Whether another pass may merge more (see _merge_once and _apply).
        self.retry = False
        self.unblocked = False
        # slot -> the later slots whose look-back it stopped (or whose pair it separated).
        self.watched: dict[int, list[int]] = {}
        # Slots whose touch covers more than their operation needs (see _merged_touch).
        self.inexact: set[int] = set()

    def run(self) -> tuple[Operation, ...]:
        """Read every operation, merging as it goes; return the live operations in order."""
        for slot, operation in enumerate(self.operations):
            touch = touch_of(operation, self.knowledge)
            self.knowledge.learn(operation)
            self.alive[slot] = True
            self.prev[slot] = self.tail
            if self.tail >= 0:
                self.next[self.tail] = slot
            self.tail = slot
            self.touches[slot] = touch
            self._index(slot, touch)
            self._settle(slot)
        return tuple(op for op, alive in zip(self.operations, self.alive, strict=True) if alive)

    # Bookkeeping of the sorted slot lists -------------------------------------------

    def _lists(self, touch: Touch) -> Iterable[list[int]]:
        """Yield every list a slot with ``touch`` belongs in."""
        for key in touch.reach():
            yield self.chains.setdefault(key, [])
        if touch.everything:
            yield self.barriers
        if touch.drops_relations:
            yield self.drops
        if touch.checks_referrers:
            yield self.checks
        for names, every, anything, named in (
            (touch.claims_tables, self.claims_all, self.claims_any, self.claims_named),
            (touch.frees_tables, self.frees_all, self.frees_any, self.frees_named),
        ):
            if names is None:
                yield every
                yield anything
            elif names:
                yield every
                for name in names:
                    yield named.setdefault(name, [])

    def _index(self, slot: int, touch: Touch) -> None:
        """Make ``slot`` a member of exactly the lists ``touch`` calls for."""
        wanted = {id(lst): lst for lst in self._lists(touch)}
        kept: list[list[int]] = []
        for lst in self.member[slot]:
            if id(lst) in wanted:
                del wanted[id(lst)]
                kept.append(lst)
            else:
                del lst[bisect_left(lst, slot)]
        for lst in wanted.values():
            insort(lst, slot)
            kept.append(lst)
        self.member[slot] = kept

    def _kill(self, slot: int) -> None:
        """Remove ``slot`` from the sequence and from every list that holds it."""
        for lst in self.member[slot]:
            del lst[bisect_left(lst, slot)]
        self.member[slot] = []
        self.alive[slot] = False
        before, after = self.prev[slot], self.next[slot]
        if before >= 0:
            self.next[before] = after
        if after >= 0:
            self.prev[after] = before
        else:
            self.tail = before

    # Merging --------------------------------------------------------------------------

    def _settle(self, slot: int) -> None:
        """Merge the operation in ``slot`` with earlier partners for as long as one is found."""
        while slot >= 0:
            slot = self._merge_once(slot)

    def _merge_once(self, slot: int) -> int:
        """Merge ``slot`` with one earlier partner; return the result's slot, or -1 if none or it vanished."""
        second, touch = self.operations[slot], self.touches[slot]
        adjacent = self.prev[slot]
        if adjacent >= 0:
            first_touch = self.touches[adjacent]
            result = _reduce_pair(self.operations[adjacent], second, first_touch.before)
            if result is not None:
                return self._apply(adjacent, slot, result, back=True)
        if touch.everything:
            return -1
        own = model_key(second)
        for key in (own,) if own is not None else sorted(touch.reach()):
            chain = self.chains.get(key)
            if not chain:
                continue
            position = bisect_left(chain, slot) - 1
            for _step in range(LOOKBACK):
                if position < 0:
                    break
                first = chain[position]
                position -= 1
                first_touch = self.touches[first]
                if first != adjacent:
                    result = _reduce_pair(self.operations[first], second, first_touch.before)
                    if result is not None:
                        barrier = self._first_between(self.barriers, first, slot)
                        if barrier >= 0:
                            # A barrier stays, unless it merges itself.
                            self.watched.setdefault(barrier, []).append(slot)
                        else:
                            if not self._blocked(touch, first, slot):
                                return self._apply(first, slot, result, back=True)
                            if not self._blocked(first_touch, first, slot):
                                return self._apply(first, slot, result, back=False)
                            # What stands between them may merge away later in this pass.
                            self.unblocked = True
                if not first_touch.commutes_with(touch):
                    # If this operation merges later in this pass, the way back may open.
                    self.watched.setdefault(first, []).append(slot)
                    # A merged touch may claim more than its operation needs; the next
                    # pass computes it exactly and may find the way open.
                    self.retry = self.retry or first in self.inexact
                    break
            else:
                self.unblocked = self.unblocked or position >= 0
        return -1

    def _apply(self, first: int, second: int, result: Reduced, *, back: bool) -> int:
        """Replace the pair by ``result``: in the first's slot if the second moved back, else the second's."""
        waiting = self.watched.pop(first, []) + self.watched.pop(second, [])
        if self.unblocked:
            # A pair was found apart earlier in this pass: this merge may have cleared the way.
            self.retry = True
        if not result:
            self._kill(second)
            self._kill(first)
            self.retry = self.retry or any(self.alive[slot] for slot in waiting)
            return -1
        (operation,) = result
        kept, gone = (first, second) if back else (second, first)
        exact = self._exact_touch_known(operation, first)
        touch = self._merged_touch(operation, first, second)
        self._kill(gone)
        self.operations[kept] = operation
        self.inexact.discard(gone)
        if exact:
            self.inexact.discard(kept)
        else:
            self.inexact.add(kept)
        if touch != self.touches[kept]:
            self.touches[kept] = touch
            self._index(kept, touch)
        self.retry = self.retry or any(self._opens_way(kept, slot) for slot in waiting if self.alive[slot])
        return kept

    def _opens_way(self, merged: int, waiting: int) -> bool:
        """Tell whether the new operation in ``merged`` no longer stops ``waiting`` looking back."""
        if merged > waiting:
            return True
        touch = self.touches[merged]
        if touch.commutes_with(self.touches[waiting]):
            return True
        return _reduce_pair(self.operations[merged], self.operations[waiting], touch.before) is not None

    def _merged_touch(self, operation: Operation, first: int, second: int) -> Touch:
        """Return the touch of the operation that replaces the pair ``first``, ``second``.

        What is known just before the first operation is known just before the result,
        so a built-in result gets its exact touch. A DeleteModel needs all the fields of
        its model, which are not kept per slot, and an operation that is not built in may
        name anything: both get a touch covering the pair's and their own.
        """
        first_touch, second_touch = self.touches[first], self.touches[second]
        key = model_key(self.operations[first])
        if key is not None and self._exact_touch_known(operation, first):
            return touch_of(operation, Knowledge.just_before(key, first_touch.before))
        merged = first_touch.joined(second_touch)
        return merged.joined(touch_of(operation, Knowledge())) if model_key(operation) is None else merged

    def _exact_touch_known(self, operation: Operation, first: int) -> bool:
        """Tell whether the result of merging into ``first`` gets its exact touch (see below)."""
        return (
            model_key(operation) is not None
            and not isinstance(operation, DeleteModel)
            and model_key(self.operations[first]) is not None
        )

    def _blocked(self, touch: Touch, low: int, high: int) -> bool:
        """Tell whether an operation strictly between ``low`` and ``high`` does not commute with ``touch``."""
        if self.next[low] == high:
            return False
        if touch.everything or self._any_between(self.barriers, low, high):
            return True
        for key in touch.reach():
            chain = self.chains.get(key, ())
            for index in range(bisect_right(chain, low), bisect_left(chain, high)):
                other = self.touches[chain[index]]
                if not other.commutes_with(touch):
                    return True
        if touch.checks_referrers and self._any_between(self.drops, low, high):
            return True
        if touch.drops_relations and self._any_between(self.checks, low, high):
            return True
        return self._tables_blocked(touch, low, high)

    def _tables_blocked(self, touch: Touch, low: int, high: int) -> bool:
        claims, frees = touch.claims_tables, touch.frees_tables
        if claims is None:
            if self._any_between(self.claims_all, low, high) or self._any_between(self.frees_all, low, high):
                return True
        elif claims:
            if self._any_between(self.claims_any, low, high) or self._any_between(self.frees_any, low, high):
                return True
            for name in claims:
                if self._any_between(self.claims_named.get(name, []), low, high):
                    return True
                if self._any_between(self.frees_named.get(name, []), low, high):
                    return True
        if frees is None:
            return self._any_between(self.claims_all, low, high)
        if frees and self._any_between(self.claims_any, low, high):
            return True
        return any(self._any_between(self.claims_named.get(name, []), low, high) for name in frees or ())

    @staticmethod
    def _any_between(slots: list[int], low: int, high: int) -> bool:
        """Tell whether the sorted ``slots`` hold one strictly between ``low`` and ``high``."""
        index = bisect_right(slots, low)
        return index < len(slots) and slots[index] < high

    @staticmethod
    def _first_between(slots: list[int], low: int, high: int) -> int:
        """Return the first of the sorted ``slots`` strictly between ``low`` and ``high``, or -1."""
        index = bisect_right(slots, low)
        return slots[index] if index < len(slots) and slots[index] < high else -1

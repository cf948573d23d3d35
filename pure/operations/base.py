"""The Operation protocol: the public extension point every operation implements.

Theory of operation: an operation is a frozen value. ``state_forwards`` maps a
ProjectState to a new one and never mutates its input (law: no IO, no mutation,
deterministic). The database side lives in the dialects, which render statements
from ``(operation, state_before, state_after)``, so an operation never needs a
connection. The optimizer works on ``footprint()`` (what an operation reads and
writes) and ``reduce()`` (how two operations merge).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from reinhardt_migrations.pure.state import ProjectState

__all__ = ["BaseOperation", "Footprint", "Operation"]


@attrs.frozen
class Footprint:
    """What an operation touches, as names the optimizer can compare.

    ``models`` are ``(app_label, model)`` keys; ``fields`` are ``(app_label, model, field)``.
    ``everything`` marks an operation (RunSQL, RunCode) that may touch anything, so
    nothing moves past it.
    """

    models: frozenset[tuple[str, str]] = frozenset()
    fields: frozenset[tuple[str, str, str]] = frozenset()
    everything: bool = False

    def overlaps(self, other: Footprint) -> bool:
        """Tell whether two footprints share a model (then the operations may not swap)."""
        if self.everything or other.everything:
            return True
        return not self.models.isdisjoint(other.models)


@runtime_checkable
class Operation(Protocol):
    """What every operation, built in or custom, implements."""

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state after this operation; never mutate ``state``."""
        ...

    def describe(self) -> str:
        """Return a one-line human description."""
        ...

    @property
    def reversible(self) -> bool:
        """Tell whether the operation can be undone."""
        ...

    @property
    def migration_name_fragment(self) -> str:
        """Return a short snake_case fragment used to name migrations."""
        ...

    def footprint(self) -> Footprint:
        """Return the models and fields this operation reads or writes."""
        ...

    def reduce(self, other: Operation) -> Sequence[Operation] | None:
        """Return operations equivalent to ``self`` then ``other``, or None if they do not merge."""
        ...


class BaseOperation:
    """Defaults shared by the built-in operations (they are attrs frozen classes)."""

    __slots__ = ()

    #: Name under which the operation is serialized; set by each subclass.
    kind: ClassVar[str] = ""
    #: Whether the operation can lose data (the CLI warns before writing it).
    destroys_data: ClassVar[bool] = False

    @property
    def reversible(self) -> bool:
        """Tell whether the operation can be undone (most can)."""
        return True

    @property
    def migration_name_fragment(self) -> str:
        """Return a short snake_case fragment used to name migrations."""
        return self.kind.lower()

    def footprint(self) -> Footprint:
        """Return what this operation touches; the default is everything (never reordered)."""
        return Footprint(everything=True)

    def reduce(self, other: Operation) -> Sequence[Operation] | None:
        """Return None: by default an operation does not merge with another."""
        return None

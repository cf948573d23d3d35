"""The Dialect protocol, the plan values, and the structure every dialect shares.

Theory of operation: a dialect renders, from ``(operation, state before, state
after)``, the statements that take a database from one state to the other, with no
connection. ``BaseDialect`` does everything that is not about SQL spelling:

1. Operations with a database side of their own (RunSQL, RunCode, custom operations
   with ``database_forwards``/``database_backwards``, SeparateDatabaseAndState's
   database operations) are handled by rule; PostgreSQL project objects go to
   ``render_project_operation``, which a dialect without them refuses.
2. Every built-in model-level operation becomes a list of ``TableChange`` values:
   the tables of the models it touches (``_TOUCHED`` below) diffed between the two
   states, with the model and field renames it makes. The dialect renders each
   change (``render_change``), so a new operation needs no new SQL code.
3. ``plan_migration`` replays the states once, renders every operation (backwards:
   in reverse order, each from its own after-state back to its before-state), and
   groups the steps. A dialect that rebuilds tables (SQLite) sets ``merges_rebuilds``:
   consecutive operations that each change the same single table, one of which needs
   a rebuild, become one step whose change is the composition of theirs, so the table
   is rebuilt once. Every error (irreversible, unsupported) is raised while planning,
   before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from reinhardt_migrations.pure.dialects.tables import (
    NO_RENAMES,
    Renames,
    TableChange,
    TablesMemo,
    changes_between,
)
from reinhardt_migrations.pure.errors import InvalidValue, IrreversibleOperation, UnsupportedOperation
from reinhardt_migrations.pure.fields import (
    CallableDefault,
    Default,
    LiteralDefault,
    ModelKey,
    NoDefault,
    OnDelete,
    SqlDefault,
)
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.names import shorten_name
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    CreateCollation,
    CreateExtension,
    CreateModel,
    CreateTable,
    DeleteModel,
    DropExtension,
    RemoveCollation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.sql import Statement, render_literal
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import ColumnType

__all__ = ["BaseDialect", "Dialect", "MigrationSQL", "OperationSQL"]


def _statements(value: Iterable[Statement]) -> tuple[Statement, ...]:
    return tuple(value)


def _indexes(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


@attrs.frozen
class OperationSQL:
    """One step of a plan: the operations it covers, a description, and what to run.

    ``operation_indexes`` are positions in the migration's operations (several when
    operations share one table rebuild). ``code``, when set, is the dotted path of a
    callable the executor must call at this point (RunCode), in the plan's direction.
    """

    operation_indexes: tuple[int, ...] = attrs.field(converter=_indexes)
    description: str
    statements: tuple[Statement, ...] = attrs.field(default=(), converter=_statements)
    code: str | None = None

    def describe(self) -> str:
        """Return the step as commented SQL, as ``sqlmigrate`` prints it."""
        lines = [f"-- {self.description}"]
        if self.code is not None:
            lines.append(f"-- calls {self.code}(connection, state)")
        if not self.statements and self.code is None:
            lines.append("-- (no SQL on this database)")
        lines.extend(statement.describe() for statement in self.statements)
        return "\n".join(lines)


@attrs.frozen
class MigrationSQL:
    """Everything a database runs to apply (or unapply) one migration, in order.

    The executor runs ``setup`` outside any transaction, then (in one transaction
    when ``atomic``) every step in order and then ``checks`` (each statement marked
    ``expect_no_rows`` must return no row), records the migration, commits, and
    finally runs ``teardown`` outside the transaction, also after a failure.
    ``before`` and ``after`` are the states the database is at before and after.
    """

    steps: tuple[OperationSQL, ...]
    before: ProjectState
    after: ProjectState
    atomic: bool = True
    backwards: bool = False
    setup: tuple[Statement, ...] = attrs.field(default=(), converter=_statements)
    checks: tuple[Statement, ...] = attrs.field(default=(), converter=_statements)
    teardown: tuple[Statement, ...] = attrs.field(default=(), converter=_statements)

    def all_statements(self) -> tuple[Statement, ...]:
        """Return every statement in the order the executor runs them."""
        inner = tuple(s for step in self.steps for s in step.statements)
        return (*self.setup, *inner, *self.checks, *self.teardown)

    def describe(self) -> str:
        """Return the whole plan as commented SQL (``sqlmigrate`` output)."""
        parts = [s.describe() for s in self.setup]
        parts += [step.describe() for step in self.steps]
        parts += [s.describe() for s in (*self.checks, *self.teardown)]
        return "\n".join(parts)


@runtime_checkable
class Dialect(Protocol):
    """What every SQL dialect offers: spelling, and statements from state changes."""

    @property
    def name(self) -> str:
        """Return the dialect's name (``"sqlite"``)."""
        ...

    @property
    def max_identifier_bytes(self) -> int | None:
        """Return the longest identifier the database keeps, in bytes (None: no limit)."""
        ...

    def quote(self, identifier: str) -> str:
        """Return ``identifier`` quoted for this database."""
        ...

    def object_name(self, name: str) -> str:
        """Return an index or constraint name as the database stores it (shortened if too long)."""
        ...

    def column_type_sql(self, column_type: ColumnType) -> str:
        """Return the SQL spelling of a column type."""
        ...

    def default_sql(self, default: Default) -> str | None:
        """Return the SQL of a column default, or None when the database has none."""
        ...

    def on_delete_sql(self, on_delete: OnDelete) -> str:
        """Return the ``ON DELETE`` action as the catalog reports it."""
        ...

    def normalise_type(self, text: str) -> str:
        """Return a type's SQL in the canonical form used to compare schemas."""
        ...

    def normalise_default(self, text: str | None) -> str | None:
        """Return a default's SQL in the canonical form used to compare schemas."""
        ...

    def normalise_expression(self, text: str) -> str:
        """Return a check or index condition in the canonical form used to compare schemas."""
        ...

    def forwards(
        self, operation: Operation, before: ProjectState, after: ProjectState
    ) -> tuple[Statement, ...]:
        """Return the statements applying ``operation`` (database at ``before`` -> ``after``)."""
        ...

    def backwards(
        self, operation: Operation, before: ProjectState, after: ProjectState
    ) -> tuple[Statement, ...]:
        """Return the statements undoing ``operation`` (database at ``after`` -> ``before``)."""
        ...

    def plan_migration(
        self, migration: Migration, before: ProjectState, *, backwards: bool = False
    ) -> MigrationSQL:
        """Return the plan applying (or, with ``backwards``, unapplying) ``migration``."""
        ...

    def statements_between(
        self, before: ProjectState, after: ProjectState, renames: Renames = NO_RENAMES
    ) -> tuple[Statement, ...]:
        """Return statements taking a database from ``before`` to ``after`` (for custom operations)."""
        ...

    def literal(self, value: object) -> str:
        """Return ``value`` as an SQL literal of this dialect."""
        ...


# The models each built-in operation touches; their referrers are added, since
# renames reach the tables that point at a model (and its join tables' columns).
_TOUCHED: dict[type[Any], Callable[[Any], tuple[ModelKey, ...]]] = {
    CreateModel: lambda op: ((op.app_label, op.name),),
    CreateTable: lambda op: ((op.app_label, op.name),),
    DeleteModel: lambda op: ((op.app_label, op.name),),
    RenameModel: lambda op: ((op.app_label, op.old_name), (op.app_label, op.new_name)),
    AlterModelTable: lambda op: ((op.app_label, op.name),),
    AlterModelOptions: lambda op: ((op.app_label, op.name),),
    AlterUniqueTogether: lambda op: ((op.app_label, op.name),),
    AddField: lambda op: ((op.app_label, op.model_name),),
    RemoveField: lambda op: ((op.app_label, op.model_name),),
    AlterField: lambda op: ((op.app_label, op.model_name),),
    RenameField: lambda op: ((op.app_label, op.model_name),),
    AddIndex: lambda op: ((op.app_label, op.model_name),),
    RemoveIndex: lambda op: ((op.app_label, op.model_name),),
    RenameIndex: lambda op: ((op.app_label, op.model_name),),
    AddConstraint: lambda op: ((op.app_label, op.model_name),),
    RemoveConstraint: lambda op: ((op.app_label, op.model_name),),
}

_PROJECT_OPERATIONS = (CreateExtension, DropExtension, CreateCollation, RemoveCollation)


def _renames_of(operation: Operation) -> Renames:
    if isinstance(operation, RenameModel):
        return Renames(
            models={(operation.app_label, operation.old_name): (operation.app_label, operation.new_name)}
        )
    if isinstance(operation, RenameField):
        key = (operation.app_label, operation.model_name)
        return Renames(fields={(key, operation.old_name): operation.new_name})
    return NO_RENAMES


def _one_off_fills(operation: Operation) -> dict[tuple[ModelKey, str], Default]:
    """Return the default that fills existing rows when the state does not keep it."""
    if isinstance(operation, AddField | AlterField) and not operation.preserve_default:
        default = operation.field.default
        if isinstance(default, LiteralDefault | SqlDefault):
            return {((operation.app_label, operation.model_name), operation.field.name): default}
    return {}


@attrs.frozen
class _Piece:
    """One operation's (or nested database operation's) rendering, before grouping."""

    index: int
    description: str
    changes: tuple[TableChange, ...] | None = None
    statements: tuple[Statement, ...] = ()
    code: str | None = None

    def single_alteration(self) -> TableChange | None:
        if self.changes is not None and len(self.changes) == 1 and self.changes[0].is_alteration:
            return self.changes[0]
        return None


class BaseDialect:
    """The shared structure; a dialect sets its names and implements ``render_change``."""

    __slots__ = ()

    name: ClassVar[str] = ""
    max_identifier_bytes: ClassVar[int | None] = None
    #: Whether consecutive changes of one table are composed to share one rebuild.
    merges_rebuilds: ClassVar[bool] = False

    # -- spelling ------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        """Return ``identifier`` in double quotes, inner quotes doubled (ANSI SQL).

        Raises:
            InvalidValue: the identifier is empty or holds a NUL character.
        """
        if not identifier or "\x00" in identifier:
            raise InvalidValue(
                "SQL identifier", f"{identifier!r} must be non-empty and free of NUL characters"
            )
        return '"' + identifier.replace('"', '""') + '"'

    def object_name(self, name: str) -> str:
        """Return an index or constraint name shortened (with a hash) to the database's limit."""
        limit = self.max_identifier_bytes
        return name if limit is None else shorten_name(name, limit)

    def literal(self, value: object) -> str:
        """Return ``value`` as an SQL literal of this dialect (see ``render_literal``)."""
        return render_literal(value, self.name)

    def default_sql(self, default: Default) -> str | None:
        """Return the SQL of a column default: a literal, ``(expression)``, or None."""
        if isinstance(default, LiteralDefault):
            return self.literal(default.value)
        if isinstance(default, SqlDefault):
            return f"({default.sql})"
        assert isinstance(default, NoDefault | CallableDefault)
        return None

    def on_delete_sql(self, on_delete: OnDelete) -> str:
        """Return the SQL action for ``on_delete`` (PROTECT is RESTRICT; DO_NOTHING is NO ACTION)."""
        return _ON_DELETE[on_delete]

    def column_type_sql(self, column_type: ColumnType) -> str:
        """Return the SQL spelling of a column type (each dialect implements it)."""
        raise NotImplementedError

    def normalise_type(self, text: str) -> str:
        """Return lower-case type SQL with single spaces and none around brackets and commas."""
        return _tight(" ".join(text.lower().split()))

    def normalise_default(self, text: str | None) -> str | None:
        """Return a default's SQL without wrapping brackets and with single spaces."""
        return None if text is None else _unwrap(" ".join(text.split()))

    def normalise_expression(self, text: str) -> str:
        """Return an expression with single spaces and without wrapping brackets."""
        return _unwrap(" ".join(text.split()))

    # -- hooks -----------------------------------------------------------------------

    def render_change(self, change: TableChange) -> tuple[Statement, ...]:
        """Return the statements making one table match (each dialect implements it)."""
        raise NotImplementedError

    def rebuild_reasons(self, change: TableChange) -> tuple[str, ...]:
        """Return why ``change`` needs the table rebuilt (empty: it does not)."""
        return ()

    def plan_frame(self, rebuilds: bool) -> tuple[tuple[Statement, ...], ...]:
        """Return ``(setup, checks, teardown)`` statements around a migration's steps."""
        return ((), (), ())

    def render_project_operation(self, operation: Operation, backwards: bool) -> tuple[Statement, ...]:
        """Render a PostgreSQL project object (extension, collation); refused unless overridden.

        Raises:
            UnsupportedOperation: the database has no such objects.
        """
        raise UnsupportedOperation(
            self.name,
            operation.describe(),
            "the database has no extensions or collations of this kind; to keep the operation in "
            "the history for PostgreSQL only, move it into SeparateDatabaseAndState.state_operations "
            "or a migration that is not applied here",
        )

    # -- rendering -------------------------------------------------------------------

    def statements_between(
        self, before: ProjectState, after: ProjectState, renames: Renames = NO_RENAMES
    ) -> tuple[Statement, ...]:
        """Return statements taking a database from ``before`` to ``after`` (for custom operations).

        Every model that is not the same value in both states is diffed; ``renames``
        says which models and fields were renamed (otherwise they drop and recreate).
        """
        keys = {k for k, m in before.models.items() if after.models.get(renames.models.get(k, k)) is not m}
        keys |= {k for k, m in after.models.items() if before.models.get(k) is not m}
        keys |= set(renames.models.values())
        changes = changes_between(before, after, keys, renames)
        return tuple(s for change in changes for s in self.render_change(change))

    def forwards(
        self, operation: Operation, before: ProjectState, after: ProjectState
    ) -> tuple[Statement, ...]:
        """Return the statements applying ``operation`` (RunCode's code is only in plans).

        Raises:
            UnsupportedOperation: the operation has no rendering on this dialect.
        """
        pieces = self._pieces(0, operation, before, after, backwards=False)
        return tuple(s for piece in pieces for s in self._render_piece(piece))

    def backwards(
        self, operation: Operation, before: ProjectState, after: ProjectState
    ) -> tuple[Statement, ...]:
        """Return the statements taking a database at ``after`` back to ``before``.

        Raises:
            IrreversibleOperation: the operation cannot be undone.
            UnsupportedOperation: the operation has no rendering on this dialect.
        """
        pieces = self._pieces(0, operation, after, before, backwards=True)
        return tuple(s for piece in pieces for s in self._render_piece(piece))

    def plan_migration(
        self, migration: Migration, before: ProjectState, *, backwards: bool = False
    ) -> MigrationSQL:
        """Return the plan applying ``migration`` to a database at ``before`` (or unapplying it).

        With ``backwards``, ``before`` is still the state before the migration; the plan
        undoes the operations in reverse order and ends at ``before``.

        Raises:
            IrreversibleOperation: backwards, an operation cannot be undone (nothing runs).
            UnsupportedOperation: an operation has no rendering on this dialect.
        """
        states = [before]
        for operation in migration.operations:
            states.append(operation.state_forwards(states[-1]))
        order = range(len(migration.operations))
        pieces: list[_Piece] = []
        memo: TablesMemo = {}
        try:
            for index in reversed(order) if backwards else order:
                operation = migration.operations[index]
                start, end = (
                    (states[index + 1], states[index]) if backwards else (states[index], states[index + 1])
                )
                pieces.extend(self._pieces(index, operation, start, end, backwards=backwards, memo=memo))
        except IrreversibleOperation as error:
            raise IrreversibleOperation(error.operation, f"{migration.app_label}.{migration.name}") from error
        steps, rebuilds = self._steps(pieces, backwards)
        setup, checks, teardown = self.plan_frame(rebuilds)
        atomic = migration.atomic and all(s.transactional for step in steps for s in step.statements)
        return MigrationSQL(
            steps=steps,
            before=states[-1] if backwards else states[0],
            after=states[0] if backwards else states[-1],
            atomic=atomic,
            backwards=backwards,
            setup=setup,
            checks=checks,
            teardown=teardown,
        )

    def _pieces(
        self,
        index: int,
        operation: Operation,
        start: ProjectState,
        end: ProjectState,
        *,
        backwards: bool,
        memo: TablesMemo | None = None,
    ) -> list[_Piece]:
        """Render one operation taking the database from ``start`` to ``end``."""
        label = operation.describe()
        custom = getattr(operation, "database_backwards" if backwards else "database_forwards", None)
        if custom is not None:
            before, after = (end, start) if backwards else (start, end)
            return [_Piece(index, label, statements=tuple(custom(self, before, after)))]
        if isinstance(operation, RunSQL):
            sql = operation.reverse_sql if backwards else operation.sql
            if sql is None:
                raise IrreversibleOperation(operation.describe())
            return [_Piece(index, label, statements=tuple(Statement(text) for text in sql))]
        if isinstance(operation, RunCode):
            path = operation.reverse_code if backwards else operation.code
            if path is None:
                raise IrreversibleOperation(operation.describe())
            return [_Piece(index, label, code=path)]
        if isinstance(operation, SeparateDatabaseAndState):
            before = end if backwards else start
            return self._separate_pieces(index, operation, before, backwards=backwards, memo=memo)
        if isinstance(operation, _PROJECT_OPERATIONS):
            return [_Piece(index, label, statements=self.render_project_operation(operation, backwards))]
        touched = _TOUCHED.get(type(operation))
        if touched is None:
            if backwards and getattr(operation, "database_forwards", None) is not None:
                raise IrreversibleOperation(operation.describe())
            raise UnsupportedOperation(
                self.name,
                operation.describe(),
                "it is not a built-in operation and has no database_forwards(dialect, before, after) "
                "method returning statements (dialect.statements_between(before, after) renders a "
                "state change)",
            )
        keys = set(touched(operation))
        for key in tuple(keys):
            keys |= {m.key for m in (*start.referrers_of(key), *end.referrers_of(key))}
        renames = _renames_of(operation)
        fills = {} if backwards else _one_off_fills(operation)
        changes = changes_between(start, end, keys, renames.inverted() if backwards else renames, fills, memo)
        return [_Piece(index, label, changes=changes)]

    def _separate_pieces(
        self,
        index: int,
        operation: SeparateDatabaseAndState,
        before: ProjectState,
        *,
        backwards: bool,
        memo: TablesMemo | None,
    ) -> list[_Piece]:
        # As Django: database operations replay from the state before the whole operation.
        states = [before]
        for inner in operation.database_operations:
            states.append(inner.state_forwards(states[-1]))
        pieces: list[_Piece] = []
        order = range(len(operation.database_operations))
        for position in reversed(order) if backwards else order:
            inner = operation.database_operations[position]
            start, end = states[position], states[position + 1]
            if backwards:
                start, end = end, start
            pieces.extend(self._pieces(index, inner, start, end, backwards=backwards, memo=memo))
        return pieces

    def _render_piece(self, piece: _Piece) -> tuple[Statement, ...]:
        if piece.changes is None:
            return piece.statements
        return tuple(s for change in piece.changes for s in self.render_change(change))

    def _steps(self, pieces: Sequence[_Piece], backwards: bool) -> tuple[tuple[OperationSQL, ...], bool]:
        """Group pieces into steps, sharing rebuilds; return the steps and whether any rebuilds."""
        steps: list[OperationSQL] = []
        rebuilds = False
        position = 0
        undo = "Undo: " if backwards else ""
        while position < len(pieces):
            run = self._run_from(pieces, position)
            position += len(run)
            if len(run) > 1:
                merged = run[0].single_alteration()
                for piece in run[1:]:
                    change = piece.single_alteration()
                    assert merged is not None
                    assert change is not None
                    merged = merged.then(change)
                assert merged is not None
                reasons = self.rebuild_reasons(merged)
                rebuilds = rebuilds or bool(reasons)
                indexes = tuple(dict.fromkeys(piece.index for piece in run))
                what = "; ".join(dict.fromkeys(piece.description for piece in run))
                table = self.quote(merged.table_name)
                how = (
                    f"one rebuild of {table}: {'; '.join(reasons)}"
                    if reasons
                    else f"{table} altered in place"
                )
                steps.append(OperationSQL(indexes, f"{undo}{what} ({how})", self.render_change(merged)))
                continue
            piece = run[0]
            reasons = tuple(r for change in piece.changes or () for r in self.rebuild_reasons(change))
            rebuilds = rebuilds or bool(reasons)
            description = undo + piece.description
            if reasons:
                description += f" (rebuilds the table: {'; '.join(dict.fromkeys(reasons))})"
            steps.append(OperationSQL((piece.index,), description, self._render_piece(piece), piece.code))
        return tuple(steps), rebuilds

    def _run_from(self, pieces: Sequence[_Piece], start: int) -> list[_Piece]:
        """Return the pieces from ``start`` that share one rebuild (at least the first)."""
        first = pieces[start].single_alteration()
        if not self.merges_rebuilds or first is None:
            return [pieces[start]]
        run = [pieces[start]]
        table = first.new
        needs = bool(self.rebuild_reasons(first))
        for piece in pieces[start + 1 :]:
            change = piece.single_alteration()
            if change is None or table is None or change.old is None or change.old.key != table.key:
                break
            if change.old.name != table.name:
                break
            run.append(piece)
            table = change.new
            needs = needs or bool(self.rebuild_reasons(change))
        return run if needs else [pieces[start]]


# OnDelete -> SQL action. PROTECT and RESTRICT both refuse at once; DO_NOTHING is the
# database's default (NO ACTION), which the catalog reports even when not written.
_ON_DELETE: dict[OnDelete, str] = {
    OnDelete.CASCADE: "CASCADE",
    OnDelete.SET_NULL: "SET NULL",
    OnDelete.SET_DEFAULT: "SET DEFAULT",
    OnDelete.PROTECT: "RESTRICT",
    OnDelete.RESTRICT: "RESTRICT",
    OnDelete.DO_NOTHING: "NO ACTION",
}


def _tight(text: str) -> str:
    for mark in ("(", ")", ","):
        text = text.replace(f" {mark}", mark).replace(f"{mark} ", mark)
    return text


def _unwrap(text: str) -> str:
    """Remove brackets that wrap the whole text: ``((a > 0))`` -> ``a > 0``."""
    while text.startswith("(") and text.endswith(")") and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _closes_at_end(text: str) -> bool:
    depth = 0
    quote = ""
    for position, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and position != len(text) - 1:
                return False
    return depth == 0

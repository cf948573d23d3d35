"""The one error root, and the errors the pure core raises.

Theory of operation: every error carries the data that describes the situation
(app, model, field, migration, cycle ...) and builds its message from it, ending
with what to do next. Callers catch ``MigrationError`` for all of them, or a
subclass to react to one situation. Where callers expect a builtin, the subclass
inherits it too (``LookupError`` for unknown names, ``ValueError`` for bad values).

    MigrationError
    ├── InvalidColumnType            (ValueError)   a type string we cannot parse
    ├── InvalidValue                 (ValueError)   a value that cannot be built
    ├── InvalidOperation                            an operation that does not fit the state
    │   ├── ModelAlreadyExists
    │   ├── UnknownModel             (LookupError)
    │   ├── FieldAlreadyExists
    │   ├── UnknownField             (LookupError)
    │   ├── UnknownIndex             (LookupError)
    │   ├── UnknownConstraint        (LookupError)
    │   ├── UnknownView              (LookupError)
    │   ├── DuplicateView
    │   ├── DuplicateObjectName
    │   └── DanglingRelation
    ├── IrreversibleOperation
    ├── SerializationError           (ValueError)
    ├── LawViolation                                an operation breaks a law (pure/laws.py)
    ├── GraphError
    │   ├── CircularDependency
    │   ├── ConflictingLeaves
    │   ├── UnknownMigration         (LookupError)
    │   ├── DuplicateMigration       (ValueError)
    │   ├── InconsistentHistory
    │   └── CrossDatabaseError                      (pure/routing.py) migrations across databases
    │       ├── UnappliedCrossDatabaseDependency    a dependency is not applied on its database yet
    │       ├── AppliedCrossDatabaseDependent       unapplying would strand another database's migration
    │       ├── CrossDatabaseRelation  (InvalidOperation) a foreign key across databases
    │       └── CrossDatabaseOperation (InvalidOperation) a migration changes another database's model
    ├── AutodetectorError
    │   ├── MissingOneOffDefault
    │   ├── ConflictingRenameHints
    │   └── UnorderableChanges
    ├── UnknownDatabase, UnroutedApp (LookupError)  (pure/routing.py) an alias or route that does not exist
    ├── AppOnOtherDatabase           (ValueError)   (pure/routing.py) a target on another database than chosen
    ├── UnsupportedOperation                        not expressible on a dialect
    └── UnknownDialect               (LookupError)  no SQL dialect of that name
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AutodetectorError",
    "CircularDependency",
    "ConflictingLeaves",
    "ConflictingRenameHints",
    "DanglingRelation",
    "DuplicateMigration",
    "DuplicateObjectName",
    "DuplicateView",
    "FieldAlreadyExists",
    "GraphError",
    "InconsistentHistory",
    "InvalidColumnType",
    "InvalidOperation",
    "InvalidValue",
    "IrreversibleOperation",
    "LawViolation",
    "MigrationError",
    "MissingOneOffDefault",
    "ModelAlreadyExists",
    "SerializationError",
    "UnknownConstraint",
    "UnknownDialect",
    "UnknownField",
    "UnknownIndex",
    "UnknownMigration",
    "UnknownModel",
    "UnknownView",
    "UnorderableChanges",
    "UnsupportedOperation",
]


class MigrationError(Exception):
    """Root of every error reinhardt-migrations raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _model_label(app_label: str, model: str) -> str:
    return f"{app_label}.{model}"


class InvalidColumnType(MigrationError, ValueError):
    """A column type string that no rule recognises."""

    def __init__(self, text: str, reason: str = "") -> None:
        self.text = text
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"Cannot understand the column type {text!r}{detail}. Use a type from "
            "reinhardt_migrations.pure.types, or RawType(sql=...) for a dialect-specific type."
        )


class InvalidValue(MigrationError, ValueError):
    """A value that cannot be built as given (empty name, negative length, ...)."""

    def __init__(self, what: str, problem: str) -> None:
        self.what = what
        self.problem = problem
        super().__init__(f"Invalid {what}: {problem}.")


class InvalidOperation(MigrationError):
    """An operation that does not fit the state it is applied to."""


class ModelAlreadyExists(InvalidOperation):
    """Creating or renaming to a model that already exists."""

    def __init__(self, app_label: str, model: str) -> None:
        self.app_label = app_label
        self.model = model
        super().__init__(
            f"Model {_model_label(app_label, model)} already exists. Remove the duplicate "
            "CreateModel, or rename one of the models."
        )


class UnknownModel(InvalidOperation, LookupError):
    """An operation refers to a model that is not in the state."""

    def __init__(self, app_label: str, model: str, hint: str = "") -> None:
        self.app_label = app_label
        self.model = model
        extra = f" {hint}" if hint else ""
        super().__init__(
            f"Model {_model_label(app_label, model)} does not exist at this point of the "
            f"history.{extra} Check the model name and that the migration creating it is a "
            "dependency."
        )


class FieldAlreadyExists(InvalidOperation):
    """Adding or renaming to a field name the model already has."""

    def __init__(self, app_label: str, model: str, field: str) -> None:
        self.app_label = app_label
        self.model = model
        self.field = field
        super().__init__(
            f"Field {field!r} already exists on {_model_label(app_label, model)}. "
            "Pick another name or remove the existing field first."
        )


class UnknownField(InvalidOperation, LookupError):
    """An operation refers to a field the model does not have."""

    def __init__(self, app_label: str, model: str, field: str) -> None:
        self.app_label = app_label
        self.model = model
        self.field = field
        super().__init__(
            f"Model {_model_label(app_label, model)} has no field {field!r} at this point "
            "of the history. Check the field name and the order of the operations."
        )


class UnknownIndex(InvalidOperation, LookupError):
    """An operation refers to an index the model does not have."""

    def __init__(self, app_label: str, model: str, index: str) -> None:
        self.app_label = app_label
        self.model = model
        self.index = index
        super().__init__(
            f"Model {_model_label(app_label, model)} has no index named {index!r}. Check the index name."
        )


class UnknownConstraint(InvalidOperation, LookupError):
    """An operation refers to a constraint the model does not have."""

    def __init__(self, app_label: str, model: str, constraint: str) -> None:
        self.app_label = app_label
        self.model = model
        self.constraint = constraint
        super().__init__(
            f"Model {_model_label(app_label, model)} has no constraint named {constraint!r}. "
            "Check the constraint name."
        )


class UnknownView(InvalidOperation, LookupError):
    """An operation refers to a view that is not in the state."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"View {name!r} does not exist at this point of the history. Check the view name and "
            "that the migration creating it is a dependency."
        )


class DuplicateView(InvalidOperation):
    """A view would take a name a view or table already has (they share one namespace)."""

    def __init__(self, name: str, owner: str) -> None:
        self.name = name
        self.owner = owner
        super().__init__(
            f"The name {name!r} is already taken by {owner}; views and tables share one namespace. "
            "Give the view another name, or drop the other first."
        )


class DuplicateObjectName(InvalidOperation):
    """Two database objects (indexes, constraints, tables) would share one name."""

    def __init__(self, app_label: str, model: str, name: str, kind: str, owner: str | None = None) -> None:
        self.app_label = app_label
        self.model = model
        self.name = name
        self.kind = kind
        self.owner = owner
        where = f"by {owner}" if owner else "in this project"
        super().__init__(
            f"The {kind} name {name!r} of {_model_label(app_label, model)} is already used "
            f"{where}. Give one of them another name."
        )


class DanglingRelation(InvalidOperation):
    """A relation points at a model or field that does not exist, or would be left dangling."""

    def __init__(self, app_label: str, model: str, field: str, target: str, reason: str) -> None:
        self.app_label = app_label
        self.model = model
        self.field = field
        self.target = target
        super().__init__(
            f"Field {_model_label(app_label, model)}.{field} relates to {target}, which "
            f"{reason}. Create the target first, or remove the relation before it goes."
        )


class IrreversibleOperation(MigrationError):
    """A backwards plan meets an operation that cannot be undone."""

    def __init__(self, operation: str, migration: str = "") -> None:
        self.operation = operation
        self.migration = migration
        where = f" in migration {migration}" if migration else ""
        super().__init__(
            f"Operation {operation}{where} cannot be reversed. Give it a reverse (for RunSQL, "
            "reverse_sql; for RunCode, backwards), or migrate back to a later target. "
            "Nothing was run."
        )


class SerializationError(MigrationError, ValueError):
    """A migration document that cannot be read back into values."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}.")


class LawViolation(MigrationError):
    """An operation breaks one of the laws every operation obeys (see pure/laws.py)."""

    def __init__(
        self,
        law: str,
        operation: str,
        problem: str,
        state: str = "",
        *,
        details: str = "",
        fix: str = "for a custom operation, its state_forwards, describe or attrs fields",
    ) -> None:
        self.law = law
        self.operation = operation
        self.problem = problem
        self.state = state
        self.details = details
        on = f" on a state of {state}" if state else ""
        # Details (the full state, the SQL that ran) go last: the first line stays the verdict.
        more = f"\n{details}" if details else ""
        super().__init__(
            f"Operation {operation} breaks the law {law!r}{on}: {problem}. Fix the operation "
            f"({fix}), then check again.{more}"
        )


class GraphError(MigrationError):
    """A problem in the dependency graph of migrations."""


class CircularDependency(GraphError):
    """The migrations' dependencies form a cycle."""

    def __init__(self, cycle: Sequence[tuple[str, str]]) -> None:
        self.cycle = tuple(cycle)
        path = " -> ".join(f"{app}.{name}" for app, name in (*self.cycle, self.cycle[0]))
        super().__init__(
            f"Circular dependency between migrations: {path}. Remove one of these "
            "dependencies (often by moving an operation into a new migration)."
        )


class ConflictingLeaves(GraphError):
    """An app has several leaf migrations: two branches of history were merged."""

    def __init__(self, leaves: dict[str, tuple[str, ...]]) -> None:
        self.leaves = leaves
        listed = "; ".join(f"{app}: {', '.join(names)}" for app, names in sorted(leaves.items()))
        super().__init__(
            f"Conflicting migrations, more than one leaf per app ({listed}). "
            "Run `rmig makemigrations --merge` to write a merge migration."
        )


class UnknownMigration(GraphError, LookupError):
    """A migration that is named (as a dependency or target) but does not exist."""

    def __init__(
        self,
        key: tuple[str, str],
        wanted_by: tuple[str, str] | None = None,
        *,
        relation: str = "a dependency of",
    ) -> None:
        self.key = key
        self.wanted_by = wanted_by
        self.relation = relation
        if key[1] == "zero" and wanted_by is None:
            message = (
                f"App {key[0]!r} has no migrations, so it cannot be migrated to zero. Check the app label."
            )
        else:
            who = f" ({relation} {wanted_by[0]}.{wanted_by[1]})" if wanted_by else ""
            message = (
                f"Migration {key[0]}.{key[1]}{who} does not exist. Check the name, or restore "
                "the missing migration file."
            )
        super().__init__(message)


class DuplicateMigration(GraphError, ValueError):
    """Two migrations given to one graph share an app label and a name."""

    def __init__(self, key: tuple[str, str], first: int, second: int) -> None:
        self.key = key
        self.first = first
        self.second = second
        super().__init__(
            f"Two migrations are both named {key[0]}.{key[1]} (items {first} and {second} of "
            "the migrations given). Rename one of them, or delete the duplicate file."
        )


class InconsistentHistory(GraphError):
    """An applied migration depends on one that is not applied."""

    def __init__(self, applied: tuple[str, str], missing: tuple[str, str]) -> None:
        self.applied = applied
        self.missing = missing
        super().__init__(
            f"Migration {applied[0]}.{applied[1]} is applied before its dependency "
            f"{missing[0]}.{missing[1]}. Apply or fake the dependency, or unapply the first."
        )


class AutodetectorError(MigrationError):
    """The autodetector cannot decide without more information."""


class MissingOneOffDefault(AutodetectorError):
    """A NOT NULL field without a default is added to an existing model."""

    def __init__(self, app_label: str, model: str, field: str) -> None:
        self.app_label = app_label
        self.model = model
        self.field = field
        super().__init__(
            f"Field {_model_label(app_label, model)}.{field} is NOT NULL and has no default, "
            "so existing rows need a value. Give the field a default, make it nullable, or "
            "answer the one-off default question (interactive makemigrations, or a policy "
            "with one_off_defaults)."
        )


class ConflictingRenameHints(AutodetectorError):
    """Two models or fields name the same ``previous_name``."""

    def __init__(self, app_label: str, model: str, previous_name: str, claimants: Sequence[str]) -> None:
        self.app_label = app_label
        self.model = model
        self.previous_name = previous_name
        self.claimants = tuple(claimants)
        where = f"fields of {_model_label(app_label, model)}" if model else f"models of app {app_label!r}"
        super().__init__(
            f"The {where} {', '.join(self.claimants)} all say previous_name={previous_name!r}; "
            "only one of them can be the renamed one. Remove the hint from the others."
        )


class UnorderableChanges(AutodetectorError):
    """The detected operations depend on each other in a cycle (e.g. two tables swap names)."""

    def __init__(self, operations: Sequence[str]) -> None:
        self.operations = tuple(operations)
        super().__init__(
            f"Cannot order these operations, each needs another to run first: {'; '.join(self.operations)}. "
            "Make the change in two steps (run makemigrations after the first half)."
        )


class UnsupportedOperation(MigrationError):
    """An operation a dialect cannot express."""

    def __init__(self, dialect: str, operation: str, reason: str) -> None:
        self.dialect = dialect
        self.operation = operation
        super().__init__(f"{operation} cannot run on {dialect}: {reason}. Nothing was run.")


class UnknownDialect(MigrationError, LookupError):
    """A dialect name or database URL scheme that no SQL dialect answers to."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(
            f"No SQL dialect for {name!r}. Known dialects: {', '.join(self.known)}. Check the "
            "database URL (e.g. 'sqlite:///db.sqlite3')."
        )

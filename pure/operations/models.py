"""Operations on whole models: create, delete, rename, table and options."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState, UniqueTogether
from reinhardt_migrations.pure.convert import constraint_tuple, field_tuple, index_tuple, str_map
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import FieldState, LiteralDefault, check_identifier
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name
from reinhardt_migrations.pure.types import parse_sql_type

__all__ = [
    "AlterModelOptions",
    "AlterModelTable",
    "AlterUniqueTogether",
    "ColumnDefinition",
    "CreateModel",
    "CreateTable",
    "DeleteModel",
    "RenameModel",
]


def _together(value: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(sorted(tuple(entry) for entry in value))


_set = object.__setattr__


@attrs.frozen
class CreateModel(BaseOperation):
    """Create a model and its table."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    fields: tuple[FieldState, ...] = attrs.field(converter=field_tuple)
    db_table: str | None = None
    indexes: tuple[IndexState, ...] = attrs.field(default=(), converter=index_tuple)
    constraints: tuple[ConstraintState, ...] = attrs.field(default=(), converter=constraint_tuple)
    unique_together: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_together)
    comment: str | None = None
    managed: bool = True
    options: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)
    kind: ClassVar[str] = "CreateModel"

    @classmethod
    def from_model(cls, model: ModelState) -> CreateModel:
        """Return the operation that creates ``model`` as it is."""
        return cls.from_model_part(
            model, model.fields, model.indexes, model.constraints, model.unique_together
        )

    @classmethod
    def from_model_part(
        cls,
        model: ModelState,
        fields: tuple[FieldState, ...],
        indexes: tuple[IndexState, ...],
        constraints: tuple[ConstraintState, ...],
        unique_together: tuple[UniqueTogether, ...],
    ) -> CreateModel:
        """Return the operation that creates ``model`` with only the given parts of it, in its order.

        The parts come from the valid ``model``, already converted and checked, so the value is
        set directly, as the constructor would set it, without running its converters and
        validators again (the autodetector builds one for every model a first migration creates).
        """
        operation = object.__new__(cls)
        app_label, name = model.app_label, model.name
        _set(operation, "app_label", app_label)
        _set(operation, "name", name)
        _set(operation, "fields", fields)
        table = model.db_table
        _set(operation, "db_table", None if table == default_table_name(app_label, name) else table)
        _set(operation, "indexes", indexes)
        _set(operation, "constraints", constraints)
        # A model keeps its entries sorted by their fields: ``_together`` would give this order.
        together = tuple([entry.fields for entry in unique_together]) if unique_together else ()
        _set(operation, "unique_together", together)
        _set(operation, "comment", model.comment)
        _set(operation, "managed", model.managed)
        _set(operation, "options", model.options)
        return operation

    def model_state(self) -> ModelState:
        """Return the model this operation creates."""
        return ModelState(
            app_label=self.app_label,
            name=self.name,
            fields=[field.without_object_names() for field in self.fields],
            db_table=self.db_table or default_table_name(self.app_label, self.name),
            indexes=self.indexes,
            constraints=self.constraints,
            unique_together=[UniqueTogether(entry) for entry in self.unique_together],
            comment=self.comment,
            managed=self.managed,
            options=self.options,
        )

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the new model."""
        return state.with_new_model(self.model_state())

    def describe(self) -> str:
        """Return e.g. ``Create model blog.Post``."""
        return f"Create model {self.app_label}.{self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return the model name in lower case."""
        return self.name.lower()

    def footprint(self) -> Footprint:
        """Return the model and every model its relations point at."""
        targets = {f.relation.to for f in self.fields if f.relation is not None}
        targets |= {
            f.relation.through
            for f in self.fields
            if f.relation is not None and f.relation.through is not None
        }
        return Footprint(models=frozenset({(self.app_label, self.name), *targets}))


@attrs.frozen
class DeleteModel(BaseOperation):
    """Delete a model and its table (its rows are lost)."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "DeleteModel"
    destroys_data: ClassVar[bool] = True

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the model."""
        return state.without_model(self.app_label, self.name)

    def describe(self) -> str:
        """Return e.g. ``Delete model blog.Post``."""
        return f"Delete model {self.app_label}.{self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``delete_<model>``."""
        return f"delete_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model; relations to it must already be gone, so it blocks them too."""
        return Footprint(models=frozenset({(self.app_label, self.name)}))


@attrs.frozen
class RenameModel(BaseOperation):
    """Rename a model; relations to it follow, and a default table name is renamed too."""

    app_label: str = attrs.field(validator=check_identifier)
    old_name: str = attrs.field(validator=check_identifier)
    new_name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RenameModel"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the model renamed."""
        return state.renamed_model(self.app_label, self.old_name, self.new_name)

    def describe(self) -> str:
        """Return e.g. ``Rename model blog.Person to Author``."""
        return f"Rename model {self.app_label}.{self.old_name} to {self.new_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``rename_<old>_<new>``."""
        return f"rename_{self.old_name.lower()}_{self.new_name.lower()}"

    def footprint(self) -> Footprint:
        """Return both names; the models pointing at it change too, so it is a barrier."""
        return Footprint(everything=True)


@attrs.frozen
class AlterModelTable(BaseOperation):
    """Rename a model's table."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    table: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "AlterModelTable"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the new table name."""
        model = state.model(self.app_label, self.name)
        return state.with_model(attrs.evolve(model, db_table=self.table))

    def describe(self) -> str:
        """Return e.g. ``Rename table of blog.Post to posts``."""
        return f"Rename table of {self.app_label}.{self.name} to {self.table}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``alter_<model>_table``."""
        return f"alter_{self.name.lower()}_table"

    def footprint(self) -> Footprint:
        """Return the model (tables of related models' foreign keys follow by name)."""
        return Footprint(everything=True)


@attrs.frozen
class AlterModelOptions(BaseOperation):
    """Change a model's comment, managed flag or dialect options (engine, charset)."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    comment: str | None = None
    managed: bool = True
    options: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)
    kind: ClassVar[str] = "AlterModelOptions"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the model's options replaced."""
        model = state.model(self.app_label, self.name)
        return state.with_model(
            attrs.evolve(model, comment=self.comment, managed=self.managed, options=self.options)
        )

    def describe(self) -> str:
        """Return e.g. ``Change options of blog.Post``."""
        return f"Change options of {self.app_label}.{self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``alter_<model>_options``."""
        return f"alter_{self.name.lower()}_options"

    def footprint(self) -> Footprint:
        """Return the model."""
        return Footprint(models=frozenset({(self.app_label, self.name)}))


@attrs.frozen
class AlterUniqueTogether(BaseOperation):
    """Set a model's ``unique_together`` entries."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    unique_together: tuple[tuple[str, ...], ...] = attrs.field(converter=_together)
    kind: ClassVar[str] = "AlterUniqueTogether"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the new entries (kept entries keep their constraint names)."""
        model = state.model(self.app_label, self.name)
        return state.with_model(model.with_unique_together(self.unique_together))

    def describe(self) -> str:
        """Return e.g. ``Alter unique_together for blog.Post (1 constraint(s))``."""
        return (
            f"Alter unique_together for {self.app_label}.{self.name} "
            f"({len(self.unique_together)} constraint(s))"
        )

    @property
    def migration_name_fragment(self) -> str:
        """Return ``alter_<model>_unique_together``."""
        return f"alter_{self.name.lower()}_unique_together"

    def footprint(self) -> Footprint:
        """Return the model."""
        return Footprint(models=frozenset({(self.app_label, self.name)}))


# The low-level column syntax of the original crate: a type followed by keywords.
_COLUMN_KEYWORDS = ("PRIMARY KEY", "AUTOINCREMENT", "NOT NULL", "NULL", "UNIQUE")
_DEFAULT_KEYWORD = re.compile(r"\s+DEFAULT\s+", re.IGNORECASE)


@attrs.frozen
class ColumnDefinition:
    """A column written as SQL, as in ``ColumnDefinition("id", "INTEGER PRIMARY KEY")``."""

    name: str = attrs.field(validator=check_identifier)
    definition: str = attrs.field(validator=check_identifier)

    def to_field(self) -> FieldState:
        """Return the field this column describes.

        Raises:
            InvalidColumnType: the type part is not a known SQL type.
        """
        definition = self.definition
        default: LiteralDefault | None = None
        # Find DEFAULT in the original text: the literal keeps its case and spacing, and
        # keywords may follow it ("REAL DEFAULT 1.5 NOT NULL").
        found = _DEFAULT_KEYWORD.search(definition)
        if found is not None:
            value, rest = _split_default(definition[found.end() :])
            default = LiteralDefault(value)
            definition = f"{definition[: found.start()]} {rest}"
        text = " ".join(definition.upper().split())
        flags: set[str] = set()
        changed = True
        while changed:
            changed = False
            for keyword in _COLUMN_KEYWORDS:
                if text.endswith(" " + keyword):
                    flags.add(keyword)
                    text = text[: -len(keyword) - 1]
                    changed = True
        column_type = parse_sql_type(text)
        primary = "PRIMARY KEY" in flags
        if primary and "AUTOINCREMENT" in flags:
            column_type = parse_sql_type("AUTO")
        return FieldState(
            name=self.name,
            type=column_type,
            null=not primary and "NOT NULL" not in flags,
            primary_key=primary,
            unique="UNIQUE" in flags,
            default=default,
        )


def _split_default(tail: str) -> tuple[str | int | float, str]:
    """Return the literal at the start of ``tail`` (after DEFAULT) and the text after it."""
    tail = tail.strip()
    if tail.startswith("'"):
        end = 1
        while True:
            end = tail.find("'", end)
            if end == -1:
                raise InvalidValue("column default", f"{tail!r} has no closing quote")
            if tail[end + 1 : end + 2] != "'":
                break
            end += 2  # '' is an escaped quote inside the literal
        return tail[1:end].replace("''", "'"), tail[end + 1 :]
    value, _, rest = tail.partition(" ")
    try:
        return int(value), rest
    except ValueError:
        try:
            return float(value), rest
        except ValueError:
            raise InvalidValue("column default", f"{value!r} is not a literal") from None


def _columns(value: Iterable[ColumnDefinition]) -> tuple[ColumnDefinition, ...]:
    return tuple(value)


@attrs.frozen
class CreateTable(BaseOperation):
    """Create a table from column definitions (the original crate's low-level form).

    The table becomes a model of ``app_label`` named after the table.
    """

    name: str = attrs.field(validator=check_identifier)
    columns: tuple[ColumnDefinition, ...] = attrs.field(converter=_columns)
    constraints: tuple[ConstraintState, ...] = attrs.field(default=(), converter=constraint_tuple)
    app_label: str = "tables"
    kind: ClassVar[str] = "CreateTable"

    def as_create_model(self) -> CreateModel:
        """Return the equivalent CreateModel."""
        return CreateModel(
            app_label=self.app_label,
            name=self.name,
            fields=[column.to_field() for column in self.columns],
            db_table=self.name,
            constraints=self.constraints,
        )

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the table as a model."""
        return self.as_create_model().state_forwards(state)

    def describe(self) -> str:
        """Return e.g. ``Create table users``."""
        return f"Create table {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return the table name."""
        return self.name.lower()

    def footprint(self) -> Footprint:
        """Return the model the table becomes."""
        return Footprint(models=frozenset({(self.app_label, self.name)}))

"""Field and Meta declarations for declarative models (``title = Varchar(200)``).

Each declaration is a frozen value holding what a class attribute says; it becomes a
FieldState (or an IndexState / ConstraintState) once the model it belongs to is known.
``reinhardt_migrations.pure.models`` re-exports every name here, so model modules import
from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import attrs

from reinhardt_migrations.pure import types as column_types
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import (
    CallableDefault,
    Default,
    FieldState,
    ModelKey,
    OnDelete,
    Relation,
    RelationKind,
    as_default,
    as_model_key,
)
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import ModelState

__all__ = [
    "CASCADE",
    "DO_NOTHING",
    "PROTECT",
    "RESTRICT",
    "SET_DEFAULT",
    "SET_NULL",
    "AutoField",
    "BigAutoField",
    "BigInteger",
    "Binary",
    "Boolean",
    "Char",
    "CheckConstraint",
    "Column",
    "Date",
    "DateTime",
    "Decimal",
    "Double",
    "Duration",
    "Field",
    "Float",
    "ForeignKey",
    "Index",
    "Integer",
    "Json",
    "KeyType",
    "ManyToMany",
    "OneToOne",
    "SmallInteger",
    "Text",
    "Time",
    "UniqueConstraint",
    "Uuid",
    "Varchar",
]

CASCADE = OnDelete.CASCADE
SET_NULL = OnDelete.SET_NULL
SET_DEFAULT = OnDelete.SET_DEFAULT
PROTECT = OnDelete.PROTECT
RESTRICT = OnDelete.RESTRICT
DO_NOTHING = OnDelete.DO_NOTHING

#: Returns the column type of a relation to ``target`` (its ``to_field``, or its key).
KeyType = Callable[[ModelKey, "str | None"], column_types.ColumnType]


def _declared_default(value: Any) -> Default:
    # A Python function as a default is remembered by its dotted path, like Django's callables.
    if callable(value) and not isinstance(value, type) and hasattr(value, "__qualname__"):
        return CallableDefault(f"{value.__module__}.{value.__qualname__}")
    return as_default(value)


@attrs.frozen(kw_only=True)
class Field:
    """A declared field: the options every column shares; subclasses fix the column type."""

    null: bool = False
    default: Default = attrs.field(default=None, converter=_declared_default)
    primary_key: bool = False
    unique: bool = False
    db_index: bool | None = None
    db_column: str | None = None
    comment: str | None = None
    previous_name: str | None = None
    #: The parameterless column type of the simple field classes.
    column_class: ClassVar[type[column_types.ColumnType] | None] = None

    def column_type(self) -> column_types.ColumnType:
        """Return the column type of this field."""
        if self.column_class is None:
            raise NotImplementedError(f"{type(self).__name__} must define column_type()")
        return self.column_class()

    def relation(self, owner: ModelKey) -> Relation | None:
        """Return the relation this field declares, or None for a plain column."""
        return None

    def field_state(self, name: str, owner: ModelKey, key_type: KeyType) -> FieldState:
        """Return the FieldState of this declaration, named ``name`` on model ``owner``."""
        return FieldState(
            name=name,
            type=self.column_type(),
            null=self.null,
            default=self.default,
            primary_key=self.primary_key,
            unique=self.unique,
            db_index=bool(self.db_index),
            db_column=self.db_column,
            comment=self.comment,
            previous_name=self.previous_name,
        )


@attrs.frozen
class Column(Field):
    """A field of any column type: a ColumnType value or an SQL type string (``"NUMERIC(9,2)"``)."""

    type: column_types.ColumnType = attrs.field(converter=column_types.as_column_type)

    def column_type(self) -> column_types.ColumnType:
        """Return the declared type."""
        return self.type


@attrs.frozen
class Integer(Field):
    """A 32-bit integer column."""

    column_class = column_types.Integer


@attrs.frozen
class BigInteger(Field):
    """A 64-bit integer column."""

    column_class = column_types.BigInteger


@attrs.frozen
class SmallInteger(Field):
    """A 16-bit integer column."""

    column_class = column_types.SmallInteger


@attrs.frozen
class AutoField(Field):
    """An auto-incrementing 32-bit key (declare it with ``primary_key=True``)."""

    column_class = column_types.AutoField


@attrs.frozen
class BigAutoField(Field):
    """An auto-incrementing 64-bit key; models without a primary key get ``id = BigAutoField()``."""

    column_class = column_types.BigAutoField


@attrs.frozen
class Boolean(Field):
    """A true/false column."""

    column_class = column_types.Boolean


@attrs.frozen
class Text(Field):
    """An unbounded text column."""

    column_class = column_types.Text


@attrs.frozen
class Float(Field):
    """A single-precision floating point column."""

    column_class = column_types.Float


@attrs.frozen
class Double(Field):
    """A double-precision floating point column."""

    column_class = column_types.Double


@attrs.frozen
class Date(Field):
    """A calendar date column."""

    column_class = column_types.Date


@attrs.frozen
class Time(Field):
    """A time-of-day column."""

    column_class = column_types.Time


@attrs.frozen
class Duration(Field):
    """A length-of-time (interval) column."""

    column_class = column_types.Duration


@attrs.frozen
class Uuid(Field):
    """A UUID column."""

    column_class = column_types.Uuid


@attrs.frozen
class Json(Field):
    """A JSON document column."""

    column_class = column_types.Json


@attrs.frozen
class Binary(Field):
    """A raw bytes column."""

    column_class = column_types.Binary


@attrs.frozen
class Varchar(Field):
    """A text column of at most ``max_length`` characters."""

    max_length: int

    def column_type(self) -> column_types.ColumnType:
        """Return ``varchar(max_length)``."""
        return column_types.Varchar(self.max_length)


@attrs.frozen
class Char(Field):
    """A fixed-length text column."""

    length: int

    def column_type(self) -> column_types.ColumnType:
        """Return ``char(length)``."""
        return column_types.Char(self.length)


@attrs.frozen
class Decimal(Field):
    """An exact number column with ``max_digits`` digits, ``decimal_places`` after the point."""

    max_digits: int
    decimal_places: int

    def column_type(self) -> column_types.ColumnType:
        """Return ``decimal(max_digits, decimal_places)``."""
        return column_types.Decimal(self.max_digits, self.decimal_places)


@attrs.frozen
class DateTime(Field):
    """A date-and-time column; ``timezone=True`` stores the time zone."""

    timezone: bool = attrs.field(default=False, kw_only=True)

    def column_type(self) -> column_types.ColumnType:
        """Return ``datetime`` with or without time zone."""
        return column_types.DateTime(timezone=self.timezone)


def _target_key(target: str | type[Any], owner: ModelKey) -> ModelKey:
    """Return the key a relation target names: a class, ``"app.Model"``, ``"Model"`` or ``"self"``."""
    if isinstance(target, type):
        # The model class carries its declaration (see models.Model); read its key from there.
        return as_model_key(target.__dict__["__declaration__"].key)
    if target == "self":
        return owner
    if "." not in target:
        return (owner[0], target)
    return as_model_key(target)


def _check_target(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, type) and hasattr(value.__dict__.get("__declaration__"), "key"):
        return
    if isinstance(value, str) and value and all(part for part in value.split(".")) and value.count(".") <= 1:
        return
    raise InvalidValue(
        f"{type(instance).__name__}.to",
        f"{value!r} must be a model class, 'app_label.Model', 'Model' (same app) or 'self'",
    )


def _as_on_delete(value: OnDelete | str) -> OnDelete:
    if isinstance(value, OnDelete):
        return value
    try:
        return OnDelete(value)
    except ValueError:
        choices = ", ".join(item.value for item in OnDelete)
        raise InvalidValue("on_delete", f"{value!r} is not one of {choices}") from None


@attrs.frozen
class ForeignKey(Field):
    """A many-to-one relation: a column holding the target's key, indexed unless ``db_index=False``."""

    to: str | type[Any] = attrs.field(validator=_check_target)
    on_delete: OnDelete = attrs.field(default=OnDelete.CASCADE, converter=_as_on_delete, kw_only=True)
    to_field: str | None = attrs.field(default=None, kw_only=True)
    relation_kind: ClassVar[RelationKind] = "foreign_key"

    def relation(self, owner: ModelKey) -> Relation | None:
        """Return the relation to the target."""
        return Relation(self.relation_kind, _target_key(self.to, owner), self.on_delete, self.to_field)

    def field_state(self, name: str, owner: ModelKey, key_type: KeyType) -> FieldState:
        """Return the FieldState; its column has the type of the target's key."""
        relation = self.relation(owner)
        assert relation is not None
        one_to_one = self.relation_kind == "one_to_one"
        return FieldState(
            name=name,
            type=key_type(relation.to, self.to_field),
            null=self.null,
            default=self.default,
            primary_key=self.primary_key,
            unique=self.unique or (one_to_one and not self.primary_key),
            # Joins and cascades look rows up by this column, so it is indexed unless asked
            # otherwise; a one-to-one column is unique, which already indexes it.
            db_index=(not one_to_one) if self.db_index is None else self.db_index,
            db_column=self.db_column,
            comment=self.comment,
            relation=relation,
            previous_name=self.previous_name,
        )


@attrs.frozen
class OneToOne(ForeignKey):
    """A one-to-one relation: a unique column holding the target's key."""

    relation_kind: ClassVar[RelationKind] = "one_to_one"


@attrs.frozen
class ManyToMany(Field):
    """A many-to-many relation: rows live in a join table, automatic or the ``through`` model."""

    to: str | type[Any] = attrs.field(validator=_check_target)
    through: str | type[Any] | None = attrs.field(default=None, kw_only=True)
    db_table: str | None = attrs.field(default=None, kw_only=True)

    def relation(self, owner: ModelKey) -> Relation | None:
        """Return the many-to-many relation."""
        through = None if self.through is None else _target_key(self.through, owner)
        return Relation("many_to_many", _target_key(self.to, owner), through=through, db_table=self.db_table)

    def field_state(self, name: str, owner: ModelKey, key_type: KeyType) -> FieldState:
        """Return the FieldState; its type is that of the target's key (the join table's column)."""
        relation = self.relation(owner)
        assert relation is not None
        return FieldState(
            name=name,
            type=key_type(relation.to, None),
            null=self.null,
            comment=self.comment,
            relation=relation,
            previous_name=self.previous_name,
        )


def _field_list(fields: tuple[Any, ...], named: Iterable[str] | None) -> tuple[str, ...]:
    # Both spellings work: Index("a", "b") and Django's Index(fields=["a", "b"]).
    if named is not None:
        if fields:
            raise InvalidValue("index or constraint", "give the fields either as arguments or as fields=")
        return tuple(named)
    if len(fields) == 1 and not isinstance(fields[0], str):
        return tuple(fields[0])
    return tuple(fields)


def _fields_keyword(named: dict[str, Iterable[str]]) -> Iterable[str] | None:
    unknown = sorted(set(named) - {"fields"})
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    return named.get("fields")


@attrs.frozen(init=False)
class Index:
    """An index in ``Meta.indexes``: ``Index("title", "-created", name=...)``; a missing name is made."""

    fields: tuple[str, ...]
    name: str | None = None
    unique: bool = False
    condition: str | None = None

    def __init__(
        self,
        *fields: str | Iterable[str],
        name: str | None = None,
        unique: bool = False,
        condition: str | None = None,
        **named: Iterable[str],
    ) -> None:
        self.__attrs_init__(_field_list(fields, _fields_keyword(named)), name, unique, condition)

    def index_state(self, model: ModelState) -> IndexState:
        """Return the IndexState on ``model``, named ``<table>_<columns>_idx`` unless named."""
        name = self.name or object_name(model.db_table, _columns(model, self.fields), "idx")
        return IndexState(name, self.fields, self.unique, self.condition)


@attrs.frozen(init=False)
class UniqueConstraint:
    """A named unique constraint in ``Meta.constraints``: ``UniqueConstraint("slug", "site")``."""

    fields: tuple[str, ...]
    name: str | None = None

    def __init__(self, *fields: str | Iterable[str], name: str | None = None, **named: Iterable[str]) -> None:
        self.__attrs_init__(_field_list(fields, _fields_keyword(named)), name)

    def constraint_state(self, model: ModelState) -> ConstraintState:
        """Return the ConstraintState, named ``<table>_<columns>_uniq`` unless named."""
        name = self.name or object_name(model.db_table, _columns(model, self.fields), "uniq")
        return ConstraintState.unique_on(name, self.fields)


@attrs.frozen(kw_only=True)
class CheckConstraint:
    """A named check constraint in ``Meta.constraints``: ``CheckConstraint(check="price >= 0", name=...)``."""

    check: str
    name: str

    def constraint_state(self, model: ModelState) -> ConstraintState:
        """Return the ConstraintState."""
        return ConstraintState.check_that(self.name, self.check)


def _columns(model: ModelState, fields: Iterable[str]) -> list[str]:
    columns = []
    for entry in fields:
        field = model.field_or_none(entry.lstrip("-"))
        columns.append((field.column if field is not None else None) or entry.lstrip("-"))
    return columns

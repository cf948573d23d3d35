"""FieldState: one field of a model, its default and its relation."""

from __future__ import annotations

import enum
from typing import Any, Literal

import attrs

from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.types import ColumnType, as_column_type

__all__ = [
    "NO_DEFAULT",
    "CallableDefault",
    "Default",
    "FieldState",
    "LiteralDefault",
    "ModelKey",
    "NoDefault",
    "OnDelete",
    "Relation",
    "SqlDefault",
    "as_default",
    "as_model_key",
]

ModelKey = tuple[str, str]
LiteralValue = None | bool | int | float | str

_set = object.__setattr__


def check_identifier(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Refuse names that no database accepts: empty, or holding a NUL character."""
    if value is None and attribute.default is None:
        return
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidValue(
            f"{type(instance).__name__}.{attribute.name}",
            f"{value!r} must be a non-empty string without NUL characters",
        )


@attrs.frozen
class NoDefault:
    """The field has no default."""

    def describe(self) -> str:
        """Return ``no default``."""
        return "no default"


NO_DEFAULT = NoDefault()


def _check_scalar(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, bool | int | float | str):
        raise InvalidValue("LiteralDefault.value", f"{value!r} is not a JSON scalar")


@attrs.frozen
class LiteralDefault:
    """A constant default: a JSON scalar rendered as an SQL literal."""

    value: LiteralValue = attrs.field(validator=_check_scalar)

    def describe(self) -> str:
        """Return the literal in Python notation."""
        return repr(self.value)


@attrs.frozen
class SqlDefault:
    """A default written as an SQL expression, e.g. ``CURRENT_TIMESTAMP``."""

    sql: str = attrs.field(validator=check_identifier)

    def describe(self) -> str:
        """Return the SQL expression."""
        return f"SQL {self.sql}"


@attrs.frozen
class CallableDefault:
    """A default computed in Python by the callable at a dotted path (not stored in the database)."""

    path: str = attrs.field(validator=check_identifier)

    def describe(self) -> str:
        """Return the dotted path."""
        return f"{self.path}()"


Default = NoDefault | LiteralDefault | SqlDefault | CallableDefault


def as_default(value: Any) -> Default:
    """Return a default value: ``None`` means no default, a JSON scalar becomes a literal."""
    if isinstance(value, NoDefault | LiteralDefault | SqlDefault | CallableDefault):
        return value
    if value is None:
        return NO_DEFAULT
    if isinstance(value, bool | int | float | str):
        return LiteralDefault(value)
    raise InvalidValue("field default", f"{value!r} is not a JSON scalar, SqlDefault or CallableDefault")


class OnDelete(enum.Enum):
    """What the database does to referring rows when the referenced row is deleted."""

    CASCADE = "CASCADE"
    SET_NULL = "SET_NULL"
    SET_DEFAULT = "SET_DEFAULT"
    PROTECT = "PROTECT"
    RESTRICT = "RESTRICT"
    DO_NOTHING = "DO_NOTHING"


def as_model_key(value: ModelKey | str) -> ModelKey:
    """Return ``(app_label, model)`` from a pair or an ``"app.Model"`` string."""
    if isinstance(value, str):
        app, dot, model = value.partition(".")
        if not dot or not app or not model or "." in model:
            raise InvalidValue("relation target", f"{value!r} must be written 'app_label.Model'")
        return (app, model)
    if type(value) is tuple and len(value) == 2:
        # The usual case, a pair already: checked without building a generator and a copy.
        app, model = value
        if isinstance(app, str) and app and isinstance(model, str) and model:
            return value
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(p, str) and p for p in pair):
        raise InvalidValue("relation target", f"{value!r} must be an (app_label, model) pair")
    return (pair[0], pair[1])


def _optional_model_key(value: ModelKey | str | None) -> ModelKey | None:
    return None if value is None else as_model_key(value)


def _as_on_delete(value: OnDelete | str) -> OnDelete:
    if isinstance(value, OnDelete):
        return value
    try:
        return OnDelete(value)
    except ValueError:
        choices = ", ".join(item.value for item in OnDelete)
        raise InvalidValue("on_delete", f"{value!r} is not one of {choices}") from None


RelationKind = Literal["foreign_key", "one_to_one", "many_to_many"]


@attrs.frozen
class Relation:
    """A relation to another model.

    Foreign keys and one-to-one fields are a column holding the target's key
    (``to_field``, default its primary key). Many-to-many fields have no column: rows
    live in a join table, automatic (named ``db_table``) or the explicit ``through``
    model. ``constraint_name`` is the name of the foreign key constraint, set when the
    field is created and kept through renames.
    """

    kind: RelationKind
    to: ModelKey = attrs.field(converter=as_model_key)
    on_delete: OnDelete = attrs.field(default=OnDelete.CASCADE, converter=_as_on_delete)
    to_field: str | None = None
    through: ModelKey | None = attrs.field(default=None, converter=_optional_model_key)
    db_table: str | None = None
    constraint_name: str | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.kind not in ("foreign_key", "one_to_one", "many_to_many"):
            raise InvalidValue("Relation.kind", f"{self.kind!r} is not a relation kind")
        if self.kind != "many_to_many" and (self.through or self.db_table):
            raise InvalidValue("Relation", "only many-to-many relations have a join table")

    def with_targets(self, to: ModelKey, through: ModelKey | None) -> Relation:
        """Return a copy pointing at ``to`` (and ``through``, None exactly when this one's is).

        Only the targets are new, and checked: the rest was checked when this relation was
        built, so the copy is made directly (renaming models retargets every relation to them).

        Raises:
            InvalidValue: a target is not an ``(app_label, model)`` pair, or ``through`` is
                None where this relation's is not (or the other way round).
        """
        to = as_model_key(to)
        if (through is None) != (self.through is None):
            raise InvalidValue("Relation.through", "a relation keeps or lacks its through model")
        through = None if through is None else as_model_key(through)
        relation = object.__new__(Relation)
        _set(relation, "kind", self.kind)
        _set(relation, "to", to)
        _set(relation, "on_delete", self.on_delete)
        _set(relation, "to_field", self.to_field)
        _set(relation, "through", through)
        _set(relation, "db_table", self.db_table)
        _set(relation, "constraint_name", self.constraint_name)
        return relation

    @property
    def target_label(self) -> str:
        """Return the target as ``app.Model``."""
        return f"{self.to[0]}.{self.to[1]}"

    def describe(self) -> str:
        """Return e.g. ``foreign key to blog.Author``."""
        return f"{self.kind.replace('_', ' ')} to {self.target_label}"


def _as_relation(value: Relation | None) -> Relation | None:
    if value is None or isinstance(value, Relation):
        return value
    raise InvalidValue("FieldState.relation", f"{value!r} is not a Relation")


@attrs.frozen
class FieldState:
    """One field: name, column type, nullability, default, keys, indexes and relation.

    ``type`` accepts a ColumnType or an SQL type string (``"VARCHAR(255)"``). For a
    many-to-many field it is the type of the join table's column that holds the
    target's key. ``unique_name`` and ``index_name`` are the database names of the
    unique constraint and the index this field owns; the model fills them when the
    field joins it, and they are bookkeeping, left out of equality. ``previous_name``
    is a rename hint for the autodetector, also left out of equality.
    """

    name: str = attrs.field(validator=check_identifier)
    type: ColumnType = attrs.field(converter=as_column_type)
    null: bool = False
    default: Default = attrs.field(default=NO_DEFAULT, converter=as_default)
    primary_key: bool = False
    unique: bool = False
    db_index: bool = False
    db_column: str | None = attrs.field(default=None, validator=check_identifier)
    comment: str | None = None
    relation: Relation | None = attrs.field(default=None, converter=_as_relation)
    unique_name: str | None = attrs.field(default=None, eq=False)
    index_name: str | None = attrs.field(default=None, eq=False)
    previous_name: str | None = attrs.field(default=None, eq=False)

    @property
    def column(self) -> str | None:
        """Return the column name, or None for a many-to-many field (it has no column)."""
        if self.relation is not None and self.relation.kind == "many_to_many":
            return None
        if self.db_column is not None:
            return self.db_column
        if self.relation is not None:
            return f"{self.name}_id"
        return self.name

    @property
    def is_concrete(self) -> bool:
        """Tell whether the field is a column of its model's table."""
        return self.column is not None

    @property
    def is_many_to_many(self) -> bool:
        """Tell whether the field is a many-to-many relation."""
        return self.relation is not None and self.relation.kind == "many_to_many"

    def without_object_names(self) -> FieldState:
        """Return a copy with no database object names, so the model names them afresh."""
        if (
            self.unique_name is None
            and self.index_name is None
            and (self.relation is None or self.relation.constraint_name is None)
        ):
            return self
        relation = self.relation
        if relation is not None and relation.constraint_name is not None:
            relation = attrs.evolve(relation, constraint_name=None)
        return attrs.evolve(self, unique_name=None, index_name=None, relation=relation)

    def with_relation(self, relation: Relation) -> FieldState:
        """Return a copy with ``relation`` (made directly: the other parts are checked already).

        Raises:
            InvalidValue: ``relation`` is not a Relation.
        """
        if not isinstance(relation, Relation):
            raise InvalidValue("FieldState.relation", f"{relation!r} is not a Relation")
        field = object.__new__(FieldState)
        _set(field, "name", self.name)
        _set(field, "type", self.type)
        _set(field, "null", self.null)
        _set(field, "default", self.default)
        _set(field, "primary_key", self.primary_key)
        _set(field, "unique", self.unique)
        _set(field, "db_index", self.db_index)
        _set(field, "db_column", self.db_column)
        _set(field, "comment", self.comment)
        _set(field, "relation", relation)
        _set(field, "unique_name", self.unique_name)
        _set(field, "index_name", self.index_name)
        _set(field, "previous_name", self.previous_name)
        return field

    def with_name(self, name: str) -> FieldState:
        """Return a copy named ``name`` (the column follows unless ``db_column`` is set)."""
        return attrs.evolve(self, name=name, previous_name=None)

    def describe(self) -> str:
        """Return a short human form such as ``title varchar(200) NOT NULL``."""
        parts = [self.name, self.relation.describe() if self.relation else self.type.describe()]
        parts.append("NULL" if self.null else "NOT NULL")
        if self.primary_key:
            parts.append("PRIMARY KEY")
        if self.unique:
            parts.append("UNIQUE")
        if not isinstance(self.default, NoDefault):
            parts.append(f"DEFAULT {self.default.describe()}")
        return " ".join(parts)

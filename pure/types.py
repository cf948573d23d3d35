"""Column types as values, and ``parse_sql_type`` for users who write SQL type strings.

Theory of operation: each type is a small frozen value with a ``kind`` (its name in
JSON) and its parameters. Dialects turn a type into SQL; ``parse_sql_type`` goes the
other way through a literal table of patterns. A string no rule recognises raises
``InvalidColumnType`` rather than guessing; ``RawType`` is the explicit escape hatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.errors import InvalidColumnType, InvalidValue

__all__ = [
    "Array",
    "AutoField",
    "BigAutoField",
    "BigInteger",
    "Binary",
    "Boolean",
    "Char",
    "ColumnType",
    "Date",
    "DateTime",
    "Decimal",
    "Double",
    "Duration",
    "Float",
    "Integer",
    "Json",
    "RawType",
    "SmallInteger",
    "Text",
    "Time",
    "Uuid",
    "Varchar",
    "as_column_type",
    "column_type_from_json",
    "parse_sql_type",
    "type_family",
]


class ColumnType:
    """Base of every column type value."""

    __slots__ = ()
    kind: ClassVar[str] = ""
    #: Types in one family convert into each other without a cast that can fail.
    family: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        """Return the canonical JSON form: ``{"kind": ..., **parameters}``."""
        data: dict[str, Any] = {"kind": self.kind}
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            data[field.name] = dict(sorted(value.items())) if isinstance(value, PMap) else value
        return data

    def describe(self) -> str:
        """Return a short human form such as ``varchar(255)``."""
        params = [getattr(self, f.name) for f in attrs.fields(type(self))]  # type: ignore[arg-type]
        if not params:
            return self.kind
        return f"{self.kind}({', '.join(str(p) for p in params)})"


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidValue(f"{type(instance).__name__}.{attribute.name}", f"{value!r} must be > 0")


@attrs.frozen
class Integer(ColumnType):
    """A 32-bit signed integer."""

    kind: ClassVar[str] = "integer"
    family: ClassVar[str] = "integer"


@attrs.frozen
class BigInteger(ColumnType):
    """A 64-bit signed integer."""

    kind: ClassVar[str] = "bigint"
    family: ClassVar[str] = "integer"


@attrs.frozen
class SmallInteger(ColumnType):
    """A 16-bit signed integer."""

    kind: ClassVar[str] = "smallint"
    family: ClassVar[str] = "integer"


@attrs.frozen
class AutoField(ColumnType):
    """An auto-incrementing 32-bit integer primary key."""

    kind: ClassVar[str] = "auto"
    family: ClassVar[str] = "integer"


@attrs.frozen
class BigAutoField(ColumnType):
    """An auto-incrementing 64-bit integer primary key."""

    kind: ClassVar[str] = "bigauto"
    family: ClassVar[str] = "integer"


@attrs.frozen
class Boolean(ColumnType):
    """True or false."""

    kind: ClassVar[str] = "boolean"
    family: ClassVar[str] = "boolean"


@attrs.frozen
class Varchar(ColumnType):
    """Text of at most ``max_length`` characters."""

    max_length: int = attrs.field(validator=_positive)
    kind: ClassVar[str] = "varchar"
    family: ClassVar[str] = "text"


@attrs.frozen
class Char(ColumnType):
    """Text of exactly ``length`` characters (padded)."""

    length: int = attrs.field(validator=_positive)
    kind: ClassVar[str] = "char"
    family: ClassVar[str] = "text"


@attrs.frozen
class Text(ColumnType):
    """Unbounded text."""

    kind: ClassVar[str] = "text"
    family: ClassVar[str] = "text"


def _check_scale(instance: Decimal, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or value < 0 or value > instance.max_digits:
        raise InvalidValue("Decimal.decimal_places", f"{value!r} must be between 0 and max_digits")


@attrs.frozen
class Decimal(ColumnType):
    """An exact number with ``max_digits`` digits, ``decimal_places`` after the point."""

    max_digits: int = attrs.field(validator=_positive)
    decimal_places: int = attrs.field(validator=_check_scale)
    kind: ClassVar[str] = "decimal"
    family: ClassVar[str] = "number"


@attrs.frozen
class Float(ColumnType):
    """A single-precision floating point number."""

    kind: ClassVar[str] = "float"
    family: ClassVar[str] = "number"


@attrs.frozen
class Double(ColumnType):
    """A double-precision floating point number."""

    kind: ClassVar[str] = "double"
    family: ClassVar[str] = "number"


@attrs.frozen
class Date(ColumnType):
    """A calendar date."""

    kind: ClassVar[str] = "date"
    family: ClassVar[str] = "temporal"


@attrs.frozen
class DateTime(ColumnType):
    """A date and time, with or without time zone."""

    timezone: bool = False
    kind: ClassVar[str] = "datetime"
    family: ClassVar[str] = "temporal"

    def describe(self) -> str:
        """Return ``datetime`` or ``datetime with time zone``."""
        return "datetime with time zone" if self.timezone else "datetime"


@attrs.frozen
class Time(ColumnType):
    """A time of day."""

    kind: ClassVar[str] = "time"
    family: ClassVar[str] = "temporal"


@attrs.frozen
class Duration(ColumnType):
    """A length of time (an interval)."""

    kind: ClassVar[str] = "duration"
    family: ClassVar[str] = "duration"


@attrs.frozen
class Uuid(ColumnType):
    """A 128-bit universally unique identifier."""

    kind: ClassVar[str] = "uuid"
    family: ClassVar[str] = "uuid"


@attrs.frozen
class Json(ColumnType):
    """A JSON document."""

    kind: ClassVar[str] = "json"
    family: ClassVar[str] = "json"


@attrs.frozen
class Binary(ColumnType):
    """Raw bytes."""

    kind: ClassVar[str] = "binary"
    family: ClassVar[str] = "binary"


def _element_type(value: ColumnType | Mapping[str, Any] | str) -> ColumnType:
    if isinstance(value, Mapping):
        value = column_type_from_json(value)
    element = as_column_type(value)
    if isinstance(element, Array | AutoField | BigAutoField):
        raise InvalidValue("Array.of", f"{element.describe()} cannot be an array element")
    return element


@attrs.frozen
class Array(ColumnType):
    """A one-dimensional array of ``of`` values (PostgreSQL ``integer[]``; JSON text elsewhere)."""

    of: ColumnType = attrs.field(converter=_element_type)
    kind: ClassVar[str] = "array"
    family: ClassVar[str] = "array"

    def to_json(self) -> dict[str, Any]:
        """Return ``{"kind": "array", "of": <element type's JSON>}``."""
        return {"kind": self.kind, "of": self.of.to_json()}

    def describe(self) -> str:
        """Return e.g. ``integer[]``."""
        return f"{self.of.describe()}[]"


def _dialect_map(value: Mapping[str, str] | None) -> PMap[str, str]:
    return pmap(value or {})


@attrs.frozen
class RawType(ColumnType):
    """An SQL type written by hand, optionally different per dialect.

    ``sql`` is used where ``per_dialect`` has no entry for the dialect's name.
    """

    sql: str
    per_dialect: PMap[str, str] = attrs.field(factory=pmap, converter=_dialect_map)
    kind: ClassVar[str] = "raw"
    family: ClassVar[str] = "raw"

    def __attrs_post_init__(self) -> None:
        if not self.sql.strip():
            raise InvalidValue("RawType.sql", "the SQL type must not be empty")

    def for_dialect(self, dialect: str) -> str:
        """Return the SQL type text for ``dialect`` (e.g. ``"postgresql"``)."""
        return self.per_dialect.get(dialect, self.sql)

    def describe(self) -> str:
        """Return e.g. ``raw(CITEXT)``: the SQL used where no dialect has its own."""
        return f"raw({self.sql})"


TYPES_BY_KIND: dict[str, type[ColumnType]] = {
    cls.kind: cls
    for cls in (
        Integer,
        BigInteger,
        SmallInteger,
        AutoField,
        BigAutoField,
        Boolean,
        Varchar,
        Char,
        Text,
        Decimal,
        Float,
        Double,
        Date,
        DateTime,
        Time,
        Duration,
        Uuid,
        Json,
        Binary,
        Array,
        RawType,
    )
}


def column_type_from_json(data: Mapping[str, Any]) -> ColumnType:
    """Return the type described by its JSON form.

    Raises:
        InvalidColumnType: the kind is unknown or the parameters do not fit it.
    """
    params = dict(data)
    kind = params.pop("kind", None)
    cls = TYPES_BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidColumnType(repr(dict(data)), f"unknown kind {kind!r}")
    try:
        return cls(**params)
    except TypeError as error:
        raise InvalidColumnType(repr(dict(data)), str(error)) from error
    except InvalidValue as error:
        raise InvalidColumnType(repr(dict(data)), error.problem) from error


# Rules for parse_sql_type: (pattern, builder). Patterns are matched against the
# upper-cased, whitespace-normalised text in order; the first full match wins. Each
# pattern names exactly the SQL spellings the three dialects use for the type, so a
# string outside the table is an error rather than a guess.
def _int(match: re.Match[str], group: int = 1) -> int:
    return int(match.group(group))


_SIMPLE: dict[str, Callable[[], ColumnType]] = {
    "INTEGER": Integer,
    "INT": Integer,
    "INT4": Integer,
    "MEDIUMINT": Integer,
    "BIGINT": BigInteger,
    "INT8": BigInteger,
    "SMALLINT": SmallInteger,
    "INT2": SmallInteger,
    "TINYINT": SmallInteger,
    "SERIAL": AutoField,
    "SERIAL4": AutoField,
    "BIGSERIAL": BigAutoField,
    "SERIAL8": BigAutoField,
    "BOOLEAN": Boolean,
    "BOOL": Boolean,
    "TINYINT(1)": Boolean,
    "TEXT": Text,
    "LONGTEXT": Text,
    "MEDIUMTEXT": Text,
    "CLOB": Text,
    "FLOAT": Double,
    "DOUBLE": Double,
    "DOUBLE PRECISION": Double,
    "FLOAT8": Double,
    "REAL": Float,
    "FLOAT4": Float,
    "DATE": Date,
    "TIMESTAMP": DateTime,
    "DATETIME": DateTime,
    "TIMESTAMP WITHOUT TIME ZONE": DateTime,
    "DATETIME(6)": DateTime,
    "TIMESTAMP(6)": DateTime,
    "TIMESTAMP WITH TIME ZONE": lambda: DateTime(timezone=True),
    "TIMESTAMPTZ": lambda: DateTime(timezone=True),
    "TIME": Time,
    "TIME WITHOUT TIME ZONE": Time,
    "TIME(6)": Time,
    "INTERVAL": Duration,
    "DURATION": Duration,
    "UUID": Uuid,
    "JSON": Json,
    "JSONB": Json,
    "BLOB": Binary,
    "BYTEA": Binary,
    "LONGBLOB": Binary,
    "BINARY": Binary,
    "VARBINARY": Binary,
    "INTEGER PRIMARY KEY AUTOINCREMENT": AutoField,
    # Our own kind names, so "auto" and "bigauto" read naturally in field definitions.
    "AUTO": AutoField,
    "BIGAUTO": BigAutoField,
}

_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], ColumnType]], ...] = (
    (
        re.compile(r"(?:VARCHAR|CHARACTER VARYING|NVARCHAR)\s*\(\s*(\d+)\s*\)"),
        lambda m: Varchar(_int(m)),
    ),
    (re.compile(r"(?:CHAR|CHARACTER|NCHAR)\s*\(\s*(\d+)\s*\)"), lambda m: Char(_int(m))),
    (
        re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)"),
        lambda m: Decimal(_int(m), _int(m, 2)),
    ),
    (re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*\)"), lambda m: Decimal(_int(m), 0)),
)


def parse_sql_type(text: str) -> ColumnType:
    """Return the column type an SQL type string names, e.g. ``"VARCHAR(255)"``.

    Raises:
        InvalidColumnType: the string is empty or names no type we know (use RawType).
    """
    normalised = " ".join(text.upper().split())
    if not normalised:
        raise InvalidColumnType(text, "it is empty")
    if normalised.endswith("[]"):
        # PostgreSQL's array spelling: "INTEGER[]" is an array of integers.
        try:
            return Array(parse_sql_type(normalised[:-2]))
        except InvalidValue as error:
            raise InvalidColumnType(text, error.problem) from error
    simple = _SIMPLE.get(normalised)
    if simple is not None:
        return simple()
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(normalised)
        if match is not None:
            try:
                return build(match)
            except InvalidValue as error:
                raise InvalidColumnType(text, error.problem) from error
    raise InvalidColumnType(text)


def as_column_type(value: ColumnType | str) -> ColumnType:
    """Return ``value`` if it is a type, else parse it as an SQL type string."""
    if isinstance(value, ColumnType):
        return value
    if isinstance(value, str):
        return parse_sql_type(value)
    raise InvalidColumnType(repr(value), "expected a ColumnType or an SQL type string")


def type_family(column_type: ColumnType) -> str:
    """Return the family of a type (types of one family are rename-compatible)."""
    return column_type.family

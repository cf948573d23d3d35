"""Column types: values, their JSON and human forms, and parse_sql_type."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from reinhardt_migrations.pure.errors import InvalidColumnType, InvalidValue, MigrationError
from reinhardt_migrations.pure.types import (
    Array,
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    Char,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Duration,
    Float,
    Integer,
    Json,
    RawType,
    SmallInteger,
    Text,
    Time,
    Uuid,
    Varchar,
    as_column_type,
    column_type_from_json,
    parse_sql_type,
    type_family,
)

# One value of every type, with the family it must belong to: types of one family
# convert into each other without a cast that can fail.
EVERY_TYPE: list[tuple[ColumnType, str]] = [
    (Integer(), "integer"),
    (BigInteger(), "integer"),
    (SmallInteger(), "integer"),
    (AutoField(), "integer"),
    (BigAutoField(), "integer"),
    (Boolean(), "boolean"),
    (Varchar(255), "text"),
    (Char(2), "text"),
    (Text(), "text"),
    (Decimal(10, 2), "number"),
    (Float(), "number"),
    (Double(), "number"),
    (Date(), "temporal"),
    (DateTime(), "temporal"),
    (DateTime(timezone=True), "temporal"),
    (Time(), "temporal"),
    (Duration(), "duration"),
    (Uuid(), "uuid"),
    (Json(), "json"),
    (Binary(), "binary"),
    (Array(Integer()), "array"),
    (Array(Varchar(20)), "array"),
    (RawType("CITEXT"), "raw"),
    (RawType("TEXT", per_dialect={"postgresql": "CITEXT"}), "raw"),
]


@pytest.mark.parametrize(("column_type", "family"), EVERY_TYPE, ids=lambda v: repr(v))
def test_every_type_round_trips_through_json(column_type: ColumnType, family: str) -> None:
    data = column_type.to_json()
    assert data["kind"] == column_type.kind
    assert column_type_from_json(data) == column_type
    assert type_family(column_type) == family


@pytest.mark.parametrize(("column_type", "family"), EVERY_TYPE, ids=lambda v: repr(v))
def test_every_type_is_a_frozen_hashable_value(column_type: ColumnType, family: str) -> None:
    twin = column_type_from_json(column_type.to_json())
    assert twin is not column_type
    assert hash(twin) == hash(column_type)
    assert {twin, column_type} == {column_type}
    fields = attrs.fields(type(column_type))  # type: ignore[arg-type]
    if fields:
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(column_type, fields[0].name, getattr(column_type, fields[0].name))


def test_kinds_are_distinct_so_json_names_one_type() -> None:
    kinds = [t.kind for t, _family in EVERY_TYPE]
    assert len(set(kinds)) == len({type(t) for t, _family in EVERY_TYPE})


def test_parameters_take_part_in_equality() -> None:
    assert Varchar(100) != Varchar(200)
    assert Decimal(10, 2) != Decimal(10, 3)
    assert DateTime() != DateTime(timezone=True)
    assert Integer() != BigInteger()  # type: ignore[comparison-overlap]
    assert RawType("TEXT") != RawType("TEXT", per_dialect={"mysql": "LONGTEXT"})


@pytest.mark.parametrize(
    ("column_type", "expected"),
    [
        (Varchar(255), "varchar(255)"),
        (Char(3), "char(3)"),
        (Decimal(10, 2), "decimal(10, 2)"),
        (Integer(), "integer"),
        (BigInteger(), "bigint"),
        (Text(), "text"),
        (DateTime(), "datetime"),
        (DateTime(timezone=True), "datetime with time zone"),
        (RawType("CITEXT"), "raw(CITEXT)"),
    ],
)
def test_describe_is_short_and_human(column_type: ColumnType, expected: str) -> None:
    assert column_type.describe() == expected


def test_json_of_parameters_is_plain_and_sorted() -> None:
    raw = RawType("TEXT", per_dialect={"postgresql": "CITEXT", "mysql": "LONGTEXT"})
    data = raw.to_json()
    assert data == {
        "kind": "raw",
        "sql": "TEXT",
        "per_dialect": {"mysql": "LONGTEXT", "postgresql": "CITEXT"},
    }
    assert list(data["per_dialect"]) == ["mysql", "postgresql"]
    assert type(data["per_dialect"]) is dict
    assert Decimal(10, 2).to_json() == {"kind": "decimal", "max_digits": 10, "decimal_places": 2}


def test_raw_type_picks_the_dialect_text_or_falls_back() -> None:
    raw = RawType("TEXT", per_dialect={"postgresql": "CITEXT"})
    assert raw.for_dialect("postgresql") == "CITEXT"
    assert raw.for_dialect("sqlite") == "TEXT"


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (lambda: Varchar(0), "Varchar.max_length"),
        (lambda: Varchar(-5), "Varchar.max_length"),
        (lambda: Varchar(True), "Varchar.max_length"),
        (lambda: Varchar("255"), "Varchar.max_length"),  # type: ignore[arg-type]
        (lambda: Char(0), "Char.length"),
        (lambda: Decimal(0, 0), "Decimal.max_digits"),
        (lambda: Decimal(5, 6), "Decimal.decimal_places"),
        (lambda: Decimal(5, -1), "Decimal.decimal_places"),
        (lambda: RawType("  "), "RawType.sql"),
    ],
)
def test_invalid_parameters_are_refused_when_built(build: Any, what: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        build()
    assert caught.value.what == what
    assert what in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, MigrationError)


def test_decimal_scale_may_equal_precision() -> None:
    assert Decimal(4, 4).decimal_places == 4
    assert Decimal(4, 0).decimal_places == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VARCHAR(255)", Varchar(255)),
        ("varchar(255)", Varchar(255)),
        ("VARCHAR ( 255 )", Varchar(255)),
        ("character varying(20)", Varchar(20)),
        ("CHARACTER  VARYING (20)", Varchar(20)),
        ("NVARCHAR(10)", Varchar(10)),
        ("CHAR(2)", Char(2)),
        ("character(3)", Char(3)),
        ("DECIMAL(10,2)", Decimal(10, 2)),
        ("decimal(10, 2)", Decimal(10, 2)),
        ("NUMERIC(12,4)", Decimal(12, 4)),
        ("numeric(5)", Decimal(5, 0)),
        ("INTEGER", Integer()),
        ("int", Integer()),
        ("INT4", Integer()),
        ("BIGINT", BigInteger()),
        ("int8", BigInteger()),
        ("SMALLINT", SmallInteger()),
        ("int2", SmallInteger()),
        ("SERIAL", AutoField()),
        ("BIGSERIAL", BigAutoField()),
        ("INTEGER PRIMARY KEY AUTOINCREMENT", AutoField()),
        ("auto", AutoField()),
        ("bigauto", BigAutoField()),
        ("BOOLEAN", Boolean()),
        ("bool", Boolean()),
        ("TINYINT(1)", Boolean()),
        ("TEXT", Text()),
        ("longtext", Text()),
        ("REAL", Float()),
        ("FLOAT4", Float()),
        ("DOUBLE PRECISION", Double()),
        ("float8", Double()),
        ("DATE", Date()),
        ("TIMESTAMP", DateTime()),
        ("timestamp without time zone", DateTime()),
        ("DATETIME", DateTime()),
        ("TIMESTAMP WITH TIME ZONE", DateTime(timezone=True)),
        ("timestamptz", DateTime(timezone=True)),
        ("TIME", Time()),
        ("INTERVAL", Duration()),
        ("UUID", Uuid()),
        ("JSON", Json()),
        ("jsonb", Json()),
        ("BYTEA", Binary()),
        ("BLOB", Binary()),
        ("  integer\t", Integer()),
    ],
)
def test_parse_sql_type_understands_common_spellings(text: str, expected: ColumnType) -> None:
    assert parse_sql_type(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("VARCHAR(0)", "must be > 0"),
        ("CHAR(0)", "must be > 0"),
        ("DECIMAL(5,6)", "between 0 and max_digits"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("frobnicate", ""),
        ("VARCHAR(abc)", ""),
        ("VARCHAR(", ""),
        ("INT UNSIGNED", ""),
        ("NUMERIC", ""),
    ],
)
def test_parse_sql_type_refuses_what_it_cannot_read(text: str, reason: str) -> None:
    with pytest.raises(InvalidColumnType) as caught:
        parse_sql_type(text)
    message = str(caught.value)
    assert caught.value.text == text
    assert repr(text) in message
    assert reason in message
    # The message says what to do instead.
    assert "RawType" in message
    assert isinstance(caught.value, ValueError)


def test_as_column_type_accepts_types_and_strings_only() -> None:
    varchar = Varchar(20)
    assert as_column_type(varchar) is varchar
    assert as_column_type("varchar(20)") == varchar
    with pytest.raises(InvalidColumnType) as caught:
        as_column_type(20)  # type: ignore[arg-type]
    assert "20" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "varchr", "max_length": 3},
        {"max_length": 3},
        {"kind": 7},
        {"kind": "varchar"},
        {"kind": "varchar", "max_length": 3, "colour": "red"},
        {"kind": "integer", "max_length": 3},
    ],
)
def test_column_type_from_json_refuses_bad_documents(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidColumnType) as caught:
        column_type_from_json(data)
    assert "Cannot understand the column type" in str(caught.value)


def test_column_type_from_json_reports_the_unknown_kind() -> None:
    with pytest.raises(InvalidColumnType, match="unknown kind 'varchr'"):
        column_type_from_json({"kind": "varchr"})


def test_column_type_from_json_does_not_consume_its_input() -> None:
    data = {"kind": "varchar", "max_length": 8}
    column_type_from_json(data)
    assert data == {"kind": "varchar", "max_length": 8}


@pytest.mark.parametrize(
    "data",
    [{"kind": "varchar", "max_length": 0}, {"kind": "decimal", "max_digits": 5, "decimal_places": 9}],
)
def test_column_type_from_json_reports_invalid_parameters_as_a_column_type_error(
    data: dict[str, Any],
) -> None:
    with pytest.raises(InvalidColumnType) as caught:
        column_type_from_json(data)
    assert caught.value.text == repr(data)

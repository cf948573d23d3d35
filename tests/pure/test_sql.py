"""Statement values and the one audited literal renderer."""

from __future__ import annotations

import decimal
import sqlite3

import pytest

from reinhardt_migrations.pure.errors import InvalidValue, MigrationError
from reinhardt_migrations.pure.sql import LITERAL_DIALECTS, Statement, render_literal


def test_statement_defaults_to_transactional_without_parameters() -> None:
    statement = Statement("DROP TABLE x")
    assert statement.params == ()
    assert statement.transactional is True
    assert statement.expect_no_rows is False


def test_statement_keeps_parameters_as_a_tuple() -> None:
    statement = Statement("SELECT ?", [1])
    assert statement.params == (1,)


@pytest.mark.parametrize("sql", ["", "   ", None])
def test_statement_refuses_empty_sql(sql: object) -> None:
    with pytest.raises(InvalidValue):
        Statement(sql)  # type: ignore[arg-type]


def test_statement_refuses_a_string_as_parameters() -> None:
    # "ab" would otherwise become two parameters, "a" and "b".
    with pytest.raises(InvalidValue):
        Statement("SELECT ?", "ab")


def test_describe_says_how_the_statement_must_run() -> None:
    text = Statement("PRAGMA foreign_key_check", transactional=False, expect_no_rows=True).describe()
    assert text.startswith("PRAGMA foreign_key_check;")
    assert "outside the transaction" in text
    assert "no rows" in text
    assert "parameters: [7, 'x']" in Statement("SELECT ?, ?", (7, "x")).describe()


@pytest.mark.parametrize("dialect", LITERAL_DIALECTS)
def test_none_and_numbers(dialect: str) -> None:
    assert render_literal(None, dialect) == "NULL"
    assert render_literal(0, dialect) == "0"
    assert render_literal(-12, dialect) == "-12"
    assert render_literal(10**30, dialect) == str(10**30)
    assert render_literal(1.5, dialect) == "1.5"


def test_booleans_follow_the_database() -> None:
    assert (render_literal(True, "postgresql"), render_literal(False, "postgresql")) == ("true", "false")
    assert (render_literal(True, "sqlite"), render_literal(False, "sqlite")) == ("1", "0")
    assert (render_literal(True, "mysql"), render_literal(False, "mysql")) == ("1", "0")


@pytest.mark.parametrize("value", [0.1, 1e300, -2.5e-300, 123456789.125])
def test_floats_read_back_exactly(value: float) -> None:
    # SQLite parses the literal as the same double.
    row = sqlite3.connect(":memory:").execute(f"SELECT {render_literal(value, 'sqlite')}").fetchone()
    assert row[0] == value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused(value: float) -> None:
    with pytest.raises(InvalidValue, match="no SQL literal"):
        render_literal(value, "sqlite")


def test_decimals_are_written_without_exponent() -> None:
    assert render_literal(decimal.Decimal("1E+3"), "postgresql") == "1000"
    assert render_literal(decimal.Decimal("-0.0050"), "sqlite") == "-0.0050"
    with pytest.raises(InvalidValue):
        render_literal(decimal.Decimal("NaN"), "sqlite")
    with pytest.raises(InvalidValue):
        render_literal(decimal.Decimal("-Infinity"), "mysql")


@pytest.mark.parametrize(
    "text", ["", "plain", "it's", "''", "a\\b", "naïve 表 🎉", "line\nbreak", "'; DROP TABLE x; --"]
)
def test_strings_round_trip_through_sqlite(text: str) -> None:
    literal = render_literal(text, "sqlite")
    assert literal[0] == literal[-1] == "'"
    row = sqlite3.connect(":memory:").execute(f"SELECT {literal}").fetchone()
    assert row[0] == text


def test_quotes_are_doubled_and_mysql_backslashes_escaped() -> None:
    assert render_literal("it's", "postgresql") == "'it''s'"
    assert render_literal("a\\'b", "postgresql") == "'a\\''b'"
    assert render_literal("a\\'b", "mysql") == "'a\\\\''b'"


def test_nul_characters_are_refused() -> None:
    with pytest.raises(InvalidValue, match="NUL"):
        render_literal("a\x00b", "sqlite")


@pytest.mark.parametrize("value", [b"bytes", [1], {"a": 1}, object(), decimal.Context()])
def test_other_types_must_be_parameters(value: object) -> None:
    with pytest.raises(InvalidValue, match="parameter"):
        render_literal(value, "sqlite")


def test_unknown_dialect_is_refused_with_our_error_root() -> None:
    with pytest.raises(MigrationError, match="unknown dialect"):
        render_literal(1, "oracle")

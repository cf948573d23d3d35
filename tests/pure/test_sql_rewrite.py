"""Renaming a column inside check and condition SQL, and RenameField using it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.operations import CreateModel, RenameField
from reinhardt_migrations.pure.sql_rewrite import rename_column_in_sql
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import AutoField, Integer


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("score BETWEEN 0 AND 10", "points BETWEEN 0 AND 10"),
        ("SCORE > 0", "points > 0"),
        ('"score" > 0', '"points" > 0'),
        ("`score` > 0", "`points` > 0"),
        ("t.score < 5", "t.points < 5"),
        ("score>0 AND score<10", "points>0 AND points<10"),
    ],
)
def test_every_reference_is_renamed_in_its_own_quoting(sql: str, expected: str) -> None:
    assert rename_column_in_sql(sql, "score", "points") == expected


@pytest.mark.parametrize(
    "sql",
    [
        "name <> 'score'",
        "name <> 'it''s score'",
        "high_score > 0",
        "scores > 0",
        "score(x) > 0",
        '"Score" > 0',
        "x > 0 -- score\n",
        "x > 0 /* score */",
    ],
)
def test_strings_comments_calls_and_other_names_are_left_alone(sql: str) -> None:
    assert rename_column_in_sql(sql, "score", "points") == sql


def test_a_new_name_that_needs_quoting_is_quoted() -> None:
    assert rename_column_in_sql("score > 0", "score", "Total Points") == '"Total Points" > 0'
    assert rename_column_in_sql("score > 0", "score", 'say "hi"') == '"say ""hi""" > 0'


_WORDS = st.sampled_from(
    ["score", "points", "a", "b", "lower", "'score'", '"score"', "(", ")", ">", "0", " "]
)


@given(st.lists(_WORDS, max_size=12).map(" ".join))
def test_renaming_to_a_name_not_in_the_text_and_back_restores_it(sql: str) -> None:
    there = rename_column_in_sql(sql, "score", "fresh_name")
    assert rename_column_in_sql(there, "fresh_name", "score") == sql
    # What is left of the old name is only in strings and calls.
    assert "score" not in re.sub(r"'score'|score\s*\(", "", there)


def _game(**extra: object) -> ProjectState:
    model = CreateModel(
        "app",
        "Game",
        [
            FieldState("id", AutoField(), primary_key=True),
            FieldState("score", Integer(), **extra),  # type: ignore[arg-type]
            FieldState("owner", Integer(), relation=Relation("foreign_key", "app.Game")),
        ],
        constraints=[
            ConstraintState.check_that("score_range", "score BETWEEN 0 AND 10"),
            ConstraintState.check_that("not_self", "owner_id <> id"),
        ],
        indexes=[IndexState("high_scores", ["score"], condition="score > 5")],
    )
    return model.state_forwards(ProjectState())


def test_rename_field_rewrites_checks_and_index_conditions() -> None:
    model = RenameField("app", "Game", "score", "points").state_forwards(_game()).model("app", "Game")
    assert model.constraint("score_range").check == "points BETWEEN 0 AND 10"
    assert model.index("high_scores").condition == "points > 5"
    assert model.index("high_scores").fields == ("points",)


def test_rename_of_a_foreign_key_rewrites_its_column_name() -> None:
    model = RenameField("app", "Game", "owner", "holder").state_forwards(_game()).model("app", "Game")
    assert model.constraint("not_self").check == "holder_id <> id"


def test_a_field_with_its_own_column_keeps_the_sql() -> None:
    state = _game(db_column="score")
    model = RenameField("app", "Game", "score", "points").state_forwards(state).model("app", "Game")
    assert model.constraint("score_range").check == "score BETWEEN 0 AND 10"
    assert model.index("high_scores").condition == "score > 5"

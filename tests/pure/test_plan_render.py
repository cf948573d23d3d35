"""Rendering a plan: states replayed once along it, SQL per step, irreversibility found first."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.errors import IrreversibleOperation
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import AddField, CreateModel, RunSQL
from reinhardt_migrations.pure.plan_render import render_plan

ID = FieldState("id", "bigauto", primary_key=True)
FIRST = Migration("0001_initial", "shop", operations=[CreateModel("shop", "Item", [ID])])
SECOND = Migration(
    "0002_item_name",
    "shop",
    [("shop", "0001_initial")],
    [AddField("shop", "Item", FieldState("name", "varchar(20)", null=True))],
)
THIRD = Migration(
    "0003_sql", "shop", [("shop", "0002_item_name")], [RunSQL("UPDATE shop_item SET name = 'x'")]
)
GRAPH = MigrationGraph.from_migrations([FIRST, SECOND, THIRD])
SQLITE = dialect_for("sqlite")


def test_forwards_each_step_starts_where_the_last_one_ended() -> None:
    plan = GRAPH.plan(None, frozenset())
    rendered = render_plan(GRAPH, SQLITE, plan, frozenset())
    assert [item.step.key[1] for item in rendered] == ["0001_initial", "0002_item_name", "0003_sql"]
    for index, item in enumerate(rendered):
        assert item.before == replay([FIRST, SECOND, THIRD][:index])
        assert item.sql.after == replay([FIRST, SECOND, THIRD][: index + 1])
    assert any("CREATE TABLE" in s.sql for s in rendered[0].sql.all_statements())


def test_backwards_each_step_starts_from_the_state_after_it() -> None:
    applied = frozenset({FIRST.key, SECOND.key})
    plan = GRAPH.plan([("shop", "zero")], applied)
    rendered = render_plan(GRAPH, SQLITE, plan, applied)
    assert [(item.step.key[1], item.step.backwards) for item in rendered] == [
        ("0002_item_name", True),
        ("0001_initial", True),
    ]
    assert rendered[0].sql.before == replay([FIRST, SECOND])
    assert rendered[0].sql.after == replay([FIRST])
    assert rendered[1].sql.after == replay([])


def test_an_irreversible_step_is_found_before_anything_is_rendered_to_run() -> None:
    applied = frozenset({FIRST.key, SECOND.key, THIRD.key})
    plan = GRAPH.plan([("shop", "0001_initial")], applied)
    with pytest.raises(IrreversibleOperation, match=r"shop\.0003_sql"):
        render_plan(GRAPH, SQLITE, plan, applied)
    # A fake run renders states only, so it may go back past it.
    faked = render_plan(GRAPH, SQLITE, plan, applied, with_sql=False)
    assert [item.step.key[1] for item in faked] == ["0003_sql", "0002_item_name"]

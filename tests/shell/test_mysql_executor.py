"""MigrationExecutor on a real MariaDB server: progress records, failures in the middle, re-runs, undoing.

MySQL commits each DDL statement, so a migration that fails midway keeps what ran.
These tests check that the executor says exactly what ran and what did not, records
it in the progress table, continues a re-run where it stopped without repeating a
statement, and undoes just the part that ran when asked to go back.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddField,
    AlterField,
    CreateModel,
    RemoveField,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.sql import Statement
from reinhardt_migrations.pure.types import AutoField, Integer, Text, Varchar
from reinhardt_migrations.shell.backends.mysql import MysqlBackend
from reinhardt_migrations.shell.errors import InterruptedMigration, ProgressMismatch
from reinhardt_migrations.shell.executor import MigrationExecutor

ID = FieldState("id", AutoField(), primary_key=True)
PROGRESS = "reinhardt_migrations_progress"

INITIAL = Migration(
    "0001_initial",
    "shop",
    operations=[CreateModel("shop", "Item", [ID, FieldState("code", Varchar(10))])],
    initial=True,
)
# Operation #2 fails while two items share a code.
MORE = Migration(
    "0002_more",
    "shop",
    dependencies=[("shop", "0001_initial")],
    operations=[
        AddField("shop", "Item", FieldState("price", Integer(), default=5)),
        AlterField("shop", "Item", "code", FieldState("code", Varchar(10), unique=True)),
        AddField("shop", "Item", FieldState("note", Text(), null=True)),
    ],
)


@pytest.fixture
def backend(mysql_url: str) -> Iterator[MysqlBackend]:
    opened = MysqlBackend(mysql_url)
    yield opened
    opened.close()


def run(backend: MysqlBackend, sql: str) -> None:
    backend.execute([Statement(sql)])


def columns(backend: MysqlBackend, table: str) -> list[str]:
    return [row.name for row in backend.catalog().columns if row.table == table]


def progress_rows(backend: MysqlBackend) -> list[tuple[Any, ...]]:
    return backend.query(
        f"SELECT app, name, operation, direction, done, total FROM {PROGRESS} ORDER BY app, name, operation"
    )


def recorded(backend: MysqlBackend) -> list[tuple[Any, ...]]:
    return backend.query("SELECT app, name FROM reinhardt_migrations ORDER BY app, name")


def with_duplicates(backend: MysqlBackend, *migrations: Migration) -> MigrationExecutor:
    """Apply the initial migration and put two items with one code in the table."""
    executor = MigrationExecutor(backend, migrations or (INITIAL, MORE))
    executor.migrate([("shop", "0001_initial")])
    run(backend, "INSERT INTO shop_item (code) VALUES ('a'), ('a'), ('b')")
    return executor


def test_migrations_apply_and_unapply_with_rows_and_leave_no_progress(backend: MysqlBackend) -> None:
    executor = MigrationExecutor(backend, [INITIAL, MORE])
    executor.migrate([("shop", "0001_initial")])
    run(backend, "INSERT INTO shop_item (code) VALUES ('a'), ('b')")
    result = executor.migrate()
    assert result.applied == (("shop", "0002_more"),)
    assert backend.query("SELECT code, price, note FROM shop_item ORDER BY id") == [
        ("a", 5, None),
        ("b", 5, None),
    ]
    assert progress_rows(backend) == []
    executor.migrate([("shop", "0001_initial")])
    assert columns(backend, "shop_item") == ["id", "code"]
    assert backend.query("SELECT code FROM shop_item ORDER BY id") == [("a",), ("b",)]
    assert recorded(backend) == [("shop", "0001_initial")]
    assert progress_rows(backend) == []


def test_a_failure_in_the_middle_is_recorded_and_reported_exactly(backend: MysqlBackend) -> None:
    executor = with_duplicates(backend)
    with pytest.raises(InterruptedMigration) as caught:
        executor.migrate()
    error = caught.value
    # Operation #1 ran and stays (MySQL committed it); #2 failed at its first statement; #3 did not run.
    assert columns(backend, "shop_item") == ["id", "code", "price"]
    assert progress_rows(backend) == [("shop", "0002_more", 0, "forwards", 1, 1)]
    assert recorded(backend) == [("shop", "0001_initial")]
    assert error.migration == "shop.0002_more"
    assert error.done == ("#1 (Add field price to shop.Item)",)
    assert error.operation == "#2 (Alter field code on shop.Item)"
    assert error.ran == ()
    assert error.pending == ("#3 (Add field note to shop.Item)",)
    assert "error 1062" in error.reason
    message = str(error)
    assert "The migration is not recorded as applied." in message
    assert "Operations through: #1 (Add field price to shop.Item)." in message
    assert "Not run: #3 (Add field note to shop.Item)." in message
    assert "continues at operation #2" in message
    assert "`rmig migrate shop 0001_initial` undoes the operations that are through" in message


def test_a_rerun_after_the_fix_finishes_without_repeating_what_ran(backend: MysqlBackend) -> None:
    executor = with_duplicates(backend)
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    run(backend, "UPDATE shop_item SET code = 'c' WHERE id = 2")
    run(backend, "UPDATE shop_item SET price = 7")
    result = executor.migrate()
    ran = [
        s.sql for s in result.statements if not s.sql.startswith(("INSERT INTO `reinhardt", "DELETE FROM"))
    ]
    ran = [sql for sql in ran if "reinhardt_migrations_progress" not in sql]
    assert ran == [
        "ALTER TABLE `shop_item` ADD UNIQUE KEY `shop_item_code_uniq` (`code`)",
        "ALTER TABLE `shop_item` ADD COLUMN `note` longtext NULL AFTER `price`",
    ]
    # The price column was not added again: its values survived the re-run.
    assert backend.query("SELECT code, price FROM shop_item ORDER BY id") == [("a", 7), ("c", 7), ("b", 7)]
    assert recorded(backend) == [("shop", "0001_initial"), ("shop", "0002_more")]
    assert progress_rows(backend) == []


def test_going_back_undoes_just_the_part_that_ran(backend: MysqlBackend) -> None:
    executor = with_duplicates(backend)
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    result = executor.migrate([("shop", "0001_initial")])
    assert [(s.key, s.backwards) for s in result.steps] == [(("shop", "0002_more"), True)]
    assert columns(backend, "shop_item") == ["id", "code"]
    assert backend.query("SELECT code FROM shop_item ORDER BY id") == [("a",), ("a",), ("b",)]
    assert progress_rows(backend) == []
    assert recorded(backend) == [("shop", "0001_initial")]


def test_the_failing_operation_may_be_fixed_in_the_file_but_a_completed_one_may_not(
    backend: MysqlBackend,
) -> None:
    executor = with_duplicates(backend)
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    fixed = Migration(
        MORE.name,
        MORE.app_label,
        dependencies=MORE.dependencies,
        operations=[
            MORE.operations[0],
            AlterField("shop", "Item", "code", FieldState("code", Varchar(20))),
            MORE.operations[2],
        ],
    )
    MigrationExecutor(backend, [INITIAL, fixed]).migrate()
    assert columns(backend, "shop_item") == ["id", "code", "price", "note"]
    assert progress_rows(backend) == []

    failing_second = Migration(
        "0003_again",
        "shop",
        dependencies=[("shop", "0002_more")],
        operations=[
            AddField("shop", "Item", FieldState("size", Integer(), null=True)),
            RunSQL("SELECT * FROM nowhere"),
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, fixed, failing_second])
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    changed = Migration(
        "0003_again",
        "shop",
        dependencies=[("shop", "0002_more")],
        operations=[AddField("shop", "Item", FieldState("size", Varchar(30), null=True)), RunSQL("SELECT 1")],
    )
    with pytest.raises(
        ProgressMismatch, match=r"operation #1 \(Add field size to shop.Item\) changed"
    ) as caught:
        MigrationExecutor(backend, [INITIAL, fixed, changed]).migrate()
    assert "DELETE FROM `reinhardt_migrations_progress` WHERE `app` = 'shop'" in str(caught.value)
    assert progress_rows(backend) == [("shop", "0003_again", 0, "forwards", 1, 1)]


def test_a_half_done_operation_continues_at_its_next_statement(backend: MysqlBackend) -> None:
    tagged = Migration(
        "0002_tags",
        "shop",
        dependencies=[("shop", "0001_initial")],
        operations=[
            CreateModel(
                "shop",
                "Box",
                [ID, FieldState("items", Integer(), relation=Relation("many_to_many", "shop.Item"))],
            )
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, tagged])
    executor.migrate([("shop", "0001_initial")])
    # A table in the way of the join table makes the operation's second statement fail.
    run(backend, "CREATE TABLE shop_box_items (x integer)")
    with pytest.raises(InterruptedMigration) as caught:
        executor.migrate()
    error = caught.value
    assert error.ran == (executor.preview()[0].sql.steps[0].statements[0].sql,)
    assert (len(error.ran), error.total) == (1, 2)
    assert "ran 1 of its 2 statement(s)" in str(error)
    assert "is half done, so to go back instead first undo its statement(s)" in str(error)
    assert progress_rows(backend) == [("shop", "0002_tags", 0, "forwards", 1, 2)]
    # Undoing half an operation is not known: going back is refused, naming how to repair.
    with pytest.raises(ProgressMismatch, match="half done"):
        executor.migrate([("shop", "0001_initial")])
    run(backend, "DROP TABLE shop_box_items")
    result = executor.migrate()
    creates = [s.sql.split(" (")[0] for s in result.statements if s.sql.startswith("CREATE TABLE")]
    assert creates == ["CREATE TABLE `shop_box_items`"]
    assert progress_rows(backend) == []


def test_a_failure_while_unapplying_keeps_the_migration_recorded_and_can_be_redone(
    backend: MysqlBackend,
) -> None:
    loose = Migration(
        "0002_loose",
        "shop",
        dependencies=[("shop", "0001_initial")],
        operations=[
            AddField("shop", "Item", FieldState("sku", Varchar(5), null=True, unique=True)),
            AlterField("shop", "Item", "sku", FieldState("sku", Varchar(5), null=True)),
            AddField("shop", "Item", FieldState("note", Text(), null=True)),
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, loose])
    executor.migrate()
    run(backend, "INSERT INTO shop_item (code, sku) VALUES ('a', 's'), ('b', 's')")
    # Undoing #2 makes sku unique again, which the two rows refuse; #3 is undone before it.
    with pytest.raises(InterruptedMigration) as caught:
        executor.migrate([("shop", "0001_initial")])
    error = caught.value
    assert (error.done, error.operation) == (
        ("#3 (Add field note to shop.Item)",),
        "#2 (Alter field sku on shop.Item)",
    )
    assert error.pending == ("#1 (Add field sku to shop.Item)",)
    assert "The migration is still recorded as applied." in str(error)
    assert "`rmig migrate shop 0002_loose` re-applies the operations already undone" in str(error)
    assert progress_rows(backend) == [("shop", "0002_loose", 2, "backwards", 1, 1)]
    assert recorded(backend) == [("shop", "0001_initial"), ("shop", "0002_loose")]
    # Going forwards again redoes just the undone operation.
    result = executor.migrate([("shop", "0002_loose")])
    assert [(s.key, s.backwards) for s in result.steps] == [(("shop", "0002_loose"), False)]
    assert columns(backend, "shop_item") == ["id", "code", "sku", "note"]
    assert progress_rows(backend) == []
    # Or, after fixing the data, going back finishes.
    with pytest.raises(InterruptedMigration):
        executor.migrate([("shop", "0001_initial")])
    run(backend, "UPDATE shop_item SET sku = 't' WHERE code = 'b'")
    executor.migrate([("shop", "0001_initial")])
    assert columns(backend, "shop_item") == ["id", "code"]
    assert recorded(backend) == [("shop", "0001_initial")]
    assert progress_rows(backend) == []


def test_a_run_that_leaves_a_half_run_migration_alone_is_refused(backend: MysqlBackend) -> None:
    other = Migration("0001_initial", "blog", operations=[CreateModel("blog", "Post", [ID])])
    executor = with_duplicates(backend, INITIAL, MORE, other)
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    with pytest.raises(ProgressMismatch, match="would leave it half run") as caught:
        executor.migrate([("blog", "0001_initial")])
    assert "rmig migrate shop 0002_more" in str(caught.value)
    assert "rmig migrate shop 0001_initial" in str(caught.value)


def test_faking_a_half_run_migration_forgets_its_progress(backend: MysqlBackend) -> None:
    executor = with_duplicates(backend)
    with pytest.raises(InterruptedMigration):
        executor.migrate()
    executor.migrate(fake=True)
    assert progress_rows(backend) == []
    assert recorded(backend) == [("shop", "0001_initial"), ("shop", "0002_more")]


def _fill_prices(connection: Any, state: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shop_item SET price = price + 1")


def _broken(connection: Any, state: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shop_item SET price = 0")
    raise RuntimeError("the data migration found a bad row")


def test_run_code_changes_data_and_its_progress_together(
    backend: MysqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("mysql_code_module")
    module.fill = _fill_prices  # type: ignore[attr-defined]
    module.broken = _broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mysql_code_module", module)
    data = Migration(
        "0002_data",
        "shop",
        dependencies=[("shop", "0001_initial")],
        operations=[
            AddField("shop", "Item", FieldState("price", Integer(), default=5)),
            RunCode("mysql_code_module.fill"),
            RunCode("mysql_code_module.broken"),
        ],
    )
    executor = MigrationExecutor(backend, [INITIAL, data])
    executor.migrate([("shop", "0001_initial")])
    run(backend, "INSERT INTO shop_item (code) VALUES ('a')")
    with pytest.raises(RuntimeError, match="bad row") as caught:
        executor.migrate()
    # The failing callable's UPDATE was rolled back with its transaction; the one before it stays.
    assert backend.query("SELECT price FROM shop_item") == [(6,)]
    assert progress_rows(backend) == [
        ("shop", "0002_data", 0, "forwards", 1, 1),
        ("shop", "0002_data", 1, "forwards", 1, 1),
    ]
    notes = "\n".join(caught.value.__notes__)
    assert "what ran before it stays" in notes
    assert "continues at operation #3" in notes


def test_fake_initial_records_an_initial_migration_whose_tables_exist(backend: MysqlBackend) -> None:
    run(
        backend,
        "CREATE TABLE shop_item (id integer NOT NULL AUTO_INCREMENT PRIMARY KEY, code varchar(10) NOT NULL)",
    )
    result = MigrationExecutor(backend, [INITIAL]).migrate(fake_initial=True)
    assert [step.faked for step in result.steps] == [True]
    assert recorded(backend) == [("shop", "0001_initial")]


def test_a_removed_field_comes_back_in_its_place_with_the_other_values_kept(backend: MysqlBackend) -> None:
    drop = Migration(
        "0002_drop",
        "shop",
        dependencies=[("shop", "0001_initial")],
        operations=[RemoveField("shop", "Item", "code")],
    )
    executor = MigrationExecutor(backend, [INITIAL, drop])
    executor.migrate([("shop", "0001_initial")])
    run(backend, "INSERT INTO shop_item (code) VALUES ('a'), ('b')")
    executor.migrate()
    executor.migrate([("shop", "0001_initial")])
    assert columns(backend, "shop_item") == ["id", "code"]
    # MySQL fills a NOT NULL column without default with the type's zero value.
    assert backend.query("SELECT id, code FROM shop_item ORDER BY id") == [(1, ""), (2, "")]

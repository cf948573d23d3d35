"""The pure core does no IO, proven at run time with an audit hook (STYLE.md habit 3).

The import contract (import-linter) proves that ``reinhardt_migrations.pure`` imports no
driver, file or process module; this test proves that calling the pure API fires none of
the audit events that IO raises. Audit hooks cannot be removed, so one hook is installed
per process and records only while ``recording()`` is active, and only events of the
thread that started the recording.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelTable,
    AlterUniqueTogether,
    ColumnDefinition,
    CreateCollation,
    CreateExtension,
    CreateModel,
    CreateTable,
    DeleteModel,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
    SeparateDatabaseAndState,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import column_type_from_json, parse_sql_type

#: Audit events that IO raises: files, databases, sockets and processes.
WATCHED = frozenset(
    {
        "open",
        "sqlite3.connect",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.fork",
        "shutil.rmtree",
        "os.remove",
        "os.rename",
        "os.mkdir",
        "os.listdir",
        "os.scandir",
        "os.chdir",
        "os.putenv",
        "os.unsetenv",
        "time.sleep",
    }
)


class _Recorder:
    """An audit hook that records watched events while a thread asks it to."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        # Called for every audited action of the process: stay cheap when not recording.
        if self.thread is not None and event in WATCHED and threading.get_ident() == self.thread:
            self.events.append((event, args))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
        """Record the watched events of this thread inside the block, into the yielded list."""
        assert self.thread is None, "recordings do not nest"
        self.events = []
        self.thread = threading.get_ident()
        try:
            yield self.events
        finally:
            self.thread = None


def _recorder() -> _Recorder:
    """Return the process's recorder, installing its audit hook the first time."""
    # Kept on the sys module so that importing this file twice cannot add a second hook.
    recorder: _Recorder | None = getattr(sys, "_reinhardt_purity_recorder", None)
    if recorder is None:
        recorder = _Recorder()
        sys.addaudithook(recorder)
        sys._reinhardt_purity_recorder = recorder  # type: ignore[attr-defined]
    return recorder


def _fk(target: str, name: str) -> FieldState:
    return FieldState(name, "bigint", null=True, relation=Relation("foreign_key", target))


def _history() -> list[Migration]:
    """Return a small history that exercises most operations."""
    key = FieldState("id", "auto", primary_key=True)
    first = (
        Migration.new("0001_initial", "blog")
        .add_operation(CreateExtension("citext"))
        .add_operation(CreateCollation("nocase", "und-u-ks-level2", provider="icu"))
        .add_operation(CreateModel("blog", "Author", [key, FieldState("email", "VARCHAR(100)", unique=True)]))
        .add_operation(
            CreateModel(
                "blog",
                "Post",
                [key, FieldState("title", "varchar(200)", db_index=True), _fk("blog.Author", "author")],
                unique_together=[("title", "author")],
            )
        )
        .add_operation(CreateTable("legacy", [ColumnDefinition("id", "INTEGER PRIMARY KEY AUTOINCREMENT")]))
    )
    tags = FieldState("tags", "bigint", relation=Relation("many_to_many", "blog.Author"))
    second = (
        Migration.new("0002_changes", "blog")
        .add_dependency("blog", "0001_initial")
        .add_operation(AddField("blog", "Post", FieldState("body", "text", default="")))
        .add_operation(AddField("blog", "Post", tags))
        .add_operation(
            AlterField("blog", "Post", "title", FieldState("title", "varchar(300)", db_index=True))
        )
        .add_operation(RenameField("blog", "Post", "body", "content"))
        .add_operation(AddIndex("blog", "Post", IndexState("post_content_idx", ["-content"])))
        .add_operation(RenameIndex("blog", "Post", "post_content_idx", "post_text_idx"))
        .add_operation(AddConstraint("blog", "Post", ConstraintState.check_that("title_set", "title <> ''")))
        .add_operation(AlterUniqueTogether("blog", "Post", []))
        .add_operation(RemoveIndex("blog", "Post", "post_text_idx"))
        .add_operation(RemoveField("blog", "Post", "content"))
        .add_operation(RenameModel("blog", "Author", "Writer"))
        .add_operation(AlterModelTable("blog", "Post", "posts"))
        .add_operation(DeleteModel("tables", "legacy"))
        .add_operation(RunSQL("UPDATE posts SET title = upper(title)", reverse_sql="SELECT 1"))
        .add_operation(RunCode("blog.migrations.fill", reverse_code="blog.migrations.unfill"))
        .add_operation(
            SeparateDatabaseAndState(state_operations=[AddField("blog", "Writer", _fk("blog.Post", "pin"))])
        )
    )
    return [first, second]


def _use_the_pure_api() -> ProjectState:
    """Call a broad part of the pure API; return the final state."""
    history = _history()
    state = replay(history)
    state.check()
    steps = [ProjectState()]
    for migration in history:
        for operation in migration.operations:
            steps.append(operation.state_forwards(steps[-1]))
            operation.describe()
            operation.footprint()
            _ = operation.migration_name_fragment, operation.reversible
    assert steps[-1] == state
    for text in ["VARCHAR(255)", "DECIMAL(10,2)", "TIMESTAMP WITH TIME ZONE", "jsonb", "numeric(5)"]:
        column_type = parse_sql_type(text)
        assert column_type_from_json(column_type.to_json()) == column_type
    for model in state:
        for field in model.fields:
            field.describe()
    object_name("a_table_name_that_is_long_enough_" * 3, ["column"], "idx")
    graph = MigrationGraph.from_migrations(history)
    graph.leaf_nodes()
    hash(state)
    return state


def test_the_hook_records_an_open_while_the_flag_is_set(tmp_path: Path) -> None:
    target = tmp_path / "witness.txt"
    recorder = _recorder()
    with recorder.recording() as events:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write("x")
        sqlite3.connect(":memory:").close()
    opened = [args for event, args in events if event == "open"]
    assert any(str(target) == str(args[0]) for args in opened), events
    assert any(event == "sqlite3.connect" for event, _args in events), events


def test_the_hook_records_nothing_when_the_flag_is_not_set(tmp_path: Path) -> None:
    recorder = _recorder()
    with recorder.recording() as events:
        pass
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    assert events == []


def test_the_hook_ignores_other_threads(tmp_path: Path) -> None:
    recorder = _recorder()
    worker = threading.Thread(target=lambda: (tmp_path / "other.txt").write_text("x", encoding="utf-8"))
    with recorder.recording() as events:
        worker.start()
        worker.join()
    assert [event for event, _args in events if event == "open"] == []


@pytest.mark.parametrize(
    "action",
    [
        _use_the_pure_api,
        lambda: parse_sql_type("character varying(20)"),
        lambda: ProjectState().with_extension("hstore"),
    ],
    ids=["history", "parse_sql_type", "extension"],
)
def test_the_pure_api_does_no_io(action: Callable[[], object]) -> None:
    recorder = _recorder()
    with recorder.recording() as events:
        action()
    assert events == [], f"the pure API performed IO: {events}"


def test_errors_of_the_pure_api_do_no_io() -> None:
    recorder = _recorder()
    with recorder.recording() as events:
        for text in ["", "VARCHAR(0)", "frobnicate"]:
            with pytest.raises(ValueError, match="column type"):
                parse_sql_type(text)
        with pytest.raises(LookupError):
            replay([Migration.new("0001", "blog").add_operation(DeleteModel("blog", "Ghost"))])
    assert events == [], f"raising a pure error performed IO: {events}"

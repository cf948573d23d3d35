"""MigrationService as an application holds it: injected models and connections, results as values."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reinhardt_migrations.pure.errors import ConflictingLeaves, DanglingRelation
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import AddField, CreateModel
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.shell.backends import connect
from reinhardt_migrations.shell.config import config_from_data
from reinhardt_migrations.shell.models_source import ModelsSourceError, load_models_state
from reinhardt_migrations.shell.service import (
    AmbiguousMigrationName,
    MakeMigrationsCommand,
    MakeMigrationsOptions,
    MigrationService,
)

AUTHOR = ModelState(
    "library",
    "Author",
    [FieldState("id", "bigauto", primary_key=True), FieldState("name", "VARCHAR(80)")],
)
BOOK = ModelState(
    "library",
    "Book",
    [
        FieldState("id", "bigauto", primary_key=True),
        FieldState("title", "VARCHAR(200)"),
        FieldState("author", "BIGINT", relation=Relation("foreign_key", "library.Author")),
    ],
)


@pytest.fixture
def clean_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield
    for name in [name for name in sys.modules if name.split(".")[0] in ("schema", "library", "catalog")]:
        del sys.modules[name]


def service_for(tmp_path: Path, models: ProjectState, **settings: object) -> MigrationService:
    config = config_from_data({"apps": ["library"], **settings}, root=tmp_path)
    return MigrationService(config, models=models)


def test_makemigrations_from_an_injected_state_then_migrate_an_injected_connection(tmp_path: Path) -> None:
    state = ProjectState.from_models([AUTHOR, BOOK])
    backend = connect(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        service = MigrationService(
            config_from_data({"apps": ["library"]}, root=tmp_path), backend=backend, models=state
        )
        made = service.makemigrations()
        assert [p.migration.name for p in made.migrations] == ["0001_initial"]
        assert made.written == (tmp_path / "library" / "migrations" / "0001_initial.py",)
        # The written history replays to exactly the models' state.
        assert service.history_state() == state
        result = service.migrate()
        assert result.applied == (("library", "0001_initial"),)
        service.close()  # an injected backend belongs to its owner: still usable
        assert backend.has_table("library_book")
    finally:
        backend.close()
    with sqlite3.connect(tmp_path / "app.db") as db:
        columns = [row[1] for row in db.execute('PRAGMA table_info("library_book")')]
    assert columns == ["id", "title", "author_id"]
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_callable_models_source_is_called_each_time(tmp_path: Path) -> None:
    calls: list[int] = []

    def models() -> ProjectState:
        calls.append(1)
        return ProjectState.from_models([AUTHOR])

    service = MigrationService(config_from_data({"apps": ["library"]}, root=tmp_path), models=models)
    assert service.check().pending
    service.makemigrations()
    assert service.check().ok
    assert len(calls) == 3


def test_dry_run_writes_nothing_and_returns_the_text(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR]), format="json")
    result = service.makemigrations(dry_run=True)
    assert result.dry_run
    assert result.written == ()
    assert result.migrations[0].path == tmp_path / "library" / "migrations" / "0001_initial.json"
    assert '"op": "CreateModel"' in result.migrations[0].text
    assert not (tmp_path / "library").exists()


def test_the_original_crates_command_returns_the_files_created(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR]))
    dry = MakeMigrationsCommand(MakeMigrationsOptions(app_label="library", dry_run=True), service=service)
    assert dry.execute() == ()
    files = MakeMigrationsCommand(
        MakeMigrationsOptions(app_label="library", name="authors"), service=service
    ).execute()
    assert files == (tmp_path / "library" / "migrations" / "0001_authors.py",)
    assert MakeMigrationsCommand(MakeMigrationsOptions(), service=service).execute() == ()


def test_data_loss_can_be_refused_before_anything_is_written(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR, BOOK]))
    service.makemigrations()
    smaller = MigrationService(service.config, models=ProjectState.from_models([AUTHOR]))
    seen: list[str] = []

    def refuse(warnings: object) -> bool:
        seen.extend(warnings)  # type: ignore[call-overload]
        return False

    from reinhardt_migrations.shell.prompts import AbortedByUser

    with pytest.raises(AbortedByUser):
        smaller.makemigrations(confirm_data_loss=refuse)
    assert any("library.Book" in warning for warning in seen)
    assert sorted(p.name for p in (tmp_path / "library" / "migrations").iterdir()) == ["0001_initial.py"]


def test_status_plan_and_sql(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR, BOOK]), database_url="sqlite:///s.db")
    service.makemigrations(name="first")
    sql = service.sql("library", "0001")
    assert sql.dialect == "sqlite"
    assert not (tmp_path / "s.db").exists()  # sqlmigrate is offline
    assert any('CREATE TABLE "library_book"' in s.sql for s in sql.sql.all_statements())
    with service:
        assert [step.key for step in service.plan()] == [("library", "0001_first")]
        before = service.status()
        assert [(e.key, e.applied) for e in before.entries] == [(("library", "0001_first"), False)]
        service.migrate()
        after = service.status("library")
        assert after.entries[0].applied
        assert after.entries[0].checksum_matches is True
        assert after.entries[0].path == tmp_path / "library" / "migrations" / "0001_first.py"
        assert service.plan() == ()


def test_a_prefix_that_matches_two_migrations_is_ambiguous(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR]))
    service.makemigrations()
    service.makemigrations(["library"], empty=True, name="data")
    assert service.sql("library", "0002").key == ("library", "0002_data")
    with pytest.raises(AmbiguousMigrationName, match="0001_initial, 0002_data"):
        service.sql("library", "00")


def test_makemigrations_refuses_conflicts_until_merged(tmp_path: Path) -> None:
    service = service_for(tmp_path, ProjectState.from_models([AUTHOR]))
    service.makemigrations()
    for name in ("a", "b"):
        service.makemigrations(["library"], empty=True, name=name)
        # Make the second branch also start at 0001 (as two git branches would).
    folder = tmp_path / "library" / "migrations"
    text = (folder / "0003_b.py").read_text().replace("0002_a", "0001_initial").replace("0003_b", "0002_b")
    (folder / "0003_b.py").unlink()
    (folder / "0002_b.py").write_text(text)
    with pytest.raises(ConflictingLeaves) as caught:
        service.makemigrations()
    assert caught.value.leaves == {"library": ("0002_a", "0002_b")}
    assert service.check().conflicts == (("library", ("0002_a", "0002_b")),)
    merged = service.makemigrations(merge=True)
    assert [p.migration.key for p in merged.migrations] == [("library", "0003_merge_0002_a_0002_b")]
    assert merged.migrations[0].migration.dependencies == (("library", "0002_a"), ("library", "0002_b"))
    assert service.check().ok


def test_only_the_named_apps_and_what_they_need(tmp_path: Path) -> None:
    shelf = ModelState(
        "catalog",
        "Shelf",
        [
            FieldState("id", "bigauto", primary_key=True),
            FieldState("book", "BIGINT", relation=Relation("foreign_key", "library.Book")),
        ],
    )
    config = config_from_data({"apps": ["library", "catalog"]}, root=tmp_path)
    service = MigrationService(config, models=ProjectState.from_models([AUTHOR, BOOK, shelf]))
    library_only = service.makemigrations(["library"], dry_run=True)
    assert [p.migration.app_label for p in library_only.migrations] == ["library"]
    # catalog needs library's new migration, so it comes along.
    catalog = service.makemigrations(["catalog"], dry_run=True)
    assert [p.migration.app_label for p in catalog.migrations] == ["library", "catalog"]


def write_module(root: Path, name: str, text: str) -> None:
    path = root / Path(*name.split("."))
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.parents:
        if parent == root:
            break
        (parent / "__init__.py").touch()
    path.with_suffix(".py").write_text(text, encoding="utf-8")


STATE_MODULE = """\
from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.state import ModelState, ProjectState

def build_state():
    return ProjectState.from_models([
        ModelState("library", "Author", [FieldState("id", "bigauto", primary_key=True)]),
    ])

STATE = build_state()
MODELS = [1, 2]
"""

CLASSES_MODULE = """\
from reinhardt_migrations.pure.models import CASCADE, ForeignKey, Model

class Loan(Model):
    author = ForeignKey("library.Author", on_delete=CASCADE)

    class Meta:
        app_label = "library"
"""


def test_models_sources_of_every_kind(tmp_path: Path, clean_imports: None) -> None:
    write_module(tmp_path, "schema.state", STATE_MODULE)
    write_module(tmp_path, "schema.classes", CLASSES_MODULE)
    from_value = load_models_state(["schema.state:STATE"], python_path=[tmp_path])
    from_callable = load_models_state(["schema.state:build_state"], python_path=[tmp_path])
    assert from_value == from_callable
    assert from_value.has_model("library", "Author")
    # Classes may point at a model another (state) source defines.
    mixed = load_models_state(["schema.classes", "schema.state:STATE"], python_path=[tmp_path])
    relation = mixed.model("library", "Loan").field("author").relation
    assert relation is not None
    assert (relation.kind, relation.to) == ("foreign_key", ("library", "Author"))
    with pytest.raises(DanglingRelation):
        load_models_state(["schema.classes"], python_path=[tmp_path])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("schema.nothing_here", "no module named 'schema.nothing_here'"),
        ("schema.state:MISSING", "has no attribute 'MISSING'"),
        ("schema.state:MODELS", "it is a list; expected a ProjectState"),
        ("schema.state", "the module defines no Model classes"),
        ("schema.state:", "write it as 'package.module' or 'package.module:NAME'"),
    ],
)
def test_a_bad_models_source_says_what_is_wrong(
    tmp_path: Path, clean_imports: None, source: str, message: str
) -> None:
    write_module(tmp_path, "schema.state", STATE_MODULE)
    with pytest.raises(ModelsSourceError, match=message) as caught:
        load_models_state([source], python_path=[tmp_path])
    assert f"Models source {source!r}" in str(caught.value)


def test_an_edited_models_module_is_read_afresh(tmp_path: Path, clean_imports: None) -> None:
    write_module(
        tmp_path,
        "catalog.models",
        CLASSES_MODULE.replace("library", "catalog").replace("catalog.Author", "Loan"),
    )
    first = load_models_state(["catalog.models"], python_path=[tmp_path])
    write_module(
        tmp_path,
        "catalog.models",
        CLASSES_MODULE.replace("Loan", "Lending")
        .replace("library", "catalog")
        .replace("catalog.Author", "Lending"),
    )
    second = load_models_state(["catalog.models"], python_path=[tmp_path])
    assert [m.name for m in first] == ["Loan"]
    assert [m.name for m in second] == ["Lending"]


def test_history_state_replays_every_migration(tmp_path: Path) -> None:
    initial = Migration("0001_initial", "library", operations=[CreateModel.from_model(AUTHOR)])
    second = Migration(
        "0002_more",
        "library",
        dependencies=[("library", "0001_initial")],
        operations=[AddField("library", "Author", FieldState("born", "INTEGER", null=True))],
    )
    service = service_for(tmp_path, ProjectState())
    from reinhardt_migrations.shell.writer import write_migration

    for migration in (initial, second):
        write_migration(migration, tmp_path / "library" / "migrations")
    assert service.history_state() == replay([initial, second])


def test_makemigrations_refuses_an_index_name_another_model_already_has(tmp_path: Path) -> None:
    from reinhardt_migrations.pure.constraints import IndexState
    from reinhardt_migrations.pure.errors import DuplicateObjectName

    first = ProjectState.from_models([AUTHOR.with_index(IndexState("by_name", ["name"])), BOOK])
    service = service_for(tmp_path, first)
    service.makemigrations()
    clashing = first.with_model(BOOK.with_index(IndexState("by_name", ["title"])))
    later = service_for(tmp_path, clashing)
    with pytest.raises(
        DuplicateObjectName, match=r"'by_name' of library\.Author is already used by library\.Book"
    ):
        later.makemigrations()
    assert sorted(p.name for p in (tmp_path / "library" / "migrations").glob("*.py")) == ["0001_initial.py"]


def test_check_reports_a_name_the_migrations_give_twice(tmp_path: Path) -> None:
    from reinhardt_migrations.pure.constraints import IndexState
    from reinhardt_migrations.pure.operations import AddIndex
    from reinhardt_migrations.shell.writer import write_migration

    folder = tmp_path / "library" / "migrations"
    initial = Migration("0001_initial", "library", operations=[CreateModel.from_model(AUTHOR)], initial=True)
    clash = Migration(
        "0002_clash",
        "library",
        [("library", "0001_initial")],
        [
            CreateModel(
                "library", "Index", [FieldState("id", "bigauto", primary_key=True)], db_table="by_name"
            ),
            AddIndex("library", "Author", IndexState("by_name", ["name"])),
        ],
    )
    write_migration(initial, folder)
    write_migration(clash, folder)
    result = service_for(tmp_path, replay([initial, clash])).check()
    assert not result.ok
    assert result.problems == (
        "In the migrations' state, the name 'by_name' is used by index of library.Author and "
        "table of library.Index; give each its own name.",
    )

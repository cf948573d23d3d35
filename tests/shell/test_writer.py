"""The writer produces files the loader reads back equal, atomically and byte for byte the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, OnDelete, Relation, SqlDefault
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, AddIndex, CreateModel, RenameField, RunSQL
from reinhardt_migrations.shell.config import FileFormat
from reinhardt_migrations.shell.loader import MigrationFileError, load_migration_file
from reinhardt_migrations.shell.writer import (
    migration_file_name,
    migration_number,
    next_migration_number,
    write_migration,
)

RICH = Migration(
    "0003_rich",
    "blog",
    dependencies=[("blog", "0002_x"), ("accounts", "0001_initial")],
    operations=[
        CreateModel(
            "blog",
            "Tag",
            [
                FieldState("id", "bigauto", primary_key=True),
                FieldState("name", "VARCHAR(40)", unique=True, default="untitled"),
                FieldState("created", "TIMESTAMP", default=SqlDefault("CURRENT_TIMESTAMP")),
            ],
            options={"b": "2", "a": "1"},
        ),
        AddField(
            "blog",
            "Post",
            FieldState(
                "owner",
                "BIGINT",
                null=True,
                relation=Relation("foreign_key", "accounts.User", OnDelete.SET_NULL),
            ),
        ),
        RenameField("blog", "Post", "heading", "title"),
        AddIndex("blog", "Post", IndexState("post_title_idx", ("-title",))),
        RunSQL("UPDATE blog_post SET title = 'it''s'", reverse_sql=None),
    ],
)


@pytest.mark.parametrize("file_format", ["python", "json"])
def test_a_written_migration_loads_back_equal(tmp_path: Path, file_format: FileFormat) -> None:
    path = write_migration(RICH, tmp_path / "blog" / "migrations", file_format)
    assert path.name == migration_file_name(RICH, file_format)
    assert load_migration_file(path, "blog") == RICH
    # Nothing but the file: the temporary file was moved into place.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.parametrize("file_format", ["python", "json"])
def test_writing_twice_gives_the_same_bytes(tmp_path: Path, file_format: FileFormat) -> None:
    first = write_migration(RICH, tmp_path / "one", file_format)
    second = write_migration(RICH, tmp_path / "two", file_format)
    assert first.read_bytes() == second.read_bytes()


def test_the_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_writer import RICH\n"
        "from reinhardt_migrations.shell.writer import write_migration\n"
        "write_migration(RICH, Path(sys.argv[1]), 'python')\n"
        "write_migration(RICH, Path(sys.argv[1]) / 'json', 'json')\n"
    )
    outputs = []
    for seed in ("1", "4242"):
        folder = tmp_path / seed
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-c", script, str(folder), str(Path(__file__).parent)],
            check=True,
            env=environment,
        )
        outputs.append(
            ((folder / "0003_rich.py").read_bytes(), (folder / "json" / "0003_rich.json").read_bytes())
        )
    assert outputs[0] == outputs[1]


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0003_rich.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MigrationFileError, match=r"0003_rich\.json: already exists.*--name"):
        write_migration(RICH, folder, "python")
    assert not (folder / "0003_rich.py").exists()
    assert (folder / "0003_rich.json").read_text(encoding="utf-8") == "{}"


def test_an_unwritable_folder_is_reported_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    blocker = tmp_path / "migrations"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(MigrationFileError, match="cannot be written"):
        write_migration(RICH, blocker, "python")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations"]


def test_migration_numbers() -> None:
    assert migration_number("0007_post_slug") == 7
    assert migration_number("initial") is None
    assert next_migration_number([]) == 1
    assert next_migration_number(["0001_initial", "0002_x", "custom", "0010_merge"]) == 11

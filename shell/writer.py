"""Migration values -> files: Python modules (default) or JSON, written atomically.

Theory of operation: the text comes from the pure serializers (``migration_to_python``,
``migration_to_json``), so the same migration always gives the same bytes. The file is
written to a temporary file beside its destination (same folder, same file system),
flushed to disk and moved into place with ``os.replace``: a reader, or a crash, sees
the old state or the whole new file, never half of one. A file is never overwritten,
and a migration whose name is taken by a file of the other format is refused.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.serialize import migration_to_json
from reinhardt_migrations.pure.serialize_python import migration_to_python
from reinhardt_migrations.shell.config import FileFormat
from reinhardt_migrations.shell.loader import MIGRATION_SUFFIXES, MigrationFileError

__all__ = [
    "migration_file_name",
    "migration_number",
    "next_migration_number",
    "render_migration",
    "write_migration",
]

_SUFFIX: dict[FileFormat, str] = {"python": ".py", "json": ".json"}
_NUMBERED = re.compile(r"^(\d+)_")


def migration_file_name(migration: Migration, file_format: FileFormat = "python") -> str:
    """Return the file name of ``migration`` in ``file_format``: ``<name>.py`` or ``<name>.json``."""
    return migration.name + _SUFFIX[file_format]


def render_migration(migration: Migration, file_format: FileFormat = "python") -> str:
    """Return the text of the migration file, deterministic byte for byte.

    Raises:
        SerializationError: a value of the migration cannot be written.
    """
    return migration_to_python(migration) if file_format == "python" else migration_to_json(migration)


def migration_number(name: str) -> int | None:
    """Return the number a migration name starts with (``0003_x`` -> 3), or None."""
    match = _NUMBERED.match(name)
    return int(match.group(1)) if match else None


def next_migration_number(names: Iterable[str]) -> int:
    """Return the number after the highest one among migration ``names`` (1 when there are none)."""
    return max((number for number in map(migration_number, names) if number is not None), default=0) + 1


def write_migration(migration: Migration, folder: Path, file_format: FileFormat = "python") -> Path:
    """Write ``migration`` into ``folder`` (created if missing) atomically; return the file's path.

    Raises:
        MigrationFileError: a file of that migration already exists, or the file cannot be written.
        SerializationError: a value of the migration cannot be written.
    """
    text = render_migration(migration, file_format)
    path = folder / migration_file_name(migration, file_format)
    for suffix in MIGRATION_SUFFIXES:
        existing = folder / (migration.name + suffix)
        if existing.exists():
            raise MigrationFileError(
                str(existing),
                f"already exists, so migration {migration.app_label}.{migration.name} was not "
                "written; choose another --name or remove the file",
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, text.encode("utf-8"))
    except OSError as error:
        raise MigrationFileError(str(path), f"cannot be written ({error})") from error
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

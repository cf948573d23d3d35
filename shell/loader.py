"""Migration files (Python modules and JSON documents) -> Migration values -> the graph.

Theory of operation: each configured app has a migrations folder; every ``*.py`` and
``*.json`` file in it whose name does not start with ``_`` or ``.`` is one migration,
named after the file (``0002_post_slug.py`` is ``blog.0002_post_slug``). A Python file
gets a fresh module object from importlib (``spec_from_file_location``), is compiled
from its own text and run in it; the module is never put in ``sys.modules`` and
``sys.path`` is not touched, so files of different apps cannot see or shadow each other,
and no stale bytecode is read. It must set ``migration = Migration(...)``. A JSON file is read
by ``migration_from_json`` with an importlib resolver for custom operations.

Every problem becomes an error naming the file (and the line, for Python): broken
syntax, a file that defines no migration, a name or app that does not match the file,
two files of one migration, and, when the graph is built, a dependency on a migration
that does not exist or a cycle. Loading reads only; nothing is applied when it fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from reinhardt_migrations.pure.errors import (
    CircularDependency,
    MigrationError,
    UnknownMigration,
)
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.serialize import migration_from_json
from reinhardt_migrations.shell.config import MigrationConfig

__all__ = [
    "MIGRATION_SUFFIXES",
    "LoadedMigrations",
    "MigrationFile",
    "MigrationFileError",
    "load_migration_file",
    "load_migrations",
    "migration_paths",
    "resolve_operation",
]

MIGRATION_SUFFIXES = (".py", ".json")


class MigrationFileError(MigrationError):
    """A migration file that cannot be loaded; carries the path, the line (if known) and the problem."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


@attrs.frozen
class MigrationFile:
    """A migration and the file it was read from."""

    path: Path
    migration: Migration

    @property
    def key(self) -> MigrationKey:
        """Return ``(app_label, name)``."""
        return self.migration.key


@attrs.frozen
class LoadedMigrations:
    """Every app's migration files, and the validated graph they form."""

    files: tuple[MigrationFile, ...]
    graph: MigrationGraph = attrs.field(eq=False)

    @property
    def migrations(self) -> tuple[Migration, ...]:
        """Return the migrations, sorted by key."""
        return tuple(file.migration for file in self.files)

    def path_of(self, key: MigrationKey) -> Path | None:
        """Return the file of migration ``key``, or None."""
        return next((file.path for file in self.files if file.key == key), None)

    def of_app(self, app_label: str) -> tuple[MigrationFile, ...]:
        """Return the files of one app, sorted by name."""
        return tuple(file for file in self.files if file.key[0] == app_label)


def migration_paths(folder: Path) -> tuple[Path, ...]:
    """Return the migration files in ``folder``, sorted by name (none if the folder does not exist)."""
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            path
            for path in folder.iterdir()
            if path.suffix in MIGRATION_SUFFIXES and path.is_file() and not path.name.startswith(("_", "."))
        )
    )


def resolve_operation(dotted_path: str) -> type:
    """Return the class a dotted path names (``package.module.ClassName``), importing its module.

    Raises:
        ImportError: no prefix of the path is an importable module holding the rest.
    """
    parts = dotted_path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            value: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        for attribute in parts[split:]:
            value = getattr(value, attribute, None)
        if isinstance(value, type):
            return value
        raise ImportError(f"{module_name} has no class {'.'.join(parts[split:])}")
    raise ImportError(f"no module of {dotted_path!r} can be imported")


def load_migration_file(path: Path, app_label: str, *, display: str | None = None) -> Migration:
    """Return the migration one file defines, checked against the file's name and app.

    Raises:
        MigrationFileError: the file cannot be read, is broken, or defines no fitting migration.
        SerializationError: a JSON document is malformed (the message names the file and JSON path).
    """
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MigrationFileError(shown, f"cannot be read ({error})") from error
    if path.suffix == ".json":
        migration = migration_from_json(text, source=shown, resolve_operation=resolve_operation)
    else:
        migration = _run_python(text, path, shown)
    if migration.name != path.stem:
        raise MigrationFileError(
            shown,
            f"defines migration {migration.app_label}.{migration.name}, but the file is named "
            f"{path.name}; a migration's name is its file's name: rename the file or the migration",
        )
    if migration.app_label != app_label:
        raise MigrationFileError(
            shown,
            f"defines a migration of app {migration.app_label!r} but is in the migrations folder of "
            f"app {app_label!r}; move the file or fix its app_label",
        )
    return migration


def _run_python(text: str, path: Path, shown: str) -> Migration:
    try:
        code = compile(text, str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise MigrationFileError(shown, f"invalid Python syntax: {error.msg}", error.lineno) from error
    # importlib makes the module object (with its spec and file), but the code is compiled
    # from the text just read: no bytecode cache is read or written beside the migrations.
    spec = importlib.util.spec_from_file_location(f"reinhardt_migrations_file:{path.stem}", path)
    module = importlib.util.module_from_spec(spec) if spec is not None else types.ModuleType(path.stem)
    try:
        exec(code, vars(module))
    except Exception as error:
        line = _line_in(error, str(path))
        raise MigrationFileError(
            shown, f"running the file raised {type(error).__name__}: {str(error).rstrip('.')}", line
        ) from error
    migration = vars(module).get("migration")
    if not isinstance(migration, Migration):
        found = "nothing" if migration is None else f"a {type(migration).__name__}"
        raise MigrationFileError(
            shown,
            f"does not define a migration (its `migration` is {found}); a migration module sets "
            "migration = Migration(...) at top level",
        )
    return migration


def _line_in(error: BaseException, filename: str) -> int | None:
    """Return the last line of ``filename`` in the error's traceback."""
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename
    ]
    return lines[-1] if lines else None


def load_migrations(config: MigrationConfig) -> LoadedMigrations:
    """Return every configured app's migrations and their validated graph.

    Raises:
        MigrationFileError: a file is broken, two files define one migration, a dependency
            names a migration that does not exist, or the dependencies form a cycle.
        SerializationError: a JSON migration is malformed.
    """
    # Migration files import the project's own code (custom operations, RunCode callables), so
    # the configured python_path must be importable here too, not only for the models.
    for folder in reversed([str(folder) for folder in config.python_path]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    importlib.invalidate_caches()
    files: dict[MigrationKey, MigrationFile] = {}
    for app in config.apps:
        for path in migration_paths(app.migrations):
            migration = load_migration_file(path, app.label, display=_display(path, config.root))
            other = files.get(migration.key)
            if other is not None:
                raise MigrationFileError(
                    _display(path, config.root),
                    f"defines migration {app.label}.{migration.name}, which "
                    f"{_display(other.path, config.root)} defines too; delete one of the two files",
                )
            files[migration.key] = MigrationFile(path, migration)
    ordered = tuple(files[key] for key in sorted(files))
    return LoadedMigrations(ordered, _graph(ordered, config.root))


def _graph(files: tuple[MigrationFile, ...], root: Path) -> MigrationGraph:
    paths = {file.key: _display(file.path, root) for file in files}
    try:
        return MigrationGraph.from_migrations(file.migration for file in files)
    except UnknownMigration as error:
        if error.wanted_by is None or error.wanted_by not in paths:
            raise
        missing = f"{error.key[0]}.{error.key[1]}"
        raise MigrationFileError(
            paths[error.wanted_by],
            f"depends on migration {missing}, which does not exist; restore its file, or fix the "
            "dependency to name an existing migration",
        ) from error
    except CircularDependency as error:
        raise MigrationFileError(
            paths.get(error.cycle[0], f"{error.cycle[0][0]}.{error.cycle[0][1]}"),
            f"{str(error).rstrip('.')} (files: {_cycle_files(error.cycle, paths)})",
        ) from error


def _cycle_files(cycle: Iterable[MigrationKey], paths: Mapping[MigrationKey, str]) -> str:
    return ", ".join(paths.get(key, f"{key[0]}.{key[1]}") for key in cycle)


def _display(path: Path, root: Path) -> str:
    """Return ``path`` relative to the project root when it is inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

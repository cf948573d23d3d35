"""The user's models -> ProjectState: the to-state of ``makemigrations``.

Theory of operation: the configuration's ``models`` lists sources of two kinds.
``"pkg.module"`` names a module of declarative Model classes; every concrete Model
class in its namespace is taken (classes imported into it too, once each).
``"pkg.module:NAME"`` names an attribute: a ProjectState, a callable returning one
(the library way), or a collection of Model classes. The classes of all sources become
one state (relations typed by their targets); the states are merged into it, and a
model defined twice is an error.

Importing user code is an effect, so it lives here. The configured ``python_path``
folders go to the front of ``sys.path``, and modules of the sources' top-level packages
that come from outside the Python installation are forgotten before importing, so an
edited models file (or another project in the same process) is read afresh.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from reinhardt_migrations.pure.errors import MigrationError
from reinhardt_migrations.pure.models import Model, models_in, project_state_from_models
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["ModelsSourceError", "load_models_state", "objects_of_source"]


class ModelsSourceError(MigrationError):
    """A models source cannot be imported or does not give models; names the source."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(
            f"Models source {source!r}: {problem}. Check `models` (and `python_path`) under "
            "[tool.reinhardt-migrations] in pyproject.toml."
        )


def load_models_state(sources: Sequence[str], *, python_path: Sequence[Path] = ()) -> ProjectState:
    """Return the ProjectState the models ``sources`` describe, importing them afresh.

    Raises:
        ModelsSourceError: a source cannot be imported, names nothing usable, or is empty.
        MigrationError: the models are invalid (a relation to a missing model, say).
    """
    if not sources:
        raise ModelsSourceError(
            "",
            'no models are configured; set models = ["yourapp.models"] (a module of Model classes) '
            'or models = "yourapp.schema:build_state" (a ProjectState or a callable returning one)',
        )
    _put_on_path(python_path)
    _forget_user_modules({source.split(":", 1)[0].split(".", 1)[0] for source in sources})
    classes: list[type[Model]] = []
    states: list[tuple[str, ProjectState]] = []
    for source in sources:
        for item in objects_of_source(source):
            if isinstance(item, ProjectState):
                states.append((source, item))
            else:
                classes.append(item)
    state = project_state_from_models(classes, check=not states)
    for source, other in states:
        for model in other:
            if state.has_model(*model.key):
                raise ModelsSourceError(source, f"model {model.label} is defined by another source too")
            state = state.with_model(model)
        state = _with_project_objects(state, other)
    state.check()
    return state


def objects_of_source(source: str) -> tuple[ProjectState | type[Model], ...]:
    """Return what one source gives: Model classes, or one ProjectState.

    Raises:
        ModelsSourceError: the module cannot be imported, or the attribute is not usable.
    """
    module_name, colon, attribute = source.partition(":")
    if not module_name or (colon and not attribute):
        raise ModelsSourceError(source, "write it as 'package.module' or 'package.module:NAME'")
    module = _import(source, module_name)
    if not colon:
        found = models_in(vars(module))
        if not found:
            raise ModelsSourceError(source, "the module defines no Model classes")
        return found
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ModelsSourceError(source, f"module {module_name} has no attribute {attribute!r}")
        value = getattr(value, part)
    if callable(value) and not isinstance(value, type):
        try:
            value = value()
        except MigrationError as error:
            raise ModelsSourceError(source, f"calling it failed: {error}") from error
    if isinstance(value, ProjectState):
        return (value,)
    if isinstance(value, type) and issubclass(value, Model):
        return models_in([value])
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = list(value)
        if all(isinstance(item, type) and issubclass(item, Model) for item in items):
            return models_in(items)
    raise ModelsSourceError(
        source,
        f"it is a {type(value).__name__}; expected a ProjectState, a callable returning one, "
        "or Model classes",
    )


def _import(source: str, module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except SyntaxError as error:
        raise ModelsSourceError(
            source, f"{error.filename}:{error.lineno}: invalid Python syntax ({error.msg})"
        ) from error
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise ModelsSourceError(
                source, f"no module named {error.name!r} on the Python path {_path_hint()}"
            ) from error
        raise ModelsSourceError(source, f"importing it failed: {error}") from error
    except MigrationError as error:
        raise ModelsSourceError(source, str(error).rstrip(".")) from error
    except Exception as error:
        raise ModelsSourceError(source, f"importing it raised {type(error).__name__}: {error}") from error


def _path_hint() -> str:
    return f"(searched {', '.join(sys.path[:3])}, ...)"


def _put_on_path(folders: Sequence[Path]) -> None:
    # In reverse, so the first configured folder ends up first on sys.path.
    for folder in reversed([str(folder) for folder in folders]):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    importlib.invalidate_caches()


def _forget_user_modules(packages: Iterable[str]) -> None:
    """Drop cached modules of ``packages`` that are not part of the Python installation."""
    installed = tuple(
        {str(Path(prefix).resolve()) for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    )
    for name in sorted(sys.modules):
        if name.split(".", 1)[0] not in packages:
            continue
        file = getattr(sys.modules[name], "__file__", None)
        if file is None or not str(Path(file).resolve()).startswith(installed):
            del sys.modules[name]


def _with_project_objects(state: ProjectState, other: ProjectState) -> ProjectState:
    for extension in sorted(other.extensions):
        state = state.with_extension(extension)
    for name in sorted(other.collations):
        state = state.with_collation(other.collations[name])
    return state

"""Migrations as canonical JSON and back; project states as canonical data (law 5).

Theory of operation: serialize_codec.py turns values into JSON-compatible data and back,
following their annotations. This module adds the documents: a migration is an object with
a ``format`` marker, written by ``json.dumps`` with sorted keys, indent 2 and a final
newline, so equal migrations give identical bytes whatever order their parts were built
in. Reading is strict JSON (no repeated keys, no NaN) and every problem becomes a
SerializationError naming the source (a file name) and the JSON path. A state is written
in a canonical order (models by key, collations by name, sorted extensions), so equal
states give equal data: the recorder's checksum and the property tests rely on it.
``migration_to_python`` (from serialize_python.py) writes a migration as a Python module.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Iterable
from json.encoder import encode_basestring
from typing import Any

import attrs

from reinhardt_migrations.pure.errors import SerializationError
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations.base import Operation
from reinhardt_migrations.pure.serialize_codec import (
    OperationResolver,
    ValueReader,
    ValueWriter,
    describe_json,
)
from reinhardt_migrations.pure.serialize_python import migration_to_python
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState
from reinhardt_migrations.pure.views import ViewState

__all__ = [
    "FORMAT",
    "OperationResolver",
    "migration_from_data",
    "migration_from_json",
    "migration_to_data",
    "migration_to_json",
    "migration_to_python",
    "operation_from_data",
    "operation_to_data",
    "state_from_data",
    "state_from_json",
    "state_to_data",
    "state_to_json",
]

#: The format marker of a migration document; a reader refuses any other.
FORMAT = "reinhardt-migrations/1"

_STATE_KEYS = ("collations", "extensions", "models", "views")
# Lone surrogates cannot be encoded as UTF-8: escape them, keep every other character readable.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _problem(error: BaseException) -> str:
    return str(error).strip().rstrip(".") or type(error).__name__


# Strict JSON: a repeated key or NaN would be silently accepted by json.loads.
class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = item
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        problem = f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    except _DuplicateKey as error:
        problem = f"not valid JSON: the key {error.key!r} appears twice in one object"
    except (ValueError, RecursionError) as error:
        problem = f"not valid JSON ({_problem(error)})"
    raise SerializationError(source, f"{problem}; fix the file, or write it again with makemigrations")


def _dump(data: Any) -> str:
    """Return ``json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)`` plus a newline, faster.

    With an indent, json.dumps leaves its C encoder for a general pure-Python one; data
    made by the codec holds only dicts, lists, strings, numbers, booleans and nulls, which
    this walk writes identically in half the time.
    """
    parts: list[str] = []
    _write(data, "\n", parts)
    parts.append("\n")
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", "".join(parts))


def _write(node: Any, newline: str, parts: list[str]) -> None:
    if isinstance(node, str):
        parts.append(encode_basestring(node))
    elif isinstance(node, dict):
        if not node:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key in sorted(node):
            parts.append(separator + encode_basestring(key) + ": ")
            _write(node[key], inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif isinstance(node, list):
        if not node:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in node:
            parts.append(separator)
            _write(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    elif node is None or isinstance(node, bool):
        parts.append("null" if node is None else "true" if node else "false")
    elif isinstance(node, int):
        parts.append(int.__repr__(node))
    elif isinstance(node, float) and math.isfinite(node):
        parts.append(float.__repr__(node))
    else:
        raise TypeError(f"{node!r} is not JSON data")  # the codec never produces it


def _label(migration: Migration) -> str:
    return f"migration {migration.app_label}.{migration.name}"


def operation_to_data(operation: Operation) -> dict[str, Any]:
    """Return an operation as JSON-compatible data: ``{"op": kind, **arguments}``.

    Raises:
        SerializationError: a value cannot be written (a non-attrs custom operation, say).
    """
    return ValueWriter("operation").operation(operation, "")


def operation_from_data(
    data: Any,
    *,
    source: str = "<data>",
    path: str = "",
    resolve_operation: OperationResolver | None = None,
) -> Operation:
    """Return the operation described by ``data`` (errors name ``source`` and ``path``).

    Raises:
        SerializationError: the data is malformed, or names a custom operation that cannot be resolved.
    """
    result: Operation = ValueReader(source, resolve_operation).operation(data, path)
    return result


def migration_to_data(migration: Migration) -> dict[str, Any]:
    """Return a migration as JSON-compatible data, with the format marker.

    Raises:
        SerializationError: a value cannot be written (a non-attrs custom operation, say).
    """
    return {"format": FORMAT, **ValueWriter(_label(migration)).object(migration, "")}


def migration_from_data(
    data: Any, *, source: str = "<data>", resolve_operation: OperationResolver | None = None
) -> Migration:
    """Return the migration described by ``data``, as ``migration_to_data`` writes it.

    Raises:
        SerializationError: the data is malformed; the message names ``source`` and the JSON path.
    """
    reader = ValueReader(source, resolve_operation)
    reader.expect(data, dict, "")
    marker = data.get("format")
    if marker != FORMAT:
        if isinstance(marker, str) and marker.startswith("reinhardt-migrations/"):
            problem = (
                f"{marker!r} is not a format this version reads ({FORMAT!r}); upgrade reinhardt-migrations"
            )
        else:
            found = (
                "missing key 'format'"
                if marker is None
                else f"expected {FORMAT!r}, got {describe_json(marker)}"
            )
            problem = f"{found}; this is not a reinhardt-migrations migration document"
        raise reader.error("format", problem)
    app_label, name = data.get("app_label"), data.get("name")
    if isinstance(app_label, str) and isinstance(name, str):
        reader = attrs.evolve(reader, migration=f"{app_label}.{name}")
    kwargs = reader.arguments(Migration, {k: v for k, v in data.items() if k != "format"}, "")
    result: Migration = reader.construct(Migration, kwargs, "")
    return result


def migration_to_json(migration: Migration) -> str:
    """Return the canonical JSON text of a migration: sorted keys, indent 2, final newline.

    Raises:
        SerializationError: a value cannot be written (a non-attrs custom operation, say).
    """
    return _dump(migration_to_data(migration))


def migration_from_json(
    text: str, *, source: str = "<string>", resolve_operation: OperationResolver | None = None
) -> Migration:
    """Return the migration a JSON document describes; ``source`` (a file name) goes in errors.

    Custom operations are resolved by ``resolve_operation(dotted_path) -> class``.

    Raises:
        SerializationError: the text is not a valid migration document; the message names
            ``source`` and the JSON path of the problem.
    """
    return migration_from_data(_load(text, source), source=source, resolve_operation=resolve_operation)


def state_to_data(state: ProjectState, *, bookkeeping: bool = False) -> dict[str, Any]:
    """Return a canonical form of a state: models, collations, extensions and views in sorted order.

    Equal states give equal data (and equal ``state_to_json`` text). With ``bookkeeping``,
    database object names and rename hints, left out of equality, are included too.
    """
    writer = ValueWriter("state", bookkeeping)
    data: dict[str, Any] = {
        "collations": [
            writer.object(state.collations[name], f"collations[{i}]")
            for i, name in enumerate(sorted(state.collations))
        ],
        "extensions": sorted(state.extensions),
        "models": [writer.object(model, f"models[{i}]") for i, model in enumerate(state)],
    }
    # Only when there are views, so a state without them keeps the data (and checksums) it had.
    if state.views:
        data["views"] = [
            writer.object(state.views[name], f"views[{i}]") for i, name in enumerate(sorted(state.views))
        ]
    return data


def _first_repeated(items: Iterable[Hashable]) -> Hashable | None:
    seen: set[Hashable] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def state_from_data(data: Any, *, source: str = "<state>") -> ProjectState:
    """Return the state ``state_to_data`` described.

    Raises:
        SerializationError: the data is malformed or describes an invalid state.
    """
    reader = ValueReader(source)
    reader.expect(data, dict, "")
    for key in sorted(data):
        if key not in _STATE_KEYS:
            raise reader.error("", f"unknown key {key!r}; expected one of {', '.join(_STATE_KEYS)}")
    models: tuple[ModelState, ...] = reader.value(data.get("models", []), tuple[ModelState, ...], "models")
    collations: tuple[CollationState, ...] = reader.value(
        data.get("collations", []), tuple[CollationState, ...], "collations"
    )
    extensions: tuple[str, ...] = reader.value(data.get("extensions", []), tuple[str, ...], "extensions")
    views: tuple[ViewState, ...] = reader.value(data.get("views", []), tuple[ViewState, ...], "views")
    # A repeated model would silently replace the first in the map: refuse it instead.
    for what, found in (
        ("models", [m.key for m in models]),
        ("collations", [c.name for c in collations]),
        ("views", [v.name for v in views]),
    ):
        twice = _first_repeated(found)
        if twice is not None:
            raise reader.error(what, f"{twice!r} appears twice")
    try:
        state = ProjectState(
            models=models,
            extensions=extensions,
            collations={c.name: c for c in collations},
            views={v.name: v for v in views},
        )
        state.check()
    except Exception as error:
        raise reader.error("", f"invalid state: {_problem(error)}") from error
    return state


def state_to_json(state: ProjectState, *, bookkeeping: bool = False) -> str:
    """Return the canonical JSON text of ``state_to_data`` (for checksums and comparisons)."""
    return _dump(state_to_data(state, bookkeeping=bookkeeping))


def state_from_json(text: str, *, source: str = "<string>") -> ProjectState:
    """Return the state a ``state_to_json`` text describes.

    Raises:
        SerializationError: the text is not valid JSON or does not describe a valid state.
    """
    return state_from_data(_load(text, source), source=source)

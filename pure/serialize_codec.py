"""The annotation-driven codec under serialize.py: attrs values <-> JSON-compatible data.

Theory of operation: every value we write is an attrs frozen class, so one generic codec
walks its attributes, guided by their type annotations (resolved once per class with
``typing.get_type_hints``). The annotation, not the value, picks the encoding, so what is
written is read back by the same rule:

- tuples are JSON lists and PMaps objects (string keys, sorted); enums are their value;
- column types are their ``to_json`` form, tagged by ``kind``; defaults are objects
  tagged by ``kind`` too (``none``, ``literal``, ``sql``, ``callable``);
- operations are objects tagged by ``op``: the built-in ``kind``, or ``module.QualName``
  for a custom operation, which the caller's ``resolve_operation`` turns back into a class
  (pure code never imports by path);
- ``X | None`` is ``null`` or X; a union of scalars is told apart by the JSON type;
- any other attrs class is an object of its attributes.

An attribute equal to its default is left out, and so is bookkeeping left out of equality
(``eq=False``: database object names, rename hints), which the values make again. Reading
checks every key and type; the first problem becomes a SerializationError naming where
the data came from and its JSON path (``operations[3].field.type``). An annotation outside
these rules is refused when writing, so nothing is written that cannot be read.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.errors import SerializationError
from reinhardt_migrations.pure.fields import CallableDefault, LiteralDefault, NoDefault, SqlDefault
from reinhardt_migrations.pure.operations import BUILTIN_OPERATIONS
from reinhardt_migrations.pure.operations.base import BaseOperation, Operation
from reinhardt_migrations.pure.types import TYPES_BY_KIND, ColumnType, column_type_from_json

__all__ = [
    "OperationResolver",
    "ValueReader",
    "ValueWriter",
    "attributes_to_write",
    "describe_json",
    "import_problem",
    "operation_name",
]

#: Turns ``"module.QualName"`` into the class of a custom operation (the shell imports it).
OperationResolver = Callable[[str], type]

# Defaults form a closed union; each member is written as an object tagged by ``kind``.
_DEFAULT_TAGS: dict[type, str] = {
    NoDefault: "none",
    LiteralDefault: "literal",
    SqlDefault: "sql",
    CallableDefault: "callable",
}
_DEFAULTS_BY_TAG = {tag: cls for cls, tag in _DEFAULT_TAGS.items()}
_SCALARS: dict[type, str] = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_UNIONS = (typing.Union, types.UnionType)


def attributes_to_write(
    value: Any, *, bookkeeping: bool = False
) -> tuple[tuple[attrs.Attribute[Any], Any], ...]:
    """Return the ``(attribute, value)`` pairs of an attrs value that a document holds.

    Left out: attributes equal to their default, and (unless ``bookkeeping``) those left
    out of equality, which the values make again when they are built.
    """
    written = []
    cls: type = type(value)
    for attribute, default, factory, takes_self in _defaults(cls):
        item = getattr(value, attribute.name)
        if factory is None and default is attrs.NOTHING:
            written.append((attribute, item))
        elif attribute.eq or bookkeeping:
            if factory is not None:
                default = factory(value) if takes_self else factory()
            if not _same(item, default):
                written.append((attribute, item))
    return tuple(written)


@functools.cache
def _defaults(cls: type) -> tuple[tuple[attrs.Attribute[Any], Any, Callable[..., Any] | None, bool], ...]:
    """Return each constructor attribute with its default, or its factory and whether it takes self."""
    result = []
    for attribute in _init_attributes(cls).values():
        default: Any = attribute.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            result.append((attribute, attrs.NOTHING, default.factory, bool(default.takes_self)))
        else:
            result.append((attribute, default, None, False))
    return tuple(result)


def _same(value: Any, default: Any) -> bool:
    # False == 0, yet a bool is not an int here; 1 == 1.0 is the same number either way.
    if type(value) is not type(default) and not all(_is_number(item) for item in (value, default)):
        return False
    return bool(value == default)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def operation_name(operation: object) -> str:
    """Return the name an operation is written under: its kind if built in, else ``module.QualName``.

    Raises:
        SerializationError: the operation is not an attrs class, or its class cannot be imported.
    """
    cls = type(operation)
    kind = getattr(cls, "kind", None)
    if isinstance(kind, str) and BUILTIN_OPERATIONS.get(kind) is cls:
        return kind
    where = f"operation {cls.__qualname__}"
    if not attrs.has(cls):
        raise SerializationError(
            where,
            "it is not an attrs class, so it cannot be written; make custom operations "
            "attrs frozen classes (@attrs.frozen)",
        )
    problem = import_problem(cls)
    if problem:
        raise SerializationError(where, problem)
    return f"{cls.__module__}.{cls.__qualname__}"


def import_problem(cls: type) -> str:
    """Return why a migration file could not import ``cls`` by its module and name, or ``""``."""
    if "<locals>" in cls.__qualname__:
        return "its class is defined inside a function, so it cannot be imported; define it at module level"
    if cls.__module__ == "__main__":
        return (
            "its class is defined in __main__ (a script), which a migration cannot import; move it to"
            " a module"
        )
    return ""


# Classes and annotations do not change, so what is derived from them is computed once.
@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _init_attributes(cls: type) -> dict[str, attrs.Attribute[Any]]:
    # By the constructor's keyword: attrs strips the underscore of private attributes.
    return {_key(attribute): attribute for attribute in attrs.fields(cls) if attribute.init}


@functools.cache
def _cached_shape(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(hint), typing.get_args(hint)


def _shape(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    try:
        return _cached_shape(hint)
    except TypeError:  # an unhashable annotation
        return typing.get_origin(hint), typing.get_args(hint)


def _key(attribute: attrs.Attribute[Any]) -> str:
    return attribute.alias or attribute.name


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe_json(data: Any) -> str:
    """Return JSON data as an error message names it: ``the string 'x'``, ``a list``, ``null``."""
    if data is None or isinstance(data, bool):
        return json.dumps(data)
    if isinstance(data, int | float):
        return f"the number {data!r}"
    if isinstance(data, str):
        return f"the string {data if len(data) <= 40 else data[:37] + '...'!r}"
    return "a list" if isinstance(data, list) else "an object"


def _expected(hint: Any) -> str:
    origin, args = _shape(hint)
    if origin is tuple:
        return "a list" if args[-1:] == (Ellipsis,) else f"a list of {len(args)} items"
    if hint is type(None):
        return "null"
    return _SCALARS.get(hint, "an object")


def _problem(error: BaseException) -> str:
    return str(error).strip().rstrip(".") or type(error).__name__


def _is_scalar(value: Any, hint: Any) -> bool:
    if hint is float:
        return _is_number(value)
    return hint in _SCALARS and isinstance(value, hint) and (hint is bool or not isinstance(value, bool))


def _scalar_member(value: Any, members: list[Any]) -> Any:
    # Pick the member a JSON scalar reads as: true is a bool, 1 an int (or a float if no int fits).
    return next((m for m in (bool, int, float, str) if m in members and _is_scalar(value, m)), None)


def _item_hints(args: tuple[Any, ...], length: int) -> list[Any] | None:
    hints = [args[0]] * length if args[-1:] == (Ellipsis,) else list(args)
    return hints if len(hints) == length else None


def _is_operation_hint(hint: Any) -> bool:
    return hint is Operation or (isinstance(hint, type) and issubclass(hint, BaseOperation))


@attrs.frozen
class _Codec:
    """What the writer and the reader share: errors naming ``where`` and a JSON path, annotations."""

    where: str

    def error(self, path: str, problem: str) -> SerializationError:
        return SerializationError(f"{self.where}: {path}" if path else self.where, problem)

    def hints(self, cls: type, path: str) -> dict[str, Any]:
        try:
            return _hints(cls)
        except Exception as error:
            raise self.error(
                path,
                f"cannot resolve the annotations of {cls.__qualname__} ({_problem(error)}); import the "
                "names they use at module level, not only under TYPE_CHECKING",
            ) from error


@attrs.frozen
class ValueWriter(_Codec):
    """Values -> JSON-compatible data, following the annotations."""

    bookkeeping: bool = False

    def value(self, value: Any, hint: Any, path: str) -> Any:
        origin, args = _shape(hint)
        if origin in _UNIONS:
            members = [member for member in args if member is not type(None)]
            if value is None and len(members) < len(args):
                return None
            if len(members) == 1:
                return self.value(value, members[0], path)
            if type(value) in members and type(value) in _DEFAULT_TAGS:
                return {"kind": _DEFAULT_TAGS[type(value)], **self.object(value, path)}
            if all(member in _SCALARS for member in members) and _scalar_member(value, members):
                return self.value(value, _scalar_member(value, members), path)
        elif origin is typing.Literal:
            if any(type(value) is type(arg) and value == arg for arg in args):
                return value
        elif origin is tuple:
            hints = _item_hints(args, len(value)) if isinstance(value, tuple) else None
            if hints is not None:
                pairs = enumerate(zip(value, hints, strict=True))
                return [self.value(item, item_hint, f"{path}[{i}]") for i, (item, item_hint) in pairs]
        elif origin is PMap:
            if isinstance(value, PMap) and args[0] is str and all(isinstance(key, str) for key in value):
                return {
                    key: self.value(value[key], args[1], f"{path}[{json.dumps(key)}]")
                    for key in sorted(value)
                }
        elif _is_scalar(value, hint):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.error(
                    path, f"{value!r} has no JSON form; use an SqlDefault for infinities and NaN"
                )
            return value
        elif isinstance(hint, type) and origin is None:
            if issubclass(hint, enum.Enum) and isinstance(value, hint):
                return self.value(value.value, type(value.value), path)
            if issubclass(hint, ColumnType) and TYPES_BY_KIND.get(getattr(value, "kind", "")) is type(value):
                return value.to_json()
            if _is_operation_hint(hint):
                return self.operation(value, path)
            if attrs.has(hint) and type(value) is hint:
                return self.object(value, path)
        raise self.error(
            path,
            f"expected a value of {hint!r}, got {type(value).__qualname__} {value!r} (annotations may "
            "use str, int, float, bool, None, tuples, PMap[str, ...], Literal, enums, unions with None, "
            "attrs classes, operations and the built-in column types)",
        )

    def object(self, value: Any, path: str) -> dict[str, Any]:
        hints = self.hints(type(value), path)
        return {
            _key(attribute): self.value(item, hints.get(attribute.name), _join(path, _key(attribute)))
            for attribute, item in attributes_to_write(value, bookkeeping=self.bookkeeping)
        }

    def operation(self, value: Any, path: str) -> dict[str, Any]:
        try:
            name = operation_name(value)
        except SerializationError as error:
            raise self.error(path, f"{error.where}: {error.problem}") from None
        cls: type = type(value)
        if "op" in _init_attributes(cls):
            raise self.error(
                path, f"{name} has an attribute named 'op', which the format reserves; rename it"
            )
        return {"op": name, **self.object(value, path)}


@attrs.frozen
class ValueReader(_Codec):
    """JSON-compatible data -> values, following the annotations and checking every key and type."""

    resolve: OperationResolver | None = None
    migration: str = ""

    def expect(self, data: Any, hint: Any, path: str) -> None:
        if not (isinstance(data, dict) if hint is dict else _is_scalar(data, hint) or isinstance(data, hint)):
            raise self.error(path, f"expected {_expected(hint)}, got {describe_json(data)}")

    def value(self, data: Any, hint: Any, path: str) -> Any:
        origin, args = _shape(hint)
        if origin in _UNIONS:
            members = [member for member in args if member is not type(None)]
            if data is None and len(members) < len(args):
                return None
            if len(members) == 1:
                return self.value(data, members[0], path)
            if all(member in _DEFAULT_TAGS for member in members):
                tags = {tag: cls for tag, cls in _DEFAULTS_BY_TAG.items() if cls in members}
                return self.construct(*self.tagged(data, tags, path), path)
            if all(member in _SCALARS for member in members) and _scalar_member(data, members):
                return self.value(data, _scalar_member(data, members), path)
            wanted = " or ".join(_expected(member) for member in args)
            raise self.error(path, f"expected {wanted}, got {describe_json(data)}")
        if origin is typing.Literal:
            if any(type(data) is type(arg) and data == arg for arg in args):
                return data
            raise self.error(
                path, f"expected one of {', '.join(map(json.dumps, args))}, got {describe_json(data)}"
            )
        if origin is tuple:
            hints = _item_hints(args, len(data)) if isinstance(data, list) else None
            if hints is not None:
                pairs = enumerate(zip(data, hints, strict=True))
                return tuple(self.value(item, item_hint, f"{path}[{i}]") for i, (item, item_hint) in pairs)
        elif origin is PMap and args[0] is str:
            if isinstance(data, dict):
                return pmap(
                    {
                        key: self.value(item, args[1], f"{path}[{json.dumps(key)}]")
                        for key, item in data.items()
                    }
                )
        elif hint in _SCALARS:
            if _is_scalar(data, hint):
                return float(data) if hint is float else data
        elif hint is type(None):
            if data is None:
                return None
        elif isinstance(hint, type) and origin is None:
            return self.instance(data, hint, path)
        else:
            raise self.error(path, f"cannot read a value annotated {hint!r}")
        raise self.error(path, f"expected {_expected(hint)}, got {describe_json(data)}")

    def instance(self, data: Any, hint: type, path: str) -> Any:
        if issubclass(hint, enum.Enum):
            try:
                return hint(data)
            except ValueError:
                choices = ", ".join(json.dumps(member.value) for member in hint)
                raise self.error(path, f"expected one of {choices}, got {describe_json(data)}") from None
        if issubclass(hint, ColumnType):
            kwargs = self.tagged(data, TYPES_BY_KIND, path)[1]
            try:
                return column_type_from_json({"kind": data["kind"], **kwargs})
            except Exception as error:
                raise self.error(path, _problem(error)) from error
        if _is_operation_hint(hint):
            return self.operation(data, path)
        if attrs.has(hint):
            return self.construct(hint, self.arguments(hint, data, path), path)
        raise self.error(path, f"cannot read a value of type {hint.__qualname__}")

    def tagged(self, data: Any, classes: Mapping[str, type], path: str) -> tuple[type, dict[str, Any]]:
        self.expect(data, dict, path)
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in classes:
            problem = "missing key 'kind'" if kind is None else f"unknown kind {kind!r}"
            raise self.error(path, f"{problem}; expected one of {', '.join(sorted(classes))}")
        cls = classes[kind]
        return cls, self.arguments(cls, {key: item for key, item in data.items() if key != "kind"}, path)

    def arguments(self, cls: type, data: Any, path: str) -> dict[str, Any]:
        self.expect(data, dict, path)
        attributes = _init_attributes(cls)
        unknown = [key for key in data if key not in attributes]
        if unknown:
            unknown.sort()
            expected = ", ".join(sorted(attributes)) or "none"
            raise self.error(
                path, f"unknown key {unknown[0]!r} for {cls.__name__}; expected one of {expected}"
            )
        hints = self.hints(cls, path)
        kwargs = {}
        for key, attribute in attributes.items():
            if key in data:
                kwargs[key] = self.value(data[key], hints.get(attribute.name), _join(path, key))
            elif attribute.default is attrs.NOTHING:
                raise self.error(path, f"missing key {key!r} ({cls.__name__} needs it)")
        return kwargs

    def construct(self, cls: type, kwargs: dict[str, Any], path: str) -> Any:
        try:
            return cls(**kwargs)
        except Exception as error:
            raise self.error(path, f"invalid {cls.__name__}: {_problem(error)}") from error

    def operation(self, data: Any, path: str) -> Any:
        self.expect(data, dict, path)
        name = data.get("op")
        if not isinstance(name, str):
            raise self.error(
                _join(path, "op"),
                f'expected the operation\'s name (e.g. "AddField"), got {describe_json(name)}',
            )
        cls = self.operation_class(name, path)
        return self.construct(
            cls, self.arguments(cls, {k: v for k, v in data.items() if k != "op"}, path), path
        )

    def operation_class(self, name: str, path: str) -> type:
        builtin = BUILTIN_OPERATIONS.get(name)
        if builtin is not None:
            return builtin
        where = f" in migration {self.migration}" if self.migration else ""
        if "." not in name:
            raise self.error(
                path,
                f"unknown operation {name!r}{where}; built-in operations are "
                f"{', '.join(sorted(BUILTIN_OPERATIONS))}; custom ones are written as 'module.ClassName'",
            )
        if self.resolve is None:
            raise self.error(
                path,
                f"unknown operation {name!r}{where}: it is not built in, and no resolve_operation was "
                "given to import it; read the file through the migration loader (it imports custom "
                "operations), or pass resolve_operation",
            )
        try:
            cls = self.resolve(name)
        except Exception as error:
            raise self.error(
                path, f"cannot import operation {name!r}{where} ({_problem(error)}); check its module path"
            ) from error
        if not isinstance(cls, type) or not attrs.has(cls):
            raise self.error(
                path, f"operation {name!r}{where} resolved to {cls!r}, which is not an attrs class"
            )
        return cls

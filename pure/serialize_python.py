"""Python migration modules from Migration values: readable, deterministic, stable under ruff format.

Theory of operation: the migration becomes a small tree of nodes (calls, brackets, atoms
and references to importable names), then a printer lays it out the way ruff format
does: a node stays on one line when it fits in 110 columns, else each element goes on
its own line with a trailing comma, which ruff then keeps ("magic trailing comma"). The
migration and each operation are always one keyword argument per line. Values are
written with their own classes (``FieldState("title", Varchar(200), null=True)``):
required attributes by position, the others by keyword, and only those that differ from
their default (bookkeeping left out of equality is made again when the values are built).
Names are imported at the top, sorted; two classes of one name get numbered aliases.
Nothing depends on hash order: maps and sets are sorted by their printed keys, so equal
migrations give identical text.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from collections.abc import Iterable
from typing import Any

import attrs
from pyrsistent import PMap, PSet

from reinhardt_migrations.pure.errors import SerializationError
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import BUILTIN_OPERATIONS
from reinhardt_migrations.pure.serialize_codec import attributes_to_write, import_problem, operation_name

__all__ = ["migration_to_python"]

_LINE_LENGTH = 110
_INDENT = 4
_HEADER = '"""A migration written by reinhardt-migrations."""\n'
_OPERATIONS_MODULE = "reinhardt_migrations.pure.operations"
_BUILTIN_CLASSES = frozenset(BUILTIN_OPERATIONS.values())


@attrs.frozen
class _Ref:
    """An importable name, such as ``OnDelete.CASCADE`` in ``reinhardt_migrations.pure.fields``."""

    module: str
    qualname: str
    #: ``(module, first name)``: what the import statement names.
    top: tuple[str, str] = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: (self.module, self.qualname.split(".", 1)[0]), takes_self=True),
    )


@attrs.frozen
class _Call:
    """``callee(*args, **kwargs)``; ``explode`` keeps one argument per line even when it would fit."""

    callee: _Ref
    args: tuple[_Node, ...] = ()
    kwargs: tuple[tuple[str, _Node], ...] = ()
    explode: bool = False
    #: Whether it or a node inside it spans several lines, whatever the room.
    tall: bool = attrs.field(init=False, default=attrs.Factory(lambda self: _is_tall(self), takes_self=True))


@attrs.frozen
class _Brackets:
    """A tuple, list or dict display; ``explode`` as for calls."""

    open: str
    close: str
    items: tuple[_Node, ...]
    explode: bool = False
    tall: bool = attrs.field(init=False, default=attrs.Factory(lambda self: _is_tall(self), takes_self=True))


@attrs.frozen
class _Pair:
    """``key: value`` inside a dict display."""

    key: _Node
    value: _Node


_Node = str | _Ref | _Call | _Brackets | _Pair


def _is_tall(node: _Call | _Brackets) -> bool:
    if node.explode:
        return True
    if isinstance(node, _Brackets):
        return any(map(_tall, node.items))
    return any(map(_tall, node.args)) or any(_tall(value) for _key, value in node.kwargs)


def _tall(node: _Node) -> bool:
    if isinstance(node, _Pair):
        return _tall(node.value)
    return isinstance(node, _Call | _Brackets) and node.tall


def _python_str(text: str) -> str:
    """Return a string literal, double-quoted unless that needs more escapes (ruff's rule)."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    parts = []
    for char in text:
        if char == "\\" or char == quote:
            parts.append("\\" + char)
        elif char.isprintable():
            parts.append(char)
        else:
            # Newlines, control and format characters, lone surrogates: Python's own escapes.
            parts.append(repr(char)[1:-1])
    return quote + "".join(parts) + quote


@attrs.frozen
class _Builder:
    """Values -> nodes; errors name the migration and the path of the value."""

    where: str
    # Every name a node refers to, by (module, qualname), collected as the nodes are made.
    refs: dict[tuple[str, str], _Ref] = attrs.field(factory=dict)

    def error(self, path: str, problem: str) -> SerializationError:
        return SerializationError(f"{self.where}: {path}" if path else self.where, problem)

    def node(self, value: Any, path: str) -> _Node:
        if isinstance(value, enum.Enum):  # Before int and str: an IntEnum is an int too.
            return self.ref(type(value), path, f".{value.name}")
        if value is None or isinstance(value, bool | int):
            return repr(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(path, f"{value!r} has no literal; use an SqlDefault for infinities and NaN")
            return repr(value)
        if isinstance(value, str):
            return _python_str(value)
        if isinstance(value, tuple | list):
            items = tuple(self.node(item, f"{path}[{i}]") for i, item in enumerate(value))
            return _Brackets("(", ")", items) if isinstance(value, tuple) else _Brackets("[", "]", items)
        if isinstance(value, PMap):
            items = self.pairs(value.items(), path)
            return _Call(self.name("pyrsistent", "pmap"), (_Brackets("{", "}", items),) if items else ())
        if isinstance(value, PSet | frozenset):
            name = "pset" if isinstance(value, PSet) else "frozenset"
            members = tuple(sorted((self.node(item, f"{path}[]") for item in value), key=_sort_text))
            callee = self.name("pyrsistent" if name == "pset" else "builtins", name)
            return _Call(callee, (_Brackets("(", ")", members),) if members else ())
        if isinstance(value, dict):
            return _Brackets("{", "}", self.pairs(value.items(), path))
        if attrs.has(type(value)) or hasattr(type(value), "state_forwards"):
            return self.instance(value, path)
        raise self.error(path, f"cannot write {type(value).__qualname__} {value!r} as Python")

    def pairs(self, items: Iterable[tuple[Any, Any]], path: str) -> tuple[_Node, ...]:
        pairs = [_Pair(self.node(key, path), self.node(item, f"{path}[{key!r}]")) for key, item in items]
        return tuple(sorted(pairs, key=lambda pair: _sort_text(pair.key)))

    def name(self, module: str, qualname: str) -> _Ref:
        ref = self.refs.get((module, qualname))
        if ref is None:
            ref = self.refs[(module, qualname)] = _Ref(module, qualname)
        return ref

    def ref(self, cls: type, path: str, suffix: str = "") -> _Ref:
        if cls in _BUILTIN_CLASSES:
            return self.name(_OPERATIONS_MODULE, cls.__qualname__ + suffix)
        problem = import_problem(cls)
        if problem:
            raise self.error(path, f"{cls.__qualname__}: {problem}")
        return self.name(cls.__module__, cls.__qualname__ + suffix)

    def instance(self, value: Any, path: str) -> _Call:
        cls = type(value)
        is_operation = hasattr(cls, "state_forwards")
        if is_operation:
            try:
                operation_name(value)
            except SerializationError as error:
                raise self.error(path, f"{error.where}: {error.problem}") from None
        args: list[_Node] = []
        kwargs: list[tuple[str, _Node]] = []
        for attribute, item in attributes_to_write(value):
            key = attribute.alias or attribute.name
            node = self.node(item, f"{path}.{key}" if path else key)
            # Required attributes read best by position (they lead the signature), unless it is
            # an operation or the migration: those name every argument.
            required = attribute.default is attrs.NOTHING and not attribute.kw_only
            if required and not is_operation and not kwargs and cls is not Migration:
                args.append(node)
            else:
                kwargs.append((key, node))
        return _Call(self.ref(cls, path), tuple(args), tuple(kwargs), explode=is_operation)


def _migration_node(builder: _Builder, migration: Migration) -> _Call:
    call = builder.instance(migration, "")
    # A migration's own sequences read as lists, as in Django; Migration turns them into tuples.
    kwargs = tuple(
        (
            key,
            _Brackets("[", "]", node.items, explode=key == "operations")
            if isinstance(node, _Brackets)
            else node,
        )
        for key, node in call.kwargs
    )
    return attrs.evolve(call, kwargs=kwargs, explode=True)


def _local_names(refs: Iterable[_Ref]) -> dict[tuple[str, str], str]:
    """Return the local name of each imported ``(module, name)``; a clash gets ``Name2``, ``Name3``."""
    taken = {"migration"}
    names: dict[tuple[str, str], str] = {}
    # Ours first, then by module: the same migration always gets the same aliases.
    tops = {ref.top for ref in refs if ref.module != "builtins"}
    for module, name in sorted(tops, key=lambda top: (not top[0].startswith("reinhardt_migrations."), top)):
        local, number = name, 1
        while local in taken:
            number += 1
            local = f"{name}{number}"
        taken.add(local)
        names[(module, name)] = local
    return names


def _imports(names: dict[tuple[str, str], str]) -> list[str]:
    """Return isort-style import blocks: pyrsistent and ours, then the project's own modules."""
    by_module: dict[str, list[str]] = {}
    for (module, name), local in names.items():
        by_module.setdefault(module, []).append(name if local == name else f"{name} as {local}")
    ours = ("pyrsistent", "reinhardt_migrations")
    groups: list[list[str]] = [[], []]
    for module in sorted(by_module):
        members = sorted(by_module[module], key=_member_order)
        plain = [member for member in members if " as " not in member]
        # As ruff's isort (combine-as-imports off): each aliased name in a statement of its own.
        statements = [[member] for member in members if " as " in member]
        for chunk in ([plain] if plain else []) + statements:
            line = f"from {module} import {', '.join(chunk)}"
            if _width(line) > _LINE_LENGTH:
                line = f"from {module} import (\n" + "".join(f"    {member},\n" for member in chunk) + ")"
            groups[0 if module.split(".")[0] in ours else 1].append(line)
    return ["\n".join(group) + "\n" for group in groups if group]


def _member_order(member: str) -> tuple[int, str, str]:
    # ruff's isort order-by-type: CONSTANTS, then Classes, then functions.
    name = member.split(" ", 1)[0]
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), member)


def _width(text: str) -> int:
    if text.isascii():
        return len(text)
    # East Asian wide characters take two columns, combining marks none, as ruff counts them.
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _sort_text(node: _Node) -> str:
    return _Printer({}).flat(node)


@attrs.frozen
class _Printer:
    """Nodes -> lines, laid out as ruff format would."""

    names: dict[tuple[str, str], str]
    # The one-line form of each node, by id: lines() asks for it at every level of nesting.
    # The cache lives as long as one printing, while the nodes it is keyed on stay alive.
    _flat: dict[int, str] = attrs.field(factory=dict, init=False)

    def ref(self, ref: _Ref) -> str:
        local = self.names.get(ref.top)
        if local is None:  # Builtins, and sort keys: the qualified name.
            return ref.qualname if ref.module == "builtins" else f"{ref.module}.{ref.qualname}"
        return local + ref.qualname[len(ref.top[1]) :]

    def flat(self, node: _Node) -> str:
        if isinstance(node, str):
            return node
        text = self._flat.get(id(node))
        if text is None:
            text = self._flat[id(node)] = self.render(node)
        return text

    def render(self, node: _Node) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, _Ref):
            return self.ref(node)
        if isinstance(node, _Pair):
            return f"{self.flat(node.key)}: {self.flat(node.value)}"
        if isinstance(node, _Call):
            args = [self.flat(arg) for arg in node.args]
            args += [f"{key}={self.flat(value)}" for key, value in node.kwargs]
            return f"{self.ref(node.callee)}({', '.join(args)})"
        comma = "," if node.open == "(" and len(node.items) == 1 else ""
        return node.open + ", ".join(self.flat(item) for item in node.items) + comma + node.close

    def lines(self, node: _Node, indent: int, prefix: str, suffix: str) -> list[str]:
        pad = " " * indent
        flat = self.flat(node)
        items = _children(node)
        fits = not _tall(node) and _width(pad + prefix + flat + suffix) <= _LINE_LENGTH
        if not items or fits:
            return [pad + prefix + flat + suffix]
        if isinstance(node, _Pair):
            return self.lines(node.value, indent, f"{prefix}{self.flat(node.key)}: ", suffix)
        if isinstance(node, _Call):
            head, close = self.ref(node.callee) + "(", ")"
        else:
            assert isinstance(node, _Brackets)  # a node with children is a call, brackets or a pair
            head, close = node.open, node.close
        result = [pad + prefix + head]
        for key, item in items:
            result += self.lines(item, indent + _INDENT, f"{key}=" if key else "", ",")
        result.append(pad + close + suffix)
        return result


def _children(node: _Node) -> list[tuple[str, _Node]]:
    if isinstance(node, _Call):
        return [("", arg) for arg in node.args] + list(node.kwargs)
    if isinstance(node, _Brackets):
        return [("", item) for item in node.items]
    return [("", node.value)] if isinstance(node, _Pair) else []


def migration_to_python(migration: Migration) -> str:
    """Return the text of a Python module defining ``migration = Migration(...)`` equal to ``migration``.

    The text is deterministic and left unchanged by ruff format; custom operations are
    imported from their modules.

    Raises:
        SerializationError: a value cannot be written as Python (a non-attrs custom
            operation, a class defined inside a function, an infinite float).
    """
    builder = _Builder(f"migration {migration.app_label}.{migration.name}")
    tree = _migration_node(builder, migration)
    names = _local_names(builder.refs.values())
    body = "\n".join(_Printer(names).lines(tree, 0, "migration = ", ""))
    return "\n".join([_HEADER, *_imports(names), body + "\n"])

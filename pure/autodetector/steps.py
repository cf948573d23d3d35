"""Steps: operations annotated with what they need to run after and what they make possible.

Theory of operation: comparators know, while they diff, which facts an operation
relies on and which it establishes. They say it with *resources*, small tuples:

==============================  ======================================================
resource                        provided by / needed by
==============================  ======================================================
``("model", app, model)``       CreateModel, RenameModel (to) / any op on or to it
``("field", app, model, f)``    CreateModel (implicitly, for the fields it lists),
                                AddField, RenameField (to) / relations with
                                ``to_field``, indexes, unique_together
``("free_field", app, m, f)``   RemoveField, RenameField (from) / AddField of the name
``("unused", app, model, f)``   whatever stops using ``f`` (RemoveIndex, a relation
                                moving away from ``to_field`` ...) / RemoveField ``f``
``("unref", app, model)``       whatever drops a relation to the model / DeleteModel
``("free_table", table)``       DeleteModel, AlterModelTable, RenameModel / whatever
                                claims that table name
``("free_object", app, m, n)``  RemoveIndex, RemoveConstraint, RenameIndex (from) /
                                AddIndex, AddConstraint, RenameIndex (to) named ``n``
``("free_collation", name)``    RemoveCollation / CreateCollation of that name
``PROJECT_FIRST``               CreateExtension, CreateCollation / (implicitly) every
                                CreateModel, AddField, AlterField
``PROJECT_LAST``                (implicitly) every RemoveField, DeleteModel, AlterField /
                                DropExtension, RemoveCollation
``("order", tag, n)``           step n of an ordered run / step n + 1 (``chained``): a
                                *soft* order, dropped if it alone makes a cycle
==============================  ======================================================

The soft order keeps appended fields, indexes and constraints in the order the wanted
model lists them, so replaying the operations gives that model, order included.

``arrange`` turns "provided by p, needed by q" into an edge p -> q; a need nobody in
this change provides was met by the history (for another app's model or field, the
migration then depends on that app's current leaf).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from reinhardt_migrations.pure.fields import FieldState, ModelKey, Relation
from reinhardt_migrations.pure.operations.base import Operation

__all__ = [
    "PROJECT_FIRST",
    "PROJECT_LAST",
    "Resource",
    "Step",
    "chained",
    "field_res",
    "free_field_res",
    "free_object_res",
    "free_table_res",
    "model_res",
    "relation_needs",
    "relation_releases",
    "unref_res",
    "unused_res",
]

Resource = tuple[str, ...]

PROJECT_FIRST: Resource = ("project_first",)
PROJECT_LAST: Resource = ("project_last",)


def _resources(value: Iterable[Resource]) -> frozenset[Resource]:
    return value if isinstance(value, frozenset) else frozenset(value)


@attrs.frozen
class Step:
    """One operation of app ``app_label``, with its resources and why it may lose data."""

    app_label: str
    operation: Operation
    needs: frozenset[Resource] = attrs.field(default=frozenset(), converter=_resources)
    provides: frozenset[Resource] = attrs.field(default=frozenset(), converter=_resources)
    loss: str | None = None


def model_res(key: ModelKey) -> Resource:
    """Return "the model exists under this key"."""
    return ("model", key[0], key[1])


def field_res(key: ModelKey, field: str) -> Resource:
    """Return "the field exists under this name"."""
    return ("field", key[0], key[1], field)


def free_field_res(key: ModelKey, field: str) -> Resource:
    """Return "the field name is free again"."""
    return ("free_field", key[0], key[1], field)


def unused_res(key: ModelKey, field: str) -> Resource:
    """Return "nothing that goes away uses the field any more"."""
    return ("unused", key[0], key[1], field)


def unref_res(key: ModelKey) -> Resource:
    """Return "a relation to the model is gone"."""
    return ("unref", key[0], key[1])


def free_table_res(table: str) -> Resource:
    """Return "no model holds this table name any more"."""
    return ("free_table", table)


def free_object_res(key: ModelKey, name: str) -> Resource:
    """Return "the model has no index or constraint of this name any more"."""
    return ("free_object", key[0], key[1], name)


def relation_needs(field: FieldState, own: ModelKey) -> list[Resource]:
    """Return what a relational field needs: its target and through models, and ``to_field``."""
    relation = field.relation
    if relation is None:
        return []
    needs: list[Resource] = []
    for target in (relation.to, relation.through):
        if target is not None and target != own:
            needs.append(model_res(target))
    if relation.to_field is not None and relation.to != own:
        needs.append(field_res(relation.to, relation.to_field))
    return needs


def relation_releases(relation: Relation | None, own: ModelKey) -> list[Resource]:
    """Return what dropping ``relation`` frees: its targets, and the field it pointed at."""
    if relation is None:
        return []
    released: list[Resource] = []
    for target in (relation.to, relation.through):
        if target is not None and target != own:
            released.append(unref_res(target))
    if relation.to_field is not None:
        released.append(unused_res(relation.to, relation.to_field))
    return released


def chained(steps: list[Step], tag: tuple[str, ...]) -> list[Step]:
    """Return ``steps`` made to run in this order (a soft order, see the module docstring)."""
    if len(steps) < 2:
        return steps
    result = [attrs.evolve(steps[0], provides=steps[0].provides | {("order", *tag, "0")})]
    for number, step in enumerate(steps[1:], start=1):
        result.append(
            attrs.evolve(
                step,
                needs=step.needs | {("order", *tag, str(number - 1))},
                provides=step.provides | {("order", *tag, str(number))},
            )
        )
    return result

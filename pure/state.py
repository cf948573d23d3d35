"""ModelState and ProjectState: the immutable schema a history of migrations builds.

Theory of operation: a ProjectState is a persistent map from ``(app_label, model)``
to ModelState, plus project-wide objects (PostgreSQL extensions and collations, and
views, which custom operations add: see pure/views.py).
Every change returns a new state sharing all untouched models with the old one, so
keeping every intermediate state of a long history costs O(log n) per step.

Two indexes ride along and are left out of equality because they are derived:
``referrers`` maps a model to the models whose relations point at it, so renaming
or deleting a model visits only those; ``tables`` maps table names to models, so a
second model on one table is refused at once.

Database object names (field unique constraints, field indexes, foreign keys,
unique_together) are filled in when a field or entry joins a model, from the
model's table and the field's column at that moment, and then kept: SQL can always
name the object from the state alone. They are bookkeeping, left out of equality.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
from pyrsistent import PMap, PSet, pmap, pset

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState, UniqueTogether
from reinhardt_migrations.pure.convert import constraint_tuple, field_tuple, index_tuple, str_map, str_set
from reinhardt_migrations.pure.errors import (
    DanglingRelation,
    DuplicateObjectName,
    DuplicateView,
    FieldAlreadyExists,
    InvalidValue,
    ModelAlreadyExists,
    UnknownConstraint,
    UnknownField,
    UnknownIndex,
    UnknownModel,
    UnknownView,
)
from reinhardt_migrations.pure.fields import FieldState, ModelKey, Relation, check_identifier
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.views import ViewState

__all__ = ["CollationState", "ModelState", "ProjectState", "default_table_name"]


def default_table_name(app_label: str, model: str) -> str:
    """Return the table name a model gets by default: ``app_model`` in lower case."""
    return f"{app_label}_{model}".lower()


_set = object.__setattr__


def _default_db_table(instance: ModelState) -> str:
    return default_table_name(instance.app_label, instance.name)


def named_field(field: FieldState, table: str) -> FieldState:
    """Return ``field`` with its database object names filled in for ``table``."""
    relation = field.relation
    # Fast path (every model change re-checks every field): nothing left to name.
    if (
        (relation is None or (relation.kind != "many_to_many" and relation.constraint_name is not None))
        and (not field.unique or field.primary_key or field.unique_name is not None)
        and (not field.db_index or field.index_name is not None)
    ):
        return field
    column = field.column
    if column is None:
        if field.relation is not None and field.relation.db_table is None and field.relation.through is None:
            join = object_name(table, [field.name], "")
            return attrs.evolve(field, relation=attrs.evolve(field.relation, db_table=join))
        return field
    changes: dict[str, Any] = {}
    if field.unique and not field.primary_key and field.unique_name is None:
        changes["unique_name"] = object_name(table, [column], "uniq")
    if field.db_index and field.index_name is None:
        changes["index_name"] = object_name(table, [column], "idx")
    if field.relation is not None and field.relation.constraint_name is None:
        changes["relation"] = attrs.evolve(field.relation, constraint_name=object_name(table, [column], "fk"))
    return attrs.evolve(field, **changes) if changes else field


def _unique_together(value: Iterable[UniqueTogether | Iterable[str]]) -> tuple[UniqueTogether, ...]:
    entries = [item if isinstance(item, UniqueTogether) else UniqueTogether(tuple(item)) for item in value]
    return tuple(sorted(entries, key=lambda entry: entry.fields))


def _check_model(model: ModelState) -> None:
    """Refuse a model whose parts clash: two fields or columns of one name, unknown fields."""
    seen_fields: set[str] = set()
    seen_columns: set[str] = set()
    for field in model.fields:
        if field.name in seen_fields:
            raise FieldAlreadyExists(model.app_label, model.name, field.name)
        seen_fields.add(field.name)
        column = field.column
        if column is not None:
            if column in seen_columns:
                raise InvalidValue(f"model {model.label}", f"two fields use the column {column!r}")
            seen_columns.add(column)
    names: set[str] = set()
    for index in model.indexes:
        _check_fields_exist(model, seen_fields, index.field_names)
        _claim(model, names, index.name, "index")
    for constraint in model.constraints:
        _check_fields_exist(model, seen_fields, constraint.fields)
        _claim(model, names, constraint.name, "constraint")
    for entry in model.unique_together:
        _check_fields_exist(model, seen_fields, entry.fields)


def _claim(model: ModelState, names: set[str], name: str, kind: str) -> None:
    if name in names:
        raise DuplicateObjectName(model.app_label, model.name, name, kind)
    names.add(name)


def _check_fields_exist(model: ModelState, known: set[str], fields: Iterable[str]) -> None:
    for name in fields:
        if name not in known:
            raise UnknownField(model.app_label, model.name, name)


@attrs.frozen(cache_hash=True)
class ModelState:
    """One model: app label, name, ordered fields, table, indexes, constraints and options."""

    app_label: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    fields: tuple[FieldState, ...] = attrs.field(default=(), converter=field_tuple)
    db_table: str = attrs.field(
        default=attrs.Factory(_default_db_table, takes_self=True), validator=check_identifier
    )
    indexes: tuple[IndexState, ...] = attrs.field(default=(), converter=index_tuple)
    constraints: tuple[ConstraintState, ...] = attrs.field(default=(), converter=constraint_tuple)
    unique_together: tuple[UniqueTogether, ...] = attrs.field(default=(), converter=_unique_together)
    comment: str | None = None
    managed: bool = True
    options: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)
    previous_name: str | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        named = tuple(named_field(f, self.db_table) for f in self.fields)
        if any(new is not old for new, old in zip(named, self.fields, strict=True)):
            object.__setattr__(self, "fields", named)
        if any(entry.name is None for entry in self.unique_together):
            entries = tuple(
                entry
                if entry.name
                else attrs.evolve(entry, name=object_name(self.db_table, self._columns(entry.fields), "uniq"))
                for entry in self.unique_together
            )
            object.__setattr__(self, "unique_together", entries)
        _check_model(self)

    def retargeted(
        self, name: str, db_table: str, fields: tuple[FieldState, ...], previous_name: str | None
    ) -> ModelState:
        """Return a copy called ``name`` on ``db_table`` whose fields are ``fields``.

        ``fields`` must be this model's fields, in order, at most with their relations
        pointing at other models (what renaming models does to a model and to those pointing
        at it): names, columns and database object names stay, so what was checked and named
        when this model was built holds, and is not done again.

        Raises:
            InvalidValue: ``name`` or ``db_table`` is empty or holds a NUL character, or a
                field is not this model's field of the same place, name and column.
        """
        check_identifier(self, _NAME, name)
        check_identifier(self, _DB_TABLE, db_table)
        if len(fields) != len(self.fields):
            raise InvalidValue(f"model {self.label}", "retargeting keeps the fields")
        for new, old in zip(fields, self.fields, strict=True):
            if new is not old and (
                new.name != old.name
                or new.column != old.column
                or new.unique_name != old.unique_name
                or new.index_name != old.index_name
            ):
                raise InvalidValue(f"model {self.label}", f"retargeting changes field {old.name!r}")
        model = object.__new__(ModelState)
        _set(model, "app_label", self.app_label)
        _set(model, "name", name)
        _set(model, "fields", fields)
        _set(model, "db_table", db_table)
        _set(model, "indexes", self.indexes)
        _set(model, "constraints", self.constraints)
        _set(model, "unique_together", self.unique_together)
        _set(model, "comment", self.comment)
        _set(model, "managed", self.managed)
        _set(model, "options", self.options)
        _set(model, "previous_name", previous_name)
        _set(model, "_attrs_cached_hash", None)
        return model

    def _columns(self, fields: Iterable[str]) -> list[str]:
        return [(self.field_or_none(name) or _missing(self, name)).column or name for name in fields]

    @property
    def key(self) -> ModelKey:
        """Return ``(app_label, name)``."""
        return (self.app_label, self.name)

    @property
    def label(self) -> str:
        """Return ``app_label.name``."""
        return f"{self.app_label}.{self.name}"

    def field_or_none(self, name: str) -> FieldState | None:
        """Return the field called ``name``, or None."""
        for field in self.fields:
            if field.name == name:
                return field
        return None

    def field(self, name: str) -> FieldState:
        """Return the field called ``name``.

        Raises:
            UnknownField: the model has no such field.
        """
        return self.field_or_none(name) or _missing(self, name)

    def field_names(self) -> tuple[str, ...]:
        """Return the field names in order."""
        return tuple(field.name for field in self.fields)

    @property
    def primary_key(self) -> FieldState | None:
        """Return the primary key field, if the model has exactly one."""
        keys = [field for field in self.fields if field.primary_key]
        return keys[0] if len(keys) == 1 else None

    def relations(self) -> Iterator[tuple[FieldState, Relation]]:
        """Yield each relational field with its relation."""
        for field in self.fields:
            if field.relation is not None:
                yield field, field.relation

    def related_models(self) -> frozenset[ModelKey]:
        """Return the keys of the models this model's relations point at (targets and through)."""
        keys: set[ModelKey] = set()
        for _field, relation in self.relations():
            keys.add(relation.to)
            if relation.through is not None:
                keys.add(relation.through)
        return frozenset(keys)

    def with_field(self, field: FieldState) -> ModelState:
        """Return a copy with ``field`` appended.

        Raises:
            FieldAlreadyExists: the model already has a field of that name.
        """
        if self.field_or_none(field.name) is not None:
            raise FieldAlreadyExists(self.app_label, self.name, field.name)
        return attrs.evolve(self, fields=(*self.fields, field))

    def with_field_replaced(self, field: FieldState) -> ModelState:
        """Return a copy where the field of the same name is ``field`` (in the same place)."""
        old = self.field(field.name)
        if old == field:
            return self
        kept = _keep_names(old, field)
        return attrs.evolve(self, fields=tuple(kept if f.name == field.name else f for f in self.fields))

    def without_field(self, name: str) -> ModelState:
        """Return a copy without field ``name``; indexes and constraints on it must go first.

        Raises:
            UnknownField: no such field.
            InvalidValue: an index, constraint or unique_together entry still uses it.
        """
        self.field(name)
        users = self.uses_field(name)
        if users:
            problem = f"still used by {', '.join(users)}; remove those first"
            raise InvalidValue(f"removal of field {self.label}.{name}", problem)
        return attrs.evolve(self, fields=tuple(f for f in self.fields if f.name != name))

    def renamed_field(self, old: str, new: str) -> ModelState:
        """Return a copy where field ``old`` is called ``new``, in indexes and constraints too."""
        field = self.field(old)
        if old == new:
            return self
        if self.field_or_none(new) is not None:
            raise FieldAlreadyExists(self.app_label, self.name, new)
        old_column, new_column = field.column, field.with_name(new).column
        indexes = tuple(index.with_field_renamed(old, new) for index in self.indexes)
        constraints = tuple(c.with_field_renamed(old, new) for c in self.constraints)
        if old_column is not None and new_column is not None and old_column != new_column:
            # Check and condition SQL name columns; the databases rewrite their copy too.
            indexes = tuple(index.with_column_renamed(old_column, new_column) for index in indexes)
            constraints = tuple(c.with_column_renamed(old_column, new_column) for c in constraints)
        return attrs.evolve(
            self,
            fields=tuple(f.with_name(new) if f.name == old else f for f in self.fields),
            indexes=indexes,
            constraints=constraints,
            unique_together=tuple(e.with_field_renamed(old, new) for e in self.unique_together),
        )

    def index(self, name: str) -> IndexState:
        """Return the index called ``name``.

        Raises:
            UnknownIndex: the model has no such index.
        """
        for index in self.indexes:
            if index.name == name:
                return index
        raise UnknownIndex(self.app_label, self.name, name)

    def with_index(self, index: IndexState) -> ModelState:
        """Return a copy with ``index`` added."""
        return attrs.evolve(self, indexes=(*self.indexes, index))

    def without_index(self, name: str) -> ModelState:
        """Return a copy without the index ``name``."""
        self.index(name)
        return attrs.evolve(self, indexes=tuple(i for i in self.indexes if i.name != name))

    def constraint(self, name: str) -> ConstraintState:
        """Return the constraint called ``name``.

        Raises:
            UnknownConstraint: the model has no such constraint.
        """
        for constraint in self.constraints:
            if constraint.name == name:
                return constraint
        raise UnknownConstraint(self.app_label, self.name, name)

    def with_constraint(self, constraint: ConstraintState) -> ModelState:
        """Return a copy with ``constraint`` added."""
        return attrs.evolve(self, constraints=(*self.constraints, constraint))

    def without_constraint(self, name: str) -> ModelState:
        """Return a copy without the constraint ``name``."""
        self.constraint(name)
        return attrs.evolve(self, constraints=tuple(c for c in self.constraints if c.name != name))

    def with_unique_together(self, entries: Iterable[Iterable[str]]) -> ModelState:
        """Return a copy with ``unique_together`` set; entries kept from before keep their names."""
        old = {entry.fields: entry for entry in self.unique_together}
        new = [old.get(tuple(fields)) or UniqueTogether(tuple(fields)) for fields in entries]
        return attrs.evolve(self, unique_together=new)

    def uses_field(self, name: str) -> list[str]:
        """Return the names of the indexes, constraints and unique_together entries using ``name``."""
        users = [i.name for i in self.indexes if name in i.field_names]
        users += [c.name for c in self.constraints if name in c.fields]
        users += [e.name or "unique_together" for e in self.unique_together if name in e.fields]
        return users


_NAME = attrs.fields(ModelState).name
_DB_TABLE = attrs.fields(ModelState).db_table


def _missing(model: ModelState, name: str) -> FieldState:
    raise UnknownField(model.app_label, model.name, name)


def _keep_names(old: FieldState, new: FieldState) -> FieldState:
    """Carry the database names of ``old``'s objects over to ``new`` where the object stays.

    Names coming with ``new`` are dropped: they were made for another state (the
    models' state, say), while the database holds the objects under ``old``'s names.
    """
    new = new.without_object_names()
    changes: dict[str, Any] = {}
    if old.unique and new.unique and old.column == new.column:
        changes["unique_name"] = old.unique_name
    if old.db_index and new.db_index and old.column == new.column:
        changes["index_name"] = old.index_name
    if (
        new.relation is not None
        and old.relation is not None
        and new.relation.to == old.relation.to
        and old.column == new.column
    ):
        changes["relation"] = attrs.evolve(new.relation, constraint_name=old.relation.constraint_name)
    return attrs.evolve(new, **changes) if changes else new


@attrs.frozen
class CollationState:
    """A PostgreSQL collation: name, provider, locale and whether it is deterministic."""

    name: str = attrs.field(validator=check_identifier)
    locale: str
    provider: str = "libc"
    deterministic: bool = True


def _collation_map(value: Mapping[str, CollationState]) -> PMap[str, CollationState]:
    return value if isinstance(value, PMap) else pmap(value)


def _view_map(value: Mapping[str, ViewState]) -> PMap[str, ViewState]:
    return value if isinstance(value, PMap) else pmap(value)


def _model_map(
    value: Mapping[ModelKey, ModelState] | Iterable[ModelState],
) -> PMap[ModelKey, ModelState]:
    if isinstance(value, PMap):
        return value
    if isinstance(value, Mapping):
        return pmap(value)
    return pmap({model.key: model for model in value})


@attrs.frozen(cache_hash=True)
class ProjectState:
    """All models of a project, keyed by ``(app_label, model)``, plus extensions, collations and views."""

    models: PMap[ModelKey, ModelState] = attrs.field(factory=pmap, converter=_model_map)
    extensions: PSet[str] = attrs.field(factory=pset, converter=str_set)
    collations: PMap[str, CollationState] = attrs.field(factory=pmap, converter=_collation_map)
    views: PMap[str, ViewState] = attrs.field(factory=pmap, converter=_view_map)
    referrers: PMap[ModelKey, PSet[ModelKey]] = attrs.field(default=None, eq=False, repr=False)
    tables: PMap[str, ModelKey] = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.referrers is None or self.tables is None:
            referrers: dict[ModelKey, set[ModelKey]] = {}
            tables: dict[str, ModelKey] = {}
            # Sorted, so the model an error names does not depend on hash order.
            for key, model in sorted(self.models.items()):
                if model.key != key:
                    raise InvalidValue("ProjectState.models", f"{key!r} holds model {model.label}")
                if model.db_table in tables:
                    other = tables[model.db_table]
                    raise DuplicateObjectName(
                        model.app_label,
                        model.name,
                        model.db_table,
                        "table",
                        owner=f"{other[0]}.{other[1]}",
                    )
                tables[model.db_table] = key
                # ``related_models``, inlined: this runs for every model of every state built whole.
                for field in model.fields:
                    relation = field.relation
                    if relation is not None:
                        referrers.setdefault(relation.to, set()).add(key)
                        if relation.through is not None:
                            referrers.setdefault(relation.through, set()).add(key)
            for name, view in sorted(self.views.items()):
                if view.name != name:
                    raise InvalidValue("ProjectState.views", f"{name!r} holds view {view.name!r}")
                if name in tables:
                    raise DuplicateView(name, f"the table of model {tables[name][0]}.{tables[name][1]}")
            object.__setattr__(self, "referrers", pmap({k: pset(v) for k, v in referrers.items()}))
            object.__setattr__(self, "tables", pmap(tables))

    @classmethod
    def from_models(cls, models: Iterable[ModelState]) -> ProjectState:
        """Return a state holding ``models``."""
        return cls(models=list(models))

    def __iter__(self) -> Iterator[ModelState]:
        """Iterate over the models in a canonical order (by app label, then name)."""
        for key in sorted(self.models):
            yield self.models[key]

    def __len__(self) -> int:
        """Return the number of models."""
        return len(self.models)

    def has_model(self, app_label: str, name: str) -> bool:
        """Tell whether the model exists."""
        return (app_label, name) in self.models

    def model(self, app_label: str, name: str) -> ModelState:
        """Return the model ``app_label.name``.

        Raises:
            UnknownModel: no such model.
        """
        model = self.models.get((app_label, name))
        if model is None:
            raise UnknownModel(app_label, name)
        return model

    def referrers_of(self, key: ModelKey) -> tuple[ModelState, ...]:
        """Return the other models whose relations point at ``key``, in key order."""
        return tuple(self.models[k] for k in sorted(self.referrers.get(key, pset())) if k != key)

    def with_model(self, model: ModelState) -> ProjectState:
        """Return a state where ``model`` is added or replaces the model of the same key."""
        old = self.models.get(model.key)
        if old is model:
            return self
        tables = self.tables
        if old is None or old.db_table != model.db_table:
            owner = tables.get(model.db_table)
            if self.views and model.db_table in self.views:
                raise DuplicateView(
                    model.db_table, f"a view, so model {model.label} cannot use it as its table"
                )
            if owner is not None and owner != model.key:
                raise DuplicateObjectName(
                    model.app_label,
                    model.name,
                    model.db_table,
                    "table",
                    owner=f"{owner[0]}.{owner[1]}",
                )
            if old is not None:
                tables = tables.remove(old.db_table)
            tables = tables.set(model.db_table, model.key)
        referrers = self.referrers
        # Models share their fields tuple when only indexes or options change: no relation moved.
        same_fields = old is not None and old.fields is model.fields
        old_targets = old.related_models() if old is not None and not same_fields else frozenset()
        new_targets = model.related_models() if not same_fields else frozenset()
        if old_targets != new_targets:
            for target in old_targets - new_targets:
                referrers = _unlink(referrers, target, model.key)
            for target in new_targets - old_targets:
                referrers = referrers.set(target, referrers.get(target, pset()).add(model.key))
        return ProjectState(
            models=self.models.set(model.key, model),
            extensions=self.extensions,
            collations=self.collations,
            views=self.views,
            referrers=referrers,
            tables=tables,
        )

    def with_new_model(self, model: ModelState) -> ProjectState:
        """Return a state with ``model`` added.

        Raises:
            ModelAlreadyExists: a model of that key exists.
            DanglingRelation: a relation points at a model that does not exist.
        """
        if model.key in self.models:
            raise ModelAlreadyExists(model.app_label, model.name)
        result = self.with_model(model)
        result.check_relations_of(model)
        return result

    def without_model(self, app_label: str, name: str) -> ProjectState:
        """Return a state without the model.

        Raises:
            UnknownModel: no such model.
            DanglingRelation: another model still relates to it.
        """
        model = self.model(app_label, name)
        for other in self.referrers_of(model.key):
            for field, relation in other.relations():
                if model.key in (relation.to, relation.through):
                    raise DanglingRelation(
                        other.app_label, other.name, field.name, model.label, "is being deleted"
                    )
        referrers = self.referrers
        for target in model.related_models():
            referrers = _unlink(referrers, target, model.key)
        referrers = referrers.discard(model.key) if model.key in referrers else referrers
        return ProjectState(
            models=self.models.remove(model.key),
            extensions=self.extensions,
            collations=self.collations,
            views=self.views,
            referrers=referrers,
            tables=self.tables.remove(model.db_table),
        )

    def renamed_model(self, app_label: str, old: str, new: str) -> ProjectState:
        """Return a state where model ``old`` is called ``new`` and every relation to it follows.

        The table keeps its name only if it was set explicitly; a default table name follows
        the model's new name.

        Raises:
            UnknownModel: no such model.
            ModelAlreadyExists: ``new`` is taken.
        """
        model = self.model(app_label, old)
        if (app_label, new) in self.models:
            raise ModelAlreadyExists(app_label, new)
        old_key, new_key = model.key, (app_label, new)
        table = model.db_table
        if table == default_table_name(app_label, old):
            table = default_table_name(app_label, new)
        moved = _retarget(attrs.evolve(model, name=new, db_table=table, previous_name=None), old_key, new_key)
        result = self.without_model_unchecked(model).with_model(moved)
        for other in self.referrers_of(old_key):
            result = result.with_model(_retarget(other, old_key, new_key))
        return result

    def without_model_unchecked(self, model: ModelState) -> ProjectState:
        """Return a state without ``model``, even if others still point at it (used mid-rename)."""
        referrers = self.referrers
        for target in model.related_models():
            referrers = _unlink(referrers, target, model.key)
        return ProjectState(
            models=self.models.remove(model.key),
            extensions=self.extensions,
            collations=self.collations,
            views=self.views,
            referrers=referrers,
            tables=self.tables.remove(model.db_table),
        )

    def check_relations_of(self, model: ModelState) -> None:
        """Raise DanglingRelation if a relation of ``model`` points at a missing model or field."""
        for field, relation in model.relations():
            for target in (relation.to, relation.through):
                if target is None:
                    continue
                target_model = self.models.get(target)
                if target_model is None:
                    raise DanglingRelation(
                        model.app_label,
                        model.name,
                        field.name,
                        f"{target[0]}.{target[1]}",
                        "does not exist",
                    )
                if (
                    target == relation.to
                    and relation.to_field is not None
                    and target_model.field_or_none(relation.to_field) is None
                ):
                    raise DanglingRelation(
                        model.app_label,
                        model.name,
                        field.name,
                        f"{target_model.label}.{relation.to_field}",
                        "does not exist",
                    )

    def check(self) -> None:
        """Raise a MigrationError if the state is not valid (a relation to nothing, say)."""
        for model in self:
            self.check_relations_of(model)

    def with_extension(self, name: str) -> ProjectState:
        """Return a state with the PostgreSQL extension ``name``."""
        return attrs.evolve(
            self, extensions=self.extensions.add(name), referrers=self.referrers, tables=self.tables
        )

    def without_extension(self, name: str) -> ProjectState:
        """Return a state without the PostgreSQL extension ``name``."""
        return attrs.evolve(
            self,
            extensions=self.extensions.discard(name),
            referrers=self.referrers,
            tables=self.tables,
        )

    def with_collation(self, collation: CollationState) -> ProjectState:
        """Return a state with ``collation``."""
        return attrs.evolve(
            self,
            collations=self.collations.set(collation.name, collation),
            referrers=self.referrers,
            tables=self.tables,
        )

    def without_collation(self, name: str) -> ProjectState:
        """Return a state without the collation ``name``."""
        return attrs.evolve(
            self,
            collations=self.collations.discard(name),
            referrers=self.referrers,
            tables=self.tables,
        )

    def view(self, name: str) -> ViewState:
        """Return the view called ``name``.

        Raises:
            UnknownView: no such view.
        """
        view = self.views.get(name)
        if view is None:
            raise UnknownView(name)
        return view

    def with_view(self, view: ViewState) -> ProjectState:
        """Return a state with ``view`` added.

        Raises:
            DuplicateView: a view or a table already has its name.
        """
        if view.name in self.views:
            raise DuplicateView(view.name, "another view")
        owner = self.tables.get(view.name)
        if owner is not None:
            raise DuplicateView(view.name, f"the table of model {owner[0]}.{owner[1]}")
        return attrs.evolve(
            self, views=self.views.set(view.name, view), referrers=self.referrers, tables=self.tables
        )

    def without_view(self, name: str) -> ProjectState:
        """Return a state without the view ``name``.

        Raises:
            UnknownView: no such view.
        """
        self.view(name)
        return attrs.evolve(self, views=self.views.remove(name), referrers=self.referrers, tables=self.tables)

    def app_labels(self) -> tuple[str, ...]:
        """Return the app labels that have models, sorted."""
        return tuple(sorted({app for app, _ in self.models}))


def _unlink(
    referrers: PMap[ModelKey, PSet[ModelKey]], target: ModelKey, source: ModelKey
) -> PMap[ModelKey, PSet[ModelKey]]:
    remaining = referrers.get(target, pset()).discard(source)
    return referrers.set(target, remaining) if remaining else referrers.discard(target)


def _retarget(model: ModelState, old: ModelKey, new: ModelKey) -> ModelState:
    """Return ``model`` with every relation to ``old`` pointing at ``new``."""
    if not any(old in (r.to, r.through) for _f, r in model.relations()):
        return model
    fields: list[FieldState] = []
    for field in model.fields:
        relation = field.relation
        if relation is not None and old in (relation.to, relation.through):
            relation = attrs.evolve(
                relation,
                to=new if relation.to == old else relation.to,
                through=new if relation.through == old else relation.through,
            )
            field = attrs.evolve(field, relation=relation)
        fields.append(field)
    return attrs.evolve(model, fields=fields)

"""Operations on one field of a model: add, remove, alter, rename."""

from __future__ import annotations

from typing import ClassVar

import attrs

from reinhardt_migrations.pure.errors import DanglingRelation, InvalidValue
from reinhardt_migrations.pure.fields import NO_DEFAULT, FieldState, check_identifier
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint
from reinhardt_migrations.pure.state import ModelState, ProjectState, named_field

__all__ = ["AddField", "AlterField", "RemoveField", "RenameField"]


def _field_footprint(app_label: str, model: str, *fields: FieldState | str) -> Footprint:
    models = {(app_label, model)}
    names = set()
    for field in fields:
        if isinstance(field, FieldState):
            names.add(field.name)
            if field.relation is not None:
                models.add(field.relation.to)
                if field.relation.through is not None:
                    models.add(field.relation.through)
        else:
            names.add(field)
    return Footprint(models=frozenset(models), fields=frozenset((app_label, model, name) for name in names))


def _stored(field: FieldState, preserve_default: bool) -> FieldState:
    """Return the field as the state keeps it: names made afresh, one-off default dropped."""
    field = field.without_object_names()
    return field if preserve_default else attrs.evolve(field, default=NO_DEFAULT)


def _with_checked_field(state: ProjectState, model: ModelState) -> ProjectState:
    result = state.with_model(model)
    result.check_relations_of(model)
    return result


@attrs.frozen
class AddField(BaseOperation):
    """Add a field (a column, or a join table for many-to-many) to a model.

    With ``preserve_default=False`` the default only fills existing rows and is not
    kept in the state (a one-off default).
    """

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    field: FieldState
    preserve_default: bool = True
    kind: ClassVar[str] = "AddField"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the field added."""
        model = state.model(self.app_label, self.model_name)
        return _with_checked_field(state, model.with_field(_stored(self.field, self.preserve_default)))

    def describe(self) -> str:
        """Return e.g. ``Add field title to blog.Post``."""
        return f"Add field {self.field.name} to {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``<model>_<field>``."""
        return f"{self.model_name.lower()}_{self.field.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model, the field and the relation's target."""
        return _field_footprint(self.app_label, self.model_name, self.field)


@attrs.frozen
class RemoveField(BaseOperation):
    """Remove a field and its column (its values are lost)."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RemoveField"
    destroys_data: ClassVar[bool] = True

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the field.

        Raises:
            UnknownField: no such field.
            InvalidValue: an index or constraint still uses the field.
            DanglingRelation: another model's relation targets this field.
        """
        model = state.model(self.app_label, self.model_name)
        model.field(self.name)
        users = model.uses_field(self.name)
        if users:
            raise InvalidValue(
                f"RemoveField {model.label}.{self.name}",
                f"still used by {', '.join(users)}; remove those first",
            )
        for other in (model, *state.referrers_of(model.key)):
            for field, relation in other.relations():
                if relation.to == model.key and relation.to_field == self.name:
                    raise DanglingRelation(
                        other.app_label,
                        other.name,
                        field.name,
                        f"{model.label}.{self.name}",
                        "is being removed",
                    )
        return state.with_model(model.without_field(self.name))

    def describe(self) -> str:
        """Return e.g. ``Remove field title from blog.Post``."""
        return f"Remove field {self.name} from {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``remove_<model>_<field>``."""
        return f"remove_{self.model_name.lower()}_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model and the field."""
        return _field_footprint(self.app_label, self.model_name, self.name)


@attrs.frozen
class AlterField(BaseOperation):
    """Change a field's definition (type, null, default, unique, index, relation, comment)."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    field: FieldState
    preserve_default: bool = True
    kind: ClassVar[str] = "AlterField"

    def __attrs_post_init__(self) -> None:
        if self.field.name != self.name:
            raise InvalidValue(
                f"AlterField {self.app_label}.{self.model_name}.{self.name}",
                f"the new field is called {self.field.name!r}; use RenameField to rename",
            )

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the field replaced (database object names are kept)."""
        model = state.model(self.app_label, self.model_name)
        old = model.field(self.name)
        new = _stored(self.field, self.preserve_default)
        if new.is_concrete != old.is_concrete:
            raise InvalidValue(
                f"AlterField {model.label}.{self.name}",
                "cannot turn a many-to-many field into a column or back; remove and add it",
            )
        replaced = model.with_field_replaced(new)
        refilled = tuple(named_field(f, model.db_table) for f in replaced.fields)
        return _with_checked_field(state, attrs.evolve(replaced, fields=refilled))

    def describe(self) -> str:
        """Return e.g. ``Alter field title on blog.Post``."""
        return f"Alter field {self.name} on {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``alter_<model>_<field>``."""
        return f"alter_{self.model_name.lower()}_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model, the field and the relation's target."""
        return _field_footprint(self.app_label, self.model_name, self.field)


@attrs.frozen
class RenameField(BaseOperation):
    """Rename a field (and its column, unless ``db_column`` is set)."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    old_name: str = attrs.field(validator=check_identifier)
    new_name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RenameField"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the field renamed, in indexes, constraints and relations too."""
        model = state.model(self.app_label, self.model_name)
        renamed = model.renamed_field(self.old_name, self.new_name)
        result = state.with_model(renamed)
        for other in (renamed, *state.referrers_of(model.key)):
            current = result.models[other.key]
            if any(r.to == model.key and r.to_field == self.old_name for _f, r in current.relations()):
                result = result.with_model(
                    attrs.evolve(
                        current,
                        fields=tuple(
                            attrs.evolve(f, relation=attrs.evolve(f.relation, to_field=self.new_name))
                            if f.relation is not None
                            and f.relation.to == model.key
                            and f.relation.to_field == self.old_name
                            else f
                            for f in current.fields
                        ),
                    )
                )
        return result

    def describe(self) -> str:
        """Return e.g. ``Rename field email on blog.User to address``."""
        return f"Rename field {self.old_name} on {self.app_label}.{self.model_name} to {self.new_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``rename_<model>_<old>_<model>_<new>``."""
        model = self.model_name.lower()
        return f"rename_{model}_{self.old_name.lower()}_{model}_{self.new_name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model and both field names; relations by to_field follow, so others too."""
        return Footprint(
            models=frozenset({(self.app_label, self.model_name)}),
            fields=frozenset(
                {
                    (self.app_label, self.model_name, self.old_name),
                    (self.app_label, self.model_name, self.new_name),
                }
            ),
            everything=True,
        )

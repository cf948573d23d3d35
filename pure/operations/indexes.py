"""Operations on a model's indexes and constraints."""

from __future__ import annotations

from typing import ClassVar

import attrs

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import DuplicateObjectName
from reinhardt_migrations.pure.fields import check_identifier
from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint
from reinhardt_migrations.pure.state import ModelState, ProjectState

__all__ = [
    "AddConstraint",
    "AddIndex",
    "RemoveConstraint",
    "RemoveIndex",
    "RenameIndex",
]


def _model_footprint(app_label: str, model: str) -> Footprint:
    return Footprint(models=frozenset({(app_label, model)}))


def _check_free(model: ModelState, name: str, kind: str) -> None:
    taken = {i.name for i in model.indexes} | {c.name for c in model.constraints}
    if name in taken:
        raise DuplicateObjectName(model.app_label, model.name, name, kind)


@attrs.frozen
class AddIndex(BaseOperation):
    """Create a named index on a model."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    index: IndexState
    kind: ClassVar[str] = "AddIndex"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the index."""
        model = state.model(self.app_label, self.model_name)
        _check_free(model, self.index.name, "index")
        return state.with_model(model.with_index(self.index))

    def describe(self) -> str:
        """Return e.g. ``Create index blog_title_idx on field(s) title of blog.Post``."""
        return (
            f"Create index {self.index.name} on field(s) {', '.join(self.index.fields)} "
            f"of {self.app_label}.{self.model_name}"
        )

    @property
    def migration_name_fragment(self) -> str:
        """Return the index name in lower case."""
        return self.index.name.lower()

    def footprint(self) -> Footprint:
        """Return the model."""
        return _model_footprint(self.app_label, self.model_name)


@attrs.frozen
class RemoveIndex(BaseOperation):
    """Drop a named index."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RemoveIndex"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the index."""
        model = state.model(self.app_label, self.model_name)
        return state.with_model(model.without_index(self.name))

    def describe(self) -> str:
        """Return e.g. ``Remove index blog_title_idx from blog.Post``."""
        return f"Remove index {self.name} from {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``remove_<model>_<index>``."""
        return f"remove_{self.model_name.lower()}_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model."""
        return _model_footprint(self.app_label, self.model_name)


@attrs.frozen
class RenameIndex(BaseOperation):
    """Rename an index without rebuilding it."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    old_name: str = attrs.field(validator=check_identifier)
    new_name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RenameIndex"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the index renamed."""
        model = state.model(self.app_label, self.model_name)
        index = model.index(self.old_name)
        if self.new_name != self.old_name:
            _check_free(model, self.new_name, "index")
        return state.with_model(
            attrs.evolve(
                model,
                indexes=tuple(
                    index.renamed(self.new_name) if i.name == self.old_name else i for i in model.indexes
                ),
            )
        )

    def describe(self) -> str:
        """Return e.g. ``Rename index a_idx on blog.Post to b_idx``."""
        return f"Rename index {self.old_name} on {self.app_label}.{self.model_name} to {self.new_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``rename_<old>_<new>``."""
        return f"rename_{self.old_name.lower()}_{self.new_name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model."""
        return _model_footprint(self.app_label, self.model_name)


@attrs.frozen
class AddConstraint(BaseOperation):
    """Add a named unique or check constraint."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    constraint: ConstraintState
    kind: ClassVar[str] = "AddConstraint"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state with the constraint."""
        model = state.model(self.app_label, self.model_name)
        _check_free(model, self.constraint.name, "constraint")
        return state.with_model(model.with_constraint(self.constraint))

    def describe(self) -> str:
        """Return e.g. ``Create constraint uniq_slug on model blog.Post``."""
        return f"Create constraint {self.constraint.name} on model {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``<model>_<constraint>``."""
        return f"{self.model_name.lower()}_{self.constraint.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model."""
        return _model_footprint(self.app_label, self.model_name)


@attrs.frozen
class RemoveConstraint(BaseOperation):
    """Drop a named constraint."""

    app_label: str = attrs.field(validator=check_identifier)
    model_name: str = attrs.field(validator=check_identifier)
    name: str = attrs.field(validator=check_identifier)
    kind: ClassVar[str] = "RemoveConstraint"

    def state_forwards(self, state: ProjectState) -> ProjectState:
        """Return the state without the constraint."""
        model = state.model(self.app_label, self.model_name)
        return state.with_model(model.without_constraint(self.name))

    def describe(self) -> str:
        """Return e.g. ``Remove constraint uniq_slug from model blog.Post``."""
        return f"Remove constraint {self.name} from model {self.app_label}.{self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        """Return ``remove_<model>_<constraint>``."""
        return f"remove_{self.model_name.lower()}_{self.name.lower()}"

    def footprint(self) -> Footprint:
        """Return the model."""
        return _model_footprint(self.app_label, self.model_name)

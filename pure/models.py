"""Declarative model classes: Django-style class definitions that build ModelState values.

Theory of operation: a subclass of ``Model`` declares fields as class attributes
(``title = Varchar(200)``) and options in an inner ``Meta`` (app label, table, indexes,
constraints, unique_together, a previous name). When the class statement finishes,
``__init_subclass__`` reads the class into a frozen ``ModelDeclaration`` and checks it by
building its ModelState, so a broken model fails where it is written, naming the app,
model and field. Nothing is registered anywhere: ``models_in(namespace)`` picks the
models out of a module's namespace and ``project_state_from_models`` turns a collection
of them into the ProjectState that ``makemigrations`` compares with the migrations.

A relation's column has the type of the key it points at, which may be declared later
(``ForeignKey("blog.Author")``), so relation types are resolved at the project level;
``declaration.model_state()`` on its own assumes the default key (a BigAutoField).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from reinhardt_migrations.pure import types as column_types
from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import InvalidValue, MigrationError
from reinhardt_migrations.pure.fields import CallableDefault, ModelKey, SqlDefault
from reinhardt_migrations.pure.model_fields import (
    CASCADE,
    DO_NOTHING,
    PROTECT,
    RESTRICT,
    SET_DEFAULT,
    SET_NULL,
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    Char,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Decimal,
    Double,
    Duration,
    Field,
    Float,
    ForeignKey,
    Index,
    Integer,
    Json,
    KeyType,
    ManyToMany,
    OneToOne,
    SmallInteger,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    Varchar,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name

__all__ = [
    "CASCADE",
    "DO_NOTHING",
    "PROTECT",
    "RESTRICT",
    "SET_DEFAULT",
    "SET_NULL",
    "AutoField",
    "BigAutoField",
    "BigInteger",
    "Binary",
    "Boolean",
    "CallableDefault",
    "Char",
    "CheckConstraint",
    "Column",
    "Date",
    "DateTime",
    "Decimal",
    "Double",
    "Duration",
    "Field",
    "Float",
    "ForeignKey",
    "Index",
    "Integer",
    "Json",
    "ManyToMany",
    "Model",
    "ModelDeclaration",
    "OneToOne",
    "SmallInteger",
    "SqlDefault",
    "Text",
    "Time",
    "UniqueConstraint",
    "Uuid",
    "Varchar",
    "declaration_of",
    "models_in",
    "project_state_from_models",
]

MetaIndex: TypeAlias = Index | IndexState
MetaConstraint: TypeAlias = UniqueConstraint | CheckConstraint | ConstraintState

# Meta options we read. The first group is inherited from an abstract base's Meta (as in
# Django); the second belongs to one model only.
_INHERITED_OPTIONS = (
    "app_label",
    "indexes",
    "constraints",
    "unique_together",
    "comment",
    "managed",
    "options",
)
_OWN_OPTIONS = ("abstract", "db_table", "previous_name")


@attrs.frozen
class ModelDeclaration:
    """What a Model class declares, as a value: app label, name, fields and Meta options."""

    app_label: str
    name: str
    fields: tuple[tuple[str, Field], ...]
    db_table: str | None = None
    indexes: tuple[MetaIndex, ...] = ()
    constraints: tuple[MetaConstraint, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    previous_name: str | None = None
    comment: str | None = None
    managed: bool = True
    options: tuple[tuple[str, str], ...] = ()
    abstract: bool = False
    module: str = ""

    @property
    def key(self) -> ModelKey:
        """Return ``(app_label, name)``."""
        return (self.app_label, self.name)

    @property
    def label(self) -> str:
        """Return ``app_label.name``."""
        return f"{self.app_label}.{self.name}"

    def field(self, name: str) -> Field | None:
        """Return the declared field called ``name``, or None."""
        return next((field for own, field in self.fields if own == name), None)

    def primary_key(self) -> tuple[str, Field] | None:
        """Return the name and declaration of the primary key field, if any."""
        return next(((name, f) for name, f in self.fields if f.primary_key), None)

    def model_state(self, key_type: KeyType | None = None) -> ModelState:
        """Return the ModelState; ``key_type`` gives relation column types (default: BigInteger).

        Raises:
            InvalidValue: a field or option cannot be built (the message names app, model, field).
        """
        types = key_type or _default_key_type
        fields = []
        for name, declared in self.fields:
            try:
                fields.append(declared.field_state(name, self.key, types))
            except MigrationError as error:
                raise InvalidValue(f"field {self.label}.{name}", str(error).rstrip(".")) from error
        table = self.db_table or default_table_name(self.app_label, self.name)
        try:
            bare = ModelState(
                self.app_label,
                self.name,
                fields,
                db_table=table,
                unique_together=self.unique_together,
                comment=self.comment,
                managed=self.managed,
                options=dict(self.options),
                previous_name=self.previous_name,
            )
            return attrs.evolve(
                bare,
                indexes=[_index_state(index, bare) for index in self.indexes],
                constraints=[_constraint_state(constraint, bare) for constraint in self.constraints],
            )
        except MigrationError as error:
            if self.label in str(error):
                raise
            raise InvalidValue(f"model {self.label}", str(error).rstrip(".")) from error


def _index_state(index: MetaIndex, model: ModelState) -> IndexState:
    return index if isinstance(index, IndexState) else index.index_state(model)


def _constraint_state(constraint: MetaConstraint, model: ModelState) -> ConstraintState:
    return constraint if isinstance(constraint, ConstraintState) else constraint.constraint_state(model)


def _default_key_type(target: ModelKey, to_field: str | None) -> column_types.ColumnType:
    return column_types.BigInteger()


class Model:
    """Base of declarative models: declare fields as class attributes and options in ``class Meta``.

    ``class Meta`` may set ``app_label`` (default: the package of a ``<app>/models.py``
    module), ``db_table``, ``indexes``, ``constraints``, ``unique_together``,
    ``previous_name`` (a rename hint), ``comment``, ``managed``, ``options`` and ``abstract``.
    A model without a primary key gets ``id = BigAutoField(primary_key=True)``.
    """

    __declaration__: ClassVar[ModelDeclaration]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declaration = _declare(cls)
        cls.__declaration__ = declaration
        if not declaration.abstract:
            # Validate now, so a broken model fails at its own class statement.
            declaration.model_state()


def declaration_of(model: type[Model]) -> ModelDeclaration:
    """Return what the Model subclass ``model`` declares.

    Raises:
        InvalidValue: ``model`` is not a subclass of Model.
    """
    declaration = model.__dict__.get("__declaration__") if isinstance(model, type) else None
    if not isinstance(declaration, ModelDeclaration):
        raise InvalidValue("model", f"{model!r} is not a subclass of reinhardt_migrations.pure.models.Model")
    return declaration


def _declare(cls: type[Model]) -> ModelDeclaration:
    """Read a Model subclass (its fields, its bases' fields, its Meta) into a declaration."""
    where = f"model {cls.__module__}.{cls.__qualname__}"
    own_meta = cls.__dict__.get("Meta")
    parents = [base for base in cls.__mro__[1:] if issubclass(base, Model) and base is not Model]
    for parent in parents:
        if not parent.__declaration__.abstract:
            raise InvalidValue(
                where,
                f"it inherits from the concrete model {parent.__declaration__.label}; only abstract "
                "bases (Meta.abstract = True) can be inherited from",
            )
    meta = (
        own_meta
        if own_meta is not None
        else next((p.__dict__["Meta"] for p in parents if "Meta" in p.__dict__), None)
    )
    if own_meta is not None:
        unknown = sorted(
            name
            for name in vars(own_meta)
            if not name.startswith("_") and name not in _INHERITED_OPTIONS + _OWN_OPTIONS
        )
        if unknown:
            known = ", ".join(sorted(_INHERITED_OPTIONS + _OWN_OPTIONS))
            raise InvalidValue(where, f"Meta has unknown option(s) {', '.join(unknown)}; known: {known}")
    inherited = {name: getattr(meta, name) for name in _INHERITED_OPTIONS if hasattr(meta, name)}
    own = {name: vars(own_meta)[name] for name in _OWN_OPTIONS if own_meta and name in vars(own_meta)}
    fields: dict[str, Field] = {}
    for parent in reversed(parents):
        fields.update(dict(parent.__declaration__.fields))
    fields.update({name: value for name, value in vars(cls).items() if isinstance(value, Field)})
    abstract = bool(own.get("abstract", False))
    if not abstract and not any(field.primary_key for field in fields.values()):
        fields = {"id": BigAutoField(primary_key=True), **fields}
    app_label = inherited.get("app_label") or _app_label_of_module(cls.__module__)
    if not app_label and not abstract:
        raise InvalidValue(
            where, "it has no app label; set Meta.app_label, or define it in a module named <app>/models.py"
        )
    return ModelDeclaration(
        app_label=app_label or "",
        name=cls.__name__,
        fields=tuple(fields.items()),
        db_table=own.get("db_table"),
        indexes=tuple(inherited.get("indexes", ())),
        constraints=tuple(inherited.get("constraints", ())),
        unique_together=_together(inherited.get("unique_together", ())),
        previous_name=own.get("previous_name"),
        comment=inherited.get("comment"),
        managed=bool(inherited.get("managed", True)),
        options=tuple(sorted(dict(inherited.get("options") or {}).items())),
        abstract=abstract,
        module=cls.__module__,
    )


def _together(value: Iterable[Any]) -> tuple[tuple[str, ...], ...]:
    entries = tuple(value)
    # Django accepts a single entry written flat: unique_together = ("a", "b").
    if entries and all(isinstance(entry, str) for entry in entries):
        return (tuple(entries),)
    return tuple(tuple(entry) for entry in entries)


def _app_label_of_module(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[-1] == "models":
        return parts[-2]
    return None


def models_in(namespace: Mapping[str, Any] | Iterable[Any]) -> tuple[type[Model], ...]:
    """Return the concrete Model subclasses among a namespace's values (or an iterable), by key."""
    values = namespace.values() if isinstance(namespace, Mapping) else namespace
    found: dict[int, type[Model]] = {}
    for value in values:
        if not isinstance(value, type) or not issubclass(value, Model) or value is Model:
            continue
        if not declaration_of(value).abstract:
            found[id(value)] = value
    return tuple(sorted(found.values(), key=lambda cls: declaration_of(cls).key))


def project_state_from_models(models: Iterable[type[Model]], *, check: bool = True) -> ProjectState:
    """Return the ProjectState of ``models`` (abstract ones skipped), relations typed by their targets.

    With ``check=False`` relations to models outside ``models`` are allowed (the caller
    adds those models and checks the result).

    Raises:
        InvalidValue: two classes declare the same model, or a model cannot be built.
        DanglingRelation: a relation points at a model that is not among ``models``.
    """
    declarations: dict[ModelKey, ModelDeclaration] = {}
    for model in models:
        declaration = declaration_of(model)
        if declaration.abstract:
            continue
        other = declarations.get(declaration.key)
        if other is not None and other is not declaration:
            raise InvalidValue(
                f"model {declaration.label}",
                f"it is declared twice (in {other.module} and {declaration.module}); rename one, "
                "or list only one of the modules",
            )
        declarations[declaration.key] = declaration
    key_type = _key_types(declarations)
    state = ProjectState.from_models(declarations[key].model_state(key_type) for key in sorted(declarations))
    if check:
        state.check()
    return state


def _key_types(declarations: Mapping[ModelKey, ModelDeclaration]) -> KeyType:
    """Return the function typing relation columns after the keys they point at."""

    def key_type(
        target: ModelKey, to_field: str | None, seen: frozenset[ModelKey] = frozenset()
    ) -> column_types.ColumnType:
        declaration = declarations.get(target)
        if declaration is None or target in seen:
            return column_types.BigInteger()
        found = declaration.primary_key() if to_field is None else (to_field, declaration.field(to_field))
        field = None if found is None else found[1]
        if field is None:
            return column_types.BigInteger()
        if isinstance(field, ForeignKey):
            # A key that is itself a relation (a one-to-one primary key) has its target's type.
            relation = field.relation(target)
            assert relation is not None
            return key_type(relation.to, relation.to_field, seen | {target})
        return _stored_key_type(field.column_type())

    return key_type


def _stored_key_type(column_type: column_types.ColumnType) -> column_types.ColumnType:
    """Return the type a column holding a key of ``column_type`` has (an auto key is a plain integer)."""
    if isinstance(column_type, column_types.AutoField):
        return column_types.Integer()
    if isinstance(column_type, column_types.BigAutoField):
        return column_types.BigInteger()
    return column_type

"""Strategies for schema values: column types, fields, indexes, constraints, models, states.

Theory of operation: every value is built valid, not filtered. Each ``draw_*`` helper
takes the namespace it must respect (folded object names of the project, names and
columns of the model) and records what it adds, so the helpers compose into models
and states that are valid on SQLite, PostgreSQL and MySQL alike: indexes, unique
fields and keys only cover types every database can index, literal defaults fit
their column, foreign keys have the type of the key they point at, and no two
tables, indexes or constraints share a folded name. The namespaces are local sets
that never leave one composite.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import hypothesis.strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy, composite

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import (
    NO_DEFAULT,
    CallableDefault,
    Default,
    FieldState,
    LiteralDefault,
    ModelKey,
    OnDelete,
    Relation,
    RelationKind,
    SqlDefault,
)
from reinhardt_migrations.pure.names import object_name
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState, default_table_name
from reinhardt_migrations.pure.strategies.names import (
    app_labels,
    draw_fresh,
    fold,
    identifiers,
    model_object_names,
    python_paths,
    texts,
)
from reinhardt_migrations.pure.types import (
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    Char,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Duration,
    Float,
    Integer,
    Json,
    RawType,
    SmallInteger,
    Text,
    Time,
    Uuid,
    Varchar,
)

__all__ = [
    "CHECK_CONDITIONS",
    "EXTENSIONS",
    "Target",
    "collation_states",
    "column_types",
    "constraint_states",
    "db_defaults",
    "draw_constraint",
    "draw_field",
    "draw_index",
    "draw_model",
    "draw_unique_together",
    "field_states",
    "index_states",
    "indexable_fields",
    "is_indexable",
    "model_states",
    "project_states",
    "referencing_type",
    "targets_of",
]

# Types every database can index, put in a unique constraint or point a foreign key
# at; MySQL refuses TEXT, BLOB and JSON there (they need a prefix length).
_INDEXABLE_FIXED: tuple[ColumnType, ...] = (
    Integer(),
    BigInteger(),
    SmallInteger(),
    Boolean(),
    Date(),
    DateTime(),
    DateTime(timezone=True),
    Time(),
    Uuid(),
    Float(),
    Double(),
)
_UNINDEXABLE_FIXED: tuple[ColumnType, ...] = (Text(), Json(), Binary(), Duration())
_RAW_TYPES: tuple[ColumnType, ...] = (
    RawType("citext", {"mysql": "varchar(100)", "sqlite": "text"}),
    RawType("money", {"mysql": "decimal(19, 4)", "sqlite": "numeric"}),
    RawType("text"),
)
_PRIMARY_KEY_TYPES: tuple[ColumnType, ...] = (
    AutoField(),
    BigAutoField(),
    Integer(),
    BigInteger(),
    Uuid(),
    Varchar(36),
)
# Longest VARCHAR that MySQL indexes in utf8mb4 (3,072 bytes, three columns per index).
_MAX_INDEXABLE_VARCHAR = 255
#: Check constraint and partial index conditions: no column names, so field renames
#: (which leave SQL as written) keep them valid on every database.
CHECK_CONDITIONS = ("1 = 1", "2 > 1", "'a' <> 'b'")
#: PostgreSQL contrib extensions the generated states install.
EXTENSIONS = ("btree_gin", "btree_gist", "citext", "hstore", "pg_trgm", "unaccent")
_COLLATIONS = (
    ("libc", "C", True),
    ("libc", "POSIX", True),
    ("icu", "und", True),
    ("icu", "und-u-ks-level2", False),
)
_MODEL_OPTIONS = (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_unicode_ci"))
_INTEGER_BOUNDS: dict[type[ColumnType], int] = {
    SmallInteger: 2**15 - 1,
    Integer: 2**31 - 1,
    BigInteger: 2**63 - 1,
}
_few = st.integers(0, 2)
_ON_DELETE = (OnDelete.CASCADE, OnDelete.PROTECT, OnDelete.RESTRICT, OnDelete.DO_NOTHING)


def is_indexable(column_type: ColumnType) -> bool:
    """Tell whether every supported database can index a column of this type."""
    if isinstance(column_type, Varchar):
        return column_type.max_length <= _MAX_INDEXABLE_VARCHAR
    if isinstance(column_type, Char | Decimal | AutoField | BigAutoField):
        return True
    return column_type in _INDEXABLE_FIXED


def referencing_type(column_type: ColumnType) -> ColumnType:
    """Return the type of a column that holds a key of ``column_type`` (auto keys are integers)."""
    if isinstance(column_type, AutoField):
        return Integer()
    if isinstance(column_type, BigAutoField):
        return BigInteger()
    return column_type


@composite
def column_types(draw: DrawFn, *, indexable: bool = False) -> ColumnType:
    """Generate a column type (never an auto key); ``indexable`` keeps to types every database indexes."""
    choices: list[SearchStrategy[ColumnType]] = [
        st.sampled_from(_INDEXABLE_FIXED),
        st.builds(Varchar, st.integers(1, _MAX_INDEXABLE_VARCHAR)),
        st.builds(Char, st.integers(1, 40)),
        st.integers(1, 30).flatmap(lambda p: st.builds(Decimal, st.just(p), st.integers(0, p))),
    ]
    if not indexable:
        choices += [
            st.sampled_from(_UNINDEXABLE_FIXED),
            st.sampled_from(_RAW_TYPES),
            st.builds(Varchar, st.integers(_MAX_INDEXABLE_VARCHAR + 1, 4000)),
        ]
    return draw(st.one_of(choices))


def db_defaults(column_type: ColumnType) -> SearchStrategy[Default] | None:
    """Return literal or SQL defaults that fit ``column_type`` on every database, or None if none do.

    MySQL refuses literal defaults on TEXT, BLOB and JSON columns, so those get None.
    """
    bound = _INTEGER_BOUNDS.get(type(column_type))
    values: SearchStrategy[bool | int | float | str] | None = None
    if bound is not None:
        values = st.integers(-bound - 1, bound)
    elif isinstance(column_type, Boolean):
        values = st.booleans()
    elif isinstance(column_type, Varchar):
        values = texts(min(column_type.max_length, 20))
    elif isinstance(column_type, Char):
        values = texts(min(column_type.length, 20))
    elif isinstance(column_type, Decimal):
        limit = 10 ** (column_type.max_digits - column_type.decimal_places) - 1
        values = st.integers(-limit, limit)
    elif isinstance(column_type, Float | Double):
        values = st.sampled_from((0.0, 1.5, -2.25, 1e10))
    elif isinstance(column_type, Date):
        values = st.just("2024-02-29")
    elif isinstance(column_type, Time):
        values = st.just("12:34:56")
    elif isinstance(column_type, DateTime):
        return st.one_of(
            st.just(LiteralDefault("2024-02-29 12:34:56")), st.just(SqlDefault("CURRENT_TIMESTAMP"))
        )
    if values is None:
        return None
    return values.map(LiteralDefault)


def _defaults(column_type: ColumnType) -> SearchStrategy[Default]:
    """Return any default for the type: none, a database default, or a Python callable."""
    choices: list[SearchStrategy[Default]] = [st.just(NO_DEFAULT)]
    literal = db_defaults(column_type)
    if literal is not None:
        choices.append(literal)
    choices.append(python_paths().map(CallableDefault))
    return st.one_of(choices)


@attrs.frozen
class Target:
    """A model a relation may point at: its key and the keys it offers (``to_field``, column type)."""

    key: ModelKey
    keys: tuple[tuple[str | None, ColumnType], ...]


def targets_of(model: ModelState) -> Target | None:
    """Return what relations to ``model`` may point at: its primary key and unique NOT NULL fields."""
    primary = model.primary_key
    if primary is None or primary.relation is not None:
        return None
    keys: list[tuple[str | None, ColumnType]] = [(None, referencing_type(primary.type))]
    for field in model.fields:
        if (
            field.unique
            and not field.primary_key
            and not field.null
            and field.relation is None
            and is_indexable(field.type)
        ):
            keys.append((field.name, referencing_type(field.type)))
    return Target(model.key, tuple(keys))


def _draw_relation(
    draw: DrawFn, name: str, targets: Sequence[Target], *, nullable: bool, many: bool
) -> FieldState:
    target = draw(st.sampled_from(targets))
    kinds: tuple[RelationKind, ...] = ("foreign_key", "one_to_one")
    if many:
        kinds = (*kinds, "many_to_many")
    kind = draw(st.sampled_from(kinds))
    if kind == "many_to_many":
        return FieldState(name, target.keys[0][1], relation=Relation("many_to_many", target.key))
    to_field, key_type = draw(st.sampled_from(target.keys))
    null = True if nullable else draw(st.booleans())
    on_delete = draw(st.sampled_from((*_ON_DELETE, OnDelete.SET_NULL) if null else _ON_DELETE))
    relation = Relation(kind, target.key, on_delete, to_field=to_field)
    return FieldState(name, key_type, null=null, db_index=draw(st.booleans()), relation=relation)


def draw_field(
    draw: DrawFn,
    model_names: set[str],
    objects: set[str],
    table: str,
    targets: Sequence[Target] = (),
    *,
    for_add: bool = False,
) -> tuple[FieldState, bool]:
    """Draw a new non-key field of a model on ``table``; return it with its ``preserve_default``.

    ``model_names`` holds the folded field names and columns of the model and
    ``objects`` the project's folded object names; both receive what the field takes.
    ``for_add`` makes the field addable to a table with rows: nullable or with a
    database default, and unique only when nullable.
    """
    relational = bool(targets) and draw(st.integers(0, 3)) == 0
    if relational:
        many = draw(st.booleans())

        def relation_free(name: str) -> bool:
            join = fold(object_name(table, [name], ""))
            taken = fold(name) in model_names or fold(f"{name}_id") in model_names
            return not taken and join not in objects

        name = draw_fresh(draw, relation_free)
        field = _draw_relation(draw, name, targets, nullable=for_add, many=many)
        preserve = True
    else:
        name = draw_fresh(draw, lambda n: fold(n) not in model_names)
        field, preserve = _draw_plain(draw, name, for_add=for_add)
        if draw(st.integers(0, 4)) == 0:
            column = draw_fresh(draw, lambda n: fold(n) not in model_names and fold(n) != fold(name))
            field = attrs.evolve(field, db_column=column)
    model_names.add(fold(field.name))
    if field.column is not None:
        model_names.add(fold(field.column))
    elif field.relation is not None:
        objects.add(fold(object_name(table, [field.name], "")))
    return field, preserve


def _draw_plain(draw: DrawFn, name: str, *, for_add: bool) -> tuple[FieldState, bool]:
    column_type = draw(column_types())
    literal = db_defaults(column_type)
    preserve = True
    if for_add and (literal is None or draw(st.booleans())):
        null = True
        default = draw(_defaults(column_type))
    elif for_add and literal is not None:
        null = False
        default = draw(literal)
        preserve = draw(st.booleans())
    else:
        null = draw(st.booleans())
        default = draw(_defaults(column_type))
    flags = ("", "unique", "db_index") if is_indexable(column_type) and (null or not for_add) else ("",)
    flag = draw(st.sampled_from(flags))
    comment = draw(st.one_of(st.none(), texts()))
    field = FieldState(
        name,
        column_type,
        null=null,
        default=default,
        unique=flag == "unique",
        db_index=flag == "db_index",
        comment=comment,
    )
    return field, preserve


def indexable_fields(model: ModelState) -> list[str]:
    """Return the names of the model's columns every database can index, in field order."""
    return [f.name for f in model.fields if f.is_concrete and is_indexable(f.type)]


def draw_index(draw: DrawFn, model: ModelState, objects: set[str], *, partial: bool = False) -> IndexState:
    """Draw an index over indexable fields of ``model`` (which must have one), named freshly."""
    candidates = indexable_fields(model)
    fields = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True))
    descending = draw(st.lists(st.booleans(), min_size=len(fields), max_size=len(fields)))
    marked = tuple(f"-{name}" if down else name for name, down in zip(fields, descending, strict=True))
    condition = draw(st.one_of(st.none(), st.sampled_from(CHECK_CONDITIONS))) if partial else None
    name = draw_fresh(draw, lambda n: fold(n) not in objects)
    objects.add(fold(name))
    return IndexState(name, marked, unique=draw(st.booleans()), condition=condition)


def draw_constraint(draw: DrawFn, model: ModelState, objects: set[str]) -> ConstraintState:
    """Draw a unique constraint over indexable fields, or a check constraint, named freshly."""
    candidates = indexable_fields(model)
    name = draw_fresh(draw, lambda n: fold(n) not in objects)
    objects.add(fold(name))
    if draw(st.booleans()) and candidates:
        fields = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True))
        return ConstraintState.unique_on(name, fields)
    return ConstraintState.check_that(name, draw(st.sampled_from(CHECK_CONDITIONS)))


def draw_unique_together(draw: DrawFn, model: ModelState) -> list[tuple[str, ...]]:
    """Draw up to two ``unique_together`` entries of two or three indexable fields each.

    Single-field entries are left out: their constraint name would clash with the
    field's own ``unique`` constraint name.
    """
    candidates = indexable_fields(model)
    if len(candidates) < 2:
        return []
    entries: list[tuple[str, ...]] = []
    for _ in range(draw(st.integers(0, 2))):
        most = min(3, len(candidates))
        fields = tuple(draw(st.lists(st.sampled_from(candidates), min_size=2, max_size=most, unique=True)))
        if frozenset(fields) not in {frozenset(entry) for entry in entries}:
            entries.append(fields)
    return entries


def _draw_primary_key(draw: DrawFn) -> FieldState:
    name = draw(st.one_of(st.just("id"), identifiers()))
    return FieldState(name, draw(st.sampled_from(_PRIMARY_KEY_TYPES)), primary_key=True)


def draw_model(
    draw: DrawFn,
    app_label: str,
    objects: set[str],
    keys: set[tuple[str, str]],
    targets: Sequence[Target] = (),
    *,
    max_fields: int = 5,
    partial_indexes: bool = False,
) -> ModelState:
    """Draw a new model of ``app_label`` whose relations point at ``targets`` and itself.

    ``objects`` (folded object names) and ``keys`` (``(app, folded name)``) are the
    project's namespaces; the model's names are added to them.
    """

    def name_free(name: str) -> bool:
        table = fold(default_table_name(app_label, name))
        return (app_label, fold(name)) not in keys and table not in objects

    name = draw_fresh(draw, name_free)
    if draw(st.integers(0, 4)) == 0:
        table = draw_fresh(draw, lambda n: fold(n) not in objects)
    else:
        table = default_table_name(app_label, name)
    keys.add((app_label, fold(name)))
    objects.add(fold(table))
    primary = _draw_primary_key(draw)
    model_names = {fold(primary.name)}
    fields = [primary]
    own = Target((app_label, name), ((None, referencing_type(primary.type)),))
    for _ in range(draw(st.integers(0, max_fields))):
        fields.append(draw_field(draw, model_names, objects, table, (*targets, own))[0])
    model = ModelState(app_label, name, fields, db_table=table)
    indexes = [draw_index(draw, model, objects, partial=partial_indexes) for _ in range(draw(_few))]
    constraints = [draw_constraint(draw, model, objects) for _ in range(draw(_few))]
    model = attrs.evolve(
        model,
        indexes=indexes,
        constraints=constraints,
        unique_together=draw_unique_together(draw, model),
        comment=draw(st.one_of(st.none(), texts())),
        managed=draw(st.integers(0, 9)) != 0,
        options=dict(draw(st.lists(st.sampled_from(_MODEL_OPTIONS), max_size=2, unique_by=lambda p: p[0]))),
    )
    objects.update(fold(name) for name in model_object_names(model))
    return model


@composite
def field_states(draw: DrawFn, *, targets: Sequence[ModelState] = (), table: str = "t") -> FieldState:
    """Generate a non-key field; relations point at ``targets`` (models with a primary key)."""
    usable = [t for t in (targets_of(m) for m in targets) if t is not None]
    return draw_field(draw, set(), set(), table, usable)[0]


def _local_objects(model: ModelState) -> set[str]:
    return {fold(model.db_table), *(fold(name) for name in model_object_names(model))}


@composite
def index_states(draw: DrawFn, model: ModelState, *, partial: bool = False) -> IndexState:
    """Generate an index valid on ``model`` (it needs an indexable column), named apart from its objects."""
    return draw_index(draw, model, _local_objects(model), partial=partial)


@composite
def constraint_states(draw: DrawFn, model: ModelState) -> ConstraintState:
    """Generate a unique or check constraint valid on ``model``, named apart from its objects."""
    return draw_constraint(draw, model, _local_objects(model))


@composite
def model_states(
    draw: DrawFn,
    app_label: str | None = None,
    *,
    targets: Sequence[ModelState] = (),
    max_fields: int = 5,
    partial_indexes: bool = False,
) -> ModelState:
    """Generate a model with a key, fields, indexes and constraints; relations go to ``targets`` or itself."""
    label = app_label if app_label is not None else draw(app_labels())
    objects: set[str] = set()
    keys: set[tuple[str, str]] = set()
    for model in targets:
        objects |= _local_objects(model)
        keys.add((model.app_label, fold(model.name)))
    usable = [t for t in (targets_of(m) for m in targets) if t is not None]
    return draw_model(
        draw, label, objects, keys, usable, max_fields=max_fields, partial_indexes=partial_indexes
    )


@composite
def collation_states(draw: DrawFn, taken: frozenset[str] = frozenset()) -> CollationState:
    """Generate a PostgreSQL collation whose folded name is not in ``taken``."""
    name = draw_fresh(draw, lambda n: fold(n) not in taken)
    provider, locale, deterministic = draw(st.sampled_from(_COLLATIONS))
    return CollationState(name, locale, provider, deterministic)


def _draw_back_relation(draw: DrawFn, models: list[ModelState], objects: set[str]) -> None:
    """Add a relation from one model to any model (a later one too), making cycles."""
    usable = [t for t in (targets_of(m) for m in models) if t is not None]
    if not usable:
        return
    index = draw(st.integers(0, len(models) - 1))
    model = models[index]
    model_names = {fold(f.name) for f in model.fields} | {fold(f.column) for f in model.fields if f.column}
    field, _ = draw_field(draw, model_names, objects, model.db_table, usable)
    if field.relation is None:
        return
    models[index] = model.with_field(field)
    objects.update(fold(name) for name in model_object_names(models[index]))


def _draw_through(
    draw: DrawFn, models: list[ModelState], objects: set[str], keys: set[tuple[str, str]]
) -> None:
    """Add an explicit many-to-many ``through`` model with keys to both sides."""
    sides = [(i, t) for i, t in enumerate(targets_of(m) for m in models) if t is not None]
    if not sides:
        return
    source_index, source = draw(st.sampled_from(sides))
    _, target = draw(st.sampled_from(sides))
    source_model = models[source_index]
    app = source_model.app_label
    name = draw_fresh(
        draw,
        lambda n: (app, fold(n)) not in keys and fold(default_table_name(app, n)) not in objects,
    )
    keys.add((app, fold(name)))
    objects.add(fold(default_table_name(app, name)))
    through = ModelState(
        app,
        name,
        [
            FieldState("id", AutoField(), primary_key=True),
            FieldState("source", source.keys[0][1], relation=Relation("foreign_key", source.key)),
            FieldState("target", target.keys[0][1], relation=Relation("foreign_key", target.key)),
        ],
    )
    objects.update(fold(n) for n in model_object_names(through))
    model_names = {fold(f.name) for f in source_model.fields} | {
        fold(f.column) for f in source_model.fields if f.column
    }
    field_name = draw_fresh(draw, lambda n: fold(n) not in model_names)
    relation = Relation("many_to_many", target.key, through=through.key)
    field = FieldState(field_name, target.keys[0][1], relation=relation)
    models[source_index] = source_model.with_field(field)
    models.append(through)


@composite
def project_states(
    draw: DrawFn,
    *,
    apps: int | Sequence[str] = 3,
    max_models: int = 6,
    min_models: int = 0,
    partial_indexes: bool = False,
) -> ProjectState:
    """Generate a valid state: models in several apps, relations across apps, to themselves and in cycles.

    ``apps`` is the most app labels to invent, or the labels to use. States also hold
    explicit many-to-many ``through`` models, PostgreSQL extensions and collations.
    """
    if isinstance(apps, int):
        labels = draw(st.lists(app_labels(), min_size=1, max_size=max(apps, 1), unique=True))
    else:
        labels = list(apps)
    objects: set[str] = set()
    keys: set[tuple[str, str]] = set()
    models: list[ModelState] = []
    for _ in range(draw(st.integers(min_models, max_models))):
        usable = [t for t in (targets_of(m) for m in models) if t is not None]
        app = draw(st.sampled_from(labels))
        models.append(draw_model(draw, app, objects, keys, usable, partial_indexes=partial_indexes))
    if models:
        for _ in range(draw(st.integers(0, 2))):
            _draw_back_relation(draw, models, objects)
        if draw(st.integers(0, 3)) == 0:
            _draw_through(draw, models, objects, keys)
    extensions = draw(st.lists(st.sampled_from(EXTENSIONS), max_size=2, unique=True))
    collations: dict[str, CollationState] = {}
    for _ in range(draw(st.integers(0, 2))):
        collation = draw(collation_states(frozenset(fold(n) for n in collations)))
        collations[collation.name] = collation
    return ProjectState(models=models, extensions=extensions, collations=collations)

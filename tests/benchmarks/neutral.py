"""Adapter from the neutral history format (``neutral-migrations/1``) to our values and Django's.

The shared generator (``/work/shared/bench/gen_history.py``, described in its FORMAT.md)
writes one JSON document per history; every benchmark reads it through this module, so
our figures and Django's are measured on exactly the same work.

- ``load_history(path)`` returns our ``Migration`` values and a summary (counts, the
  operations skipped because we have no equivalent, the document's ``final_models``).
- ``final_state(summary)`` turns ``final_models`` into a ProjectState, and
  ``same_schema(a, b)`` compares two states ignoring field order (Django moves a renamed
  field to the end of its model, we keep it in place).
- ``django_history(path)`` builds the equivalent Django migrations (Django 5.2, when it
  is installed), so the autodetector, optimizer and executor benchmarks can reuse it.

Foreign keys, one-to-one and many-to-many fields hold the target's primary key, which
the generator always makes ``bigauto``: their column type is ``BigInteger``. ``RunCode``
operations get a placeholder dotted path (nothing runs them here); ``Unsupported``
operations are skipped and counted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import CallableDefault, FieldState, Relation
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    AlterModelTable,
    AlterUniqueTogether,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name
from reinhardt_migrations.pure.types import (
    AutoField,
    BigAutoField,
    BigInteger,
    Binary,
    Boolean,
    ColumnType,
    Date,
    DateTime,
    Decimal,
    Double,
    Integer,
    Json,
    SmallInteger,
    Text,
    Time,
    Uuid,
    Varchar,
)

__all__ = [
    "FORMAT",
    "RUN_CODE_PLACEHOLDER",
    "SIZES",
    "django_history",
    "field_from_neutral",
    "final_state",
    "history_from_document",
    "history_path",
    "load_document",
    "load_history",
    "operation_from_neutral",
    "same_schema",
    "setup_django",
]

FORMAT = "neutral-migrations/1"
#: The dotted path RunCode operations get: the neutral format carries no code.
RUN_CODE_PLACEHOLDER = "benchmarks.neutral.noop"

# Neutral scalar type -> our column type. "float" is Django's FloatField, a double.
_SCALARS: dict[str, Callable[[], ColumnType]] = {
    "auto": AutoField,
    "bigauto": BigAutoField,
    "integer": Integer,
    "bigint": BigInteger,
    "smallint": SmallInteger,
    "float": Double,
    "boolean": Boolean,
    "text": Text,
    "date": Date,
    "datetime": DateTime,
    "time": Time,
    "uuid": Uuid,
    "json": Json,
    "binary": Binary,
}
_RELATIONS = {"fk": "foreign_key", "one_to_one": "one_to_one", "m2m": "many_to_many"}

#: gen_history.py arguments (seed 1) of the shared sizes, and of the issue's two sizes
#: (1,000 models / 2,000 migrations; 2,000 models / about 10,000 operations).
SIZES: dict[str, tuple[int, int, int]] = {
    "small": (2, 20, 100),
    "medium": (5, 200, 1000),
    "large": (10, 1000, 5000),
    "issue-1000-models": (10, 1000, 2000),
    "issue-10000-ops": (10, 2000, 5740),
}
_GENERATOR = os.environ.get(
    "REINHARDT_BENCH_GENERATOR",
    os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench", "gen_history.py"
    ),
)
_CACHE = os.environ.get("REINHARDT_BENCH_HISTORIES", os.path.join("/tmp", "reinhardt-bench-histories"))


def history_path(size: str) -> str:
    """Return the path of the neutral history ``size`` (a key of SIZES), generating it once.

    Files are cached in $REINHARDT_BENCH_HISTORIES (default /tmp/reinhardt-bench-histories);
    the generator is ../shared/bench/gen_history.py, or $REINHARDT_BENCH_GENERATOR.
    """
    apps, models, migrations = SIZES[size]
    path = os.path.join(_CACHE, f"{size}-a{apps}-m{models}-g{migrations}-s1.json")
    if not os.path.exists(path):
        os.makedirs(_CACHE, exist_ok=True)
        command = [sys.executable, _GENERATOR, "--apps", str(apps), "--models", str(models)]
        command += ["--migrations", str(migrations), "--seed", "1", "--quiet", "-o", path + ".tmp"]
        subprocess.run(command, check=True)
        os.replace(path + ".tmp", path)
    return path


def load_document(path: str) -> dict[str, Any]:
    """Return the parsed neutral document at ``path`` (checks the format tag)."""
    with open(path, encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} document")
    return document


def _column_type(data: Mapping[str, Any]) -> ColumnType:
    kind = data["type"]
    if kind == "varchar":
        return Varchar(data["max_length"])
    if kind == "decimal":
        return Decimal(data["max_digits"], data["decimal_places"])
    if kind in _RELATIONS:
        return BigInteger()
    return _SCALARS[kind]()


def _default(value: Any) -> Any:
    if isinstance(value, dict) and "callable" in value:
        return CallableDefault(value["callable"])
    return value


def field_from_neutral(data: Mapping[str, Any]) -> FieldState:
    """Return our FieldState for a neutral field."""
    relation = None
    if data["type"] in _RELATIONS:
        relation = Relation(
            _RELATIONS[data["type"]],  # type: ignore[arg-type]
            data["to"],
            on_delete=data.get("on_delete") or "CASCADE",
            to_field=data.get("to_field"),
            through=data.get("through"),
        )
    return FieldState(
        name=data["name"],
        type=_column_type(data),
        null=bool(data.get("null", False)),
        default=_default(data.get("default")),
        primary_key=bool(data.get("primary_key", False)),
        unique=bool(data.get("unique", False)),
        db_index=bool(data.get("db_index", False)),
        db_column=data.get("db_column"),
        relation=relation,
    )


def _index(data: Mapping[str, Any]) -> IndexState:
    return IndexState(data["name"], data["fields"], bool(data.get("unique", False)), data.get("condition"))


def _constraint(data: Mapping[str, Any]) -> ConstraintState:
    if data["kind"] == "unique":
        return ConstraintState.unique_on(data["name"], data["fields"])
    return ConstraintState.check_that(data["name"], data["check_sql"])


def operation_from_neutral(op: Mapping[str, Any]) -> Operation | None:
    """Return our operation for a neutral one, or None for ``Unsupported``."""
    kind = op["op"]
    if kind == "CreateModel":
        options = op.get("options", {})
        return CreateModel(
            op["app"],
            op["model"],
            [field_from_neutral(f) for f in op["fields"]],
            db_table=options.get("db_table"),
            indexes=[_index(i) for i in options.get("indexes", [])],
            constraints=[_constraint(c) for c in options.get("constraints", [])],
            unique_together=options.get("unique_together", []),
        )
    simple: dict[str, Callable[[], Operation]] = {
        "DeleteModel": lambda: DeleteModel(op["app"], op["model"]),
        "RenameModel": lambda: RenameModel(op["app"], op["old"], op["new"]),
        "AlterModelTable": lambda: AlterModelTable(op["app"], op["model"], op["table"]),
        "AddField": lambda: AddField(op["app"], op["model"], field_from_neutral(op["field"])),
        "RemoveField": lambda: RemoveField(op["app"], op["model"], op["name"]),
        "AlterField": lambda: AlterField(
            op["app"], op["model"], op["field"]["name"], field_from_neutral(op["field"])
        ),
        "RenameField": lambda: RenameField(op["app"], op["model"], op["old"], op["new"]),
        "AddIndex": lambda: AddIndex(op["app"], op["model"], _index(op["index"])),
        "RemoveIndex": lambda: RemoveIndex(op["app"], op["model"], op["name"]),
        "RenameIndex": lambda: RenameIndex(op["app"], op["model"], op["old"], op["new"]),
        "AddConstraint": lambda: AddConstraint(op["app"], op["model"], _constraint(op["constraint"])),
        "RemoveConstraint": lambda: RemoveConstraint(op["app"], op["model"], op["name"]),
        "AlterUniqueTogether": lambda: AlterUniqueTogether(op["app"], op["model"], op["unique_together"]),
        "RunSQL": lambda: RunSQL(op["sql"], op.get("reverse_sql")),
        "RunCode": lambda: RunCode(RUN_CODE_PLACEHOLDER, description=op.get("description", "")),
    }
    if kind == "Unsupported":
        return None
    if kind not in simple:
        raise ValueError(f"unknown neutral operation {kind!r}")
    return simple[kind]()


def history_from_document(document: Mapping[str, Any]) -> tuple[list[Migration], dict[str, Any]]:
    """Return our migrations for a parsed neutral document, and a summary of the conversion."""
    migrations: list[Migration] = []
    skipped: Counter[str] = Counter()
    operations = 0
    for data in document["migrations"]:
        converted: list[Operation] = []
        for op in data["operations"]:
            ours = operation_from_neutral(op)
            if ours is None:
                skipped[op.get("source_op", "Unsupported")] += 1
            else:
                converted.append(ours)
        operations += len(converted)
        migrations.append(
            Migration(
                data["name"],
                data["app"],
                dependencies=[tuple(dep) for dep in data["dependencies"]],
                operations=converted,
                initial=data["name"].endswith("_initial"),
            )
        )
    summary = {
        "migrations": len(migrations),
        "operations": operations,
        "skipped": dict(sorted(skipped.items())),
        "final_models": document.get("final_models", {}),
        "generator": document.get("generator", {}),
    }
    return migrations, summary


def load_history(path: str) -> tuple[list[Migration], dict[str, Any]]:
    """Return our migrations for the neutral history at ``path``, and a conversion summary."""
    return history_from_document(load_document(path))


def final_state(summary: Mapping[str, Any]) -> ProjectState:
    """Return the ProjectState the document's ``final_models`` describe."""
    models = []
    for label, data in sorted(summary["final_models"].items()):
        app, name = label.split(".")
        table = data["db_table"]
        models.append(
            ModelState(
                app,
                name,
                [field_from_neutral(f) for f in data["fields"]],
                db_table=table or default_table_name(app, name),
                indexes=[_index(i) for i in data["indexes"]],
                constraints=[_constraint(c) for c in data["constraints"]],
                unique_together=[tuple(entry) for entry in data.get("unique_together", [])],
            )
        )
    return ProjectState.from_models(models)


def _field_signature(field: FieldState, ignore_join_tables: bool) -> FieldState:
    relation = field.relation
    if ignore_join_tables and relation is not None and relation.through is None and relation.db_table:
        return attrs.evolve(field, relation=attrs.evolve(relation, db_table=None))
    return field


def _model_signature(model: ModelState, ignore_join_tables: bool) -> tuple[Any, ...]:
    return (
        model.db_table,
        sorted((f.name, _field_signature(f, ignore_join_tables)) for f in model.fields),
        sorted((i.name, i) for i in model.indexes),
        sorted((c.name, c) for c in model.constraints),
        sorted(entry.fields for entry in model.unique_together),
    )


def same_schema(left: ProjectState, right: ProjectState, *, ignore_join_tables: bool = False) -> list[str]:
    """Return the labels of the models that differ (field order ignored); empty when equal.

    With ``ignore_join_tables`` the names of automatic many-to-many join tables are not
    compared (the state keeps the name made when the field was added, while a state built
    from the final models derives it from the final table and field names).
    """
    labels = sorted(set(left.models) | set(right.models))
    differ = []
    for key in labels:
        a, b = left.models.get(key), right.models.get(key)
        if (
            a is None
            or b is None
            or _model_signature(a, ignore_join_tables) != _model_signature(b, ignore_join_tables)
        ):
            differ.append(f"{key[0]}.{key[1]}")
    return differ


# Django ---------------------------------------------------------------------------------


def setup_django() -> bool:
    """Configure Django once (no apps, an in-memory SQLite database); False if it is missing."""
    try:
        import django  # type: ignore[import-untyped,unused-ignore]
        from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return False
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=[],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
        )
        django.setup()
    return True


def noop(*args: Any) -> None:
    """Stand in for the code of a neutral RunCode operation (data migrations carry none)."""


_CHECK_SQL = re.compile(r'"(\w+)"\s*(>=|>|<=|<)\s*(-?\d+)')
_LOOKUPS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}


def _django_field(data: Mapping[str, Any]) -> Any:
    from django.db import models  # type: ignore[import-untyped,unused-ignore]

    common: dict[str, Any] = {
        "null": bool(data.get("null", False)),
        "unique": bool(data.get("unique", False)),
        "db_index": bool(data.get("db_index", False)),
        "primary_key": bool(data.get("primary_key", False)),
    }
    if data.get("db_column"):
        common["db_column"] = data["db_column"]
    default = data.get("default")
    if isinstance(default, dict):
        common["default"] = noop
    elif default is not None:
        common["default"] = default
    kind = data["type"]
    if kind in ("fk", "one_to_one"):
        on_delete = getattr(models, data.get("on_delete") or "CASCADE")
        extra = {"to_field": data["to_field"]} if data.get("to_field") else {}
        common.pop("primary_key")
        if kind == "one_to_one":
            common.pop("unique")
            return models.OneToOneField(data["to"], on_delete=on_delete, **extra, **common)
        return models.ForeignKey(data["to"], on_delete=on_delete, **extra, **common)
    if kind == "m2m":
        return models.ManyToManyField(data["to"], through=data.get("through"))
    builders: dict[str, Callable[..., Any]] = {
        "auto": models.AutoField,
        "bigauto": models.BigAutoField,
        "integer": models.IntegerField,
        "bigint": models.BigIntegerField,
        "smallint": models.SmallIntegerField,
        "float": models.FloatField,
        "boolean": models.BooleanField,
        "text": models.TextField,
        "date": models.DateField,
        "datetime": models.DateTimeField,
        "time": models.TimeField,
        "uuid": models.UUIDField,
        "json": models.JSONField,
        "binary": models.BinaryField,
        "varchar": lambda **kw: models.CharField(max_length=data["max_length"], **kw),
        "decimal": lambda **kw: models.DecimalField(
            max_digits=data["max_digits"], decimal_places=data["decimal_places"], **kw
        ),
    }
    return builders[kind](**common)


def _django_index(data: Mapping[str, Any]) -> Any:
    from django.db import models  # type: ignore[import-untyped,unused-ignore]

    return models.Index(fields=list(data["fields"]), name=data["name"])


def _django_constraint(data: Mapping[str, Any]) -> Any:
    from django.db import models  # type: ignore[import-untyped,unused-ignore]
    from django.db.models.expressions import RawSQL  # type: ignore[import-untyped,unused-ignore]

    if data["kind"] == "unique":
        return models.UniqueConstraint(fields=list(data["fields"]), name=data["name"])
    match = _CHECK_SQL.fullmatch(data["check_sql"])
    if match is not None:
        lookup = f"{match.group(1)}__{_LOOKUPS[match.group(2)]}"
        condition: Any = models.Q(**{lookup: int(match.group(3))})
    else:
        condition = RawSQL(data["check_sql"], [], output_field=models.BooleanField())
    return models.CheckConstraint(condition=condition, name=data["name"])


def _django_operation(op: Mapping[str, Any]) -> Any:
    from django.db import migrations  # type: ignore[import-untyped,unused-ignore]

    kind = op["op"]
    if kind == "CreateModel":
        options_in = op.get("options", {})
        options: dict[str, Any] = {
            "indexes": [_django_index(i) for i in options_in.get("indexes", [])],
            "constraints": [_django_constraint(c) for c in options_in.get("constraints", [])],
        }
        if options_in.get("db_table"):
            options["db_table"] = options_in["db_table"]
        if options_in.get("unique_together"):
            options["unique_together"] = {tuple(entry) for entry in options_in["unique_together"]}
        return migrations.CreateModel(
            name=op["model"],
            fields=[(f["name"], _django_field(f)) for f in op["fields"]],
            options=options,
        )
    builders: dict[str, Callable[[], Any]] = {
        "DeleteModel": lambda: migrations.DeleteModel(op["model"]),
        "RenameModel": lambda: migrations.RenameModel(op["old"], op["new"]),
        "AlterModelTable": lambda: migrations.AlterModelTable(op["model"], op["table"]),
        "AddField": lambda: migrations.AddField(op["model"], op["field"]["name"], _django_field(op["field"])),
        "RemoveField": lambda: migrations.RemoveField(op["model"], op["name"]),
        "AlterField": lambda: migrations.AlterField(
            op["model"], op["field"]["name"], _django_field(op["field"])
        ),
        "RenameField": lambda: migrations.RenameField(op["model"], op["old"], op["new"]),
        "AddIndex": lambda: migrations.AddIndex(op["model"], _django_index(op["index"])),
        "RemoveIndex": lambda: migrations.RemoveIndex(op["model"], op["name"]),
        "RenameIndex": lambda: migrations.RenameIndex(op["model"], new_name=op["new"], old_name=op["old"]),
        "AddConstraint": lambda: migrations.AddConstraint(op["model"], _django_constraint(op["constraint"])),
        "RemoveConstraint": lambda: migrations.RemoveConstraint(op["model"], op["name"]),
        "AlterUniqueTogether": lambda: migrations.AlterUniqueTogether(
            op["model"], {tuple(entry) for entry in op["unique_together"]}
        ),
        "RunSQL": lambda: migrations.RunSQL(
            op["sql"], op["reverse_sql"] if op.get("reverse_sql") is not None else None
        ),
        "RunCode": lambda: migrations.RunPython(noop, noop),
    }
    if kind == "Unsupported":
        return None
    return builders[kind]()


def django_history(path: str) -> list[Any]:
    """Return Django ``Migration`` objects for the neutral history at ``path``.

    Raises:
        RuntimeError: Django is not installed.
    """
    if not setup_django():
        raise RuntimeError("Django is not installed: pip install 'reinhardt-migrations[bench]'")
    from django.db import migrations  # type: ignore[import-untyped,unused-ignore]

    result = []
    for data in load_document(path)["migrations"]:
        migration = migrations.Migration(data["name"], data["app"])
        migration.dependencies = [tuple(dep) for dep in data["dependencies"]]
        migration.operations = [
            op for op in (_django_operation(item) for item in data["operations"]) if op is not None
        ]
        migration.initial = data["name"].endswith("_initial")
        result.append(migration)
    return result

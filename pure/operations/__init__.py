"""Built-in schema operations, one module per family, and the Operation protocol."""

from reinhardt_migrations.pure.operations.base import BaseOperation, Footprint, Operation
from reinhardt_migrations.pure.operations.fields import (
    AddField,
    AlterField,
    RemoveField,
    RenameField,
)
from reinhardt_migrations.pure.operations.indexes import (
    AddConstraint,
    AddIndex,
    RemoveConstraint,
    RemoveIndex,
    RenameIndex,
)
from reinhardt_migrations.pure.operations.models import (
    AlterModelOptions,
    AlterModelTable,
    AlterUniqueTogether,
    ColumnDefinition,
    CreateModel,
    CreateTable,
    DeleteModel,
    RenameModel,
)
from reinhardt_migrations.pure.operations.postgres import (
    AddIndexConcurrently,
    CreateCollation,
    CreateExtension,
    DropExtension,
    RemoveCollation,
    RemoveIndexConcurrently,
)
from reinhardt_migrations.pure.operations.special import RunCode, RunSQL, SeparateDatabaseAndState

__all__ = [
    "BUILTIN_OPERATIONS",
    "AddConstraint",
    "AddField",
    "AddIndex",
    "AddIndexConcurrently",
    "AlterField",
    "AlterModelOptions",
    "AlterModelTable",
    "AlterUniqueTogether",
    "BaseOperation",
    "ColumnDefinition",
    "CreateCollation",
    "CreateExtension",
    "CreateModel",
    "CreateTable",
    "DeleteModel",
    "DropExtension",
    "Footprint",
    "Operation",
    "RemoveCollation",
    "RemoveConstraint",
    "RemoveField",
    "RemoveIndex",
    "RemoveIndexConcurrently",
    "RenameField",
    "RenameIndex",
    "RenameModel",
    "RunCode",
    "RunSQL",
    "SeparateDatabaseAndState",
]

#: Every built-in operation class by its serialized kind. (AddIndexConcurrently and
#: RemoveIndexConcurrently are written by dotted path, as custom operations are.)
BUILTIN_OPERATIONS: dict[str, type[BaseOperation]] = {
    cls.kind: cls
    for cls in (
        CreateModel,
        DeleteModel,
        RenameModel,
        AlterModelTable,
        AlterModelOptions,
        AlterUniqueTogether,
        CreateTable,
        AddField,
        RemoveField,
        AlterField,
        RenameField,
        AddIndex,
        RemoveIndex,
        RenameIndex,
        AddConstraint,
        RemoveConstraint,
        RunSQL,
        RunCode,
        SeparateDatabaseAndState,
        CreateExtension,
        DropExtension,
        CreateCollation,
        RemoveCollation,
    )
}

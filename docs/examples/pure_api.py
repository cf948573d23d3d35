"""A tour of the pure API: build two migrations, replay them, print what they do and the result.

Run with ``python docs/examples/pure_api.py``. No database and no file is touched: every
call below takes values and returns new values.
"""

from __future__ import annotations

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    CreateModel,
    RenameField,
)
from reinhardt_migrations.pure.state import ProjectState

__all__ = ["build_history", "format_state", "main"]


def build_history() -> list[Migration]:
    """Return two migrations of a ``blog`` app, built in chain style."""
    key = FieldState("id", "bigauto", primary_key=True)
    initial = (
        Migration.new("0001_initial", "blog")
        .add_operation(CreateModel("blog", "Author", [key, FieldState("email", "VARCHAR(254)", unique=True)]))
        .add_operation(
            CreateModel(
                "blog",
                "Post",
                [
                    key,
                    FieldState("title", "VARCHAR(200)"),
                    FieldState("body", "TEXT", default=""),
                    FieldState("author", "BIGINT", relation=Relation("foreign_key", "blog.Author")),
                ],
            )
        )
    )
    second = (
        Migration.new("0002_publishing", "blog")
        .add_dependency("blog", "0001_initial")
        .add_operation(
            AddField("blog", "Post", FieldState("published", "TIMESTAMP WITH TIME ZONE", null=True))
        )
        .add_operation(RenameField("blog", "Post", "body", "content"))
        .add_operation(AddIndex("blog", "Post", IndexState("post_published_idx", ["-published"])))
        .add_operation(
            AddConstraint("blog", "Post", ConstraintState.check_that("post_title_set", "title <> ''"))
        )
    )
    return [initial, second]


def format_state(state: ProjectState) -> str:
    """Return the models of ``state`` as indented text, in canonical order."""
    lines: list[str] = []
    for model in state:
        lines.append(f"{model.label} (table {model.db_table})")
        lines.extend(f"    {field.describe()}" for field in model.fields)
        lines.extend(f"    {index.describe()}" for index in model.indexes)
        lines.extend(f"    {constraint.describe()}" for constraint in model.constraints)
    return "\n".join(lines)


def main() -> None:
    """Print each migration's operations, then the final models."""
    history = build_history()
    for migration in history:
        print(f"Migration {migration.app_label}.{migration.name}:")
        for operation in migration.operations:
            print(f"  - {operation.describe()}")
    after_first = replay(history[:1])
    final = replay(history[1:], after_first)
    # Replaying returned new states: the earlier one still has the field's old name, and
    # the untouched Author model is the very same object in both.
    assert after_first.model("blog", "Post").field_or_none("body") is not None
    assert final.models[("blog", "Author")] is after_first.models[("blog", "Author")]
    print()
    print("Final models:")
    print(format_state(final))


if __name__ == "__main__":
    main()

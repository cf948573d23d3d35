"""A migration written by reinhardt-migrations."""

from reinhardt_migrations.pure.fields import FieldState, LiteralDefault
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.types import BigAutoField, Integer, Varchar

migration = Migration(
    name="0001_initial",
    app_label="shop",
    operations=[
        CreateModel(
            app_label="shop",
            name="Product",
            fields=(
                FieldState("id", BigAutoField(), primary_key=True),
                FieldState("name", Varchar(100)),
                FieldState("price", Integer(), default=LiteralDefault(0)),
            ),
        ),
    ],
    initial=True,
)

"""A migration written by reinhardt-migrations."""

from reinhardt_migrations.pure.constraints import IndexState
from reinhardt_migrations.pure.fields import FieldState, LiteralDefault, SqlDefault
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.types import BigAutoField, DateTime, Varchar

migration = Migration(
    name="0001_initial",
    app_label="accounts",
    operations=[
        CreateModel(
            app_label="accounts",
            name="Author",
            fields=(
                FieldState("id", BigAutoField(), primary_key=True),
                FieldState("username", Varchar(50), unique=True),
                FieldState("email", Varchar(254)),
                FieldState("display_name", Varchar(100), default=LiteralDefault("")),
                FieldState("joined", DateTime(), default=SqlDefault("CURRENT_TIMESTAMP")),
            ),
            indexes=(IndexState("accounts_author_email_idx", ("email",)),),
        ),
    ],
    initial=True,
)

"""A migration written by reinhardt-migrations."""

from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import AddField, RunCode
from reinhardt_migrations.pure.types import Varchar

migration = Migration(
    name="0002_product_slug",
    app_label="shop",
    dependencies=[("shop", "0001_initial")],
    operations=[
        AddField(
            app_label="shop",
            model_name="Product",
            field=FieldState("slug", Varchar(120), null=True, unique=True),
        ),
        RunCode(
            code="shop.backfill.fill_slugs",
            reverse_code="shop.backfill.clear_slugs",
            description="fill slugs from names, in batches",
        ),
    ],
)

"""A migration written by reinhardt-migrations."""

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.fields import FieldState, LiteralDefault, Relation
from reinhardt_migrations.pure.migration import Migration
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.types import BigAutoField, BigInteger, Boolean, Integer, Text, Varchar

migration = Migration(
    name="0001_initial",
    app_label="blog",
    dependencies=[("accounts", "0001_initial")],
    operations=[
        CreateModel(
            app_label="blog",
            name="Tag",
            fields=(
                FieldState("id", BigAutoField(), primary_key=True),
                FieldState("name", Varchar(50), unique=True),
            ),
        ),
        CreateModel(
            app_label="blog",
            name="Post",
            fields=(
                FieldState("id", BigAutoField(), primary_key=True),
                FieldState("title", Varchar(200)),
                FieldState("slug", Varchar(200), unique=True),
                FieldState("body", Text(), default=LiteralDefault("")),
                FieldState(
                    "author",
                    BigInteger(),
                    db_index=True,
                    relation=Relation("foreign_key", ("accounts", "Author")),
                ),
                FieldState("published", Boolean(), default=LiteralDefault(False)),
                FieldState("views", Integer(), default=LiteralDefault(0)),
                FieldState(
                    "tags",
                    BigInteger(),
                    relation=Relation("many_to_many", ("blog", "Tag"), db_table="blog_post_tags"),
                ),
            ),
            indexes=(IndexState("blog_post_published_title_idx", ("-published", "title")),),
            constraints=(ConstraintState("check", "blog_post_views_not_negative", check="views >= 0"),),
        ),
    ],
    initial=True,
)

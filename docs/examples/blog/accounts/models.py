"""Models of the accounts app (its app label, ``accounts``, comes from the module name)."""

from reinhardt_migrations.pure.models import DateTime, Index, Model, SqlDefault, Varchar


class Author(Model):
    """Someone who writes posts."""

    username = Varchar(50, unique=True)
    email = Varchar(254)
    display_name = Varchar(100, default="")
    joined = DateTime(default=SqlDefault("CURRENT_TIMESTAMP"))

    class Meta:
        indexes = [Index("email")]

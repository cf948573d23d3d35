"""The shop's models; the view is not a model: migration 0003 creates it with CreateView."""

from reinhardt_migrations.pure.models import Integer, Model, Varchar


class Product(Model):
    """Something for sale; ``slug`` is filled from ``name`` by migration 0002."""

    name = Varchar(100)
    price = Integer(default=0)
    slug = Varchar(120, null=True, unique=True)

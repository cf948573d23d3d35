"""Declarative model classes build the same ModelState values that migrations build."""

from __future__ import annotations

import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.errors import (
    DanglingRelation,
    InvalidValue,
    UnknownField,
)
from reinhardt_migrations.pure.fields import CallableDefault, FieldState, OnDelete, Relation
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.models import (
    CASCADE,
    SET_NULL,
    AutoField,
    BigAutoField,
    Boolean,
    CheckConstraint,
    Column,
    Decimal,
    ForeignKey,
    Index,
    Integer,
    ManyToMany,
    Model,
    OneToOne,
    Text,
    UniqueConstraint,
    Varchar,
    declaration_of,
    models_in,
    project_state_from_models,
)
from reinhardt_migrations.pure.operations import AddField, AddIndex, CreateModel
from reinhardt_migrations.pure.types import BigInteger as BigIntegerType
from reinhardt_migrations.pure.types import Char as CharType
from reinhardt_migrations.pure.types import Integer as IntegerType
from reinhardt_migrations.pure.types import Varchar as VarcharType


def test_a_blog_declared_as_classes_equals_the_state_its_migration_builds() -> None:
    class Author(Model):
        name = Varchar(100)
        email = Varchar(254, unique=True)

        class Meta:
            app_label = "blog"

    class Post(Model):
        title = Varchar(200)
        body = Text(null=True)
        author = ForeignKey("blog.Author", on_delete=CASCADE)

        class Meta:
            app_label = "blog"
            indexes = [Index("title", name="post_title_idx")]

    # The same schema written as a migration, the way a user writes one by hand.
    migration = Migration(
        "0001_initial",
        "blog",
        operations=[
            CreateModel(
                "blog",
                "Author",
                [
                    FieldState("id", "bigauto", primary_key=True),
                    FieldState("name", "VARCHAR(100)"),
                    FieldState("email", "VARCHAR(254)", unique=True),
                ],
            ),
            CreateModel(
                "blog",
                "Post",
                [
                    FieldState("id", "bigauto", primary_key=True),
                    FieldState("title", "VARCHAR(200)"),
                    FieldState("body", "TEXT", null=True),
                ],
            ),
            AddField(
                "blog",
                "Post",
                FieldState(
                    "author",
                    "BIGINT",
                    db_index=True,
                    relation=Relation("foreign_key", "blog.Author", OnDelete.CASCADE),
                ),
            ),
            AddIndex("blog", "Post", IndexState("post_title_idx", ("title",))),
        ],
    )
    assert project_state_from_models([Author, Post]) == replay([migration])


def test_a_model_without_a_primary_key_gets_a_big_auto_id_first() -> None:
    class Tag(Model):
        name = Varchar(50)

        class Meta:
            app_label = "shop"

    model = declaration_of(Tag).model_state()
    assert model.field_names() == ("id", "name")
    assert model.field("id").primary_key
    assert model.field("id").type == BigAutoField().column_type()


def test_fields_keep_the_order_of_the_class_body() -> None:
    class Row(Model):
        zeta = Integer()
        alpha = Integer()
        middle = Boolean(default=False)

        class Meta:
            app_label = "shop"

    assert declaration_of(Row).model_state().field_names() == ("id", "zeta", "alpha", "middle")


def test_an_unknown_keyword_of_a_field_is_refused_at_once() -> None:
    with pytest.raises(TypeError):
        ForeignKey("geo.City", related_name="x")  # type: ignore[call-arg]


def test_relation_types_follow_auto_varchar_and_one_to_one_keys() -> None:
    class Country(Model):
        code = Column("CHAR(2)", primary_key=True)

        class Meta:
            app_label = "geo"

    class City(Model):
        id = AutoField(primary_key=True)
        name = Varchar(80, unique=True)
        country = ForeignKey(Country, on_delete=CASCADE)

        class Meta:
            app_label = "geo"

    class Mayor(Model):
        city = OneToOne("City", primary_key=True, on_delete=CASCADE)

        class Meta:
            app_label = "geo"

    class Street(Model):
        city = ForeignKey("City", on_delete=CASCADE)
        city_name = ForeignKey("geo.City", to_field="name", on_delete=CASCADE)
        mayor = ForeignKey(Mayor, null=True, on_delete=SET_NULL)

        class Meta:
            app_label = "geo"

    state = project_state_from_models([Country, City, Mayor, Street])
    city = state.model("geo", "City")
    street = state.model("geo", "Street")
    assert city.field("country").type == CharType(2)
    assert street.field("city").type == IntegerType()  # an AutoField key is held in an integer
    assert street.field("city_name").type == VarcharType(80)
    assert street.field("mayor").type == IntegerType()  # Mayor's key is a one-to-one to City's integer key
    assert street.field("mayor").column == "mayor_id"
    assert street.field("mayor").relation == Relation("foreign_key", "geo.Mayor", OnDelete.SET_NULL)
    assert state.model("geo", "Mayor").field("city").primary_key


def test_foreign_keys_are_indexed_and_one_to_one_keys_unique_by_default() -> None:
    class Owner(Model):
        class Meta:
            app_label = "farm"

    class Dog(Model):
        owner = ForeignKey(Owner, on_delete=CASCADE)
        walker = ForeignKey(Owner, on_delete=CASCADE, db_index=False)
        passport = OneToOne(Owner, on_delete=CASCADE)

        class Meta:
            app_label = "farm"

    dog = project_state_from_models([Owner, Dog]).model("farm", "Dog")
    assert dog.field("owner").db_index
    assert not dog.field("owner").unique
    assert not dog.field("walker").db_index
    assert dog.field("passport").unique
    assert not dog.field("passport").db_index
    assert dog.field("owner").type == BigIntegerType()


def test_many_to_many_has_no_column_and_points_at_self_or_another_model() -> None:
    class Person(Model):
        friends = ManyToMany("self")
        groups = ManyToMany("Group")

        class Meta:
            app_label = "social"

    class Group(Model):
        class Meta:
            app_label = "social"

    person = project_state_from_models(models_in(locals())).model("social", "Person")
    assert person.field("friends").column is None
    friends = person.field("friends").relation
    groups = person.field("groups").relation
    assert friends is not None
    assert groups is not None
    assert (friends.kind, friends.to) == ("many_to_many", ("social", "Person"))
    assert (groups.kind, groups.to) == ("many_to_many", ("social", "Group"))
    # The automatic join table is named after the model's table and the field.
    assert groups.db_table == "social_person_groups"


def test_meta_options_reach_the_model_state() -> None:
    class Product(Model):
        sku = Varchar(20)
        shop = Integer()
        price = Decimal(10, 2)

        class Meta:
            app_label = "shop"
            db_table = "products"
            indexes = [Index("shop", "-price"), Index(fields=["sku"], name="sku_idx", unique=True)]
            constraints = [
                UniqueConstraint("sku", "shop"),
                CheckConstraint(check="price >= 0", name="price_not_negative"),
            ]
            unique_together = ("shop", "price")
            comment = "What we sell"
            options = {"engine": "InnoDB"}
            previous_name = "Article"

    model = declaration_of(Product).model_state()
    assert model.db_table == "products"
    # Unnamed objects are named after the table and the columns, like field constraints.
    assert model.indexes == (
        IndexState("products_shop_price_idx", ("shop", "-price")),
        IndexState("sku_idx", ("sku",), unique=True),
    )
    assert model.constraints == (
        ConstraintState.unique_on("products_sku_shop_uniq", ("sku", "shop")),
        ConstraintState.check_that("price_not_negative", "price >= 0"),
    )
    assert [entry.fields for entry in model.unique_together] == [("shop", "price")]
    assert model.comment == "What we sell"
    assert dict(model.options) == {"engine": "InnoDB"}
    assert model.previous_name == "Article"


def test_rename_hints_are_carried_but_left_out_of_equality() -> None:
    class Before(Model):
        email = Varchar(100)

        class Meta:
            app_label = "people"

    class After(Model):
        email = Varchar(100, previous_name="mail")

        class Meta:
            app_label = "people"

    before = declaration_of(Before).model_state()
    after = declaration_of(After).model_state()
    assert after.field("email").previous_name == "mail"
    assert before.fields == after.fields


def test_a_python_function_default_is_stored_by_its_dotted_path() -> None:
    class Token(Model):
        value = Varchar(40, default=_new_token)
        active = Boolean(default=True)

        class Meta:
            app_label = "auth"

    model = declaration_of(Token).model_state()
    assert model.field("value").default == CallableDefault(f"{__name__}._new_token")
    assert model.field("active").default.describe() == "True"


def _new_token() -> str:
    return "token"


def test_the_app_label_comes_from_an_app_models_module() -> None:
    namespace: dict[str, object] = {"Model": Model, "Varchar": Varchar, "__name__": "library.models"}
    exec("class Book(Model):\n    title = Varchar(10)\n", namespace)
    assert declaration_of(namespace["Book"]).key == ("library", "Book")  # type: ignore[arg-type]


def test_a_model_without_an_app_label_is_refused_where_it_is_written() -> None:
    namespace: dict[str, object] = {"Model": Model, "Varchar": Varchar, "__name__": "loose"}
    with pytest.raises(InvalidValue, match=r"loose\.Book.*Meta\.app_label"):
        exec("class Book(Model):\n    title = Varchar(10)\n", namespace)


def test_a_misspelt_meta_option_is_refused() -> None:
    with pytest.raises(InvalidValue, match="uniqe_together"):

        class Book(Model):
            title = Varchar(10)

            class Meta:
                app_label = "library"
                uniqe_together = ("title",)


def test_a_bad_field_names_app_model_and_field() -> None:
    with pytest.raises(InvalidValue, match=r"library\.Book\.title.*max_length"):

        class Book(Model):
            title = Varchar(0)

            class Meta:
                app_label = "library"


def test_an_index_on_a_missing_field_names_the_model_and_field() -> None:
    with pytest.raises(UnknownField, match=r"library\.Book.*'subtitle'"):

        class Book(Model):
            title = Varchar(10)

            class Meta:
                app_label = "library"
                indexes = [Index("subtitle")]


def test_abstract_bases_lend_fields_and_meta_but_are_not_models() -> None:
    class Stamped(Model):
        created = Integer(default=0)

        class Meta:
            abstract = True
            app_label = "news"

    class Story(Stamped):
        headline = Varchar(90)

    assert models_in({"Stamped": Stamped, "Story": Story, "other": 3}) == (Story,)
    story = declaration_of(Story).model_state()
    assert story.key == ("news", "Story")
    assert story.field_names() == ("id", "created", "headline")


def test_inheriting_from_a_concrete_model_is_refused() -> None:
    class Animal(Model):
        class Meta:
            app_label = "zoo"

    with pytest.raises(InvalidValue, match=r"concrete model zoo\.Animal"):

        class Cat(Animal):
            class Meta:
                app_label = "zoo"


def test_a_relation_to_a_model_that_is_not_collected_is_dangling() -> None:
    class Comment(Model):
        post = ForeignKey("blog.Post", on_delete=CASCADE)

        class Meta:
            app_label = "talk"

    with pytest.raises(DanglingRelation, match=r"talk\.Comment\.post.*blog\.Post"):
        project_state_from_models([Comment])


def test_one_model_declared_by_two_classes_is_refused() -> None:
    def make() -> type[Model]:
        class Item(Model):
            class Meta:
                app_label = "dup"

        return Item

    with pytest.raises(InvalidValue, match=r"dup\.Item.*declared twice"):
        project_state_from_models([make(), make()])


def test_models_in_takes_each_class_once_sorted_by_key() -> None:
    class Zebra(Model):
        class Meta:
            app_label = "a"

    class Ant(Model):
        class Meta:
            app_label = "b"

    found = models_in({"x": Ant, "y": Zebra, "alias": Ant, "Model": Model, "n": 1})
    assert found == (Zebra, Ant)

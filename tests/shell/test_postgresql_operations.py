"""Each kind of operation run by the executor on a real PostgreSQL server, with rows in the tables.

Every test migrates step by step, reads the rows through a separate connection, and
compares the catalog with ``schema_of`` the state each step produced (law 3); most then
migrate back and check the schema and the rows that must survive (law 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import psycopg
import pytest

from reinhardt_migrations.pure.constraints import ConstraintState, IndexState
from reinhardt_migrations.pure.dialects import dialect_for
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.introspection import DatabaseSchema, schema_from_catalog, schema_of
from reinhardt_migrations.pure.migration import Migration, replay
from reinhardt_migrations.pure.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AddIndexConcurrently,
    AlterField,
    AlterModelTable,
    AlterUniqueTogether,
    CreateCollation,
    CreateExtension,
    CreateModel,
    DeleteModel,
    Operation,
    RemoveCollation,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
    RemoveIndexConcurrently,
    RenameField,
    RenameIndex,
    RenameModel,
    RunCode,
    RunSQL,
)
from reinhardt_migrations.pure.state import ProjectState
from reinhardt_migrations.pure.types import (
    Array,
    BigAutoField,
    BigInteger,
    Boolean,
    Integer,
    Json,
    Text,
    Uuid,
    Varchar,
)
from reinhardt_migrations.shell.backends.postgresql import PostgresqlBackend
from reinhardt_migrations.shell.errors import DatabaseError
from reinhardt_migrations.shell.executor import MigrationExecutor
from reinhardt_migrations.shell.recorder import DEFAULT_TABLE

D = dialect_for("postgresql")
ID = FieldState("id", BigAutoField(), primary_key=True)
AUTHOR = CreateModel("shop", "Author", [ID, FieldState("name", Varchar(50))])
BOOK = CreateModel(
    "shop",
    "Book",
    [
        ID,
        FieldState("title", Varchar(100)),
        FieldState("pages", Integer(), null=True),
        FieldState("author", BigInteger(), null=True, relation=Relation("foreign_key", "shop.Author")),
    ],
)


class Database:
    """A real database, migrated one migration at a time, read through a second connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = PostgresqlBackend(url)
        self.reader = psycopg.connect(url, autocommit=True)
        self.migrations: list[Migration] = []

    def close(self) -> None:
        self.backend.close()
        self.reader.close()

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.reader.execute(sql, params or None).fetchall()  # type: ignore[arg-type]

    def run(self, sql: str, *params: Any) -> None:
        self.reader.execute(sql, params or None)  # type: ignore[arg-type]

    def state(self, count: int | None = None) -> ProjectState:
        return replay(self.migrations[: len(self.migrations) if count is None else count])

    def executor(self) -> MigrationExecutor:
        return MigrationExecutor(self.backend, self.migrations, resolve_code=_code)

    def migrate(self, *operations: Operation, atomic: bool = True) -> ProjectState:
        """Apply one more migration of ``operations``; check the schema is the new state's."""
        previous = [("shop", self.migrations[-1].name)] if self.migrations else []
        name = f"{len(self.migrations) + 1:04d}"
        self.migrations.append(Migration(name, "shop", previous, operations, atomic=atomic))
        self.executor().migrate()
        self.assert_schema()
        return self.state()

    def back(self, steps: int = 1, *, any_column_order: bool = False) -> ProjectState:
        """Unapply the last ``steps`` migrations; check the schema is the earlier state's."""
        keep = len(self.migrations) - steps
        target = ("shop", self.migrations[keep - 1].name if keep else "zero")
        self.executor().migrate([target])
        self.migrations = self.migrations[:keep]
        self.assert_schema(any_column_order=any_column_order)
        return self.state()

    def assert_schema(self, *, any_column_order: bool = False) -> None:
        found = schema_from_catalog(self.backend.catalog().without_tables([DEFAULT_TABLE]), D)
        expected = schema_of(self.state(), D)
        if any_column_order:
            found, expected = in_any_column_order(found), in_any_column_order(expected)
        assert found == expected, "\n".join(expected.differences(found))


def in_any_column_order(schema: DatabaseSchema) -> DatabaseSchema:
    """Return ``schema`` with columns sorted by name (PostgreSQL adds a column back at the end)."""
    return DatabaseSchema(
        [attrs.evolve(table, columns=sorted(table.columns, key=lambda c: c.name)) for table in schema.tables]
    )


_CALLS: list[tuple[str, object]] = []


def fill_titles(connection: psycopg.Connection[Any], state: ProjectState) -> None:
    """RunCode target: runs in the migration's transaction with the historical state."""
    _CALLS.append(("fill", sorted(m.name for m in state)))
    connection.execute("UPDATE shop_book SET title = upper(title)")


def lower_titles(connection: psycopg.Connection[Any], state: ProjectState) -> None:
    """RunCode target undoing ``fill_titles``."""
    _CALLS.append(("lower", sorted(m.name for m in state)))
    connection.execute("UPDATE shop_book SET title = lower(title)")


def _code(path: str) -> Any:
    return {"tests.fill_titles": fill_titles, "tests.lower_titles": lower_titles}[path]


@pytest.fixture
def db(postgresql_url: str) -> Iterator[Database]:
    database = Database(postgresql_url)
    yield database
    database.close()


def with_books(db: Database) -> None:
    db.migrate(AUTHOR, BOOK)
    db.run("INSERT INTO shop_author (name) VALUES ('Ann'), ('Bob')")
    db.run(
        "INSERT INTO shop_book (title, pages, author_id) VALUES ('a', 10, 1), ('b', NULL, 2), ('c', 30, NULL)"
    )


# -- models ------------------------------------------------------------------------------


def test_created_tables_take_rows_ids_and_enforce_their_keys(db: Database) -> None:
    with_books(db)
    assert db.rows("SELECT id, name FROM shop_author ORDER BY id") == [(1, "Ann"), (2, "Bob")]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.run("INSERT INTO shop_book (title, author_id) VALUES ('x', 99)")
    db.run("DELETE FROM shop_author WHERE id = 1")  # ON DELETE CASCADE
    assert db.rows("SELECT title FROM shop_book ORDER BY title") == [("b",), ("c",)]
    db.back()
    assert db.rows("SELECT count(*) FROM pg_class WHERE relname LIKE 'shop_%'") == [(0,)]


def test_models_pointing_at_each_other_are_created_in_one_migration(db: Database) -> None:
    favourite = FieldState(
        "favourite", BigInteger(), null=True, relation=Relation("foreign_key", "shop.Book")
    )
    db.migrate(AUTHOR, BOOK, AddField("shop", "Author", favourite))
    db.run("INSERT INTO shop_author (name) VALUES ('Ann')")
    db.run("INSERT INTO shop_book (title, author_id) VALUES ('a', 1)")
    db.run("UPDATE shop_author SET favourite_id = 1")
    db.back()


def test_rename_model_and_its_table_keep_rows_and_foreign_keys(db: Database) -> None:
    with_books(db)
    db.migrate(RenameModel("shop", "Author", "Writer"))
    assert db.rows("SELECT name FROM shop_writer ORDER BY id") == [("Ann",), ("Bob",)]
    db.migrate(AlterModelTable("shop", "Writer", "writers"))
    db.run("DELETE FROM writers WHERE id = 2")
    assert db.rows("SELECT title FROM shop_book ORDER BY title") == [("a",), ("c",)]
    db.run("INSERT INTO writers (name) VALUES ('Cy')")  # the identity still counts
    assert db.rows("SELECT max(id) FROM writers") == [(3,)]
    db.back(2)
    assert db.rows("SELECT name FROM shop_author ORDER BY id") == [("Ann",), ("Cy",)]


def test_delete_model_and_back(db: Database) -> None:
    with_books(db)
    db.migrate(DeleteModel("shop", "Book"))
    db.back()
    assert db.rows("SELECT count(*) FROM shop_book") == [(0,)]


# -- fields ------------------------------------------------------------------------------


def test_added_fields_fill_existing_rows(db: Database) -> None:
    with_books(db)
    db.migrate(
        AddField("shop", "Book", FieldState("note", Text(), null=True)),
        AddField("shop", "Book", FieldState("stock", Integer(), default=5)),
        AddField("shop", "Book", FieldState("code", Varchar(10), default="none"), preserve_default=False),
    )
    assert db.rows("SELECT title, note, stock, code FROM shop_book ORDER BY title") == [
        ("a", None, 5, "none"),
        ("b", None, 5, "none"),
        ("c", None, 5, "none"),
    ]
    db.run("INSERT INTO shop_book (title, code) VALUES ('d', 'x')")
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.run("INSERT INTO shop_book (title) VALUES ('e')")  # the one-off default is gone
    db.back()
    assert db.rows("SELECT title FROM shop_book ORDER BY title") == [("a",), ("b",), ("c",), ("d",)]


def test_remove_field_and_back(db: Database) -> None:
    with_books(db)
    db.migrate(RemoveField("shop", "Book", "pages"))
    db.back(any_column_order=True)  # comes back empty and last: PostgreSQL adds columns at the end
    assert db.rows("SELECT title, pages FROM shop_book ORDER BY title") == [
        ("a", None),
        ("b", None),
        ("c", None),
    ]


def test_rename_field_keeps_values_and_keys(db: Database) -> None:
    with_books(db)
    db.migrate(
        RenameField("shop", "Book", "author", "writer"), RenameField("shop", "Book", "pages", "length")
    )
    assert db.rows("SELECT writer_id, length FROM shop_book ORDER BY title") == [
        (1, 10),
        (2, None),
        (None, 30),
    ]
    db.back()
    assert db.rows("SELECT author_id, pages FROM shop_book ORDER BY title") == [
        (1, 10),
        (2, None),
        (None, 30),
    ]


def test_alter_field_widens_and_converts_values_with_using(db: Database) -> None:
    with_books(db)
    db.migrate(
        AlterField("shop", "Book", "title", FieldState("title", Text())),
        AlterField("shop", "Book", "pages", FieldState("pages", BigInteger(), null=True)),
    )
    db.migrate(AddField("shop", "Book", FieldState("digits", Varchar(5), default="42")))
    db.migrate(AlterField("shop", "Book", "digits", FieldState("digits", Integer(), default=42)))
    db.migrate(AlterField("shop", "Book", "digits", FieldState("digits", Boolean(), default=True)))
    assert db.rows("SELECT DISTINCT digits FROM shop_book") == [(True,)]
    db.back(3)
    assert db.rows("SELECT title, pages FROM shop_book ORDER BY title") == [("a", 10), ("b", None), ("c", 30)]


def test_not_null_fills_nulls_even_where_deferred_keys_are_pending(db: Database) -> None:
    with_books(db)
    # The fill updates a foreign key column: its deferred check is queued, and PostgreSQL
    # refuses to ALTER a table with queued checks unless they run first.
    not_null = FieldState("author", BigInteger(), default=1, relation=Relation("foreign_key", "shop.Author"))
    db.migrate(AlterField("shop", "Book", "author", not_null))
    assert db.rows("SELECT title, author_id FROM shop_book ORDER BY title") == [("a", 1), ("b", 2), ("c", 1)]
    db.back()
    db.run("UPDATE shop_book SET author_id = NULL WHERE title = 'c'")


def test_arrays_uuids_and_json_hold_their_values(db: Database) -> None:
    db.migrate(
        CreateModel(
            "shop",
            "Item",
            [
                FieldState("id", Uuid(), primary_key=True),
                FieldState("tags", Array(Varchar(20)), null=True),
                FieldState("data", Json(), null=True),
                FieldState("sizes", Integer(), null=True),
            ],
        )
    )
    db.run(
        "INSERT INTO shop_item VALUES ('00000000-0000-0000-0000-000000000001', %s, %s, 3)",
        ["a", "b"],
        psycopg.types.json.Jsonb({"k": [1, 2]}),
    )
    db.migrate(AlterField("shop", "Item", "sizes", FieldState("sizes", Array(Integer()), null=True)))
    assert db.rows("SELECT tags, data, sizes FROM shop_item") == [(["a", "b"], {"k": [1, 2]}, [3])]
    db.back()
    assert db.rows("SELECT sizes FROM shop_item") == [(3,)]


# -- indexes and constraints ---------------------------------------------------------------


def test_partial_descending_index_rename_and_removal(db: Database) -> None:
    with_books(db)
    index = IndexState("book_recent", ["-pages", "title"], condition="pages > 0")
    db.migrate(AddIndex("shop", "Book", index))
    definition = (
        "CREATE INDEX book_recent ON public.shop_book USING btree (pages DESC, title) WHERE (pages > 0)"
    )
    assert db.rows("SELECT indexdef FROM pg_indexes WHERE indexname = 'book_recent'") == [(definition,)]
    oid = db.rows("SELECT 'book_recent'::regclass::oid")
    db.migrate(RenameIndex("shop", "Book", "book_recent", "book_newest"))
    assert db.rows("SELECT 'book_newest'::regclass::oid") == oid  # renamed, not rebuilt
    db.migrate(RemoveIndex("shop", "Book", "book_newest"))
    db.back(3)


def test_constraints_and_unique_together(db: Database) -> None:
    with_books(db)
    db.migrate(
        AddConstraint("shop", "Book", ConstraintState.check_that("pages_positive", "pages > 0")),
        AddConstraint("shop", "Book", ConstraintState.unique_on("one_title", ["title"])),
        AlterUniqueTogether("shop", "Book", [("title", "author")]),
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        db.run("UPDATE shop_book SET pages = -1")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.run("INSERT INTO shop_book (title) VALUES ('a')")
    db.migrate(RemoveConstraint("shop", "Book", "one_title"))
    db.back(2)
    db.run("INSERT INTO shop_book (title) VALUES ('a')")


def test_a_constraint_the_rows_break_fails_and_leaves_nothing(db: Database) -> None:
    with_books(db)
    db.run("UPDATE shop_book SET title = 'same'")
    catalog = db.backend.catalog()
    recorded = db.rows(f"SELECT app, name FROM {DEFAULT_TABLE} ORDER BY name")
    with pytest.raises(DatabaseError) as raised:
        db.migrate(
            AddField("shop", "Book", FieldState("isbn", Varchar(13), null=True)),
            AddConstraint("shop", "Book", ConstraintState.unique_on("one_title", ["title"])),
        )
    assert "shop.0002" in str(raised.value)
    assert "#2 (Create constraint one_title on model shop.Book)" in str(raised.value)
    assert "rolled back" in str(raised.value)
    assert db.backend.catalog() == catalog
    assert db.rows(f"SELECT app, name FROM {DEFAULT_TABLE} ORDER BY name") == recorded


def test_many_to_many_join_table_comes_and_goes(db: Database) -> None:
    with_books(db)
    fans = FieldState("fans", BigInteger(), relation=Relation("many_to_many", "shop.Author"))
    db.migrate(AddField("shop", "Book", fans))
    db.run("INSERT INTO shop_book_fans (book_id, author_id) VALUES (1, 1), (1, 2)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.run("INSERT INTO shop_book_fans (book_id, author_id) VALUES (1, 1)")
    db.migrate(RenameModel("shop", "Book", "Volume"))
    assert db.rows("SELECT volume_id, author_id FROM shop_book_fans ORDER BY author_id") == [(1, 1), (1, 2)]
    db.back(2)
    assert not db.rows("SELECT 1 FROM pg_class WHERE relname = 'shop_book_fans'")


def test_concurrent_index_builds_outside_the_transaction(db: Database) -> None:
    with_books(db)
    index = IndexState("book_title", ["title"], unique=True)
    db.migrate(AddIndexConcurrently("shop", "Book", index))
    assert db.rows(
        "SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = 'book_title'::regclass"
    ) == [(True, True)]
    db.migrate(RemoveIndexConcurrently("shop", "Book", "book_title"))
    db.back()
    assert db.rows("SELECT indisvalid FROM pg_index WHERE indexrelid = 'book_title'::regclass") == [(True,)]
    db.back()
    db.migrations.append(
        Migration("0002", "shop", [("shop", "0001")], [AddIndexConcurrently("shop", "Book", index)])
    )
    (preview,) = db.executor().preview()
    assert not preview.sql.atomic
    assert "-- runs outside the transaction" in preview.describe()


# -- project objects and code -----------------------------------------------------------------


def test_extensions_and_collations(db: Database) -> None:
    collation = ("no_case", "und-u-ks-level2", "icu", False)
    db.migrate(CreateExtension("hstore"), CreateCollation(*collation))
    assert db.rows("SELECT extname FROM pg_extension WHERE extname = 'hstore'") == [("hstore",)]
    assert db.rows(
        "SELECT collprovider, collisdeterministic FROM pg_collation WHERE collname = 'no_case'"
    ) == [("i", False)]
    assert db.rows("SELECT 'ABC' = 'abc' COLLATE no_case") == [(True,)]
    db.migrate(RemoveCollation(*collation))
    assert not db.rows("SELECT 1 FROM pg_collation WHERE collname = 'no_case'")
    db.back(2)
    assert not db.rows("SELECT 1 FROM pg_extension WHERE extname = 'hstore'")


def test_run_sql_and_run_code_share_the_migration_transaction(db: Database) -> None:
    with_books(db)
    _CALLS.clear()
    db.migrate(
        RunSQL(
            ["INSERT INTO shop_author (name) VALUES ('Cy')"], ["DELETE FROM shop_author WHERE name = 'Cy'"]
        ),
        RunCode("tests.fill_titles", "tests.lower_titles"),
    )
    assert _CALLS == [("fill", ["Author", "Book"])]
    assert db.rows("SELECT title FROM shop_book ORDER BY title") == [("A",), ("B",), ("C",)]
    db.back()
    assert _CALLS[-1] == ("lower", ["Author", "Book"])
    assert db.rows("SELECT name FROM shop_author ORDER BY id") == [("Ann",), ("Bob",)]
    assert db.rows("SELECT title FROM shop_book ORDER BY title") == [("a",), ("b",), ("c",)]


def test_renamed_field_is_followed_into_checks_and_partial_indexes(db: Database) -> None:
    with_books(db)
    db.migrate(
        AddConstraint("shop", "Book", ConstraintState.check_that("pages_positive", "pages > 0")),
        AddIndex("shop", "Book", IndexState("long_books", ["title"], condition="pages > 300")),
    )
    state = db.migrate(RenameField("shop", "Book", "pages", "page_count"))  # the catalog is compared
    assert state.model("shop", "Book").constraint("pages_positive").check == "page_count > 0"
    with pytest.raises(psycopg.errors.CheckViolation):
        db.run("UPDATE shop_book SET page_count = -1")
    db.back(1)

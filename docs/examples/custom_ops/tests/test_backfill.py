"""The data migration 0002 fills slugs, in batches, and its backwards clears them."""

import pytest
from shop import backfill

from reinhardt_migrations.shell.pytest_plugin import Migrator


def test_slugs_are_filled_from_names_and_keys(migrator: Migrator) -> None:
    migrator.migrate("shop", "0001_initial")
    migrator.insert("shop.Product", name="Red Chair!", price=5)
    migrator.insert("shop.Product", name="Red Chair!", price=7)
    migrator.migrate("shop", "0002_product_slug")
    assert migrator.rows("shop.Product", "name", "slug") == [
        {"name": "Red Chair!", "slug": "red-chair-1"},
        {"name": "Red Chair!", "slug": "red-chair-2"},
    ]


def test_the_backfill_walks_every_batch(migrator: Migrator, monkeypatch: pytest.MonkeyPatch) -> None:
    migrator.migrate("shop", "0001_initial")
    for number in range(12):
        migrator.insert("shop.Product", name=f"Lamp {number}")
    monkeypatch.setattr(backfill, "BATCH_SIZE", 5)  # three batches: 5, 5 and 2 rows
    migrator.migrate("shop", "0002_product_slug")
    slugs = [row["slug"] for row in migrator.rows("shop.Product", "slug")]
    assert slugs == [f"lamp-{number}-{number + 1}" for number in range(12)]


def test_unapplying_clears_the_slugs_and_the_view_goes(migrator: Migrator) -> None:
    migrator.migrate()
    migrator.insert("shop.Product", name="Mug", price=3, slug="mug")
    assert migrator.query("SELECT name FROM shop_cheap_product") == [("Mug",)]
    state = migrator.migrate("shop", "0001_initial")
    assert not state.views
    assert migrator.rows("shop.Product", "name") == [{"name": "Mug"}]

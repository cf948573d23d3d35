"""A small shop: products, a slug filled by a data migration, and a view of the cheap ones."""

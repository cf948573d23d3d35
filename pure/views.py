"""Views as first-class state objects: ``ViewState`` values kept in ``ProjectState.views``.

Theory of operation: a view is a name and the SELECT that defines it, kept as written,
with other spellings per dialect where quoting differs (MySQL's backticks), as
``RawType`` does for column types.
No built-in operation creates one; custom operations do (docs/custom-operations.md walks
through a ``CreateView``), with ``state.with_view(view)`` and ``state.without_view(name)``
in ``state_forwards`` and the statements below in ``database_forwards``. Views share the
namespace of tables, so a view named like a table is refused.

The SELECT is opaque SQL: the state does not know which tables a view reads, so built-in
operations neither follow nor refuse changes to them (docs/custom-operations.md lists
what each database then does). Comparing a database with a state (law 3) checks the
view names everywhere, and on SQLite, which keeps the text as written, that the stored
``CREATE VIEW`` ends with the state's SELECT (``view_differences``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.convert import str_map
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import check_identifier
from reinhardt_migrations.pure.sql import Statement

if TYPE_CHECKING:
    # The state imports this module and the dialects import the state: annotations only.
    from reinhardt_migrations.pure.dialects.base import Dialect

__all__ = [
    "ViewState",
    "create_view_statement",
    "drop_view_statement",
    "view_differences",
]


def _check_select(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise InvalidValue(f"view {name!r}", f"its SQL {value!r} must be a non-empty SELECT")
    if value.rstrip().endswith(";"):
        raise InvalidValue(f"view {name!r}", "leave the final ';' out of its SQL")


@attrs.frozen
class ViewState:
    """A database view: its name and the SELECT that defines it, as written.

    ``per_dialect`` holds other spellings by dialect name (``{"mysql": "SELECT `a` FROM `t`"}``).
    """

    name: str = attrs.field(validator=check_identifier)
    sql: str
    per_dialect: PMap[str, str] = attrs.field(factory=pmap, converter=str_map)

    def __attrs_post_init__(self) -> None:
        for text in (self.sql, *self.per_dialect.values()):
            _check_select(self.name, text)

    def sql_for(self, dialect_name: str) -> str:
        """Return the SELECT as ``dialect_name`` spells it."""
        return self.per_dialect.get(dialect_name, self.sql)

    def describe(self) -> str:
        """Return e.g. ``view shop_cheap_products``."""
        return f"view {self.name}"


def create_view_statement(dialect: Dialect, view: ViewState) -> Statement:
    """Return ``CREATE VIEW <name> AS <sql>`` quoted and spelled for ``dialect``."""
    return Statement(f"CREATE VIEW {dialect.quote(view.name)} AS {view.sql_for(dialect.name)}")


def drop_view_statement(dialect: Dialect, name: str) -> Statement:
    """Return ``DROP VIEW <name>`` quoted for ``dialect``."""
    return Statement(f"DROP VIEW {dialect.quote(name)}")


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def view_differences(
    expected: Mapping[str, ViewState], found: Mapping[str, str | None], dialect_name: str
) -> tuple[str, ...]:
    """Return how the views a database holds (``name -> stored SQL``) differ from a state's.

    Names are compared on every database; the SQL only on SQLite, which keeps the
    ``CREATE VIEW`` text as written (PostgreSQL and MySQL keep a rewritten form).
    """
    lines: list[str] = []
    for name in sorted(set(expected) | set(found)):
        view = expected.get(name)
        if view is None:
            lines.append(f"view {name}: in the database, not in the state")
        elif name not in found:
            lines.append(f"view {name}: in the state, not in the database")
        elif dialect_name == "sqlite" and not _words(found[name] or "").endswith(
            _words(view.sql_for("sqlite"))
        ):
            lines.append(
                f"view {name}: the database defines it as {found[name]!r}, the state as "
                f"{view.sql_for('sqlite')!r}"
            )
    return tuple(lines)

"""Several databases: for random routes of a random history, migrating every database applies each
migration exactly once, on its app's database, after everything it depends on.

Histories are random DAGs over a few apps (each migration depends only on migrations drawn
before it, within its app and across apps); routes send each app to one of a few aliases.
Each alias is a real in-memory SQLite database with its own recorder; the migrations have
no operations, so what is checked is the recording and the order, across databases.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from reinhardt_migrations.pure.migration import Migration, MigrationKey
from reinhardt_migrations.pure.routing import DatabaseRoutes
from reinhardt_migrations.shell.databases import DatabaseMigrationExecutor, DatabaseStepResult

APPS = ("auth", "blog", "core", "shop")
ALIASES = ("default", "one", "two")


@st.composite
def projects(draw: st.DrawFn) -> tuple[tuple[Migration, ...], DatabaseRoutes]:
    """Draw a history over a few apps and routes of those apps to a few databases."""
    apps = APPS[: draw(st.integers(1, len(APPS)))]
    migrations: list[Migration] = []
    last_in_app: dict[str, MigrationKey] = {}
    for index in range(draw(st.integers(0, 14))):
        app = draw(st.sampled_from(apps))
        name = f"{draw(st.integers(0, 30)):04d}_m{index}"
        earlier = [migration.key for migration in migrations]
        dependencies = set(draw(st.lists(st.sampled_from(earlier), max_size=3)) if earlier else [])
        if app in last_in_app:
            dependencies.add(last_in_app[app])
        migrations.append(Migration(name, app, dependencies=sorted(dependencies)))
        last_in_app[app] = (app, name)
    aliases = ALIASES[: draw(st.integers(1, len(ALIASES)))]
    routes = {app: draw(st.sampled_from(aliases)) for app in apps if draw(st.booleans())}
    return tuple(migrations), DatabaseRoutes(aliases, routes)


def closure(migrations: tuple[Migration, ...], key: MigrationKey) -> Iterator[MigrationKey]:
    by_key = {migration.key: migration for migration in migrations}
    pending = list(by_key[key].dependencies)
    seen: set[MigrationKey] = set()
    while pending:
        dependency = pending.pop()
        if dependency not in seen:
            seen.add(dependency)
            yield dependency
            pending.extend(by_key[dependency].dependencies)


@given(project=projects())
def test_migrating_every_database_applies_each_migration_once_on_its_database(
    project: tuple[tuple[Migration, ...], DatabaseRoutes],
) -> None:
    migrations, routes = project
    urls = dict.fromkeys(routes.aliases, "sqlite://:memory:")
    with DatabaseMigrationExecutor(urls, migrations, routes) as executor:
        planned = executor.plan()
        result = executor.migrate()
        steps = result.steps
        keys = [step.key for step in steps]
        # Exactly once each, as planned.
        assert sorted(keys) == sorted(migration.key for migration in migrations)
        assert keys == [step.key for step in planned]
        position = {key: index for index, key in enumerate(keys)}
        for step in steps:
            assert isinstance(step, DatabaseStepResult)
            # On its app's database ...
            assert step.database == routes.alias_of(step.key[0])
            assert not step.backwards
            # ... after everything it depends on, wherever that lives.
            for dependency in closure(migrations, step.key):
                assert position[dependency] < position[step.key]
        # Each recorder holds its own apps' migrations and nothing else.
        for alias in routes.aliases:
            rows = set(executor.executor(alias).applied())
            assert rows == {key for key in keys if routes.alias_of(key[0]) == alias}
        # And a second run has nothing left to do.
        assert executor.migrate().steps == ()

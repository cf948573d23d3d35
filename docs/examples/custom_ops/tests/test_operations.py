"""Every law for CreateView and DropView, on SQLite and on the servers given (--rmig-database)."""

from shop.strategies import create_views, drop_views

from reinhardt_migrations.pure.strategies import project_states, states_after
from reinhardt_migrations.shell.testkit import check_operation


def test_create_view_obeys_every_law(rmig_backends: tuple[str, ...]) -> None:
    check_operation(create_views, states=project_states(min_models=1, max_models=3), backends=rmig_backends)


def test_drop_view_obeys_every_law(rmig_backends: tuple[str, ...]) -> None:
    check_operation(
        drop_views, states=states_after(project_states(min_models=1), create_views), backends=rmig_backends
    )

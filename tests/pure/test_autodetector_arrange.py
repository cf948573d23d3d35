"""Autodetector: migration names, numbering, dependencies, project objects, determinism, purity."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from reinhardt_migrations.pure.autodetector import MigrationAutodetector, autodetect
from reinhardt_migrations.pure.autodetector.arrange import MAX_NAME_LENGTH, migration_name, next_number
from reinhardt_migrations.pure.errors import InvalidValue
from reinhardt_migrations.pure.fields import FieldState, Relation
from reinhardt_migrations.pure.graph import MigrationGraph
from reinhardt_migrations.pure.migration import replay
from reinhardt_migrations.pure.operations import (
    AddField,
    CreateCollation,
    CreateExtension,
    CreateModel,
    DropExtension,
    RemoveField,
)
from reinhardt_migrations.pure.state import CollationState, ModelState, ProjectState


def _pk() -> FieldState:
    return FieldState("id", "auto", primary_key=True)


def _fields(count: int) -> list[FieldState]:
    return [FieldState(f"field_number_{n}", "integer", null=True) for n in range(count)]


BASE = ProjectState.from_models([ModelState("blog", "Post", [_pk()])])


@pytest.mark.parametrize(("leaf", "number"), [(None, 1), ("0001_initial", 2), ("0041_x", 42), ("manual", 1)])
def test_numbers_continue_from_the_leaf(leaf: str | None, number: int) -> None:
    assert next_number(leaf) == number


def test_a_few_operations_are_named_by_their_fragments() -> None:
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), *_fields(2)])])
    result = autodetect(BASE, after, leaves={"blog": "0001_initial"})
    assert result.migrations[0].name == "0002_post_field_number_0_post_field_number_1"


def test_many_operations_are_named_auto_never_with_a_timestamp() -> None:
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), *_fields(6)])])
    result = autodetect(BASE, after, leaves={"blog": "0001_initial"})
    assert result.migrations[0].name == "0002_auto"


def test_one_long_fragment_is_truncated() -> None:
    name = migration_name(3, [CreateModel("blog", "A" * 80, [_pk()])], initial=False, name=None)
    assert name == f"0003_{'a' * MAX_NAME_LENGTH}"


def test_a_given_name_replaces_the_suggestion() -> None:
    after = ProjectState.from_models([ModelState("blog", "Post", [_pk(), *_fields(1)])])
    detector = MigrationAutodetector(BASE, after, leaves={"blog": "0001_initial"})
    assert [m.name for m in detector.changes(name="add_numbers")["blog"]] == ["0002_add_numbers"]
    assert detector.changes()["blog"][0].name == "0002_post_field_number_0"
    with pytest.raises(InvalidValue):
        MigrationAutodetector(BASE, after, name="not a name")


def test_changes_are_per_app_in_app_order_and_generate_migrations_is_flat() -> None:
    after = ProjectState.from_models(
        [
            ModelState("zoo", "Animal", [_pk()]),
            ModelState("blog", "Post", [_pk()]),
            ModelState("art", "Piece", [_pk()]),
        ]
    )
    detector = MigrationAutodetector(ProjectState(), after)
    changes = detector.changes()
    assert list(changes) == ["art", "blog", "zoo"]
    assert [m.key for m in detector.generate_migrations()] == [m.key for ms in changes.values() for m in ms]
    assert len(detector.generate_operations()) == 3


def test_extensions_and_collations_come_first_and_drops_last() -> None:
    hstore_field = FieldState("data", "integer", null=True)
    after = ProjectState(
        models=[ModelState("blog", "Post", [_pk(), hstore_field])],
        extensions={"hstore"},
        collations={"ci": CollationState("ci", "und-u-ks-level2", "icu", False)},
    )
    created = autodetect(BASE, after, leaves={"blog": "0001_initial"})
    kinds = [type(op) for op in created.operations]
    assert kinds.index(CreateExtension) < kinds.index(AddField)
    assert kinds.index(CreateCollation) < kinds.index(AddField)
    assert [m.app_label for m in created.migrations] == ["blog"]
    assert replay(created.migrations, BASE) == after
    dropped = autodetect(after, BASE, leaves={"blog": "0002_x"})
    kinds = [type(op) for op in dropped.operations]
    assert kinds.index(RemoveField) < kinds.index(DropExtension)
    assert replay(dropped.migrations, after) == BASE


def test_project_objects_go_to_the_project_app_when_one_is_named() -> None:
    after = ProjectState(models=[ModelState("blog", "Post", [_pk()])], extensions={"citext"})
    result = autodetect(BASE, after, project_app="core")
    assert [(m.app_label, m.name) for m in result.migrations] == [("core", "0001_initial")]
    assert result.operations == (CreateExtension("citext"),)


def test_a_same_app_relation_cycle_stays_in_one_migration() -> None:
    after = ProjectState.from_models(
        [
            ModelState(
                "blog", "A", [_pk(), FieldState("b", "integer", relation=Relation("foreign_key", "blog.B"))]
            ),
            ModelState(
                "blog", "B", [_pk(), FieldState("a", "integer", relation=Relation("foreign_key", "blog.A"))]
            ),
        ]
    )
    result = autodetect(ProjectState(), after)
    assert [m.name for m in result.migrations] == ["0001_initial"]
    assert replay(result.migrations) == after


# A diff touching every comparator, printed canonically: run under two hash seeds, the
# output must be byte-identical (law 8).
_SCRIPT = textwrap.dedent(
    """
    from reinhardt_migrations.pure.autodetector import autodetect, NeverRename
    from reinhardt_migrations.pure.constraints import IndexState
    from reinhardt_migrations.pure.fields import FieldState, Relation
    from reinhardt_migrations.pure.serialize import migration_to_json
    from reinhardt_migrations.pure.state import ModelState, ProjectState, CollationState

    def pk():
        return FieldState("id", "auto", primary_key=True)

    def fk(name, target):
        return FieldState(name, "integer", null=True, relation=Relation("foreign_key", target))

    def old_model(app, n):
        fields = [pk(), FieldState(f"f{n}", "VARCHAR(20)", null=True), fk("x", f"{app}.M0")]
        return ModelState(app, f"M{n}", fields, indexes=[IndexState(f"{app}_i{n}", [f"f{n}"])])

    def new_model(app, n):
        fields = [
            pk(),
            FieldState(f"g{n}", "VARCHAR(30)", null=True, previous_name=f"f{n}"),
            fk("x", f"{app}.M0"),
            fk("y", "gamma.New"),
            FieldState("z", "integer", null=True),
        ]
        return ModelState(
            app,
            f"M{n}",
            fields,
            indexes=[IndexState(f"{app}_j{n}", [f"g{n}"])],
            unique_together=[("z", "x")] if n % 2 else [],
            options={"b": "2", "a": "1", "c": "3"},
        )

    apps = ("alpha", "beta", "gamma")
    old = ProjectState(
        models=[old_model(a, n) for a in apps for n in range(6)], extensions={"hstore", "citext"}
    )
    extra = ModelState("gamma", "New", [pk(), fk("b", "alpha.M1")])
    new = ProjectState(
        models=[*(new_model(a, n) for a in apps for n in range(5)), extra],
        extensions={"pg_trgm", "unaccent", "btree_gin"},
        collations={"ci": CollationState("ci", "und", "icu", False)},
    )
    leaves = {"alpha": "0003_a", "beta": "0001_b", "gamma": "0002_c"}
    result = autodetect(old, new, NeverRename(), leaves=leaves)
    for migration in result.migrations:
        print(migration_to_json(migration))
    for loss in result.destructive:
        print(loss.describe())
    """
)


def _run(seed: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout


def test_the_same_inputs_give_the_same_migrations_under_any_hash_seed() -> None:
    first, second = _run("1"), _run("4242")
    assert first == second
    assert all(f'"{app}"' in first for app in ("alpha", "beta", "gamma"))
    assert "deletes model alpha.M5" in first


_EFFECTS = frozenset({"open", "socket.connect", "subprocess.Popen", "sqlite3.connect", "os.system"})


@pytest.fixture
def audited() -> Iterator[list[str]]:
    """Collect the audit events for files, sockets and processes raised while the test runs."""
    events: list[str] = []
    watching = [True]

    def hook(event: str, args: object) -> None:
        if watching[0] and event in {
            "open",
            "socket.connect",
            "subprocess.Popen",
            "sqlite3.connect",
            "os.system",
        }:
            events.append(event)

    sys.addaudithook(hook)
    yield events
    watching[0] = False


def test_autodetecting_touches_no_file_socket_or_process(audited: list[str]) -> None:
    before = ProjectState.from_models([ModelState("blog", "User", [_pk(), FieldState("email", "text")])])
    after = ProjectState.from_models(
        [
            ModelState(
                "blog",
                "Person",
                [_pk(), FieldState("address", "text", previous_name="email")],
                previous_name="User",
            ),
            ModelState(
                "shop",
                "Order",
                [_pk(), FieldState("buyer", "integer", relation=Relation("foreign_key", "blog.Person"))],
            ),
        ]
    )
    result = autodetect(before, after, leaves={"blog": "0001_initial"})
    assert result.migrations
    assert audited == []


def test_a_changed_collation_is_removed_then_created() -> None:
    before = ProjectState(collations={"ci": CollationState("ci", "und-u-ks-level2", "icu", False)})
    after = ProjectState(collations={"ci": CollationState("ci", "und-u-ks-level1", "icu", False)})
    result = autodetect(before, after, project_app="core")
    assert [type(op).__name__ for op in result.operations] == ["RemoveCollation", "CreateCollation"]
    assert replay(result.migrations, before) == after


def test_a_ring_of_apps_gives_migrations_any_graph_plan_can_apply() -> None:
    # a.A -> b.B -> c.C -> a.A: every app waits on another; the dependencies written must
    # be enough for the graph's own plan order (not only the order they were made in).
    def pointing(app: str, name: str, target: str) -> ModelState:
        relation = Relation("foreign_key", target)
        return ModelState(app, name, [_pk(), FieldState("to", "integer", null=True, relation=relation)])

    wanted = ProjectState.from_models(
        [pointing("a", "A", "b.B"), pointing("b", "B", "c.C"), pointing("c", "C", "a.A")]
    )
    result = autodetect(ProjectState(), wanted)
    assert all(len(migrations) <= 2 for migrations in result.changes().values())
    graph = MigrationGraph.from_migrations(result.migrations)
    plan = graph.forwards_plan(None, frozenset())
    assert sorted(plan) == sorted(m.key for m in result.migrations)
    assert replay([graph.migration(key) for key in plan]) == wanted

"""Structural equality: a state's value, hash and canonical data do not depend on build order.

States are persistent maps, whose iteration order follows insertion order within a
hash bucket (and the hash seed). Building the same models, extensions, collations and
model options in two different orders must give equal states with equal hashes, the
same canonical data and the same iteration, and equal derived indexes.
"""

from __future__ import annotations

from functools import reduce

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import PMap, pmap

from reinhardt_migrations.pure.serialize import state_to_data, state_to_json
from reinhardt_migrations.pure.state import ModelState, ProjectState
from reinhardt_migrations.pure.strategies import project_states


def built_in_order(
    models: list[ModelState], extensions: list[str], collations: list[str], base: ProjectState
) -> ProjectState:
    """Return a state built one model, extension and collation at a time, in the order given."""
    state = reduce(ProjectState.with_model, models, ProjectState())
    state = reduce(ProjectState.with_extension, extensions, state)
    return reduce(lambda s, name: s.with_collation(base.collations[name]), collations, state)


def assert_same(left: ProjectState, right: ProjectState) -> None:
    assert left == right
    assert hash(left) == hash(right)
    assert state_to_json(left, bookkeeping=True) == state_to_json(right, bookkeeping=True)
    assert [m.key for m in left] == [m.key for m in right]
    assert left.app_labels() == right.app_labels()
    assert left.referrers == right.referrers
    assert left.tables == right.tables


@st.composite
def states_and_orders(draw: st.DrawFn) -> tuple[ProjectState, list[ModelState], list[str], list[str]]:
    state = draw(project_states(max_models=8))
    models = draw(st.permutations(list(state)))
    extensions = draw(st.permutations(sorted(state.extensions)))
    collations = draw(st.permutations(sorted(state.collations)))
    return state, models, extensions, collations


@given(states_and_orders())
def test_building_in_another_order_gives_the_same_state(
    case: tuple[ProjectState, list[ModelState], list[str], list[str]],
) -> None:
    state, models, extensions, collations = case
    forwards = built_in_order(models, extensions, collations, state)
    backwards = built_in_order(models[::-1], extensions[::-1], collations[::-1], state)
    assert_same(forwards, backwards)
    assert_same(forwards, state)
    assert_same(ProjectState.from_models(models[::-1]), ProjectState.from_models(list(state)))


@given(project_states(max_models=8))
def test_persistent_map_order_does_not_reach_values(state: ProjectState) -> None:
    # Two maps with the same items inserted in opposite orders may iterate differently.
    items = sorted(state.models.items())
    forwards: PMap[tuple[str, str], ModelState] = pmap(dict(items))
    backwards: PMap[tuple[str, str], ModelState] = pmap(dict(items[::-1]))
    left = ProjectState(models=forwards, extensions=state.extensions, collations=state.collations)
    right = ProjectState(models=backwards, extensions=state.extensions, collations=state.collations)
    assert_same(left, right)
    assert state_to_data(left) == state_to_data(right)


@given(project_states(min_models=1, max_models=4), st.data())
def test_model_options_in_another_order_give_the_same_model(state: ProjectState, data: st.DataObject) -> None:
    model = data.draw(st.sampled_from(list(state)))
    items = data.draw(
        st.lists(
            st.tuples(st.sampled_from("abcdefgh"), st.text(max_size=3)), max_size=8, unique_by=lambda i: i[0]
        )
    )
    shuffled = data.draw(st.permutations(items))
    left = state.with_model(attrs.evolve(model, options=dict(items)))
    right = state.with_model(attrs.evolve(model, options=dict(shuffled)))
    assert_same(left, right)
    assert hash(left.model(*model.key)) == hash(right.model(*model.key))


@given(project_states(min_models=1, max_models=4), st.data())
def test_unequal_states_are_told_apart(state: ProjectState, data: st.DataObject) -> None:
    # Equality must not be too coarse: dropping a field or renaming a table shows.
    model = data.draw(st.sampled_from(list(state)))
    renamed = state.with_model(attrs.evolve(model, db_table=model.db_table + "_x"))
    assert renamed != state
    assert state_to_data(renamed) != state_to_data(state)
    if len(model.fields) > 1:
        fewer = attrs.evolve(model, fields=model.fields[:-1], indexes=(), constraints=(), unique_together=())
        assert ProjectState.from_models([*(m for m in state if m.key != model.key), fewer]) != state

"""The autodetector's direct builders give exactly what the validating constructors give.

``CreateModel.from_model``, ``ModelState.retargeted``, ``Relation.with_targets`` and
``FieldState.with_relation`` skip checks their inputs already passed, for speed. On
generated states, each must equal (``==``, ``repr`` and ``hash``) the value built the
slow way, through the constructor or ``attrs.evolve``.
"""

from __future__ import annotations

import attrs
from hypothesis import given

from reinhardt_migrations.pure.fields import FieldState
from reinhardt_migrations.pure.operations import CreateModel
from reinhardt_migrations.pure.state import ModelState, ProjectState, default_table_name
from reinhardt_migrations.pure.strategies import project_states


def _same(fast: object, slow: object) -> None:
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert hash(fast) == hash(slow)


def _create_the_slow_way(model: ModelState) -> CreateModel:
    default = default_table_name(model.app_label, model.name)
    return CreateModel(
        app_label=model.app_label,
        name=model.name,
        fields=model.fields,
        db_table=None if model.db_table == default else model.db_table,
        indexes=model.indexes,
        constraints=model.constraints,
        unique_together=[entry.fields for entry in model.unique_together],
        comment=model.comment,
        managed=model.managed,
        options=model.options,
    )


@given(project_states())
def test_create_model_from_a_model_equals_the_constructor(state: ProjectState) -> None:
    for model in state:
        _same(CreateModel.from_model(model), _create_the_slow_way(model))


@given(project_states())
def test_retargeted_models_and_relations_equal_evolve(state: ProjectState) -> None:
    for model in state:
        new_name = model.name + "X"
        table = default_table_name(model.app_label, new_name)
        fields: list[FieldState] = []
        for field in model.fields:
            relation = field.relation
            if relation is not None:
                to = (relation.to[0], relation.to[1] + "Y")
                through = (
                    None if relation.through is None else (relation.through[0], relation.through[1] + "Y")
                )
                fast_relation = relation.with_targets(to, through)
                _same(fast_relation, attrs.evolve(relation, to=to, through=through))
                fast_field = field.with_relation(fast_relation)
                _same(fast_field, attrs.evolve(field, relation=fast_relation))
                field = fast_field
            fields.append(field)
        fast = model.retargeted(new_name, table, tuple(fields), None)
        _same(fast, attrs.evolve(model, name=new_name, db_table=table, fields=fields, previous_name=None))

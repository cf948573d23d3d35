"""Hypothesis strategies for states, operations and migrations (install the ``hypothesis`` extra).

Every value generated here is valid: states pass ``ProjectState.check()``, and each
operation applies to the state it was drawn for. Use them to test your own code
against the schema values, or with ``reinhardt_migrations.pure.laws`` to test custom
operations::

    from hypothesis import given
    from reinhardt_migrations.pure import strategies as rs

    @given(rs.project_states().flatmap(lambda s: rs.operation_sequences(s, 5).map(lambda ops: (s, ops))))
    def test_replay(case): ...

``OperationMachine`` is a state machine base that runs custom operations interleaved
with the built-in ones (see machine.py).
"""

from reinhardt_migrations.pure.strategies.edits import (
    BUILTIN_KINDS,
    SCHEMA_KINDS,
    applicable_kinds,
    migrations,
    operation_sequences,
    operations,
)
from reinhardt_migrations.pure.strategies.machine import OperationMachine, OperationStrategy, states_after
from reinhardt_migrations.pure.strategies.names import app_labels, identifiers, python_paths, sql_texts, texts
from reinhardt_migrations.pure.strategies.values import (
    collation_states,
    column_types,
    constraint_states,
    field_states,
    index_states,
    model_states,
    project_states,
)

__all__ = [
    "BUILTIN_KINDS",
    "SCHEMA_KINDS",
    "OperationMachine",
    "OperationStrategy",
    "app_labels",
    "applicable_kinds",
    "collation_states",
    "column_types",
    "constraint_states",
    "field_states",
    "identifiers",
    "index_states",
    "migrations",
    "model_states",
    "operation_sequences",
    "operations",
    "project_states",
    "python_paths",
    "sql_texts",
    "states_after",
    "texts",
]

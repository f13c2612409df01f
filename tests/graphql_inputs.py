"""A command's Python arguments (as a scenario calls services/commands.py) as the `input` object of its mutation.

The scenarios are written once, in the commands' Python words (`define_indicator(spec={"objective_key": …})`,
`import_measures(rows=[{"indicator_key": …}])`); a client of the GraphQL contract sends them typed
(`defineIndicator(input: {indicator: {objectiveKey: …}})`). This translation walks the schema's input type beside
the value: each snake_case key becomes the GraphQL name of a field that exists (an unknown key fails here rather
than being dropped), dates and decimals become their text, and a `JSON`-shaped parameter becomes its typed form
(graphql/input_types.py TYPED_ARGUMENTS), e.g. `feeds={key: figure}` → `indicatorFeeds: [{indicatorKey, figure}]`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    get_named_type,
)

from progres.graphql.mutations import camel, field_name

# Typed arguments whose shape is not the `JSON` one with camelCase keys: the command's value → the typed value.
RESHAPED = {
    ("import_purchases", "feeds"): lambda feeds: [{"indicator_key": key, "figure": figure}
                                                 for key, figure in feeds.items()],
}


def scalar(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return str(value) if type(value).__name__ == "UUID" else value


def typed(value: Any, kind: GraphQLInputType, where: str) -> Any:
    """`value` as a GraphQL variable of type `kind` (camelCase keys of fields that exist)."""
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if value is None:
        return None
    if isinstance(kind, GraphQLList):
        assert isinstance(value, list | tuple), f"{where}: a list is expected, not {value!r}"
        return [typed(item, kind.of_type, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(kind, GraphQLInputObjectType):
        assert isinstance(value, dict), f"{where}: an object is expected, not {value!r}"
        shaped = {}
        for key, item in value.items():
            name = camel(key)
            assert name in kind.fields, f"{where}: {kind.name} has no field {name} (from {key!r})"
            shaped[name] = typed(item, kind.fields[name].type, f"{where}.{name}")
        return shaped
    return scalar(value)


def command_input(graphql_schema: GraphQLSchema, command: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The `input` variable of the mutation of `command` for the command's Python keyword arguments."""
    field = graphql_schema.mutation_type.fields[camel(command)]  # type: ignore[union-attr]
    input_type = get_named_type(field.args["input"].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    shaped: dict[str, Any] = {}
    for parameter, value in arguments.items():
        name = camel(field_name(command, parameter))
        assert name in input_type.fields, f"{input_type.name} has no field {name} (from {parameter!r})"
        reshape = RESHAPED.get((command, parameter))
        given = reshape(value) if reshape is not None and value is not None else value
        shaped[name] = typed(given, input_type.fields[name].type, name)
    return shaped

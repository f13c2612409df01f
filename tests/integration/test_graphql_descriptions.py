"""Every element of the GraphQL contract that is ours is described (in French, in the users' words).

The walk covers graphql-core's type map of the schema the server runs: each type, each field of an object,
interface or input object, each argument of a field, each value of an enum. Introspection types (`__*`) and
the standard scalars (String, Int, Float, Boolean, ID) are graphql's, not ours.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    specified_scalar_types,
)

from progres.graphql.descriptions import ARGUMENTS, FIELDS, MUTATIONS, OPERATION_ARGUMENTS
from progres.graphql.mutations import COMMANDS, camel
from progres.graphql.schema import schema


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Coordinates (`Type`, `Type.field`, `Type.field(argument:)`, `Enum.VALUE`) that have no description."""
    missing = []
    for name, kind in graphql_schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        if not (kind.description or "").strip():
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not (argument.description or "").strip():
                        missing.append(f"{name}.{field_name}({argument_name}:)")
        if isinstance(kind, GraphQLEnumType):
            for value_name, value in kind.values.items():
                if not (value.description or "").strip():
                    missing.append(f"{name}.{value_name}")
    return missing


def test_every_type_field_argument_enum_value_and_input_field_of_ours_is_described():
    missing = undescribed(schema._schema)
    assert not missing, f"{len(missing)} element(s) of the schema have no description: {missing[:30]}"


def test_the_walk_finds_each_kind_of_undescribed_element():
    """The check can fail: an undescribed type, field, argument, enum value, input field and scalar are all named,
    while graphql's own scalars and introspection types are left alone."""
    sdl = '''
    """Lectures."""
    type Query {
      """Un plan."""
      plan(id: ID!, """Position."""  minPosition: Int): Plan
      naked: Level
      """Trouver."""
      find("""Filtre.""" filter: Filter): Day
    }
    type Plan { """Id.""" id: ID! }
    """Niveau."""
    enum Level { """Bas.""" LOW HIGH }
    """Filtre."""
    input Filter { """Depuis.""" since: String  until: String }
    scalar Day
    '''
    found = set(undescribed(build_schema(sdl)))
    assert found == {"Query.plan(id:)", "Query.naked", "Plan", "Level.HIGH", "Filter.until", "Day"}, found


# Words that only an English description would use: a description left in English is caught here.
ENGLISH = re.compile(r"\b(the|of|when|which|with|is|are|for|and|or|its|by|from)\b")
CODE = re.compile(r"`[^`]*`")  # names and values quoted as code are the API's own (e.g. `or` in none)


def descriptions(graphql_schema: GraphQLSchema) -> dict[str, str]:
    found = {}
    for name, kind in graphql_schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        found[name] = kind.description or ""
        for field_name, field in getattr(kind, "fields", {}).items():
            found[f"{name}.{field_name}"] = field.description or ""
            for argument_name, argument in getattr(field, "args", {}).items():
                found[f"{name}.{field_name}({argument_name}:)"] = argument.description or ""
        for value_name, value in getattr(kind, "values", {}).items():
            found[f"{name}.{value_name}"] = value.description or ""
    return found


def test_descriptions_are_in_french():
    english = {where: text for where, text in descriptions(schema._schema).items()
               if len(ENGLISH.findall(CODE.sub("", text))) >= 2}
    assert not english, f"descriptions still in English: {dict(list(english.items())[:10])}"


def test_each_mutation_says_what_it_does_rather_than_repeating_its_name():
    assert set(MUTATIONS) == set(COMMANDS), "each command has its French description in graphql/descriptions.py"
    mutation = schema._schema.mutation_type
    for command in COMMANDS:
        text = mutation.fields[camel(command)].description
        words = command.replace("_", " ")
        assert text == MUTATIONS[command]
        assert words.lower() not in text.lower(), f"{camel(command)}: {text}"
        assert len(text.split()) >= 6, f"{camel(command)} is described in too few words: {text}"


def test_date_arguments_say_their_format_and_decimal_arguments_how_to_write_them():
    mutation = schema._schema.mutation_type
    for name, field in mutation.fields.items():
        for argument_name, argument in field.args.items():
            kind = str(argument.type).strip("!")
            if kind == "Date":
                assert "aaaa-mm-jj" in argument.description, f"{name}({argument_name}:) {argument.description}"
    for amount in ("initialAmount", "amount", "value", "expectedGain"):
        for name, field in mutation.fields.items():
            if amount in field.args:
                assert "point" in field.args[amount].description, f"{name}({amount}:)"


def test_the_glossary_holds_no_word_that_nothing_uses():
    """Every entry of the glossary describes something in the schema: no stale text accumulates."""
    snake = re.compile(r"(?<!^)(?=[A-Z])")
    used_fields, used_arguments, used_operations = set(), set(), set()
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        for field_name, field in getattr(kind, "fields", {}).items():
            used_fields.add(snake.sub("_", field_name).lower())
            if getattr(field, "args", None):
                used_operations.add(snake.sub("_", field_name).lower())
            used_arguments |= {snake.sub("_", a).lower() for a in getattr(field, "args", {})}
    assert not set(FIELDS) - used_fields, sorted(set(FIELDS) - used_fields)
    assert not set(ARGUMENTS) - used_arguments, sorted(set(ARGUMENTS) - used_arguments)
    assert not set(OPERATION_ARGUMENTS) - used_operations, sorted(set(OPERATION_ARGUMENTS) - used_operations)
    for operation, arguments in OPERATION_ARGUMENTS.items():
        assert not set(arguments) - used_arguments, (operation, sorted(set(arguments) - used_arguments))

"""Scalars of the typed contract: `Decimal` (an exact decimal number written as a string) beside strawberry's
`Date` and `DateTime` (ISO 8601), all three described in French in graphql/descriptions.py.

A decimal travels as a string (`"1250.50"`): a JSON number would be read as a binary float by most clients and
lose cents. As input a `Decimal` also takes a number, as the `JSON` arguments it replaces did; whether the text
is a decimal number is the command's to say (`invalid_input` naming the argument), as before.
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

DECIMAL_DESCRIPTION = (
    "Nombre décimal exact, écrit en chaîne avec un point et sans séparateur de milliers (ex. `\"1250.50\"`, "
    "`\"-12000.00\"`) ; en argument, un nombre est aussi accepté. Montants en euros HT, parts et variations en %.")


def serialize_decimal(value: Any) -> str:
    return str(value)


def parse_decimal(value: Any) -> Any:
    """A string or a number, handed to the command as the client wrote it (the command checks it)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("un nombre décimal s'écrit en chaîne (ex. \"1250.50\") ou en nombre")
    return value


def parse_decimal_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    raise ValueError("un nombre décimal s'écrit en chaîne (ex. \"1250.50\") ou en nombre")


Decimal = NewType("Decimal", str)


def scalar_map() -> dict[object, Any]:
    """The scalars of this module, for the schema's `scalar_overrides` (strawberry's `scalar_map`)."""
    return {Decimal: strawberry.scalar(name="Decimal", description=DECIMAL_DESCRIPTION, serialize=serialize_decimal,
                                       parse_value=parse_decimal, parse_literal=parse_decimal_literal)}

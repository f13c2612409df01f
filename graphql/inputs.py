"""Shapes of the JSON arguments of mutations: the `JSON` scalar accepts any value, the commands do not.

A command whose parameter is `dict[str, Any]` (an indicator's spec, a governance, a gain sharing) or
`list[dict[str, Any]]` gets an object (or a list of objects) or a typed `invalid_input` naming the argument,
before the command runs, rather than an AttributeError deep in the domain answered as an internal error.
"""

from __future__ import annotations

import inspect
from typing import Any

from progres.domain.errors import InvalidInput

OBJECT, OBJECTS = "dict[str, Any]", "list[dict[str, Any]]"


def check_json_shapes(signature: inspect.Signature, arguments: dict[str, Any], camel: Any) -> None:
    for name, parameter in signature.parameters.items():
        value, annotation = arguments.get(name), str(parameter.annotation)
        if value is None:
            continue
        if annotation.startswith(OBJECT) and not isinstance(value, dict):
            raise InvalidInput(camel(name), rule="un objet est attendu")
        if annotation.startswith(OBJECTS) and not (isinstance(value, list)
                                                   and all(isinstance(item, dict) for item in value)):
            raise InvalidInput(camel(name), rule="une liste d'objets est attendue")

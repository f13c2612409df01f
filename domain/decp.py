"""The particulars of a marché that DECP 2.0.3 publishes, checked against the official schema itself.

The schema is a verbatim copy of the published one (`standards/schema_decp_v2.0.3.json`, see its README):
code lists, ranges and formats are read from it, never copied by hand, so that a new version of the schema
is a new file, not a new set of constants. A particular given at notification (or by a correction) must
satisfy the schema's definition of the DECP property it becomes (arrêté du 22 décembre 2022, annexe 2).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator  # type: ignore[import-untyped]

from progres.domain.errors import InvalidParticular

SCHEMA_FILE = Path(__file__).parent / "standards" / "schema_decp_v2.0.3.json"
SCHEMA_VERSION = "DECP 2.0.3"

# particular → (DECP property of `marche`, the key of the list it wraps, if any)
PROPERTIES: dict[str, tuple[str, str | None]] = {
    "procedure": ("procedure", None), "ccag": ("ccag", None), "forme_prix": ("formePrix", None),
    "types_prix": ("typesPrix", "typePrix"), "techniques": ("techniques", "technique"),
    "modalites_execution": ("modalitesExecution", "modaliteExecution"),
    "considerations_sociales": ("considerationsSociales", "considerationSociale"),
    "considerations_environnementales": ("considerationsEnvironnementales", "considerationEnvironnementale"),
    "lieu_execution": ("lieuExecution", None), "offres_recues": ("offresRecues", None),
    "marche_innovant": ("marcheInnovant", None), "attribution_avance": ("attributionAvance", None),
    "taux_avance": ("tauxAvance", None), "type_groupement_operateurs": ("typeGroupementOperateurs", None),
    "sous_traitance_declaree": ("sousTraitanceDeclaree", None), "date_publication": ("datePublicationDonnees", None),
}
# lieu_execution is given with the platform's key names.
LIEU_KEYS = {"code": "code", "type_code": "typeCode"}


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def decp_value(particular: str, value: Any) -> Any:
    """The value as DECP writes it (lists wrapped in their object, lieu_execution's keys renamed)."""
    _, wrapper = PROPERTIES[particular]
    if particular == "lieu_execution" and isinstance(value, dict):
        return {LIEU_KEYS.get(k, k): v for k, v in value.items()}
    return {wrapper: value} if wrapper else value


def decp_properties(particulars: dict[str, Any]) -> dict[str, Any]:
    """The DECP properties of `marche` that the particulars give."""
    return {PROPERTIES[k][0]: decp_value(k, v) for k, v in particulars.items() if k in PROPERTIES}


@cache
def _validator(decp_property: str) -> Any:
    root = schema()
    return Draft7Validator({"definitions": root["definitions"],
                            "$ref": f"#/definitions/marche/properties/{decp_property}"})


def _field(particular: str, path: list[Any]) -> str:
    """particulars.types_prix[1], particulars.lieu_execution.type_code: the field as the client gave it."""
    _, wrapper = PROPERTIES[particular]
    steps = path[1:] if wrapper and path and path[0] == wrapper else path
    field = f"particulars.{particular}"
    for step in steps:
        if isinstance(step, int):
            field += f"[{step}]"
        else:
            field += "." + next((k for k, v in LIEU_KEYS.items() if v == step), str(step))
    return field


def _rule(decp_property: str, error: Any) -> str:
    where = f"{SCHEMA_VERSION} {decp_property}"
    if error.validator == "enum":
        return f"not in the code list of {where}: {', '.join(str(v) for v in error.validator_value)}"
    if error.validator == "required":
        return f"{where} needs {', '.join(error.validator_value)}"
    return f"breaks {where}: {error.validator} {error.validator_value}"


def check_against_schema(particulars: dict[str, Any]) -> None:
    """Refuses the first particular the DECP schema rejects, naming it (and the item at fault)."""
    for particular, value in particulars.items():
        decp_property, _ = PROPERTIES[particular]
        errors = sorted(_validator(decp_property).iter_errors(decp_value(particular, value)),
                        key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            raise InvalidParticular(_field(particular, list(error.absolute_path)), rule=_rule(decp_property, error))

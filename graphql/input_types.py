"""Input types of the mutations whose arguments were `JSON` objects: an indicator's definition, rows of measures,
the participants of a review, the shares of a gain, the changes of an avenant, the feeds of a purchase import,
the lots and the DECP particulars of a marché.

Each typed argument replaced the `JSON` argument of the first contract (removed with the `JSON` scalar): it is a
field of the mutation's `input`, and its deprecated flat form. The typed value is handed to the command in the
shape the `JSON` argument had (snake_case keys, enum values and dates as strings), so it goes through the
command's own rules; the `field` of a refusal is a path of GraphQL names (`measures[0].value`,
`indicator.objectiveKey`, `planId`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any

import strawberry

from progres.domain.errors import InvalidInput
from progres.graphql.egalim import EgalimShares
from progres.graphql.enums import (
    Aggregation,
    Direction,
    IndicatorKind,
    IndicatorScope,
    ParticipantFunction,
    Periodicity,
    PlanChangeKind,
    closed_set,
)
from progres.graphql.scalars import Decimal
from progres.projections.egalim import FIGURES

_FIGURE_MEANINGS = {f.python_name: f.description for f in EgalimShares.__strawberry_definition__.fields}
EgalimFigure = closed_set("EgalimFigure", "Part (en %) ou valeur (en euros HT) calculée depuis un fichier d'achats, "
                                          "dont un indicateur du plan peut être alimenté.",
                          {name: _FIGURE_MEANINGS[name] for name in FIGURES})


@strawberry.input(description="Un palier de trajectoire : la cible qui s'applique à partir d'une date.")
class TrajectoryStepInput:
    from_: date = strawberry.field(name="from", description="Premier jour où ce palier s'applique (aaaa-mm-jj) ; les "
                                                            "dates des paliers sont croissantes.")
    target: Decimal = strawberry.field(description="La cible de ce palier.")


@strawberry.input(description="La définition d'un indicateur : quantitatif (unité, sens, référence, cible, "
                              "trajectoire) ou qualitatif.")
class IndicatorInput:
    key: str = strawberry.field(description="Clé de l'indicateur, unique dans le plan (au plus 64 caractères).")
    objective_key: str = strawberry.field(description="Clé de l'objectif auquel il se rattache.")
    name: str = strawberry.field(description="Nom de l'indicateur (au plus 255 caractères).")
    kind: IndicatorKind = strawberry.field(description="Nature de l'indicateur.")  # type: ignore[valid-type]
    periodicity: Periodicity = strawberry.field(  # type: ignore[valid-type]
        description="Périodicité des mesures.")
    scope: IndicatorScope = strawberry.field(description="Portée de l'indicateur.")  # type: ignore[valid-type]
    unit: str | None = strawberry.field(default=None, description="Unité (ex. %, kg) ; quantitatif seulement, "
                                                                  "obligatoire alors.")
    direction: Direction | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Sens souhaité ; quantitatif seulement, obligatoire alors.")
    aggregation: Aggregation | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Comment les valeurs des membres se combinent ; absent : `mean`.")
    baseline: Decimal | None = strawberry.field(default=None, description="Valeur de référence (quantitatif).")
    target: Decimal | None = strawberry.field(default=None, description="Cible finale (quantitatif).")
    trajectory: list[TrajectoryStepInput] | None = strawberry.field(
        default=None, description="Les paliers datés de la cible (quantitatif), aux dates croissantes.")


@strawberry.input(description="Une mesure d'un import : un indicateur, un membre (ou le groupement), une période, "
                              "une valeur ou une appréciation.")
class MeasureRowInput:
    indicator_key: str = strawberry.field(description="Clé de l'indicateur mesuré.")
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Le membre mesuré ; absent pour une mesure de tout le groupement.")
    period_start: date = strawberry.field(description="Premier jour de la période (aaaa-mm-jj).")
    period_end: date = strawberry.field(description="Dernier jour de la période (aaaa-mm-jj).")
    value: Decimal | None = strawberry.field(default=None, description="La valeur, pour un indicateur quantitatif.")
    assessment: str | None = strawberry.field(default=None, description="L'appréciation, pour un indicateur "
                                                                        "qualitatif.")


@strawberry.input(description="Un participant à une revue, ou la personne qui y soulève un point.")
class ParticipantInput:
    name: str = strawberry.field(description="Son nom, ou sa fonction dans son établissement (au plus 255 "
                                             "caractères).")
    function: ParticipantFunction = strawberry.field(description="Sa fonction.")  # type: ignore[valid-type]
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="L'organisation qu'il représente, partie au groupement ; facultatif.")


@strawberry.input(description="La part du gain de chaque partie, en % : positives, de somme 100 ; une partie absente "
                              "n'a pas de part.")
class PartySharesInput:
    titulaire: Decimal | None = strawberry.field(default=None, description="Part du titulaire, en %.")
    acheteur: Decimal | None = strawberry.field(default=None, description="Part de l'acheteur, en %.")
    joint: Decimal | None = strawberry.field(default=None, description="Part commune, en %.")


@strawberry.input(description="Un changement qu'un avenant apporte au plan : un axe laissé de côté au lancement, "
                              "ajouté.")
class PlanChangeInput:
    kind: PlanChangeKind = strawberry.field(description="Le changement.")  # type: ignore[valid-type]
    key: str = strawberry.field(description="Clé de l'axe ajouté, unique dans le plan (au plus 64 caractères).")
    title: str = strawberry.field(description="Intitulé de l'axe ajouté (au plus 255 caractères).")
    description: str | None = strawberry.field(default=None, description="Description de l'axe ajouté.")


@strawberry.input(description="Ce que change un avenant ; au moins un changement.")
class AvenantChangesInput:
    amount_delta: Decimal | None = strawberry.field(
        default=None, description="Variation du montant en euros HT (négative pour une baisse).")
    duration_delta_months: int | None = strawberry.field(default=None, description="Variation de la durée, en mois.")
    titulaire_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Les nouveaux titulaires (remplacement du titulaire, R2194-6).")
    plan_changes: list[PlanChangeInput] | None = strawberry.field(default=None,
                                                                  description="Ce qu'il apporte au plan.")


@strawberry.input(description="Un indicateur du plan alimenté par un fichier d'achats, et la part qui l'alimente.")
class IndicatorFeedInput:
    indicator_key: str = strawberry.field(description="Clé de l'indicateur alimenté.")
    figure: EgalimFigure = strawberry.field(description="La part calculée qui l'alimente.")  # type: ignore[valid-type]


@strawberry.input(description="Le lieu d'exécution principal du marché.")
class LieuExecutionInput:
    code: str = strawberry.field(description="Le code du lieu (ex. code commune INSEE `62498`).")
    type_code: str = strawberry.field(description="Le type de ce code, dans la liste des DECP 2.0.3 (ex. `Code "
                                                  "commune`).")


@strawberry.input(description="Ce que les DECP 2.0.3 publient du marché (procédure, CCAG, prix…), chaque valeur "
                              "vérifiée contre le schéma des DECP ; seules les valeurs données sont enregistrées.")
class DecpParticularsInput:
    procedure: str | None = strawberry.field(default=None, description="Procédure de passation (liste de codes des "
                                                                       "DECP, ex. `Appel d'offres ouvert`).")
    ccag: str | None = strawberry.field(default=None, description="CCAG de référence (liste de codes des DECP).")
    forme_prix: str | None = strawberry.field(default=None, description="Forme du prix (liste de codes des DECP).")
    types_prix: list[str] | None = strawberry.field(default=None, description="Types de prix.")
    techniques: list[str] | None = strawberry.field(default=None, description="Techniques d'achat.")
    modalites_execution: list[str] | None = strawberry.field(default=None, description="Modalités d'exécution.")
    considerations_sociales: list[str] | None = strawberry.field(default=None,
                                                                 description="Considérations sociales.")
    considerations_environnementales: list[str] | None = strawberry.field(
        default=None, description="Considérations environnementales.")
    lieu_execution: LieuExecutionInput | None = strawberry.field(default=None,
                                                                 description="Lieu d'exécution principal.")
    offres_recues: int | None = strawberry.field(default=None, description="Nombre d'offres reçues.")
    marche_innovant: bool | None = strawberry.field(default=None, description="Vrai pour un marché innovant.")
    attribution_avance: bool | None = strawberry.field(default=None, description="Vrai si une avance est "
                                                                                 "attribuée.")
    taux_avance: float | None = strawberry.field(default=None, description="Taux de l'avance.")
    type_groupement_operateurs: str | None = strawberry.field(
        default=None, description="Type de groupement des opérateurs économiques (liste de codes des DECP).")
    sous_traitance_declaree: bool | None = strawberry.field(default=None,
                                                            description="Vrai si une sous-traitance est déclarée.")
    date_publication: date | None = strawberry.field(default=None,
                                                     description="Date de publication des données (aaaa-mm-jj).")


@strawberry.input(description="Un lot du marché.")
class LotInput:
    number: int = strawberry.field(description="Numéro du lot.")
    title: str = strawberry.field(description="Intitulé du lot (au plus 255 caractères).")


def as_command(value: Any) -> Any:
    """A typed input as the command's `JSON` argument: snake_case keys (absent when null), strings for enums and
    dates, as clients wrote them so far."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name.rstrip("_"): as_command(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, list):
        return [as_command(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


SEGMENT = re.compile(r"^([A-Za-z0-9_]+)(.*)$")


def camel_path(path: str, camel: Callable[[str], str]) -> str:
    """`rows[0].period_start` → `rows[0].periodStart`: each name of a path in GraphQL (camelCase) form."""
    parts = []
    for segment in path.split("."):
        found = SEGMENT.match(segment)
        parts.append(camel(found.group(1)) + found.group(2) if found else segment)
    return ".".join(parts)


@dataclasses.dataclass(frozen=True)
class TypedArgument:
    """A typed argument beside a command's `JSON` parameter: its GraphQL type, how its value becomes the
    parameter's, and how a refusal's path under the parameter becomes a path under the typed argument."""

    name: str  # Python name; GraphQL camelCases it
    kind: Any
    to_command: Callable[[Any], Any] = as_command
    to_path: Callable[[str, Any], str] | None = None  # (path after the parameter's name, typed value) → path


def feeds_to_command(feeds: list[IndicatorFeedInput]) -> dict[str, str]:
    keys = [feed.indicator_key for feed in feeds]
    duplicate = next((i for i, key in enumerate(keys) if key in keys[:i]), None)
    if duplicate is not None:
        raise InvalidInput(f"indicatorFeeds[{duplicate}].indicatorKey", rule="chaque indicateur n'est alimenté "
                                                                             "qu'une fois")
    return {feed.indicator_key: feed.figure.value for feed in feeds}


def feeds_path(rest: str, feeds: list[IndicatorFeedInput]) -> str:
    """`feeds.<key>` names an indicator: its typed path is the index of its feed."""
    key = rest.lstrip(".")
    index = next((i for i, feed in enumerate(feeds) if feed.indicator_key == key), None)
    return "indicatorFeeds" if index is None else f"indicatorFeeds[{index}].figure"


# command → JSON parameter → its typed argument.
TYPED_ARGUMENTS: dict[str, dict[str, TypedArgument]] = {
    "define_indicator": {"spec": TypedArgument("indicator", IndicatorInput)},
    "import_measures": {"rows": TypedArgument("measures", list[MeasureRowInput])},
    "hold_review": {"participants": TypedArgument("attendees", list[ParticipantInput])},
    "raise_point": {"raised_by": TypedArgument("raised_by_participant", ParticipantInput)},
    "define_gain_sharing": {"shares": TypedArgument("party_shares", PartySharesInput)},
    "propose_avenant": {"changes": TypedArgument("avenant_changes", AvenantChangesInput)},
    "import_purchases": {"feeds": TypedArgument("indicator_feeds", list[IndicatorFeedInput], feeds_to_command,
                                                feeds_path)},
    "notify_marche": {"lots": TypedArgument("marche_lots", list[LotInput]),
                      "particulars": TypedArgument("decp_particulars", DecpParticularsInput)},
    "correct_particulars": {"particulars": TypedArgument("decp_particulars", DecpParticularsInput)},
}
# The domain names some of these values by their own word rather than the parameter's (domain/plans.py).
DOMAIN_PREFIXES = {("define_indicator", "spec"): "indicator"}


def graphql_path(command: str, field: str | None, used: dict[str, Any], camel: Callable[[str], str]) -> str | None:
    """The path of a refused command's field in the GraphQL names of the arguments the client used."""
    if field is None:
        return None
    for parameter, typed_value in used.items():
        typed = TYPED_ARGUMENTS[command][parameter]
        prefix = DOMAIN_PREFIXES.get((command, parameter), parameter)
        if field == prefix or field.startswith((prefix + ".", prefix + "[")):
            rest = field[len(prefix):]
            if typed.to_path is not None:
                return typed.to_path(rest, typed_value)
            return camel(typed.name) + camel_path(rest, camel)  # rest: "", ".key…" or "[i]…"
    return camel_path(field, camel)

"""The object a mutation changed, for its payload (`RecordMeasurePayload.measure`, `ProposeAvenantPayload.avenant`…):
read by the id the command wrote from the read models, as fresh as the command's log position, and shown only if
the access policy lets the caller read it (as `plan(id:)` would), else null.

Each command names what it changed in CHANGED: the field of its payload, the kind of object, and where its id
comes from (the id the command wrote, or one of its arguments: `importPurchases` writes an import, and changes
the plan it feeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from progres.domain.errors import DomainError
from progres.graphql.nodes import Reader
from progres.graphql.types import Avenant, Groupement, Marche, Measure, Organisation, Plan, Proposal, Review
from progres.services.policy import Actor


@dataclass(frozen=True)
class Changed:
    field: str  # Python name of the payload's field (GraphQL camelCases it)
    kind: type
    source: str = ""  # the command's argument holding the id; "" for the id the command wrote


KINDS = {"organisation": Organisation, "groupement": Groupement, "marche": Marche, "plan": Plan, "measure": Measure,
         "proposal": Proposal, "review": Review, "avenant": Avenant}

DESCRIPTIONS = {
    "organisation": "L'organisation enregistrée.",
    "groupement": "Le groupement, tel qu'il est après la commande.",
    "marche": "Le marché, tel qu'il est après la commande.",
    "plan": "Le plan de progrès, tel qu'il est après la commande.",
    "measure": "La mesure, telle qu'elle est après la commande.",
    "proposal": "La proposition, telle qu'elle est après la commande.",
    "review": "La revue, telle qu'elle est après la commande.",
    "avenant": "L'avenant, tel qu'il est après la commande.",
}


def _changed(field: str, source: str = "") -> Changed:
    return Changed(field, KINDS[field], source)


GROUPEMENT, MARCHE, PLAN, REVIEW, AVENANT = (
    [_changed("groupement")], [_changed("marche")], [_changed("plan")], [_changed("review")], [_changed("avenant")])
CHANGED: dict[str, list[Changed]] = {
    "register_organisation": [_changed("organisation")],
    "constitute_groupement": GROUPEMENT, "admit_member": GROUPEMENT, "release_member": GROUPEMENT,
    "assign_auditor": GROUPEMENT, "choose_small_modifications_reading": GROUPEMENT,
    "notify_marche": MARCHE, "close_marche": MARCHE, "correct_particulars": MARCHE,
    **dict.fromkeys((
        "draw_up_plan", "add_axis", "add_objective", "define_indicator", "plan_action", "change_action_status",
        "commit_resource", "schedule_milestone", "define_gain_sharing", "define_governance",
        "declare_purchase_volume", "close_plan_with_bilan_final", "import_measures"), PLAN),
    "import_purchases": [_changed("plan", "plan_id")],
    "record_measure": [_changed("measure")], "correct_measure": [_changed("measure")],
    "submit_proposal": [_changed("proposal")], "withdraw_proposal": [_changed("proposal")],
    "decide": [_changed("proposal"), _changed("review", "review_id")],
    "schedule_review": REVIEW, "hold_review": REVIEW, "raise_point": REVIEW, "close_review": REVIEW,
    "propose_avenant": AVENANT, "sign_avenant": AVENANT, "record_cao_opinion": AVENANT, "notify_avenant": AVENANT,
    "abandon_avenant": AVENANT,
}


def changed_object(services: Any, actor: Actor, field: str, object_id: str | None, position: int | None) -> Any:
    """The object of that kind and id as the caller may read it after the command, read as `node(id:)` reads it
    (graphql/nodes.py); None if it may not (or if the read models cannot reach the command's position in time)."""
    if object_id is None:
        return None
    try:
        if position:
            services.models.fresh(position)
    except DomainError:
        return None
    marche_id, _, number = str(object_id).partition("#")  # an avenant's id: `<marché>#<number>`
    parts = (marche_id, number) if field == "avenant" else (str(object_id),)
    return Reader(services, actor).find(KINDS[field].__name__, parts)

"""HistoryProjection: the auditors' index of every event — groupement, plan, organisation, type, time, position."""

from __future__ import annotations

from typing import Any

from progres.projections.facts import Fact
from progres.projections.ledger import Route

NAME = "history"
ACTOR_FIELDS = ("recorded_by", "corrected_by", "author_id", "organisation_id", "by", "coordonnateur_id",
                "member_id")


def history_row(fact: Fact, route: Route | None) -> dict[str, Any]:
    organisation = fact.aggregate_id if fact.aggregate_kind == "Organisation" else next(
        (fact.data[f] for f in ACTOR_FIELDS if fact.data.get(f)), None)
    return {
        "position": fact.position, "groupement_id": route.groupement_id if route else None,
        "plan_id": route.plan_id if route else None, "organisation_id": organisation,
        "aggregate_id": fact.aggregate_id, "version": fact.version, "type": fact.kind,
        "timestamp": fact.timestamp,
    }

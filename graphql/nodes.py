"""Reads an object by its global id (`node(id:)`, `nodes(ids:)`) or by reference from another object, through the
same policy as the other queries: an object of a groupement the caller may not read is null, exactly as an id
that does not exist (nothing tells the two apart)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from progres.domain.errors import NotFound
from progres.graphql.context import Services, actor_of, context_of, off_loop
from progres.graphql.loaders import request_cache
from progres.graphql.types import Groupement, Marche, Measure, Organisation, Plan
from progres.projections.ledger import DIRECTORY
from progres.services.policy import Actor, Denied

MAX_NODES = 100  # ids one `nodes` query may read


class Reader:
    """Finds one object for one caller, from the groupement ledgers of the read side (as `plan`, `groupements`)."""

    def __init__(self, services: Services, actor: Actor) -> None:
        self.services, self.actor = services, actor

    def find(self, kind: str, parts: tuple[str, ...]) -> Any | None:
        finder: Callable[..., Any] | None = getattr(self, f"find_{kind.lower()}", None)
        if finder is None:
            return None
        try:
            return finder(*parts)
        except (NotFound, Denied):  # hidden: the same answer as an id that does not exist
            return None

    def ledger(self, groupement_id: str | None) -> dict[str, Any] | None:
        if not groupement_id:
            return None
        return self.services.models.ledgers([groupement_id]).get(groupement_id)

    def readable_ledger(self, aggregate_id: str) -> dict[str, Any] | None:
        """The ledger of the groupement an id belongs to, if the caller may read that groupement."""
        groupement_id = self.services.access.groupement_of(aggregate_id)
        if groupement_id is None or groupement_id == DIRECTORY \
                or not self.services.access.may_read_groupement(self.actor, groupement_id):
            return None
        return self.ledger(groupement_id)

    def find_organisation(self, organisation_id: str) -> Organisation | None:
        found = (self.ledger(DIRECTORY) or {}).get("organisations", {}).get(organisation_id)
        return Organisation.from_ledger(found) if found else None

    def find_groupement(self, groupement_id: str) -> Groupement | None:
        ledger = self.readable_ledger(groupement_id)
        if ledger is None or ledger.get("id") != groupement_id or "groupement" not in ledger:
            return None
        return Groupement.from_ledger(ledger)

    def find_marche(self, marche_id: str) -> Marche | None:
        ledger = self.readable_ledger(marche_id)
        found = (ledger or {}).get("marches", {}).get(marche_id)
        return Marche.from_ledger(found, ledger["id"]) if found and ledger else None

    def find_avenant(self, marche_id: str, number: str) -> Any | None:
        marche = self.find_marche(marche_id)
        return next((a for a in marche.avenants if str(a.number) == number), None) if marche else None

    def find_plan(self, plan_id: str) -> Plan | None:
        groupement_id, parties = self.services.access.readable_plan(self.actor, plan_id)
        ledger = self.ledger(groupement_id)
        if ledger is None or plan_id not in ledger["plans"]:
            return None
        return Plan.from_ledger(ledger, plan_id, self.services.access.visible_members(self.actor, parties))

    def plan_holding(self, collection: str, entity_id: str) -> Plan | None:
        """The plan whose `collection` (measures, proposals, reviews) holds an entity, as the caller sees it."""
        ledger = self.readable_ledger(entity_id)
        plan_id = next((p for p, plan in (ledger or {}).get("plans", {}).items()
                        if entity_id in plan.get(collection, {})), None)
        return self.find_plan(plan_id) if plan_id else None

    def find_axis(self, plan_id: str, key: str) -> Any | None:
        plan = self.find_plan(plan_id)
        return next((a for a in plan.axes if a.key == key), None) if plan else None

    def find_objective(self, plan_id: str, key: str) -> Any | None:
        plan = self.find_plan(plan_id)
        return next((o for a in plan.axes for o in a.objectives if o.key == key), None) if plan else None

    def find_indicator(self, plan_id: str, key: str) -> Any | None:
        plan = self.find_plan(plan_id)
        return next((i for a in plan.axes for o in a.objectives for i in o.indicators if i.key == key),
                    None) if plan else None

    def find_action(self, plan_id: str, key: str) -> Any | None:
        plan = self.find_plan(plan_id)
        return next((a for a in plan.actions if a.key == key), None) if plan else None

    def find_measure(self, measure_id: str) -> Measure | None:
        ledger = self.readable_ledger(measure_id)
        plan_id = next((p for p, plan in (ledger or {}).get("plans", {}).items()
                        if measure_id in plan.get("measures", {})), None)
        plan = self.find_plan(plan_id) if ledger and plan_id else None
        if plan is None:
            return None
        # Only the measures the caller may see (Plan.from_ledger leaves the others out of the indicators), and the
        # ones it recorded itself (a titulaire's deliveries to a lycée: it wrote the figure, it reads it back).
        found = next((m for a in plan.axes for o in a.objectives for i in o.indicators for m in i.plan_measures
                      if m["id"] == measure_id), None)
        recorded = ledger["plans"][plan_id]["measures"][measure_id]  # type: ignore[index]
        if found is None and recorded.get("recorded_by") == self.actor.organisation_id:
            found = recorded
        return Measure.from_ledger(found) if found else None

    def find_proposal(self, proposal_id: str) -> Any | None:
        plan = self.plan_holding("proposals", proposal_id)
        return next((p for p in plan.all_proposals if p.id == proposal_id), None) if plan else None

    def find_review(self, review_id: str) -> Any | None:
        plan = self.plan_holding("reviews", review_id)
        return next((r for r in plan.reviews if r.id == review_id), None) if plan else None

    def find_decision(self, review_id: str, proposal_id: str) -> Any | None:
        review = self.find_review(review_id)
        return next((d for d in review.decision_list if d.proposal_id == proposal_id), None) if review else None


async def load_node(info: strawberry.Info, kind: str, *parts: str) -> Any | None:
    """One object for the caller of this request, read once per request."""
    cache = request_cache(info)
    key = ("node", kind, parts)
    if key not in cache:
        reader = Reader(context_of(info).services, actor_of(info))
        cache[key] = await off_loop(reader.find, kind, parts)
    return cache[key]


def node_types() -> list[type]:
    """The object types that implement `Node`, as the schema must know them (a `node` answer may be any)."""
    from progres.graphql.types import Action, Avenant, Axis, Indicator, Objective, Proposal, Review  # noqa: PLC0415
    from progres.graphql.values import Decision  # noqa: PLC0415

    return [Organisation, Groupement, Marche, Plan, Axis, Objective, Indicator, Action, Measure, Proposal, Review,
            Decision, Avenant]

"""Revues (review meetings, e.g. the bilan semestriel): scheduled, held with participants and minutes,
points raised by those who do the real work, decisions on propositions, closed."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.errors import (
    AlreadyDecidedInReview,
    InvalidInput,
    ProposalOfAnotherPlan,
    ReviewAlreadyHeld,
    ReviewNotHeld,
)
from progres.domain.plans import ProgressPlan
from progres.domain.proposals import Proposal
from progres.domain.values import (
    DocumentRef,
    Outcome,
    ParticipantFunction,
    PointKind,
    parse_enum,
    require_text,
)


def parse_person(data: dict[str, Any], field: str) -> dict[str, Any]:
    return {
        "name": require_text(data.get("name"), f"{field}.name", 255),
        "function": parse_enum(ParticipantFunction, data.get("function"), f"{field}.function").value,
        "organisation_id": data.get("organisation_id"),
    }


class Review(ProgresAggregate):
    """A revue of the plan; decisions are taken only while it is held."""

    @classmethod
    def schedule(cls, review_id: UUID, plan: ProgressPlan, title: str, scheduled_on: date) -> Review:
        plan.check_open()
        return cls(id=review_id, plan_id=plan.id, groupement_id=plan.groupement_id,
                   title=require_text(title, "title", 255), scheduled_on=scheduled_on)

    @event("Scheduled")
    def __init__(self, id: UUID, plan_id: UUID, groupement_id: UUID, title: str, scheduled_on: date) -> None:
        self.plan_id = plan_id
        self.groupement_id = groupement_id
        self.title = title
        self.scheduled_on = scheduled_on
        self.status = "scheduled"
        self.held_on: date | None = None
        self.participants: list[dict[str, Any]] = []
        self.minutes: DocumentRef | None = None
        self.points: list[dict[str, Any]] = []
        self.decisions: dict[UUID, dict[str, Any]] = {}

    def check_held(self, action: str) -> None:
        if self.status != "held":
            raise ReviewNotHeld("review_id", status=self.status, action=action)

    def hold(self, held_on: date, participants: list[dict[str, Any]], minutes: DocumentRef | None) -> None:
        if self.status != "scheduled":
            raise ReviewAlreadyHeld("review_id", status=self.status)
        if not participants:
            raise InvalidInput("participants", rule="une revue se tient avec au moins un participant")
        people = [parse_person(p, f"participants[{i}]") for i, p in enumerate(participants)]
        self._held(held_on=held_on, participants=people, minutes=minutes.as_dict() if minutes else None)

    def raise_point(self, kind: str, text: str, raised_by: dict[str, Any]) -> None:
        self.check_held("y inscrire un point")
        self._point_raised(kind=parse_enum(PointKind, kind, "kind").value, text=require_text(text, "text"),
                           raised_by=parse_person(raised_by, "raised_by"))

    def decide(self, proposal: Proposal, outcome: str, reasons: str) -> Outcome:
        self.check_held("y décider")
        if proposal.plan_id != self.plan_id:
            raise ProposalOfAnotherPlan("proposal_id")
        if proposal.id in self.decisions:
            raise AlreadyDecidedInReview("proposal_id", id=proposal.id)
        proposal.check_pending("décidée")
        checked = parse_enum(Outcome, outcome, "outcome")
        self._decision_taken(proposal_id=proposal.id, outcome=checked.value,
                             reasons=require_text(reasons, "reasons"))
        assert self.held_on is not None
        proposal.decide(self.id, checked, self.decisions[proposal.id]["reasons"], self.held_on)
        return checked

    def close(self, on: date) -> None:
        self.check_held("la clore")
        self._closed(on=on)

    @event("Held")
    def _held(self, held_on: date, participants: list[dict[str, Any]], minutes: dict[str, str] | None) -> None:
        self.status = "held"
        self.held_on = held_on
        self.participants = list(participants)
        self.minutes = DocumentRef.from_dict(minutes)

    @event("PointRaised")
    def _point_raised(self, kind: str, text: str, raised_by: dict[str, Any]) -> None:
        self.points.append({"kind": kind, "text": text, "raised_by": raised_by})

    @event("DecisionTaken")
    def _decision_taken(self, proposal_id: UUID, outcome: str, reasons: str) -> None:
        self.decisions[proposal_id] = {"outcome": outcome, "reasons": reasons}

    @event("Closed")
    def _closed(self, on: date) -> None:
        self.status = "closed"

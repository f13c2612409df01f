"""Propositions: improvements put forward by a member, the coordonnateur or the titulaire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.errors import NotAPartyToMarche, NotEntitled, ProposalNotPending
from progres.domain.groupements import Groupement
from progres.domain.marches import Marche
from progres.domain.plans import ProgressPlan
from progres.domain.values import Outcome, ProposalKind, parse_decimal, parse_enum, require_text

PENDING = ("submitted", "postponed")


class Proposal(ProgresAggregate):
    """A proposition, pending until a revue accepts or rejects it, or its author withdraws it."""

    @classmethod
    def submit(
        cls, proposal_id: UUID, plan: ProgressPlan, groupement: Groupement, marche: Marche, *,
        author_id: UUID, axis_key: str, kind: str, title: str, content: str, expected_impact: str,
        expected_gain: Any = None, submitted_on: date,
    ) -> Proposal:
        plan.check_open()
        plan.axis(axis_key)
        if not (groupement.is_active(author_id, submitted_on) or marche.is_titulaire(author_id)):
            raise NotEntitled("author_id", org=author_id)
        if not marche.is_titulaire(author_id) and author_id not in marche.parties(groupement):
            raise NotAPartyToMarche("author_id", org=author_id, marche=marche.code, launched=marche.launched_on)
        return cls(
            id=proposal_id, plan_id=plan.id, groupement_id=plan.groupement_id, author_id=author_id,
            axis_key=axis_key, kind=parse_enum(ProposalKind, kind, "kind").value,
            title=require_text(title, "title", 255), content=require_text(content, "content", 10_000),
            expected_impact=require_text(expected_impact, "expected_impact", 2000),
            expected_gain=parse_decimal(expected_gain, "expected_gain") if expected_gain is not None else None,
            submitted_on=submitted_on,
        )

    @event("Submitted")
    def __init__(  # the library passes the aggregate's own id, chosen by the service
        self, id: UUID, plan_id: UUID, groupement_id: UUID, author_id: UUID, axis_key: str, kind: str, title: str,
        content: str, expected_impact: str, expected_gain: Decimal | None, submitted_on: date,
    ) -> None:
        self.plan_id = plan_id
        self.groupement_id = groupement_id
        self.author_id = author_id
        self.axis_key = axis_key
        self.kind = ProposalKind(kind)
        self.title = title
        self.content = content
        self.expected_impact = expected_impact
        self.expected_gain = expected_gain
        self.submitted_on = submitted_on
        self.status = "submitted"
        self.decisions: list[dict[str, Any]] = []

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING

    def check_pending(self, action: str) -> None:
        if not self.is_pending:
            raise ProposalNotPending("proposal_id", status=self.status, action=action)

    def withdraw(self, by: UUID, on: date, reason: str) -> None:
        self.check_pending("retirée")
        if by != self.author_id:
            raise NotEntitled("by", org=by)
        self._withdrawn(on=on, reason=require_text(reason, "reason"))

    def decide(self, review_id: UUID, outcome: Outcome, reasons: str, on: date) -> None:
        self.check_pending("décidée")
        self._decided(review_id=review_id, outcome=outcome.value, reasons=reasons, on=on)

    @event("Withdrawn")
    def _withdrawn(self, on: date, reason: str) -> None:
        self.status = "withdrawn"

    @event("Decided")
    def _decided(self, review_id: UUID, outcome: str, reasons: str, on: date) -> None:
        self.status = outcome
        self.decisions.append({"review_id": review_id, "outcome": outcome, "reasons": reasons, "on": on})

    def summary(self) -> dict[str, Any]:
        return {"id": str(self.id), "title": self.title, "status": self.status, "axis": self.axis_key,
                "author_id": str(self.author_id), "expected_impact": self.expected_impact}

"""Plan de progrès of a marché: axes, objectives, indicators, actions, resources, calendar,
gain sharing and governance; closed by its bilan final, after which it can only be read."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain import rules
from progres.domain.base import ProgresAggregate
from progres.domain.errors import (
    DuplicateKey,
    InvalidActionTransition,
    InvalidGainSharing,
    InvalidIndicator,
    InvalidInput,
    NotAParty,
    NotAPartyToMarche,
    PlanClosed,
    UnknownAction,
    UnknownAxis,
    UnknownIndicator,
    UnknownObjective,
)
from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.marches import Marche
from progres.domain.values import (
    ActionOwner,
    ActionStatus,
    Aggregation,
    Direction,
    DocumentRef,
    IndicatorKind,
    ObjectiveKind,
    Periodicity,
    Scope,
    Settlement,
    parse_date,
    parse_decimal,
    parse_enum,
    require_text,
)

ACTION_TRANSITIONS = {
    ActionStatus.PLANNED: {ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.IN_PROGRESS: {ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.DONE: set(),
    ActionStatus.CANCELLED: set(),
}


@dataclass
class Axis:
    key: str
    title: str
    description: str
    added_by_avenant: int | None = None


@dataclass
class Objective:
    key: str
    axis_key: str
    title: str
    kind: ObjectiveKind


@dataclass
class Indicator:
    key: str
    objective_key: str
    name: str
    kind: IndicatorKind
    periodicity: Periodicity
    scope: Scope
    aggregation: Aggregation
    unit: str | None = None
    baseline: Decimal | None = None
    target: Decimal | None = None
    trajectory: list[tuple[date, Decimal]] = field(default_factory=list)
    direction: Direction | None = None

    @property
    def is_quantitative(self) -> bool:
        return self.kind is IndicatorKind.QUANTITATIVE

    def target_on(self, day: date) -> Decimal | None:
        """The target in force on a day: the last trajectory step started by then, else the final target."""
        return rules.target_in_force(self.trajectory, self.target, day)


@dataclass
class Action:
    key: str
    axis_key: str
    title: str
    owner: ActionOwner
    due_on: date
    owner_organisation_id: UUID | None = None
    member_ids: list[UUID] = field(default_factory=list)
    status: ActionStatus = ActionStatus.PLANNED
    status_on: date | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def concerns(self, member_id: UUID) -> bool:
        return not self.member_ids or member_id in self.member_ids


def parse_indicator(spec: dict[str, Any]) -> dict[str, Any]:
    """Checks an indicator definition and returns it in the primitive form its event stores."""
    kind = parse_enum(IndicatorKind, spec.get("kind"), "indicator.kind")
    checked: dict[str, Any] = {
        "key": require_text(spec.get("key"), "indicator.key", 64),
        "objective_key": require_text(spec.get("objective_key"), "indicator.objective_key", 64),
        "name": require_text(spec.get("name"), "indicator.name", 255),
        "kind": kind.value,
        "periodicity": parse_enum(Periodicity, spec.get("periodicity"), "indicator.periodicity").value,
        "scope": parse_enum(Scope, spec.get("scope"), "indicator.scope").value,
    }
    numeric = ("unit", "baseline", "target", "trajectory", "direction")
    if kind is IndicatorKind.QUALITATIVE:
        present = [name for name in numeric if spec.get(name) not in (None, [], "")]
        if present:
            raise InvalidIndicator("indicator." + present[0],
                                   rule="un indicateur qualitatif est une appréciation : ni nombre, ni unité, ni cible")
        checked["aggregation"] = Aggregation.NONE.value
        return checked
    checked["unit"] = require_text(spec.get("unit"), "indicator.unit", 32)
    checked["direction"] = parse_enum(Direction, spec.get("direction"), "indicator.direction").value
    checked["aggregation"] = parse_enum(Aggregation, spec.get("aggregation", "mean"), "indicator.aggregation").value
    if spec.get("baseline") is not None:
        checked["baseline"] = parse_decimal(spec["baseline"], "indicator.baseline")
    trajectory: list[dict[str, Any]] = []
    for index, step in enumerate(spec.get("trajectory") or []):
        trajectory.append({"from": parse_date(step.get("from"), f"indicator.trajectory[{index}].from"),
                           "target": parse_decimal(step.get("target"), f"indicator.trajectory[{index}].target")})
    if any(b["from"] <= a["from"] for a, b in itertools.pairwise(trajectory)):
        raise InvalidIndicator("indicator.trajectory", rule="les étapes de la trajectoire doivent avoir des dates "
                                                            "strictement croissantes")
    checked["trajectory"] = trajectory
    if spec.get("target") is not None:
        checked["target"] = parse_decimal(spec["target"], "indicator.target")
    elif trajectory:
        checked["target"] = trajectory[-1]["target"]
    else:
        raise InvalidIndicator("indicator.target", rule="un indicateur quantitatif demande une cible ou une "
                                                        "trajectoire")
    return checked


class ProgressPlan(ProgresAggregate):
    """The plan de progrès attached to one marché."""

    flat_state = frozenset({"purchase_volumes"})  # member id -> amount: a copy copies the mapping only

    @staticmethod
    def create_id(marche_id: UUID) -> UUID:
        return derive_id("plan", marche_id)

    @classmethod
    def draw_up(cls, marche: Marche, title: str) -> ProgressPlan:
        marche.check_open()
        return cls(marche_id=marche.id, groupement_id=marche.groupement_id,
                   title=require_text(title, "title", 255))

    @event("DrawnUp")
    def __init__(self, marche_id: UUID, groupement_id: UUID, title: str) -> None:
        self.marche_id = marche_id
        self.groupement_id = groupement_id
        self.title = title
        self.axes: dict[str, Axis] = {}
        self.objectives: dict[str, Objective] = {}
        self.indicators: dict[str, Indicator] = {}
        self.actions: dict[str, Action] = {}
        self.resources: list[dict[str, Any]] = []
        self.milestones: dict[str, dict[str, Any]] = {}
        self.gain_sharing: dict[str, Any] | None = None
        self.governance: dict[str, Any] | None = None
        self.purchase_volumes: dict[UUID, Decimal] = {}
        self.bilan_final: dict[str, Any] | None = None

    # Guards
    @property
    def is_closed(self) -> bool:
        return self.bilan_final is not None

    def check_open(self) -> None:
        if self.is_closed:
            raise PlanClosed("plan")

    def _check_new(self, kind: str, key: str, existing: dict[str, Any]) -> None:
        if key in existing:
            raise DuplicateKey("key", kind=kind, key=key)

    def axis(self, key: str) -> Axis:
        if key not in self.axes:
            raise UnknownAxis("axis_key", id=key)
        return self.axes[key]

    def indicator(self, key: str) -> Indicator:
        if key not in self.indicators:
            raise UnknownIndicator("indicator_key", id=key)
        return self.indicators[key]

    # Commands
    def add_axis(self, key: str, title: str, description: str = "", avenant_number: int | None = None) -> None:
        self.check_open()
        key = require_text(key, "key", 64)
        self._check_new("axis", key, self.axes)
        self._axis_added(key=key, title=require_text(title, "title", 255), description=description or "",
                         avenant_number=avenant_number)

    def add_objective(self, key: str, axis_key: str, title: str, kind: str) -> None:
        self.check_open()
        key = require_text(key, "key", 64)
        self._check_new("objective", key, self.objectives)
        self.axis(axis_key)
        self._objective_added(key=key, axis_key=axis_key, title=require_text(title, "title", 255),
                              kind=parse_enum(ObjectiveKind, kind, "kind").value)

    def define_indicator(self, spec: dict[str, Any]) -> None:
        self.check_open()
        checked = parse_indicator(spec)
        self._check_new("indicator", checked["key"], self.indicators)
        if checked["objective_key"] not in self.objectives:
            raise UnknownObjective("indicator.objective_key", id=checked["objective_key"])
        self._indicator_defined(spec=checked)

    def plan_action(
        self, key: str, axis_key: str, title: str, owner: str, due_on: date,
        owner_organisation_id: UUID | None = None, member_ids: list[UUID] | None = None,
    ) -> None:
        self.check_open()
        key = require_text(key, "key", 64)
        self._check_new("action", key, self.actions)
        self.axis(axis_key)
        self._action_planned(
            key=key, axis_key=axis_key, title=require_text(title, "title", 255),
            owner=parse_enum(ActionOwner, owner, "owner").value, due_on=due_on,
            owner_organisation_id=owner_organisation_id, member_ids=list(member_ids or []),
        )

    def change_action_status(self, key: str, status: str, on: date, note: str = "") -> None:
        self.check_open()
        if key not in self.actions:
            raise UnknownAction("action_key", id=key)
        new = parse_enum(ActionStatus, status, "status")
        current = self.actions[key].status
        if new not in ACTION_TRANSITIONS[current]:
            raise InvalidActionTransition("status", current=current.value, new=new.value)
        self._action_status_changed(key=key, status=new.value, on=on, note=note or "")

    def commit_resource(self, party: str, description: str, amount: Any = None) -> None:
        self.check_open()
        self._resource_committed(
            party=parse_enum(ActionOwner, party, "party").value,
            description=require_text(description, "description"),
            amount=parse_decimal(amount, "amount") if amount is not None else None,
        )

    def schedule_milestone(self, key: str, title: str, due_on: date) -> None:
        self.check_open()
        key = require_text(key, "key", 64)
        self._check_new("milestone", key, self.milestones)
        self._milestone_scheduled(key=key, title=require_text(title, "title", 255), due_on=due_on)

    def define_gain_sharing(
        self, basis: str, reference: str, period_months: int, shares: dict[str, Any],
        member_split: str, settlement: str,
    ) -> None:
        self.check_open()
        parsed = {parse_enum(ActionOwner, party, f"shares.{party}").value: parse_decimal(v, f"shares.{party}")
                  for party, v in shares.items()}
        if any(v < 0 for v in parsed.values()) or sum(parsed.values()) != 100:
            raise InvalidGainSharing("shares", rule="les parts des parties doivent être positives et totaliser 100 %")
        if member_split not in ("purchase_volume", "equal"):
            raise InvalidGainSharing("member_split", rule="les membres partagent selon « purchase_volume » ou à "
                                                          "parts égales (« equal »)")
        if not isinstance(period_months, int) or period_months <= 0:
            raise InvalidInput("period_months", rule="la période de gain est un nombre positif de mois")
        self._gain_sharing_defined(
            basis=require_text(basis, "basis"), reference=require_text(reference, "reference"),
            period_months=period_months, shares=parsed, member_split=member_split,
            settlement=parse_enum(Settlement, settlement, "settlement").value,
        )

    def define_governance(self, body: str, participants: list[str], review_frequency_months: int) -> None:
        self.check_open()
        if not isinstance(review_frequency_months, int) or review_frequency_months <= 0:
            raise InvalidInput("review_frequency_months", rule="les revues ont lieu tous les N mois, N positif")
        if not participants:
            raise InvalidInput("participants", rule="nommez au moins un participant")
        self._governance_defined(body=require_text(body, "body"), participants=list(participants),
                                 review_frequency_months=review_frequency_months)

    def declare_purchase_volume(self, member_id: UUID, amount: Any, groupement: Groupement, marche: Marche) -> None:
        """A purchase volume weighs a member in weighted means and gain sharing: only the marché's parties have
        one (members at its launch, QE 100136 of 2011); any other organisation is refused."""
        self.check_open()
        if not groupement.was_ever_member(member_id):
            raise NotAParty("member_id", org=member_id)
        if member_id not in marche.parties(groupement):
            raise NotAPartyToMarche("member_id", org=member_id, marche=marche.code, launched=marche.launched_on)
        volume = parse_decimal(amount, "amount")
        if volume < 0:
            raise InvalidInput("amount", rule="un volume d'achats ne peut pas être négatif")
        self._purchase_volume_declared(member_id=member_id, amount=volume)

    def close_with_bilan_final(self, on: date, summary: str, document: DocumentRef | None = None) -> None:
        self.check_open()
        self._closed(on=on, summary=require_text(summary, "summary", 10_000),
                     document=document.as_dict() if document else None)

    # Events
    @event("AxisAdded")
    def _axis_added(self, key: str, title: str, description: str, avenant_number: int | None) -> None:
        self.axes[key] = Axis(key, title, description, avenant_number)

    @event("ObjectiveAdded")
    def _objective_added(self, key: str, axis_key: str, title: str, kind: str) -> None:
        self.objectives[key] = Objective(key, axis_key, title, ObjectiveKind(kind))

    @event("IndicatorDefined")
    def _indicator_defined(self, spec: dict[str, Any]) -> None:
        self.indicators[spec["key"]] = Indicator(
            key=spec["key"], objective_key=spec["objective_key"], name=spec["name"],
            kind=IndicatorKind(spec["kind"]), periodicity=Periodicity(spec["periodicity"]),
            scope=Scope(spec["scope"]), aggregation=Aggregation(spec["aggregation"]),
            unit=spec.get("unit"),
            baseline=Decimal(str(spec["baseline"])) if spec.get("baseline") is not None else None,
            target=Decimal(str(spec["target"])) if spec.get("target") is not None else None,
            trajectory=[(parse_date(s["from"], "from"), Decimal(str(s["target"])))
                        for s in spec.get("trajectory", [])],
            direction=Direction(spec["direction"]) if spec.get("direction") else None,
        )

    @event("ActionPlanned")
    def _action_planned(
        self, key: str, axis_key: str, title: str, owner: str, due_on: date,
        owner_organisation_id: UUID | None, member_ids: list[UUID],
    ) -> None:
        self.actions[key] = Action(key, axis_key, title, ActionOwner(owner), due_on,
                                   owner_organisation_id, list(member_ids))

    @event("ActionStatusChanged")
    def _action_status_changed(self, key: str, status: str, on: date, note: str) -> None:
        action = self.actions[key]
        action.status = ActionStatus(status)
        action.status_on = on
        action.history.append({"status": status, "on": on, "note": note})

    @event("ResourceCommitted")
    def _resource_committed(self, party: str, description: str, amount: Decimal | None) -> None:
        self.resources.append({"party": party, "description": description, "amount": amount})

    @event("MilestoneScheduled")
    def _milestone_scheduled(self, key: str, title: str, due_on: date) -> None:
        self.milestones[key] = {"key": key, "title": title, "due_on": due_on}

    @event("GainSharingDefined")
    def _gain_sharing_defined(
        self, basis: str, reference: str, period_months: int, shares: dict[str, Decimal],
        member_split: str, settlement: str,
    ) -> None:
        self.gain_sharing = {"basis": basis, "reference": reference, "period_months": period_months,
                             "shares": dict(shares), "member_split": member_split, "settlement": settlement}

    @event("GovernanceDefined")
    def _governance_defined(self, body: str, participants: list[str], review_frequency_months: int) -> None:
        self.governance = {"body": body, "participants": list(participants),
                           "review_frequency_months": review_frequency_months}

    @event("PurchaseVolumeDeclared")
    def _purchase_volume_declared(self, member_id: UUID, amount: Decimal) -> None:
        self.purchase_volumes[member_id] = amount

    @event("ClosedWithBilanFinal")
    def _closed(self, on: date, summary: str, document: dict[str, str] | None) -> None:
        self.bilan_final = {"on": on, "summary": summary, "document": document}

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "title": self.title, "closed": self.is_closed,
            "axes": [
                {"key": a.key, "title": a.title, "added_by_avenant": a.added_by_avenant,
                 "objectives": [
                     {"key": o.key, "title": o.title, "kind": o.kind.value,
                      "indicators": [i.key for i in self.indicators.values() if i.objective_key == o.key]}
                     for o in self.objectives.values() if o.axis_key == a.key
                 ],
                 "actions": [
                     {"key": x.key, "title": x.title, "owner": x.owner.value, "status": x.status.value}
                     for x in self.actions.values() if x.axis_key == a.key
                 ]}
                for a in self.axes.values()
            ],
        }

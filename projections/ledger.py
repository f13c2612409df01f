# mypy: disable-error-code="attr-defined"
# (the event classes, e.g. `Marche.Notified`, are made by eventsourcing's @event decorator when the aggregate
# class is created: mypy cannot see them. A name that no longer exists fails the import instead.)
"""The ledger of a groupement: the pure reducer every read model of progres is derived from.

`apply(ledger, fact)` folds one fact into the state of the groupement it belongs to. The member view,
the plan dashboard and the plan balance are pure functions of a ledger, so live catch-up, full
rebuild and reconstruction as of any position all run this one reducer and cannot disagree.
The state is plain JSON (text ids, numbers as text), so it is stored and compared as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.marches import Marche
from progres.domain.measures import Measure
from progres.domain.organisations import Organisation
from progres.domain.plans import ProgressPlan
from progres.domain.proposals import Proposal
from progres.domain.purchases import PurchaseImport, PurchaseRegister
from progres.domain.reviews import Review
from progres.domain.values import WithdrawalClause
from progres.projections.facts import Fact

Ledger = dict[str, Any]
DIRECTORY = "directory"  # the tenant-less part: organisations


def new_ledger(groupement_id: str) -> Ledger:
    return {"id": groupement_id, "position": 0, "last_timestamp": None, "groupement": None,
            "organisations": {}, "marches": {}, "plans": {}}


def plan_id_of_marche(marche_id: str) -> str:
    return str(derive_id("plan", marche_id))


# Handlers: one per domain event class (registered below); each changes the ledger in place.
def _constituted(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    ledger["groupement"] = {
        "id": fact.aggregate_id, "code": d["code"], "name": d["name"], "purpose": d["purpose"],
        "coordonnateur_id": d["coordonnateur_id"], "signed_on": d["signed_on"],
        "shares_member_details": d["shares_member_details"],
        # absent from facts before issue 14: the default clause (domain/groupements.py)
        "withdrawal_clause": d.get("withdrawal_clause") or WithdrawalClause.BOUND_UNTIL_MARCHE_END.value,
        "convention": d.get("convention"),
        "memberships": [{"organisation_id": d["coordonnateur_id"], "joined_on": d["signed_on"], "left_on": None,
                         "decision": d.get("convention"), "decided_on": d["signed_on"]}],
        "auditor_ids": [],
    }


def _member_joined(ledger: Ledger, fact: Fact) -> None:
    ledger["groupement"]["memberships"].append(
        {"organisation_id": fact.data["organisation_id"], "joined_on": fact.data["on"], "left_on": None,
         "decision": fact.data.get("decision"), "decided_on": fact.data.get("decided_on")})


def _member_left(ledger: Ledger, fact: Fact) -> None:
    for membership in reversed(ledger["groupement"]["memberships"]):
        if membership["organisation_id"] == fact.data["organisation_id"]:
            membership["left_on"] = fact.data["on"]
            return


def _auditor_assigned(ledger: Ledger, fact: Fact) -> None:
    ledger["groupement"].setdefault("auditor_ids", []).append(fact.data["organisation_id"])


def _marche_notified(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    ledger["marches"][fact.aggregate_id] = {
        "id": fact.aggregate_id, "code": d["code"], "object": d["object"], "cpv": d["cpv"], "nature": d["nature"],
        "titulaire_ids": d["titulaire_ids"], "titulaires_initial": list(d["titulaire_ids"]),
        "initial_amount": d["initial_amount"],
        "duration_months": d["duration_months"], "notified_on": d["notified_on"],
        "has_clause_reexamen": d["has_clause_reexamen"], "lots": d["lots"], "avenants": {}, "closed_on": None,
        "particulars": d.get("particulars") or {},
        # Absent from marchés notified before issue 14: the defaults the domain applies to them.
        "buyer_kind": d.get("buyer_kind", "pouvoir_adjudicateur"), "awarded_by_cao": d.get("awarded_by_cao", True),
        "particulars_corrections": [],
        # before issue 14: launched when notified, parties = the members that day (computed by the views)
        "launched_on": d.get("launched_on") or d["notified_on"], "party_ids": d.get("party_ids"),
    }


def _marche(ledger: Ledger, fact: Fact) -> dict[str, Any]:
    return ledger["marches"][fact.aggregate_id]  # type: ignore[no-any-return]


def _avenant_proposed(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    _marche(ledger, fact)["avenants"][str(d["number"])] = {
        "number": d["number"], "basis": d["basis"], "reason": d["reason"], "changes": d["changes"],
        "decision": d["decision"], "cumulative_percent": d["cumulative_percent"],
        "needs_cao_opinion": d["needs_cao_opinion"], "status": "proposed", "signed_on": None, "notified_on": None,
        "position": fact.position, "proposed_on": d.get("proposed_on"), "cumulation": d.get("cumulation"),
        "small_modifications": d.get("small_modifications"), "cao_opinion": None,
    }


def _cao_opinion_recorded(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    _marche(ledger, fact)["avenants"][str(d["number"])]["cao_opinion"] = {
        "given_on": d["given_on"], "favourable": d["favourable"], "document": d["document"],
        "position": fact.position}


def _particulars_corrected(ledger: Ledger, fact: Fact) -> None:
    marche = _marche(ledger, fact)
    marche["particulars"] = {**marche["particulars"], **fact.data["particulars"]}
    marche.setdefault("particulars_corrections", []).append(
        {"particulars": sorted(fact.data["particulars"]), "reason": fact.data["reason"], "position": fact.position})


def _reading_chosen(ledger: Ledger, fact: Fact) -> None:
    ledger["groupement"]["small_modifications_reading"] = fact.data["reading"]
    ledger["groupement"].setdefault("small_modifications_readings", []).append(
        {"reading": fact.data["reading"], "on": fact.data["on"], "reason": fact.data["reason"],
         "document": fact.data["document"], "position": fact.position})


def _avenant_signed(ledger: Ledger, fact: Fact) -> None:
    avenant = _marche(ledger, fact)["avenants"][str(fact.data["number"])]
    avenant.update(status="signed", signed_on=fact.data["signed_on"])


def _avenant_notified(ledger: Ledger, fact: Fact) -> None:
    marche = _marche(ledger, fact)
    avenant = marche["avenants"][str(fact.data["number"])]
    avenant.update(status="notified", notified_on=fact.data["notified_on"], notified_position=fact.position)
    if avenant["changes"].get("titulaire_ids") is not None:
        marche["titulaire_ids"] = avenant["changes"]["titulaire_ids"]


def _avenant_abandoned(ledger: Ledger, fact: Fact) -> None:
    _marche(ledger, fact)["avenants"][str(fact.data["number"])]["status"] = "abandoned"


def _marche_closed(ledger: Ledger, fact: Fact) -> None:
    _marche(ledger, fact)["closed_on"] = fact.data["on"]


def _plan_drawn_up(ledger: Ledger, fact: Fact) -> None:
    ledger["plans"][fact.aggregate_id] = {
        "id": fact.aggregate_id, "marche_id": fact.data["marche_id"], "title": fact.data["title"],
        "axes": {}, "objectives": {}, "indicators": {}, "actions": {}, "resources": [], "milestones": {},
        "gain_sharing": None, "governance": None, "purchase_volumes": {}, "bilan_final": None,
        "measures": {}, "proposals": {}, "reviews": {},
    }


def _plan(ledger: Ledger, plan_id: str) -> dict[str, Any]:
    return ledger["plans"][plan_id]  # type: ignore[no-any-return]


def _plan_change(section: str, make: Callable[[Fact], tuple[str, Any]]) -> Callable[[Ledger, Fact], None]:
    def handler(ledger: Ledger, fact: Fact) -> None:
        key, value = make(fact)
        _plan(ledger, fact.aggregate_id)[section][key] = value
    return handler


def _action_status_changed(ledger: Ledger, fact: Fact) -> None:
    action = _plan(ledger, fact.aggregate_id)["actions"][fact.data["key"]]
    action["status"] = fact.data["status"]
    action["status_on"] = fact.data["on"]
    action["history"].append({"status": fact.data["status"], "on": fact.data["on"], "note": fact.data["note"]})


def _resource_committed(ledger: Ledger, fact: Fact) -> None:
    _plan(ledger, fact.aggregate_id)["resources"].append(dict(fact.data))


def _plan_setting(name: str) -> Callable[[Ledger, Fact], None]:
    def handler(ledger: Ledger, fact: Fact) -> None:
        _plan(ledger, fact.aggregate_id)[name] = dict(fact.data)
    return handler


def _purchase_volume(ledger: Ledger, fact: Fact) -> None:
    _plan(ledger, fact.aggregate_id)["purchase_volumes"][fact.data["member_id"]] = fact.data["amount"]


def _plan_closed(ledger: Ledger, fact: Fact) -> None:
    _plan(ledger, fact.aggregate_id)["bilan_final"] = {"on": fact.data["on"], "summary": fact.data["summary"],
                                                       "position": fact.position}


def _measure_recorded(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    _plan(ledger, d["plan_id"])["measures"][fact.aggregate_id] = {
        "id": fact.aggregate_id, "indicator_key": d["indicator_key"], "member_id": d["member_id"],
        "period_start": d["period_start"], "period_end": d["period_end"], "value": d["value"],
        "assessment": d["assessment"], "source": d["source"], "recorded_by": d["recorded_by"],
        # when it was recorded: the server's timestamp of the event; what the recorder declared, apart
        "recorded_at": fact.timestamp, "declared_on": d.get("declared_on") or d.get("recorded_on"),
        "partial": bool(d.get("partial")),
        "positions": [fact.position], "corrections": [],
    }


def _measure_corrected(ledger: Ledger, fact: Fact, plan_id: str) -> None:
    measure = _plan(ledger, plan_id)["measures"][fact.aggregate_id]
    measure["corrections"].append({
        "position": fact.position, "corrects_version": fact.data["corrects_version"],
        "previous_value": measure["value"], "previous_assessment": measure["assessment"],
        "reason": fact.data["reason"], "corrected_by": fact.data["corrected_by"],
    })
    measure["positions"].append(fact.position)
    measure["value"] = fact.data["value"]
    measure["assessment"] = fact.data["assessment"]


def _proposal_submitted(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    _plan(ledger, d["plan_id"])["proposals"][fact.aggregate_id] = {
        "id": fact.aggregate_id, "author_id": d["author_id"], "axis_key": d["axis_key"], "kind": d["kind"],
        "title": d["title"], "content": d["content"], "expected_impact": d["expected_impact"],
        "expected_gain": d["expected_gain"], "submitted_on": d["submitted_on"], "status": "submitted",
        "decisions": [],
    }


def _proposal_withdrawn(ledger: Ledger, fact: Fact, plan_id: str) -> None:
    _plan(ledger, plan_id)["proposals"][fact.aggregate_id]["status"] = "withdrawn"


def _proposal_decided(ledger: Ledger, fact: Fact, plan_id: str) -> None:
    proposal = _plan(ledger, plan_id)["proposals"][fact.aggregate_id]
    proposal["status"] = fact.data["outcome"]
    proposal["decisions"].append({"review_id": fact.data["review_id"], "outcome": fact.data["outcome"],
                                  "reasons": fact.data["reasons"], "on": fact.data["on"]})


def _review_scheduled(ledger: Ledger, fact: Fact) -> None:
    d = fact.data
    _plan(ledger, d["plan_id"])["reviews"][fact.aggregate_id] = {
        "id": fact.aggregate_id, "title": d["title"], "scheduled_on": d["scheduled_on"], "status": "scheduled",
        "held_on": None, "participants": [], "points": [], "decisions": [],
    }


def _review_change(change: Callable[[dict[str, Any], Fact], None]) -> Callable[[Ledger, Fact, str], None]:
    def handler(ledger: Ledger, fact: Fact, plan_id: str) -> None:
        change(_plan(ledger, plan_id)["reviews"][fact.aggregate_id], fact)
    return handler


def _held(review: dict[str, Any], fact: Fact) -> None:
    review.update(status="held", held_on=fact.data["held_on"], participants=fact.data["participants"])


def _point(review: dict[str, Any], fact: Fact) -> None:
    review["points"].append(dict(fact.data))


def _decision(review: dict[str, Any], fact: Fact) -> None:
    review["decisions"].append(dict(fact.data))


def _review_closed(review: dict[str, Any], fact: Fact) -> None:
    review["status"] = "closed"


def _organisation(ledger: Ledger, fact: Fact) -> None:
    ledger["organisations"][fact.aggregate_id] = {"id": fact.aggregate_id, **fact.data}


Handler = Callable[[Ledger, Fact], None]
RoutedHandler = Callable[[Ledger, Fact, str], None]

# The handlers, registered by the domain's event classes: an event renamed or removed in domain/ fails here, at
# import (AttributeError), and tests/unit/test_ledger_events.py fails for a domain event no handler folds.
GROUPEMENT_EVENTS: dict[type[Any], Handler] = {
    Organisation.Registered: _organisation,
    Groupement.Constituted: _constituted,
    Groupement.MemberJoined: _member_joined,
    Groupement.MemberLeft: _member_left,
    Groupement.AuditorAssigned: _auditor_assigned,
    Marche.Notified: _marche_notified,
    Marche.AvenantProposed: _avenant_proposed,
    Marche.AvenantSigned: _avenant_signed,
    Marche.AvenantNotified: _avenant_notified,
    Marche.AvenantAbandoned: _avenant_abandoned,
    Marche.CaoOpinionRecorded: _cao_opinion_recorded,
    Marche.ParticularsCorrected: _particulars_corrected,
    Groupement.SmallModificationsReadingChosen: _reading_chosen,
    Marche.Closed: _marche_closed,
    ProgressPlan.DrawnUp: _plan_drawn_up,
    ProgressPlan.AxisAdded: _plan_change("axes", lambda f: (f.data["key"], {
        "key": f.data["key"], "title": f.data["title"], "description": f.data["description"],
        "added_by_avenant": f.data["avenant_number"]})),
    ProgressPlan.ObjectiveAdded: _plan_change("objectives", lambda f: (f.data["key"], dict(f.data))),
    ProgressPlan.IndicatorDefined: _plan_change("indicators", lambda f: (f.data["spec"]["key"],
                                                                         dict(f.data["spec"]))),
    ProgressPlan.ActionPlanned: _plan_change("actions", lambda f: (f.data["key"], {
        **f.data, "status": "planned", "status_on": None, "history": []})),
    ProgressPlan.ActionStatusChanged: _action_status_changed,
    ProgressPlan.ResourceCommitted: _resource_committed,
    ProgressPlan.MilestoneScheduled: _plan_change("milestones", lambda f: (f.data["key"], dict(f.data))),
    ProgressPlan.GainSharingDefined: _plan_setting("gain_sharing"),
    ProgressPlan.GovernanceDefined: _plan_setting("governance"),
    ProgressPlan.PurchaseVolumeDeclared: _purchase_volume,
    ProgressPlan.ClosedWithBilanFinal: _plan_closed,
    Measure.Recorded: _measure_recorded,
    Proposal.Submitted: _proposal_submitted,
    Review.Scheduled: _review_scheduled,
}

# Later events of measures, proposals and revues carry no plan: the router supplies it.
PLAN_ROUTED_EVENTS: dict[type[Any], RoutedHandler] = {
    Measure.Corrected: _measure_corrected,
    Proposal.Withdrawn: _proposal_withdrawn,
    Proposal.Decided: _proposal_decided,
    Review.Held: _review_change(_held),
    Review.PointRaised: _review_change(_point),
    Review.DecisionTaken: _review_change(_decision),
    Review.Closed: _review_change(_review_closed),
}

# Domain events the ledger does not fold, each with where it is read instead.
IGNORED_EVENTS: dict[type[Any], str] = {
    PurchaseImport.Imported: "an imported file, read with its lines from the log (services/purchase_import.py)",
    PurchaseImport.PurchaseRecorded: "one line of an import, read from the log (services/purchase_import.py); "
                                     "passed over in the projections' query (services/applications.py)",
    PurchaseImport.LinesRecorded: "an import's lines, read from the log (services/purchase_import.py)",
    PurchaseRegister.Opened: "EGalim figures are read from the register aggregate (services/egalim_reads.py)",
    PurchaseRegister.ImportAdded: "EGalim figures are read from the register aggregate (services/egalim_reads.py)",
}


def kind_of(event_class: type[Any]) -> str:
    """What a stored event of this class is read back as (`Fact.kind`): its qualified name, the end of its
    stored topic ("progres.domain.marches:Marche.Notified" → "Marche.Notified"). The topic stays the key at run
    time, so facts decoded straight from the store (facts.fact_from_record) find their handler."""
    return str(event_class.__qualname__)


def _check_registry() -> None:
    """At import: every class the tables name is an aggregate's event, named once."""
    named = [*GROUPEMENT_EVENTS, *PLAN_ROUTED_EVENTS, *IGNORED_EVENTS]
    for cls in named:
        if not (isinstance(cls, type) and issubclass(cls, Aggregate.Event)):
            raise TypeError(f"the read side registers {cls!r}, which is not an event of the domain")
    if len({kind_of(cls) for cls in named}) != len(named):
        raise TypeError("the read side registers an event twice")


_check_registry()
MARCHE_NOTIFIED = kind_of(Marche.Notified)
GROUPEMENT_HANDLERS: dict[str, Handler] = {kind_of(c): h for c, h in GROUPEMENT_EVENTS.items()}
PLAN_ROUTED_HANDLERS: dict[str, RoutedHandler] = {kind_of(c): h for c, h in PLAN_ROUTED_EVENTS.items()}


@dataclass(frozen=True)
class Route:
    groupement_id: str
    plan_id: str | None = None


def route_of(fact: Fact, routes: dict[str, Route]) -> Route | None:
    """Which groupement (and plan) a fact belongs to; None for facts no read model uses."""
    data = fact.data
    if fact.aggregate_kind == "Organisation":
        return Route(DIRECTORY)
    if fact.aggregate_kind == "Groupement":
        return Route(fact.aggregate_id)
    if "groupement_id" in data:
        if fact.aggregate_kind == "ProgressPlan":
            return Route(data["groupement_id"], fact.aggregate_id)
        if fact.aggregate_kind == "Marche":
            return Route(data["groupement_id"], plan_id_of_marche(fact.aggregate_id))
        return Route(data["groupement_id"], data.get("plan_id"))
    return routes.get(fact.aggregate_id)


def apply(ledger: Ledger, fact: Fact, route: Route) -> Ledger:
    """Folds one fact into its groupement's ledger (in place) and returns the ledger."""
    if fact.position <= ledger["position"]:
        return ledger  # already applied: replays and restarts are harmless
    handler = GROUPEMENT_HANDLERS.get(fact.kind)
    if handler is not None:
        handler(ledger, fact)
    else:
        routed = PLAN_ROUTED_HANDLERS.get(fact.kind)
        if routed is not None and route.plan_id is not None:
            routed(ledger, fact, route.plan_id)
    ledger["position"] = fact.position
    ledger["last_timestamp"] = fact.timestamp
    return ledger


@dataclass
class Replay:
    """Folds facts into the ledgers of every groupement, in memory (rebuilds, as-of, tests)."""

    ledgers: dict[str, Ledger] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    position: int = 0

    def feed(self, fact: Fact) -> Route | None:
        route = route_of(fact, self.routes)
        if route is not None:
            self.routes.setdefault(fact.aggregate_id, route)
            ledger = self.ledgers.setdefault(route.groupement_id, new_ledger(route.groupement_id))
            apply(ledger, fact, route)
        self.position = max(self.position, fact.position)
        return route

    def feed_all(self, facts: Iterable[Fact]) -> Replay:
        for fact in facts:
            self.feed(fact)
        return self

    def copy(self) -> Replay:
        return Replay(copy.deepcopy(self.ledgers), dict(self.routes), self.position)

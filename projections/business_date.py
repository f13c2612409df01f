"""The business-date axis of every view: a plan as it stood *on* a day, whatever was recorded when.

`ledger_on(ledger, day, plan_id)` restricts a groupement's ledger (as known at some log position: the other
axis, projections/as_of.py) to what was in force on `day`, with the rules of domain/rules.py, so that the
member view, the plan dashboard, the plan balance and the plan tree computed from it answer "on that day":

- membership: the stays joined on or before the day; a departure after it had not happened yet
  (`rules.member_on` then says who was a member on the day, and the party rules of domain/parties.py give the
  same participation to every period ending by then);
- targets: the views take the day as their day (`view_day`), hence the target in force on it
  (`rules.target_in_force`);
- avenants: in force once notified on or before the day (`rules.notified_by`); one signed or notified later
  is shown as it was then (proposed, or signed);
- periods: only the measures of periods ended on or before the day; actions, proposals, revues and the
  bilan final as of the day (their dated history cut at it); the marché closed only once its closing day is
  reached;
- before the plan's start (its marché's notification), the plan has no member in force and no period.

The restriction is a pure function of the ledger and the day: the views it feeds are the live views' own code.
"""

from __future__ import annotations

from typing import Any

from progres.domain import rules
from progres.projections.ledger import Ledger

DAY_KEY = "on"  # the ledger's business day, read by member_view.view_day


def plan_start(ledger: Ledger, plan_id: str) -> str | None:
    """The day a plan starts: its marché's notification (None when the marché is not known)."""
    plan = ledger["plans"].get(plan_id)
    marche = ledger["marches"].get(plan["marche_id"]) if plan else None
    return str(marche["notified_on"]) if marche else None


def before_start(ledger: Ledger, plan_id: str, day: str) -> bool:
    start = plan_start(ledger, plan_id)
    return start is not None and day < start


def _memberships(memberships: list[dict[str, Any]], day: str) -> list[dict[str, Any]]:
    return [{**m, "left_on": m["left_on"] if m["left_on"] is not None and m["left_on"] <= day else None}
            for m in memberships if m["joined_on"] <= day]


def _avenant(avenant: dict[str, Any], day: str) -> dict[str, Any]:
    if avenant["status"] == "notified" and rules.notified_by(avenant["status"], avenant["notified_on"], day):
        return avenant
    if avenant["status"] not in ("notified", "signed"):
        return avenant  # proposed or abandoned: no date says otherwise
    signed = avenant.get("signed_on") is not None and avenant["signed_on"] <= day
    return {**avenant, "status": "signed" if signed else "proposed", "notified_on": None,
            "signed_on": avenant["signed_on"] if signed else None}


def _marche(marche: dict[str, Any], day: str) -> dict[str, Any]:
    avenants = {number: _avenant(a, day) for number, a in marche.get("avenants", {}).items()}
    titulaires = list(marche.get("titulaires_initial") or marche["titulaire_ids"])
    for avenant in sorted(avenants.values(), key=lambda a: a["number"]):
        if rules.is_notified(avenant["status"]) and avenant["changes"].get("titulaire_ids") is not None:
            titulaires = avenant["changes"]["titulaire_ids"]
    closed = marche.get("closed_on")
    return {**marche, "avenants": avenants, "titulaire_ids": titulaires,
            "closed_on": closed if closed is not None and closed <= day else None}


def _action(action: dict[str, Any], day: str) -> dict[str, Any]:
    history = [h for h in action.get("history", []) if h["on"] <= day]
    last = history[-1] if history else None
    return {**action, "history": history, "status": last["status"] if last else "planned",
            "status_on": last["on"] if last else None}


def _proposal(proposal: dict[str, Any], day: str) -> dict[str, Any]:
    decisions = [d for d in proposal["decisions"] if d["on"] <= day]
    status = proposal["status"]
    if len(decisions) < len(proposal["decisions"]):  # decided after the day: as it stood before that decision
        status = decisions[-1]["outcome"] if decisions else "submitted"
    return {**proposal, "decisions": decisions, "status": status}


def _review(review: dict[str, Any], day: str) -> dict[str, Any]:
    if review["held_on"] is not None and review["held_on"] <= day:
        return review
    return {**review, "status": "scheduled", "held_on": None, "participants": [], "points": [], "decisions": []}


def _plan(plan: dict[str, Any], day: str, started: bool) -> dict[str, Any]:
    final = plan.get("bilan_final")
    return {
        **plan,
        "measures": {k: m for k, m in plan["measures"].items() if started and m["period_end"] <= day},
        "actions": {k: _action(a, day) for k, a in plan["actions"].items()},
        "proposals": {k: _proposal(p, day) for k, p in plan["proposals"].items() if p["submitted_on"] <= day},
        "reviews": {k: _review(r, day) for k, r in plan["reviews"].items()},
        "bilan_final": final if final is not None and final["on"] <= day else None,
    }


def ledger_on(ledger: Ledger, day: str, plan_id: str) -> Ledger:
    """The ledger as the plan `plan_id` stood on the ISO day `day` (a new ledger; the one given is untouched)."""
    started = not before_start(ledger, plan_id, day)
    groupement = ledger.get("groupement")
    restricted = {
        **ledger, DAY_KEY: day,
        "marches": {k: _marche(m, day) for k, m in ledger["marches"].items()},
        "plans": {k: _plan(p, day, started) if k == plan_id else p for k, p in ledger["plans"].items()},
    }
    if groupement is not None:
        restricted["groupement"] = {**groupement,
                                    "memberships": _memberships(groupement["memberships"], day) if started else []}
    return restricted  # shares what it does not restrict with `ledger`: views are pure, they change neither

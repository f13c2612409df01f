"""Replay for auditors: a plan's history, event by event, with the state of the plan after each one.

The same reducer as every view (ledger.py) is folded over the log; only the facts of the plan's
groupement are shown, each with a compact state of the plan computed from the ledger at that point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from progres.projections.facts import Fact
from progres.projections.ledger import MARCHE_NOTIFIED, Ledger, Replay, plan_id_of_marche
from progres.projections.member_view import current_amount, notified_avenants


def plan_state(ledger: Ledger, plan_id: str) -> dict[str, Any]:
    """What the plan looked like: its tree, its activity, its marché's amount, open or closed."""
    plan = ledger["plans"].get(plan_id)
    if plan is None:
        return {"exists": False}
    marche = ledger["marches"].get(plan["marche_id"]) or {}
    notified = notified_avenants(marche)
    amount = current_amount(marche) if marche else None
    groupement = ledger.get("groupement") or {}
    return {
        "exists": True, "axes": len(plan["axes"]), "objectives": len(plan["objectives"]),
        "indicators": len(plan["indicators"]), "measures": len(plan["measures"]),
        "corrections": sum(len(m["corrections"]) for m in plan["measures"].values()),
        "actions": dict(Counter(a["status"] for a in plan["actions"].values())),
        "proposals": dict(Counter(p["status"] for p in plan["proposals"].values())),
        "reviews_held": sum(1 for r in plan["reviews"].values() if r["held_on"]),
        "avenants_notified": len(notified), "current_amount": str(amount) if amount is not None else None,
        "active_members": sum(1 for m in groupement.get("memberships", []) if m["left_on"] is None),
        "closed": plan["bilan_final"] is not None,
    }


def replay_plan(facts: Iterable[Fact], plan_id: str, until: str | None = None) -> Iterator[dict[str, Any]]:
    """Yields, for every fact of the plan's groupement (up to `until`, an ISO time), the fact and the plan's
    state after it. Facts of other groupements are folded too (the routes need them) but not shown."""
    replay = Replay()
    groupement_id: str | None = None
    # Until the plan's marché is notified, its groupement is not known: steps wait, per groupement.
    waiting: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        if until is not None and fact.timestamp > until:
            break
        route = replay.feed(fact)
        if route is None:
            continue
        step = {"position": fact.position, "timestamp": fact.timestamp, "type": fact.kind,
                "aggregate_id": fact.aggregate_id, "version": fact.version, "data": fact.data,
                "plan": plan_state(replay.ledgers[route.groupement_id], plan_id)}
        if groupement_id is None:
            if route.plan_id == plan_id or (fact.kind == MARCHE_NOTIFIED
                                            and plan_id_of_marche(fact.aggregate_id) == plan_id):
                groupement_id = route.groupement_id
                yield from waiting.pop(groupement_id, [])
                waiting.clear()
            else:
                waiting.setdefault(route.groupement_id, []).append(step)
                continue
        if route.groupement_id == groupement_id:
            yield step

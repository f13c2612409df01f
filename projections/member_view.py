"""MemberViewProjection: what one member of the groupement sees of a plan.

Fed by every fact of its groupement's ledger (see ledger.py); computed by `member_view(ledger, plan, member)`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from progres.domain import rules
from progres.projections.indicators import PlanFigures, finished_at, fmt, indicator_summary, target_on
from progres.projections.ledger import Ledger
from progres.projections.parties import standing

NAME = "member_view"


def is_member(ledger: Ledger, organisation_id: str) -> bool:
    groupement = ledger.get("groupement") or {}
    return any(m["organisation_id"] == organisation_id for m in groupement.get("memberships", []))


def active_on(ledger: Ledger, organisation_id: str, day: str) -> bool:
    return any(m["organisation_id"] == organisation_id and rules.member_on(m["joined_on"], m["left_on"], day)
               for m in (ledger.get("groupement") or {}).get("memberships", []))


def view_day(ledger: Ledger) -> str:
    """The day a view is computed for: the business day asked (projections/business_date.py), else the day of
    the last recorded fact."""
    return ledger.get("on") or (ledger.get("last_timestamp") or date.min.isoformat())[:10]


def member_view(ledger: Ledger, plan_id: str, member_id: str, figures: PlanFigures | None = None) -> dict[str, Any]:
    plan = ledger["plans"][plan_id]
    marche = ledger["marches"].get(plan["marche_id"])
    day = view_day(ledger)
    finished = finished_at(marche, plan)
    figures = figures or PlanFigures.of(plan, ledger)
    indicators = []
    for indicator in plan["indicators"].values():
        by_member = figures.index.get(indicator["key"], {})
        own = by_member.get(member_id if indicator["scope"] == "member" else None, [])
        series = figures.series.get(indicator["key"], [])
        measures = [(plan["measures"][p.measure_id], p.participation) for p in own]
        indicators.append({
            "key": indicator["key"], "name": indicator["name"], "kind": indicator["kind"],
            "scope": indicator["scope"], "unit": indicator.get("unit"), "direction": indicator.get("direction"),
            "trajectory": indicator.get("trajectory") or [], "target_in_force": fmt(target_on(indicator, day))
            if indicator["kind"] == "quantitative" else None,
            "observations": [{**{k: m[k] for k in ("period_start", "period_end", "value", "assessment", "source",
                                                   "corrections", "positions")},
                              "recorded_at": m.get("recorded_at"), "declared_on": m.get("declared_on"),
                              "partial": bool(m.get("partial")), "participation": rule} for m, rule in measures],
            **indicator_summary(indicator, own, finished),
            "groupement": [{"period_end": f.period_end, "value": fmt(f.value), "members": f.members}
                           for f in series] if indicator["kind"] == "quantitative" else [],
        })
    return {
        "plan_id": plan_id, "member_id": member_id, "groupement_id": ledger["id"], "position": ledger["position"],
        "active": active_on(ledger, member_id, day), "as_of_day": day,
        "standing": standing(ledger, marche, member_id),
        "indicators": indicators,
        "actions": [a for a in plan["actions"].values() if not a["member_ids"] or member_id in a["member_ids"]],
        "proposals": [p for p in plan["proposals"].values() if p["author_id"] == member_id],
        "decisions": [{"review_id": r["id"], "held_on": r["held_on"], **d} for r in plan["reviews"].values()
                      for d in r["decisions"]],
        "avenants": notified_avenants(marche),
    }


def notified_avenants(marche: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The avenants in force of a marché of the ledger, in the order they were proposed."""
    return rules.notified((marche or {}).get("avenants", {}).values(), lambda a: str(a["status"]))


def current_amount(marche: dict[str, Any]) -> Decimal:
    """A marché of the ledger's amount after its notified avenants (domain/rules.py)."""
    return rules.current_amount(Decimal(marche["initial_amount"]),
                                (Decimal(a["changes"]["amount_delta"]) for a in notified_avenants(marche)))


def member_ids(ledger: Ledger) -> list[str]:
    groupement = ledger.get("groupement") or {}
    return list(dict.fromkeys(m["organisation_id"] for m in groupement.get("memberships", [])))

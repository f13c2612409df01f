"""PlanDashboardProjection: a plan across its members — aggregates, actions, propositions, revues."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from progres.projections.indicators import PlanFigures, fmt
from progres.projections.ledger import Ledger
from progres.projections.member_view import view_day

NAME = "plan_dashboard"


def months_between(start: str, end: str) -> int:
    a, b = date.fromisoformat(start), date.fromisoformat(end)
    return max(0, (b.year - a.year) * 12 + b.month - a.month)


def action_state(action: dict[str, Any], day: str) -> str:
    if action["status"] == "done":
        return "done"
    if action["status"] == "cancelled":
        return "cancelled"
    return "late" if action["due_on"] < day else "on_time"


def plan_dashboard(ledger: Ledger, plan_id: str, figures: PlanFigures | None = None) -> dict[str, Any]:
    plan = ledger["plans"][plan_id]
    marche = ledger["marches"].get(plan["marche_id"]) or {}
    day = view_day(ledger)
    figures = figures or PlanFigures.of(plan, ledger)
    indicators = []
    for indicator in plan["indicators"].values():
        if indicator["kind"] != "quantitative":
            continue
        series = figures.series[indicator["key"]]
        indicators.append({"key": indicator["key"], "name": indicator["name"], "unit": indicator["unit"],
                           "aggregation": indicator["aggregation"],
                           "series": [{"period_start": f.period_start, "period_end": f.period_end,
                                       "value": fmt(f.value), "members": f.members} for f in series]})
    actions: dict[str, Counter[str]] = {}
    for action in plan["actions"].values():
        actions.setdefault(action["owner"], Counter())[action_state(action, day)] += 1
    held = [r for r in plan["reviews"].values() if r["held_on"]]
    frequency = (plan.get("governance") or {}).get("review_frequency_months")
    expected = months_between(marche["notified_on"], day) // frequency if frequency and marche else None
    return {
        "plan_id": plan_id, "groupement_id": ledger["id"], "position": ledger["position"], "as_of_day": day,
        "indicators": indicators,
        "actions": {owner: dict(counts) for owner, counts in sorted(actions.items())},
        "proposals": dict(Counter(p["status"] for p in plan["proposals"].values())),
        "reviews": {"held": len(held), "scheduled": len(plan["reviews"]) - len(held), "expected": expected},
    }

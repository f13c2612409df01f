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
    figures = figures or PlanFigures.of(ledger["plans"][plan_id], ledger)
    return assemble(member_part(ledger, plan_id, member_id, figures), plan_part(ledger, plan_id),
                    {key: series_part(figures, key) for key in figures.series})


# The member view is stored in parts (issue 12, rows): what concerns the member alone (`member_part`, one row per
# member, rewritten when its own measures or the plan's structure change), what depends on the day of the last
# fact (`plan_part`, one row per plan) and the groupement's series (`series_part`, one row per indicator, rewritten
# when a measure of that indicator changes). `assemble` makes the view from them; `member_view` is that assembly.
def member_part(ledger: Ledger, plan_id: str, member_id: str, figures: PlanFigures) -> dict[str, Any]:
    """The member's own part of its view: its measures, their summary, its standing, actions and proposals."""
    plan = ledger["plans"][plan_id]
    marche = ledger["marches"].get(plan["marche_id"])
    finished = finished_at(marche, plan)
    measures = plan["measures"]
    indicators = []
    for indicator in plan["indicators"].values():
        by_member = figures.index.get(indicator["key"], {})
        own = by_member.get(member_id if indicator["scope"] == "member" else None, [])
        indicators.append({
            "key": indicator["key"], "name": indicator["name"], "kind": indicator["kind"],
            "scope": indicator["scope"], "unit": indicator.get("unit"), "direction": indicator.get("direction"),
            "trajectory": indicator.get("trajectory") or [], "target_in_force": None,  # the day's: plan_part
            "observations": [{"period_start": m["period_start"], "period_end": m["period_end"], "value": m["value"],
                              "assessment": m["assessment"], "source": m["source"], "corrections": m["corrections"],
                              "positions": m["positions"], "recorded_at": m.get("recorded_at"),
                              "declared_on": m.get("declared_on"), "partial": bool(m.get("partial")),
                              "participation": p.participation}
                             for p in own for m in (measures[p.measure_id],)],
            **indicator_summary(indicator, own, finished),
            "groupement": [],  # series_part
        })
    return {
        "plan_id": plan_id, "member_id": member_id, "groupement_id": ledger["id"], "position": 0,
        "active": False, "as_of_day": "",  # the day's: plan_part
        "standing": _standing(ledger, plan_id, marche, member_id, figures),
        "indicators": indicators,
        "actions": [a for a in plan["actions"].values() if not a["member_ids"] or member_id in a["member_ids"]],
        "proposals": [p for p in plan["proposals"].values() if p["author_id"] == member_id],
        "decisions": [{"review_id": r["id"], "held_on": r["held_on"], **d} for r in plan["reviews"].values()
                      for d in r["decisions"]],
        "avenants": notified_avenants(marche),
        STAYS: stays_of(ledger, figures).get(member_id, []),
    }


STAYS_MEMO = "views:stays"  # what `stays_of` keeps in `PlanFigures.memo`


def stays_of(ledger: Ledger, figures: PlanFigures) -> dict[str, list[list[Any]]]:
    """Each organisation's stays in the groupement (joined, left), made once per figures (the structure's: a runner
    keeps them from batch to batch), not by walking the memberships for each member's part."""
    found: dict[str, list[list[Any]]] | None = figures.memo.get(STAYS_MEMO)
    if found is None:
        found = figures.memo[STAYS_MEMO] = {}
        for m in (ledger.get("groupement") or {}).get("memberships", []):
            found.setdefault(m["organisation_id"], []).append([m["joined_on"], m["left_on"]])
    return found


def standings_key(plan_id: str) -> str:
    """Where a plan's figures keep every member's standing once made (plan_balance.standings)."""
    return f"standings:{plan_id}"


def _standing(ledger: Ledger, plan_id: str, marche: dict[str, Any] | None, member_id: str,
              figures: PlanFigures) -> dict[str, Any]:
    """The member's standing: from the plan's standings when its figures keep them (a runner's, from batch to batch:
    finding a marché's parties walks the groupement's members), else made for it alone."""
    known = figures.memo.get(standings_key(plan_id), {}).get(member_id)
    return known if known is not None else standing(ledger, marche, member_id)


STAYS = "_stays"  # kept in the member's part, to tell whether it is a member on the day of the view


def plan_part(ledger: Ledger, plan_id: str) -> dict[str, Any]:
    """What the view of every member of the plan takes from the day of the last fact: position, day, targets."""
    plan = ledger["plans"][plan_id]
    day = view_day(ledger)
    return {"position": ledger["position"], "as_of_day": day,
            "targets": {i["key"]: fmt(target_on(i, day)) for i in plan["indicators"].values()
                        if i["kind"] == "quantitative"}}


def series_part(figures: PlanFigures, key: str) -> dict[str, Any]:
    """The groupement's figures of one quantitative indicator, period by period, as the member view shows them."""
    return {"groupement": [{"period_end": f.period_end, "value": fmt(f.value), "members": f.members}
                           for f in figures.series.get(key, [])]}


def assemble(part: dict[str, Any], plan: dict[str, Any] | None, series: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A member view from its parts (`plan` None: the plan's part is not stored yet, the member's part is shown)."""
    stays = part.get(STAYS)
    view = {k: v for k, v in part.items() if k != STAYS}
    if plan is None or stays is None:
        return view
    day = plan["as_of_day"]
    view.update(position=plan["position"], as_of_day=day,
                active=any(rules.member_on(joined, left, day) for joined, left in stays))
    view["indicators"] = [
        {**i, "target_in_force": plan["targets"].get(i["key"]),
         "groupement": (series.get(i["key"]) or {"groupement": []})["groupement"]}
        if i["kind"] == "quantitative" else i for i in view["indicators"]]
    return view


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

"""PlanBalanceProjection: the bilan du plan at a date (final once the plan is closed)."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from progres.domain import rules
from progres.projections.indicators import PlanFigures, Point, finished_at, fmt, indicator_summary
from progres.projections.ledger import Ledger
from progres.projections.member_view import current_amount, member_ids, standings_key, view_day
from progres.projections.parties import parties, standings_of
from progres.projections.plan_dashboard import action_state

NAME = "plan_balance"
HUNDRED = Decimal(100)


def groupement_points(indicator: dict[str, Any], figures: PlanFigures) -> list[Point]:
    if indicator["scope"] == "groupement" or indicator["kind"] == "qualitative":
        return figures.index.get(indicator["key"], {}).get(None, [])
    return [Point(None, f.period_start, f.period_end, f.value, None, "", f.positions)
            for f in figures.series[indicator["key"]]]


def gains(plan: dict[str, Any], accepted: list[dict[str, Any]], members: list[str]) -> dict[str, Any]:
    """Expected gains of accepted propositions, split between parties, then members, per the rule."""
    total = sum((Decimal(p["expected_gain"]) for p in accepted if p["expected_gain"] is not None), Decimal(0))
    rule = plan.get("gain_sharing")
    if rule is None:
        return {"total": fmt(total), "rule": None, "parties": {}, "members": {}}
    parties = {party: fmt((total * Decimal(share) / HUNDRED).quantize(Decimal("0.01")))
               for party, share in rule["shares"].items()}
    buyer_share = total * Decimal(rule["shares"].get("acheteur", 0)) / HUNDRED
    volumes = {m: Decimal(plan["purchase_volumes"].get(m, 0)) for m in members}
    if rule["member_split"] == "purchase_volume" and sum(volumes.values()) > 0:
        weights = volumes
    else:
        weights = {m: Decimal(1) for m in members}
    weight_total = sum(weights.values(), Decimal(0))
    per_member = {m: fmt((buyer_share * w / weight_total).quantize(Decimal("0.01")))
                  for m, w in weights.items() if w > 0} if weight_total else {}
    return {"total": fmt(total), "rule": rule, "parties": parties, "members": per_member}


def plan_balance(ledger: Ledger, plan_id: str, figures: PlanFigures | None = None) -> dict[str, Any]:
    figures = figures or PlanFigures.of(ledger["plans"][plan_id], ledger)
    members = balance_members(ledger, figures)
    return assemble(balance_part(ledger, plan_id, figures),
                    [member_part(ledger, plan_id, figures, m, rank) for rank, m in enumerate(members)])


# The balance is stored in parts (issue 12, rows): the plan's own figures (`balance_part`, one row per plan) and each
# member's breakdown and standing (`member_part`, one row per member, rewritten when its measures or the plan's
# structure change); `assemble` makes the balance from them.
def balance_members(ledger: Ledger, figures: PlanFigures) -> list[str]:
    """The members a balance breaks down (the coordonnateur apart), in the order they joined."""
    found: list[str] | None = figures.memo.get("balance_members")
    if found is None:  # (made once per figures: `setdefault` would walk the members each time to make its default)
        found = figures.memo["balance_members"] = [
            m for m in member_ids(ledger) if m != (ledger.get("groupement") or {}).get("coordonnateur_id")]
    return found


def standings(ledger: Ledger, plan_id: str, figures: PlanFigures) -> dict[str, dict[str, Any]]:
    """Each member's standing in the plan's marché (depends on the plan's structure only: kept with the figures)."""
    key = standings_key(plan_id)
    if key not in figures.memo:
        marche = ledger["marches"].get(ledger["plans"][plan_id]["marche_id"]) or None
        figures.memo[key] = standings_of(ledger, marche, balance_members(ledger, figures))
    found: dict[str, dict[str, Any]] = figures.memo[key]
    return found


def party_members(ledger: Ledger, plan_id: str, figures: PlanFigures) -> list[str]:
    """The balance's members that are parties of the plan's marché (`standings`' "party", without the rest of each
    standing: as-of makes the standings of the members of a page only)."""
    marche = ledger["marches"].get(ledger["plans"][plan_id]["marche_id"]) or None
    if marche is None:
        return []
    ids = parties(ledger, marche)
    return [m for m in balance_members(ledger, figures) if m in ids]


def member_part(ledger: Ledger, plan_id: str, figures: PlanFigures, member: str, rank: int) -> dict[str, Any]:
    plan = ledger["plans"][plan_id]
    finished = finished_at(ledger["marches"].get(plan["marche_id"]) or {}, plan)
    return {"member_id": member, "rank": rank, "breakdown": member_breakdown(plan, figures.index, member, finished),
            "standing": standings(ledger, plan_id, figures)[member]}


def assemble(part: dict[str, Any], members: list[dict[str, Any]],
             positions: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """The balance from its plan part, its members' rows (any order: the members' order is their rank) and the
    positions behind its indicators' figures (`positions_parts`; a part made with them inline keeps its own)."""
    ordered = sorted(members, key=lambda row: row["rank"])
    balance = {**part, "members": {row["member_id"]: row["breakdown"] for row in ordered},
               "parties": {row["member_id"]: row["standing"] for row in ordered}}
    if positions:
        balance["axes"] = [{**axis, "objectives": [
            {**objective, "indicators": [with_positions(i, positions) for i in objective["indicators"]]}
            for objective in axis["objectives"]]} for axis in part["axes"]]
    return balance


def with_positions(indicator: dict[str, Any], positions: dict[str, list[int]]) -> dict[str, Any]:
    """An indicator's entry of the balance with the positions behind its figures put back in their place."""
    if "positions" in indicator:
        return indicator
    qualitative = indicator["kind"] == "qualitative"
    whiches, after = (("latest",), "status") if qualitative else (("first", "last"), "measures")
    entry: dict[str, Any] = {}
    for key, value in indicator.items():  # in the place `indicator_summary` gives them
        entry[key] = value
        if key == after:
            entry["positions"] = {which: positions.get(position_key(indicator["key"], which), [])
                                  for which in whiches}
    return entry


POSITIONS_MEMO = "balance:positions"  # what `positions_parts` keeps in `PlanFigures.memo`: what it made last


def position_key(indicator_key: str, which: str) -> str:
    """The key of a `balance_positions` row: the indicator and which of its figures ("first", "last", "latest")."""
    return f"{indicator_key}/{which}"


def positions_parts(ledger: Ledger, plan_id: str, figures: PlanFigures,
                    indicators: frozenset[str] | None = None) -> list[tuple[str, list[int]]]:
    """The log positions behind each indicator's first and last groupement figures (a qualitative indicator's latest
    assessment), the balance's `positions` apart from its plan part: one row per indicator and figure, made only
    when that figure's positions changed since this function last made them with these figures (`indicators`: the
    only ones whose measures changed; None: any may have; all of them the first time with these figures). The
    figures of a member indicator hold one position per member's measure: 3,000 at 3,000 members, which the plan
    part rewrote at each new measure."""
    made: dict[str, tuple[Any, int]] | None = figures.memo.get(POSITIONS_MEMO)
    if made is None:  # figures made anew (a runner's state loaded again): every indicator's rows, whatever changed (a
        made = figures.memo[POSITIONS_MEMO] = {}  # worker of a previous release may have left them as it wrote them)
        indicators = None
    rows = []
    for indicator in ledger["plans"][plan_id]["indicators"].values():
        if indicators is not None and indicator["key"] not in indicators:
            continue
        points = groupement_points(indicator, figures)
        if indicator["kind"] == "qualitative":
            chosen = {"latest": points[-1] if points else None}
        else:
            numeric = [p for p in points if p.value is not None]
            chosen = {"first": numeric[0] if numeric else None, "last": numeric[-1] if numeric else None}
        for which, point in chosen.items():
            key = position_key(indicator["key"], which)
            source = point.positions if point is not None else ()
            # the same sequence, not lengthened: the same positions (a figure is made again when it changes; a
            # groupement measure's list is lengthened by its corrections)
            before = made.get(key)
            if before is not None and before[0] is source and before[1] == len(source):
                continue
            made[key] = (source, len(source))
            rows.append((key, sorted(source)))
    return rows


def balance_part(ledger: Ledger, plan_id: str, figures: PlanFigures | None = None,
                 positions: bool = True) -> dict[str, Any]:
    plan = ledger["plans"][plan_id]
    marche = ledger["marches"].get(plan["marche_id"]) or {}
    day = view_day(ledger)
    finished = finished_at(marche, plan)
    figures = figures or PlanFigures.of(plan, ledger)
    axes = []
    for axis in plan["axes"].values():
        objectives = []
        for objective in (o for o in plan["objectives"].values() if o["axis_key"] == axis["key"]):
            indicators = []
            for indicator in (i for i in plan["indicators"].values() if i["objective_key"] == objective["key"]):
                points = groupement_points(indicator, figures)
                summary = indicator_summary(indicator, points, finished, positions)
                indicators.append({"key": indicator["key"], "name": indicator["name"], "kind": indicator["kind"],
                                   "unit": indicator.get("unit"), **summary, **counting(indicator, figures)})
            objectives.append({"key": objective["key"], "title": objective["title"], "kind": objective["kind"],
                               "indicators": indicators})
        actions = [a for a in plan["actions"].values() if a["axis_key"] == axis["key"]]
        axes.append({"key": axis["key"], "title": axis["title"], "added_by_avenant": axis["added_by_avenant"],
                     "objectives": objectives, "actions": len(actions)})
    actions_by_owner: dict[str, Counter[str]] = defaultdict(Counter)
    for action in plan["actions"].values():
        actions_by_owner[action["owner"]][action_state(action, day)] += 1
        actions_by_owner[action["owner"]]["total"] += 1
    proposals = list(plan["proposals"].values())
    statuses = Counter(p["status"] for p in proposals)
    accepted = [p for p in proposals if p["status"] == "accepted"]
    avenants = sorted(marche.get("avenants", {}).values(), key=lambda a: a["number"])
    initial = Decimal(marche["initial_amount"]) if marche else Decimal(0)
    current = current_amount(marche) if marche else initial
    if "gains" not in figures.memo:
        figures.memo["gains"] = gains(plan, accepted, party_members(ledger, plan_id, figures))
    return {
        "plan_id": plan_id, "groupement_id": ledger["id"], "title": plan["title"], "position": ledger["position"],
        "as_of_day": day, "final": plan.get("bilan_final") is not None, "bilan_final": plan.get("bilan_final"),
        "axes": axes,
        "actions": {owner: dict(c) for owner, c in sorted(actions_by_owner.items())},
        "proposals": {"submitted": len(proposals), "accepted": statuses["accepted"],
                      "rejected": statuses["rejected"], "withdrawn": statuses["withdrawn"],
                      "pending": statuses["submitted"] + statuses["postponed"],
                      "expected_impact": [{"title": p["title"], "status": p["status"],
                                           "expected_impact": p["expected_impact"],
                                           "expected_gain": p["expected_gain"]} for p in proposals]},
        "reviews": {"held": sum(1 for r in plan["reviews"].values() if r["held_on"]),
                    "points": [pt for r in plan["reviews"].values() for pt in r["points"]]},
        "avenants": [{"number": a["number"], "basis": a["basis"], "status": a["status"], "reason": a["reason"],
                      "amount_delta": a["changes"]["amount_delta"], "notified_on": a["notified_on"],
                      "cumulative_percent": a["cumulative_percent"], "needs_cao_opinion": a["needs_cao_opinion"],
                      # which reading of R2194-9 and which threshold row the avenant was checked by, and the CAO
                      "cumulation": a.get("cumulation"), "small_modifications": a.get("small_modifications"),
                      "cao_opinion": a.get("cao_opinion")}
                     for a in avenants],
        "marche": {"initial_amount": fmt(initial), "current_amount": fmt(current),
                   "cumulative_change_percent": fmt(rules.cumulative_change_percent(initial, current))
                   if initial else None},
        # gains are shared between the marché's parties only (QE 100136 of 2011: a later member takes no part)
        "gains": figures.memo["gains"],
        "members": {}, "parties": {},  # each member's row: member_part
    }


def counting(indicator: dict[str, Any], figures: PlanFigures) -> dict[str, Any]:
    """How the groupement's figures of a member indicator were made, period by period: the aggregation, the
    weighting rule that applied, how many members counted and which were left out, and why."""
    if indicator["scope"] != "member" or indicator["kind"] != "quantitative":
        return {}
    return {"aggregation": indicator.get("aggregation"), "periods": [
        {"period_start": f.period_start, "period_end": f.period_end, "value": fmt(f.value), "members": f.members,
         "weighting": f.weighting, "excluded": [{"member_id": m, "rule": why} for m, why in f.excluded]}
        for f in figures.series.get(indicator["key"], [])]}


def member_breakdown(plan: dict[str, Any], index: dict[str, dict[str | None, list[Point]]], member: str,
                     finished: bool) -> dict[str, Any]:
    """Each member's own series, with the rule each of its measures fell under (party, bound after leaving,
    until its withdrawal, or not counted: joined after the launch, gone)."""
    breakdown = {}
    for indicator in plan["indicators"].values():
        if indicator["scope"] != "member":
            continue
        points = index.get(indicator["key"], {}).get(member, [])
        summary = {k: v for k, v in indicator_summary(indicator, points, finished).items() if k != "positions"}
        summary["rules"] = sorted({p.participation for p in points})
        breakdown[indicator["key"]] = summary
    return breakdown

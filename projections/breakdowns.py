"""Each member's breakdown in a plan kept as versioned rows (issue 12, as-of balance).

A balance shows, per member and member indicator, the first and last values, how many measures, the latest
assessment and the rules its measures fell under (`plan_balance.member_breakdown`). As-of used to read every
measure of the members it shows (7,440 JSON documents for 20 members at month 31). Instead, a *summary* of each
member's points (`summary_of`: per indicator the count, the first and last valued points, the last point and the
distinct periods; nothing that depends on the plan's structure, which the reader takes from the ledger as of then)
is written as a row of `member_summaries` keyed by (plan, member, position):
- by the runner, for the members whose measures a batch recorded or corrected, at the batch's end position;
- by a rebuild, at each checkpoint, for the members whose measures changed since the groupement's previous one.

As of P, a member's breakdown is its last summary at or before P (at V) with the member's measures recorded in
(V, P] added and the corrections recorded in (V, P] of its older ones applied (`Summary.add`, `Summary.correct`);
a member without a summary by P is made from its measures as before. Nothing here changes what is shown: the
rows are a shortcut, the tests compare with the replayed ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from itertools import repeat
from operator import is_, itemgetter
from typing import Any

from progres.projections.indicators import PerDecimal, PlanFigures, Point, qualitative_summary, quantitative_summary
from progres.projections.parties import RuleOf

TABLE = "member_summaries"
SummaryRow = tuple[str, str, str, int, dict[str, Any]]  # (groupement, plan, member, position, summary)


def summary_of(index: dict[str, dict[str | None, list[Point]]], member: str) -> dict[str, Any]:
    """A member's summary from a plan's index of points (`PlanFigures.index`, each list in period order): its distinct
    periods, and per indicator [points, points with a value, first valued point, last valued point, last point, the
    indices of its periods (null: all the member's periods)], a point being [period index, value, assessment, the
    position its measure was recorded at]."""
    periods: dict[tuple[str, str], int] = {}

    def point(p: Point) -> list[Any]:
        return [periods[(p.period_start, p.period_end)], None if p.value is None else str(p.value), p.assessment,
                p.positions[0]]

    indicators: dict[str, list[Any]] = {}
    # (Made with as few steps per point as can be: a rebuild makes the summaries of the members changed at each of its
    # checkpoints, each from all the member's points.) Periods are numbered as the points are met; indicators
    # measured over the same periods as the one before (the usual case) share its period numbers.
    last: tuple[list[tuple[str, str]], list[int]] | None = None
    for key, by_member in index.items():
        points = by_member.get(member)
        if not points:
            continue
        spans = list(dict.fromkeys(map(_SPAN, points)))
        if last is not None and spans == last[0]:
            seen = list(last[1])
        else:
            seen = sorted({periods.setdefault(span, len(periods)) for span in spans})
            last = (spans, seen)
        first: Point | None
        final: Point | None
        if not any(map(is_, map(_VALUE, points), repeat(None))):  # (by identity: a Decimal's == is slow)
            count, first, final = len(points), points[0], points[-1]
        else:
            numeric = [p for p in points if p.value is not None]
            count, first, final = len(numeric), (numeric[0] if numeric else None), (numeric[-1] if numeric else None)
        indicators[key] = [len(points), count, point(first) if first else None, point(final) if final else None,
                           point(points[-1]), seen]
    every = list(range(len(periods)))
    for entry in indicators.values():
        if entry[5] == every:
            entry[5] = None
    return {"periods": [list(p) for p in periods], "indicators": indicators}


_SPAN, _VALUE = itemgetter(1, 2), itemgetter(3)  # a Point's (period_start, period_end), its value


def summary(figures: PlanFigures, member: str) -> dict[str, Any]:
    """`summary_of(figures.index, member)`, from what the figures keep of the member's points per indicator
    (`PlanFigures.tally`, kept point by point by `update`): its cost is that of the summary's size (the member's
    periods and indicators), not of all its points (tests/unit/test_plan_figures_update.py holds them equal)."""
    periods: dict[tuple[str, str], int] = {}

    def point(p: Point) -> list[Any]:
        value = p.value
        return [periods[(p.period_start, p.period_end)], None if value is None else text(value), p.assessment,
                p.positions[0]]

    indicators: dict[str, list[Any]] = {}
    last: tuple[list[tuple[str, str]], list[int]] | None = None
    tally = figures.tally
    for key, by_member in figures.index.items():
        points = by_member.get(member)
        if not points:
            continue
        kept = tally(key, member)
        spans = kept.spans
        if last is not None and spans == last[0]:
            seen = list(last[1])
        else:
            seen = sorted({periods.setdefault(span, len(periods)) for span in spans})
            last = (spans, seen)
        first, final, latest = kept.first, kept.last, points[-1]
        latest_point = point(latest)  # (the last valued point is most often the last point: a copy of its list then)
        final_point = None if final is None else latest_point[:] if final is latest else point(final)
        indicators[key] = [len(points), kept.valued, point(first) if first else None, final_point, latest_point, seen]
    every = list(range(len(periods)))
    for entry in indicators.values():
        if entry[5] == every:
            entry[5] = None
    return {"periods": [list(p) for p in periods], "indicators": indicators}


text = PerDecimal(str)  # `str(value)`, kept for the same object


def rows_of(g: str, plan_id: str, figures: PlanFigures, members: Iterable[str], position: int) -> list[SummaryRow]:
    return [(g, plan_id, m, position, summary(figures, m)) for m in sorted(members)]


def batch_rows(g: str, ledger: dict[str, Any], figures: dict[str, PlanFigures], written: dict[str, tuple[str, str]],
               position: int) -> list[SummaryRow]:
    """The summaries a runner's batch writes for a groupement: those of the members whose measures it recorded or
    corrected (`written`: measure -> (groupement, plan)), at the batch's end position."""
    members = changed_members(ledger, ((m, p) for m, (h, p) in written.items() if h == g))
    return [row for p, found in members.items() if p in figures for row in rows_of(g, p, figures[p], found, position)]


def checkpoint_rows(g: str, figures: dict[str, PlanFigures], by_plan: dict[str, list[dict[str, Any]]],
                    position: int) -> list[SummaryRow]:
    """The summaries a rebuild writes at a groupement's checkpoint: those of the members whose measures changed since
    its previous one (`by_plan`: plan -> those measures, `RebuildFold._by_plan`)."""
    return [row for p, found in by_plan.items() if p in figures
            for row in rows_of(g, p, figures[p], {m["member_id"] for m in found if m["member_id"] is not None},
                               position)]


def changed_members(ledger: dict[str, Any], measures: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Per plan, the members of these (measure, plan) pairs (the groupement's own measures are not summarised)."""
    found: dict[str, set[str]] = {}
    plans = ledger.get("plans") or {}
    for measure_id, plan_id in measures:
        m = (plans.get(plan_id) or {}).get("measures", {}).get(measure_id)
        if m is not None and m["member_id"] is not None:
            found.setdefault(plan_id, set()).add(m["member_id"])
    return found


class Summary:
    """A member's summary being brought from its version to P (the measures it holds were recorded by then)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.periods: list[tuple[str, str]] = [(s, e) for s, e in doc["periods"]]
        self.index = {p: i for i, p in enumerate(self.periods)}
        every = range(len(self.periods))
        self.indicators: dict[str, list[Any]] = {k: [v[0], v[1], v[2], v[3], v[4], set(every if v[5] is None else v[5])]
                                                 for k, v in doc["indicators"].items()}

    def _period(self, start: str, end: str) -> int:
        key = (start, end)
        if key not in self.index:
            self.index[key] = len(self.periods)
            self.periods.append(key)
        return self.index[key]

    def _not_before(self, period: tuple[str, str], point: list[Any] | None) -> bool:
        return point is None or period >= self.periods[point[0]]

    def add(self, m: dict[str, Any]) -> None:
        """A measure recorded after every measure the summary holds (as it stood at P)."""
        entry = self.indicators.setdefault(m["indicator_key"], [0, 0, None, None, None, set()])
        period = (m["period_start"], m["period_end"])
        point = [self._period(*period), m["value"], m["assessment"], m["positions"][0]]
        entry[0] += 1
        entry[5].add(point[0])
        if self._not_before(period, entry[4]):  # after the points of its period: it was recorded after them
            entry[4] = point
        if m["value"] is not None:
            entry[1] += 1
            if entry[2] is None or period < self.periods[entry[2][0]]:
                entry[2] = point
            if self._not_before(period, entry[3]):
                entry[3] = point

    def correct(self, before: dict[str, Any], after: dict[str, Any]) -> bool:
        """A measure the summary holds, corrected since: its value then and at P. False when the correction changed
        whether it has a value (not made by the domain: the caller reads the member's measures instead)."""
        if (before["value"] is None) != (after["value"] is None):
            return False
        entry = self.indicators.get(after["indicator_key"])
        if entry is None:
            return False
        recorded = after["positions"][0]
        for slot in (2, 3, 4):
            if entry[slot] is not None and entry[slot][3] == recorded:
                entry[slot] = [entry[slot][0], after["value"], after["assessment"], recorded]
        return True

    def breakdown(self, plan: dict[str, Any], member: str, rules: RuleOf, finished: bool) -> dict[str, Any]:
        """`plan_balance.member_breakdown` of the member from its summary."""
        breakdown = {}
        by_period: list[str] | None = None  # the rule of each of the member's periods, asked once
        for indicator in plan["indicators"].values():
            if indicator["scope"] != "member":
                continue
            entry = self.indicators.get(indicator["key"])
            if entry is None:
                summary = (qualitative_summary(None, 0) if indicator["kind"] == "qualitative"
                           else quantitative_summary(indicator, None, None, 0, finished))
                summary.pop("positions")
                summary["rules"] = []
                breakdown[indicator["key"]] = summary
                continue
            count, numeric, first, last, latest, periods = entry
            if indicator["kind"] == "qualitative":
                summary = qualitative_summary(self._as_point(latest, member), count)
            else:
                summary = quantitative_summary(indicator, self._as_point(first, member),
                                               self._as_point(last, member), numeric, finished)
            summary.pop("positions")
            if by_period is None:
                by_period = [rules(member, start, end) for start, end in self.periods]
            summary["rules"] = sorted({by_period[i] for i in periods})
            breakdown[indicator["key"]] = summary
        return breakdown


    def _as_point(self, point: list[Any] | None, member: str) -> Point | None:
        if point is None:
            return None
        start, end = self.periods[point[0]]
        return Point(member, start, end, None if point[1] is None else Decimal(point[1]), point[2], "", ())

"""Indicator arithmetic shared by the views: series per member, groupement aggregates, targets, status."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from progres.domain import rules
from progres.domain.values import Aggregation
from progres.projections.aggregation import NO_VOLUME, achievement, combine
from progres.projections.parties import GROUPEMENT_SCOPE, RuleOf, counts, rule_of


class Point(NamedTuple):
    member_id: str | None
    period_start: str
    period_end: str
    value: Decimal | None
    assessment: str | None
    measure_id: str
    positions: Sequence[int]
    participation: str = "party"  # the rule the member's measure falls under (projections/parties.py)


def index_measures(plan: dict[str, Any], rule_of: RuleOf | None = None) -> dict[str, dict[str | None, list[Point]]]:
    """indicator key → member id (None for the groupement) → points in period order."""
    index: dict[str, dict[str | None, list[Point]]] = defaultdict(lambda: defaultdict(list))
    decimals: dict[str, Decimal] = {}  # the same values come again and again (a Decimal is immutable)
    for m in plan["measures"].values():
        text = m["value"]
        if type(text) is str:
            value = decimals.get(text)
            if value is None:
                value = decimals[text] = Decimal(text)
        else:
            value = Decimal(text) if text is not None else None
        rule = rule_of(m["member_id"], m["period_start"], m["period_end"]) if rule_of else \
            ("party" if m["member_id"] else GROUPEMENT_SCOPE)
        index[m["indicator_key"]][m["member_id"]].append(
            Point(m["member_id"], m["period_start"], m["period_end"], value, m["assessment"], m["id"],
                  m["positions"], rule))
    for by_member in index.values():
        for points in by_member.values():
            points.sort(key=lambda p: (p.period_start, p.period_end))
    return index


def target_on(indicator: dict[str, Any], day: str) -> Decimal | None:
    """The target in force on an ISO day (domain/rules.py), read from an indicator of the ledger."""
    steps = ((s["from"], Decimal(s["target"])) for s in indicator.get("trajectory") or [])
    return rules.target_in_force(steps, decimal_or_none(indicator.get("target")), day)


def decimal_or_none(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def is_met(indicator: dict[str, Any], value: Decimal, target: Decimal) -> bool:
    return value >= target if indicator.get("direction") == "increase" else value <= target


def status(indicator: dict[str, Any], value: Decimal | None, target: Decimal | None, finished: bool) -> str:
    if value is None or target is None:
        return "no_data"
    if is_met(indicator, value, target):
        return "met"
    return "not_met" if finished else "in_progress"


class PeriodFigure(NamedTuple):
    period_start: str
    period_end: str
    value: Decimal | None
    members: int
    positions: Sequence[int]
    excluded: tuple[tuple[str | None, str], ...] = ()  # (member, why): not a party, gone, or no volume
    weighting: str | None = None  # for a weighted mean: which weighting rule applied (aggregation.py)


def groupement_series(indicator: dict[str, Any], by_member: dict[str | None, list[Point]],
                      weights: dict[str, Any]) -> list[PeriodFigure]:
    """The groupement's figure per period, combining the members that count with the indicator's rule; the
    members left out, and why, are named with it."""
    return series_of(indicator, points_by_period(by_member), weights)


def points_by_period(by_member: dict[str | None, list[Point]]) -> dict[tuple[str, str], list[Point]]:
    """An indicator's points by period, in the members' order (then each member's)."""
    per_period: dict[tuple[str, str], list[Point]] = {}
    for points in by_member.values():
        for point in points:
            per_period.setdefault((point.period_start, point.period_end), []).append(point)
    return per_period


def series_of(indicator: dict[str, Any], per_period: dict[tuple[str, str], list[Point]],
              weights: dict[str, Any]) -> list[PeriodFigure]:
    rule = Aggregation(indicator.get("aggregation") or "none")
    volumes = {member: Decimal(v) for member, v in weights.items()}
    return [period_figure(rule, start, end, points, volumes) for (start, end), points in sorted(per_period.items())]


def period_figure(rule: Aggregation, start: str, end: str, points: list[Point],
                  volumes: dict[str, Decimal]) -> PeriodFigure:
    """One period's groupement figure from the points of that period, in the members' order."""
    counted = [p for p in points if counts(p.participation)]
    excluded = [(p.member_id, p.participation) for p in points if not counts(p.participation)]
    numbers = [(p.member_id, p.value) for p in counted if p.value is not None]
    combined = combine(rule, numbers, volumes)
    excluded += [(member, NO_VOLUME) for member in combined.without_volume]
    used = [p for p in counted if p.member_id not in combined.without_volume]
    positions = tuple(sorted(pos for p in used for pos in p.positions))
    return PeriodFigure(start, end, combined.value, len(used), positions, tuple(excluded), combined.weighting)


def fmt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def indicator_summary(indicator: dict[str, Any], points: Iterable[Point], finished: bool) -> dict[str, Any]:
    """First and last values of one series against baseline and target (the target in force for the
    last measured period); a qualitative indicator gives its latest assessment and never a percentage."""
    points = list(points)
    if indicator["kind"] == "qualitative":
        return qualitative_summary(points[-1] if points else None, len(points))
    numeric = [p for p in points if p.value is not None]
    return quantitative_summary(indicator, numeric[0] if numeric else None, numeric[-1] if numeric else None,
                                len(numeric), finished)


def qualitative_summary(last: Point | None, count: int) -> dict[str, Any]:
    """`indicator_summary` of a qualitative series from its last point and its number of points."""
    return {"latest_assessment": last.assessment if last else None,
            "latest_period": last.period_end if last else None, "measures": count,
            "status": "assessed" if last else "no_data",
            "positions": {"latest": sorted(last.positions) if last else []}}


def quantitative_summary(indicator: dict[str, Any], first: Point | None, last: Point | None, count: int,
                         finished: bool) -> dict[str, Any]:
    """`indicator_summary` of a quantitative series from its first and last valued points and how many have a value
    (projections/breakdowns.py makes a member's from its summary row)."""
    baseline = decimal_or_none(indicator.get("baseline"))
    target = target_on(indicator, last.period_end) if last else decimal_or_none(indicator.get("target"))
    last_value = last.value if last else None
    return {
        "baseline": fmt(baseline), "target": fmt(target), "first": fmt(first.value) if first else None,
        "first_period": first.period_end if first else None, "last": fmt(last_value),
        "last_period": last.period_end if last else None,
        "achievement": fmt(achievement(baseline, target, last_value)),
        "status": status(indicator, last_value, target, finished), "measures": count,
        # Where each figure comes from: the log positions of the measures and corrections behind it.
        "positions": {"first": sorted(first.positions) if first else [],
                      "last": sorted(last.positions) if last else []},
    }


def finished_at(marche: dict[str, Any] | None, plan: dict[str, Any]) -> bool:
    """Once the plan is closed by its bilan final (or its marché closed), a target not met is not met."""
    if plan.get("bilan_final") is not None:
        return True
    return bool(marche and marche.get("closed_on"))


RULES_MEMO, VOLUMES_MEMO = "update:rule_of", "update:volumes"  # what `PlanFigures.update` keeps in its memo


@dataclass
class PlanFigures:
    """What every view of one plan needs, computed once per plan: measures by indicator and member,
    and the groupement's series per indicator.

    A runner keeps it from batch to batch: `update` takes the measures a batch recorded or corrected and changes
    only their points and the figures of their (indicator, period), whatever the groupement's size; anything else
    (a member joining, a volume, a trajectory…) makes it anew. `memo` holds what views derive from the plan's
    structure alone (e.g. the balance's parties), valid as long as this object is."""

    index: dict[str, dict[str | None, list[Point]]]
    series: dict[str, list[PeriodFigure]]
    memo: dict[str, Any] = field(default_factory=dict)
    # indicator key -> period -> its points in the members' order (those of the series, then kept by `update`)
    periods: dict[str, dict[tuple[str, str], list[Point]]] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: dict[str, Any], ledger: dict[str, Any] | None = None) -> PlanFigures:
        """With the ledger, each member's measure is counted per the marché's party rules (and labelled)."""
        rules = rule_of(ledger, ledger["marches"].get(plan["marche_id"])) if ledger is not None else None
        index = index_measures(plan, rules)
        periods = {key: points_by_period(index.get(key, {})) for key, indicator in plan["indicators"].items()
                   if indicator["kind"] == "quantitative"}
        series = {key: series_of(plan["indicators"][key], per_period, plan["purchase_volumes"])
                  for key, per_period in periods.items()}
        return cls(index, series, periods=periods)

    def update(self, plan: dict[str, Any], ledger: dict[str, Any], measure_ids: Iterable[str]) -> None:
        """The same figures as `of` would make after the batch, when the batch only recorded or corrected these
        measures of the plan (the ledger already holds them)."""
        # The participation rule and the volumes depend on the plan's structure alone (memberships, parties, volumes:
        # anything else than a measure makes the figures anew): made once, not per batch (each walks the members).
        rules = self.memo.get(RULES_MEMO)
        if rules is None:
            rules = self.memo[RULES_MEMO] = rule_of(ledger, ledger["marches"].get(plan["marche_id"]))
        touched: set[tuple[str, str, str]] = set()
        known_ranks: dict[str, dict[str | None, int]] = {}  # per indicator, made again when a member appears
        for measure_id in measure_ids:
            m = plan["measures"][measure_id]
            value = Decimal(m["value"]) if m["value"] is not None else None
            point = Point(m["member_id"], m["period_start"], m["period_end"], value, m["assessment"], m["id"],
                          m["positions"], rules(m["member_id"], m["period_start"], m["period_end"]))
            key, period = m["indicator_key"], (m["period_start"], m["period_end"])
            by_member = self.index.setdefault(key, defaultdict(list))
            per_period = self._periods(key)
            points = by_member[m["member_id"]]
            in_period = per_period.setdefault(period, [])
            ranks = known_ranks.get(key)
            if ranks is None or len(ranks) != len(by_member):
                ranks = known_ranks[key] = {member: rank for rank, member in enumerate(by_member)}
            # a measure never corrected was not held yet (an update takes a measure once per change)
            same = None if len(m["positions"]) == 1 else next(
                (i for i, p in enumerate(in_period) if p.measure_id == measure_id), None)
            if same is not None:
                in_period[same] = point
            else:
                _in_members_order(in_period, point, ranks)
            at = None if same is None else next((i for i, p in enumerate(points) if p.measure_id == measure_id), None)
            if at is not None:
                points[at] = point
            elif not points or (points[-1].period_start, points[-1].period_end) <= period:
                points.append(point)
            else:  # after the points of the same period: where a stable sort of the measures in order puts it
                points.insert(bisect_right([(p.period_start, p.period_end) for p in points], period), point)
            touched.add((key, *period))
        volumes: dict[str, Decimal] | None = None
        for key, start, end in touched:
            indicator = plan["indicators"].get(key)
            if indicator is None or indicator["kind"] != "quantitative":
                continue
            if volumes is None:
                volumes = self.memo.get(VOLUMES_MEMO)
                if volumes is None:
                    volumes = self.memo[VOLUMES_MEMO] = {k: Decimal(v) for k, v in plan["purchase_volumes"].items()}
            figure = period_figure(Aggregation(indicator.get("aggregation") or "none"), start, end,
                                   self.periods[key][(start, end)], volumes)
            place_figure(self.series.setdefault(key, []), figure)

    def _periods(self, key: str) -> dict[tuple[str, str], list[Point]]:
        if key not in self.periods:  # an indicator without series (qualitative, or not defined)
            self.periods[key] = points_by_period(self.index.get(key, {}))
        return self.periods[key]


def _in_members_order(in_period: list[Point], point: Point, ranks: dict[str | None, int]) -> None:
    """A new point of a period: after the points of members before it (or its own), in the members' order."""
    rank = ranks[point.member_id]
    if not in_period or ranks[in_period[-1].member_id] <= rank:
        in_period.append(point)
    else:
        in_period.insert(sum(1 for p in in_period if ranks[p.member_id] <= rank), point)


def place_figure(series: list[PeriodFigure], figure: PeriodFigure) -> None:
    """Puts a period's figure in its series (ordered by period): in place of the same period's, else at its rank."""
    keys = [(f.period_start, f.period_end) for f in series]
    at = bisect_left(keys, (figure.period_start, figure.period_end))
    if at < len(series) and keys[at] == (figure.period_start, figure.period_end):
        series[at] = figure
    else:
        series.insert(at, figure)

"""Indicator arithmetic shared by the views: series per member, groupement aggregates, targets, status."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, getcontext
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

from progres.domain import rules
from progres.domain.values import Aggregation
from progres.projections.aggregation import (
    NO_VOLUME,
    PLACES,
    WEIGHTED,
    WEIGHTED_WITHOUT_SOME,
    achievement,
    combine,
)
from progres.projections.parties import COUNTED, GROUPEMENT_SCOPE, RuleOf, counts, rule_of


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


def indicator_summary(indicator: dict[str, Any], points: Iterable[Point], finished: bool,
                      positions: bool = True) -> dict[str, Any]:
    """First and last values of one series against baseline and target (the target in force for the
    last measured period); a qualitative indicator gives its latest assessment and never a percentage.
    `positions` False: without the positions behind them (the stored balance keeps them apart)."""
    points = list(points)
    if indicator["kind"] == "qualitative":
        summary = qualitative_summary(points[-1] if points else None, len(points), positions)
    else:
        numeric = [p for p in points if p.value is not None]
        summary = quantitative_summary(indicator, numeric[0] if numeric else None, numeric[-1] if numeric else None,
                                       len(numeric), finished, positions)
    return summary


def qualitative_summary(last: Point | None, count: int, positions: bool = True) -> dict[str, Any]:
    """`indicator_summary` of a qualitative series from its last point and its number of points."""
    summary: dict[str, Any] = {"latest_assessment": last.assessment if last else None,
               "latest_period": last.period_end if last else None, "measures": count,
               "status": "assessed" if last else "no_data"}
    if positions:
        summary["positions"] = {"latest": sorted(last.positions) if last else []}
    return summary


def quantitative_summary(indicator: dict[str, Any], first: Point | None, last: Point | None, count: int,
                         finished: bool, positions: bool = True) -> dict[str, Any]:
    """`indicator_summary` of a quantitative series from its first and last valued points and how many have a value
    (projections/breakdowns.py makes a member's from its summary row)."""
    baseline = decimal_or_none(indicator.get("baseline"))
    target = target_on(indicator, last.period_end) if last else decimal_or_none(indicator.get("target"))
    last_value = last.value if last else None
    summary: dict[str, Any] = {
        "baseline": fmt(baseline), "target": fmt(target), "first": fmt(first.value) if first else None,
        "first_period": first.period_end if first else None, "last": fmt(last_value),
        "last_period": last.period_end if last else None,
        "achievement": fmt(achievement(baseline, target, last_value)),
        "status": status(indicator, last_value, target, finished), "measures": count,
    }
    if positions:  # where each figure comes from: the log positions of the measures and corrections behind it
        summary["positions"] = {"first": sorted(first.positions) if first else [],
                                "last": sorted(last.positions) if last else []}
    return summary


def finished_at(marche: dict[str, Any] | None, plan: dict[str, Any]) -> bool:
    """Once the plan is closed by its bilan final (or its marché closed), a target not met is not met."""
    if plan.get("bilan_final") is not None:
        return True
    return bool(marche and marche.get("closed_on"))


_SPAN = itemgetter(1, 2)  # a Point's (period_start, period_end)


class Tally:
    """A member's points of one indicator (in period order) as its summary takes them (projections/breakdowns.py):
    their distinct periods in order, how many have a value, the first and last of those. Made from the points, then
    kept point by point as points come after the others (`add`); a point corrected or put before another makes it
    again (`PlanFigures.update` drops it)."""

    __slots__ = ("first", "last", "spans", "valued")

    def __init__(self, points: Sequence[Point], spans: dict[tuple[str, str], tuple[str, str]]) -> None:
        # (each period one tuple, `spans`, shared by the tallies of a plan: summaries compare their lists)
        self.spans: list[tuple[str, str]] = [spans.setdefault(span, span) for span in dict.fromkeys(map(_SPAN, points))]
        numeric = [p for p in points if p.value is not None]
        self.valued = len(numeric)
        self.first: Point | None = numeric[0] if numeric else None
        self.last: Point | None = numeric[-1] if numeric else None

    def add(self, point: Point, span: tuple[str, str]) -> None:
        """A point after all the others (its period, `span`, not before theirs)."""
        spans = self.spans
        if not spans or spans[-1] != span:
            spans.append(span)
        if point.value is not None:
            self.valued += 1
            if self.first is None:
                self.first = point
            self.last = point


EMPTY: dict[Any, Any] = {}  # (never written to)
RULES_MEMO, VOLUMES_MEMO = "update:rule_of", "update:volumes"  # what `PlanFigures.update` keeps in its memo


@dataclass
class PlanFigures:
    """What every view of one plan needs, computed once per plan: measures by indicator and member,
    and the groupement's series per indicator.

    A runner keeps it from batch to batch: `update` takes the measures a batch recorded or corrected and changes
    only their points and the figures of their (indicator, period), whatever the groupement's size (each such
    period's running aggregate, `PeriodAggregate`, takes a point in or out at a cost that does not grow with the
    members); anything else (a member joining, a volume, a trajectory…) makes it anew. `memo` holds what views
    derive from the plan's structure alone (e.g. the balance's parties), valid as long as this object is."""

    index: dict[str, dict[str | None, list[Point]]]
    series: dict[str, list[PeriodFigure]]
    memo: dict[str, Any] = field(default_factory=dict)
    # indicator key -> period -> its points in the members' order (those of the series), for the periods `update`
    # has not touched yet: a period it touches is kept by its aggregate instead (made from these points, once)
    periods: dict[str, dict[tuple[str, str], list[Point]]] = field(default_factory=dict)
    # indicator key -> period -> its running aggregate (the periods `update` touched)
    aggregates: dict[str, dict[tuple[str, str], PeriodAggregate]] = field(default_factory=dict)
    # indicator key -> member -> its rank in the members' order (the order of `index[key]`), kept by `update`
    ranks: dict[str, dict[str | None, int]] = field(default_factory=dict)
    # (indicator key, member) -> what the member's summary takes of its points of the indicator (`Tally`), made from
    # its points when first asked (`tally`), then kept by `update` as points come after the member's others, dropped
    # when a point is corrected or comes before another (made again when asked)
    tallies: dict[tuple[str, str | None], Tally] = field(default_factory=dict, repr=False, compare=False)
    # a value's text -> its Decimal (immutable: the same values come again and again); a period -> one tuple of it
    decimals: dict[str, Decimal] = field(default_factory=dict, repr=False, compare=False)
    spans: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict, repr=False, compare=False)

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
        measures = plan["measures"]
        self.update_with(plan, ledger, [measures[measure_id] for measure_id in measure_ids])

    def update_with(self, plan: dict[str, Any], ledger: dict[str, Any], changed: Iterable[dict[str, Any]]) -> None:
        """`update` with the measures themselves (as the plan holds them), in the same order."""
        # The participation rule and the volumes depend on the plan's structure alone (memberships, parties, volumes:
        # anything else than a measure makes the figures anew): made once, not per batch (each walks the members).
        rules = self.memo.get(RULES_MEMO)
        if rules is None:
            rules = self.memo[RULES_MEMO] = rule_of(ledger, ledger["marches"].get(plan["marche_id"]))
        touched: dict[tuple[str, str, str], PeriodAggregate] = {}
        indicators, index, tallies, decimals, spans = plan["indicators"], self.index, self.tallies, self.decimals, \
            self.spans
        aggregates, ranks = self.aggregates, self.ranks
        for m in changed:
            measure_id = m["id"]
            text, member, start, end = m["value"], m["member_id"], m["period_start"], m["period_end"]
            value = None if text is None else decimals.get(text) if type(text) is str else Decimal(text)
            if value is None and text is not None:
                value = decimals[text] = Decimal(text)
            positions = m["positions"]
            point = Point(member, start, end, value, m["assessment"], measure_id, positions, rules(member, start, end))
            key, period = m["indicator_key"], (start, end)
            indicator = indicators.get(key)
            # (made, when new, before the index holds the point: from the series' points of the period)
            if indicator is None or indicator["kind"] != "quantitative":
                aggregate = None
            else:
                aggregate = aggregates.get(key, EMPTY).get(period) or self._aggregate(plan, indicator, key, period)
            by_member = index.get(key)
            if by_member is None:
                by_member = index[key] = defaultdict(list)
            points = by_member[member]
            # a measure never corrected was not held yet (an update takes a measure once per change)
            at = None if len(positions) == 1 else next(
                (i for i, p in enumerate(points) if p.measure_id == measure_id), None)
            if at is not None:
                points[at] = point
                tallies.pop((key, member), None)
            elif not points or (points[-1].period_start, points[-1].period_end) <= period:
                points.append(point)
                tally = tallies.get((key, member))
                if tally is not None:
                    tally.add(point, spans.setdefault(period, period))
            else:  # after the points of the same period: where a stable sort of the measures in order puts it
                points.insert(bisect_right([(p.period_start, p.period_end) for p in points], period), point)
                tallies.pop((key, member), None)
            if aggregate is None:
                continue  # no series: only the index is kept
            rank = ranks.get(key, EMPTY).get(member)
            aggregate.put(point, self._rank(key, member) if rank is None else rank, replaces=at is not None)
            touched[(key, start, end)] = aggregate
        for (key, start, end), aggregate in touched.items():
            place_figure(self.series.setdefault(key, []), aggregate.figure(start, end))

    def tally(self, key: str, member: str | None) -> Tally:
        """What the member's summary takes of its points of the indicator (it has some), kept by `update`."""
        tally = self.tallies.get((key, member))
        if tally is None:
            tally = self.tallies[(key, member)] = Tally(self.index[key][member], self.spans)
        return tally

    def _rank(self, key: str, member: str | None) -> int:
        """The member's rank in the indicator's members' order (a member new to the indicator comes last)."""
        ranks = self.ranks.get(key)
        if ranks is None:
            ranks = self.ranks[key] = {m: rank for rank, m in enumerate(self.index.get(key, {}))}
        rank = ranks.get(member)
        if rank is None:
            by_member = self.index[key]
            # members only ever join the index, at its end: the ranks of those not known yet follow
            for m in islice(by_member, len(ranks), None):
                ranks[m] = len(ranks)
            rank = ranks[member]
        return rank

    def _aggregate(self, plan: dict[str, Any], indicator: dict[str, Any], key: str,
                   period: tuple[str, str]) -> PeriodAggregate:
        by_period = self.aggregates.setdefault(key, {})
        aggregate = by_period.get(period)
        if aggregate is None:
            volumes = self.memo.get(VOLUMES_MEMO)
            if volumes is None:
                volumes = self.memo[VOLUMES_MEMO] = {k: Decimal(v) for k, v in plan["purchase_volumes"].items()}
            aggregate = by_period[period] = PeriodAggregate(Aggregation(indicator.get("aggregation") or "none"),
                                                            volumes)
            if key not in self.periods:  # figures made without their periods (e.g. as-of's): from the index
                self.periods[key] = points_by_period(self.index.get(key, {}))
            for point in self.periods[key].pop(period, ()):  # the series' points of the period, in members' order
                aggregate.put(point, self._rank(key, point.member_id), replaces=False)
        return aggregate


class PerDecimal:
    """What a function makes of a Decimal, kept for the same object (held here, so its id stays its): the values come
    again and again (a rebuild's 1.7 million measures hold a few thousand distinct values); at most 4,096 kept."""

    __slots__ = ("kept", "make")

    def __init__(self, make: Callable[[Decimal], Any]) -> None:
        self.kept: dict[int, tuple[Decimal, Any]] = {}
        self.make = make

    def __call__(self, value: Decimal) -> Any:
        known = self.kept.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        if len(self.kept) >= 4096:
            self.kept.clear()
        known = self.kept[id(value)] = (value, self.make(value))
        return known[1]


_exponent = PerDecimal(lambda term: int(term.as_tuple().exponent))  # a finite Decimal's exponent


EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])  # sums that never round


class ExactSum:
    """A running sum of Decimals that can take terms out, equal to `sum(terms, Decimal(0))` in any order: kept
    exact, with what tells whether the sum in the current context (28 digits) rounds at some step (`exact`):
    every partial sum fits its digits when the sum of the terms' absolute values does at the smallest exponent."""

    __slots__ = ("exponents", "magnitude", "total", "unsafe")

    def __init__(self) -> None:
        self.total, self.magnitude = Decimal(0), Decimal(0)
        self.exponents: dict[int, int] = {}
        self.unsafe = 0  # terms not finite (or rounded before they came)

    def add(self, term: Decimal, sign: int = 1, rounded: bool = False, shared: bool = False) -> None:
        """`shared`: a term that comes again and again (a measure's value, a volume; not a product made for it)."""
        if rounded or not term.is_finite():
            self.unsafe += sign
            return
        if sign > 0:
            self.total = EXACT.add(self.total, term)
            self.magnitude = EXACT.add(self.magnitude, abs(term))
        else:
            self.total = EXACT.subtract(self.total, term)
            self.magnitude = EXACT.subtract(self.magnitude, abs(term))
        exponent = _exponent(term) if shared else int(term.as_tuple().exponent)
        count = self.exponents.get(exponent, 0) + sign
        if count:
            self.exponents[exponent] = count
        else:
            del self.exponents[exponent]

    def exact(self) -> bool:
        if self.unsafe:
            return False
        if not self.magnitude:
            return True
        smallest = min(0, *self.exponents)  # the sum starts from Decimal(0)
        return self.magnitude.adjusted() < getcontext().prec + smallest


class PeriodAggregate:
    """One (indicator, period)'s groupement figure kept as running aggregates of its points: `put` takes a point in
    (new, or in place of the same measure's) at a cost that does not grow with the members (each member's part is
    taken out and put back: its own few points), `figure` gives what `period_figure` makes from all the points.

    Kept: each member's points of the period; the sums of the values counted (and for a weighted mean the sums of
    weights and weighted values), exact (`ExactSum`: quantized at the end as `combine` does; when the figure made
    afresh would round on the way, it is made afresh); the log positions of the points used, sorted; the members left
    out, in the members' order."""

    def __init__(self, rule: Aggregation, volumes: dict[str, Decimal]) -> None:
        self.rule, self.volumes = rule, volumes
        self.points: dict[str | None, list[Point]] = {}  # member -> its points of the period, in order
        self.rank: dict[str | None, int] = {}
        self.values: dict[tuple[str | None, int], Decimal] = {}  # (member, its k-th point) -> value counted
        self.sum = ExactSum()
        self.weights, self.weighted = ExactSum(), ExactSum()  # a weighted mean's: sum of weights, of value × weight
        self.used = 0
        self.positions: list[int] = []  # of the points used, sorted
        self.placed: dict[str | None, list[int]] = {}  # member -> the positions of its points put in positions
        self.excluded: list[tuple[int, int, str | None, str]] = []  # (rank, k, member, rule): not counted
        self.without: list[tuple[int, int, str | None]] = []  # (rank, k, member): valued, no volume (weighted mean)

    def put(self, point: Point, rank: int, replaces: bool) -> None:
        member = point.member_id
        mine = self.points.get(member)
        if mine is None:
            mine = self.points[member] = []
            self.rank[member] = rank
        at = next((i for i, p in enumerate(mine) if p.measure_id == point.measure_id), None) if replaces else None
        if at is None and self._added(member, mine, point):
            return
        self._member(member, mine, -1)
        if at is None:
            mine.append(point)
        else:
            mine[at] = point
        self._member(member, mine, 1)

    def _added(self, member: str | None, mine: list[Point], point: Point) -> bool:
        """A new point put in alone, after the member's others: what `_member` would make of all of them, when the
        point does not change whether the member is left out (else False, nothing done)."""
        weighted = self.rule is Aggregation.WEIGHTED_MEAN
        volume = self.volumes.get(member) if weighted and member is not None else None
        counted = point.participation in COUNTED or counts(point.participation)
        left_out = False
        if weighted and volume is None:
            left_out = any(counts(p.participation) and p.value is not None for p in mine)
            if not left_out and counted and point.value is not None:
                return False  # the member is left out from now on: all its points are taken out
        rank, k = self.rank[member], len(mine)
        mine.append(point)
        if not counted:
            _sorted_entry(self.excluded, (rank, k, member, point.participation), 1)
            return True
        if point.value is not None:
            self._value(member, rank, k, point.value, 1, None if left_out or not weighted else volume, left_out)
        if not left_out:
            self.used += 1
            if point.positions:
                placed = self.placed.get(member)
                if placed is None:
                    placed = self.placed[member] = []
                for position in point.positions:
                    placed.append(position)
                    insort(self.positions, position)
        return True

    def _member(self, member: str | None, mine: list[Point], sign: int) -> None:
        """Takes a member's points of the period out of the aggregates (sign -1) or puts them in (sign 1)."""
        rank = self.rank[member]
        weighted = self.rule is Aggregation.WEIGHTED_MEAN
        volume = self.volumes.get(member) if member is not None else None
        # a weighted mean leaves out a member without volume that has a value counted (`combine`), all its points
        left_out = weighted and volume is None and any(counts(p.participation) and p.value is not None for p in mine)
        placed: list[int] = []
        for k, p in enumerate(mine):
            if not counts(p.participation):
                _sorted_entry(self.excluded, (rank, k, member, p.participation), sign)
                continue
            if p.value is not None:
                self._value(member, rank, k, p.value, sign, None if left_out or not weighted else volume, left_out)
            if not left_out:
                self.used += sign
                if sign > 0:
                    placed.extend(p.positions)
        # (the positions put in are kept: a point's positions are its measure's list, which a correction lengthens)
        if sign < 0:
            for position in self.placed.pop(member, ()):
                del self.positions[bisect_left(self.positions, position)]
        elif placed:
            self.placed[member] = placed
            for position in placed:
                insort(self.positions, position)

    def _value(self, member: str | None, rank: int, k: int, value: Decimal, sign: int, volume: Decimal | None,
               left_out: bool) -> None:
        """A value counted, in or out: its sums, and its weight (`volume`: a weighted mean's member with one)."""
        if sign > 0:
            self.values[(member, k)] = value
        else:
            del self.values[(member, k)]
        self.sum.add(value, sign, shared=True)
        if left_out:
            _sorted_entry(self.without, (rank, k, member), sign)
        elif volume is not None:
            product = EXACT.multiply(value, volume)
            self.weights.add(volume, sign, shared=True)
            self.weighted.add(product, sign, rounded=product != value * volume)

    def figure(self, start: str, end: str) -> PeriodFigure:
        if not self.values:
            value, weighting = None, None
        elif self.rule is Aggregation.WEIGHTED_MEAN:
            if not (self.weights.exact() and self.weighted.exact()):
                return self.afresh(start, end)
            value, weighting = None, NO_VOLUME
            if self.weights.total > 0:
                value = (self.weighted.total / self.weights.total).quantize(PLACES)
                weighting = WEIGHTED_WITHOUT_SOME if self.without else WEIGHTED
        elif self.rule is Aggregation.NONE and len(self.values) == 1:
            value, weighting = next(iter(self.values.values())), None
        else:
            if not self.sum.exact():
                return self.afresh(start, end)
            value, weighting = self.sum.total, None
            value = (value if self.rule is Aggregation.SUM else value / len(self.values)).quantize(PLACES)
        excluded = [(member, why) for _, _, member, why in self.excluded]
        excluded += [(member, NO_VOLUME) for _, _, member in self.without]
        return PeriodFigure(start, end, value, self.used, tuple(self.positions), tuple(excluded), weighting)

    def afresh(self, start: str, end: str) -> PeriodFigure:
        """The figure made from all the points (`period_figure`): when the running sums cannot say it exactly."""
        ordered = sorted(self.points, key=self.rank.__getitem__)
        return period_figure(self.rule, start, end, [p for member in ordered for p in self.points[member]],
                             self.volumes)


def _sorted_entry(entries: list[Any], entry: tuple[Any, ...], sign: int) -> None:
    """Puts an entry keyed by its (rank, k) in its place in a sorted list (sign 1) or takes it out (sign -1)."""
    at = bisect_left(entries, entry[:2])
    if sign > 0:
        entries.insert(at, entry)
    else:
        del entries[at]


def place_figure(series: list[PeriodFigure], figure: PeriodFigure) -> None:
    """Puts a period's figure in its series (ordered by period): in place of the same period's, else at its rank."""
    keys = [(f.period_start, f.period_end) for f in series]
    at = bisect_left(keys, (figure.period_start, figure.period_end))
    if at < len(series) and keys[at] == (figure.period_start, figure.period_end):
        series[at] = figure
    else:
        series.insert(at, figure)

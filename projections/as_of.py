# mypy: disable-error-code="attr-defined"
# (the event classes, e.g. `Marche.AvenantNotified`, are made by eventsourcing's @event decorator: mypy cannot see
# them; a name that no longer exists fails the import instead, as in ledger.py.)
"""Reconstruction as of a log position or a time, by the same reducer and the same view code as live views.

The history index maps a time to the last position recorded by then (an indexed lookup, no scan). The
groupement's ledger as the log held it at that position is made of two parts read from rows, never by replaying
measures (issue 12, as-of):
- its measures: the rows of the `measures` table recorded at or before the position, each as it stood then (a
  measure keeps its corrections with the value they replaced: those recorded later are undone, `measure_as_of`);
- the rest (plan tree, memberships, targets, avenants, ...: small): the ledger without its measures held by the
  groupement's last checkpoint at or before the position, then only the groupement's facts other than measures
  recorded between the two (their positions from the history index), folded by the reducer; its position and
  time are those of the groupement's last fact by then (history index).
`replayed_ledger` is the former way (checkpoints merged, every fact replayed), kept as the reference the tests
compare with.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from progres.domain.errors import NotFound
from progres.domain.groupements import Groupement
from progres.domain.marches import Marche
from progres.domain.measures import Measure
from progres.domain.plans import ProgressPlan
from progres.domain.proposals import Proposal
from progres.domain.reviews import Review
from progres.domain.values import Aggregation
from progres.projections.breakdowns import Summary
from progres.projections.facts import Fact
from progres.projections.indicators import (
    PlanFigures,
    Point,
    finished_at,
    index_measures,
    period_figure,
    place_figure,
)
from progres.projections.ledger import IGNORED_EVENTS, Ledger, Route, apply, kind_of, new_ledger, route_of
from progres.projections.member_view import member_ids, member_view
from progres.projections.parties import RuleOf, rule_of, standings_of
from progres.projections.period_figures import figure_of_state
from progres.projections.plan_balance import balance_part, member_breakdown, member_part, standings
from progres.projections.runner import MEASURE_KINDS, FactSource
from progres.projections.stores.sql import SqlStore, series_of_state


@contextmanager
def paused_gc() -> Iterator[None]:
    """Loading a checkpoint makes many objects at once; the cyclic collector has nothing to find there."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class UnknownPlan(NotFound, LookupError):
    """No such plan, or not yet at that position or time: a client's question, answered with a code."""

    code = "not_found"
    template = "aucun plan {id} à ce point du journal"


class _LazyRoutes(dict[str, Route]):
    """Routes looked up in the store only for the aggregates the replay meets."""

    def __init__(self, store: SqlStore, projection: str) -> None:
        super().__init__()
        self.store, self.projection = store, projection

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            route = self.store.route(self.projection, key)
            if route is None:
                return default
            self[key] = route
        return self[key]


def recording_instant(value: str) -> str:
    """A moment as the log records times (ISO 8601, UTC, isoformat), from an ISO 8601 date or time: a date is its
    first instant, a time without offset is UTC. Raises ValueError for anything else (the caller names its field)."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


RUN_GAP = 64  # facts to fetch closer than this are read in one range of the log
CORRECTED = kind_of(Measure.Corrected)
# Facts after which a plan's groupement series stand as they were (they change with measures, memberships, volumes,
# indicators and the marché's parties): as-of starts from a checkpoint's series across them.
NEUTRAL = frozenset(kind_of(e) for e in (
    Proposal.Submitted, Proposal.Withdrawn, Proposal.Decided,
    Review.Scheduled, Review.Held, Review.PointRaised, Review.DecisionTaken, Review.Closed,
    ProgressPlan.ActionPlanned, ProgressPlan.ActionStatusChanged, ProgressPlan.ResourceCommitted,
    ProgressPlan.MilestoneScheduled, ProgressPlan.GainSharingDefined, ProgressPlan.GovernanceDefined,
    ProgressPlan.ClosedWithBilanFinal, Marche.AvenantProposed, Marche.AvenantSigned, Marche.AvenantNotified,
    Marche.AvenantAbandoned, Marche.CaoOpinionRecorded, Groupement.AuditorAssigned, *IGNORED_EVENTS,
))


@dataclass
class Skeleton:
    ledger: Ledger  # without measures
    start: int  # the checkpoint it was read from (0: none)
    series: dict[str, Any] | None  # that checkpoint's series, by plan
    neutral: bool  # nothing since that checkpoint changed the figures but measures


def balance_members_of(ledger: Ledger) -> list[str]:
    """The members a balance breaks down, in its order (plan_balance.balance_members, without figures)."""
    return [m for m in member_ids(ledger) if m != (ledger.get("groupement") or {}).get("coordonnateur_id")]


def measure_as_of(measure: dict[str, Any], position: int) -> dict[str, Any]:
    """A measure as the reducer held it at `position` (recorded by then), from the measure as it is now: the
    corrections recorded later are undone (each keeps the value and assessment it replaced)."""
    kept = [c for c in measure["corrections"] if c["position"] <= position]
    if len(kept) == len(measure["corrections"]):
        return measure
    undone = measure["corrections"][len(kept)]
    return {**measure, "value": undone["previous_value"], "assessment": undone["previous_assessment"],
            "corrections": kept, "positions": [p for p in measure["positions"] if p <= position]}


@dataclass
class BalancePages:
    """A balance's members in its order, and their breakdowns made on demand for the members asked."""

    members: list[str]
    breakdowns: Callable[[list[str]], dict[str, Any]]


@dataclass
class AsOf:
    source: FactSource
    store: SqlStore
    projection: str
    made_whole: int = 0  # reads whose figures were made from every measure (no series to start from): for tests
    from_series: int = 0  # reads that started from a checkpoint's series
    from_summaries: int = 0  # members' breakdowns made from a summary row (projections/breakdowns.py): for tests
    from_figure_rows: int = 0  # period figures read from their rows (projections/period_figures.py): for tests

    def position_for(self, position: int | None = None, timestamp: str | None = None) -> int:
        if position is not None:
            return position
        if timestamp is not None:
            return self.store.position_at(self.projection, timestamp)
        return self.source.max_notification_id() or 0

    def ledger(self, groupement_id: str, position: int) -> Ledger:
        with paused_gc():
            return self._ledger(groupement_id, position)

    def _ledger(self, groupement_id: str, position: int) -> Ledger:
        """From the rows as far as the views were projected; a position the runner has not reached yet is reached
        by replaying the facts after the views' own position (the freshest write of a client: a few facts)."""
        projected = min(position, self.store.position(self.projection))
        ledger = self._rows_ledger(groupement_id, projected)
        if projected < position:
            self._replay(ledger, groupement_id, projected, position)
        return ledger

    def _rows_ledger(self, groupement_id: str, position: int) -> Ledger:
        ledger = self._skeleton(groupement_id, position).ledger
        plans = ledger.get("plans") or {}
        for plan_id, changed, doc in self.store.measures_as_of(self.projection, groupement_id, position):
            if plan_id in plans:
                measure = self.store.load_json(doc)
                plans[plan_id]["measures"][measure["id"]] = measure if changed <= position else \
                    measure_as_of(measure, position)
        return ledger

    def _skeleton(self, groupement_id: str, position: int) -> Skeleton:
        """The ledger without its measures at `position` (every plan's measures empty), the checkpoint it started
        from with its series, and whether anything but measures and facts that leave the figures as they are
        happened since that checkpoint."""
        found = self.store.skeleton_before(self.projection, groupement_id, position)
        start, ledger, series = found if found else (0, new_ledger(groupement_id), None)
        structure, last = self.store.structure_between(self.projection, groupement_id, start, position,
                                                       MEASURE_KINDS)
        for fact, plan_id in self._facts_at(structure):
            apply(ledger, fact, Route(groupement_id, plan_id))
        if last is not None:  # the groupement's last fact by then may be a measure: not folded, but it dates the ledger
            ledger["position"], ledger["last_timestamp"] = last
        for plan in (ledger.get("plans") or {}).values():
            plan["measures"] = {}
        return Skeleton(ledger, start, series, all(kind in NEUTRAL for _, _, kind in structure))

    def _facts_at(self, wanted: list[tuple[int, str | None, str]]) -> Iterator[tuple[Fact, str | None]]:
        """The facts at these positions (ascending), read from the log in runs of nearby positions."""
        plans = {at: plan for at, plan, _ in wanted}
        runs: list[list[int]] = []
        for at, _, _ in wanted:
            if runs and at - runs[-1][-1] <= RUN_GAP:
                runs[-1].append(at)
            else:
                runs.append([at])
        for run in runs:
            for fact in self.source.facts(run[0], stop=run[-1], batch=min(len(run) * 4, 2000)):
                if fact.position in plans:
                    yield fact, plans[fact.position]

    def replayed_ledger(self, groupement_id: str, position: int) -> Ledger:
        """The former reconstruction: the checkpoints merged back to the first, then every fact since replayed."""
        with paused_gc():
            return self._replayed_ledger(groupement_id, position)

    def _replayed_ledger(self, groupement_id: str, position: int) -> Ledger:
        checkpoint = self.store.checkpoint_before(self.projection, groupement_id, position)
        start, ledger = checkpoint if checkpoint else (0, new_ledger(groupement_id))
        return self._replay(ledger, groupement_id, start, position)

    def _replay(self, ledger: Ledger, groupement_id: str, start: int, position: int) -> Ledger:
        routes = _LazyRoutes(self.store, self.projection)
        for fact in self.source.facts(start + 1, stop=position, batch=2000):
            route = route_of(fact, routes)
            if route is None:
                continue
            routes.setdefault(fact.aggregate_id, route)
            if route.groupement_id == groupement_id:
                apply(ledger, fact, route)
        return ledger

    def route(self, plan_id: str, position: int) -> Route | None:
        """The plan's route: from the views, or, for a plan created after the views' own position (a client's
        freshest write), from the facts between that position and `position`."""
        route = self.store.route(self.projection, plan_id)
        projected = self.store.position(self.projection)
        if route is not None or position <= projected:
            return route
        routes = _LazyRoutes(self.store, self.projection)
        for fact in self.source.facts(projected + 1, stop=position, batch=2000):
            found = route_of(fact, routes)
            if found is not None:
                routes.setdefault(fact.aggregate_id, found)
                if fact.aggregate_id == plan_id:
                    return found
        return None

    def plan_ledger(self, plan_id: str, position: int) -> Ledger:
        route = self.route(plan_id, position)
        if route is None:
            raise UnknownPlan("position", id=plan_id)
        return self._plan_ledger(plan_id, route.groupement_id, position)

    def _plan_ledger(self, plan_id: str, groupement_id: str, position: int) -> Ledger:
        ledger = self.ledger(groupement_id, position)
        if plan_id not in ledger["plans"]:
            raise UnknownPlan("position", id=plan_id)
        return ledger

    def plan_balance(self, plan_id: str, position: int | None = None, timestamp: str | None = None,
                     first: int | None = None) -> dict[str, Any]:
        """The balance as the log held it; `first`: only the first members of its breakdown (the first page). Each
        member's breakdown is made from its last summary by then and its measures changed since
        (projections/breakdowns.py), not from all its measures."""
        with paused_gc(), self.store.reading():  # (PostgreSQL: the reads in one transaction, see SqlStore.reading)
            part, pages = self._pages(plan_id, self.position_for(position, timestamp), first)
            shown = pages.members[:first] if first is not None else pages.members
            found = pages.breakdowns(shown)
            return {**part, "members": {m: found[m] for m in shown}, "parties": {m: part["parties"][m] for m in shown}}

    def plan_balance_pages(self, plan_id: str, position: int) -> tuple[dict[str, Any], BalancePages]:
        """The balance without its members' breakdowns (`members` empty, `parties` whole), and what makes the
        breakdowns of the members a page shows (GraphQL's `planBalance(asKnownAt:)` asks for its page only)."""
        return self._pages(plan_id, position, None)

    def _pages(self, plan_id: str, position: int, first: int | None) -> tuple[dict[str, Any], BalancePages]:
        """`plan_balance_pages`; with `first`, the standings (`parties`) of the first members only (of 3,000)."""
        with paused_gc(), self.store.reading():
            ledger, figures, summarised = self._plan_figures(plan_id, position, lambda ledger: [])
            members = balance_members_of(ledger)
            if first is None:
                parties = standings(ledger, plan_id, figures)
            else:
                parties = standings_of(ledger, ledger["marches"].get(ledger["plans"][plan_id]["marche_id"]) or None,
                                       members[:first])
            part = {**balance_part(ledger, plan_id, figures),
                    "parties": {m: parties[m] for m in (members if first is None else members[:first])}}

        def breakdowns(shown: list[str]) -> dict[str, Any]:
            with paused_gc(), self.store.reading():
                if summarised:
                    return self._breakdowns(ledger, plan_id, shown, position)
                # the ledger holds every measure (the figures were made whole)
                return {m: member_part(ledger, plan_id, figures, m, rank)["breakdown"] for rank, m in enumerate(shown)}

        return part, BalancePages(members, breakdowns)

    def _breakdowns(self, ledger: Ledger, plan_id: str, members: list[str], position: int) -> dict[str, Any]:
        """Each member's breakdown as of `position`: its last summary by then brought to `position` with its measures
        recorded and corrected since; a member without a summary (or whose correction the summary cannot take) from
        its measures."""
        plan = ledger["plans"][plan_id]
        marche = ledger["marches"].get(plan["marche_id"])
        rules, finished = rule_of(ledger, marche), finished_at(marche or {}, plan)
        versions = self.store.member_summaries(self.projection, plan_id, members, position)
        summaries = {m: Summary(self.store.load_json(doc)) for m, (_, doc) in versions.items()}
        since = {m: at for m, (at, _) in versions.items()}
        whole = {m for m in members if m not in summaries}
        if since:
            for member, recorded, changed, doc in self.store.corrected_since(
                    self.projection, ledger["id"], plan_id, min(since.values()), position, CORRECTED, list(since)):
                if recorded > since[member] or member in whole:
                    continue  # recorded after its summary: added below
                measure = self.store.load_json(doc)
                now = measure if changed <= position else measure_as_of(measure, position)
                if not summaries[member].correct(measure_as_of(measure, since[member]), now):
                    whole.add(member)
            for member, changed, doc in self.store.members_measures_since(self.projection, plan_id, since, position):
                if member not in whole:
                    measure = self.store.load_json(doc)
                    summaries[member].add(measure if changed <= position else measure_as_of(measure, position))
        found = {m: summaries[m].breakdown(plan, m, rules, finished) for m in members if m not in whole}
        self.from_summaries += len(found)
        if whole:
            kept: dict[str, Any] = {}
            for changed, doc in self.store.members_measures(self.projection, plan_id, sorted(whole), position):
                measure = self.store.load_json(doc)
                if measure["member_id"] in whole:
                    kept[measure["id"]] = measure if changed <= position else measure_as_of(measure, position)
            index = index_measures({"measures": kept}, rules)
            found.update((m, member_breakdown(plan, index, m, finished)) for m in whole)
        return found

    def member_view(self, plan_id: str, member_id: str, position: int | None = None,
                    timestamp: str | None = None) -> dict[str, Any]:
        with paused_gc(), self.store.reading():
            ledger, figures = self.plan_figures(plan_id, self.position_for(position, timestamp),
                                                lambda ledger: [member_id])
            return member_view(ledger, plan_id, member_id, figures)

    def plan_figures(self, plan_id: str, position: int,
                     chosen: Callable[[Ledger], list[str]] | None = None) -> tuple[Ledger, PlanFigures]:
        ledger, figures, _ = self._plan_figures(plan_id, position, chosen)
        return ledger, figures

    def _plan_figures(self, plan_id: str, position: int,
                      chosen: Callable[[Ledger], list[str]] | None = None) -> tuple[Ledger, PlanFigures, bool]:
        """(the third: True when the ledger holds only the chosen members' measures, False when it holds every one)
        The plan's ledger and figures as the log held them at `position`, with the measures of the members
        `chosen` picks (and the groupement's own; None: every measure). The groupement series are those of the last
        checkpoint, the periods whose measures were recorded or corrected since made again from their rows; when
        that checkpoint kept no series, or the plan's structure changed since (a member, a volume, an indicator...),
        or the views have not reached `position`, they are made from every measure (the ledger's whole)."""
        route = self.route(plan_id, position)
        if route is None:
            raise UnknownPlan("position", id=plan_id)
        g = route.groupement_id
        if position > self.store.position(self.projection):
            self.made_whole += 1
            ledger = self._plan_ledger(plan_id, g, position)  # (the route is known: no second look for it)
            return ledger, PlanFigures.of(ledger["plans"][plan_id], ledger), False
        skeleton = self._skeleton(g, position)
        ledger = skeleton.ledger
        if plan_id not in ledger["plans"]:
            raise UnknownPlan("position", id=plan_id)
        plan = ledger["plans"][plan_id]
        series = (skeleton.series or {}).get(plan_id)
        if series is None or not skeleton.neutral:
            self.made_whole += 1
            whole = self._rows_ledger(g, position)
            return whole, PlanFigures.of(whole["plans"][plan_id], whole), False
        self.from_series += 1
        rules = rule_of(ledger, ledger["marches"].get(plan["marche_id"]))
        rows = self.store.members_measures(self.projection, plan_id, chosen(ledger), position) if chosen else [
            (changed, doc) for p, changed, doc in self.store.measures_as_of(self.projection, g, position, plan_id)]
        for changed, doc in rows:
            measure = self.store.load_json(doc)
            plan["measures"][measure["id"]] = measure if changed <= position else measure_as_of(measure, position)
        figures = PlanFigures(index_measures(plan, rules), series_of_state(series))
        since = self.store.periods_changed(self.projection, g, plan_id, skeleton.start, position, CORRECTED)
        periods = sorted(p for p in since if p[0] in figures.series)
        # a period whose last figure row since the checkpoint is at or after its last change by `position` is that
        # row (projections/period_figures.py); the others are made again from their measures
        kept = self.store.period_figures(self.projection, plan_id, periods, skeleton.start, position) if periods else {}
        remade = []
        for period in periods:
            row = kept.get(period)
            if row is not None and row[0] >= since[period]:
                place_figure(figures.series[period[0]], figure_of_state(self.store.load_json(row[1])))
                self.from_figure_rows += 1
            else:
                remade.append(period)
        self._set_figures(figures, plan, rules, remade, position)
        # the positions behind the first and last values, where the checkpoint did not keep them
        missing: list[tuple[str, str, str]] = []
        for key, series_of_key in figures.series.items():
            valued = [f for f in series_of_key if f.value is not None]
            missing.extend({(key, f.period_start, f.period_end) for f in valued[:1] + valued[-1:]
                            if f.positions is None})
        self._set_figures(figures, plan, rules, sorted(missing), position)
        return ledger, figures, chosen is not None

    def _set_figures(self, figures: PlanFigures, plan: dict[str, Any], rules: RuleOf,
                     periods: list[tuple[str, str, str]], position: int) -> None:
        """These periods' groupement figures made again from their measures' rows as they stood at `position`."""
        if periods:
            rows = self.store.period_measures(self.projection, plan["id"], periods, position)
            for key, start, end in periods:
                self._set_figure(figures, plan, rules, key, start, end, position, rows[(key, start, end)])

    def _set_figure(self, figures: PlanFigures, plan: dict[str, Any], rules: RuleOf, key: str, start: str, end: str,
                    position: int, rows: list[tuple[int, Any]]) -> None:
        indicator = plan["indicators"][key]
        rule = Aggregation(indicator.get("aggregation") or "none")
        volumes = {member: Decimal(v) for member, v in plan["purchase_volumes"].items()}
        points = []
        for changed, doc in rows:
            m = self.store.load_json(doc)
            m = m if changed <= position else measure_as_of(m, position)
            points.append(Point(m["member_id"], start, end, Decimal(m["value"]) if m["value"] is not None else None,
                                m["assessment"], m["id"], m["positions"], rules(m["member_id"], start, end)))
        figure = period_figure(rule, start, end, points, volumes)
        if len(figure.excluded) > 1:  # their order is the members' (their first measure of the indicator)
            ranks = self.store.first_recorded(self.projection, plan["id"], key, list({p.member_id for p in points}),
                                              position)
            points.sort(key=lambda p: ranks.get(p.member_id, 0))
            figure = period_figure(rule, start, end, points, volumes)
        place_figure(figures.series[key], figure)

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from progres.domain.errors import NotFound
from progres.projections.facts import Fact
from progres.projections.ledger import Ledger, Route, apply, new_ledger, route_of
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import MEASURE_KINDS, FactSource
from progres.projections.stores.sql import SqlStore


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
class AsOf:
    source: FactSource
    store: SqlStore
    projection: str

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
        found = self.store.skeleton_before(self.projection, groupement_id, position)
        start, ledger = found if found else (0, new_ledger(groupement_id))
        structure, last = self.store.structure_between(self.projection, groupement_id, start, position,
                                                       MEASURE_KINDS)
        for fact, plan_id in self._facts_at(structure):
            apply(ledger, fact, Route(groupement_id, plan_id))
        if last is not None:  # the groupement's last fact by then may be a measure: not folded, but it dates the ledger
            ledger["position"], ledger["last_timestamp"] = last
        plans = ledger.get("plans") or {}
        for plan in plans.values():
            plan["measures"] = {}
        for plan_id, changed, doc in self.store.measures_as_of(self.projection, groupement_id, position):
            if plan_id in plans:
                measure = self.store.load_json(doc)
                plans[plan_id]["measures"][measure["id"]] = measure if changed <= position else \
                    measure_as_of(measure, position)
        return ledger

    def _facts_at(self, wanted: list[tuple[int, str | None]]) -> Iterator[tuple[Fact, str | None]]:
        """The facts at these positions (ascending), read from the log in runs of nearby positions."""
        plans = dict(wanted)
        runs: list[list[int]] = []
        for at, _ in wanted:
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

    def plan_ledger(self, plan_id: str, position: int) -> Ledger:
        route = self.store.route(self.projection, plan_id)
        if route is None:
            raise UnknownPlan("position", id=plan_id)
        ledger = self.ledger(route.groupement_id, position)
        if plan_id not in ledger["plans"]:
            raise UnknownPlan("position", id=plan_id)
        return ledger

    def plan_balance(self, plan_id: str, position: int | None = None, timestamp: str | None = None) -> dict[str, Any]:
        ledger = self.plan_ledger(plan_id, self.position_for(position, timestamp))
        with paused_gc():
            return plan_balance(ledger, plan_id)

    def member_view(self, plan_id: str, member_id: str, position: int | None = None,
                    timestamp: str | None = None) -> dict[str, Any]:
        return member_view(self.plan_ledger(plan_id, self.position_for(position, timestamp)), plan_id, member_id)

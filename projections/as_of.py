"""Reconstruction as of a log position or a time, by the same reducer as live views.

The history index maps a time to the last position recorded by then (an indexed lookup, no scan);
the nearest checkpoint of the groupement's ledger at or before that position is loaded, and only the
facts between the checkpoint and the position are replayed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from progres.domain.errors import NotFound
from progres.projections.ledger import Ledger, Route, apply, new_ledger, route_of
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import FactSource
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
        checkpoint = self.store.checkpoint_before(self.projection, groupement_id, position)
        start, ledger = checkpoint if checkpoint else (0, new_ledger(groupement_id))
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

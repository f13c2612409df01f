"""Runners: follow the notification log and keep the read models exactly once.

Each batch of facts is folded into the groupements' ledgers by the reducer of ledger.py; the ledgers,
the routes, the derived views of every touched plan, the history rows and the new tracking position
are written in one transaction, guarded by the position the batch started from. A runner killed at
any moment leaves either the whole batch or none of it.
"""

from __future__ import annotations

import gc
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

import orjson

from progres.domain.measures import Measure
from progres.projections import registry
from progres.projections.facts import Fact
from progres.projections.history import history_row
from progres.projections.indicators import PlanFigures
from progres.projections.ledger import DIRECTORY, Replay, Route, kind_of
from progres.projections.registry import ReadModel, derived_views
from progres.projections.stores.sql import (
    Batch,
    Fence,
    ModelVersion,
    SqlStore,
    StaleTracking,
    building_key,
    delta,
    pack,
)

# what a batch may fold incrementally (the event classes are made by eventsourcing's @event: mypy cannot see them)
MEASURE_KINDS = frozenset(kind_of(e) for e in (Measure.Recorded, Measure.Corrected))  # type: ignore[attr-defined]
ALIAS = "views"
FIRST_GENERATION = "views_v1"
Progress = Callable[[int, int], None]  # (position reached, head)


class FactSource(Protocol):
    def facts(self, start: int = 1, stop: int | None = None, batch: int = 1000) -> Any: ...
    def max_notification_id(self) -> int | None: ...


@dataclass
class ProjectionRunner:
    """Keeps one generation of the read models up to date with the log."""

    source: FactSource
    store: SqlStore
    projection: str = ""
    batch_size: int = 500
    checkpoint_every: int = 5000
    max_batch_size: int = 20000
    fence: Fence | None = None  # set by a worker elected leader: every batch is written under its lock
    upgrade_chunk: int = 50  # groupements whose rows of a new read-model version one step builds
    _versions: dict[str, ModelVersion] | None = field(default=None, repr=False)
    _state: Replay | None = field(default=None, repr=False)
    # (groupement, plan) -> the plan's figures at the state's position, kept from batch to batch (see fold)
    _figures: dict[tuple[str, str], PlanFigures] = field(default_factory=dict, repr=False)
    _checkpoints: dict[str, int] = field(default_factory=dict, repr=False)  # groupement -> its last checkpoint
    # One batch at a time per runner: a follower thread and request threads share the in-memory state.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    advanced: threading.Condition = field(default_factory=threading.Condition, repr=False)  # notified per batch

    def __post_init__(self) -> None:
        if not self.projection:
            self.projection = self.store.active(ALIAS) or FIRST_GENERATION
            if self.store.active(ALIAS) is None:
                self.store.activate(ALIAS, self.projection)

    @property
    def position(self) -> int:
        return self.store.position(self.projection)

    def lag(self) -> int:
        return max(0, (self.source.max_notification_id() or 0) - self.position)

    def state(self) -> Replay:
        """The reducer state at the tracked position, loaded once and kept while this runner is the writer."""
        position = self.position
        if self._state is None or self._state.position != position:
            self._state = Replay(self.store.load_ledgers(self.projection), self.store.load_routes(self.projection),
                                 position)
            self._versions = None
            self._figures, self._checkpoints = {}, {}
            # Each plan's figures, kept from batch to batch: made now, so that a first batch costs no more than others.
            for g, ledger in self._state.ledgers.items():
                for p, plan in (ledger.get("plans") or {}).items():
                    if ledger.get("groupement") is not None:
                        self._figures[(g, p)] = PlanFigures.of(plan, ledger)
            # The state may hold millions of objects that live as long as the runner: keep the cyclic
            # collector from walking them at every full collection (pauses of a second in a server). Garbage
            # is collected first: whatever is frozen is never collected (see docs/performance.md, memory).
            gc.collect()
            gc.freeze()
        if self._versions is None:
            self._versions = self._reconcile(position)
        return self._state

    # Versions of the read models (Marten's projection lifecycle, blue-green): a version declared in the registry
    # that differs from the one the store recorded is rebuilt beside the rows in use, a chunk of groupements per
    # batch, from the ledgers this runner holds; batches meanwhile write that model's rows beside the old ones
    # too. Reads keep the old rows until the switch, one transaction that puts the new rows in their place.
    def _reconcile(self, position: int) -> dict[str, ModelVersion]:
        """The versions the store recorded for this generation; a model with none gets one: the declared version
        when nothing was projected yet, 1 when its table has rows (made before versions were recorded), else 0
        (a read model added to a populated store: built like a new version)."""
        self.store.ensure_tables()
        recorded = self.store.model_versions(self.projection)
        missing = [m for m in registry.REGISTRY if m.name not in recorded]
        if missing:
            self.store.record_versions(self.projection, {
                m.name: m.version if position == 0 else int(self.store.has_rows(m.table, self.projection))
                for m in missing}, replace=False)
            recorded = self.store.model_versions(self.projection)
        return recorded

    def _outdated(self) -> list[ReadModel]:
        versions = self._versions
        if versions is None or any(m.name not in versions for m in registry.REGISTRY):
            versions = self._versions = self._reconcile(self._state.position if self._state else self.position)
        # Never back to an older version: a worker of the previous release, leading for a while during a rolling
        # update, keeps the rows as they are (and the switch catches up with what it wrote, see _upgrade_step).
        return [m for m in registry.REGISTRY if versions[m.name].version < m.version]

    @property
    def upgrading(self) -> bool:
        """A read model's version in the code differs from its rows' in the store: steps remain to be run."""
        return bool(self._outdated())

    def versions(self) -> dict[str, ModelVersion]:
        """What the store recorded for each read model of this generation (read afresh)."""
        return self.store.model_versions(self.projection)

    def _groupements(self, state: Replay) -> list[str]:
        return sorted(g for g, ledger in state.ledgers.items() if g != DIRECTORY and ledger.get("groupement"))

    def _begin_upgrades(self, state: Replay) -> None:
        if state.position == 0:  # nothing projected yet: no row to rebuild
            self.store.record_versions(self.projection, {m.name: m.version for m in self._outdated()})
            self._versions = None
            return
        for model in self._outdated():
            recorded = (self._versions or {})[model.name]
            if recorded.building != model.version:
                total = len(self._groupements(state))
                self.store.begin_upgrade(self.projection, model.name, model.table, model.version, total,
                                         state.position, self.fence)
                self._versions = self._reconcile(state.position)  # read again: the record changed

    def _upgrade_step(self, state: Replay) -> None:
        """Builds the next chunk of groupements of the first outdated read model; switches it after the last."""
        model = self._outdated()[0]
        recorded = (self._versions or {})[model.name]
        remaining = [g for g in self._groupements(state) if g > recorded.cursor]
        chunk = remaining[:self.upgrade_chunk]
        if chunk:
            rows = [row for g in chunk for row in derived_views(state.ledgers[g], [model])[model.table]]
            self.store.write_upgrade(self.projection, model.name, model.table, model.version, rows, state.position,
                                     recorded.cursor, chunk[-1], recorded.done + len(chunk), self.fence)
        else:
            # Groupements whose new rows are older than their ledger (a runner of the previous release projected
            # them meanwhile) or absent are made again, in the switch's own transaction.
            written = self.store.building_positions(self.projection, model.name, model.table, model.version)
            stale = [g for g in self._groupements(state) if written.get(g, -1) < state.ledgers[g]["position"]]
            rows = [row for g in stale for row in derived_views(state.ledgers[g], [model])[model.table]]
            self.store.switch_model(self.projection, model.name, model.table, model.version, state.position,
                                    self.fence, rows)
        self._versions = self.store.model_versions(self.projection)

    def run_batch(self, block: bool = True) -> int:
        """Projects the next batch of the log; returns how many log positions it advanced.

        A batch covers a range of positions, not a number of facts: events no read model uses (command
        receipts) are skipped but still passed, so tracking always reaches the head it saw. The head is
        read first; events up to it are all committed (the recorder serialises inserts), so none is missed.
        With `block=False` it returns 0 at once when another thread is projecting with this runner.
        """
        if not self._lock.acquire(blocking=block):
            return 0
        try:
            advanced = self._run_batch()
        finally:
            self._lock.release()
        if advanced:
            with self.advanced:
                self.advanced.notify_all()
        return advanced

    def _run_batch(self) -> int:
        state = self.state()
        advanced = 0
        try:
            if self._outdated():
                self._begin_upgrades(state)
            advanced = self._project(state)
            if advanced >= 0 and self._outdated():
                self._upgrade_step(state)
        except StaleTracking:
            # Another runner moved tracking (the state is behind: reload it) or only the rebuild's cursor (the
            # state is right: read the versions again).
            if self.store.position(self.projection) != state.position:
                self._state = None
            self._versions = None
        return max(advanced, 0)  # a batch committed before the rebuild's step was refused still counts

    def _project(self, state: Replay) -> int:
        """The batch proper: -1 when another runner moved tracking meanwhile (the state is reloaded)."""
        start = state.position
        head = self.source.max_notification_id() or 0
        if head <= start:
            return 0
        # Views are recomputed once per batch, whatever its size: far behind, take bigger batches.
        behind = head - start
        size = self.batch_size if behind <= 4 * self.batch_size else min(behind, self.max_batch_size)
        facts: list[Fact] = list(islice(self.source.facts(start + 1, stop=head, batch=min(size, 5000)), size))
        end = facts[-1].position if len(facts) == size else head
        try:
            batch = self.fold(state, facts, start, end)
            self.store.commit_batch(self.projection, start, end, batch, self.fence)
        except StaleTracking:
            self._state = None
            return -1
        except BaseException:
            self._state = None  # the in-memory state ran ahead of the store: reload it next time
            raise
        return end - start

    def fold(self, state: Replay, facts: list[Fact], start: int, end: int) -> Batch:
        touched: set[str] = set()
        new_routes: dict[str, Route] = {}
        history = []
        # Per groupement, the measures the batch recorded or corrected by plan, in order; None once anything else
        # happened to it (then its figures are made anew and every row of its plans written).
        measures: dict[str, dict[str, dict[str, None]] | None] = {}
        written: dict[str, tuple[str, str]] = {}  # measure -> (groupement, plan): its row is written
        for fact in facts:
            known = fact.aggregate_id in state.routes
            route = state.feed(fact)
            history.append(history_row(fact, route))
            if route is not None:
                touched.add(route.groupement_id)
                if not known:
                    new_routes[fact.aggregate_id] = route
                changes = measures.setdefault(route.groupement_id, {})
                if fact.kind in MEASURE_KINDS and route.plan_id is not None:
                    written[fact.aggregate_id] = (route.groupement_id, route.plan_id)
                if changes is not None and fact.kind in MEASURE_KINDS and route.plan_id is not None:
                    changes.setdefault(route.plan_id, {})[fact.aggregate_id] = None
                else:
                    measures[route.groupement_id] = None
        state.position = end
        ledgers = {g: state.ledgers[g] for g in touched}
        views: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
        for g, ledger in ledgers.items():
            figures, changed = self._figures_of(g, ledger, measures.get(g))
            for table, rows in derived_views(ledger, None, figures, changed).items():
                views.setdefault(table, []).extend(rows)
        # (as-of, issue 12: a checkpoint also keeps each plan's groupement series at its position)
        due = end // self.checkpoint_every > start // self.checkpoint_every
        checkpoints = [(g, end, pack(delta(ledger, self._checkpointed(g), {
                            p: self._figures[(g, p)] for p in ledger.get("plans") or {} if (g, p) in self._figures})))
                       for g, ledger in ledgers.items() if due]
        self._checkpoints.update((g, end) for g, _, _ in checkpoints)
        # A read model whose new version is being built: its rows go beside the old ones, which stay as they are.
        keys = {m.table: building_key(self.projection, m.name, m.version) for m in self._outdated()}
        measure_rows = [(g, p, measure) for m, (g, p) in written.items()
                        if (measure := state.ledgers[g]["plans"].get(p, {}).get("measures", {}).get(m)) is not None]
        return Batch(ledgers, new_routes, views, history, checkpoints, keys, measure_rows)

    def _checkpointed(self, g: str) -> int:
        """The position of the groupement's last checkpoint (a checkpoint holds the measures changed since)."""
        if g not in self._checkpoints:
            self._checkpoints[g] = self.store.last_checkpoint(self.projection, g)
        return self._checkpoints[g]

    def _figures_of(self, g: str, ledger: Any, measures: dict[str, dict[str, None]] | None) -> tuple[
            dict[str, PlanFigures], dict[str, tuple[frozenset[str] | None, frozenset[str]]] | None]:
        """Each plan's figures after the batch, kept from batch to batch: when the batch only recorded or corrected
        measures, only theirs change (and the members and indicators they concern are returned); else made anew."""
        plans = ledger.get("plans") or {}
        cached = {p: self._figures.get((g, p)) for p in plans}
        if measures is None or not set(measures) <= set(plans):
            for p, plan in plans.items():
                self._figures[(g, p)] = PlanFigures.of(plan, ledger)
            return {p: self._figures[(g, p)] for p in plans}, None
        changed: dict[str, tuple[frozenset[str] | None, frozenset[str]]] = {}
        for p, plan in plans.items():
            ids = list(measures.get(p, {}))
            figures = cached[p]
            if figures is None:  # not held yet (the state was just loaded): made from the ledger, already folded
                figures = self._figures[(g, p)] = PlanFigures.of(plan, ledger)
            else:
                figures.update(plan, ledger, ids)
            owners = {plan["measures"][m]["member_id"] for m in ids}
            changed[p] = (None if None in owners else frozenset(o for o in owners if o is not None),
                          frozenset(plan["measures"][m]["indicator_key"] for m in ids))
        return {p: self._figures[(g, p)] for p in plans}, changed

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        """Runs batches until the log head (or `until`) is reached; returns the log positions advanced."""
        handled = 0
        head = self.source.max_notification_id() or 0
        while self.position < (until or head):
            count = self.run_batch()
            if count == 0:
                if self.position >= (until or self.source.max_notification_id() or 0):
                    break
                continue
            handled += count
            if progress:
                progress(self.position, head)
        self.upgrade()
        return handled

    def upgrade(self, limit: int = 1_000_000) -> None:
        """Runs the steps that bring every read model to its declared version (rebuilt beside, then switched)."""
        for _ in range(limit):
            if not self.upgrading:
                return
            self.run_batch()

    def follow(self, wait: Callable[[float], None], stop: Callable[[], bool], idle: float = 1.0) -> None:
        """Projects as facts arrive: `wait` blocks until the store says new events exist (LISTEN/NOTIFY
        on PostgreSQL) or `idle` seconds passed (polling on SQLite)."""
        while not stop():
            if self.run_batch() == 0 and not self.upgrading:
                wait(idle)

    def ensure(self, position: int, timeout: float = 10.0) -> int:
        """Read-your-writes: returns once the views include `position`, projecting what is missing.

        The caller checks that `position` is in the log; when no batch makes progress (another runner
        holds tracking), it waits for a batch to be committed instead of spinning."""
        deadline = time.monotonic() + timeout
        while self.position < position:
            if self.run_batch(block=False) > 0:  # a follower mid-batch is waited for below, with a deadline
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"read models did not reach position {position} within {timeout} s")
            with self.advanced:
                self.advanced.wait(min(left, 0.1))
        return self.position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Waits (without projecting) until a follower has projected `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.position < position:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self.advanced:
                self.advanced.wait(min(left, 0.5))
        return True


@dataclass
class SeriesAtCheckpoints:
    """What a rebuild keeps to write each plan's figures into its checkpoints (issue 12, as-of): the figures of the
    last checkpoint, updated with the measures changed since (made anew when anything else happened to the
    groupement), as a runner keeps them from batch to batch."""

    figures: dict[tuple[str, str], PlanFigures] = field(default_factory=dict)
    restructured: set[str] = field(default_factory=set)  # groupements with a fact other than a measure since

    def met(self, fact: Fact, route: Route | None) -> None:
        if route is not None and fact.kind not in MEASURE_KINDS:
            self.restructured.add(route.groupement_id)

    def at(self, g: str, ledger: Any, since: int) -> dict[str, PlanFigures]:
        plans = ledger.get("plans") or {}
        anew = g in self.restructured
        self.restructured.discard(g)
        for p, plan in plans.items():
            held = self.figures.get((g, p))
            if anew or held is None:
                self.figures[(g, p)] = PlanFigures.of(plan, ledger)
            else:
                held.update(plan, ledger, [m for m, measure in plan["measures"].items()
                                           if measure["positions"][-1] > since])
        return {p: self.figures[(g, p)] for p in plans}


def next_generation(current: str) -> str:
    """views_v1 -> views_v2: the name a rebuild builds under, beside the generation in use."""
    stem, _, number = current.rpartition("_v")
    return f"{stem}_v{int(number) + 1}" if stem and number.isdigit() else f"{current}_v2"


def rebuild(source: FactSource, store: SqlStore, name: str, progress: Progress | None = None,
            batch: int = 5000, checkpoint_every: int = 5000) -> dict[str, Any]:
    """Builds a generation from the whole log beside the one in use, then lets it take over.

    Facts are folded in memory (history rows and checkpoints written as it goes); ledgers and views
    are written once, with the tracking position, in the last transaction; the new generation then
    catches up with whatever arrived meanwhile and becomes the one that serves reads.
    """
    store.drop(name)
    head = source.max_notification_id() or 0
    state = Replay()
    history: list[dict[str, Any]] = []
    checkpoints: list[tuple[str, int, bytes]] = []
    last_checkpoint = 0
    checkpointed: dict[str, int] = {}  # groupement -> its last checkpoint (a checkpoint holds what changed since)
    series = SeriesAtCheckpoints()  # as-of (issue 12): each plan's figures at each checkpoint, kept up to date
    started = time.perf_counter()
    # The fold creates millions of small objects and frees none: the cyclic collector would walk them
    # all again and again for nothing, so it rests while folding.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # History rows and checkpoints are compressed and written by a second thread while folding goes on.
    with ThreadPoolExecutor(1) as writer:
        pending: list[Future[None]] = []
        for fact in source.facts(1, stop=head, batch=batch):
            route = state.feed(fact)
            history.append(history_row(fact, route))
            series.met(fact, route)
            if fact.position // checkpoint_every > last_checkpoint // checkpoint_every:
                last_checkpoint = fact.position
                for g, ledger in state.ledgers.items():
                    if ledger["position"] > fact.position - checkpoint_every:
                        checkpoints.append((g, fact.position, orjson.dumps(delta(
                            ledger, checkpointed.get(g, 0), series.at(g, ledger, checkpointed.get(g, 0))))))
                        checkpointed[g] = fact.position
            if len(history) >= batch:
                pending.append(writer.submit(_write_rows, store, name, history, checkpoints))
                history, checkpoints = [], []
                if progress:
                    progress(fact.position, head)
        for future in pending:
            future.result()
    if gc_was_enabled:
        gc.enable()
    folded = time.perf_counter() - started
    views: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
    for ledger in state.ledgers.values():
        for table, rows in derived_views(ledger).items():
            views.setdefault(table, []).extend(rows)
    packed = [(g, position, zlib.compress(data, 1)) for g, position, data in checkpoints]
    state.position = max(state.position, head)  # receipts after the last fact are passed too
    store.ensure_tables()
    store.commit_batch(name, 0, state.position, Batch(state.ledgers, state.routes, views, history, packed))
    store.record_versions(name, {model.name: model.version for model in registry.REGISTRY})
    store.analyze()  # as-of (issue 12) reads the rows just written by index: the planner needs their statistics
    if progress:
        progress(state.position, head)
    runner = ProjectionRunner(source, store, name)
    runner.catch_up()
    previous = store.activate(ALIAS, name)
    if previous and previous != name:
        store.drop(previous)
    return {"projection": name, "replaced": previous, "events": state.position, "fold_seconds": folded,
            "seconds": time.perf_counter() - started}


def _write_rows(store: SqlStore, name: str, history: list[dict[str, Any]],
                checkpoints: list[tuple[str, int, bytes]]) -> None:
    store.write_rows(name, history, [(g, position, zlib.compress(data, 1)) for g, position, data in checkpoints])

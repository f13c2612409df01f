"""Runners: follow the notification log and keep the read models exactly once.

Each batch of facts is folded into the groupements' ledgers by the reducer of ledger.py; the ledgers,
the routes, the derived views of every touched plan, the history rows and the new tracking position
are written in one transaction, guarded by the position the batch started from. A runner killed at
any moment leaves either the whole batch or none of it.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal, Protocol

import msgspec
import orjson

from progres.domain.measures import Measure
from progres.projections import breakdowns, period_figures, registry
from progres.projections.breakdowns import SummaryRow
from progres.projections.facts import TRANSCODED, Fact, _untranscode, fact_from_record
from progres.projections.history import ACTOR_FIELDS, history_row
from progres.projections.indicators import PlanFigures
from progres.projections.late_facts import LateRow, late_rows
from progres.projections.ledger import DIRECTORY, Ledger, Replay, Route, kind_of, new_ledger
from progres.projections.period_figures import FigureRow
from progres.projections.registry import ReadModel, derived_views
from progres.projections.stores.sql import (
    DELTA,
    SERIES,
    Batch,
    Fence,
    MeasureRow,
    ModelVersion,
    SqlStore,
    StaleTracking,
    building_key,
    delta,
    in_two_parts,
    pack_checkpoint,
    series_state,
    skeleton,
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
    # (position, the latest time of the history by then) after the last batch folded (projections/late_facts.py)
    _latest: tuple[int, str | None] | None = field(default=None, repr=False)
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
        summaries: list[SummaryRow] = []  # as-of: the summaries of the members whose measures changed
        figure_rows: list[FigureRow] = []  # as-of: the figures of the periods whose measures changed
        for g, ledger in ledgers.items():
            figures, changed = self._figures_of(g, ledger, measures.get(g))
            summaries.extend(breakdowns.batch_rows(g, ledger, figures, written, end))
            figure_rows.extend(period_figures.batch_rows(g, ledger, figures, measures.get(g), end))
            for table, rows in derived_views(ledger, None, figures, changed).items():
                views.setdefault(table, []).extend(rows)
        # (as-of, issue 12: a checkpoint also keeps each plan's groupement series at its position)
        due = end // self.checkpoint_every > start // self.checkpoint_every
        checkpoints = [(g, end, pack_checkpoint(delta(ledger, self._checkpointed(g), {
                            p: self._figures[(g, p)] for p in ledger.get("plans") or {} if (g, p) in self._figures})))
                       for g, ledger in ledgers.items() if due]
        self._checkpoints.update((g, end) for g, _, _ in checkpoints)
        # A read model whose new version is being built: its rows go beside the old ones, which stay as they are.
        keys = {m.table: building_key(self.projection, m.name, m.version) for m in self._outdated()}
        measure_rows = [(g, p, measure) for m, (g, p) in written.items()
                        if (measure := state.ledgers[g]["plans"].get(p, {}).get("measures", {}).get(m)) is not None]
        # a groupement the batch only recorded or corrected measures of: its row's skeleton is unchanged
        moved = frozenset(g for g in ledgers if measures.get(g) is not None)
        return Batch(ledgers, new_routes, views, history, checkpoints, keys, measure_rows, summaries, figure_rows,
                     self._late(history, start, end), moved)

    def _late(self, history: list[dict[str, Any]], start: int, end: int) -> list[LateRow]:
        """The batch's late facts (projections/late_facts.py), from the latest time of the history before it (kept
        from the previous batch, else read); with the marker when the generation kept none so far."""
        marker: list[LateRow] = []
        if self._latest is not None and self._latest[0] == start:
            latest = self._latest[1]
        else:
            latest, kept = self.store.latest_time(self.projection)
            if not kept:
                marker = [(start, None)]
        late, latest = late_rows(((h["position"], h["timestamp"]) for h in history), latest)
        self._latest = (end, latest)
        return marker + late

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

    def at(self, g: str, ledger: Any, changed: dict[str, list[dict[str, Any]]]) -> dict[str, PlanFigures]:
        """Each plan's figures at the groupement's checkpoint, from the measures changed since its previous one
        (`changed`: plan -> its measures changed, in the order they were recorded, `RebuildFold._by_plan`)."""
        plans = ledger.get("plans") or {}
        anew = g in self.restructured
        self.restructured.discard(g)
        for p, plan in plans.items():
            held = self.figures.get((g, p))
            if anew or held is None:
                self.figures[(g, p)] = PlanFigures.of(plan, ledger)
            elif p in changed:
                held.update_with(plan, ledger, changed[p])
        return {p: self.figures[(g, p)] for p in plans}


def _first_position(measure: dict[str, Any]) -> int:
    return measure["positions"][0]  # type: ignore[no-any-return]


def next_generation(current: str) -> str:
    """views_v1 -> views_v2: the name a rebuild builds under, beside the generation in use."""
    stem, _, number = current.rpartition("_v")
    return f"{stem}_v{int(number) + 1}" if stem and number.isdigit() else f"{current}_v2"


def rebuild(source: FactSource, store: SqlStore, name: str, progress: Progress | None = None,
            batch: int = 5000, checkpoint_every: int = 5000) -> dict[str, Any]:
    """Builds a generation from the whole log beside the one in use, then lets it take over.

    The log is read by a thread, a chunk ahead (the database works while the facts are folded); facts are folded in
    memory, a recorded measure (most of the log) decoded straight into its row of the ledger (`RebuildFold`); the
    history, routes and measures rows and the checkpoints of each chunk, then the views, are written by writer threads
    as they come (`SqlStore.rebuild_writers`). Ledgers are written once, with the tracking position, in the last
    transaction; the new generation then catches up with whatever arrived meanwhile (from the state in memory, nothing
    read back) and becomes the one that serves reads. docs/read-models.md, "Rebuild and generations".
    """
    store.drop(name)
    store.ensure_tables()
    store.begin_load(name)
    head = source.max_notification_id() or 0
    fold = RebuildFold(store, name, checkpoint_every)
    started = time.perf_counter()
    phases: dict[str, float] = {}  # when each phase ended (the views: how long they took), seconds from the start
    # The fold creates millions of small objects and frees none: the cyclic collector would walk them
    # all again and again for nothing, so it rests until the generation is written.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # One writer per kind of row where the store takes writers side by side (each its own connection and server
    # process): the database's work of storing the rows, most of a rebuild's, is spread over the cores.
    writers = [ThreadPoolExecutor(1) for _ in range(store.rebuild_writers)]
    try:
        with contextlib.ExitStack() as stack:
            for writer in writers:
                stack.enter_context(writer)
            pending: list[Future[None]] = []
            for chunk in _read_ahead(source, head, batch):
                _write_chunk(fold.feed(chunk), store, name, writers, pending)
                if progress:
                    progress(fold.state.position, head)
            folded = time.perf_counter() - started
            # As soon as the chunks' rows are in, while the views are made and written: the tables loaded apart are
            # indexed and put in place (`SqlStore.end_load`), and the planner given the statistics of the rows (as-of,
            # issue 12, reads them by index).
            analyzed = stack.enter_context(ThreadPoolExecutor(1)).submit(_end_load, store, name, list(pending))
            state = fold.state
            state.position = max(state.position, head)  # receipts after the last fact are passed too
            # The views, made while the last rows are written, then written beside them by the writers (a table's rows
            # 50 at a time); each plan's figures are those the fold keeps for the checkpoints, updated with the measures
            # changed since the last one (as a runner keeps them from batch to batch), not made again from all the
            # plan's measures.
            for g, ledger in state.ledgers.items():
                figures = (fold.figures_at_end(g, ledger, state.position)
                           if g != DIRECTORY and ledger.get("groupement") is not None else None)
                for table, rows in derived_views(ledger, None, figures).items():
                    for start in range(0, len(rows), VIEW_ROWS):  # a large table's rows by several writers
                        pending.append(writers[len(pending) % len(writers)].submit(
                            store.append_views, name, table, state.position, rows[start:start + VIEW_ROWS]))
            phases["views_seconds"] = time.perf_counter() - started - folded
            for future in pending:
                future.result()
            phases["rows_written_seconds"] = time.perf_counter() - started
            analyzed.result()
            phases["analyzed_seconds"] = time.perf_counter() - started
        # (the checkpoints, members' summaries and period figures of the checkpoints were written with their chunks; the
        # period figures of the fold's end, made with the views, go with the last batch)
        store.commit_batch(name, 0, state.position, Batch(state.ledgers, {}, {}, [], [],
                                                          measures=fold.corrected_rows(), figures=fold.rows.figures))
        phases["committed_seconds"] = time.perf_counter() - started
        store.record_versions(name, {model.name: model.version for model in registry.REGISTRY})
        if progress:
            progress(state.position, head)
        runner = ProjectionRunner(source, store, name)
        runner._state = state  # what was just written, held in memory: nothing is read back
        runner.catch_up()
        phases["caught_up_seconds"] = time.perf_counter() - started
        previous = store.activate(ALIAS, name)
        if previous and previous != name:
            store.drop(previous)
        events = state.position
        # The state is freed now, by reference counting, while the collector still rests: its first pass after
        # resting would otherwise walk every object the fold made (a second at 300 members).
        del runner, state, fold
    finally:
        if gc_was_enabled:
            gc.enable()
    return {"projection": name, "replaced": previous, "events": events, "fold_seconds": folded,
            "seconds": time.perf_counter() - started, **phases}


def _write_chunk(rows: ChunkRows, store: SqlStore, name: str, writers: list[ThreadPoolExecutor],
                 pending: list[Future[None]]) -> None:
    """A chunk's rows given to the writers. The fold runs ahead of the database, but not by more than a bounded number
    of writes: what waits to be written is held in memory (a 3,000-member log is 1.7 million measure rows)."""
    for part in rows.parts():
        if len(pending) >= WRITES_AHEAD and not pending[-WRITES_AHEAD].done():
            pending[-WRITES_AHEAD].result()
        pending.append(writers[len(pending) % len(writers)].submit(_append_rows, store, name, part))


def _append_rows(store: SqlStore, name: str, rows: ChunkRows) -> None:
    store.append_rows(name, rows.history, rows.routes, rows.measures,
                      [(g, position, zlib.compress(data, 1)) for g, position, data in rows.checkpoints],
                      rows.summaries, rows.figures, rows.late)


VIEW_ROWS = 50  # a view's rows written at once (the 301 member views of 300 members: 50 MB of JSON, in 7 writes)
WRITES_AHEAD = 24  # writes (3 a chunk of 5,000 events) the fold may be ahead of the database by


@dataclass
class ChunkRows:
    """The rows a chunk of the rebuild's fold makes, written by writer threads as they come: the history, routes and
    measures rows of its events, and what each checkpoint crossed in it writes (`RebuildFold._checkpoint`: the
    groupements' checkpoints, the members' summaries; a writer of more rows at checkpoints adds a list here and its
    table to `SqlStore.append_rows`)."""

    history: list[tuple[Any, ...]] = field(default_factory=list)
    routes: list[tuple[Any, ...]] = field(default_factory=list)
    measures: list[tuple[Any, ...]] = field(default_factory=list)
    checkpoints: list[tuple[str, int, bytes]] = field(default_factory=list)  # (groupement, position, JSON)
    summaries: list[SummaryRow] = field(default_factory=list)
    figures: list[FigureRow] = field(default_factory=list)  # period figures (projections/period_figures.py)
    late: list[LateRow] = field(default_factory=list)  # late facts (projections/late_facts.py)

    def parts(self) -> list[ChunkRows]:
        """Split for three writers side by side: the history; the routes and what checkpoints write; the measures."""
        return [ChunkRows(history=self.history, late=self.late),
                ChunkRows(routes=self.routes, checkpoints=self.checkpoints, summaries=self.summaries,
                          figures=self.figures),
                ChunkRows(measures=self.measures)]


def _end_load(store: SqlStore, name: str, written: list[Future[None]]) -> None:
    for future in written:
        future.result()
    store.end_load(name)


def _read_ahead(source: FactSource, head: int, batch: int) -> Iterator[list[Any]]:
    """The log up to `head` in chunks of `batch`, read by a thread one chunk or more ahead (psycopg waits on the
    database without the interpreter lock): stored records when the source gives them, else facts."""
    records = getattr(source, "records", None)
    items = records(1, stop=head, batch=batch) if records is not None else source.facts(1, stop=head, batch=batch)
    chunks: queue.Queue[Any] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            chunk: list[Any] = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(None)
        except BaseException as error:
            put(error)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="rebuild-reader", daemon=True)
    reader.start()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        reader.join()


MEASURE_RECORDED = kind_of(Measure.Recorded)  # type: ignore[attr-defined]


# A recorded measure's stored JSON of the usual shape, as the event store's transcoder writes it: each id, date, time
# and decimal an object of exactly `_type_` and `_data_` (the text); other fields of the event are not read.
class _Uuid(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["uuid_hex"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")

    def plain(self) -> dict[str, str]:
        return {"_type_": self.kind, "_data_": self.data}


class _Date(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["date_iso"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class _Time(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["datetime_iso"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class _Decimal(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["decimal_str"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class _Recorded(msgspec.Struct):
    timestamp: _Time
    plan_id: _Uuid
    groupement_id: _Uuid
    indicator_key: str
    member_id: _Uuid | None
    period_start: _Date
    period_end: _Date
    value: _Decimal | None
    assessment: str | None
    source: str
    recorded_by: _Uuid
    declared_on: _Date
    partial: bool


_RECORDED = msgspec.json.Decoder(_Recorded)
TEXT_TRANSCODINGS = frozenset(t for t in ("date_iso", "decimal_str", "datetime_iso") if TRANSCODED[t] is str)


class RebuildFold:
    """A rebuild's fold of the whole log: the same ledgers, routes, history rows and checkpoints as feeding every fact
    to `Replay` (tests/integration/test_projection_properties.py holds them equal), without the general path for a
    recorded measure: its stored JSON is decoded once into the measure as `ledger._measure_recorded` makes it, its
    route, history row and `measures` row made at once. Checkpoints (deltas, `stores.sql.delta`) take the measures
    changed since the groupement's previous one from what was folded, not from a walk over all its measures."""

    def __init__(self, store: SqlStore, name: str, checkpoint_every: int) -> None:
        self.store, self.name, self.every = store, name, checkpoint_every
        self.state = Replay()
        self.rows = ChunkRows()  # what the checkpoints crossed in the chunk being folded write
        self.last_checkpoint = 0
        self.changed: dict[str, dict[str, str]] = {}  # groupement -> measure -> plan: changed since its checkpoint
        self.written: set[str] = set()  # measures whose row is written
        self.corrected: dict[str, tuple[str, str]] = {}  # measure -> (groupement, plan): changed after it was written
        self.kinds: dict[str, str] = {}  # topic -> kind
        self.series = SeriesAtCheckpoints()  # as-of: each plan's figures written into its checkpoints
        # measure -> its JSON as its row holds it, until its groupement's next checkpoint takes it (or a later change)
        self.docs: dict[str, bytes] = {}
        self.texts: dict[str, str] = {}  # one string for each text that comes again and again (periods, values...)
        self.encodes = type(store).dump_json is SqlStore.dump_json  # a row's JSON is orjson's: made once, reused
        self.ids: dict[str, str] = {}  # hex -> dashed: the same few ids (plans, members, recorders) again and again
        self.shared_routes: dict[tuple[str, str], Route] = {}  # (groupement, plan) -> its route, one object
        self.measured_routes: set[str] = set()  # new routes of recorded measures met by the general path (this chunk)
        self.latest: str | None = None  # the latest time folded (projections/late_facts.py)
        self.marked = False  # the late facts' marker written (with the first chunk)

    def plain(self, value: Any) -> Any:
        """`facts._untranscode` of a stored value, with the dashed form of each id made once."""
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                data = value["_data_"]
                if value["_type_"] == "uuid_hex":
                    dashed = self.ids.get(data)
                    if dashed is None:
                        dashed = self.ids[data] = TRANSCODED["uuid_hex"](data)
                    return dashed
                return TRANSCODED[value["_type_"]](data)
            return _untranscode(value)
        if type(value) is list:
            return _untranscode(value)
        return value

    def uuid(self, value: Any) -> Any:
        """plain() of a value stored as an id (or None), in one step when it is one seen before."""
        if type(value) is dict and value.get("_type_") == "uuid_hex" and len(value) == 2:
            dashed = self.ids.get(value.get("_data_"))  # type: ignore[arg-type]
            if dashed is not None:
                return dashed
        return self.plain(value)

    def text(self, value: Any) -> Any:
        """plain() of a value stored as a date or a decimal (or None): its text, in one step."""
        if type(value) is dict and len(value) == 2 and value.get("_type_") in TEXT_TRANSCODINGS:
            data = value.get("_data_")
            if type(data) is str:
                return data
        return self.plain(value)

    def _measure(self, aggregate: str, position: int, timestamp: str, data: dict[str, Any]) -> dict[str, Any]:
        """The measure as `ledger._measure_recorded` makes it, from its stored event's JSON (`plain()` only where a
        value may be transcoded: text, None and booleans are kept as they are)."""
        plain, uuid, text = self.plain, self.uuid, self.text
        key, assessment, source = data["indicator_key"], data["assessment"], data["source"]
        partial = data.get("partial")
        return {
            "id": aggregate, "indicator_key": key if type(key) is str else plain(key),
            "member_id": uuid(data["member_id"]), "period_start": text(data["period_start"]),
            "period_end": text(data["period_end"]), "value": text(data["value"]),
            "assessment": assessment if assessment is None or type(assessment) is str else plain(assessment),
            "source": source if type(source) is str else plain(source),
            "recorded_by": uuid(data["recorded_by"]), "recorded_at": timestamp,
            "declared_on": text(data.get("declared_on")) or plain(data.get("recorded_on")),
            "partial": partial if type(partial) is bool else bool(plain(partial)),
            "positions": [position], "corrections": [],
        }

    def _decoded(self, position: int, aggregate: str, stored: bytes) -> tuple[str, str, dict[str, Any]] | None:
        """(groupement, plan, the measure as `ledger._measure_recorded` makes it) of a recorded measure's stored JSON
        of the usual shape (`_Recorded`: every id an id, dates and decimals as text, None where a value may be
        missing), decoded and checked in one step; None for any other shape (then orjson and `_measure`, value by
        value)."""
        try:
            record = _RECORDED.decode(stored)
        except msgspec.ValidationError:
            return None
        declared_on = record.declared_on.data
        if not declared_on:  # `_measure` takes recorded_on instead
            return None
        ids, texts, uuid = self.ids, self.texts, self.uuid
        member = record.member_id
        value = record.value
        setdefault = texts.setdefault
        key, start, end, source = record.indicator_key, record.period_start.data, record.period_end.data, record.source
        return (ids.get(record.groupement_id.data) or uuid(record.groupement_id.plain()),
                ids.get(record.plan_id.data) or uuid(record.plan_id.plain()), {
            "id": aggregate, "indicator_key": setdefault(key, key),
            "member_id": None if member is None else ids.get(member.data) or uuid(member.plain()),
            "period_start": setdefault(start, start), "period_end": setdefault(end, end),
            "value": None if value is None else setdefault(value.data, value.data), "assessment": record.assessment,
            "source": setdefault(source, source),
            "recorded_by": ids.get(record.recorded_by.data) or uuid(record.recorded_by.plain()),
            "recorded_at": record.timestamp.data, "declared_on": setdefault(declared_on, declared_on),
            "partial": record.partial, "positions": [position], "corrections": [],
        })

    def feed(self, chunk: list[Any]) -> ChunkRows:
        """Folds a chunk of records (or facts); returns its rows to write (history, routes, measures, and what the
        checkpoints crossed in it write)."""
        kinds = self.kinds
        history: list[tuple[Any, ...]] = []
        new_routes: list[tuple[Any, ...]] = []
        recorded: list[MeasureRow] = []
        for item in chunk:
            if type(item) is tuple:
                position, originator_id, version, topic, stored = item
                kind = kinds.get(topic)
                if kind is None:
                    kind = kinds[topic] = topic.rpartition(":")[2]
                if kind == MEASURE_RECORDED:
                    aggregate = str(originator_id)
                    made = self._decoded(position, aggregate, stored)
                    data = orjson.loads(stored) if made is None else None
                    if made is not None or (type(data.get("groupement_id")) is dict  # type: ignore[union-attr]
                                            and type(data.get("plan_id")) is dict):  # type: ignore[union-attr]
                        self._recorded(position, aggregate, version, kind, data, made, history, new_routes, recorded)
                        continue
                fact = fact_from_record(position, originator_id, version, topic, stored)
            else:
                fact = item
            self._fold(fact, history, new_routes, recorded)
        rows, self.rows = self.rows, ChunkRows()
        rows.history = history
        rows.late, self.latest = late_rows(((row[0], row[-1]) for row in history), self.latest)
        if not self.marked:
            rows.late.insert(0, (0, None))
            self.marked = True
        rows.routes = self._routes_rows(new_routes, recorded)
        rows.measures = self._measure_rows(recorded)
        self.written.update(m["id"] for _, _, m in recorded)
        return rows

    def _recorded(self, position: int, aggregate: str, version: int, kind: str, data: dict[str, Any] | None,
                  made: tuple[str, str, dict[str, Any]] | None, history: list[tuple[Any, ...]],
                  new_routes: list[tuple[Any, ...]], recorded: list[MeasureRow]) -> None:
        """The fast path of a recorded measure: Replay.feed (route_of, apply, _measure_recorded) and history_row; from
        `made` (`_decoded`), else from its JSON decoded by orjson (`data`)."""
        state, uuid = self.state, self.uuid
        if made is None:
            assert data is not None
            g, p = uuid(data["groupement_id"]), uuid(data["plan_id"])
            timestamp = data["timestamp"]["_data_"]
            by = uuid(by) if (by := data.get("recorded_by")) else self._actor(data)
        else:
            g, p, measure = made
            timestamp, by = measure["recorded_at"], measure["recorded_by"]
        routes = state.routes
        known = aggregate in routes
        if not known:
            route = self.shared_routes.get((g, p))
            if route is None:
                route = self.shared_routes[(g, p)] = Route(g, p)
            routes[aggregate] = route  # (one object per plan: a route is frozen)
        ledger = state.ledgers.get(g)
        if ledger is None:
            ledger = state.ledgers[g] = new_ledger(g)
        if position <= ledger["position"]:  # no measure row: the route is a row of its own
            new_routes.extend(() if known else [(aggregate, g, p)])  # (see stores.sql.routes_rows)
        else:
            if made is None:
                measure = self._measure(aggregate, position, timestamp, data)  # type: ignore[arg-type]
            ledger["plans"][p]["measures"][aggregate] = measure
            self.docs[aggregate] = orjson.dumps(measure)  # for its row and its checkpoint (dropped if it changes)
            ledger["position"] = position
            ledger["last_timestamp"] = timestamp
            recorded.append((g, p, measure))
            by_group = self.changed.get(g)
            if by_group is None:
                by_group = self.changed[g] = {}
            by_group[aggregate] = p
        # (the organisation: recorded_by, the first of ACTOR_FIELDS, when the measure has it)
        history.append((position, g, p, by, aggregate, version, kind, timestamp))
        state.position = max(state.position, position)
        if position // self.every > self.last_checkpoint // self.every:
            self._checkpoint(position)

    def _measure_rows(self, recorded: list[MeasureRow]) -> list[tuple[Any, ...]]:
        """`SqlStore.measure_rows`, with each measure's JSON made when it was recorded when it has not changed since
        (kept until both its row and its groupement's next checkpoint have it)."""
        if not self.encodes:
            return self.store.measure_rows(self.name, recorded)
        name, docs, changed, dumps = self.name, self.docs, self.changed, orjson.dumps
        rows = []
        for g, p, m in recorded:
            measure_id = m["id"]
            doc = docs.get(measure_id)
            if doc is None:
                doc = dumps(m)
            elif measure_id not in changed.get(g, ()):  # its checkpoint was made: not needed any more
                del docs[measure_id]
            positions = m["positions"]
            rows.append((name, measure_id, g, p, m["indicator_key"], m["member_id"], m["period_start"],
                         m["period_end"], positions[0], positions[-1], doc.decode()))
        return rows

    def _actor(self, data: dict[str, Any]) -> Any:
        """The history row's organisation of a stored event's JSON: its first actor field set (`history_row`)."""
        actor = next((f for f in ACTOR_FIELDS if data.get(f)), None)
        return self.plain(data[actor]) if actor else None

    def _routes_rows(self, new_routes: list[tuple[Any, ...]], recorded: list[MeasureRow]) -> list[tuple[Any, ...]]:
        """The new routes but those of measures the general path met whose row is written (stores.sql.routes_rows)."""
        if not self.measured_routes:
            return new_routes
        rows = {m["id"]: (g, p) for g, p, m in recorded}
        kept = [r for r in new_routes if r[0] not in self.measured_routes or rows.get(r[0]) != r[1:]]
        self.measured_routes.clear()
        return kept

    def _fold(self, fact: Fact, history: list[tuple[Any, ...]], new_routes: list[tuple[Any, ...]],
              recorded: list[MeasureRow]) -> None:
        """The general path: any fact, through Replay.feed."""
        state = self.state
        known = fact.aggregate_id in state.routes
        route = state.feed(fact)
        self.series.met(fact, route)
        row = history_row(fact, route)
        history.append((row["position"], row["groupement_id"], row["plan_id"], row["organisation_id"],
                        row["aggregate_id"], row["version"], row["type"], row["timestamp"]))
        if route is not None:
            if not known:
                new_routes.append((fact.aggregate_id, route.groupement_id, route.plan_id))
                if fact.kind == MEASURE_RECORDED:
                    self.measured_routes.add(fact.aggregate_id)
            g = route.groupement_id
            if fact.kind in MEASURE_KINDS and route.plan_id is not None:  # (a rebuild's positions only increase)
                measure = state.ledgers[g]["plans"].get(route.plan_id, {}).get("measures", {}).get(fact.aggregate_id)
                if measure is not None:
                    self.changed.setdefault(g, {})[fact.aggregate_id] = route.plan_id
                    self.docs.pop(fact.aggregate_id, None)  # (its JSON, if kept, is no longer the measure's)
                    if fact.aggregate_id in self.written:
                        self.corrected[fact.aggregate_id] = (g, route.plan_id)
                    elif fact.kind == MEASURE_RECORDED:
                        recorded.append((g, route.plan_id, measure))
        self._checkpoint(fact.position)

    def _checkpoint(self, position: int) -> None:
        """After each fact, as the fold of every fact did: on crossing a multiple of `every`, a checkpoint of each
        groupement changed since the previous crossing, holding the measures changed since its own previous one.
        What a checkpoint writes goes into `self.rows` (written with the chunk): here is where a writer of more rows
        at checkpoints takes the groupement's ledger, its plans' figures and the measures changed since."""
        if position // self.every <= self.last_checkpoint // self.every:
            return
        self.last_checkpoint = position
        for g, ledger in self.state.ledgers.items():
            if ledger["position"] > position - self.every:
                changed = self.changed.pop(g, {})
                by_plan = self._by_plan(ledger, changed)
                figures = self._figures_at(g, ledger, by_plan, position)
                self.rows.summaries.extend(breakdowns.checkpoint_rows(g, figures, by_plan, position))  # (as-of)
                self.rows.checkpoints.append((g, position, self._delta(ledger, changed, by_plan, figures)))

    @staticmethod
    def _by_plan(ledger: Ledger, changed: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        """The measures changed since the groupement's previous checkpoint (`changed`: measure -> plan) that its ledger
        holds, by plan in the plans' order, each plan's in the order they were recorded (their first position)."""
        plans = ledger.get("plans") or {}
        by_plan: dict[str, list[dict[str, Any]]] = {}
        for m, p in changed.items():
            plan = plans.get(p)
            measure = None if plan is None else plan.get("measures", {}).get(m)
            if measure is not None:
                found = by_plan.get(p)
                if found is None:
                    found = by_plan[p] = []
                found.append(measure)
        for found in by_plan.values():
            found.sort(key=_first_position)
        return {p: by_plan[p] for p in plans if p in by_plan}

    def _figures_at(self, g: str, ledger: Ledger, by_plan: dict[str, list[dict[str, Any]]],
                    position: int) -> dict[str, PlanFigures]:
        """Each plan's figures at a checkpoint of the groupement (`SeriesAtCheckpoints.at`), and the rows of the periods
        changed since its previous one (as-of: projections/period_figures.py), written with the chunk."""
        anew = g in self.series.restructured
        figures = self.series.at(g, ledger, by_plan)
        self.rows.figures.extend(period_figures.checkpoint_rows(g, ledger, figures, by_plan, position, anew))
        return figures

    def figures_at_end(self, g: str, ledger: Ledger, position: int) -> dict[str, PlanFigures]:
        """Each plan's figures at the end of the fold, from the measures changed since the groupement's last
        checkpoint, and the rows of their periods (in `self.rows`, written with the last batch)."""
        return self._figures_at(g, ledger, self._by_plan(ledger, self.changed.pop(g, {})), position)

    def _delta(self, ledger: Ledger, changed: dict[str, str], by_plan: dict[str, list[dict[str, Any]]],
               figures: dict[str, PlanFigures]) -> bytes:
        """`stores.sql.checkpoint_data` of `stores.sql.delta` of the ledger since its previous checkpoint, from the
        measures changed since (`by_plan`): in the plans' order, each plan's in the order they were recorded (the
        order of its measures in the ledger). A measure's JSON is the one its row was written with when it has not
        changed since (the same bytes orjson makes of it)."""
        docs, dumps = self.docs, orjson.dumps
        parts: list[bytes] = []  # `[plan, measure]` of each, comma first, joined once
        for p, found in by_plan.items():
            head = b",[" + dumps(p) + b","
            for measure in found:
                parts += (head, docs.get(measure["id"]) or dumps(measure), b"]")
        if parts:
            parts[0] = parts[0][1:]
        written = self.written
        for m in changed:  # taken: kept only until its row is made (the next checkpoint has it only if it changes)
            if m in written:
                docs.pop(m, None)
        # in two parts, as `stores.sql.checkpoint_data` stores a delta: the rest, then its measures apart
        rest = b"".join((b'{"', DELTA.encode(), b'":1,"ledger":', dumps(skeleton(ledger)), b',"', SERIES.encode(),
                         b'":', dumps({p: series_state(f) for p, f in figures.items()}), b"}"))
        return in_two_parts(rest, b"".join((b"[", *parts, b"]")))

    def corrected_rows(self) -> list[MeasureRow]:
        """The measures changed after their row was written: rewritten with the last batch."""
        return [(g, p, self.state.ledgers[g]["plans"][p]["measures"][m]) for m, (g, p) in self.corrected.items()]

"""The event-sourced application: persistence set-up, retries on conflicts, idempotent commands."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, project_aggregate
from eventsourcing.domain import event
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    Recording,
    Transcoding,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import Environment, get_topic, retry
from psycopg import sql
from psycopg.rows import tuple_row

from progres.domain.base import ProgresAggregate
from progres.domain.errors import ConcurrencyConflict, DomainError, InvalidInput, NotFound
from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.marches import Marche
from progres.domain.plans import ProgressPlan
from progres.domain.purchases import PurchaseImport
from progres.projections.facts import Fact, fact_from_record
from progres.services import event_runs
from progres.services.audit_chain import GuardFailed, KeyedPostgresRecorder

A = TypeVar("A", bound=ProgresAggregate)
R = TypeVar("R")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# The organisation a command is run for (GraphQL: the caller's); None for the operator's CLI and scripts.
acting_organisation: ContextVar[str | None] = ContextVar("progres_acting_organisation", default=None)
CONFLICT_BACKOFF_FIRST = 0.002  # seconds: the first conflict's back-off is up to twice this (see `run`)
CONFLICT_BACKOFF_MAX = 0.128

# The guard of the save of the command attempt being run ({aggregate id: version its decision read, 0: must not
# exist}), filled by `decide_on_current`; None when the save is not guarded (SQLite, a retry).
_save_guard: ContextVar[dict[UUID, int] | None] = ContextVar("progres_save_guard", default=None)
# (command, digest of its arguments) of the command being run, set by `fingerprinted`.
_running: ContextVar[tuple[str, str] | None] = ContextVar("progres_running_command", default=None)


@contextmanager
def acting_for(organisation_id: str | None) -> Iterator[None]:
    """Runs the commands inside on behalf of this organisation: its command ids are its own namespace."""
    token = acting_organisation.set(organisation_id)
    try:
        yield
    finally:
        acting_organisation.reset(token)


def namespaced(kind: str, command_id: str) -> UUID:
    """An id derived from a client's command id, in the acting organisation's namespace: two tenants may use
    the same command id without meeting (the operator keeps the unprefixed namespace of earlier versions)."""
    organisation = acting_organisation.get()
    return derive_id(kind, command_id) if organisation is None else derive_id(kind, "org", organisation, command_id)


def arguments_digest(arguments: dict[str, Any]) -> str:
    data = orjson.dumps(arguments, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(data).hexdigest()


def fingerprinted(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a command so that `execute` knows its arguments: a command id replays only the same command with
    the same arguments."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def command(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        if bound.arguments.get("command_id") is None:  # only a command id is ever compared with its arguments
            return method(self, *args, **kwargs)
        bound.apply_defaults()
        values = {k: v for k, v in bound.arguments.items() if k not in ("self", "command_id")}
        token = _running.set((method.__name__, arguments_digest(values)))
        try:
            return method(self, *args, **kwargs)
        finally:
            _running.reset(token)
    return command


class CommandReceipt(ProgresAggregate):
    """Written with a command's events when the client gave a command id: a retry finds it and
    gets the first answer back instead of doing the work twice. Keyed by (acting organisation, command id)."""

    @staticmethod
    def create_id(command_id: str) -> UUID:
        return namespaced("command", command_id)

    @event("Accepted")
    def __init__(self, command_id: str, command: str, result_id: str | None, organisation_id: str | None = None,
                 fingerprint: str | None = None) -> None:
        self.command_id = command_id
        self.command = command
        self.result_id = result_id
        self.organisation_id = organisation_id
        self.fingerprint = fingerprint


RECEIPT_TOPIC_SUFFIX = "CommandReceipt.Accepted"
# A purchase file's lines: no read model uses them (the shares reach the read models as the measures they feed, the
# history shows the import's `Imported` event with its line count), so the projections' reading of the log passes
# over them in the query, as over receipts: an import of 100,000 lines costs the runner one fact, not 100,000.
PURCHASE_LINE_TOPIC = get_topic(PurchaseImport.PurchaseRecorded)
Record = tuple[int, Any, int, str, bytes]  # a stored event: (position, originator id, version, topic, state)


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the id of what it wrote, the log position it reached, whether it was a replay."""

    id: str | None
    position: int
    replayed: bool = False
    attempts: int = 1


class CommandIdReused(DomainError):
    """The same answer whatever the first command was: it tells nothing of what was run with this id."""

    code = "command_id_reused"
    template = ("cet identifiant de commande a déjà servi pour une autre commande ou d'autres arguments : "
                "prenez un nouvel identifiant")


class ContextCache:
    """Aggregates kept between commands as read-only copies, least recently used dropped first (services/commands.py
    decides on them, never changes them: a copy is replaced, never mutated, so that threads share it safely).
    Whatever is read here is checked against the store before a command's save (`ProgresApplication.current`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[UUID, ProgresAggregate] = OrderedDict()
        self._memos: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def memo(self, key: tuple[Any, ...], make: Callable[[], R]) -> R:
        """A value derived from stored states only (the key names them, e.g. by aggregate ids and versions: one
        stored state per id and version), made once and kept beside the copies."""
        with self._lock:
            if key in self._memos:
                return self._memos[key]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            if len(self._memos) >= self.size:
                self._memos.clear()
            self._memos[key] = value
        return value

    def get(self, aggregate_id: UUID) -> ProgresAggregate | None:
        with self._lock:
            aggregate = self._items.get(aggregate_id)
            if aggregate is not None:
                self._items.move_to_end(aggregate_id)
            return aggregate

    def put(self, aggregate: ProgresAggregate) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[aggregate.id] = aggregate
            self._items.move_to_end(aggregate.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, aggregate_id: UUID, version: int) -> None:
        """Drops the copy at `version` (not a newer one another thread put meanwhile)."""
        with self._lock:
            aggregate = self._items.get(aggregate_id)
            if aggregate is not None and aggregate.version <= version:
                del self._items[aggregate_id]


class ProgresApplication(Application[UUID]):
    """Infrastructure shared by every command: stores, snapshots, retries and receipts."""

    name = "progres"
    snapshotting_intervals = {Groupement: 50, Marche: 50, ProgressPlan: 50}  # noqa: RUF012 - library API

    def __init__(self, env: dict[str, str], retries: int = 8, snapshot_interval: int = 50,
                 failover_seconds: float = 0.0, context_cache_size: int = 256) -> None:
        self.retries = retries
        self.context_cache = ContextCache(context_cache_size)
        self.stale_contexts = 0
        self.failover_seconds = failover_seconds
        self.conflicts_retried = 0
        self.outages_waited = 0
        self.snapshotting_intervals = dict.fromkeys(type(self).snapshotting_intervals, snapshot_interval)
        super().__init__(env=env)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if inspect.isfunction(value) and not name.startswith("_") \
                    and "command_id" in inspect.signature(value).parameters:
                setattr(cls, name, fingerprinted(value))

    def construct_env(self, name: str, env: dict[str, str] | None = None) -> Environment:
        # Only what Settings derived: the library would otherwise read os.environ itself.
        values = {"IS_SNAPSHOTTING_ENABLED": "y", **(env or {})}
        return Environment(name, values)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        # A save holding runs of events (a purchase file's lines) stores them from their rows: services/event_runs.py.
        if event_runs.has_runs(processing_event.events):
            return event_runs.record(self, processing_event)
        return super()._record(processing_event)

    # Reading aggregates
    def load(self, kind: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise error("id", id=aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise error("id", id=aggregate_id)
        return aggregate

    # Changing large aggregates: a groupement of 3,000 members, its marché's parties and its plan's purchase volumes
    # grow with the members; decoding one from its snapshot for each command made admitting the k-th member cost O(k)
    # (a Région admitting 3,000 lycées: O(n²)). They are kept between commands (the context cache, at the version
    # stored) and each command gets a private copy, brought up to date by the events stored since (one query).
    def keeps(self, kind: type[ProgresAggregate]) -> bool:
        """Whether aggregates of this kind are kept between commands (those that grow: snapshotted)."""
        return kind in self.snapshotting_intervals

    def load_for_change(self, kind: type[A], aggregate_id: UUID, error: type[NotFound]) -> A:
        """The aggregate as stored, as a copy this command alone may change (and save): from the copy kept between
        commands, with the events stored since by any process applied (the save is protected by the version, as
        ever), else loaded from the store (and kept)."""
        if not self.keeps(kind):
            return self.load(kind, aggregate_id, error)
        kept = self.context_cache.get(aggregate_id)
        if kept is None:
            loaded = self.load(kind, aggregate_id, error)
            loaded.derive()
            self.context_cache.put(loaded)
            return loaded.changeable_copy()
        if not isinstance(kept, kind):
            raise error("id", id=aggregate_id)
        aggregate = kept.changeable_copy()
        newer = self.repository.event_store.get(originator_id=aggregate_id, gt=aggregate.version)
        return project_aggregate(aggregate, newer)  # type: ignore[return-value]

    def keep_saved(self, aggregates: Sequence[ProgresAggregate]) -> None:
        """After a save: the saved states of the kinds kept between commands, for the next commands (never changed
        again: the next command changes a copy)."""
        for aggregate in aggregates:
            if self.keeps(type(aggregate)):
                aggregate.derive()
                self.context_cache.put(aggregate)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether the aggregate has events stored: one query for its last version (the repository's `in` rebuilt
        the whole aggregate from its snapshot and events to say so)."""
        return aggregate_id in self.stored_versions([aggregate_id])

    # Deciding on cached aggregates: what a command only reads (a measure's plan, groupement and marché) is kept
    # between commands instead of being decoded again from its snapshot each time; the guarded save (PostgreSQL)
    # or one query before it checks that each is still at its stored version (several server processes write to
    # the same store).
    def load_cached(self, kind: type[A], aggregate_id: UUID, error: type[NotFound], fresh: bool = False) -> A:
        """A read-only copy (shared: never change it), from the cache, or (when not there, or `fresh`) loaded
        from the store and cached."""
        aggregate = None if fresh else self.context_cache.get(aggregate_id)
        if aggregate is None:
            aggregate = self.load(kind, aggregate_id, error)
            aggregate.derive()
            self.context_cache.put(aggregate)
        if not isinstance(aggregate, kind):
            raise error("id", id=aggregate_id)
        return aggregate

    def current(self, aggregates: Sequence[ProgresAggregate], probes: Sequence[UUID] = (),
                check: bool = True) -> set[UUID] | None:
        """In one query: None when one of `aggregates` has moved on in the store since it was read (its copy is
        dropped from the cache: read again and decide again), else those of `probes` that exist in the store.
        With check=False only the probes are looked up."""
        versions = self.stored_versions(([a.id for a in aggregates] if check else []) + list(probes))
        stale = [a for a in aggregates if versions.get(a.id) != a.version] if check else []
        for aggregate in stale:
            self.context_cache.drop(aggregate.id, aggregate.version)
        if stale:
            self.stale_contexts += 1
            return None
        return {probe for probe in probes if probe in versions}

    @property
    def guards_saves(self) -> bool:
        """Whether saves can carry a guard checked under the table lock (PostgreSQL's keyed recorder)."""
        return isinstance(self.recorder, KeyedPostgresRecorder)

    def decide_on_current(self, context: Callable[[bool], Sequence[ProgresAggregate]],
                          decide: Callable[..., tuple[R, Sequence[UUID]]]) -> tuple[R, set[UUID]]:
        """Runs decide(*context(fresh=False)) on cached copies, and makes sure the decision stands on the stored
        state, with the ids decide returns to look up (e.g. a new measure's, to refuse a duplicate before writing):
        - on PostgreSQL, in `execute`, the save is guarded: its INSERT, under the table lock and in the same round
          trip, writes only if each copy is still at its stored version and the looked-up ids do not exist; if
          not, nothing is written and the command runs again, checking by query as below (then the looked-up ids
          are returned as found, when they exist);
        - otherwise one query checks the copies and looks the ids up, before the save.
        A refusal too is only given once the copies are known current. When a copy has moved on, the context is
        read again from the store (context(fresh=True)) and the decision taken again on it, as without a cache
        (read, decide, save; a saved aggregate is protected by its version, the store refusing a stale write; the
        context aggregates are only read). Returns (the decision, the looked-up ids that exist)."""
        aggregates = context(False)
        try:
            result, probes = decide(*aggregates)
        except DomainError:
            if self.current(aggregates) is not None:
                raise
        else:
            guard = _save_guard.get()
            if guard is not None:
                guard.update({a.id: a.version for a in aggregates})
                guard.update(dict.fromkeys(probes, 0))
                return result, set()
            found = self.current(aggregates, probes)
            if found is not None:
                return result, found
        aggregates = context(True)
        result, probes = decide(*aggregates)
        return result, (self.current(aggregates, probes, check=False) or set()) if probes else set()

    def stored_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each of these aggregates (absent: nothing stored); one query on PostgreSQL."""
        if isinstance(self.recorder, PostgresApplicationRecorder):
            return self._postgres_versions(self.recorder, aggregate_ids)
        versions = {}
        for aggregate_id in aggregate_ids:
            last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
            if last:
                versions[aggregate_id] = last[0].originator_version
        return versions

    @staticmethod
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's select_events
    def _postgres_versions(recorder: PostgresApplicationRecorder, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        # One backward index scan (LIMIT 1) on the (originator_id, originator_version) key per id.
        query = sql.SQL("SELECT c.id, (SELECT e.originator_version FROM {}.{} e WHERE e.originator_id = c.id "
                        "ORDER BY e.originator_version DESC LIMIT 1) FROM unnest(%s::uuid[]) AS c(id)").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, [list(aggregate_ids)], prepare=True)
            return {aggregate_id: version for aggregate_id, version in cursor.fetchall() if version is not None}

    # Running commands
    def execute(
        self,
        command: str,
        command_id: str | None,
        action: Callable[[], tuple[UUID | str | None, Sequence[ProgresAggregate]]],
    ) -> CommandResult:
        """Runs action (which loads, decides and returns what to save), retrying on conflicts."""
        if command_id is not None and (not isinstance(command_id, str) or not 0 < len(command_id) <= 128):
            raise InvalidInput("command_id", rule="un identifiant de commande est un texte de 1 à 128 caractères")
        receipt_id = CommandReceipt.create_id(command_id) if command_id else None
        running = _running.get()
        fingerprint = running[1] if running is not None and running[0] == command else None
        attempt = 0
        outage_since: float | None = None
        guarding = self.guards_saves
        while attempt < self.retries:
            attempt += 1
            saving = False
            guard_token = _save_guard.set({} if guarding else None)
            try:
                if receipt_id is not None and self.exists(receipt_id):
                    return self._replay(receipt_id, command, fingerprint)
                result_id, aggregates = action()
                pending = [a for a in aggregates if a.pending_events]
                if receipt_id is not None and command_id is not None:
                    result = str(result_id) if result_id is not None else None
                    pending.append(CommandReceipt(command_id=command_id, command=command, result_id=result,
                                                  organisation_id=acting_organisation.get(), fingerprint=fingerprint))
                saving = True
                guard = _save_guard.get()
                recordings = self.save(*pending, guard=guard) if guard else self.save(*pending)
                # The position of what was written; the head (one more query) only when nothing was written,
                # then reading it again after a lost connection is safe.
                saving = bool(recordings)
                if recordings:
                    self.keep_saved(pending)
                position = max(r.notification.id for r in recordings) if recordings else self.max_notification_id()
            except GuardFailed as failed:
                # A cached copy the decision read had moved on (nothing written): read the context again and check
                # it by query before saving (unguarded from now on: a busy plan cannot refuse it again and again).
                for aggregate_id, version in failed.guard.items():
                    self.context_cache.drop(aggregate_id, version)
                self.stale_contexts += 1
                guarding = False
                continue
            except IntegrityError:
                # Someone wrote the same aggregate meanwhile: back off, reload and decide again. The back-off
                # doubles (4 ms, 8 ms ... at most 128 ms, with full jitter): against a writer in a tight loop on
                # the same plan (an import, a script), a fixed few milliseconds lost all eight attempts.
                self.conflicts_retried += 1
                time.sleep(random.uniform(0, min(CONFLICT_BACKOFF_MAX, CONFLICT_BACKOFF_FIRST * 2 ** attempt)))
                continue
            except (OperationalError, InterfaceError):
                # The database went away (a failover): reading again is always safe; saving again is safe only
                # with a receipt, which returns the first answer if the lost commit had in fact happened.
                outage_since = outage_since if outage_since is not None else time.monotonic()
                if (saving and receipt_id is None) or not self._wait_for_database(outage_since):
                    raise
                attempt -= 1
                continue
            finally:
                _save_guard.reset(guard_token)
            return CommandResult(str(result_id) if result_id is not None else None, position or 0,
                                 attempts=attempt)
        raise ConcurrencyConflict(None, attempts=self.retries)

    def _wait_for_database(self, since: float) -> bool:
        """After a lost connection: False once failover_seconds have passed, else a short pause after which the
        dead connections of the pool are dropped (the pool's check), so that the next attempt connects anew."""
        if time.monotonic() - since >= self.failover_seconds:
            return False
        self.outages_waited += 1
        time.sleep(0.2)
        pool = getattr(getattr(self.recorder, "datastore", None), "pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):  # still down: the next attempt tells
                pool.check()
        return True

    def _replay(self, receipt_id: UUID, command: str, fingerprint: str | None) -> CommandResult:
        receipt = self.repository.get(receipt_id)
        assert isinstance(receipt, CommandReceipt)
        stored = getattr(receipt, "fingerprint", None)
        if receipt.command != command or (stored is not None and stored != fingerprint):
            raise CommandIdReused("command_id")
        position = self.max_notification_id() or 0
        return CommandResult(receipt.result_id, position, replayed=True)

    @staticmethod
    def _postgres_records(recorder: PostgresApplicationRecorder, start: int, stop: int | None,
                          batch: int) -> Iterator[Record]:
        """One server-side cursor streams the log: no page queries, no intermediate objects (ids read as text, which
        is what a fact holds: no UUID made per event)."""
        query = sql.SQL("SELECT notification_id, originator_id::text, originator_version, topic, state FROM {}.{} "
                        "WHERE notification_id >= %s AND notification_id <= %s AND topic IS DISTINCT FROM %s "
                        "ORDER BY notification_id").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name))
        if stop is not None and stop - start < batch:  # a live batch's few events: one query, no cursor to declare
            with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as plain:
                plain.execute(query, [start, stop, PURCHASE_LINE_TOPIC])
                rows = plain.fetchall()
            yield from (record for record in rows if not record[3].endswith(RECEIPT_TOPIC_SUFFIX))
            return
        with recorder.datastore.get_connection() as connection, connection.transaction(), \
                connection.cursor("progres_facts", row_factory=tuple_row) as cursor:
            # A full rebuild reads a few chunks ahead of its fold, which waits when the database is behind with its
            # rows (projections/runner.py, WRITES_AHEAD): the cursor's transaction may then stay idle longer than the
            # store's usual limit (5 s), which would end the session mid-read.
            connection.execute("SET LOCAL idle_in_transaction_session_timeout TO '10min'")
            cursor.itersize = batch
            cursor.execute(query, [start, stop if stop is not None else 2**62, PURCHASE_LINE_TOPIC])
            for record in cursor:
                if not record[3].endswith(RECEIPT_TOPIC_SUFFIX):
                    yield record

    # Reading the log
    def max_notification_id(self) -> int | None:
        return self.recorder.max_notification_id()

    def iter_notifications(self, start: int = 1, stop: int | None = None, batch: int = 1000) -> Iterator[Any]:
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=batch, stop=stop)
            if not notifications:
                return
            yield from notifications
            start = notifications[-1].id + 1

    def facts(self, start: int = 1, stop: int | None = None, batch: int = 1000) -> Iterator[Fact]:
        """The log from position `start` (to `stop`, inclusive) as facts for the projections."""
        for record in self.records(start, stop, batch):
            yield fact_from_record(*record)

    def records(self, start: int = 1, stop: int | None = None, batch: int = 1000) -> Iterator[Record]:
        """The stored events `facts` makes its facts of, undecoded: (position, originator id, version, topic, state).
        A full rebuild decodes the measures' own (most of the log) without making facts of them."""
        if isinstance(self.recorder, PostgresApplicationRecorder):
            yield from self._postgres_records(self.recorder, start, stop, batch)
            return
        for notification in self.iter_notifications(start, stop, batch):
            if notification.topic.endswith(RECEIPT_TOPIC_SUFFIX) or notification.topic == PURCHASE_LINE_TOPIC:
                continue
            yield (notification.id, notification.originator_id, notification.originator_version, notification.topic,
                   notification.state)

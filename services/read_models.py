"""Wiring of the read models: which store, which generation, the runner and the as-of reader."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from progres.domain.errors import DomainError
from progres.projections import registry
from progres.projections.as_of import AsOf
from progres.projections.ledger import Ledger, Route, kind_of
from progres.projections.runner import ALIAS, Progress, ProjectionRunner, next_generation, rebuild
from progres.projections.stores.postgres import PostgresStore
from progres.projections.stores.sql import SqlStore
from progres.projections.stores.sqlite import SqliteStore
from progres.services.applications import ProgresApplication
from progres.services.bootstrap import notify_channel, postgres_connect
from progres.services.settings import Settings

ACTIVE_RECHECK_SECONDS = 1.0
FOLLOWER_FIRST_BACKOFF_SECONDS = 0.5  # a database that just dropped every connection is given a moment
log = logging.getLogger("progres.read_models")


class PositionAhead(DomainError):
    """A client asked to read at a position the log has not reached: refused at once, nothing waits."""

    code = "position_ahead_of_log"
    template = ("la position {position} est au-delà de la fin du journal ({head}) : donnez une position renvoyée "
                "par une commande")


class ReadModelsLagging(DomainError):
    code = "read_models_lagging"
    template = ("les vues n'ont pas atteint la position {position} en {seconds} s : réessayez dans un instant")


def writer_tag(views_schema: str) -> str:
    """What the application name of every projection writer's session of these read models begins with."""
    return f"progres-writer:{hashlib.blake2b(views_schema.encode(), digest_size=4).hexdigest()}:"


def writer_application_name(views_schema: str, process: str | None = None) -> str:
    """The application name of one worker process's read-model sessions: the tag, then the process (pid and a
    digest of the host name), so that a new leader can find the sessions of a deposed one and end them."""
    if process is None:
        host = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
        process = f"{os.getpid()}@{host}"
    return f"{writer_tag(views_schema)}{process}"[:63]


def open_store(settings: Settings, worker: bool = False) -> SqlStore:
    """The read models' store. A projection worker's sessions may neither stay idle inside a transaction nor run
    a statement longer than its lease allows: a leader paused mid-batch would otherwise keep row locks that
    stop the worker taking over (PostgreSQL ends such a session, its transaction rolled back)."""
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteStore(settings.data_dir / "views.sqlite3")
    lease = int(settings.worker_lease_seconds * 1000)
    options = {"idle_in_transaction_session_timeout": str(lease), "statement_timeout": str(3 * lease),
               "application_name": writer_application_name(settings.views_schema)}
    return PostgresStore(settings.postgres_conninfo(), settings.views_schema, options=options if worker else None)


@dataclass
class ReadModels:
    """The read side: views as fresh as asked, their lag, and reconstruction as of any position."""

    app: ProgresApplication
    store: SqlStore
    batch_size: int = 500
    max_batch_size: int = 20000
    _runner: ProjectionRunner | None = None
    _cache: dict[str, tuple[int, Ledger]] = field(default_factory=dict)
    _checked_at: float = 0.0
    _routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    followed: bool = False  # True while a runner follows the log in this process (a server)
    read_wait_seconds: float = 5.0
    follower_up: bool = False  # the follower is connected and projecting (what /ready reports)
    follower_failures: int = 0  # consecutive failures of the follower, reset by a successful pass
    external: bool = False  # workers follow the log (PROGRES_FOLLOWER=external): this process only reads
    # The served state as this process's follower last read it, trusted while no event was notified since (None:
    # unknown, read it from the store). See `served_state`.
    known_state: tuple[str, int, tuple[tuple[str, int], ...]] | None = None

    @classmethod
    def open(cls, app: ProgresApplication, settings: Settings, worker: bool = False) -> ReadModels:
        """`worker`: for a `projections run --follow` process (see open_store)."""
        return cls(app, open_store(settings, worker), settings.projection_batch_size,
                   settings.projection_max_batch_size, read_wait_seconds=settings.read_wait_seconds,
                   external=settings.follower == "external")

    @property
    def runner(self) -> ProjectionRunner:
        """The runner of the generation in use; a rebuild that took over is followed within a second."""
        now = time.monotonic()
        if self._runner is None or now - self._checked_at > ACTIVE_RECHECK_SECONDS:
            active = self.store.active(ALIAS)
            self._checked_at = now
            if self._runner is None or (active is not None and active != self._runner.projection):
                self._runner = ProjectionRunner(self.app, self.store, active or "", batch_size=self.batch_size,
                                                max_batch_size=max(self.batch_size, self.max_batch_size))
        return self._runner

    @property
    def projection(self) -> str:
        return self.runner.projection

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
        result = rebuild(self.app, self.store, name or next_generation(self.projection), progress)
        self._checked_at = 0.0  # follow the new generation at once
        return result

    def reached(self, position: int | None, field: str | None) -> int:
        """The log's head, once `position` is known to be within it (a position beyond it is refused at once:
        nothing could ever satisfy it, and answering the head's state would present it as that position's)."""
        head = self.app.max_notification_id() or 0
        if position is not None and position > head:
            raise PositionAhead(field, position=position, head=head)
        return head

    def fresh(self, min_position: int | None, field: str | None = "minPosition") -> None:
        """Read-your-writes: project up to the position a client saw (the whole log if None).

        A position beyond the log's head is refused at once (nothing could ever satisfy it); otherwise the
        wait is bounded by `read_wait_seconds` and sleeps on the runner's condition instead of spinning."""
        head = self.reached(min_position, field)
        target = min_position if min_position is not None else head
        try:
            if self.external:
                self._await(target)
            else:
                known = self.known_state
                if known is not None and known[1] < target:
                    self.known_state = None  # this thread may project: answers kept at the state before are not served
                self.runner.ensure(target, self.read_wait_seconds)
        except TimeoutError:
            raise ReadModelsLagging(field, position=target, seconds=self.read_wait_seconds) from None

    def _await(self, position: int) -> None:
        """Waits, without projecting, until the workers' stored tracking reaches `position` (polled: the
        workers live in other processes; a few milliseconds at first, at most 50 ms apart)."""
        deadline = time.monotonic() + self.read_wait_seconds
        pause = 0.002
        while self.runner.position < position:
            if time.monotonic() >= deadline:
                raise TimeoutError(position)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def read(self, model: str, key: str, member_id: str = "", min_position: int | None = None) -> dict[str, Any] | None:
        """The document of a read model of the registry, by its name (its table is the registry's business): `key`
        is the plan (the groupement for a read model made per groupement), `member_id` "" unless per member."""
        if min_position is not None or not self.followed:
            self.fresh(min_position)  # a server's runner keeps up by itself: only a client's position is awaited
        found = self.store.view(registry.read_model(model).table, self.projection, key, member_id)
        return found[1] if found else None

    def served_state(self) -> tuple[str, int, tuple[tuple[str, int], ...]] | None:
        """The served state (`stored_served_state`), from memory while this process's follower knows it: on
        PostgreSQL the follower LISTENs to the log's channel, and tracking cannot move before an event is written,
        whose NOTIFY reaches the follower, which then forgets the state until it has projected (or seen another
        worker project) up to the head and read the state again (`_follow`). A rebuild's switch or a version
        upgrade moves no event: the follower reads the state again at each of its idle wakes (0.5 s in a server).
        Without a follower listening (SQLite, external workers, tests driving the views by hand) every call reads
        the store."""
        known = self.known_state
        return known if known is not None and self.followed else self.stored_served_state()

    def stored_served_state(self) -> tuple[str, int, tuple[tuple[str, int], ...]] | None:
        """What every read of the stored views at the head depends on, in one query: the generation serving reads,
        its tracking position and the version of each read model's rows (a version switch replaces rows without
        moving tracking). Two reads that see the same state read the same rows; None unless a follower (or the
        workers) keeps the views, since a read of a process that projects inline first projects what is missing.
        graphql/loaders.py `ResponseCache` keys its answers by it."""
        if not self.followed:
            return None
        projection = self.projection
        with self.store.transaction() as cur:
            cur.execute(self.store.q("SELECT '', position FROM {p}tracking WHERE projection = ? UNION ALL "
                                     "SELECT model, version FROM {p}model_versions WHERE projection = ?"),
                        [projection, projection])
            rows = cur.fetchall()
        position = next((int(r[1]) for r in rows if r[0] == ""), 0)
        return projection, position, tuple(sorted((str(r[0]), int(r[1])) for r in rows if r[0] != ""))

    def member_view(self, plan_id: str, member_id: str, min_position: int | None = None) -> dict[str, Any] | None:
        return self.read("member_view", plan_id, member_id, min_position)

    def plan_dashboard(self, plan_id: str, min_position: int | None = None) -> dict[str, Any] | None:
        return self.read("plan_dashboard", plan_id, "", min_position)

    def plan_balance(self, plan_id: str, min_position: int | None = None) -> dict[str, Any] | None:
        return self.read("plan_balance", plan_id, "", min_position)

    def as_of(self) -> AsOf:
        return AsOf(self.app, self.store, self.projection)

    def read_models(self) -> list[dict[str, Any]]:
        """The read models of the registry (projections/registry.py): name, version declared by the code and
        version of the rows in the store (None: not recorded yet), the version being built beside them with its
        progress (groupements done of total), table, events consumed."""
        self.store.ensure_tables()
        stored = self.store.model_versions(self.projection)
        listed = []
        for m in registry.REGISTRY:
            recorded = stored.get(m.name)
            listed.append({
                "name": m.name, "version": m.version, "stored_version": recorded.version if recorded else None,
                "building": recorded.building if recorded else None,
                "done": recorded.done if recorded and recorded.building else 0,
                "total": recorded.total if recorded and recorded.building else 0,
                "table": m.table, "events": sorted(kind_of(e) for e in m.events)})
        return listed

    def status(self) -> dict[str, Any]:
        head = self.app.max_notification_id() or 0
        position = self.runner.position
        return {"projection": self.projection, "position": position, "head": head, "lag": head - position}

    def follow(self, settings: Settings, stop: Callable[[], bool], idle: float = 1.0) -> None:
        """Keeps the views up to date until `stop()`: woken by NOTIFY on PostgreSQL, polling on SQLite.

        Supervised: a lost connection (database restarted, backends terminated) is logged and retried with
        exponential backoff and jitter; `follower_up` says meanwhile that the views may be stale."""
        self.followed = True
        self.known_state = None
        while not stop():
            try:
                self._follow(settings, stop, idle)
            except Exception as error:
                self.known_state = None
                self.follower_up = False
                self.follower_failures += 1
                self.purge_connections()
                pause = min(settings.follower_max_backoff_seconds,
                            FOLLOWER_FIRST_BACKOFF_SECONDS * 2 ** (self.follower_failures - 1))
                pause *= random.uniform(0.5, 1.0)  # jitter: workers do not reconnect in step
                log.warning("projection follower failed (%s: %s); retry %d in %.2f s", type(error).__name__,
                            str(error).strip()[:200], self.follower_failures, pause)
                deadline = time.monotonic() + pause
                while not stop() and time.monotonic() < deadline:
                    time.sleep(min(0.05, pause))
        self.known_state = None
        self.follower_up = False

    def purge_connections(self) -> None:
        """Discards every broken idle connection of both pools at once. Left to the pools' own checks, each
        dead connection would be found by a request, which then sleeps the pool's backoff (1 s, 2 s, ...)."""
        datastore = getattr(getattr(self.app, "recorder", None), "datastore", None)
        for pool in (getattr(self.store, "pool", None), getattr(datastore, "pool", None)):
            if pool is not None and hasattr(pool, "check"):
                try:
                    pool.check()
                except Exception as error:  # the database may still be down: the next pass tries again
                    log.warning("could not check connections (%s)", type(error).__name__)

    def _passed(self) -> None:
        """One successful pass of the follower: it is up (again)."""
        if not self.follower_up:
            if self.follower_failures:
                log.warning("projection follower recovered after %d failed attempts", self.follower_failures)
            self.follower_up = True
        self.follower_failures = 0

    def _follow(self, settings: Settings, stop: Callable[[], bool], idle: float) -> None:
        if settings.store != "postgres":
            while not stop():
                advanced = self.runner.run_batch()
                self._passed()
                if advanced == 0 and not self.runner.upgrading:
                    time.sleep(idle)
            return
        with postgres_connect(settings, autocommit=True) as connection:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(settings))))
            while not stop():
                # The runner is looked up each pass: a rebuild that took over is followed.
                advanced = self.runner.run_batch()
                self._passed()
                if advanced == 0 and not self.runner.upgrading:
                    # At the head: the state read again (at each idle wake too, for a switch that moves no event)
                    # and kept, unless an event was written meanwhile: then project it (or see it projected) first.
                    state = self.stored_served_state()
                    if any(True for _ in connection.notifies(timeout=0)):
                        self.known_state = None
                        continue
                    self.known_state = state
                    for _ in connection.notifies(timeout=idle, stop_after=1):
                        self.known_state = None  # an event was written: tracking may move from now on
                else:
                    self.known_state = None  # projecting or upgrading: read again once at the head

    def ledgers(self, groupement_ids: list[str] | None = None) -> dict[str, Ledger]:
        """Ledgers as the read side holds them, from a process cache refreshed by position (one query to
        check, one to load what changed)."""
        positions = self.store.ledger_positions(self.projection, groupement_ids)
        stale = [g for g, position in positions.items() if self._cache.get(g, (-1, None))[0] != position]
        if stale:
            known = {g: self._cache[g][1] for g in stale if g in self._cache}  # only what changed since is read
            for g, ledger in self.store.load_ledger_states(self.projection, stale, known).items():
                self._cache[g] = (ledger["position"], ledger)
            # No gc.freeze() here: called after every write, it moved each request's cyclic garbage of the moment
            # into the permanent generation, never collected (150 MB per 1000 events; docs/performance.md).
        return {g: self._cache[g][1] for g in positions if g in self._cache}

    def parties(self, groupement_id: str) -> dict[str, Any] | None:
        found = self.store.view(registry.read_model("groupement_parties").table, self.projection, groupement_id, "")
        return found[1] if found else None

    def all_parties(self) -> list[dict[str, Any]]:
        return self.store.documents(registry.read_model("groupement_parties").table, self.projection)

    def route(self, aggregate_id: str) -> Route | None:
        """Routes never change once written: they are cached for the life of the process."""
        key = (self.projection, aggregate_id)
        if key not in self._routes:
            route = self.store.route(self.projection, aggregate_id)
            if route is None:
                return None
            self._routes[key] = route
        return self._routes[key]

    def close(self) -> None:
        self.store.close()

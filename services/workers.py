"""Projection workers: `progres projections run --follow` processes, as many as wanted, one leader per projection.

The leader is elected through a PostgreSQL session-level advisory lock taken with `pg_try_advisory_lock` on a
connection of its own (never a pooled one: the lock lives exactly as long as that session). The others stand by
and try again every `worker_retry_seconds`; when the leader dies its session ends, the lock is released and one
of them takes over. A leader writes each batch under a fence (the batch's transaction checks that its lock
session still holds the lock, and moves tracking only from the position it started from), so that a leader that
lost its session, or was paused while another took over, can never write. See docs/operations-workers.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from progres.projections.runner import ProjectionRunner
from progres.projections.stores.sql import Fence, LeadershipLost
from progres.services.bootstrap import notify_channel, postgres_connect
from progres.services.read_models import FOLLOWER_FIRST_BACKOFF_SECONDS, ReadModels, writer_application_name, writer_tag
from progres.services.settings import Settings

APPLICATION_PREFIX = "progres-worker"
log = logging.getLogger("progres.workers")


def lock_key(schema: str, projection: str, role: str = "leader") -> int:
    """A stable signed 64-bit key for the projection's lock (`leader`) or its workers' roll call (`member`).

    The read models' schema is part of it: two deployments (or test schemas) in one database never collide."""
    digest = hashlib.blake2b(f"{role}:{schema}.{projection}".encode(), digest_size=8, person=b"progres-lease")
    return int.from_bytes(digest.digest(), "big", signed=True)


def lock_halves(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint advisory key: high half as classid, low half as objid (objsubid 1)."""
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Lease:
    """One worker's claim on one projection, on a dedicated connection.

    Every worker holds the projection's `member` key in shared mode (the roll call `progres projections status`
    reads); the leader also holds its `leader` key, exclusively. Once leader, the session is given an
    `idle_session_timeout` of `worker_lease_seconds` and a heartbeat speaks on it every third of that: a leader
    that stops (paused, cut off) loses its session, hence its lock, and a standby takes over."""

    settings: Settings
    projection: str
    name: str = field(default_factory=worker_name)
    connection: psycopg.Connection[Any] | None = None
    pid: int = 0
    lost: threading.Event = field(default_factory=threading.Event)
    _beat: threading.Thread | None = None
    _stop_beat: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> int:
        return lock_key(self.settings.views_schema, self.projection)

    @property
    def fence(self) -> Fence:
        return Fence(self.key, self.pid)

    def try_acquire(self) -> bool:
        if self.connection is None:
            self.connection = postgres_connect(
                self.settings, autocommit=True, application_name=f"{APPLICATION_PREFIX} {self.name}"[:63],
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                # the server's side too: a vanished machine's session (and locks) ends within ~10 s
                options="-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=2")
            self.pid = self.connection.info.backend_pid
            self.connection.execute("SELECT pg_advisory_lock_shared(%s)",
                                    [lock_key(self.settings.views_schema, self.projection, "member")])
        row = self.connection.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()
        if not (row and row[0]):
            return False
        timeout = int(self.settings.worker_lease_seconds * 1000)
        self.connection.execute(sql.SQL("SET idle_session_timeout = {}").format(sql.Literal(timeout)))
        self.lost.clear()
        self._stop_beat.clear()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="progres-lease")
        self._beat.start()
        return True

    def depose(self) -> int:
        """Ends the read-model sessions of any other worker of these read models that are inside a transaction:
        a deposed leader paused in the middle of a batch (SIGSTOP, a frozen machine) may hold the tracking row,
        and while it sends a COPY no server timeout ends it; the new leader, holding the lock, ends them itself.
        Their transactions roll back; resumed, the deposed leader finds its session gone and stands by."""
        assert self.connection is not None
        rows = self.connection.execute(
            "SELECT pid, application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND starts_with(application_name, %s) AND application_name <> %s",
            [writer_tag(self.settings.views_schema), writer_application_name(self.settings.views_schema)]).fetchall()
        for pid, name, _ in rows:
            log.warning("projection %s: session %d of a deposed writer (%s) ended by the new leader",
                        self.projection, pid, name)
        return len(rows)

    def held(self) -> bool:
        """Asks the lock session itself whether it still holds the lock; False if the session is gone."""
        if self.connection is None or self.connection.closed:
            return False
        high, low = lock_halves(self.key)
        try:
            row = self.connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::bigint::oid "
                "AND objid = %s::bigint::oid AND objsubid = 1 AND pid = pg_backend_pid() AND granted",
                [high, low]).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def _heartbeat(self) -> None:
        interval = self.settings.worker_lease_seconds / 3
        while not self._stop_beat.wait(interval):
            if not self.held():
                log.error("projection %s: lock session %d lost; this worker stops writing at once",
                          self.projection, self.pid)
                self.lost.set()
                return

    def close(self) -> None:
        """Releases the locks by ending the session (what a dead worker's session does too)."""
        self._stop_beat.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None


def workers_of(settings: Settings, projection: str) -> dict[str, Any]:
    """Who leads a projection and who stands by, from the locks their sessions hold (host:pid of each)."""
    high, low = lock_halves(lock_key(settings.views_schema, projection))
    member_high, member_low = lock_halves(lock_key(settings.views_schema, projection, "member"))
    query = ("SELECT a.application_name, a.backend_start, l.classid::bigint, l.objid::bigint "
             "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
             "AND l.objsubid = 1 AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = "
             "current_database()) AND ((l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid) "
             "OR (l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid)) ORDER BY a.backend_start")
    with postgres_connect(settings, autocommit=True) as connection:
        rows = connection.execute(query, [high, low, member_high, member_low]).fetchall()
    leaders = [(name, since) for name, since, classid, objid in rows if (classid, objid) == (high, low)]
    names = {name for name, _, _, _ in rows}
    leader = leaders[0] if leaders else None
    return {
        "leader": leader[0].removeprefix(APPLICATION_PREFIX).strip() if leader else None,
        "leader_since": leader[1].isoformat(timespec="seconds") if leader else None,
        "standby": sorted(n.removeprefix(APPLICATION_PREFIX).strip() for n in names if not leader or n != leader[0]),
    }


@dataclass
class ProjectionWorker:
    """Follows the log for the projection in use, as its leader or standing by to become it."""

    models: ReadModels
    settings: Settings
    name: str = field(default_factory=worker_name)
    idle: float = 0.5
    report_every: float = 30.0  # seconds between two progress lines of a leader
    failures: int = 0

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set (SIGTERM): a lost database or lock is logged, and retried with backoff and jitter."""
        log.info("worker %s started (%s, read models in schema %s)", self.name, self.settings.describe_store(),
                 self.settings.views_schema)
        while not stop.is_set():
            try:
                self._elect_and_lead(stop)
            except Exception as error:
                self.failures += 1
                self.models.purge_connections()
                pause = min(self.settings.follower_max_backoff_seconds,
                            FOLLOWER_FIRST_BACKOFF_SECONDS * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)
                log.warning("worker %s failed (%s: %s); retry %d in %.2f s", self.name, type(error).__name__,
                            str(error).strip()[:200], self.failures, pause)
                stop.wait(pause)
        log.info("worker %s stopped", self.name)

    def _elect_and_lead(self, stop: threading.Event) -> None:
        projection = self.models.projection
        lease = Lease(self.settings, projection, self.name)
        # Connected beforehand, so that a takeover does not wait for a connection; it LISTENs only once leader
        # (notifications a standby never read would hold back the server's notification queue).
        listener = postgres_connect(self.settings, autocommit=True)
        try:
            self._warm_up()  # before competing: a worker stands by (and shows in the roll call) once warm
            standing = False
            while not stop.is_set():
                if lease.try_acquire():
                    self.failures = 0
                    self._lead(lease, listener, stop)
                    return
                self.failures = 0
                if not standing:
                    leader = workers_of(self.settings, projection)["leader"]
                    log.info("worker %s stands by for %s (leader: %s)", self.name, projection, leader or "?")
                    standing = True
                # Bounded retry, with jitter so that standbys do not all knock at the same instant.
                stop.wait(self.settings.worker_retry_seconds * random.uniform(0.5, 1.0))
                if self.models.projection != projection:
                    return  # a rebuild took over: compete for the new generation
        finally:
            lease.close()
            listener.close()

    def _warm_up(self) -> None:
        """Once per election: load the reducer state and open the pools' connections now, so that a takeover
        finds the process warm (the objects loaded are frozen out of the cyclic collector's way, see
        ProjectionRunner.state); the state is reloaded at takeover only if the leader moved on meanwhile."""
        runner = self.models.runner
        runner.lag()
        runner.state()

    def _lead(self, lease: Lease, listener: psycopg.Connection[Any], stop: threading.Event) -> None:
        runner: ProjectionRunner = self.models.runner
        runner.fence = lease.fence
        lease.depose()
        log.info("worker %s leads %s from position %d (lock session %d)", self.name, runner.projection,
                 runner.position, lease.pid)
        reported, advanced_since, first = time.monotonic(), 0, True
        try:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(self.settings))))
            while not stop.is_set():
                if lease.lost.is_set():
                    raise LeadershipLost(f"lock session {lease.pid} lost")
                if self.models.runner is not runner:
                    log.info("worker %s leaves %s: %s now serves reads", self.name, runner.projection,
                             self.models.projection)
                    return
                advanced = runner.run_batch()
                advanced_since += advanced
                if first:  # what a takeover costs beyond the election: loading the state, the first batch
                    log.info("worker %s: state of %s loaded and first batch (%d events) in %.3f s", self.name,
                             runner.projection, advanced, time.monotonic() - reported)
                    first = False
                if time.monotonic() - reported >= self.report_every:
                    log.info("worker %s leads %s: position %d, lag %d, %d events in %.0f s", self.name,
                             runner.projection, runner.position, runner.lag(), advanced_since,
                             time.monotonic() - reported)
                    reported, advanced_since = time.monotonic(), 0
                if advanced == 0 and not runner.upgrading:  # a read model's new version is built step by step
                    for _ in listener.notifies(timeout=self.idle, stop_after=1):
                        pass
        except LeadershipLost as lost:
            log.error("worker %s lost the lead of %s (%s): stops writing and stands by", self.name,
                      runner.projection, lost)
        finally:
            runner.fence = None
        log.info("worker %s hands over %s at position %d", self.name, runner.projection, runner.position)

"""A takeover drill (end-to-end test, bench/takeover.py): projection worker processes on PostgreSQL under a
steady write load, whose leader is SIGKILLed again and again; measures how long each takeover takes."""

from __future__ import annotations

import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

from progres.domain.values import Period
from progres.projections.stores.sql import SqlStore
from progres.services.commands import Progres
from progres.services.settings import Settings
from progres.services.workers import workers_of
from progres.services.workload import setup_region


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
            "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_DATA_DIR": str(settings.data_dir),
            "PROGRES_POSTGRES_HOST": settings.postgres_host, "PROGRES_POSTGRES_PORT": str(settings.postgres_port),
            "PROGRES_POSTGRES_DBNAME": settings.postgres_dbname, **extra}


@dataclass
class Workers:
    """`progres projections run --follow` processes, each logging to a file of its own."""

    env: dict[str, str]
    log_dir: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[int, Path] = field(default_factory=dict)
    _files: list[IO[bytes]] = field(default_factory=list)

    def start(self) -> int:
        path = self.log_dir / f"worker-{len(self.logs)}.log"
        log = path.open("wb")
        self._files.append(log)
        process = subprocess.Popen([sys.executable, "-m", "progres.services.cli", "projections", "run", "--follow"],
                                   env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[process.pid] = process
        self.logs[process.pid] = path
        return process.pid

    def alive(self) -> list[int]:
        return [pid for pid, process in self.processes.items() if process.poll() is None]

    def kill(self, pid: int) -> None:
        self.processes[pid].send_signal(signal.SIGKILL)
        self.processes[pid].wait()

    def terminate_all(self, timeout: float = 20.0) -> dict[int, int | None]:
        """SIGTERM to every live worker; their exit codes (None: still running after `timeout`, then killed)."""
        codes: dict[int, int | None] = {}
        for pid in self.alive():
            self.processes[pid].send_signal(signal.SIGTERM)
        for pid in list(self.processes):
            process = self.processes[pid]
            try:
                codes[pid] = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes[pid] = None
        for log in self._files:
            log.close()
        return codes


def leader_pid(settings: Settings, projection: str) -> int | None:
    leader = workers_of(settings, projection)["leader"]
    return int(leader.rpartition(":")[2]) if leader else None


@dataclass
class WriteLoad:
    """Clients writing steadily through the application (one thread each): measures, month after month, and
    purchase volumes. Keeps the positions acknowledged to each client."""

    app: Progres
    clients: int = 3
    pause: float = 0.02
    acknowledged: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def prepare(self) -> None:
        self.region, self.lycees, self.plan = setup_region(self.app, members=3 * self.clients, indicators=4,
                                                           months=48, code="GC-DRILL")

    def _client(self, index: int) -> None:
        mine = self.lycees[index::self.clients]
        slots = ((lycee, key, month) for month in range(48) for key in range(4) for lycee in mine)
        try:
            for n, (lycee, key, month) in enumerate(slots):
                if self.stop.is_set():
                    return
                if n % 3 == 2:
                    result = self.app.declare_purchase_volume(self.plan, lycee, 40000 + n)
                else:
                    period = Period.month(2022 + month // 12, month % 12 + 1)
                    result = self.app.record_measure(self.plan, f"ind_{key}", lycee, period.start, period.end,
                                                     "factures", lycee, date(2026, 1, 1), value=90 + n % 17)
                self.acknowledged.append(result.position)
                time.sleep(self.pause)
        except BaseException as error:  # reported to the caller, who asserts there is none
            self.errors.append(error)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


@dataclass
class Takeover:
    killed: int
    position_at_kill: int
    seconds: float  # from the SIGKILL to the first tracking advance by another worker
    released: float = 0.0  # from the SIGKILL to the victim's lock released (its session ended)
    elected: float = 0.0  # from the SIGKILL to another worker holding the lock


@dataclass
class Drill:
    settings: Settings
    store: SqlStore
    projection: str
    workers: Workers
    takeovers: list[Takeover] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # tracking as sampled after each kill: never goes back

    def wait_for_leader(self, timeout: float = 30.0, other_than: int | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = leader_pid(self.settings, self.projection)
            if pid is not None and pid != other_than:
                return pid
            time.sleep(0.02)
        raise TimeoutError("no projection worker became leader")

    def wait_registered(self, standbys: int | None = None, timeout: float = 60.0) -> None:
        """Until every live worker holds its place in the roll call (started, connected, signals handled), or
        at least `standbys` of them stand by."""
        deadline = time.monotonic() + timeout
        while True:
            seen = workers_of(self.settings, self.projection)
            pids = {int(name.rpartition(":")[2]) for name in [seen["leader"] or "", *seen["standby"]] if name}
            if set(self.workers.alive()) <= pids if standbys is None else len(seen["standby"]) >= standbys:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers {set(self.workers.alive()) - pids} never registered")
            time.sleep(0.05)

    def kill_leader(self, timeout: float = 30.0) -> Takeover:
        """SIGKILLs the leader; returns once another worker has advanced the tracking past where it stood."""
        victim = self.wait_for_leader(timeout)
        killed_at = time.monotonic()
        self.workers.kill(victim)
        # The victim's session may still be committing what it sent before dying: wait until it is gone (its
        # lock is released), then note the position that the next leader must advance.
        deadline = killed_at + timeout
        while (leader := leader_pid(self.settings, self.projection)) == victim and time.monotonic() < deadline:
            time.sleep(0.005)
        released = time.monotonic() - killed_at
        position = self.store.position(self.projection)
        self.positions.append(position)
        elected = released if leader is not None else 0.0
        while self.store.position(self.projection) <= position:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no worker advanced the tracking past {position} after killing {victim}")
            if not elected and leader_pid(self.settings, self.projection) is not None:
                elected = time.monotonic() - killed_at
            time.sleep(0.005)
        takeover = Takeover(victim, position, time.monotonic() - killed_at, released, elected)
        self.takeovers.append(takeover)
        return takeover

    def run(self, kills: int, between: tuple[float, float] = (0.2, 1.5)) -> list[Takeover]:
        """`kills` times: wait a random moment, SIGKILL the leader, measure the takeover, start a replacement.
        A kill waits until a standby at least is ready (a kill while the only standby is still starting would
        measure a process start, not a takeover)."""
        keep = len(self.workers.alive())
        for _ in range(kills):
            time.sleep(random.uniform(*between))
            self.wait_registered(standbys=1)
            self.kill_leader()
            while len(self.workers.alive()) < keep:
                self.workers.start()
        return self.takeovers

    def advance_gaps(self, seconds: float) -> list[float]:
        """The baseline: seconds between two tracking advances of a leader nobody kills, under the same load."""
        changes, last, deadline = [], self.store.position(self.projection), time.monotonic() + seconds
        while time.monotonic() < deadline:
            position = self.store.position(self.projection)
            if position != last:
                changes.append(time.monotonic())
                last = position
            time.sleep(0.005)
        return [b - a for a, b in itertools.pairwise(changes)]

    def figures(self) -> dict[str, float]:
        seconds = [t.seconds for t in self.takeovers]
        return {"median": statistics.median(seconds), "max": max(seconds), "min": min(seconds)}


@contextmanager
def worker_pool(settings: Settings, count: int, log_dir: Path, **env: str) -> Iterator[Workers]:
    workers = Workers(worker_env(settings, **env), log_dir)
    try:
        for _ in range(count):
            workers.start()
        yield workers
    finally:
        workers.terminate_all()

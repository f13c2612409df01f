"""Must-show 1 of issue 18: under a steady write load of four clients, the Patroni primary's PostgreSQL is killed
(SIGKILL of its postmaster); Patroni promotes the synchronous standby; the same `progres serve` process, never
restarted, accepts writes again within a bound measured here; every command acknowledged to a client is in the
log exactly once (client-side ledgers against the plans), and `progres audit verify` passes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.read_models import ReadModels
from progres.services.serving import served
from progres.services.settings import Settings

from .conftest import Server
from .ha_cluster import API_PORT, RESTORED_PORT, ROOT, Cluster, ha_cluster, ha_schemas  # noqa: F401 - fixtures
from .tenants import tenant

pytestmark = [pytest.mark.postgres, pytest.mark.ha]
CLIENTS = 4
BOUND_SECONDS = 15.0
COMMIT = ("mutation($p: ID!, $d: String!, $c: String!) { commitResource(planId: $p, party: \"acheteur\", "
          "description: $d, amount: \"1\", commandId: $c) { ok replayed error { code } } }")


@dataclass
class Client:
    """Sends commitResource commands, each with its command id, retrying a command until it is acknowledged
    (a retry with the same id is safe: the receipt answers it); keeps the ledger of acknowledged ones."""

    server: Server
    number: int
    plan: str
    actor: tuple[str, str]
    acknowledged: list[tuple[float, str]] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        sequence = 0
        with httpx.Client(timeout=60) as http:
            while not self.stop.is_set():
                sequence += 1
                command_id = f"client-{self.number}-{sequence}"
                while not self.stop.is_set():
                    try:
                        response = http.post(f"{self.server.url}/graphql", headers=self.server.headers(self.actor),
                                             json={"query": COMMIT, "variables": {
                                                 "p": self.plan, "d": command_id, "c": command_id}})
                        answer = response.json()
                        if answer.get("data") and answer["data"]["commitResource"]["ok"]:
                            self.acknowledged.append((time.monotonic(), command_id))
                            break
                        self.failures.append((time.monotonic(), str(answer)[:300]))
                    except (httpx.HTTPError, ValueError) as error:
                        self.failures.append((time.monotonic(), repr(error)))
                    time.sleep(0.1)
                time.sleep(0.02)


def test_writes_resume_after_the_primary_is_killed_and_nothing_acknowledged_is_lost(
        ha_cluster: Cluster, ha_schemas: Settings) -> None:  # noqa: F811 - the fixtures imported above
    settings = ha_schemas
    env = {**os.environ, **ha_cluster.env, "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(settings.data_dir)}
    log_path = settings.data_dir / "server.log"
    with log_path.open("w") as log, served(env, port=API_PORT, log=log) as url:
        server = Server(url, settings)
        app = bootstrap(settings)
        group = tenant(app, 7)
        # All on one plan: the clients also meet each other (conflicts retried), as buyers of one groupement do.
        clients = [Client(server, n, group.plan, group.coordinator) for n in range(CLIENTS)]
        threads = [threading.Thread(target=c.run) for c in clients]
        for thread in threads:
            thread.start()
        server_pid = served_pid(API_PORT)
        try:
            time.sleep(3)
            old_leader = ha_cluster.leader()
            killed_at = time.monotonic()
            os.kill(ha_cluster.postmaster_pid(old_leader), signal.SIGKILL)
            # Load until the standby is promoted and every client has written on it for a while.
            promoted_at = None
            deadline = killed_at + 40
            while time.monotonic() < deadline:
                if promoted_at is None and ha_cluster.is_primary(1 - old_leader):
                    promoted_at = time.monotonic()
                after = [t for c in clients for t, _ in c.acknowledged if promoted_at and t > promoted_at]
                if len(after) >= 2 * CLIENTS and time.monotonic() - min(after) > 2:
                    break
                time.sleep(0.1)
        finally:
            for client in clients:
                client.stop.set()
            for thread in threads:
                thread.join(timeout=90)
        new_leader = ha_cluster.leader()
        assert new_leader != old_leader, "Patroni did not promote the standby"
        assert served_pid(API_PORT) == server_pid, "the API server was restarted"

        # Unavailability: the longest pause between two acknowledgements (any client) from 1 s before the kill
        # (a command in flight at the kill may be acknowledged just after it: only the pause tells).
        assert promoted_at is not None, "Patroni did not promote the standby"
        times = sorted(t for c in clients for t, _ in c.acknowledged)
        window = [t for t in times if t >= killed_at - 1]
        gaps = [(b - a, b) for a, b in itertools.pairwise(window)]
        assert gaps, [c.failures[-3:] for c in clients]
        gap, resumed = max(gaps)
        on_new_primary = [t for t in times if t > promoted_at]
        print(f"failover: promotion {promoted_at - killed_at:.2f} s after the kill, longest pause of writes "
              f"{gap:.2f} s (ending {resumed - killed_at:.2f} s after the kill), {len(times)} commands acknowledged "
              f"({len(on_new_primary)} after the promotion), {sum(len(c.failures) for c in clients)} failed attempts "
              f"{[f for c in clients for _, f in c.failures][:3]}")
        assert gap < BOUND_SECONDS, f"writes stopped for {gap:.1f} s"
        assert len(on_new_primary) >= 2 * CLIENTS

        # Every acknowledged command is in the log, exactly once; nothing appears twice.
        app.close()
        app = bootstrap(settings)
        written = Counter(str(r["description"]) for r in resources(app, group.plan))
        doubled = [c for c, n in written.items() if n > 1]
        assert not doubled, f"written twice: {doubled}"
        for client in clients:
            ledger = [command_id for _, command_id in client.acknowledged]
            assert len(set(ledger)) == len(ledger)
            missing = [c for c in ledger if written[c] == 0]
            assert not missing, f"acknowledged but not in the log: {missing}"
            unanswered = {c for c in written if c.startswith(f"client-{client.number}-")} - set(ledger)
            assert unanswered <= {f"client-{client.number}-{len(ledger) + 1}"}  # at most the last, cut short
        head = app.max_notification_id()
        app.close()
        # The server's read models followed through the failover: a read at the head shows every write.
        read, after = [], None
        while True:  # every committed resource, page by page
            page = server.post("query($p: ID!, $n: Int, $a: String) { plan(id: $p, minPosition: $n) { "
                               "committedResources(first: 500, after: $a) { edges { node { description } } "
                               "pageInfo { hasNextPage endCursor } } } }",
                               {"p": group.plan, "n": head, "a": after}, actor=group.coordinator)
            assert "errors" not in page, page
            resources_page = page["data"]["plan"]["committedResources"]
            read += [edge["node"] for edge in resources_page["edges"]]
            if not resources_page["pageInfo"]["hasNextPage"]:
                break
            after = resources_page["pageInfo"]["endCursor"]
        assert Counter(str(r["description"]) for r in read) == written
        verified = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "verify"], env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr


def resources(app: object, plan_id: str) -> list[dict[str, object]]:
    plan = app.plan(plan_id)  # type: ignore[attr-defined]
    return [r if isinstance(r, dict) else vars(r) for r in plan.resources]


def served_pid(port: int) -> int:
    """The pid of the process listening on the API port (the `progres serve` started by the test)."""
    found = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(found.split("pid=")[1].split(",")[0])


def progres(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "progres.services.cli", *args], env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_point_in_time_restore_verifies_and_rebuilds_the_balance_of_that_position(
        ha_cluster: Cluster, ha_schemas: Settings) -> None:  # noqa: F811 - the fixtures imported above
    """Must-show 3: full backup, more writes, a point-in-time restore (pgBackRest, to the WAL position reached at
    log position P) into a new instance; its log ends at P, verifies against the head signed at P (and not
    against a head signed later: a restore is a rollback auditors can see), and the read models rebuilt there
    give the balance the as-of reader gave for P before the restore."""
    settings = ha_schemas
    env = {**os.environ, **ha_cluster.env, "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_DATA_DIR": str(settings.data_dir),
           # The restored log is reached at another address: its heads name it, not the address.
           "PROGRES_AUDIT_LOG_NAME": f"progres-ha-{settings.postgres_schema}"}
    assert progres(env, "init").returncode == 0
    app = bootstrap(settings)
    group = tenant(app, 8)
    for amount in ("1000", "2000"):
        app.declare_purchase_volume(group.plan, group.lycee, amount)
    ha_cluster.pgbackrest("backup", "--type=full")

    for amount in ("3000", "4000"):  # after the backup: only the archived WAL brings them back
        app.declare_purchase_volume(group.plan, group.lycee, amount)
    position = app.max_notification_id()
    head_at_position = settings.data_dir / "head-at-position.json"
    assert progres(env, "audit", "checkpoint", "--output", str(head_at_position)).returncode == 0
    models = ReadModels.open(app, settings)
    models.fresh(position)  # the as-of reader starts from the read models' routes
    expected = models.as_of().plan_balance(group.plan, position)
    with postgres_connect(settings) as connection:
        lsn = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]  # type: ignore[index]

    for amount in ("5000", "6000"):  # after the target: the restore leaves them out
        app.declare_purchase_volume(group.plan, group.lycee, amount)
    later = app.max_notification_id()
    assert position is not None
    assert later is not None
    assert later > position
    head_later = settings.data_dir / "head-later.json"
    assert progres(env, "audit", "checkpoint", "--output", str(head_later)).returncode == 0
    models.fresh(later)
    assert models.as_of().plan_balance(group.plan, later) != expected
    models.close()
    app.close()
    ha_cluster.pgbackrest("check")  # switches to a new WAL segment and waits for it to be archived

    target = ha_cluster.directory / "restored"
    script = str(ROOT / "deploy" / "ha" / "restore.sh")
    started = subprocess.run(["bash", script, "start", str(ha_cluster.directory), str(target), str(RESTORED_PORT),
                              "--type=lsn", f"--target={lsn}"], capture_output=True, text=True, timeout=300,
                             check=False)
    try:
        assert started.returncode == 0, started.stdout + started.stderr + read(target / "server.log")
        restored = settings.model_copy(update={"postgres_host": "127.0.0.1", "postgres_port": str(RESTORED_PORT),
                                               "postgres_target_session_attrs": "read-write"})
        restored_env = {**env, "PROGRES_POSTGRES_HOST": "127.0.0.1", "PROGRES_POSTGRES_PORT": str(RESTORED_PORT)}
        app = bootstrap(restored)
        assert app.max_notification_id() == position
        app.close()
        verified = progres(restored_env, "audit", "verify", "--no-witness", "--head", str(head_at_position))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        rolled_back = progres(restored_env, "audit", "verify", "--no-witness", "--head", str(head_later))
        assert rolled_back.returncode == 1, rolled_back.stdout + rolled_back.stderr
        said = rolled_back.stdout + rolled_back.stderr
        assert ": truncated (tronqué)" in said, said  # the events after P are missing
        assert f"le journal s'arrête à la position {position} " in said, said
        rebuilt = progres(restored_env, "projections", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        app = bootstrap(restored)
        models = ReadModels.open(app, restored)
        assert models.plan_balance(group.plan) == expected
        models.close()
        app.close()
    finally:
        subprocess.run(["bash", script, "stop", str(target)], capture_output=True, timeout=120, check=False)


def read(path: Path) -> str:
    return path.read_text()[-3000:] if path.exists() else ""

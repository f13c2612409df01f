"""Benchmark of a failover under write load (issue 18): a Patroni cluster (deploy/ha/cluster.sh), one `progres serve`
on it with the libpq multi-host settings, four clients sending commitResource commands with command ids (each
retried with its id until acknowledged). Each repeat SIGKILLs the primary's postmaster, then waits for writes to
resume and for the old primary to be back as the synchronous standby before the next.

Prints JSON lines (seconds, medians of the repeats):
- `promotion`: from the kill until the other node answers Patroni's /primary;
- `write_gap_failover`: the longest pause between two acknowledgements (any client) across the kill;
- `write_gap_steady` (the baseline, same run): the longest pause between two acknowledgements over a window of
  the same length just before the kill; the failover figure is also given as a ratio to it;
- `rejoin`: from the kill until the old primary is the synchronous standby again.
Run: .venv/bin/python bench/failover.py [--repeats 5 --base-port 25000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.identity import LocalIssuer
from progres.services.serving import served
from progres.services.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMMIT = ("mutation($p: ID!, $d: String!, $c: String!) { commitResource(planId: $p, party: \"acheteur\", "
          "description: $d, amount: \"1\", commandId: $c) { ok } }")


class Clients:
    def __init__(self, url: str, headers: dict[str, str], plan: str, count: int) -> None:
        self.url, self.headers, self.plan = url, headers, plan
        self.acknowledged: list[float] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(count)]

    def run(self, number: int) -> None:
        sequence = 0
        with httpx.Client(timeout=60) as http:
            while not self.stop.is_set():
                sequence += 1
                command_id = f"bench-{number}-{sequence}-{time.time_ns()}"
                while not self.stop.is_set():
                    try:
                        answer = http.post(f"{self.url}/graphql", headers=self.headers, json={
                            "query": COMMIT, "variables": {"p": self.plan, "d": command_id, "c": command_id}}).json()
                        if answer.get("data") and answer["data"]["commitResource"]["ok"]:
                            self.acknowledged.append(time.monotonic())
                            break
                    except (httpx.HTTPError, ValueError):
                        pass
                    time.sleep(0.1)

    def longest_gap(self, start: float, end: float) -> float:
        times = sorted(t for t in list(self.acknowledged) if start <= t <= end)
        return max((b - a for a, b in zip([start, *times], [*times, end], strict=True)), default=end - start)


def rest(base: int, node: int, path: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{base + 20 + node}/{path}", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait(condition: object, timeout: float) -> float:
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(0.05)
    return time.monotonic()


def measure(base: int, directory: Path, clients: Clients, repeats: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"promotion": [], "write_gap_failover": [], "write_gap_steady": [],
                                       "rejoin": []}
    time.sleep(3)
    for _ in range(repeats):
        leader = next(n for n in (0, 1) if rest(base, n, "primary"))
        pid = int((directory / f"node{leader}" / "data" / "postmaster.pid").read_text().split()[0])
        window_start = time.monotonic()
        time.sleep(6)  # the steady window before the kill (the baseline)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        promoted = wait(lambda leader=leader: rest(base, 1 - leader, "primary"), 60)
        resumed = wait(lambda killed=killed: any(t > killed for t in clients.acknowledged), 60)
        wait(lambda resumed=resumed: time.monotonic() > resumed + 1, 5)
        rejoined = wait(lambda leader=leader: rest(base, leader, "sync"), 120)
        figures["promotion"].append(promoted - killed)
        figures["write_gap_failover"].append(clients.longest_gap(killed - 1, resumed + 1))
        figures["write_gap_steady"].append(clients.longest_gap(window_start, killed))
        figures["rejoin"].append(rejoined - killed)
        time.sleep(2)
    return figures


def a_plan(settings: Settings) -> tuple[str, str]:
    """A coordonnateur's SIRET and the plan the clients write to."""
    app = bootstrap(settings)
    siret = siret_with_key("2000900000001")
    organisation = app.register_organisation(siret, "Région", "collectivite").id
    supplier = app.register_organisation(siret_with_key("4190900000001"), "Laiterie", "supplier").id
    groupement = app.constitute_groupement("GC-B", "Groupement", "Achats", True, organisation, "2021-06-01").id
    marche = app.notify_marche(groupement, "M-B", "BOF", "15500000-3", "fournitures", [supplier], "100000", 24,
                               "2022-01-01").id
    plan = str(app.draw_up_plan(marche, "Plan").id)
    app.close()
    return siret, plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--base-port", type=int, default=25000)
    args = parser.parse_args()
    base = args.base_port
    top = Path(tempfile.mkdtemp(prefix="progres-ha-bench-"))
    top.chmod(0o755)
    directory = top / "cluster"
    script = str(ROOT / "deploy" / "ha" / "cluster.sh")
    subprocess.run(["bash", script, "start", str(directory), str(base)], check=True, capture_output=True)
    try:
        lines = (directory / "progres.env").read_text().splitlines()
        cluster_env = dict(line.split("=", 1) for line in lines if "=" in line)
        env = {**os.environ, **cluster_env, "PROGRES_DATA_DIR": str(top / "data"),
               "PROGRES_ENVIRONMENT": "development"}
        fields = {k.removeprefix("PROGRES_").lower(): v for k, v in cluster_env.items()}
        settings = Settings(**fields, data_dir=top / "data")  # type: ignore[arg-type]
        with served(env, port=base + 50) as url:
            siret, plan = a_plan(settings)
            token = LocalIssuer(settings.data_dir).mint(siret, ["coordonnateur"], settings.oidc_audience)
            clients = Clients(url, {"authorization": f"Bearer {token}", "x-progres-organisation": siret}, plan,
                              args.clients)
            for thread in clients.threads:
                thread.start()
            try:
                figures = measure(base, directory, clients, args.repeats)
            finally:
                clients.stop.set()
                for thread in clients.threads:
                    thread.join(timeout=90)
        steady = statistics.median(figures["write_gap_steady"])
        for name, values in figures.items():
            line = {"figure": name, "value": round(statistics.median(values), 3), "unit": "s",
                    "repeats": len(values), "samples": [round(v, 3) for v in values]}
            if name == "write_gap_failover":
                line["baseline"] = "write_gap_steady"
                line["ratio"] = round(statistics.median(values) / steady, 1) if steady else None
            print(json.dumps(line), flush=True)
    finally:
        subprocess.run(["bash", script, "stop", str(directory)], check=False, capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Memory of a real `progres serve` under sustained writes (issue 9, defect 12), PostgreSQL, loopback only.

Each round sends `--writes` propositions (each with a `commandId`, so a receipt too) and, after each, reads the
plan with `minPosition` (read-your-writes); then `--read-rounds` rounds only read. After every round it prints a
JSON line with the server's resident memory (VmRSS from /proc), the log head and the requests sent; the last
line gives the growth per 1000 events in the first and second half of the write rounds, and the growth during
the read-only rounds (a leak per request would show there).
Run: .venv/bin/python bench/memory.py [--rounds 10 --writes 200 --read-rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import document
from progres.services.identity import LocalIssuer
from progres.services.serving import free_port, served
from progres.services.settings import Settings

SUBMIT = ("mutation($p: ID!, $a: ID!, $c: String, $t: String!) { submitProposal(planId: $p, authorId: $a, "
          "axisKey: \"egalim\", kind: \"innovation\", title: $t, content: \"Regrouper les livraisons\", "
          "expectedImpact: \"Moins de transport\", submittedOn: \"2022-04-01\", commandId: $c) { ok position } }")
PLAN = ("query($p: ID!, $n: Int) { plan(id: $p, minPosition: $n) { id proposals(first: 10) "
        "{ totalCount edges { node { id status } } } } }")
# The member view read whole, typed (its `document` JSON field was removed with the `JSON` scalar).
MEMBER_VIEW = ("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position active asOfDay "
               "standing { party rule } indicators { key targetInForce first last status achievement "
               "observations(first: 500) { edges { node { periodEnd value assessment participation } } } "
               "groupement(first: 500) { edges { node { periodEnd value members } } } } "
               "actions(first: 500) { edges { node { key status } } } "
               "proposals(first: 500) { edges { node { id status } } } "
               "decisions(first: 500) { edges { node { outcome } } } "
               "avenants(first: 500) { edges { node { number status } } } } }")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def server_pid(port: int) -> int:
    """The `progres serve --port PORT` process (one worker: the server is that process)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and str(port).encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no server on port {port}")


def set_up(settings: Settings) -> dict[str, str]:
    """A groupement: a Région, one lycée, a titulaire, a marché and its plan with one axis."""
    app = bootstrap(settings)
    try:
        sirets = [siret_with_key(p) for p in ("2000777000001", "1962777000001", "4190777000001")]
        region = app.register_organisation(sirets[0], "Région", "collectivite").id
        lycee = app.register_organisation(sirets[1], "Lycée", "eple").id
        titulaire = app.register_organisation(sirets[2], "Laiterie", "supplier").id
        groupement = app.constitute_groupement("GC-MEM", "G", "Achats", True, region, "2021-06-01",
                                               document("convention.pdf")).id
        app.admit_member(groupement, lycee, "2021-09-01", document("adhesion.pdf"), "2021-07-01")
        marche = app.notify_marche(groupement, "M-MEM", "BOF", "15500000-3", "fournitures", [titulaire], "100000",
                                   24, "2022-01-01").id
        plan = app.draw_up_plan(marche, "Plan").id
        app.add_axis(plan, "egalim", "EGalim")
        return {"region": sirets[0], "lycee_siret": sirets[1], "lycee": str(lycee), "plan": str(plan)}
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--read-rounds", type=int, default=4)
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="progres-bench-memory-"))
    settings = Settings(store="postgres", postgres_schema=f"bench_mem_{suffix}",
                        views_schema=f"bench_mem_views_{suffix}", data_dir=data_dir)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_DATA_DIR": str(data_dir), "PROGRES_WORKERS": "1"}
    world = set_up(settings)
    issuer = LocalIssuer(data_dir)
    headers = {who: {"authorization": f"Bearer {issuer.mint(siret, [role], settings.oidc_audience)}",
                     "x-progres-organisation": siret}
               for who, siret, role in (("region", world["region"], "coordonnateur"),
                                        ("lycee", world["lycee_siret"], "acheteur"))}
    port = free_port()
    samples: list[dict[str, Any]] = []
    try:
        with served(env, port=port) as url, httpx.Client(timeout=60) as client:
            pid = server_pid(port)

            def post(query: str, variables: dict[str, Any], who: str) -> dict[str, Any]:
                answer = client.post(f"{url}/graphql", json={"query": query, "variables": variables},
                                     headers=headers[who]).json()
                if "errors" in answer:
                    raise RuntimeError(answer["errors"])
                return answer["data"]  # type: ignore[no-any-return]

            def sample(phase: str, number: int, requests: int, started: float) -> None:
                head = post("query($p: ID!) { plan(id: $p) { id } }", {"p": world["plan"]}, "region")
                del head
                ready = client.get(f"{url}/ready").json()
                line = {"bench": "memory", "phase": phase, "round": number, "events": ready.get("head"),
                        "rss_mb": round(rss_mb(pid), 1), "requests": requests,
                        "seconds": round(time.perf_counter() - started, 2)}
                samples.append(line)
                print(json.dumps(line), flush=True)

            requests = 0
            sample("start", 0, requests, time.perf_counter())
            for number in range(1, args.rounds + 1):
                started = time.perf_counter()
                for i in range(args.writes):
                    done = post(SUBMIT, {"p": world["plan"], "a": world["lycee"], "c": f"mem-{number}-{i}",
                                         "t": f"Proposition {number}-{i}"}, "lycee")["submitProposal"]
                    post(PLAN, {"p": world["plan"], "n": done["position"]}, "region")
                    requests += 2
                sample("writes", number, requests, started)
            for number in range(1, args.read_rounds + 1):
                started = time.perf_counter()
                for _ in range(args.writes):
                    post(PLAN, {"p": world["plan"], "n": None}, "region")
                    post(MEMBER_VIEW, {"p": world["plan"], "m": world["lycee"]}, "lycee")
                    requests += 2
                sample("reads", number, requests, started)
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    writes = [s for s in samples if s["phase"] in ("start", "writes")]
    half = len(writes) // 2

    def per_thousand(first: dict[str, Any], last: dict[str, Any]) -> float:
        return round(1000 * (last["rss_mb"] - first["rss_mb"]) / max(1, last["events"] - first["events"]), 2)

    reads = [s for s in samples if s["phase"] == "reads"]
    print(json.dumps({"bench": "memory", "summary": True, "rss_start_mb": writes[0]["rss_mb"],
                      "rss_end_mb": samples[-1]["rss_mb"], "events": samples[-1]["events"],
                      "mb_per_1000_events_first_half": per_thousand(writes[0], writes[half]),
                      "mb_per_1000_events_second_half": per_thousand(writes[half], writes[-1]),
                      "mb_during_read_rounds": round(reads[-1]["rss_mb"] - writes[-1]["rss_mb"], 1) if reads else None,
                      "requests": requests}), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark of abusive documents against a real `progres serve` on PostgreSQL (issue 9, defect 3).

Measures, as JSON lines (medians of repeats, milliseconds; the raw baseline, `/health` on an idle server, is
measured in the same run and each figure is also given as a ratio to it):
- `fanout_refusal`: the fragment fan-out document (n=24, 2^24 fields once expanded, under 1 kB) sent without a
  token, answered with `query_too_large`;
- `health_under_abuse`: `/health` while 12 clients keep sending that document;
- `normal_query_alone` and `normal_query_under_abuse`: an authenticated `groupements` query, idle and while the
  12 abusive clients run; `delay` is the difference of the medians.
Run: .venv/bin/python bench/abuse.py [--repeats 40 --abusers 12]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.identity import LocalIssuer
from progres.services.serving import served
from progres.services.settings import Settings


def fanout(n: int) -> str:
    lines = [f"query {{ ...F{n} }}", "fragment F0 on Query { groupements { id } }"]
    lines += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return "\n".join(lines)


def timed(client: httpx.Client, repeats: int, method: str, url: str, **kwargs: object) -> list[float]:
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return latencies


def line(name: str, latencies: list[float], baseline: float, **extra: object) -> dict:
    median = statistics.median(latencies)
    figures = {"bench": "abuse", "measure": name, "median_ms": round(median, 2),
               "max_ms": round(max(latencies), 2), "repeats": len(latencies),
               "ratio_to_idle_health": round(median / baseline, 2), **extra}
    print(json.dumps(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--abusers", type=int, default=12)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:10]
    data_dir = Path(tempfile.mkdtemp(prefix="progres-abuse-"))
    settings = Settings(store="postgres", postgres_schema=f"bench_abuse_{suffix}",
                        views_schema=f"bench_abuse_views_{suffix}", data_dir=data_dir)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_DATA_DIR": str(data_dir)}
    siret = siret_with_key("2000537670001")
    app = bootstrap(settings)
    app.register_organisation(siret=siret, name="Région", kind="collectivite")
    app.close()
    headers = {"authorization": f"Bearer {LocalIssuer(data_dir).mint(siret, ['coordonnateur'], 'progres-api')}",
               "x-progres-organisation": siret}
    normal = {"query": "{ groupements { id } }"}
    abusive = {"query": fanout(24)}
    try:
        with served(env) as url, httpx.Client(timeout=30) as client:
            refused = client.post(f"{url}/graphql", json=abusive).json()["errors"][0]["extensions"]["code"]
            idle_health = statistics.median(timed(client, args.repeats, "GET", f"{url}/health"))
            print(json.dumps({"bench": "abuse", "measure": "idle_health", "median_ms": round(idle_health, 2),
                              "document_bytes": len(abusive["query"]), "refusal_code": refused}))
            line("fanout_refusal", timed(client, args.repeats, "POST", f"{url}/graphql", json=abusive),
                 idle_health, n=24)
            alone = line("normal_query_alone", timed(client, args.repeats, "POST", f"{url}/graphql", json=normal,
                                                     headers=headers), idle_health)
            stop = threading.Event()
            sent = [0] * args.abusers

            def abuse(i: int) -> None:
                with httpx.Client(timeout=30) as own:
                    while not stop.is_set():
                        own.post(f"{url}/graphql", json=abusive)
                        sent[i] += 1

            abusers = [threading.Thread(target=abuse, args=(i,), daemon=True) for i in range(args.abusers)]
            for thread in abusers:
                thread.start()
            time.sleep(0.5)
            line("health_under_abuse", timed(client, args.repeats, "GET", f"{url}/health"), idle_health,
                 abusers=args.abusers)
            busy = line("normal_query_under_abuse", timed(client, args.repeats, "POST", f"{url}/graphql",
                                                          json=normal, headers=headers), idle_health,
                        abusers=args.abusers)
            stop.set()
            for thread in abusers:
                thread.join(timeout=30)
            print(json.dumps({"bench": "abuse", "measure": "delay_of_normal_query_under_abuse",
                              "delay_ms": round(busy["median_ms"] - alone["median_ms"], 2),
                              "abusive_requests_sent": sum(sent)}))
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()

"""Benchmark of abusive documents against a real `progres serve` on PostgreSQL (issue 9, defect 3).

Measures, as JSON lines (medians of repeats, milliseconds; the raw baseline, `/health` on an idle server, is
measured in the same run and each figure is also given as a ratio to it):
- `fanout_refusal`: the fragment fan-out document (n=24, 2^24 fields once expanded, under 1 kB) sent without a
  token, answered with `query_too_large`;
- `normal_query_alone`: an authenticated `groupements` query on an idle server;
- `health_during_burst`, `normal_query_during_burst`: each repeat sends 12 fan-out documents at once with
  `/health` and the normal query among them; `delay_of_normal_query_by_burst` is the difference of medians;
- `health_during_flood`, `normal_query_during_flood`: 12 clients sending the document back to back (a flood:
  what remains is queueing on a saturated worker, which rate limiting in front of the server addresses).
Run: .venv/bin/python bench/abuse.py [--repeats 40 --abusers 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
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


async def timed_once(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> float:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def bursts(url: str, abusive: dict | None, normal: dict, headers: dict, args: argparse.Namespace) -> tuple:
    """Each repeat: 12 fan-out documents sent at once (or, as the baseline, 12 /health), with /health and a
    normal query among them."""
    health, queries = [], []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as client:
        for _ in range(args.repeats):
            burst = [client.post(f"{url}/graphql", json=abusive) if abusive else client.get(f"{url}/health")
                     for _ in range(args.abusers)]
            *_, h, q = await asyncio.gather(*burst, timed_once(client, "GET", f"{url}/health"),
                                            timed_once(client, "POST", f"{url}/graphql", json=normal,
                                                       headers=headers))
            health.append(h)
            queries.append(q)
    return health, queries


async def flood(url: str, abusive: dict, normal: dict, headers: dict, args: argparse.Namespace) -> tuple:
    """12 clients sending fan-out documents back to back (a flood, beyond one abusive client's share)."""
    sent = 0
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as client:
        async def abuser() -> None:
            nonlocal sent
            while not stop.is_set():
                await client.post(f"{url}/graphql", json=abusive)
                sent += 1

        tasks = [asyncio.create_task(abuser()) for _ in range(args.abusers)]
        await asyncio.sleep(0.5)
        health = [await timed_once(client, "GET", f"{url}/health") for _ in range(args.repeats)]
        queries = [await timed_once(client, "POST", f"{url}/graphql", json=normal, headers=headers)
                   for _ in range(args.repeats)]
        stop.set()
        await asyncio.gather(*tasks)
    return health, queries, sent


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
    log = (data_dir / "server.log").open("w")  # an undrained pipe would block the server
    try:
        with served(env, log=log) as url, httpx.Client(timeout=30) as client:
            refused = client.post(f"{url}/graphql", json=abusive).json()["errors"][0]["extensions"]["code"]
            idle_health = statistics.median(timed(client, args.repeats, "GET", f"{url}/health"))
            print(json.dumps({"bench": "abuse", "measure": "idle_health", "median_ms": round(idle_health, 2),
                              "document_bytes": len(abusive["query"]), "refusal_code": refused}))
            line("fanout_refusal", timed(client, args.repeats, "POST", f"{url}/graphql", json=abusive),
                 idle_health, n=24)
            alone = line("normal_query_alone", timed(client, args.repeats, "POST", f"{url}/graphql", json=normal,
                                                     headers=headers), idle_health)
            # Baseline of the same shape: 12 /health at once (what 12 concurrent requests cost the client and the
            # loop anyway), then 12 fan-out documents at once.
            base_health, base_normal = asyncio.run(bursts(url, None, normal, headers, args))
            base = line("health_during_health_burst", base_health, idle_health, burst=args.abusers)
            base_query = line("normal_query_during_health_burst", base_normal, idle_health, burst=args.abusers)
            burst_health, burst_normal = asyncio.run(bursts(url, abusive, normal, headers, args))
            line("health_during_burst", burst_health, idle_health, abusers=args.abusers,
                 ratio_to_health_burst=round(statistics.median(burst_health) / base["median_ms"], 2))
            busy = line("normal_query_during_burst", burst_normal, idle_health, abusers=args.abusers)
            print(json.dumps({"bench": "abuse", "measure": "delay_of_normal_query_by_burst",
                              "delay_vs_alone_ms": round(busy["median_ms"] - alone["median_ms"], 2),
                              "delay_vs_health_burst_ms": round(busy["median_ms"] - base_query["median_ms"], 2),
                              "abusers": args.abusers}))
            flood_health, flood_normal, sent = asyncio.run(flood(url, abusive, normal, headers, args))
            line("health_during_flood", flood_health, idle_health, abusers=args.abusers, abusive_sent=sent)
            line("normal_query_during_flood", flood_normal, idle_health, abusers=args.abusers, abusive_sent=sent)
    finally:
        log.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()

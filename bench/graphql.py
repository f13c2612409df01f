"""Benchmark of the GraphQL API: `memberView` and `planBalance` on the 300-member workload, PostgreSQL,
a real `progres serve` process, clients on loopback sending at a fixed rate (open loop).

Prints, per query: requests sent and answered, the rate achieved, p50 / p95 / max latency.
Run: .venv/bin/python bench/graphql.py [--members 300 --months 48 --rate 100 --seconds 20]
(the server runs PROGRES_WORKERS workers, 2 unless set)
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from psycopg import sql

from progres.projections.ledger import DIRECTORY
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.identity import LocalIssuer
from progres.services.read_models import ReadModels
from progres.services.serving import served
from progres.services.settings import Settings
from progres.services.workload import build_region

MEMBER_VIEW = "query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position document } }"
BALANCE = "query($p: ID!) { planBalance(planId: $p) { position final document } }"


async def load(url: str, query: str, variables, actor, rate: float, seconds: float) -> dict:
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
        async def one(i: int) -> None:
            nonlocal failures
            started = time.perf_counter()
            vars_, who = variables(i), actor(i)
            try:
                response = await client.post(url, json={"query": query, "variables": vars_}, headers=who)
            except httpx.TransportError:
                failures += 1  # counted, with its latency, rather than ending the run
            else:
                # The load generator shares the 2 cores with the server: it checks answers without parsing them.
                if response.status_code != 200 or b'"errors"' in response.content[:200]:
                    failures += 1
            latencies.append(time.perf_counter() - started)

        tasks = []
        begin = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    latencies.sort()
    return {"sent": total, "failed": failures, "rate": total / elapsed,
            "p50": statistics.median(latencies) * 1000, "p95": latencies[int(0.95 * len(latencies)) - 1] * 1000,
            "max": latencies[-1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(store="postgres", postgres_schema=f"gbench_{suffix}", views_schema=f"gbench_views_{suffix}",
                        data_dir=Path(tempfile.mkdtemp(prefix="progres-bench-")))
    app = bootstrap(settings)
    try:
        started = time.perf_counter()
        region, lycees, plan = build_region(app, args.members, args.indicators, args.months)
        models = ReadModels.open(app, settings)
        models.rebuild()
        models.close()
        settle(settings)
        print(f"workload: {app.max_notification_id()} events, {len(lycees)} members, read models built, "
              f"in {time.perf_counter() - started:.0f} s")
        run_server_and_load(settings, region, lycees, plan, args, token_headers(settings, app))
    finally:
        app.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def settle(settings: Settings) -> None:
    """VACUUM ANALYZE what was just written, so that autovacuum does not share the cores with the run."""
    with postgres_connect(settings, autocommit=True) as connection:
        for schema in (settings.postgres_schema, settings.views_schema):
            tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]).fetchall()
            for (table,) in tables:
                connection.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, table)))


def token_headers(settings: Settings, app: Any) -> Any:
    """Local identity mode: tokens minted with the server's key, one per organisation (by its id)."""
    models = ReadModels.open(app, settings)
    directory = models.ledgers([DIRECTORY])[DIRECTORY]["organisations"]
    models.close()
    issuer = LocalIssuer(settings.data_dir)
    # Minted before the load, not during it: signing is the client's work, not the server's.
    minted = {(org, role): {"authorization": f"Bearer {issuer.mint(o['siret'], [role], 'progres-api')}",
                            "x-progres-organisation": o["siret"]}
              for org, o in directory.items() for role in ("coordonnateur", "acheteur")}

    def headers(organisation_id: str, role: str) -> dict[str, str]:
        return minted[(organisation_id, role)]
    return headers


def run_server_and_load(settings: Settings, region: str, lycees: list[str], plan: str,
                        args: argparse.Namespace, headers: Any) -> None:
    env = {"PROGRES_WORKERS": "2", **os.environ, "PROGRES_STORE": "postgres",
           "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema, "PROGRES_VIEWS_SCHEMA": settings.views_schema,
           "PROGRES_DATA_DIR": str(settings.data_dir)}
    print(f"server: progres serve with {env['PROGRES_WORKERS']} worker(s); load: {args.rate:g} req/s for "
          f"{args.seconds:g} s per query, open loop, from this process")
    log_path = os.environ.get("BENCH_SERVER_LOG", os.devnull)  # where the server's own messages go
    with open(log_path, "w") as log, served(env, log=log, timeout=120) as url:
        graphql = f"{url}/graphql"
        # Warm every worker (first reads load caches) before measuring.
        asyncio.run(load(graphql, BALANCE, lambda i: {"p": plan}, lambda i: headers(region, "coordonnateur"), 20, 2))
        asyncio.run(load(graphql, MEMBER_VIEW, lambda i: {"p": plan, "m": lycees[i % len(lycees)]},
                         lambda i: headers(lycees[i % len(lycees)], "acheteur"), 50, 3))
        view = asyncio.run(load(graphql, MEMBER_VIEW, lambda i: {"p": plan, "m": lycees[i % len(lycees)]},
                                lambda i: headers(lycees[i % len(lycees)], "acheteur"), args.rate, args.seconds))
        balance = asyncio.run(load(graphql, BALANCE, lambda i: {"p": plan}, lambda i: headers(region, "coordonnateur"),
                                   args.rate, args.seconds))
        for name, figures in (("memberView", view), ("planBalance", balance)):
            print(f"{name:<12} sent {figures['sent']} at {figures['rate']:.1f} req/s, {figures['failed']} failed; "
                  f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, max {figures['max']:.1f} ms")


if __name__ == "__main__":
    main()

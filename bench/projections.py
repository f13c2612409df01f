"""Benchmark of the read models on a generated "Région" workload, on PostgreSQL.

Default workload: 300 member lycées, 12 monthly indicators, 4 years of measures (about 175,000 events).
Prints, from one run:
- events appended per second (measures imported month by month, 3,600 rows a command);
- the raw rate of reading the same events table with psycopg (SELECT and JSON decode): the ceiling;
- full-rebuild events per second, and its ratio to the raw rate;
- the time to verify the hash chain over the whole log (`progres audit verify`);
- the time to reconstruct the plan balance as of a time in the third year (median of 3).
Run: .venv/bin/python bench/projections.py [--members 300 --indicators 12 --months 48]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import orjson
from psycopg import sql

from progres.projections.as_of import AsOf
from progres.projections.runner import rebuild
from progres.services.audit import verify
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.read_models import open_store
from progres.services.settings import Settings
from progres.services.workload import import_months, setup_region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(store="postgres", postgres_schema=f"bench_events_{suffix}",
                        views_schema=f"bench_views_{suffix}")
    app = bootstrap(settings)
    store = open_store(settings)
    try:
        run(app, store, settings, args)
    finally:
        app.close()
        store.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run(app, store, settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    region, lycees, plan = setup_region(app, args.members, args.indicators, args.months)
    setup_events = app.max_notification_id()
    print(f"setup: {setup_events} events ({len(lycees)} lycées) in {time.perf_counter() - started:.1f} s")

    appended, append_seconds, third_year_position = 0, 0.0, 0
    third = args.months * 5 // 8  # month 31 of 48: the third year
    t = time.perf_counter()
    for month, rows, result in import_months(app, plan, region, lycees, args.indicators, args.months):
        append_seconds += time.perf_counter() - t
        appended += rows
        t = time.perf_counter()
        if month == third:
            third_year_position = result.position
    head = app.max_notification_id()
    print(f"appended: {appended} measure events in {append_seconds:.1f} s = {appended / append_seconds:,.0f} events/s"
          f" (log head {head})")

    table = sql.Identifier(settings.postgres_schema, "progres_events")
    t = time.perf_counter()
    count = 0
    with postgres_connect(settings) as connection, connection.cursor(name="raw") as cursor:
        cursor.itersize = 5000
        cursor.execute(sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
                               "ORDER BY notification_id").format(table))
        for row in cursor:
            orjson.loads(row[4])
            count += 1
    raw_seconds = time.perf_counter() - t
    raw_rate = count / raw_seconds
    print(f"raw read (psycopg SELECT + JSON decode): {count} events in {raw_seconds:.2f} s = {raw_rate:,.0f} events/s")

    result = rebuild(app, store, "bench_v1")
    rebuild_rate = result["events"] / result["seconds"]
    fold_rate = result["events"] / result["fold_seconds"]
    print(f"full rebuild: {result['events']} events in {result['seconds']:.2f} s = {rebuild_rate:,.0f} events/s "
          f"({rebuild_rate / raw_rate:.0%} of the raw read); reading and folding alone {fold_rate:,.0f} events/s "
          f"({fold_rate / raw_rate:.0%})")

    t = time.perf_counter()
    verification = verify(settings)
    assert verification.intact, verification.finding
    print(f"hash chain verification (progres audit verify): {verification.checked} events in "
          f"{time.perf_counter() - t:.2f} s")

    as_of = AsOf(app, store, "bench_v1")
    timestamp = store.history("bench_v1", {}, after=third_year_position - 1, limit=1)[0]["timestamp"]
    timings = []
    for _ in range(3):
        t = time.perf_counter()
        balance = as_of.plan_balance(plan, timestamp=timestamp)
        timings.append(time.perf_counter() - t)
    assert balance["position"] == third_year_position
    print(f"plan balance as of the import of month {third + 1} of {args.months} (position {third_year_position}): "
          f"median {statistics.median(timings):.3f} s (runs: {', '.join(f'{x:.3f}' for x in timings)})")


if __name__ == "__main__":
    main()

"""Benchmark of purchase imports on PostgreSQL: 100,000 ma cantine lines imported, shares computed.

Prints JSON lines (median of --repeats runs, each on a fresh lycée and a fresh file):
- `purchase_import`: the whole command (`progres import achats`: read and check the file against the
  Table Schema, store the lines as chunk events of 1,000 lines, the register, the fed measures; one
  transaction), its lines/s (purchases recorded per second) and events/s (the log's events: about one per
  1,000 lines), and the time to compute the shares and the annual export from the register;
- `read_and_check`: reading and checking the same file alone (no store), lines/s;
- `one_event_per_line`: the same lines stored as one event each through progres (keyed chain included), the
  design not chosen, saved 5,000 events a transaction like the baseline, in events/s; each of these saves is
  large, so it goes through COPY (services/bulk_copy.py);
- `one_event_per_line_one_save`: the same, all 100,000 events in one save (one transaction): the library's
  pipelined INSERT hangs on such a save; the COPY path does not;
- `library_bulk_save`: the bare eventsourcing library saving as many small events, 5,000 a transaction
  (its own schema and recorder, no chain, no trigger), in events/s: the raw baseline.
Each figure has its ratio to the baseline beside it.
Run: .venv/bin/python bench/import.py [--lines 100000 --repeats 3]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
import uuid
from datetime import date
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from progres.domain.base import ProgresAggregate
from progres.domain.purchases import PurchaseRegister
from progres.projections.as_of import paused_gc
from progres.projections.egalim import by_family, diagnostic, period_totals, shares
from progres.services import purchase_files
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.purchase_workload import FEEDS, HEADER, csv_bytes, generated_rows, setup_canteens
from progres.services.settings import Settings


class PerLine(ProgresAggregate):
    """The design not chosen: one event per purchase line."""

    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Bought")
    def bought(self, row: list[Any]) -> None:
        self.count += 1


class Bare(Aggregate):
    """The bare library's aggregate for the baseline."""

    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Bought")
    def bought(self, row: list[Any]) -> None:
        self.count += 1


def emit(name: str, **figures: Any) -> None:
    print(orjson.dumps({"benchmark": "import", "measure": name, **figures}).decode(), flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def rows_for(siret: str, lines: int, repeat: int) -> list[list[str]]:
    rows = generated_rows(siret, lines)
    for row in rows:
        row[1] = f"{row[1]} r{repeat}"  # a fresh file (and hash) each repeat
    return rows


BATCH = 5000  # events per save: one save of 100,000 events hangs in the library's pipeline mode (docs/egalim.md)


def save_in_batches(app: Any, aggregate: Any, lines: int, sample: list[Any], batch: int = BATCH) -> float:
    """Saves `lines` events (the created one included) in transactions of `batch` events; the seconds spent
    saving (encoding, writing, committing), not making the events."""
    seconds = 0.0
    for index in range(lines - 1):
        aggregate.bought(sample[index % len(sample)])
        if len(aggregate.pending_events) >= batch or index == lines - 2:
            started = time.perf_counter()
            app.save(aggregate)
            seconds += time.perf_counter() - started
    return seconds


def baseline(settings: Settings, lines: int, sample: list[Any]) -> float:
    env = {**settings.eventsourcing_env(), "POSTGRES_SCHEMA": settings.postgres_schema + "_bare",
           "CREATE_TABLE": "y"}
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
    app = Application(env=env)
    try:
        return save_in_batches(app, Bare(), lines, sample)
    finally:
        app.close()


def per_line(app: Any, lines: int, sample: list[Any], batch: int = BATCH) -> float:
    return save_in_batches(app, PerLine(), lines, sample, batch)


def run(args: argparse.Namespace, settings: Settings) -> None:
    app = bootstrap(settings)
    try:
        world = setup_canteens(app, members=args.repeats)
        imports, import_cpus, events, reads, computes, per_lines, one_saves, bares = [], [], [], [], [], [], [], []
        for repeat in range(args.repeats):
            siret, member = world.sirets[repeat], world.lycees[repeat]
            content = csv_bytes(HEADER, rows_for(siret, args.lines, repeat), ";")
            started = time.perf_counter()
            with paused_gc():  # as the import reads
                parsed = purchase_files.read(content, "achats.csv", siret=siret, today=date(2024, 1, 20))
            reads.append(time.perf_counter() - started)
            head = app.max_notification_id() or 0
            started, cpu = time.perf_counter(), time.process_time()
            app.import_purchases(world.plan, member, base64.b64encode(content).decode(), "achats.csv", member,
                                 "2024-01-20", FEEDS)
            imports.append(time.perf_counter() - started)
            import_cpus.append(time.process_time() - cpu)
            events.append((app.max_notification_id() or 0) - head)
            started = time.perf_counter()
            register = app.repository.get(PurchaseRegister.create_id(uuid.UUID(world.plan), uuid.UUID(member)))
            for start, end in [(date(2023, 1, 1), date(2023, 6, 30)), (date(2023, 7, 1), date(2023, 12, 31))]:
                figures = period_totals(register.totals, start, end)
                shares(figures)
                by_family(figures)
            diagnostic(period_totals(register.totals, date(2023, 1, 1), date(2023, 12, 31)), 2023)
            computes.append(time.perf_counter() - started)
            sample = parsed.rows[:1000]
            per_lines.append(per_line(app, args.lines, sample))
            one_saves.append(per_line(app, args.lines, sample, batch=args.lines))
            bares.append(baseline(settings, args.lines, sample))
    finally:
        app.close()
    base_rate = args.lines / median(bares)
    seconds = median(imports)
    emit("library_bulk_save", events=args.lines, events_per_transaction=BATCH, seconds=round(median(bares), 3),
         events_per_second=round(base_rate), repeats=args.repeats)
    emit("purchase_import", lines=args.lines, seconds=round(seconds, 3),
         lines_per_second=round(args.lines / seconds), events=int(median(events)),
         events_per_second=round(median(events) / seconds),
         lines_per_second_to_library_events_per_second=round(args.lines / seconds / base_rate, 3),
         shares_and_export_ms=round(median(computes) * 1000, 2),
         client_cpu_seconds=round(median(import_cpus), 3), repeats=args.repeats)
    emit("read_and_check", lines=args.lines, seconds=round(median(reads), 3),
         lines_per_second=round(args.lines / median(reads)), repeats=args.repeats)
    emit("one_event_per_line", events=args.lines, events_per_transaction=BATCH, seconds=round(median(per_lines), 3),
         events_per_second=round(args.lines / median(per_lines)),
         ratio_to_library=round(median(bares) / median(per_lines), 3), repeats=args.repeats)
    emit("one_event_per_line_one_save", events=args.lines, events_per_transaction=args.lines,
         seconds=round(median(one_saves), 3), events_per_second=round(args.lines / median(one_saves)),
         ratio_to_library=round(median(bares) / median(one_saves), 3), repeats=args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(store="postgres", postgres_schema=f"i15_bench_import_{uuid.uuid4().hex[:8]}")
    try:
        run(args, settings)
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.postgres_schema + "_bare"):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()

"""Benchmark of purchase imports on PostgreSQL: 100,000 ma cantine lines imported, shares computed.

Each purchase line is one event of the log (`PurchaseImport.PurchaseRecorded`), covered by the keyed audit chain;
one import is one command and one transaction. Prints JSON lines (`figure`, `value`, `unit`; the median of
--repeats runs, each on a fresh lycée and a fresh file, the runs beside it):
- `purchase_import.*`: the whole command (`progres import achats`: read and check the file against the Table
  Schema, one event per line and the import's header, the register, the fed measures; one transaction): events of
  the log written per second (the command's events over its wall time, reading included), lines per second, the
  client's CPU seconds, and the ratio of its events/s to the library's below;
- `read_and_check.lines_per_second`: reading and checking the same file alone (no store);
- `shares_and_export.ms`: the shares (two semesters, by family) and the annual diagnostic from the register;
- `library_bulk_save.events_per_second`: the bare eventsourcing library (its own schema and recorder, no chain)
  saving as many events of the same fields and values (the purchase lines), made beforehand, 5,000 a transaction
  (one save of 100,000 hangs in its pipelined INSERT: docs/egalim.md): the baseline, in the same run;
- `events_as_objects.events_per_second`: the same lines saved as events through progres one object each (the
  aggregate's event method, the library's mapper; then the same COPY and chain): what building records straight
  from the rows (domain/base.py `EventRun`, services/event_runs.py) saves;
- `read_side.seconds`: the projections catching up over the imports (new read models, from position 0): the line
  events are passed over in the query, so an import costs the runner one fact;
- `audit_verify.events_per_second`: `audit verify` over the whole store afterwards (it must find nothing).
Run: .venv/bin/python bench/import.py [--lines 100000 --repeats 3]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from progres.domain.purchases import LINE_FIELDS, PurchaseImport, PurchaseRegister
from progres.projections.as_of import paused_gc
from progres.projections.egalim import by_family, diagnostic, period_totals, shares
from progres.services import audit, purchase_files
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.purchase_workload import FEEDS, HEADER, csv_bytes, generated_rows, setup_canteens
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

BATCH = 5000  # events per save of the library's baseline


class Bare(Aggregate):
    """The bare library's aggregate: the same event fields as a purchase line."""

    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Bought")
    def bought(self, line: int, day: str, cents: int, family: str, labels: str, origin: str, circuit_court: bool,
               local: bool, local_definition: str, local_km: int | None, description: str,
               fournisseur: str) -> None:
        self.count += 1


def emit(figure: str, values: list[float], unit: str, digits: int = 0, **extra: Any) -> float:
    value = statistics.median(values)
    print(orjson.dumps({"figure": figure, "value": round(value, digits) if digits else round(value),
                        "unit": unit, "runs": [round(v, digits) if digits else round(v) for v in values],
                        **extra}).decode(), flush=True)
    return value


def rows_for(siret: str, lines: int, repeat: int) -> list[list[str]]:
    rows = generated_rows(siret, lines)
    for row in rows:
        row[1] = f"{row[1]} r{repeat}"  # a fresh file (and hash) each repeat
    return rows


def library_save(settings: Settings, events: int, rows: list[list[Any]]) -> float:
    """Seconds the bare library spends saving `events` events (made beforehand), BATCH a transaction."""
    env = {**settings.eventsourcing_env(), "POSTGRES_SCHEMA": settings.postgres_schema + "_bare",
           "CREATE_TABLE": "y"}
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
    app = Application(env=env)
    try:
        aggregates, aggregate = [], Bare()
        for index in range(events - 1):
            aggregate.bought(**dict(zip(LINE_FIELDS, rows[index % len(rows)], strict=True)))
            if len(aggregate.pending_events) >= BATCH:
                aggregates.append(aggregate.collect_events())
        aggregates.append(aggregate.collect_events())
        started = time.perf_counter()
        for pending in aggregates:
            if pending:
                app.save(*pending)
        return time.perf_counter() - started
    finally:
        app.close()


def events_as_objects(app: Any, world: Any, member: str, siret: str, rows: list[list[Any]]) -> float:
    """Seconds to make and save one PurchaseRecorded object per line through the library's machinery (one save)."""
    started = time.perf_counter()
    purchase_import = PurchaseImport(plan_id=uuid.UUID(world.plan), groupement_id=uuid.UUID(world.groupement),
                                     member_id=uuid.UUID(member), siret=siret, sha256=uuid.uuid4().hex * 2,
                                     filename="objets.csv", file_format="current", line_count=len(rows),
                                     imported_by=uuid.UUID(member), imported_on=date(2024, 1, 20))
    for row in rows:
        purchase_import._purchase_recorded(*row)
    app.save(purchase_import)
    return time.perf_counter() - started


def one_import(app: Any, world: Any, repeat: int, lines: int, figures: dict[str, list[float]]) -> list[list[Any]]:
    """Reads the file alone, then imports it (timed), then computes the shares and the export; returns its rows."""
    siret, member = world.sirets[repeat], world.lycees[repeat]
    content = csv_bytes(HEADER, rows_for(siret, lines, repeat), ";")
    started = time.perf_counter()
    with paused_gc():  # as the import reads
        parsed = purchase_files.read(content, "achats.csv", siret=siret, today=date(2024, 1, 20))
    figures["read"].append(time.perf_counter() - started)
    head = app.max_notification_id() or 0
    started, cpu = time.perf_counter(), time.process_time()
    app.import_purchases(world.plan, member, base64.b64encode(content).decode(), "achats.csv", member,
                         "2024-01-20", FEEDS)
    figures["import"].append(time.perf_counter() - started)
    figures["cpu"].append(time.process_time() - cpu)
    figures["events"].append((app.max_notification_id() or 0) - head)
    started = time.perf_counter()
    register = app.repository.get(PurchaseRegister.create_id(uuid.UUID(world.plan), uuid.UUID(member)))
    for start, end in [(date(2023, 1, 1), date(2023, 6, 30)), (date(2023, 7, 1), date(2023, 12, 31))]:
        totals = period_totals(register.totals, start, end)
        shares(totals)
        by_family(totals)
    diagnostic(period_totals(register.totals, date(2023, 1, 1), date(2023, 12, 31)), 2023)
    figures["computes"].append(time.perf_counter() - started)
    return parsed.rows


def read_side(app: Any, settings: Settings) -> tuple[float, int]:
    """Seconds for new read models to catch up over the log (the imports), and the positions passed."""
    views = settings.model_copy(update={"views_schema": settings.postgres_schema + "_views"})
    head = app.max_notification_id() or 0
    started = time.perf_counter()
    models = ReadModels.open(app, views)
    try:
        models.fresh(None)
        return time.perf_counter() - started, head
    finally:
        models.close()


def run(args: argparse.Namespace, settings: Settings) -> None:
    app = bootstrap(settings)
    figures: dict[str, list[float]] = {k: [] for k in (
        "import", "cpu", "events", "read", "computes", "objects", "library")}
    try:
        world = setup_canteens(app, members=args.repeats)
        rows = [one_import(app, world, repeat, args.lines, figures) for repeat in range(args.repeats)]
        catch_up = read_side(app, settings)  # before the comparisons' events join the log
        for repeat in range(args.repeats):
            figures["objects"].append(events_as_objects(app, world, world.lycees[repeat], world.sirets[repeat],
                                                        rows[repeat]))
            figures["library"].append(library_save(settings, int(figures["events"][repeat]), rows[repeat]))
        head = app.max_notification_id() or 0
    finally:
        app.close()
    started = time.perf_counter()
    verified = audit.verify(settings)
    verify_seconds = time.perf_counter() - started
    report(args, figures, catch_up, head, verify_seconds, verified.finding)


def report(args: argparse.Namespace, figures: dict[str, list[float]], catch_up: tuple[float, int], head: int,
           verify_seconds: float, finding: Any) -> None:
    events = statistics.median(figures["events"])
    library = [events / s for s in figures["library"]]
    base = emit("library_bulk_save.events_per_second", library, "events/s", events=int(events),
                events_per_transaction=BATCH)
    rates = [e / s for e, s in zip(figures["events"], figures["import"], strict=True)]
    rate = emit("purchase_import.events_per_second", rates, "events/s", events=int(events), lines=args.lines,
                target=20000)
    emit("purchase_import.ratio_to_library", [r / b for r, b in zip(rates, library, strict=True)], "x", 2,
         ratio_of_medians=round(rate / base, 2))
    emit("purchase_import.lines_per_second", [args.lines / s for s in figures["import"]], "lines/s")
    emit("purchase_import.seconds", figures["import"], "s", 2)
    emit("purchase_import.client_cpu_seconds", figures["cpu"], "s", 2)
    emit("read_and_check.lines_per_second", [args.lines / s for s in figures["read"]], "lines/s")
    emit("shares_and_export.ms", [s * 1000 for s in figures["computes"]], "ms", 2)
    emit("events_as_objects.events_per_second", [args.lines / s for s in figures["objects"]], "events/s")
    emit("read_side.seconds", [catch_up[0]], "s", 2, positions=catch_up[1],
         note="new read models catching up over the imports")
    emit("audit_verify.events_per_second", [head / verify_seconds], "events/s", events=head,
         finding=None if finding is None else str(finding))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(store="postgres", postgres_schema=f"i15_bench_import_{uuid.uuid4().hex[:8]}",
                            data_dir=Path(data))
        try:
            run(args, settings)
        finally:
            with postgres_connect(settings, autocommit=True) as connection:
                for suffix in ("", "_bare", "_views"):
                    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(settings.postgres_schema + suffix)))


if __name__ == "__main__":
    main()

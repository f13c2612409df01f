"""Benchmark of the write side against the bare eventsourcing library, on PostgreSQL (issue 12, must-show 3).

In the same run, alternating block by block so that both sides see the same load:
- `single.*`: one `record_measure` command through progres's application (decide on the plan, groupement and
  marché kept from earlier commands, one guarded save of the measure's one event: the INSERT checks under the
  table lock that the three are still at the versions decided on and that the measure is new; keyed audit chain
  and NOTIFY), against the bare library (`eventsourcing.application.Application`, its own schema
  and recorder, no chain, no trigger) saving one new aggregate whose one event carries the same fields and values
  (the stored measure's own state, decoded): events/s of each, and the ratio (target >= 0.5, aim 0.8);
- `bulk.*`: one `import_measures` of --rows measures (one command, one save, one event per measure) against the
  bare library saving as many such events (one aggregate each, made beforehand) in one save: events/s of each
  over the timed part, and the ratio (target >= 0.8). The library's side times its save only, its most
  favourable figure; progres's side times the whole command (validation included).
Single commands and bare saves alternate one by one (rates from each round's median durations); bulk imports
and bare bulk saves alternate round by round, the order swapped each round. Each figure is the median of --rounds
rounds; the ratios are medians of the ratios of each round.
`--profile FILE` also writes a cProfile (pstats text, sorted by cumulative time) of --commands single commands, and
FILE.bulk one of a bulk import.
Run: .venv/bin/python bench/commands.py [--members 300 --commands 50 --rows 3600 --rounds 5]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
import uuid
from datetime import date
from typing import Any, ClassVar

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from progres.domain.values import Period
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.settings import Settings
from progres.services.workload import setup_region


class BareMeasure(Aggregate):
    """The bare library's aggregate: one event carrying the fields of a stored measure."""

    @event("Recorded")
    def __init__(self, measure: dict[str, Any]) -> None:
        self.measure = measure


class CachedSettings(Settings):
    """Settings whose application keeps aggregates in the library's cache (the --aggregate-cache experiment)."""

    size: ClassVar[int] = 0

    def eventsourcing_env(self) -> dict[str, str]:
        return {**super().eventsourcing_env(), "AGGREGATE_CACHE_MAXSIZE": str(self.size)}


def emit(figure: str, value: float, unit: str, **extra: Any) -> None:
    print(orjson.dumps({"figure": figure, "value": value, "unit": unit, **extra}).decode(), flush=True)


def median_emit(figure: str, values: list[float], unit: str, digits: int = 0, **extra: Any) -> float:
    value = statistics.median(values)
    emit(figure, round(value, digits) if digits else round(value), unit,
         runs=[round(v, digits) if digits else round(v) for v in values], **extra)
    return value


class Slots:
    """Distinct (member, indicator, month) cells, handed out in order: a measure is recorded once per cell."""

    def __init__(self, lycees: list[str], indicators: int, months: int) -> None:
        self.lycees, self.indicators, self.months, self.next = lycees, indicators, months, 0

    def month_rows(self) -> list[dict[str, Any]]:
        """A month for every member and indicator (an import), from the last month of the marché backwards."""
        month = self.months - 1 - self.next // (len(self.lycees) * self.indicators)
        self.next += len(self.lycees) * self.indicators
        period = Period.month(2022 + month // 12, month % 12 + 1)
        return [{"indicator_key": f"ind_{i}", "member_id": lycee, "period_start": period.start,
                 "period_end": period.end, "value": 90 + n % 7}
                for n, lycee in enumerate(self.lycees) for i in range(self.indicators)]

    def single(self) -> tuple[str, str, Period]:
        """One cell from the first month forwards (imports take months from the last backwards)."""
        n = self.single_next = getattr(self, "single_next", -1) + 1
        per_month = len(self.lycees) * self.indicators
        month = n // per_month
        period = Period.month(2022 + month // 12, month % 12 + 1)
        return self.lycees[n % len(self.lycees)], f"ind_{(n // len(self.lycees)) % self.indicators}", period


def stored_measure(settings: Settings, position: int) -> tuple[dict[str, Any], int]:
    """The state of the event at `position` (a measure recorded), without the library's own envelope fields."""
    with postgres_connect(settings) as connection:
        state = connection.execute(sql.SQL("SELECT state FROM {} WHERE notification_id = %s").format(
            sql.Identifier(settings.postgres_schema, "progres_events")), [position]).fetchone()[0]
    fields = orjson.loads(state)
    for key in ("originator_id", "originator_version", "timestamp", "originator_topic"):
        fields.pop(key, None)
    return fields, len(state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--commands", type=int, default=50, help="single commands (and bare saves) per round")
    parser.add_argument("--rows", type=int, default=0, help="measures per bulk import (default: members × indicators)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="write a cProfile of --commands single commands to this file")
    parser.add_argument("--aggregate-cache", type=int, default=0,
                        help="an experiment of an earlier round: the library's aggregate cache "
                             "(AGGREGATE_CACHE_MAXSIZE, fast-forwarded), beside progres's own cache of context "
                             "aggregates")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    settings: Settings = (CachedSettings if args.aggregate_cache else Settings)(
        store="postgres", postgres_schema=f"i12_cbench_{suffix}")
    CachedSettings.size = args.aggregate_cache
    bare_schema = settings.postgres_schema + "_bare"
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(bare_schema)))
    app = bootstrap(settings)
    bare = Application(env={**settings.eventsourcing_env(), "POSTGRES_SCHEMA": bare_schema, "CREATE_TABLE": "y",
                            "PERSISTENCE_MODULE": "eventsourcing.postgres"})
    try:
        run(app, bare, settings, args)
    finally:
        app.close()
        bare.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, bare_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run(app: Any, bare: Application, settings: Settings, args: argparse.Namespace) -> None:
    region, lycees, plan = setup_region(app, args.members, args.indicators, args.months)
    slots = Slots(lycees, args.indicators, args.months)
    declared = date(2026, 1, 15)

    def command() -> int:
        member, indicator, period = slots.single()
        return app.record_measure(plan, indicator, member, period.start, period.end, "saisie", region,
                                  declared_on=declared, value=90).position

    def bulk(rows: list[dict[str, Any]]) -> None:
        app.import_measures(plan, rows, region, declared, "fichier d'achats mensuel")

    fields, stored_bytes = stored_measure(settings, command())
    for _ in range(5):  # warm both sides (connections, caches)
        command()
        bare.save(BareMeasure(fields))
    emit("event.bytes", stored_bytes, "bytes", bare_bytes=bare_event_bytes(settings),
         what="stored state of one measure event (progres), and of the bare library's event of the same fields")
    emit("setup", args.members, "members", indicators=args.indicators, aggregate_cache=args.aggregate_cache,
         load_average=load_average())

    single: dict[str, list[float]] = {"progres": [], "bare": [], "ratio": []}
    many: dict[str, list[float]] = {"progres": [], "bare": [], "ratio": []}
    rows_per_import = 0
    for round_ in range(args.rounds):
        first = round_ % 2  # who goes first, swapped each round
        interleaved(single, first, command, bare, fields, args.commands)
        rows = slots.month_rows()
        if args.rows:
            rows = (rows * (args.rows // len(rows) + 1))[:args.rows]
        rows_per_import = len(rows)
        paired(many, first, lambda rows=rows: len(rows) / seconds(lambda: bulk(rows)),
               lambda rows=rows: len(rows) / seconds(lambda: bare.save(*[BareMeasure(fields) for _ in rows])))

    median_emit("single.progres_record_measure.events_per_second", single["progres"], "events/s",
                commands=args.commands, rounds=args.rounds)
    median_emit("single.bare_library_save.events_per_second", single["bare"], "events/s")
    median_emit("single.ratio", single["ratio"], "ratio", digits=3, target=">= 0.5 (aim 0.8)")
    median_emit("bulk.progres_import_measures.events_per_second", many["progres"], "events/s", rows=rows_per_import)
    median_emit("bulk.bare_library_save.events_per_second", many["bare"], "events/s", rows=rows_per_import)
    median_emit("bulk.ratio", many["ratio"], "ratio", digits=3, target=">= 0.8")
    emit("single.context_refreshes", app.stale_contexts, "commands",
         what="commands whose cached plan, groupement or marché had moved on (read again): none expected here")
    emit("load_average", 0, "", load_average=load_average())
    if args.profile:
        write_profile(command, args.commands, args.profile)
        rows = slots.month_rows()
        write_profile(lambda: bulk(rows), 1, args.profile + ".bulk")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def seconds(work: Any) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


def interleaved(figures: dict[str, list[float]], first: int, command: Any, bare: Application, fields: dict[str, Any],
                count: int) -> None:
    """`count` commands and `count` bare saves (one new aggregate, one event, made beforehand) alternated one by
    one, the order swapped each pair, so that both meet the same load; rates from the median durations."""
    progres, library = [], []
    aggregates = [BareMeasure(fields) for _ in range(count)]
    for index, aggregate in enumerate(aggregates):
        for side in ((0, 1) if (index + first) % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            if side == 0:
                command()
                progres.append(time.perf_counter() - t)
            else:
                bare.save(aggregate)
                library.append(time.perf_counter() - t)
    figures["progres"].append(1 / statistics.median(progres))
    figures["bare"].append(1 / statistics.median(library))
    figures["ratio"].append(statistics.median(library) / statistics.median(progres))


def paired(figures: dict[str, list[float]], first: int, progres: Any, bare: Any) -> None:
    rates = {}
    for side in ((0, 1) if first == 0 else (1, 0)):
        rates[side] = progres() if side == 0 else bare()
    figures["progres"].append(rates[0])
    figures["bare"].append(rates[1])
    figures["ratio"].append(rates[0] / rates[1])


def bare_event_bytes(settings: Settings) -> int:
    with postgres_connect(settings) as connection:
        row = connection.execute(sql.SQL("SELECT length(state) FROM {} ORDER BY notification_id DESC LIMIT 1").format(
            sql.Identifier(settings.postgres_schema + "_bare", "application_events"))).fetchone()
    return int(row[0])


def write_profile(command: Any, count: int, path: str) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(count):
        command()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(40)
    with open(path, "w") as file:
        file.write(out.getvalue())
    emit("profile.written", count, "commands", file=path)


if __name__ == "__main__":
    main()

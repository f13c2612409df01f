"""Benchmark of the read models on a generated "Région" workload, on PostgreSQL (issue 12, must-show 2).

Workload: N member lycées (--members, 300 by default), 12 monthly indicators, 4 years of measures
(300 members: 172,800 measures, about 175,000 events), imported month by month (one command of N × 12 rows
each). Prints JSON lines `{"figure", "value", "unit", "members", ...}` from one run:
- `setup.seconds`: the set-up before the measures (organisations, groupement, one admission per member, marché,
  plan, indicators, one purchase volume per member), with each phase's seconds and the mean admission (--setup-only:
  this and nothing else);
- `append.events_per_second`: the monthly imports;
- `raw_read.events_per_second`: reading the same events table with psycopg (SELECT + orjson decode), the
  ceiling, measured in the same run;
- `rebuild.events_per_second` and `rebuild.ratio_to_raw_read` (target >= 0.40), and the fold alone (reading and
  folding); the rebuild's line also gives when each of its phases ended and this process's CPU time (all threads)
  against the raw read's (`cpu_ratio_to_raw_read`: raw read CPU / rebuild CPU; the database's work is not in it);
- `audit_verify.seconds`: the hash chain over the whole log;
- `as_of_balance.ms`: the plan balance as of a time in the third year with its first page of 20 members (median
  of 3; target < 100 ms); `as_of_balance.whole_ms` with every member's breakdown; `as_of_balance.replayed_ms`,
  the former reconstruction (checkpoints merged, facts replayed, the whole balance) in the same run, and the
  ratios (`as_of_balance.speedup`); the answers are checked equal;
- `new_measure.visible_ms` p50 / p95 / max: one `record_measure` command, from before the command until the
  member's view (read from the store as a server reads it) carries the measure's position, with a follower
  thread projecting the log as a server's does (LISTEN/NOTIFY), over --measures measures one after the
  other (target p95 < 50 ms, flat across sizes); `new_measure.command_ms` is the command alone;
  `new_measure.cpu_ms` the CPU time of this process (all threads: command, follower, reader) over the same span,
  which the load of a shared machine moves much less than wall time (PostgreSQL's own CPU is not in it);
- `peak_memory.maxrss_mb`: the process's peak resident set (resource.getrusage ru_maxrss), the whole run.
`--only rebuild --repeats 5`: the workload, then the raw read and the rebuild alternated 5 times (each pair printed)
and `rebuild.ratio_to_raw_read` with `statistic: median` last, then the peak memory.
With `--sizes 30,300` each size runs in its own process (so that each peak memory is its own), then
`new_measure.p95_ratio` compares the largest size with the smallest (target < 1.5 for 3,000/30).
Run: .venv/bin/python bench/projections.py [--members 300 --indicators 12 --months 48 --measures 30]
     .venv/bin/python bench/projections.py --members 300 --only rebuild --repeats 5
     .venv/bin/python bench/projections.py --sizes 30,300
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
from psycopg import sql

from progres.domain.values import Period
from progres.projections.as_of import AsOf, paused_gc
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import rebuild
from progres.services.audit import verify
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.read_models import ReadModels, open_store
from progres.services.settings import Settings
from progres.services.workload import import_months, setup_region

SIZE = {"members": 0}  # set by main: every figure carries the size it was measured at
PAGE = 20  # the first page of a balance's members (bench/graphql.py reads planBalance's first 20)


def emit(figure: str, value: float, unit: str, **extra: Any) -> None:
    print(orjson.dumps({"figure": figure, "value": value, "unit": unit, **SIZE, **extra}).decode(), flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--measures", type=int, default=30, help="new measures timed until visible")
    parser.add_argument("--sizes", help="comma-separated member counts, each run in its own process")
    parser.add_argument("--only", choices=["new_measure", "as_of", "rebuild"],
                        help="new_measure: the workload, its rebuild (the follower's state) and the new measures only "
                             "(no raw read, rebuild figures, audit nor as-of); as_of: the workload, its rebuild (not "
                             "timed) and the as-of balance only; rebuild: the workload, then the raw read and the "
                             "rebuild --repeats times (the median ratio last), nothing else")
    parser.add_argument("--repeats", type=int,
                        help="as-of balance: calls timed of each kind (median; default 3); --only rebuild: raw reads "
                             "and rebuilds alternated (default 1)")
    parser.add_argument("--setup-only", action="store_true", help="the setup (setup.seconds) and nothing else")
    parser.add_argument("--profile", metavar="PATH",
                        help="cProfile, stats written to PATH (pstats; timings are then not comparable): with --only "
                             "as_of, one more first-page as-of call; otherwise the follower thread while the new "
                             "measures are projected (from its first batch after its start)")
    args = parser.parse_args()
    if args.sizes:
        run_sizes(args)
        return
    SIZE["members"] = args.members
    with throwaway_postgres() as (settings, app, store):
        run(app, store, settings, args)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[tuple[Settings, Any, Any]]:
    """An application and a views store on PostgreSQL (as configured by PROGRES_POSTGRES_*) in schemas of their own,
    dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(store="postgres", postgres_schema=f"bench_events_{suffix}",
                        views_schema=f"bench_views_{suffix}")
    app = bootstrap(settings)
    store = open_store(settings)
    try:
        yield settings, app, store
    finally:
        app.close()
        store.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run_sizes(args: argparse.Namespace) -> None:
    """Each size in a child process (its own peak memory); the p95 of the new measure compared across sizes."""
    p95: dict[int, float] = {}
    for members in (int(x) for x in args.sizes.split(",")):
        command = [sys.executable, __file__, "--members", str(members), "--indicators", str(args.indicators),
                   "--months", str(args.months), "--measures", str(args.measures),
                   *(["--repeats", str(args.repeats)] if args.repeats else []),
                   *(["--only", args.only] if args.only else [])]
        command += ["--setup-only"] if args.setup_only else []
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                print(line, end="", flush=True)
                figure = orjson.loads(line)
                if figure["figure"] == "new_measure.visible_ms" and figure.get("statistic") == "p95":
                    p95[members] = figure["value"]
        if child.returncode:
            raise SystemExit(child.returncode)
    if len(p95) >= 2:
        small, large = min(p95), max(p95)
        SIZE["members"] = large
        emit("new_measure.p95_ratio", round(p95[large] / p95[small], 2), "ratio", baseline_members=small,
             target="< 1.5 (3000/30)")


def run(app: Any, store: Any, settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    # The marché lasts one month more than the measures imported: the new measures go into that month.
    phases: dict[str, float] = {}
    region, lycees, plan = setup_region(app, args.members, args.indicators, args.months + 1, timings=phases)
    setup_seconds = time.perf_counter() - started
    emit("setup.seconds", round(setup_seconds, 1), "s", **{f"{k}_seconds": round(v, 1) for k, v in phases.items()},
         admission_ms=round(phases["admissions"] * 1000 / args.members, 1),
         what="organisations, groupement, one admission per member, marché, plan, indicators, one purchase volume "
              "per member: one command each", load_average=load_average())
    emit("setup.events", app.max_notification_id(), "events", seconds=round(setup_seconds, 1))
    if args.setup_only:
        return

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
    emit("append.events_per_second", round(appended / append_seconds), "events/s", measures=appended, head=head,
         months=args.months, indicators=args.indicators)

    if args.only == "new_measure":
        rebuild(app, store, "bench_v1")  # the state the follower starts from, as below (not timed here)
        new_measures(app, settings, region, lycees, plan, args)
        return
    if args.only == "as_of":
        rebuild(app, store, "bench_v1")  # the rows as-of reads (not timed here)
        as_of_balance(app, store, plan, third_year_position, runs=args.repeats or 3, profile=args.profile)
        return

    if args.only == "rebuild":
        rebuilds(settings, app, store, args.repeats or 1)
        emit_peak_memory()
        return
    raw_rate, raw_cpu = raw_read(settings)
    rebuild_figures(app, store, raw_rate, raw_cpu)

    t = time.perf_counter()
    verification = verify(settings)
    assert verification.intact, verification.finding
    emit("audit_verify.seconds", round(time.perf_counter() - t, 2), "s", events=verification.checked)

    as_of_balance(app, store, plan, third_year_position, runs=args.repeats or 3)

    new_measures(app, settings, region, lycees, plan, args)
    emit_peak_memory()


def emit_peak_memory() -> None:
    emit("peak_memory.maxrss_mb", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "MB",
         what="resource.getrusage(RUSAGE_SELF).ru_maxrss of this process, the whole run (workload, rebuild, "
              "follower)", load_average=load_average())


def raw_read(settings: Settings) -> tuple[float, float]:
    """The baseline: the events table read with psycopg and each state decoded (events/s, CPU seconds)."""
    table = sql.Identifier(settings.postgres_schema, "progres_events")
    t, cpu = time.perf_counter(), time.process_time()
    count = 0
    with postgres_connect(settings) as connection, connection.cursor(name="raw") as cursor:
        cursor.itersize = 5000
        cursor.execute(sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
                               "ORDER BY notification_id").format(table))
        for row in cursor:
            orjson.loads(row[4])
            count += 1
    raw_rate = count / (time.perf_counter() - t)
    raw_cpu = time.process_time() - cpu
    emit("raw_read.events_per_second", round(raw_rate), "events/s", events=count, cpu_seconds=round(raw_cpu, 2),
         what="psycopg server-side cursor SELECT + orjson.loads of each state", load_average=load_average())
    return raw_rate, raw_cpu


def rebuild_figures(app: Any, store: Any, raw_rate: float, raw_cpu: float) -> float:
    """One full rebuild, its figures against the raw read measured just before; returns its ratio to the raw read."""
    cpu = time.process_time()
    result = rebuild(app, store, "bench_v1")
    rebuild_cpu = time.process_time() - cpu
    rebuild_rate = result["events"] / result["seconds"]
    fold_rate = result["events"] / result["fold_seconds"]
    # When each phase of the rebuild ended, from its start (views_seconds: how long making the views took), and the
    # CPU time of this process (all threads; the database's own work is not in it) against the raw read's.
    phases = {k: round(v, 2) for k, v in result.items() if k.endswith("_seconds") and k != "fold_seconds"}
    emit("rebuild.events_per_second", round(rebuild_rate), "events/s", events=result["events"],
         seconds=round(result["seconds"], 2), **phases, cpu_seconds=round(rebuild_cpu, 2),
         cpu_ratio_to_raw_read=round(raw_cpu / rebuild_cpu, 3) if rebuild_cpu else None)
    ratio = rebuild_rate / raw_rate
    emit("rebuild.ratio_to_raw_read", round(ratio, 3), "ratio", target=">= 0.40", load_average=load_average())
    emit("rebuild.fold_events_per_second", round(fold_rate), "events/s",
         ratio_to_raw_read=round(fold_rate / raw_rate, 3))
    return ratio


def rebuilds(settings: Settings, app: Any, store: Any, repeats: int) -> None:
    """--only rebuild: the raw read and a full rebuild, one after the other, `repeats` times; the median ratio."""
    ratios = []
    for _ in range(repeats):
        raw_rate, raw_cpu = raw_read(settings)
        ratios.append(rebuild_figures(app, store, raw_rate, raw_cpu))
    emit("rebuild.ratio_to_raw_read", round(statistics.median(ratios), 3), "ratio", statistic="median",
         runs=[round(r, 3) for r in ratios], target=">= 0.40 (aim 0.60)", load_average=load_average())


def as_of_balance(app: Any, store: Any, plan: str, third_year_position: int, runs: int = 3,
                  profile: str | None = None) -> None:
    """The plan balance as of a time in the third year (from rows), and in the same run the former way (the
    checkpoints merged and every fact since replayed, `AsOf.replayed_ledger`): both timed, alternated, equal."""
    as_of = AsOf(app, store, "bench_v1")
    timestamp = store.history("bench_v1", {}, after=third_year_position - 1, limit=1)[0]["timestamp"]
    timings: list[float] = []
    cpu: list[float] = []  # this process's CPU time for the first page (the database's work is not in it)
    whole: list[float] = []
    replayed: list[float] = []
    # The collector's passes inside the timed calls: the former way below makes millions of objects with the collector
    # paused, and what it leaves (its balance) would be walked by the next pass, inside the next timed call (30-130 ms
    # at 1,000 members): each timed call starts after a collection of what the bench made before it (`gc.collect()`,
    # not timed), and the time of the passes inside it is printed (`gc_ms`).
    collecting = Collecting()
    gc.callbacks.append(collecting)
    gc_ms: list[float] = []
    for _ in range(runs):
        gc.collect()
        collecting.spent = 0.0
        t, c = time.perf_counter(), time.process_time()
        page = as_of.plan_balance(plan, timestamp=timestamp, first=PAGE)
        timings.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        gc_ms.append(collecting.spent * 1000)
        gc.collect()
        t = time.perf_counter()
        balance = as_of.plan_balance(plan, timestamp=timestamp)
        whole.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        position = as_of.position_for(timestamp=timestamp)
        groupement = store.route("bench_v1", plan).groupement_id
        with paused_gc():
            before = plan_balance(as_of.replayed_ledger(groupement, position), plan)
        replayed.append((time.perf_counter() - t) * 1000)
    assert balance["position"] == third_year_position
    assert balance == before, "the as-of balance from rows differs from the replayed one"
    shown = list(balance["members"])[:PAGE]
    assert page == {**balance, "members": {m: balance["members"][m] for m in shown},
                    "parties": {m: balance["parties"][m] for m in shown}}
    assert as_of.made_whole == 0, "as-of did not start from a checkpoint's series"
    gc.callbacks.remove(collecting)
    if profile:
        gc.collect()
        profiler = cProfile.Profile()
        profiler.enable()
        as_of.plan_balance(plan, timestamp=timestamp, first=PAGE)
        profiler.disable()
        profiler.dump_stats(profile)
    emit("as_of_balance.ms", round(statistics.median(timings), 1), "ms", runs=[round(x, 1) for x in timings],
         position=third_year_position, target="< 100", members_shown=PAGE, load_average=load_average(),
         # members' breakdowns made from their summary rows (projections/breakdowns.py), over all the reads above
         from_summaries=as_of.from_summaries,
         # period figures read from their rows instead of made again (projections/period_figures.py), same reads
         from_figure_rows=as_of.from_figure_rows,
         what="the balance with its first page of members, as planBalance's first page")
    emit("as_of_balance.cpu_ms", round(statistics.median(cpu), 1), "ms", runs=[round(x, 1) for x in cpu],
         gc_ms=[round(x, 1) for x in gc_ms],
         what="this process's CPU time for the first page (all threads; PostgreSQL's work is not in it); gc_ms: the "
              "cyclic collector's passes inside each call")
    emit("as_of_balance.whole_ms", round(statistics.median(whole), 1), "ms", runs=[round(x, 1) for x in whole],
         what="the balance with every member's breakdown")
    emit("as_of_balance.replayed_ms", round(statistics.median(replayed), 1), "ms",
         runs=[round(x, 1) for x in replayed], what="the former way, same run: checkpoints merged, facts replayed")
    emit("as_of_balance.speedup", round(statistics.median(replayed) / statistics.median(timings), 1), "ratio",
         whole=round(statistics.median(replayed) / statistics.median(whole), 1))


class Collecting:
    """A `gc.callbacks` entry adding up the time of the collector's passes."""

    def __init__(self) -> None:
        self.spent, self.started = 0.0, 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.spent += time.perf_counter() - self.started


def new_measures(app: Any, settings: Settings, region: str, lycees: list[str], plan: str,
                 args: argparse.Namespace) -> None:
    """One measure at a time: the command, then the member's view read from the store until it carries it."""
    models = ReadModels.open(app, settings)
    stop = threading.Event()
    follow = models.follow
    if args.profile:
        follow = profiled(models, args.profile)
    follower = threading.Thread(target=follow, args=(settings, stop.is_set, 1.0), daemon=True)
    reader = open_store(settings)  # the reads a server makes, on their own connection
    try:
        follower.start()
        t = time.perf_counter()
        head = app.max_notification_id() or 0
        # The follower's first pass loads its state (a server starting): not counted in the measures.
        while not models.follower_up or models.runner.position < head:
            time.sleep(0.05)
        emit("follower.start_seconds", round(time.perf_counter() - t, 2), "s",
             what="the follower loading its state from the store before the first measure")
        period = Period.month(2022 + args.months // 12, args.months % 12 + 1)
        projection = models.projection
        commands, visible, cpu = [], [], []
        for i in range(args.measures):
            member = lycees[(i * 7) % len(lycees)]
            t, c = time.perf_counter(), time.process_time()
            result = app.record_measure(plan, f"ind_{i % args.indicators}", member, period.start, period.end,
                                        "saisie", region, declared_on=date(2026, 1, 15), value=90 + i % 5)
            commands.append((time.perf_counter() - t) * 1000)
            # Woken by the follower's batches (not polling the 138 kB view in a loop, which would take the
            # interpreter lock from the follower), then the view read as a client reads it.
            while True:
                with models.runner.advanced:  # checked under the condition's lock: no notification is missed
                    while models.runner.position < result.position:
                        models.runner.advanced.wait(0.05)
                found = reader.view("member_views", projection, plan, member)
                if found is not None and found[0] >= result.position:
                    break
            visible.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        for name, values in (("new_measure.visible_ms", visible), ("new_measure.command_ms", commands),
                             ("new_measure.cpu_ms", cpu)):
            ordered = sorted(values)
            for statistic, value in (("p50", statistics.median(ordered)),
                                     ("p95", ordered[max(0, round(0.95 * len(ordered)) - 1)]),
                                     ("max", ordered[-1])):
                extra = {"target": "< 50 (p95)", "load_average": load_average()} \
                    if name == "new_measure.visible_ms" and statistic == "p95" else {}
                emit(name, round(value, 1), "ms", statistic=statistic, measures=len(values), **extra)
    finally:
        stop.set()
        follower.join(timeout=60)
        reader.close()
        models.close()


def profiled(models: Any, path: str) -> Any:
    """`models.follow` under cProfile, switched on once the follower is up (its start not counted)."""
    profile = cProfile.Profile()
    on = {"done": False}

    def follow(*args: Any) -> None:
        stop = args[1]

        def stopping() -> bool:
            if models.follower_up and not on["done"]:
                on["done"] = True
                profile.enable()
            return stop()

        try:
            models.follow(args[0], stopping, *args[2:])
        finally:
            profile.disable()
            profile.dump_stats(path)

    return follow


if __name__ == "__main__":
    main()

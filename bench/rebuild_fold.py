"""The full rebuild's Python fold alone, without the database's work (issue 12, must-show 2), on PostgreSQL.

`bench/projections.py --only rebuild` times the whole rebuild: reading the log, the fold, and the database storing the
rows (COPY, indexes), on the same cores. This isolates the part that is Python's: the workload of
`bench/projections.py` (N members, 12 monthly indicators, 48 months) is made, the log's stored records are read into
memory once (`records()`, as the rebuild reads them), then the rebuild's fold (`RebuildFold.feed` over chunks of
5,000, checkpoints every 5,000 positions: the ledgers, routes, history and measure rows, checkpoints, members'
summaries, period figures) and the views made at its end (`derived_views` from the fold's figures, as `rebuild`
makes them) run --repeats times, nothing written. Prints JSON lines:
- `raw_read.events_per_second`: the events table read with psycopg and each state decoded (the baseline of
  `bench/projections.py`), measured in the same run, before the folds;
- `fold.cpu_seconds` (median; each run's in `runs`), with the views' part apart (`views_cpu_seconds`);
- `fold.events_per_second`: events / (fold + views) CPU (median), and its ratio to the raw read's events per second
  (`ratio_to_raw_read`: the raw read's wall time / the fold's CPU time; a rebuild at 0.40 of the raw read has 2.5 raw
  reads' time for reading, folding and writing, so the fold alone must be well above 0.40) and to its CPU.
`--profile PATH`: one more fold under cProfile, stats written to PATH (pstats).
Run: .venv/bin/python bench/rebuild_fold.py --members 300 --repeats 3
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from progres.projections.ledger import DIRECTORY
from progres.projections.registry import derived_views
from progres.projections.runner import RebuildFold
from progres.services.workload import import_months, setup_region

# bench/projections.py's baseline and output, loaded by its path (the repository has a `projections` package)
_spec = importlib.util.spec_from_file_location("bench_projections", Path(__file__).with_name("projections.py"))
assert _spec is not None
assert _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_projections"] = bench
_spec.loader.exec_module(bench)
CHUNK = 5000


def fold_once(store: Any, chunks: list[list[Any]], head: int) -> tuple[float, float]:
    """One fold of the records and the views at its end, as `rebuild` makes them: (fold CPU, views CPU)."""
    gc.disable()  # as the rebuild does
    try:
        cpu = time.process_time()
        fold = RebuildFold(store, "bench_fold", CHUNK)
        for chunk in chunks:
            fold.feed(chunk)
        folded = time.process_time() - cpu
        state = fold.state
        state.position = max(state.position, head)
        for g, ledger in state.ledgers.items():
            figures = (fold.figures_at_end(g, ledger, state.position)
                       if g != DIRECTORY and ledger.get("groupement") is not None else None)
            derived_views(ledger, None, figures)
        views = time.process_time() - cpu - folded
        del fold, state
    finally:
        gc.enable()
        gc.collect()
    return folded, views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", metavar="PATH")
    args = parser.parse_args()
    bench.SIZE["members"] = args.members
    with bench.throwaway_postgres() as (settings, app, store):
        region, lycees, plan = setup_region(app, args.members, 12, 49, timings={})
        for _ in import_months(app, plan, region, lycees, 12, 48):
            pass
        raw_rate, raw_cpu = bench.raw_read(settings)
        head = app.max_notification_id() or 0
        records = list(app.records(1, stop=head, batch=CHUNK))
        chunks = [records[i:i + CHUNK] for i in range(0, len(records), CHUNK)]
        runs = [fold_once(store, chunks, head) for _ in range(args.repeats)]
        totals = [f + v for f, v in runs]
        total = statistics.median(totals)
        bench.emit("fold.cpu_seconds", round(total, 3), "s", events=len(records),
                   views_cpu_seconds=round(statistics.median(v for _, v in runs), 3),
                   runs=[round(t, 3) for t in totals], what="RebuildFold over the records held in memory, then the "
                   "views at its end; nothing written", load_average=bench.load_average())
        bench.emit("fold.events_per_second", round(len(records) / total), "events/s",
                   ratio_to_raw_read=round(len(records) / total / raw_rate, 3),
                   cpu_ratio_to_raw_read=round(raw_cpu / total, 3),
                   what="events / fold CPU; ratio_to_raw_read: against the raw read's events per second (its wall "
                        "time / the fold's CPU time: a rebuild at 0.40 has 2.5 raw reads' time for everything); "
                        "cpu_ratio_to_raw_read: raw read CPU / fold CPU")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            fold_once(store, chunks, head)
            profile.disable()
            profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()

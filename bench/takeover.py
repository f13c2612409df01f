"""Benchmark of projection worker takeover on PostgreSQL (issue 18): how long the read models stand still when
the leading `progres projections run --follow` process is SIGKILLed under a steady write load.

Prints JSON lines, from one run:
- baseline: median seconds between two tracking advances of a leader nobody kills, under the same load;
- takeover median / max / min: from the SIGKILL to the first tracking advance by another worker, over --kills;
- its parts: median time until the victim's lock is released (its session ended), and until another worker
  holds it (the rest is loading the reducer state and projecting the first batch);
- the ratio of the median takeover to the baseline gap.
Run: .venv/bin/python bench/takeover.py [--workers 3 --kills 10 --retry 0.5]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import uuid
from pathlib import Path

from psycopg import sql

from progres.projections.runner import FIRST_GENERATION
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.read_models import open_store
from progres.services.settings import Settings
from progres.services.worker_drill import Drill, WriteLoad, worker_pool


def emit(figure: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"figure": figure, "value": round(value, 4), "unit": unit, **extra}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--retry", type=float, default=0.5, help="PROGRES_WORKER_RETRY_SECONDS of the workers")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(store="postgres", postgres_schema=f"bench_workers_{suffix}",
                            views_schema=f"bench_workers_views_{suffix}", data_dir=Path(data_dir))
        app = bootstrap(settings)
        store = open_store(settings)
        try:
            load = WriteLoad(app)
            load.prepare()
            with worker_pool(settings, args.workers, Path(data_dir), PROGRES_WORKER_RETRY_SECONDS=str(args.retry),
                             PROGRES_PROJECTION_BATCH_SIZE="20", PROGRES_PROJECTION_MAX_BATCH_SIZE="200") as workers:
                drill = Drill(settings, store, FIRST_GENERATION, workers)
                drill.wait_for_leader()
                drill.wait_registered()
                load.start()
                try:
                    gaps = drill.advance_gaps(args.baseline_seconds)
                    drill.run(kills=args.kills)
                finally:
                    load.finish()
            if load.errors:
                raise SystemExit(f"the write load failed: {load.errors[0]!r}")
            baseline = statistics.median(gaps)
            figures = drill.figures()
            context = {"workers": args.workers, "kills": args.kills, "retry_seconds": args.retry,
                       "writes": len(load.acknowledged)}
            emit("advance_gap_median_baseline", baseline, "s", **context)
            for name in ("median", "max", "min"):
                emit(f"takeover_{name}", figures[name], "s", **context)
            for part in ("released", "elected"):
                emit(f"takeover_{part}_median", statistics.median(getattr(t, part) for t in drill.takeovers), "s",
                     **context)
            emit("takeover_median_over_baseline", figures["median"] / baseline, "ratio", **context)
        finally:
            store.close()
            app.close()
            with postgres_connect(settings, autocommit=True) as connection:
                for schema in (settings.postgres_schema, settings.views_schema):
                    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()

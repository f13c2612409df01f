"""Benchmark: the seed scenario (`progres demo`) on the embedded SQLite store and on PostgreSQL.

Prints, for each store, the commands run, the events written, the wall time and events per second.
Run: .venv/bin/python bench/demo.py [--repeat N]   (PostgreSQL as configured by PROGRES_POSTGRES_*;
a throw-away schema is created and dropped.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.settings import Settings


def run_once(settings: Settings) -> tuple[int, int, float]:
    app = bootstrap(settings)
    try:
        started = time.perf_counter()
        scenario = run_seed_scenario(app)
        elapsed = time.perf_counter() - started
        return scenario.commands, app.max_notification_id() or 0, elapsed
    finally:
        app.close()


def sqlite_settings(directory: Path) -> Settings:
    return Settings(store="sqlite", data_dir=directory / uuid.uuid4().hex)


def postgres_settings() -> Settings:
    return Settings(store="postgres", postgres_schema=f"bench_{uuid.uuid4().hex[:10]}")


def drop_schema(settings: Settings) -> None:
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.postgres_schema)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'store':<10} {'commands':>8} {'events':>7} {'median s':>9} {'events/s':>9}")
    with tempfile.TemporaryDirectory() as directory:
        for name in ("sqlite", "postgres"):
            times = []
            for _ in range(args.repeat):
                settings = sqlite_settings(Path(directory)) if name == "sqlite" else postgres_settings()
                try:
                    commands, events, elapsed = run_once(settings)
                finally:
                    if name == "postgres":
                        drop_schema(settings)
                times.append(elapsed)
            median = statistics.median(times)
            print(f"{name:<10} {commands:>8} {events:>7} {median:>9.3f} {events / median:>9.0f}")


if __name__ == "__main__":
    main()

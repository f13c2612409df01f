"""Benchmark of the tamper evidence on PostgreSQL, on the generated "Région" workload (bench/projections.py).

Default workload: 300 member lycées, 12 monthly indicators, 4 years of measures (about 175,000 events).
Prints JSON lines, each figure the median of --repeats runs, from one run of the script:
- `verify`: the keyed chain and the RFC 9162 tree over the whole log (what `progres audit verify` does
  before the snapshots), in events/s;
- `ceiling_hash`: hashlib.sha256(bytes).digest() over the same canonical bytes, already in memory (the raw
  hashing rate, the issue's ceiling);
- `ceiling_read_hash`: the same bytes streamed by the same binary COPY (without the chain) and hashed;
- `read_only`: verify's own read (the same pages), nothing hashed: what the store can hand a verifier at most;
  each repeat measures the four in turn (same load), and the ratios are medians of the repeats' ratios;
  `process_cpu_us_per_event` is this process's CPU time (all threads), `postgres_cpu_us_per_event` the CPU
  time of the PostgreSQL backend that produced the rows (read from /proc: Linux, local server only);
- `command`: the time of a one-event command with the keyed chain and without it (the library's plain
  recorder), on two fresh schemas alike but for the chain, alternating command by command, and the added
  cost (wall time, and this process's CPU time);
- `snapshots`: the time to check every snapshot against its events.
Run: .venv/bin/python bench/audit.py [--members 300 --indicators 12 --months 48 --repeats 3 --commands 300
     --rounds 9] [--only-commands]
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas and data directory are removed.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services import audit
from progres.services.audit_chain import CANONICAL_SQL
from progres.services.audit_keys import load_keyring
from progres.services.bootstrap import bootstrap, ensure_postgres_schema, install_event_notifications, postgres_connect
from progres.services.commands import Progres
from progres.services.settings import Settings
from progres.services.workload import build_region


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def timed(function: Any, repeats: int) -> tuple[float, list[float], Any]:
    runs, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs, result


def backend_cpu(connection: Any) -> float:
    """CPU seconds used so far by the PostgreSQL backend process of `connection` (Linux, local server), or nan."""
    try:
        fields = Path(f"/proc/{connection.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds of the command comparison")
    parser.add_argument("--only-commands", action="store_true", help="skip the workload and verify figures")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(store="postgres", postgres_schema=f"bench_audit_{suffix}", data_dir=Path(directory))
        plain = Settings(store="postgres", postgres_schema=f"bench_plain_{suffix}", data_dir=Path(directory))
        try:
            run(settings, plain, args)
        finally:
            with postgres_connect(settings, autocommit=True) as connection:
                for schema in (settings.postgres_schema, plain.postgres_schema, plain.postgres_schema + "_keyed"):
                    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run(settings: Settings, plain: Settings, args: argparse.Namespace) -> None:
    if not args.only_commands:
        verify_figures(settings, args)
    # Commands on two fresh stores alike but for the chain: the keyed recorder, and the library's own.
    keyed_settings = plain.model_copy(update={"postgres_schema": plain.postgres_schema + "_keyed"})
    keyed = bootstrap(keyed_settings)
    ensure_postgres_schema(plain)
    unkeyed = Progres(env=plain.eventsourcing_env(), retries=plain.command_retries)
    install_event_notifications(plain)  # the same triggers as the keyed store: only the chain differs
    try:
        command_cost(keyed, unkeyed, args)
    finally:
        unkeyed.close()
        keyed.close()


def verify_figures(settings: Settings, args: argparse.Namespace) -> None:
    app = bootstrap(settings)
    t = time.perf_counter()
    build_region(app, args.members, args.indicators, args.months)
    events = app.max_notification_id() or 0
    emit(step="workload", events=events, seconds=round(time.perf_counter() - t, 1))

    keyring = load_keyring(settings, create=False)
    reader = audit.LogReader(settings)
    datas = [row[1] for row in reader.entries()]
    size = sum(len(d) for d in datas)
    emit(step="machine", cores=os.cpu_count(), load_average=[round(x, 2) for x in os.getloadavg()])

    def verify_once() -> int:
        walk, finding = audit.walk_log(reader, keyring.secrets())
        assert finding is None, finding
        return walk.checked

    def hash_in_memory() -> int:
        """The ceiling the issue names: hashlib over the same bytes, already in memory, one call a digest."""
        sha256 = hashlib.sha256
        for data in datas:
            sha256(data).digest()
        return len(datas)

    server_cpu: dict[str, list[float]] = {"ceiling_read_hash": [], "read_only": []}

    def read_and_hash() -> int:
        """The same canonical bytes by a binary COPY (without the chain join), each row hashed."""
        count, sha256 = 0, hashlib.sha256
        with postgres_connect(settings) as connection, connection.cursor() as cursor:
            before = backend_cpu(connection)
            with cursor.copy(sql.SQL("COPY (SELECT notification_id, " + CANONICAL_SQL + " FROM {} ORDER BY "
                                     "notification_id) TO STDOUT (FORMAT BINARY)").format(
                    sql.Identifier(settings.postgres_schema, "progres_events"))) as copy:
                copy.set_types(["int8", "bytea"])
                for _, data in copy.rows():
                    sha256(data).digest()
                    count += 1
            server_cpu["ceiling_read_hash"].append((backend_cpu(connection) - before) / count)
        return count

    def read_only() -> int:
        """Verify's own read (the same pages of events beside their chain rows), nothing hashed: how fast the
        store hands a verifier its rows, and the CPU PostgreSQL spends on them."""
        count, after = 0, 0
        with postgres_connect(settings) as connection:
            before, cursor = backend_cpu(connection), connection.cursor(binary=True)
            while batch := cursor.execute(reader.page_sql(), {"after": after, "rows": audit.PAGE}).fetchall():
                count, after = count + len(batch), batch[-1][0]
            server_cpu["read_only"].append((backend_cpu(connection) - before) / count)
        return count

    figures = {"verify": verify_once, "ceiling_hash": hash_in_memory, "ceiling_read_hash": read_and_hash,
               "read_only": read_only}
    rates: dict[str, list[float]] = {name: [] for name in figures}
    cpu: dict[str, list[float]] = {name: [] for name in figures}
    for _ in range(args.repeats):  # interleaved: each repeat measures every figure under the same load
        for name, function in figures.items():
            t, c = time.perf_counter(), time.process_time()
            count = function()
            cpu[name].append((time.process_time() - c) / count)
            rates[name].append(count / (time.perf_counter() - t))

    def ratio(name: str, to: str) -> float:
        return round(statistics.median(a / b for a, b in zip(rates[name], rates[to], strict=True)), 3)

    for name in figures:
        emit(step=name, events=len(datas), mean_event_bytes=round(size / len(datas)),
             events_per_s=round(statistics.median(rates[name])), runs=[round(r) for r in rates[name]],
             process_cpu_us_per_event=round(statistics.median(cpu[name]) * 1e6, 2),
             **({} if name in ("ceiling_hash",) else {"ratio_to_ceiling_hash": ratio(name, "ceiling_hash")}),
             **({"ratio_to_ceiling_read_hash": ratio(name, "ceiling_read_hash")} if name == "verify" else {}),
             **({"ratio_to_read_only": ratio(name, "read_only")} if name == "verify" else {}),
             **({"postgres_cpu_us_per_event": round(statistics.median(server_cpu[name]) * 1e6, 2)}
                if server_cpu.get(name) and not math.isnan(server_cpu[name][0]) else {}))
    emit(step="machine", load_average=[round(x, 2) for x in os.getloadavg()])

    snapshot_seconds, _, finding = timed(lambda: audit.check_snapshots(settings, reader, app), 1)
    assert finding is None, finding
    emit(step="snapshots", seconds=round(snapshot_seconds, 3))

    app.close()


def command_cost(keyed: Progres, unkeyed: Progres, args: argparse.Namespace) -> None:
    """One-event commands (an organisation registered), keyed and unkeyed alternating command by command (the
    order swapped every command), so that the machine's drift over seconds weighs on both alike. Per round:
    the mean wall time and this process's CPU time per command; over all commands: the median of the ratios
    of each adjacent keyed/unkeyed pair."""
    targets = {"keyed": keyed, "unkeyed": unkeyed}
    wall: dict[str, list[float]] = {"keyed": [], "unkeyed": []}
    cpu: dict[str, list[float]] = {"keyed": [], "unkeyed": []}
    pairs: list[float] = []
    for round_ in range(args.rounds):
        spent = {name: [0.0, 0.0] for name in targets}
        for n in range(args.commands):
            one: dict[str, float] = {}
            for name in ("keyed", "unkeyed") if n % 2 == 0 else ("unkeyed", "keyed"):
                siret = siret_with_key(f"{3 if name == 'keyed' else 4}{round_:02d}{n:06d}0001"[:13])
                t, c = time.perf_counter(), time.process_time()
                targets[name].register_organisation(siret, f"Org {n}", "eple")
                one[name] = time.perf_counter() - t
                spent[name][0] += one[name]
                spent[name][1] += time.process_time() - c
            pairs.append(one["keyed"] / one["unkeyed"])
        for name in targets:
            wall[name].append(spent[name][0] / args.commands)
            cpu[name].append(spent[name][1] / args.commands)
    keyed_ms, unkeyed_ms = (statistics.median(wall[k]) * 1000 for k in ("keyed", "unkeyed"))
    keyed_cpu, unkeyed_cpu = (statistics.median(cpu[k]) * 1000 for k in ("keyed", "unkeyed"))
    paired = statistics.median(k / u for k, u in zip(wall["keyed"], wall["unkeyed"], strict=True))
    emit(step="command", command="register_organisation", commands_per_round=args.commands, rounds=args.rounds,
         keyed_ms=round(keyed_ms, 3), unkeyed_ms=round(unkeyed_ms, 3),
         added_percent=round(100 * (keyed_ms - unkeyed_ms) / unkeyed_ms, 1),
         added_percent_paired_rounds=round(100 * (paired - 1), 1),
         added_percent_paired_commands=round(100 * (statistics.median(pairs) - 1), 1),
         keyed_cpu_ms=round(keyed_cpu, 3), unkeyed_cpu_ms=round(unkeyed_cpu, 3),
         added_cpu_percent=round(100 * (keyed_cpu - unkeyed_cpu) / unkeyed_cpu, 1),
         keyed_runs_ms=[round(x * 1000, 3) for x in wall["keyed"]],
         unkeyed_runs_ms=[round(x * 1000, 3) for x in wall["unkeyed"]])


if __name__ == "__main__":
    main()

"""Benchmark of the GraphQL API: `memberView` and `planBalance` on the 300-member workload, PostgreSQL,
a real `progres serve` process, clients on loopback sending at a fixed rate (open loop).

Prints JSON lines (`figure`, `value` = the p95 in ms, `unit`), per query and repeat: requests sent and failed,
the rate asked and achieved, p50 / p95 / max latency, and the load generator's own CPU seconds over the load's
wall time (it shares the 2 cores with the server); then the median p95 of the --repeats loads. Issue 12,
must-show 4: `memberView` at --view-rate (300 req/s) and `planBalance` at --balance-rate (100 req/s), p95 < 20 ms
each. Beside them, in the same run, the load generator alone: the same client sending `GET /health` (no store,
no GraphQL) at the `memberView` rate, the floor of what this client and the HTTP stack can show. Each load also
reports the server's CPU per request (`server_cpu_ms_per_request`: user + system time of the server's processes,
from /proc, over the load, divided by the requests sent): on shared cores it moves far less than the latencies.
Each load also says which processes used the cores (`cores`: the machine, the server, PostgreSQL with every
session's backends, this generator, the others), over the load and in its slowest second (`worst_second`: the
second, by when requests were due, with the highest p95): whether a slow second is the server's doing or the
machine's other processes'. With PROGRES_DIAGNOSE_PAUSES=1 the server logs its garbage collector's pauses and how
it answered (kept, shared, computed) when it stops (BENCH_SERVER_LOG=file to keep its log).
The server keeps answers of `memberView` and `planBalance` while the read models stay at the same position
(graphql/loaders.py `ResponseCache`): `--response-cache 0` runs it without, to measure what an answer costs to
compute (the first read of each member after a write), `--response-cache N` with N entries.
`planBalance`'s first page: the plan's figures and the first 20 members' breakdowns (`members(first: 20)`).
Run: .venv/bin/python bench/graphql.py [--members 300 --months 48 --view-rate 300 --balance-rate 100
     --seconds 20 --repeats 3 --port 8725 --response-cache 2048]
(the server runs PROGRES_WORKERS workers, 2 unless set)
(PostgreSQL as configured by PROGRES_POSTGRES_*; throw-away schemas are created and dropped.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from psycopg import sql

from progres.projections.ledger import DIRECTORY
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.identity import LocalIssuer
from progres.services.read_models import ReadModels
from progres.services.serving import served
from progres.services.settings import Settings
from progres.services.workload import build_region

# The typed reads a client makes: a member's view with the last year of each indicator, and the first page of the
# balance (its figures and 20 members' breakdowns).
MEMBER_VIEW = ("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position active "
               "indicators { key targetInForce "
               "observations(last: 12) { totalCount edges { node { periodEnd value } } } } "
               "decisions(first: 10) { totalCount edges { node { outcome } } } } }")
BALANCE = ("query($p: ID!) { planBalance(planId: $p) { position final "
           "axes { key objectives { key indicators { key last target status } } } "
           "marche { initialAmount currentAmount cumulativeChangePercent } "
           "members(first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { node { memberId } } } } }")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and its descendants (Linux /proc)."""
    return sum(cpu_of(pids_of(root)).values())


def server_root() -> int:
    """The server process: the child of this process running `serve` (`served` starts it); -1 if none."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if (stat.read_text().rsplit(")", 1)[1].split()[1] == str(os.getpid())
                    and b"serve" in (stat.parent / "cmdline").read_bytes()):
                return int(stat.parent.name)
        except OSError:
            continue
    return -1


def pids_of(root: int) -> list[int]:
    """A process and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return sorted(tree)


def postgres_pids() -> list[int]:
    """Every PostgreSQL process of the machine (its backends serve every session of the machine, not only ours)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process still there."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


def spent(first: dict[int, float], last: dict[int, float]) -> float:
    """CPU seconds spent between two samples by the processes in both (one that ended meanwhile is left out)."""
    return sum(last[pid] - first[pid] for pid in first.keys() & last.keys())


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class Timeline:
    """Samples, every `step` seconds during a load, the cores used by the machine, the server's processes, the
    PostgreSQL processes (all sessions') and this process; `worst` gives, for the second whose requests (by when
    they were due) had the highest p95, what each used then: whether a slow second is the server's doing or the
    other processes' of the machine (docs/performance.md)."""

    def __init__(self, server: int, step: float = 0.25) -> None:
        self.server, self.postgres, self.step = pids_of(server), postgres_pids(), step
        self.samples: list[tuple[float, float, dict[int, float], dict[int, float], float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self) -> tuple[float, float, dict[int, float], dict[int, float], float]:
        return (time.perf_counter(), machine_busy(), cpu_of(self.server), cpu_of(self.postgres), time.process_time())

    def run(self) -> None:
        self.samples.append(self.sample())
        while not self.stop.wait(self.step):
            self.samples.append(self.sample())

    def __enter__(self) -> Timeline:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def cores(self, start: float, end: float) -> dict[str, float]:
        """Cores used between two perf_counter times, by whom."""
        inside = [s for s in self.samples if start - self.step <= s[0] <= end + self.step]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        wall = last[0] - first[0]
        machine, own = (last[1] - first[1]) / wall, (last[4] - first[4]) / wall
        server, postgres = spent(first[2], last[2]) / wall, spent(first[3], last[3]) / wall
        return {"machine": round(machine, 2), "server": round(server, 2), "postgres_all_sessions": round(postgres, 2),
                "generator": round(own, 2), "others": round(machine - server - postgres - own, 2)}


def worst_second(timeline: Timeline, begin: float, rate: float, latencies: list[tuple[int, float]]) -> dict:
    """The second (by when requests were due) with the highest p95, and the cores used in it and the second before."""
    by_second: dict[int, list[float]] = {}
    for i, latency in latencies:
        by_second.setdefault(int(i / rate), []).append(latency)
    p95 = {second: sorted(values)[max(0, int(0.95 * len(values)) - 1)] for second, values in by_second.items()}
    second = max(p95, key=lambda k: p95[k])
    return {"second": second, "p95_ms": round(p95[second] * 1000, 1),
            "cores": timeline.cores(begin + second - 1, begin + second + 1)}


CONNECTIONS = 64  # keep-alive connections of a load; a request due while all are busy waits for one (and that counts)
TIMEOUT = 30.0  # seconds before a request counts as failed


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response: its status and body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = head.lower()
    at = headers.find(b"\r\ncontent-length:")
    if at >= 0:
        length = int(headers[at + 17:headers.index(b"\r\n", at + 2)])
        return status, await reader.readexactly(length)
    body = b""
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def load(url: str, query: str | None, variables, actor, rate: float, seconds: float) -> dict:
    """Sends `rate` requests a second for `seconds` (a GraphQL POST, or a GET of `url` when `query` is None), open
    loop: request i is due at start + i / rate, whatever the answers before it; its latency runs from when it was
    due until its answer is read, so the time a request waits for a free connection counts (no coordinated
    omission). The client is plain asyncio streams over CONNECTIONS keep-alive connections: an HTTP library's
    bookkeeping (httpx's pool scans its waiting requests for each one it places) made the generator the limit
    once requests queued (docs/performance.md)."""
    target = urlsplit(url)
    host, port, path = target.hostname or "127.0.0.1", target.port or 80, target.path or "/"
    latencies: list[float] = []
    timed: list[tuple[int, float]] = []  # (request, latency): the slowest second of the load, with its cores
    cpu = time.process_time()
    server = server_root()
    server_cpu = tree_cpu_seconds(server)
    failures = 0
    total = int(rate * seconds)
    due: asyncio.Queue[int] = asyncio.Queue()

    def request(i: int) -> bytes:
        if query is None:
            return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        body = orjson.dumps({"query": query, "variables": variables(i)})
        headers = "".join(f"{name}: {value}\r\n" for name, value in actor(i).items())
        return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, port)
        while (i := await due.get()) >= 0:
            try:
                writer.write(request(i))
                status, body = await asyncio.wait_for(answer(reader), TIMEOUT)
                # The generator shares the cores with the server: it checks answers without parsing them.
                if status != 200 or b'"errors"' in body[:200]:
                    failures += 1
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                failures += 1  # counted, with its latency, rather than ending the run; then a new connection
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            latencies.append(time.perf_counter() - (begin + i / rate))
            timed.append((i, latencies[-1]))
        writer.close()

    begin = time.perf_counter() + 0.1
    with Timeline(server) as timeline:
        workers = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait(i)
        for _ in workers:
            due.put_nowait(-1)
        await asyncio.gather(*workers)
        elapsed = time.perf_counter() - begin
    latencies.sort()
    return {"sent": total, "failed": failures, "rate": total / elapsed, "asked": rate,
            "client_cpu_share": (time.process_time() - cpu) / elapsed,
            "server_cpu_ms": (tree_cpu_seconds(server) - server_cpu) * 1000 / total,
            "p50": statistics.median(latencies) * 1000, "p95": latencies[int(0.95 * len(latencies)) - 1] * 1000,
            "max": latencies[-1] * 1000, "cores": timeline.cores(begin, begin + elapsed),
            "worst_second": worst_second(timeline, begin, rate, timed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--view-rate", type=float, default=300, help="memberView requests a second")
    parser.add_argument("--balance-rate", type=float, default=100, help="planBalance requests a second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=8725)
    parser.add_argument("--response-cache", type=int, default=None,
                        help="answers the server keeps (PROGRES_GRAPHQL_RESPONSE_CACHE; 0: none; default: its own)")
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
        emit("workload.events", app.max_notification_id() or 0, "events", members=len(lycees),
             seconds=round(time.perf_counter() - started), load_average=[round(x, 2) for x in os.getloadavg()])
        run_server_and_load(settings, region, lycees, plan, args, token_headers(settings, app))
    finally:
        app.close()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def emit(figure: str, value: float, unit: str, **extra: Any) -> None:
    print(orjson.dumps({"figure": figure, "value": value, "unit": unit, **extra}).decode(), flush=True)


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
    if args.response_cache is not None:
        env["PROGRES_GRAPHQL_RESPONSE_CACHE"] = str(args.response_cache)
    emit("server.workers", int(env["PROGRES_WORKERS"]), "workers", view_rate=args.view_rate,
         response_cache=env.get("PROGRES_GRAPHQL_RESPONSE_CACHE", "server default"),
         balance_rate=args.balance_rate, seconds=args.seconds, repeats=args.repeats,
         load="open loop, from this process, on the same cores")
    log_path = os.environ.get("BENCH_SERVER_LOG", os.devnull)  # where the server's own messages go
    with open(log_path, "w") as log, served(env, port=args.port, log=log, timeout=120) as url:
        graphql = f"{url}/graphql"
        # Warm every worker (first reads load caches) before measuring.
        asyncio.run(load(graphql, BALANCE, lambda i: {"p": plan}, lambda i: headers(region, "coordonnateur"), 20, 2))
        asyncio.run(load(graphql, MEMBER_VIEW, lambda i: {"p": plan, "m": lycees[i % len(lycees)]},
                         lambda i: headers(lycees[i % len(lycees)], "acheteur"), 50, 3))
        runs: dict[str, list[float]] = {"health": [], "memberView": [], "planBalance": []}
        for repeat in range(args.repeats):
            for name, values in runs.items():
                if name == "health":
                    figures = asyncio.run(load(f"{url}/health", None, lambda i: None, lambda i: None,
                                               args.view_rate, args.seconds))
                elif name == "memberView":
                    figures = asyncio.run(load(graphql, MEMBER_VIEW,
                                               lambda i: {"p": plan, "m": lycees[i % len(lycees)]},
                                               lambda i: headers(lycees[i % len(lycees)], "acheteur"),
                                               args.view_rate, args.seconds))
                else:
                    figures = asyncio.run(load(graphql, BALANCE, lambda i: {"p": plan},
                                               lambda i: headers(region, "coordonnateur"), args.balance_rate,
                                               args.seconds))
                values.append(figures["p95"])
                emit(f"{name}.p95_ms", round(figures["p95"], 1), "ms", repeat=repeat + 1, sent=figures["sent"],
                     failed=figures["failed"], asked_rate=figures["asked"], achieved_rate=round(figures["rate"], 1),
                     p50_ms=round(figures["p50"], 1), max_ms=round(figures["max"], 1),
                     client_cpu_share=round(figures["client_cpu_share"], 2),
                     server_cpu_ms_per_request=round(figures["server_cpu_ms"], 2),
                     cores=figures["cores"], worst_second=figures["worst_second"],
                     load_average=[round(x, 2) for x in os.getloadavg()])
        for name, values in runs.items():
            target = {"memberView": "< 20 at 300 req/s", "planBalance": "< 20 at 100 req/s (first page)",
                      "health": "load generator alone (GET /health)"}[name]
            emit(f"{name}.p95_ms.median", round(statistics.median(values), 1), "ms", runs=[round(v, 1) for v in values],
                 target=target)


if __name__ == "__main__":
    main()

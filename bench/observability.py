"""What observability costs per request (issue 18): the request middleware (request id, access log line as JSON,
request metrics) around a bare ASGI endpoint, against the same endpoint without it, and beside a real GraphQL
request of the application (SQLite, in process, no network) so the overhead can be read against a request.
Each figure is the median of `--repeat` runs of `--requests` calls. Prints JSON lines.
Run: .venv/bin/python -P bench/observability.py [--requests 5000 --repeat 5]
(-P: bench/graphql.py must not shadow graphql-core, which this script imports through strawberry)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from progres.domain.values import siret_with_key
from progres.services.identity import LocalIssuer
from progres.services.observability import Metrics, RequestObserver, configure_logging
from progres.services.settings import Settings


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b'{"data":{"ok":true}}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def drive(app: Any, requests: int) -> float:
    """Seconds per request, calling the ASGI app directly (the same scope each time)."""
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"x-request-id", b"bench-1")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "query_string": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        await app(scope, receive, send)
    return (time.perf_counter() - started) / requests


async def graphql_request(settings: Settings, requests: int) -> float:
    from progres.services.app import create_app  # noqa: PLC0415

    app = create_app(settings)
    siret = siret_with_key("2000111000001")
    token = LocalIssuer(settings.data_dir).mint(siret, ["coordonnateur"], settings.oidc_audience)
    headers = {"authorization": f"Bearer {token}", "x-progres-organisation": siret}
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        query = {"query": "query Mine { groupements { id } }"}
        await client.post("/graphql", json=query, headers=headers)  # warm: parser cache, first connection
        started = time.perf_counter()
        for _ in range(requests):
            await client.post("/graphql", json=query, headers=headers)
        return (time.perf_counter() - started) / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(store="sqlite", data_dir=Path(directory), log_format="json")
        with open(os.devnull, "w") as sink:  # the JSON lines are rendered and written, to nowhere
            configure_logging(settings, sink)
            observed = RequestObserver(bare, Metrics(settings))
            baseline, with_observer, request = [], [], []
            for _ in range(options.repeat):
                baseline.append(asyncio.run(drive(bare, options.requests)))
                with_observer.append(asyncio.run(drive(observed, options.requests)))
                request.append(asyncio.run(graphql_request(settings, max(50, options.requests // 25))))
    base, seen, real = (statistics.median(x) * 1e6 for x in (baseline, with_observer, request))
    overhead = seen - base
    for figure, value, unit in (("bare ASGI endpoint", base, "µs/request"),
                                ("same endpoint with the request middleware (id, JSON access log, metrics)", seen,
                                 "µs/request"),
                                ("middleware overhead", overhead, "µs/request"),
                                ("GraphQL request `groupements` in process (SQLite, token checked)", real,
                                 "µs/request"),
                                ("overhead / GraphQL request", overhead / real, "ratio")):
        print(json.dumps({"figure": figure, "value": round(value, 3), "unit": unit}, ensure_ascii=False))


if __name__ == "__main__":
    main()

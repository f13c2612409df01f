"""Observability of a real `progres serve` process on PostgreSQL (issue 18): /metrics scraped under a small load
(latency histograms per operation, commands by outcome, the read models' lag moving and coming back to 0), the
JSON access log of failing requests (request id, code, no traceback), and OpenTelemetry spans sent to a real
OTLP/HTTP receiver when the standard variables are set."""

from __future__ import annotations

import http.server
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.serving import free_port, served
from progres.services.settings import Settings

from .conftest import Server
from .tenants import tenant

ADD_AXIS = ("mutation AddAxis($p: ID!, $k: String!) { addAxis(planId: $p, key: $k, title: \"Axe\") "
            "{ ok position error { code field } } }")
PLAN = "query ReadPlan($p: ID!) { plan(id: $p) { axes { key } } }"


def a_port() -> int:
    """A free port; within PROGRES_TEST_PORTS (e.g. `18400-18499`) where ports are shared out between people."""
    span = os.environ.get("PROGRES_TEST_PORTS")
    if not span:
        return free_port()
    low, high = (int(part) for part in span.split("-"))
    for port in random.sample(range(low, high + 1), high - low + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {span}")


@dataclass
class LoggedServer(Server):
    log: Path = Path()

    def lines(self) -> list[dict[str, Any]]:
        """The server's log, one JSON object a line (every line must be one)."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def observed_server(postgres_ready, tmp_path, request) -> Iterator[LoggedServer]:
    """`@pytest.mark.server_env(...)` adds variables to the server's environment."""
    marker = request.node.get_closest_marker("server_env")
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"obs_{suffix}", views_schema=f"obs_views_{suffix}",
                        data_dir=tmp_path)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(tmp_path), "PROGRES_LOG_FORMAT": "json", **(marker.kwargs if marker else {})}
    log_path = tmp_path / "server.log"
    try:
        with log_path.open("w") as log, served(env, port=a_port(), log=log) as url:
            yield LoggedServer(url, settings, log_path)
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for schema_name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))


def scrape(url: str, client: httpx.Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) → value."""
    response = (client or httpx).get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Scraper:
    """Scrapes /metrics every 20 ms: (log head, lag of each projection)."""

    url: str
    seen: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                samples = scrape(self.url, client)
                lags = {dict(labels)["projection"]: v for (name, labels), v in samples.items()
                        if name == "progres_projection_lag_events"}
                self.seen.append((value(samples, "progres_log_head_position"), lags))
                time.sleep(0.02)


def writer(server: Server, plan: str, actor: tuple[str, str], prefix: str, count: int, outcomes: list[str]) -> None:
    for number in range(count):
        answer = server.post(ADD_AXIS, {"p": plan, "k": f"{prefix}-{number}"}, actor=actor)
        result = answer["data"]["addAxis"]
        outcomes.append("accepted" if result["ok"] else result["error"]["code"])


@pytest.mark.postgres
@pytest.mark.server_env(PROGRES_METRICS_MAX_OPERATIONS="4")
def test_metrics_move_under_load(observed_server):
    server = observed_server
    app = bootstrap(server.settings)
    group = tenant(app, 7)
    other = tenant(app, 8)
    before = scrape(server.url)
    head_before = value(before, "progres_log_head_position")
    assert head_before == app.max_notification_id()
    assert value(before, "progres_graphql_request_duration_seconds_count", operation_type="mutation",
                 operation="AddAxis") == 0

    scraper = Scraper(server.url)
    outcomes: list[str] = []
    threads = [threading.Thread(target=scraper.run)]
    threads += [threading.Thread(target=writer, args=(server, group.plan, group.coordinator, f"w{n}", 15, outcomes))
                for n in range(3)]
    # A bulk of events written straight into the store: the read models are behind for a moment, whatever the
    # pace of the HTTP writers.
    bulk = threading.Thread(target=lambda: [app.add_axis(group.plan, f"bulk-{n}", "Axe") for n in range(150)])
    threads.append(bulk)
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(timeout=120)
    # The same key twice: refused with its code; another tenant's plan: not found, as an unknown one (nothing written).
    # (a key of its own: a writer's axis may have lost every retry to concurrency_conflict, and so not exist)
    added = server.post(ADD_AXIS, {"p": group.plan, "k": "doublon"}, actor=group.coordinator)["data"]["addAxis"]
    assert added["ok"], added
    refused = server.post(ADD_AXIS, {"p": group.plan, "k": "doublon"}, actor=group.coordinator)["data"]["addAxis"]
    foreign = server.post(ADD_AXIS, {"p": other.plan, "k": "intrus"}, actor=group.coordinator)["data"]["addAxis"]
    for _ in range(5):
        assert "errors" not in server.post(PLAN, {"p": group.plan}, actor=group.coordinator)
    # Anonymous operations are grouped; names beyond the first 4 are `other`.
    server.post("{ groupements { id } }", actor=group.coordinator)
    for number in range(6):
        server.post(f"query Name{number} {{ groupements {{ id }} }}", actor=group.coordinator)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the read models catch up
        after = scrape(server.url)
        if value(after, "progres_projection_lag_events", projection="views_v1") == 0 and \
                value(after, "progres_log_head_position") == app.max_notification_id():
            break
        time.sleep(0.1)
    scraper.stop.set()
    threads[0].join(timeout=30)
    head = app.max_notification_id()
    app.close()

    # Three writers and the bulk on one plan: a command may lose every retry (concurrency_conflict), said as such.
    tally = Counter(outcomes)
    assert len(outcomes) == 45, tally
    assert tally["accepted"] >= 40, tally
    assert set(tally) <= {"accepted", "concurrency_conflict"}, tally
    assert refused["error"] == {"code": "duplicate_key", "field": "key"}, refused
    assert foreign["error"]["code"] == "not_found", foreign
    # Latency histogram of the operation: one observation per request, cumulative buckets up to +Inf.
    count = value(after, "progres_graphql_request_duration_seconds_count", operation_type="mutation",
                  operation="AddAxis")
    assert count == 45 + 3, count  # the writers' 45, then the added, the refused and the foreign axis
    assert value(after, "progres_graphql_request_duration_seconds_sum", operation_type="mutation",
                 operation="AddAxis") > 0
    buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in after.items()
                     if name == "progres_graphql_request_duration_seconds_bucket"
                     and dict(labels)["operation"] == "AddAxis")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1] == (float("inf"), 45 + 3)
    assert value(after, "progres_graphql_request_duration_seconds_count", operation_type="query",
                 operation="ReadPlan") == 5
    assert value(after, "progres_graphql_request_duration_seconds_count", operation_type="query",
                 operation="anonymous") == 1
    names = {dict(labels)["operation"] for (name, labels), v in after.items()
             if name == "progres_graphql_request_duration_seconds_count"}
    assert names == {"AddAxis", "ReadPlan", "Name0", "Name1", "anonymous", "other"}, names
    assert value(after, "progres_graphql_request_duration_seconds_count", operation_type="query",
                 operation="other") == 4
    # Commands by outcome and code.
    accepted = tally["accepted"] + 1  # the writers', and the axis then added twice
    assert value(after, "progres_commands_total", command="add_axis", result="accepted", code="") == accepted
    assert value(after, "progres_commands_total", command="add_axis", result="refused",
                 code="concurrency_conflict") == tally["concurrency_conflict"]
    if tally["concurrency_conflict"]:
        assert value(after, "progres_command_conflicts_retried_total") > 0
    assert value(after, "progres_commands_total", command="add_axis", result="refused",
                 code=refused["error"]["code"]) == 1
    assert value(after, "progres_commands_total", command="add_axis", result="refused", code="not_found") == 1
    # The log head moved by every event written; the lag was seen above 0 and came back to 0.
    assert value(after, "progres_log_head_position") == head >= head_before + tally["accepted"] + 150
    assert value(after, "progres_projection_position", projection="views_v1") == head
    assert value(after, "progres_projection_lag_events", projection="views_v1") == 0
    lags = [lag.get("views_v1", 0) for _, lag in scraper.seen]
    assert len(lags) >= 10, len(lags)
    assert max(lags) > 0, f"the lag never moved in {len(lags)} scrapes"
    assert [h for h, _ in scraper.seen] == sorted(h for h, _ in scraper.seen)  # the head never goes back
    # The rest of what an operator watches.
    assert value(after, "progres_projection_follower_up") == 1
    assert 0 <= value(after, "progres_log_newest_event_age_seconds") < 120
    assert value(after, "progres_db_pool_connections", pool="events", state="max") >= 1
    assert value(after, "progres_db_pool_connections", pool="views", state="open") >= 1
    assert ("progres_command_conflicts_retried_total", ()) in after
    assert value(after, "progres_status_read_errors") == 0
    assert value(after, "progres_http_requests_total", route="/graphql", method="POST", status="200") >= 47


@pytest.mark.postgres
def test_a_failing_request_is_one_json_line_with_its_request_id_and_code_and_no_traceback(observed_server):
    server = observed_server
    app = bootstrap(server.settings)
    group, other = tenant(app, 5), tenant(app, 6)
    head = app.max_notification_id()
    app.close()
    given = f"obs-{uuid.uuid4().hex[:12]}"

    # A refused command (another groupement's plan is not found): nothing written, the request id echoed.
    response = httpx.post(f"{server.url}/graphql", json={"query": ADD_AXIS, "variables": {"p": other.plan,
                          "k": "intrus"}}, headers={**server.headers(group.coordinator), "X-Request-Id": given},
                          timeout=30)
    assert response.headers["x-request-id"] == given
    assert response.json()["data"]["addAxis"]["error"]["code"] == "not_found"
    # Bad input: malformed JSON, refused before GraphQL; and a request id that is too long is replaced.
    malformed = httpx.post(f"{server.url}/graphql", content=b'{"query": ', timeout=30,
                           headers={"content-type": "application/json", "X-Request-Id": "x" * 65})
    assert malformed.status_code == 400
    generated = malformed.headers["x-request-id"]
    assert generated != "x" * 65
    assert len(generated) == 32
    # A GraphQL syntax error and an invalid id (charset) in one request.
    syntax = httpx.post(f"{server.url}/graphql", json={"query": "query Broken { plan(id: "}, timeout=30,
                        headers={**server.headers(group.coordinator), "X-Request-Id": "bad id\twith spaces"})
    assert syntax.json()["errors"][0]["extensions"]["code"] == "bad_request"
    check = bootstrap(server.settings)
    assert check.max_notification_id() == head  # nothing written
    check.close()

    time.sleep(0.3)
    lines = server.lines()  # every line is JSON
    for line in lines:
        assert {"timestamp", "level", "event"} <= set(line), line
        assert "exception" not in line, line
        assert "Traceback" not in json.dumps(line), line
    assert "Traceback" not in server.log.read_text()
    mine = [line for line in lines if line.get("request_id") == given]
    assert len(mine) == 1, mine  # one line per request
    line = mine[0]
    expected = {"event": "request", "level": "warning", "code": "not_found", "status": 200,
                "organisation": group.coordonnateur, "role": "coordonnateur", "operation": "AddAxis",
                "operation_type": "mutation", "commands": ["add_axis:not_found"]}
    assert {key: line.get(key) for key in expected} == expected, line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"]), line
    bad = [line for line in lines if line.get("request_id") == generated]
    assert [(b["code"], b["status"], b["level"]) for b in bad] == [("invalid_json", 400, "warning")], bad
    broken = [line for line in lines if line.get("operation") is None and line.get("code") == "bad_request"]
    assert len(broken) == 1, broken
    assert re.fullmatch(r"[0-9a-f]{32}", broken[0]["request_id"]), broken
    assert broken[0]["organisation"] == group.coordonnateur, broken


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A real OTLP/HTTP endpoint: it keeps the bodies posted to it."""
    bodies: list[tuple[str, bytes]] = []
    handler = type("Handler", (Receiver,), {"bodies": bodies})
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", a_port()), handler)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{receiver.server_address[1]}", bodies
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_traces_are_exported_when_the_otlp_endpoint_is_set(tmp_path, otlp_receiver):
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: PLC0415 - the otel extra
        ExportTraceServiceRequest,
    )

    endpoint, bodies = otlp_receiver
    env = {**os.environ, "PROGRES_STORE": "sqlite", "PROGRES_DATA_DIR": str(tmp_path), "PROGRES_LOG_FORMAT": "json",
           "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "progres-test",
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with (tmp_path / "server.log").open("w") as log, served(env, port=a_port(), log=log) as url:
        httpx.post(f"{url}/graphql", json={"query": "query Traced { groupements { id } }"},
                   headers={"X-Request-Id": "traced-1"}, timeout=30)
        deadline = time.monotonic() + 15
        while not any(path == "/v1/traces" for path, _ in bodies) and time.monotonic() < deadline:
            time.sleep(0.1)
    spans, traces = [], set()
    for path, body in bodies:
        assert path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
            spans += [(service, span.name) for scope in resource.scope_spans for span in scope.spans]
            traces |= {span.trace_id.hex() for scope in resource.scope_spans for span in scope.spans}
    assert spans, "no span exported"
    assert all(service == "progres-test" for service, _ in spans), spans
    assert any("/graphql" in name for _, name in spans), spans
    assert not any("/ready" in name for _, name in spans), spans  # probes are not traced
    # The access line of the traced request names its trace.
    (line,) = [json.loads(x) for x in (tmp_path / "server.log").read_text().splitlines()
               if '"traced-1"' in x and '"request"' in x]
    assert line["trace_id"] in traces, (line, traces)


def test_no_tracing_without_the_variables(tmp_path):
    """Unset: neither the SDK, the exporter nor the instrumentation is imported by a server's application (the
    OpenTelemetry API alone may be: FastAPI imports it when it is installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(PROGRES_STORE="sqlite", PROGRES_DATA_DIR=str(tmp_path))
    probe = ("import sys; from progres.services.app import create_app; create_app(); "
             "print(any(m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter', 'opentelemetry.instrumentation')) "
             "for m in sys.modules))")
    said = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120,
                          check=True)
    assert said.stdout.strip() == "False", said

"""Observability inside the application (services/observability.py): a real server error is logged once with its
traceback and the request's id, its access line says `internal`; /metrics in production asks for its token."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from pydantic import SecretStr

from progres.domain.values import siret_with_key
from progres.services.app import create_app
from progres.services.audit_keys import generate, keys_dir
from progres.services.identity import LocalIssuer
from progres.services.observability import Metrics, RequestObserver, configure_logging
from progres.services.read_models import ReadModels


@pytest.fixture
def json_logs(sqlite_settings) -> Iterator[io.StringIO]:
    """The process's logs configured as a server's, into a buffer; the test process's logging restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(sqlite_settings.model_copy(update={"log_format": "json"}), stream)
    try:
        yield stream
    finally:
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()


def test_a_server_error_is_logged_once_with_its_traceback_and_request_id(sqlite_settings, json_logs, monkeypatch):
    siret = siret_with_key("2000111000001")
    token = LocalIssuer(sqlite_settings.data_dir).mint(siret, ["coordonnateur"], sqlite_settings.oidc_audience)

    def broken(*_: object, **__: object) -> None:  # a fault in the read side, as a lost table would raise
        raise RuntimeError("views table is gone")

    with TestClient(create_app(sqlite_settings), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        monkeypatch.setattr(ReadModels, "ledgers", broken)
        answer = client.post("/graphql", json={"query": "query Mine { groupements { id } }"},
                             headers={"authorization": f"Bearer {token}", "x-progres-organisation": siret,
                                      "x-request-id": "boom-1"})
    assert answer.headers["x-request-id"] == "boom-1"
    assert answer.json()["errors"][0]["extensions"]["code"] == "internal"
    assert "views table is gone" not in answer.text  # masked for the client
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "boom-1"]
    access = [line for line in mine if line["event"] == "request"]
    assert len(access) == 1, mine
    assert access[0]["level"] == "error", access
    assert access[0]["code"] == "internal", access
    assert "exception" not in access[0]
    failures = [line for line in mine if "exception" in line]
    assert len(failures) == 1, mine  # the traceback once, where the error was met
    assert "Traceback" in failures[0]["exception"], failures
    assert "RuntimeError: views table is gone" in failures[0]["exception"], failures
    assert failures[0]["level"] == "error"


def test_an_error_no_layer_answered_is_a_coded_500_with_one_traceback(sqlite_settings, json_logs):
    async def failing(scope: dict, receive: object, send: object) -> None:
        raise LookupError("nothing answered this")

    async def call() -> httpx.Response:
        app = RequestObserver(failing, Metrics(sqlite_settings))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return await client.get("/anything", headers={"x-request-id": "lost-1"})

    answer = asyncio.run(call())
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "lost-1"
    assert answer.json()["errors"][0]["extensions"]["code"] == "internal"
    assert "nothing answered" not in answer.text
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "lost-1"]
    assert [line["event"] for line in mine] == ["unhandled error", "request"], mine
    assert "LookupError: nothing answered this" in mine[0]["exception"]
    assert mine[1]["status"] == 500
    assert mine[1]["level"] == "error"
    assert "exception" not in mine[1]


def test_probes_are_logged_only_when_they_fail(sqlite_settings, json_logs):
    with TestClient(create_app(sqlite_settings), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        deadline = time.monotonic() + 20  # /ready says 503 until the follower thread is up (a loaded machine)
        while client.get("/ready", headers={"x-request-id": "warm-up"}).status_code != 200:
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.05)
        for path in ("/health", "/ready", "/metrics"):
            assert client.get(path, headers={"x-request-id": f"probe{path.replace('/', '-')}"}).status_code == 200
        client.post("/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "a-query"})
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert not [line for line in lines if line.get("request_id", "").startswith("probe")], lines
    assert [line["level"] for line in lines if line.get("request_id") == "a-query"] == ["info"]


def test_production_serves_metrics_only_with_its_token(sqlite_settings):
    generate(keys_dir(sqlite_settings))
    production = sqlite_settings.model_copy(update={"environment": "production",
                                                    "oidc_issuer": "http://127.0.0.1:9/realms/progres"})
    with TestClient(create_app(production)) as client:
        assert client.get("/metrics").status_code == 404
    tokened = production.model_copy(update={"metrics_token": SecretStr("a-long-scrape-token")})
    with TestClient(create_app(tokened)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
        page = client.get("/metrics", headers={"authorization": "Bearer a-long-scrape-token"})
        assert page.status_code == 200
        assert "progres_log_head_position" in page.text
        assert "progres_projection_lag_events" in page.text


def test_a_browser_page_may_send_and_read_the_request_id(sqlite_settings):
    origin = "https://app.example"
    settings = sqlite_settings.model_copy(update={"cors_origins": (origin,)})
    with TestClient(create_app(settings), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        preflight = client.options("/graphql", headers={"origin": origin, "access-control-request-method": "POST",
                                                        "access-control-request-headers": "x-request-id"})
        assert preflight.status_code == 200
        assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
        answer = client.post("/graphql", json={"query": "{ __typename }"},
                             headers={"origin": origin, "x-request-id": "page-7"})
    assert answer.headers["x-request-id"] == "page-7"
    assert answer.headers["access-control-expose-headers"].lower() == "x-request-id"

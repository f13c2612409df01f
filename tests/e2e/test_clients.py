"""The clients people really use, against a real `progres serve` process: Python `gql` over HTTP and
graphql-transport-ws, credentials in `connection_init` as browsers send them, text frames only, and CORS."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.httpx import HTTPXTransport
from gql.transport.websockets import WebsocketsTransport

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap

from .conftest import GraphQLRunner, Server, small_plan

pytestmark = pytest.mark.postgres

PLAN = "query($p: ID!, $n: Int) { plan(id: $p, minPosition: $n) { title axes { key title } } }"
ADD_AXIS = ("mutation($p: ID!, $k: String!, $t: String!) { addAxis(planId: $p, key: $k, title: $t) "
            "{ ok position error { code field message } } }")
ADD_OBJECTIVE = ("mutation($p: ID!, $k: String!) { addObjective(planId: $p, key: $k, axisKey: \"egalim\", "
                 "title: \"Objectif\", kind: \"moyens\") { ok position error { code field } } }")
HEAD = "query($p: ID!) { planBalance(planId: $p, minPosition: 1) { position } }"
EVENTS = "subscription($p: ID!, $after: Int!) { planEvents(planId: $p, afterPosition: $after) { position type } }"
ALLOWED, OTHER = "http://allowed.example:5173", "http://other.example"


def ws_url(server: Server) -> str:
    return server.url.replace("http", "ws", 1) + "/graphql"


def credentials(server: Server, actor: tuple[str, str]) -> dict[str, str]:
    """What a browser puts in connection_init: the token, the acting organisation and the role."""
    siret, role = actor
    return {"authorization": f"Bearer {server.token(siret, role)}", "organisation": siret, "role": role}


def gql_http(server: Server, actor: tuple[str, str]) -> Client:
    return Client(transport=HTTPXTransport(url=f"{server.url}/graphql", headers=server.headers(actor), timeout=60))


def head(server: Server, plan: str, actor: tuple[str, str]) -> int:
    return server.post(HEAD, {"p": plan}, actor=actor)["data"]["planBalance"]["position"]


def test_gql_over_http_runs_a_query_and_a_mutation_and_reads_the_refusal(server):
    setup = small_plan(GraphQLRunner(server))
    with gql_http(server, setup.coordonnateur) as session:
        tree = session.execute(GraphQLRequest(PLAN, variable_values={"p": setup.plan}))
        assert tree["plan"]["title"] == "Plan"
        assert [a["key"] for a in tree["plan"]["axes"]] == ["egalim"]

        added = session.execute(GraphQLRequest(ADD_AXIS, variable_values={"p": setup.plan, "k": "env",
                                                                            "t": "Environnement"}))["addAxis"]
        assert added["ok"], added
        after = session.execute(GraphQLRequest(PLAN, variable_values={"p": setup.plan, "n": added["position"]}))
        assert [(a["key"], a["title"]) for a in after["plan"]["axes"]] == [("egalim", "EGalim"),
                                                                         ("env", "Environnement")]

        app = bootstrap(server.settings)
        try:
            before = app.max_notification_id()
            again = session.execute(GraphQLRequest(ADD_AXIS, variable_values={"p": setup.plan, "k": "env",
                                                                                "t": "Encore"}))["addAxis"]
            assert (again["ok"], again["error"]["code"], again["error"]["field"]) == (False, "duplicate_key", "key")
            assert app.max_notification_id() == before
        finally:
            app.close()


def test_gql_over_http_reports_a_refused_token_as_an_error(server):
    transport = HTTPXTransport(url=f"{server.url}/graphql", headers={"authorization": "Bearer not-a-jwt"})
    with Client(transport=transport) as session, pytest.raises(TransportQueryError) as refused:
        session.execute(GraphQLRequest("{ groupements { id } }"))
    assert refused.value.errors[0]["extensions"]["code"] == "malformed_token"


async def gql_subscription(server: Server, actor: tuple[str, str], plan: str, after: int, wanted: int,
                           subscribed: threading.Event, init_payload: dict[str, str] | None) -> list[dict]:
    """gql's WebSocket transport on graphql-transport-ws: collects `wanted` events after `after`."""
    transport = WebsocketsTransport(url=ws_url(server), subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    headers=None if init_payload else server.headers(actor),
                                    init_payload=init_payload)
    received: list[dict] = []
    async with Client(transport=transport) as session:
        subscribed.set()  # connection acknowledged: the other client may write
        request = GraphQLRequest(EVENTS, variable_values={"p": plan, "after": after})
        async for result in session.subscribe(request):
            received.append(result["planEvents"])
            if len(received) == wanted:
                break
    return received


@pytest.mark.parametrize("credentials_in", ["headers", "connection_init"])
def test_a_gql_websocket_subscription_receives_another_clients_mutation(server, credentials_in):
    runner = GraphQLRunner(server)
    setup = small_plan(runner)
    start = runner.head  # the last write's position: the balance read may lag behind it under load
    subscribed, results = threading.Event(), []
    init_payload = credentials(server, setup.lycee) if credentials_in == "connection_init" else None
    listener = threading.Thread(target=lambda: results.append(asyncio.run(asyncio.wait_for(
        gql_subscription(server, setup.lycee, setup.plan, start, 2, subscribed, init_payload), 60))))
    listener.start()
    assert subscribed.wait(30), "gql did not connect"
    with gql_http(server, setup.coordonnateur) as other:  # another client, another organisation
        for key in ("o1", "o2"):
            written = other.execute(GraphQLRequest(ADD_OBJECTIVE, variable_values={"p": setup.plan, "k": key}))
            assert written["addObjective"]["ok"], written
    listener.join(timeout=60)
    assert results, "the subscription received nothing"
    assert [e["type"] for e in results[0]] == ["ProgressPlan.ObjectiveAdded"] * 2
    assert all(e["position"] > start for e in results[0])


async def raw_session(server: Server, payload: dict | None, messages: list[dict],
                      headers: dict[str, str] | None = None) -> tuple[list[str | bytes], object]:
    """Every frame the server sends for connection_init(payload) and then `messages`, until it closes
    or goes quiet; and the close frame, if any."""
    frames: list[str | bytes] = []
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"],
                                  additional_headers=headers) as socket:
        await socket.send(json.dumps({"type": "connection_init", **({"payload": payload} if payload else {})}))
        for message in messages:
            await socket.send(json.dumps(message))
        try:
            while True:
                frames.append(await asyncio.wait_for(socket.recv(), timeout=3))
        except (TimeoutError, websockets.ConnectionClosed):
            pass
    return frames, socket.protocol.close_rcvd


def test_every_websocket_frame_is_a_text_frame(server):
    setup = small_plan(GraphQLRunner(server))
    outsider = (siret_with_key("3000000000001"), "acheteur")  # an organisation no groupement knows
    frames, _ = asyncio.run(raw_session(server, credentials(server, setup.lycee), [
        {"type": "ping"},
        {"id": "q", "type": "subscribe", "payload": {"query": PLAN, "variables": {"p": setup.plan}}},
        {"id": "s", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"p": setup.plan, "after": 0}}},
        {"id": "bad", "type": "subscribe", "payload": {"query": "{ nope }"}},
    ]))
    kinds = [json.loads(frame)["type"] for frame in frames]
    assert {"connection_ack", "pong", "next", "complete", "error"} <= set(kinds), kinds
    assert kinds.count("next") >= 3  # the query's answer, then the plan's events so far
    assert all(isinstance(frame, str) for frame in frames), [type(f).__name__ for f in frames]
    denied, _ = asyncio.run(raw_session(server, credentials(server, outsider), [
        {"id": "x", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"p": setup.plan, "after": 0}}}]))
    assert [json.loads(f)["type"] for f in denied] == ["connection_ack", "next", "complete"]
    refusal = json.loads(denied[1])["payload"]
    assert refusal["data"] is None
    assert refusal["errors"][0]["extensions"] == {"code": "not_found", "field": "planId"}, refusal
    assert all(isinstance(frame, str) for frame in denied)


def test_refused_connection_init_credentials_close_the_socket_with_the_reason(server):
    setup = small_plan(GraphQLRunner(server))
    siret, _ = setup.lycee
    other_siret, _ = setup.coordonnateur
    good = credentials(server, setup.lycee)
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS,
                                                             "variables": {"p": setup.plan, "after": 0}}}
    cases = {
        "bad token": ({**good, "authorization": "Bearer not-a-jwt"}, 4401, "malformed_token: "),
        "token of another platform": ({**good, "authorization": "Bearer " + "e30.e30.c2ln"}, 4401, ""),
        "not a string": ({**good, "organisation": 42}, 4401, "malformed_token: connection_init: `organisation`"),
        "organisation without token": ({"organisation": siret}, 4401, "malformed_token: "),
        "organisation not the user's": ({**good, "organisation": other_siret}, 4403,
                                         f"organisation_not_in_token: the user does not belong to organisation "
                                         f"{other_siret}"),
        "role not the user's": ({**good, "role": "auditeur"}, 4403, "role_not_in_token: role 'auditeur'"),
    }
    for name, (payload, code, reason) in cases.items():
        frames, close = asyncio.run(raw_session(server, payload, [subscribe]))
        assert frames == [], (name, frames)  # no connection_ack, no event
        assert close is not None, name
        assert close.code == code, (name, close)
        assert close.reason.startswith(reason), (name, close.reason)
        assert len(close.reason.encode()) <= 123

    frames, close = asyncio.run(raw_session(server, None, [subscribe],
                                            headers={"authorization": "Bearer not-a-jwt"}))
    assert (frames, close.code, close.reason.split(":")[0]) == ([], 4401, "malformed_token")
    # no credentials at all: the connection is accepted, each operation answers `unauthenticated`, as over HTTP
    frames, _ = asyncio.run(raw_session(server, None, [subscribe]))
    assert [json.loads(f)["type"] for f in frames] == ["connection_ack", "next", "complete"]
    unauthenticated = json.loads(frames[1])["payload"]["errors"][0]
    assert unauthenticated["message"].startswith("unauthenticated: ")
    assert unauthenticated["extensions"] == {"code": "unauthenticated"}, unauthenticated
    # the payload is read before the headers: a browser's credentials win over a proxy's
    frames, _ = asyncio.run(raw_session(server, good, [subscribe], headers={"authorization": "Bearer not-a-jwt"}))
    assert json.loads(frames[0])["type"] == "connection_ack"
    assert json.loads(frames[1])["type"] == "next"


def test_gql_websocket_with_a_refused_token_fails_to_connect(server):
    small_plan(GraphQLRunner(server))

    async def connect() -> None:
        transport = WebsocketsTransport(url=ws_url(server), subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                        init_payload={"authorization": "Bearer not-a-jwt"})
        async with Client(transport=transport) as session:
            await session.execute(GraphQLRequest("{ groupements { id } }"))

    with pytest.raises(TransportConnectionFailed) as refused:
        asyncio.run(asyncio.wait_for(connect(), 30))
    closed = refused.value.__cause__
    assert isinstance(closed, websockets.ConnectionClosed)
    assert (closed.rcvd.code, closed.rcvd.reason) == (4401, "malformed_token: the bearer token is not a JWT")


def preflight(server: Server, origin: str) -> httpx.Response:
    return httpx.options(f"{server.url}/graphql", headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, x-progres-organisation"})


@pytest.mark.server_env(PROGRES_CORS_ORIGINS=f"{ALLOWED}, https://app.example")
def test_cors_preflight_succeeds_from_an_allowed_origin_and_fails_from_another(server):
    setup = small_plan(GraphQLRunner(server))
    allowed = preflight(server, ALLOWED)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert {"authorization", "content-type", "x-progres-organisation"} <= {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")}
    assert "POST" in allowed.headers["access-control-allow-methods"]

    refused = preflight(server, OTHER)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    query = {"query": PLAN, "variables": {"p": setup.plan}}
    answer = httpx.post(f"{server.url}/graphql", json=query, headers={**server.headers(setup.lycee), "origin": ALLOWED})
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert answer.json()["data"]["plan"]["title"] == "Plan"
    foreign = httpx.post(f"{server.url}/graphql", json=query, headers={**server.headers(setup.lycee), "origin": OTHER})
    assert "access-control-allow-origin" not in foreign.headers

    # the same allow-list guards the WebSocket handshake, which browsers do not submit to CORS
    frames, _ = asyncio.run(raw_session(server, credentials(server, setup.lycee), [], headers={"origin": ALLOWED}))
    assert json.loads(frames[0])["type"] == "connection_ack"
    with pytest.raises(websockets.InvalidStatus) as rejected:
        asyncio.run(raw_session(server, credentials(server, setup.lycee), [], headers={"origin": OTHER}))
    assert rejected.value.response.status_code == 403


def test_without_an_allow_list_there_is_no_cors_at_all(server):
    answer = preflight(server, ALLOWED)
    assert answer.status_code == 405
    assert not [h for h in answer.headers if h.startswith("access-control-")]
    plain = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED})
    assert not [h for h in plain.headers if h.startswith("access-control-")]

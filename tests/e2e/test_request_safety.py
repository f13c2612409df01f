"""Abusive and malformed requests against a real `progres serve` on PostgreSQL (issue 9, defects 3, 8-11).

Each answer is a 4xx or a typed GraphQL error with a stable code, never a 500 nor a masked "internal" error,
and nothing is written: the log head does not move where a mutation could have written.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import time
import uuid

import httpx
import jwt
import pytest
import websockets
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.identity import ALGORITHM, LOCAL_AZP, LOCAL_ISSUER, LOCAL_KID, LocalIssuer
from progres.services.serving import free_port
from progres.services.settings import Settings
from tests.conftest import CONVENTION
from tests.typed_views import PLAN_BALANCE_FIELDS

from .conftest import GraphQLRunner, Server

pytestmark = pytest.mark.postgres

REGISTER = 'mutation { registerOrganisation(siret: "%s", name: "%s", kind: "collectivite") { ok id error { code } } }'


def fanout(n: int, root: str = "query", leaf: str = "groupements { id }") -> str:
    """Each fragment spreads the previous one twice: 2^n fields once expanded, in about 40 bytes per level."""
    on = "Mutation" if root == "mutation" else "Query"
    lines = [f"{root} {{ ...F{n} }}", f"fragment F0 on {on} {{ {leaf} }}"]
    lines += [f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return "\n".join(lines)


def head(server: Server) -> int:
    app = bootstrap(server.settings)
    try:
        return app.max_notification_id() or 0
    finally:
        app.close()


def code_of(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


@pytest.fixture
def admin(server):
    siret = siret_with_key("2000537670001")
    return siret, "admin"


@pytest.fixture
def small_plan(server):
    """A groupement with a plan that has no governance yet: the plan, the coordonnateur's identity, the marché."""
    runner = GraphQLRunner(server)
    coordonnateur = runner("register_organisation", siret=siret_with_key("2000537670001"), name="Région",
                           kind="collectivite")
    titulaire = runner("register_organisation", siret=siret_with_key("4190012340001"), name="Laiterie",
                       kind="supplier")
    groupement = runner("constitute_groupement", code="GC-S", name="G", purpose="Achats", permanent=True,
                        coordonnateur_id=coordonnateur, signed_on="2021-06-01", convention=CONVENTION)
    marche = runner("notify_marche", groupement_id=groupement, code="M-S", object="BOF", cpv="15500000-3",
                    nature="fournitures", titulaire_ids=[titulaire], initial_amount="1000", duration_months=24,
                    notified_on="2022-01-01")
    plan = runner("draw_up_plan", marche_id=marche, title="Plan")
    return plan, (runner.sirets[coordonnateur], "coordonnateur"), marche


# Defect 3: fragment fan-out.

def test_a_fragment_fan_out_is_refused_at_once_with_a_code_and_writes_nothing(server, admin):
    before = head(server)
    started = time.monotonic()
    answer = server.post(fanout(24))
    assert answer["status"] == 200
    assert code_of(answer) == "query_too_large", answer
    mutation = fanout(24, "mutation", 'registerOrganisation(siret: "20005376700010", name: "X", '
                                      'kind: "collectivite") { ok }')
    answer = server.post(mutation, actor=admin)
    assert code_of(answer) == "query_too_large", answer
    assert time.monotonic() - started < 10  # generous: before the fix one such request took minutes
    assert head(server) == before


def test_fan_outs_within_the_depth_or_alias_limits_are_costed_after_expansion(server, admin):
    deep = fanout(3, leaf="groupements { marches { plans: id } }")
    assert "errors" not in server.post(deep, actor=admin)  # 8 × 3 fields: within the limits
    aliases = fanout(5, leaf="a: groupements { id }")
    assert code_of(server.post(aliases, actor=admin)) == "too_many_aliases"  # 32 aliases once expanded


def test_health_and_a_normal_query_answer_while_twelve_fan_outs_are_sent(server, admin):
    abusive = fanout(24)
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        refusals = [pool.submit(httpx.post, f"{server.url}/graphql", json={"query": abusive}, timeout=30)
                    for _ in range(12)]
        health = httpx.get(f"{server.url}/health", timeout=5)
        normal = server.post("{ groupements { id } }", actor=admin)
        answers = [r.result() for r in refusals]
    assert health.status_code == 200
    assert normal["data"] == {"groupements": []}
    assert {a.json()["errors"][0]["extensions"]["code"] for a in answers} == {"query_too_large"}


# Defect 9: malformed requests.

@pytest.mark.parametrize(("body", "code"), [
    (b'{"query": "{ groupements { id } }", "x": "\xff\xfe"}', "invalid_encoding"),
    (b"null", "invalid_request"),
    (b"42", "invalid_request"),
    (b'"query"', "invalid_request"),
    (b"[" * 30_000 + b"]" * 30_000, "invalid_json"),
    (b'{"query": "{ groupements { id } }", "variables": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}", "json_too_deep"),
    (b'{"query": ', "invalid_json"),
])
def test_malformed_bodies_get_a_4xx_with_a_code(server, body, code):
    answer = httpx.post(f"{server.url}/graphql", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == code


def test_a_nul_byte_in_an_id_or_an_argument_is_refused_with_a_code_and_writes_nothing(server, admin):
    before = head(server)
    answer = server.post("query($p: ID!) { plan(id: $p) { id } }", {"p": "abc\u0000def"}, actor=admin)
    assert code_of(answer) == "invalid_input", answer
    literal = server.post('{ plan(id: "abc\\u0000") { id } }', actor=admin)
    assert code_of(literal) == "invalid_input", literal
    written = server.post(REGISTER % (siret_with_key("2000537670001"), "R\\u0000gion"), actor=admin)
    assert code_of(written) == "invalid_input", written
    assert head(server) == before


def claims(server: Server, siret: str, **changes: object) -> dict:
    now = int(time.time())
    base = {"iss": LOCAL_ISSUER, "aud": server.settings.oidc_audience, "azp": LOCAL_AZP, "sub": "local:x",
            "iat": now, "exp": now + 600, "organization": [siret], "realm_access": {"roles": ["admin"]}}
    return {**base, **changes}


@pytest.mark.parametrize("changes", [
    {"realm_access": ["admin"]},
    {"realm_access": {"roles": "admin"}},
    {"exp": "4102444800"},  # a string (of 2100-01-01): wrong type whenever the test runs
    {"iat": "1"},
    {"organization": "x"},
])
def test_tokens_with_claims_of_the_wrong_type_are_refused(server, admin, changes):
    key = LocalIssuer(server.settings.data_dir).private_key()
    token = jwt.encode(claims(server, admin[0], **changes), key, algorithm=ALGORITHM, headers={"kid": LOCAL_KID})
    before = head(server)
    answer = httpx.post(f"{server.url}/graphql", json={"query": REGISTER % (siret_with_key("2000537670001"), "R")},
                        headers={"authorization": f"Bearer {token}", "x-progres-organisation": admin[0]})
    assert answer.status_code == 401, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "invalid_token"
    assert head(server) == before


def test_a_plan_without_governance_reads_with_governance_null(server, small_plan):
    plan, coordonnateur, _ = small_plan
    answer = server.post(f'{{ plan(id: "{plan}") {{ governanceRule {{ body }} gainSharingRule {{ basis }} '
                         'committedResources { totalCount } calendar { totalCount } } }', actor=coordonnateur)
    assert "errors" not in answer, answer
    assert answer["data"]["plan"]["governanceRule"] is None
    assert answer["data"]["plan"]["gainSharingRule"] is None


@pytest.mark.parametrize(("query", "code", "field"), [
    ('{ planBalance(planId: "%s", position: -1) { position } }', "invalid_input", "position"),
    ('{ planBalance(planId: "%s", position: 0) { position } }', "invalid_input", "position"),
    ('{ planBalance(planId: "%s", on: "2025-02-30") { position } }', "invalid_input", "on"),
    ('{ planBalance(planId: "%s", asKnownAt: "hier soir") { position } }', "invalid_input", "asKnownAt"),
    ('{ memberView(planId: "%s", memberId: "x", asKnownAt: "0") { position } }', "invalid_input", "asKnownAt"),
    ('{ planBalance(planId: "%s", asOf: "hier soir") { position } }', "invalid_input", "asOf"),
    ('{ memberView(planId: "%s", memberId: "x", asOf: "2025-13-45") { position } }', "invalid_input", "asOf"),
    ('{ planBalance(planId: "%s", minPosition: -5) { position } }', "invalid_input", "minPosition"),
    ('{ plan(id: "%s", minPosition: -1) { id } }', "invalid_input", "minPosition"),
    ('{ history(aggregateId: "%s", first: -4143346) { totalCount } }', "invalid_input", "first"),
    ('{ history(aggregateId: "%s", first: 0) { totalCount } }', "invalid_input", "first"),
    ('{ history(aggregateId: "%s", first: 1001) { totalCount } }', "invalid_input", "first"),
])
def test_positions_before_the_plan_or_negative_get_a_typed_error(server, small_plan, query, code, field):
    plan, coordonnateur, _ = small_plan
    answer = server.post(query % plan, actor=coordonnateur)
    assert answer["errors"][0]["extensions"] == {"code": code, "field": field}, answer


# Issue 12: a position or time before the plan was recorded is no error any more: an empty state, and a notice
# (code, field, French message) in the answer's extensions.
@pytest.mark.parametrize(("moment", "code", "field"), [
    ("position: 1", "plan_not_recorded_yet", "position"),
    ('asOf: "2001-01-01"', "nothing_recorded_yet", "asOf"),
    ('asKnownAt: "2001-01-01"', "nothing_recorded_yet", "asKnownAt"),
])
def test_positions_before_the_plan_answer_an_empty_state_with_a_notice(server, small_plan, moment, code, field):
    """The whole typed balance (tests/typed_views.py) answers the empty state, with its notice."""
    plan, coordonnateur, _ = small_plan
    query = f'{{ planBalance(planId: "{plan}", {moment}) {{ {PLAN_BALANCE_FIELDS} }} }}'
    answer = server.post(query, actor=coordonnateur)
    assert "errors" not in answer, answer
    assert answer["data"]["planBalance"]["axes"] == []
    assert answer["data"]["planBalance"]["members"]["edges"] == []
    notice = answer["extensions"]["notices"][0]
    assert (notice["code"], notice["field"]) == (code, field), answer
    assert "enregistré" in notice["message"]


def test_another_entity_read_as_a_plan_is_not_found(server, small_plan):
    _, coordonnateur, marche = small_plan
    answer = server.post(f'{{ plan(id: "{marche}") {{ id }} }}', actor=coordonnateur)
    assert answer["errors"][0]["extensions"] == {"code": "not_found", "field": "id"}, answer


@pytest.mark.parametrize("indicator", ["[]", '"x"', "42"])
def test_an_argument_of_the_wrong_shape_is_refused_and_writes_nothing(server, small_plan, indicator):
    """The typed `indicator` (it replaced the `JSON` spec, whose wrong shapes the command refused) is checked by
    GraphQL's validation: refused with a stable code, the command never runs."""
    plan, coordonnateur, _ = small_plan
    before = head(server)
    answer = server.post(f'mutation {{ definePlanIndicator: defineIndicator(planId: "{plan}", '
                         f'indicator: {indicator}) {{ userErrors {{ code field message }} }} }}', actor=coordonnateur)
    assert answer.get("data") is None, answer
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "bad_request", answer
    assert "IndicatorInput" in error["message"], answer
    assert head(server) == before


def test_pages_out_of_range_or_foreign_cursors_get_invalid_input_without_echo(server, small_plan):
    plan, coordonnateur, _ = small_plan
    answer = server.post(f'{{ plan(id: "{plan}") {{ proposals(first: 0) {{ totalCount }} }} }}', actor=coordonnateur)
    assert answer["errors"][0]["extensions"] == {"code": "invalid_input", "field": "first"}, answer
    cursor = "z" * 5000
    answer = server.post(f'{{ plan(id: "{plan}") {{ proposals(after: "{cursor}") {{ totalCount }} }} }}',
                         actor=coordonnateur)
    assert answer["errors"][0]["extensions"] == {"code": "invalid_input", "field": "after"}, answer
    assert "zzzz" not in str(answer)


# Defect 10: body size and echoes.

def test_an_oversized_body_is_refused_with_413_and_writes_nothing(server, admin):
    before = head(server)
    big = "x" * (server.settings.max_body_bytes + 1)
    answer = httpx.post(f"{server.url}/graphql", json={"query": REGISTER % (admin[0], big)},
                        headers=server.headers(admin))
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "payload_too_large"
    assert len(answer.content) < 500
    assert head(server) == before


def test_an_anonymous_request_is_limited_to_a_small_body(server, admin):
    padded = {"query": "{ groupements { id } }" + " " * 70_000}
    anonymous = httpx.post(f"{server.url}/graphql", json=padded)
    assert anonymous.status_code == 413
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "payload_too_large"
    signed = httpx.post(f"{server.url}/graphql", json=padded, headers=server.headers(admin))
    assert signed.json() == {"data": {"groupements": []}}


def test_a_long_input_is_never_echoed_in_full(server, admin):
    long_id = "y" * 200_000
    answer = server.post("query($p: ID!) { plan(id: $p) { id } }", {"p": long_id}, actor=admin)
    assert code_of(answer) == "not_found", answer
    assert "y" * 61 not in str(answer)
    siret = "9" * 100_000
    answer = server.post(REGISTER % (siret, "R"), actor=admin)
    assert answer["data"]["registerOrganisation"]["error"]["code"] == "invalid_siret", answer
    assert len(str(answer)) < 1000


def test_a_malformed_authorization_header_gets_its_code(server, admin):
    answer = server.post("{ groupements { id } }", headers={"x-progres-organisation": admin[0],
                                                             "authorization": "Bearer x.y.z"})
    assert answer["status"] == 401
    assert code_of(answer) == "malformed_token"


# Defect 8: loopback guard of the local identity mode, per connection.

def outside_address() -> str | None:
    """An address of this machine that is not loopback (a client connecting to it is not on loopback)."""
    import socket  # noqa: PLC0415

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def factory_on_all_interfaces(server):
    """The ASGI factory run by uvicorn on 0.0.0.0 (not through `progres serve`, whose settings say 127.0.0.1)."""
    port = free_port()
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": server.settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": server.settings.views_schema, "PROGRES_DATA_DIR": str(server.settings.data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "progres.services.app:create_app",
                                "--host", "0.0.0.0", "--port", str(port), "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_local_identity_mode_refuses_connections_from_outside_loopback(server, admin, factory_on_all_interfaces):
    outside = outside_address()
    if outside is None:
        pytest.skip("this machine has no address outside loopback")
    port = factory_on_all_interfaces
    query = {"query": REGISTER % (siret_with_key("2000537670001"), "R")}
    before = head(server)
    refused = httpx.post(f"http://{outside}:{port}/graphql", json=query, headers=server.headers(admin))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "local_identity_loopback_only"
    forwarded = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query,
                           headers={**server.headers(admin), "x-forwarded-for": "203.0.113.7"})
    assert forwarded.status_code == 403
    assert head(server) == before

    async def connect() -> None:
        async with websockets.connect(f"ws://{outside}:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                      additional_headers=server.headers(admin)):
            pass

    with pytest.raises(websockets.InvalidStatus) as rejected:
        asyncio.run(connect())
    assert rejected.value.response.status_code == 403
    on_loopback = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query, headers=server.headers(admin))
    assert on_loopback.json()["data"]["registerOrganisation"]["ok"] is True
    assert head(server) > before


# Defect 11 and "refused before parsing": a production server (identity provider: keys served over HTTP).

@pytest.fixture
def production_server(postgres_ready, tmp_path):
    """`progres serve` in production, trusting a JWKS served on loopback with the test's own key."""
    import http.server  # noqa: PLC0415
    import json  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from progres.services.audit_keys import generate, keys_dir  # noqa: PLC0415
    from progres.services.serving import served  # noqa: PLC0415

    issuer_key = LocalIssuer(tmp_path)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer_key.public_key()))
    keys = json.dumps({"keys": [{**jwk, "kid": "test-kid", "use": "sig", "alg": ALGORITHM}]}).encode()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(keys)

        def log_message(self, *_: object) -> None:
            pass

    jwks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"e2e_{suffix}", views_schema=f"e2e_views_{suffix}",
                        data_dir=tmp_path)
    issuer = "http://127.0.0.1/realms/test"
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "production",
           "PROGRES_DATA_DIR": str(tmp_path), "PROGRES_OIDC_ISSUER": issuer,
           "PROGRES_OIDC_JWKS_URL": f"http://127.0.0.1:{jwks.server_port}/certs"}

    def token(siret: str, role: str) -> str:
        now = int(time.time())
        return jwt.encode({"iss": issuer, "aud": settings.oidc_audience, "azp": "progres-cli", "sub": "u",
                           "iat": now, "exp": now + 600, "organization": [siret], "realm_access": {"roles": [role]}},
                          issuer_key.private_key(), algorithm=ALGORITHM, headers={"kid": "test-kid"})

    generate(keys_dir(settings))  # production refuses to run without an audit key (docs/audit.md)
    try:
        with served(env) as url:
            yield url, token, settings
    finally:
        jwks.shutdown()
        with postgres_connect(settings, autocommit=True) as connection:
            for schema_name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))


def test_production_refuses_anonymous_requests_before_parsing_and_suggests_no_names(production_server):
    url, token, _ = production_server
    anonymous = httpx.post(f"{url}/graphql", json={"query": fanout(24)})
    assert anonymous.status_code == 401
    preflight = httpx.options(f"{url}/graphql", headers={"origin": "https://example.org",
                                                          "access-control-request-method": "POST"})
    assert preflight.status_code != 401  # a CORS preflight carries no credentials: CORS decides
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
    siret = siret_with_key("2000537670001")
    headers = {"authorization": f"Bearer {token(siret, 'admin')}", "x-progres-organisation": siret}
    typo = httpx.post(f"{url}/graphql", json={"query": 'mutation { recordMesure(x: 1) { ok } }'}, headers=headers)
    error = typo.json()["errors"][0]
    assert error["extensions"]["code"] == "bad_request"
    assert "recordMesure" in error["message"]
    assert "Did you mean" not in error["message"]
    assert "recordMeasure" not in typo.text
    fanned = httpx.post(f"{url}/graphql", json={"query": fanout(24)}, headers=headers)
    assert fanned.json()["errors"][0]["extensions"]["code"] == "query_too_large"


def test_development_still_suggests_names(server, admin):
    typo = server.post("mutation { recordMesure(x: 1) { ok } }", actor=admin)
    assert "Did you mean 'recordMeasure'" in typo["errors"][0]["message"]

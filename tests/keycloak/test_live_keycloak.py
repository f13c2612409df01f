"""Identity against a live Keycloak and a real `progres serve`: the access matrix of docs/access.md row by
row, forged and broken tokens, provisioning twice, and a key rotation followed without a restart."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.demo import AUDITOR, LYCEES, REGION, TITULAIRE

pytestmark = [pytest.mark.postgres]
ACCESS = Path(__file__).resolve().parents[2] / "docs" / "access.md"
USERS = {"coord.region": siret_with_key(REGION[0]), "acheteur.behal": siret_with_key(LYCEES[0][0]),
         "acheteur.condorcet": siret_with_key(LYCEES[1][0]), "titulaire.laiterie": siret_with_key(TITULAIRE[0]),
         "auditeur.crc": siret_with_key(AUDITOR[0])}


def matrix() -> list[tuple[str, str, bool]]:
    lines = [line for line in ACCESS.read_text().splitlines() if line.startswith("| ") and "operation" not in line]
    header = next(line for line in ACCESS.read_text().splitlines() if line.startswith("| operation"))
    users = [cell.strip() for cell in header.strip("|").split("|")[1:]]
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows += [(cells[0], user, mark == "✓") for user, mark in zip(users, cells[1:], strict=True)]
    return rows


def operation(server, name: str, user: str) -> tuple[str, dict]:
    s = server.scenario
    me = {"coord.region": s.region, "acheteur.behal": s.lycees[0], "acheteur.condorcet": s.lycees[1],
          "titulaire.laiterie": s.titulaire, "auditeur.crc": s.auditor}[user]
    return {
        "read the plan tree": ("query($p: ID!) { plan(id: $p) { title } }", {"p": s.plan}),
        "read Béhal's member view": ("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position } }",
                                     {"p": s.plan, "m": s.lycees[0]}),
        "read the plan balance": ("query($p: ID!) { planBalance(planId: $p) { final } }", {"p": s.plan}),
        "read the groupement's events": ("query($g: ID!) { events(filter: {groupementId: $g}, first: 5) "
                                         "{ edges { node { position } } } }", {"g": s.groupement}),
        "record a measure for Béhal": (
            "mutation($p: ID!, $m: ID!) { recordMeasure(planId: $p, indicatorKey: \"egalim_share\", memberId: $m, "
            "periodStart: \"2023-07-01\", periodEnd: \"2023-12-31\", value: \"50\", source: \"factures\", "
            "recordedBy: $m, declaredOn: \"2024-01-02\") { ok error { code } } }", {"p": s.plan, "m": s.lycees[0]}),
        "submit a proposition as oneself": (
            "mutation($p: ID!, $a: ID!) { submitProposal(planId: $p, authorId: $a, axisKey: \"egalim\", "
            "kind: \"innovation\", title: \"Idée\", content: \"C\", expectedImpact: \"I\", "
            "submittedOn: \"2023-05-01\") { ok error { code } } }", {"p": s.plan, "a": me}),
        "add an axis to the plan": ("mutation($p: ID!) { addAxis(planId: $p, key: \"x\", title: \"X\") "
                                    "{ ok error { code } } }", {"p": s.plan}),
        "change an action's status": ("mutation($p: ID!) { changeActionStatus(planId: $p, key: \"emballages\", "
                                      "status: \"done\", on: \"2024-01-10\") { ok error { code } } }", {"p": s.plan}),
    }[name]


def allowed_by(answer: httpx.Response) -> bool:
    body = answer.json()
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] in ("forbidden", "not_found"), body
        return False
    payload = next(iter(body["data"].values()))
    error = payload.get("error") if isinstance(payload, dict) else None
    return error is None or error["code"] not in ("forbidden", "not_found")  # allowed writes meet plan_closed


async def follow(url: str, token: str, organisation: str, plan: str) -> bool:
    try:
        async with websockets.connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"],
                                      additional_headers={"authorization": f"Bearer {token}",
                                                          "x-progres-organisation": organisation}) as socket:
            await socket.send(json.dumps({"type": "connection_init"}))
            if json.loads(await socket.recv())["type"] != "connection_ack":
                return False
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($p: ID!) { planEvents(planId: $p, afterPosition: 0) { position } }",
                "variables": {"p": plan}}}))
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
            return message["type"] == "next" and message["payload"].get("data") is not None
    except websockets.exceptions.InvalidStatus:
        return False


@pytest.mark.parametrize(("name", "user", "allowed"), matrix(), ids=[f"{n}-{u}" for n, u, _ in matrix()])
def test_every_row_of_the_access_matrix_holds_with_real_tokens(keycloak, trusting_server, name, user, allowed):
    token = keycloak.token(user)
    if name == "follow the plan live":
        assert asyncio.run(follow(trusting_server.url, token, USERS[user], trusting_server.scenario.plan)) is allowed
        return
    query, variables = operation(trusting_server, name, user)
    answer = trusting_server.graphql(query, token, USERS[user], variables)
    assert answer.status_code == 200, answer.text
    assert allowed_by(answer) is allowed, answer.text


def sign(claims: dict, key, kid: str, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def forged(keycloak, kind: str) -> tuple[str, str]:
    """A token of the given defect, and the organisation header sent with it."""
    real = keycloak.token("coord.region")
    claims = jwt.decode(real, options={"verify_signature": False})
    region = USERS["coord.region"]
    now = int(time.time())
    if kind == "expired":
        return sign({**claims, "exp": now - 3600, "iat": now - 4000}, keycloak.key, keycloak.kid), region
    if kind == "not yet valid":
        return sign({**claims, "nbf": now + 3600}, keycloak.key, keycloak.kid), region
    if kind == "wrong issuer":
        return sign({**claims, "iss": "http://127.0.0.1:8180/realms/other"}, keycloak.key, keycloak.kid), region
    if kind == "wrong audience":
        return sign({**claims, "aud": "account"}, keycloak.key, keycloak.kid), region
    if kind == "unknown kid":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return sign(claims, stranger, "not-a-realm-key"), region
    if kind == "alg none":
        return jwt.encode(claims, None, algorithm="none", headers={"kid": keycloak.kid}), region
    if kind == "HS256 with the public key":
        pem = keycloak.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
        head = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": keycloak.kid}).encode()).rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        mac = base64.urlsafe_b64encode(hmac.new(pem, head + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
        return b".".join([head, body, mac]).decode(), region
    if kind == "tampered payload":
        head, _, signature = real.split(".")
        body = base64.urlsafe_b64encode(json.dumps({**claims, "realm_access": {"roles": ["admin"]}})
                                        .encode()).rstrip(b"=").decode()
        return f"{head}.{body}.{signature}", region
    if kind == "missing organisation claim":
        return sign({k: v for k, v in claims.items() if k != "organization"}, keycloak.key, keycloak.kid), region
    return keycloak.token("acheteur.behal"), region  # an organisation the user does not belong to


KINDS = ["expired", "not yet valid", "wrong issuer", "wrong audience", "unknown kid", "alg none",
         "HS256 with the public key", "tampered payload", "missing organisation claim", "another organisation"]


ADD_AXIS = "mutation($p: ID!, $k: String!) { addAxis(planId: $p, key: $k, title: \"Axe\") { ok error { code } } }"


@pytest.fixture(scope="module")
def open_plan(trusting_server) -> str:
    """A plan the coordonnateur can still write (the seed's is closed by its bilan final)."""
    s = trusting_server.scenario
    app = bootstrap(trusting_server.settings)
    try:
        marche = app.notify_marche(s.groupement, "M-OUVERT", "Fruits", "03222000-3", "fournitures", [s.titulaire],
                                   "50000", 12, "2024-01-01").id
        return str(app.draw_up_plan(marche, "Plan ouvert").id)
    finally:
        app.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_forged_or_broken_token_is_refused_and_writes_nothing(keycloak, trusting_server, open_plan, kind):
    token, organisation = forged(keycloak, kind)
    head = trusting_server.log_head()
    answer = trusting_server.graphql(ADD_AXIS, token, organisation, {"p": open_plan, "k": "forged"})
    assert answer.status_code in (401, 403), answer.text
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] != "internal_error"
    assert error["message"]
    assert trusting_server.log_head() == head


def test_the_plan_forged_tokens_target_is_written_with_a_genuine_one(keycloak, trusting_server, open_plan):
    token, region = keycloak.token("coord.region"), USERS["coord.region"]
    deadline = time.monotonic() + 30
    while True:  # the plan was written beside the server: wait until its read side knows it
        seen = trusting_server.graphql("query($p: ID!) { plan(id: $p) { title } }", token, region, {"p": open_plan})
        if (seen.json().get("data") or {}).get("plan") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    head = trusting_server.log_head()
    answer = trusting_server.graphql(ADD_AXIS, token, region, {"p": open_plan, "k": "genuine"})
    assert answer.json() == {"data": {"addAxis": {"ok": True, "error": None}}}, answer.text
    assert trusting_server.log_head() == head + 1


def test_keycloak_sync_run_twice_changes_nothing_the_second_time(keycloak, trusting_server):
    env = {**os.environ, "PROGRES_STORE": "postgres",
           "PROGRES_POSTGRES_SCHEMA": trusting_server.settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": trusting_server.settings.views_schema}
    runs = [subprocess.run([sys.executable, "-m", "progres.services.cli", "keycloak", "sync"], env=env,
                           capture_output=True, text=True, timeout=120, check=False) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs
    first, second = (int(re.search(r"(\d+) change", run.stdout).group(1)) for run in runs)
    assert first >= 1, runs[0].stdout  # the realm's organisations lacked their kind and groupements
    assert second == 0, runs[1].stdout


def test_after_a_key_rotation_tokens_of_the_new_key_are_accepted_without_a_restart(keycloak, trusting_server):
    from progres.services.provisioning import admin_client  # noqa: PLC0415

    admin = admin_client(trusting_server.settings)
    realm_id = admin.get_realm("progres")["id"]
    admin.create_component({"name": "rotated-key", "providerId": "rsa-generated", "parentId": realm_id,
                            "providerType": "org.keycloak.keys.KeyProvider",
                            "config": {"priority": ["500"], "keySize": ["2048"], "algorithm": ["RS256"]}})
    old = next(c for c in admin.get_components({"parent": realm_id, "type": "org.keycloak.keys.KeyProvider"})
               if c["name"] == "progres-test-key")
    admin.update_component(old["id"], {**old, "config": {**old["config"], "enabled": ["false"], "active": ["false"]}})
    token = keycloak.token("coord.region")
    assert jwt.get_unverified_header(token)["kid"] != keycloak.kid, "the realm now signs with the new key"
    time.sleep(1.5)  # past the server's cooldown between two fetches of the keys
    answer = trusting_server.graphql("query($p: ID!) { plan(id: $p) { title } }", token, USERS["coord.region"],
                                     {"p": trusting_server.scenario.plan})
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json(), answer.text
    print(f"Keycloak start-up (fetch, import, ready): {keycloak.startup_seconds:.1f} s")

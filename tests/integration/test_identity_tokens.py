"""Token validation against keys served over HTTP by a real local JWKS endpoint: each forged or broken
token is refused with its code; a key rotation is followed without a restart; refetches are rate-limited.
(The same validator will face the live Keycloak once the identity issue lands.)"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from progres.domain.organisations import Organisation
from progres.services.identity import TokenRefused, TokenRules, TokenValidator, actor_from_claims

ISSUER = "http://127.0.0.1:8180/realms/progres"
SIRET = "20005376700014"


class Keys:
    def __init__(self) -> None:
        self.private = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)
                        for kid in ("old", "new", "stranger")}
        self.published = ["old"]
        self.fetches = 0

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(RSAAlgorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}


@pytest.fixture
def keys() -> Any:
    state = Keys()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = json.dumps(state.jwks()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/certs"
    yield state
    server.shutdown()


@pytest.fixture
def validator(keys) -> TokenValidator:
    return TokenValidator(TokenRules(ISSUER, "progres-api", ("progres-cli",), leeway=30), keys.url, cooldown_seconds=1)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": ["progres-api", "account"], "azp": "progres-cli", "sub": "user-1", "iat": now,
            "exp": now + 300, "organization": [SIRET], "realm_access": {"roles": ["coordonnateur", "offline_access"]}}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(keys: Keys, kid: str = "old", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), keys.private[kid], algorithm="RS256", headers={"kid": kid})


def refused(validator: TokenValidator, token: str) -> str:
    with pytest.raises(TokenRefused) as caught:
        validator.claims(token)
    return caught.value.code


def test_a_valid_token_names_the_actor(validator, keys):
    actor = actor_from_claims(validator.claims(mint(keys)), SIRET, None)
    assert actor.organisation_id == str(Organisation.create_id(SIRET))
    assert actor.role.value == "coordonnateur"


def test_expired_and_not_yet_valid_tokens_are_refused_within_the_leeway(validator, keys):
    now = int(time.time())
    assert refused(validator, mint(keys, exp=now - 120)) == "token_expired"
    assert validator.claims(mint(keys, exp=now - 10))  # within the 30 s leeway
    assert refused(validator, mint(keys, nbf=now + 300)) == "token_not_yet_valid"


def test_tokens_of_another_issuer_audience_or_client_are_refused(validator, keys):
    assert refused(validator, mint(keys, iss="http://127.0.0.1:8180/realms/other")) == "wrong_issuer"
    assert refused(validator, mint(keys, aud="account")) == "wrong_audience"
    assert refused(validator, mint(keys, azp="some-other-client")) == "azp_refused"


def test_a_token_signed_by_an_unknown_key_is_refused(validator, keys):
    assert refused(validator, mint(keys, kid="stranger")) == "unknown_key"


def test_alg_none_and_hs256_signed_with_the_public_key_are_refused(validator, keys):
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "old"})
    assert refused(validator, unsigned) == "algorithm_refused"
    public_pem = keys.private["old"].public_key().public_bytes(serialization.Encoding.PEM,
                                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "old", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    signature = base64.urlsafe_b64encode(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    confused = b".".join([header, payload, signature.rstrip(b"=")]).decode()
    assert refused(validator, confused) == "algorithm_refused"


def test_a_tampered_payload_is_refused(validator, keys):
    header, _, signature = mint(keys).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(sub="someone-else",
                                                        realm_access={"roles": ["admin"]})).encode()).rstrip(b"=")
    assert refused(validator, f"{header}.{forged.decode()}.{signature}") == "bad_signature"
    assert refused(validator, "not-a-token") == "malformed_token"


def test_the_organisation_must_be_in_the_token_and_the_role_among_the_users(validator, keys):
    good = validator.claims(mint(keys))
    with pytest.raises(TokenRefused) as missing:
        actor_from_claims(validator.claims(mint(keys, organization=None)), SIRET, None)
    assert missing.value.code == "organisation_not_in_token"
    with pytest.raises(TokenRefused) as other:
        actor_from_claims(good, "19620012300012", None)
    assert (other.value.code, other.value.status) == ("organisation_not_in_token", 403)
    with pytest.raises(TokenRefused) as role:
        actor_from_claims(good, SIRET, "auditeur")
    assert role.value.code == "role_not_in_token"
    with pytest.raises(TokenRefused) as unnamed:
        actor_from_claims(good, None, None)
    assert unnamed.value.code == "organisation_missing"


def test_a_rotated_key_is_followed_without_a_restart_and_refetches_are_rate_limited(validator, keys):
    assert validator.claims(mint(keys, kid="old"))
    keys.published = ["new"]  # the realm adds a new key and disables the old one
    time.sleep(1.1)  # past the cooldown
    assert validator.claims(mint(keys, kid="new"))
    fetches = keys.fetches
    for _ in range(5):  # unknown keys in a burst: at most one more fetch within the cooldown
        refused(validator, mint(keys, kid="stranger"))
    assert keys.fetches - fetches <= 1


def test_a_server_with_an_identity_provider_takes_tokens_and_writes_nothing_for_a_bad_one(keys, sqlite_settings):
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from progres.services.app import create_app  # noqa: PLC0415
    from progres.services.bootstrap import bootstrap  # noqa: PLC0415
    from progres.services.demo import run_seed_scenario  # noqa: PLC0415

    app = bootstrap(sqlite_settings)
    scenario = run_seed_scenario(app)
    # The seed's plan is closed by its bilan final: the target is a plan the coordonnateur can still write.
    marche = app.notify_marche(scenario.groupement, "M-OUVERT", "Fruits", "03222000-3", "fournitures",
                               [scenario.titulaire], "50000", 12, "2024-01-01").id
    plan = app.draw_up_plan(marche, "Plan ouvert").id
    head = app.max_notification_id()
    # The test's JWKS endpoint stands for the realm's.
    settings = sqlite_settings.model_copy(update={"oidc_issuer": ISSUER, "oidc_jwks_url": keys.url})
    with TestClient(create_app(settings)) as client:
        mutation = f'mutation {{ addAxis(planId: "{plan}", key: "x", title: "X") {{ ok error {{ code }} }} }}'
        query = f'{{ planBalance(planId: "{scenario.plan}") {{ final }} }}'
        for token, expected in ((mint(keys, exp=int(time.time()) - 3600), "token_expired"),
                                (mint(keys, kid="stranger"), "unknown_key"),
                                (mint(keys, organization=["19620012300012"]), "organisation_not_in_token")):
            answer = client.post("/graphql", json={"query": mutation}, headers={
                "authorization": f"Bearer {token}", "x-progres-organisation": SIRET})
            assert answer.status_code in (401, 403)
            assert answer.json()["errors"][0]["extensions"]["code"] == expected
        unsigned = client.post("/graphql", json={"query": mutation}, headers={"x-progres-organisation": SIRET})
        assert unsigned.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
        assert app.max_notification_id() == head, "refused requests wrote nothing"
        good = client.post("/graphql", json={"query": query}, headers={
            "authorization": f"Bearer {mint(keys)}", "x-progres-organisation": SIRET})
        assert good.status_code == 200, good.text
        written = client.post("/graphql", json={"query": mutation}, headers={
            "authorization": f"Bearer {mint(keys)}", "x-progres-organisation": SIRET})
        assert written.json() == {"data": {"addAxis": {"ok": True, "error": None}}}, written.text
    assert app.max_notification_id() == head + 1, "the same mutation with a good token writes"


def test_a_verified_token_is_kept_only_until_it_expires_and_a_refused_one_is_never_kept(validator, keys, monkeypatch):
    now = int(time.time())
    closing = mint(keys, exp=now - 29)  # one second of the 30 s leeway left
    assert validator.claims(closing)["sub"] == "user-1"
    assert validator.claims(closing)["sub"] == "user-1"  # taken again from memory
    time.sleep(2.1)
    assert refused(validator, closing) == "token_expired"  # the kept verification ended with the token's validity
    fresh = mint(keys)
    assert validator.claims(fresh)
    # Kept at most VERIFIED_SECONDS, then verified again: a key the realm disabled meanwhile refuses its tokens.
    monkeypatch.setattr("progres.services.identity.VERIFIED_SECONDS", 0.0)
    validator._verified.clear()
    assert validator.claims(fresh)
    keys.published = ["new"]
    time.sleep(1.1)  # past the key set's cooldown: the next unknown or stale look-up refetches it
    validator.keys.jwk_set_cache = None  # as when the key set's 60 s lifespan has elapsed
    assert refused(validator, fresh) == "unknown_key"
    assert refused(validator, "not a token") == "malformed_token"
    assert "not a token" not in validator._verified

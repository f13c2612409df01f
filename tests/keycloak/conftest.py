"""A live Keycloak (deploy/keycloak/keycloak.sh) with the progres realm, plus a signing key of the tests'
own imported into the realm so that tests can sign tokens with any claims; and a real `progres serve` on
PostgreSQL that trusts that realm, holding the seed scenario."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.serving import served
from progres.services.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "keycloak" / "keycloak.sh"
BASE = "http://127.0.0.1:8180"
ISSUER = f"{BASE}/realms/progres"
REQUIRED = os.environ.get("PROGRES_REQUIRE_KEYCLOAK") == "1"


@dataclass
class Realm:
    issuer: str
    key: rsa.RSAPrivateKey
    kid: str
    startup_seconds: float

    def token(self, username: str) -> str:
        answer = httpx.post(f"{self.issuer}/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "progres-cli", "username": username, "password": "progres-demo",
            "scope": "openid organization"}, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def realm_with_test_key(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    realm = json.loads((REPO / "deploy" / "keycloak" / "realm-progres.json").read_text())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    realm["components"] = {"org.keycloak.keys.KeyProvider": [
        {"name": "progres-test-key", "providerId": "rsa", "subComponents": {},
         "config": {"privateKey": [pem], "priority": ["100"], "algorithm": ["RS256"], "active": ["true"],
                    "enabled": ["true"]}},
        {"name": "hmac-generated", "providerId": "hmac-generated", "subComponents": {},
         "config": {"priority": ["100"], "algorithm": ["HS512"]}},
        {"name": "aes-generated", "providerId": "aes-generated", "subComponents": {}, "config": {"priority": ["100"]}},
    ]}
    return realm


@pytest.fixture(scope="session")
def keycloak() -> Iterator[Realm]:
    if not (shutil.which("java") and shutil.which("mvn") and shutil.which("curl")):
        message = "Keycloak needs java, mvn and curl"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "realm-progres.json").write_text(json.dumps(realm_with_test_key(key)))
        env = {**os.environ, "KEYCLOAK_FRESH": "1", "KEYCLOAK_IMPORT": directory}
        started = time.monotonic()
        result = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=300,
                                check=False)
        if result.returncode != 0:
            pytest.fail(f"Keycloak did not start: {result.stdout}{result.stderr}")
        print(result.stdout.strip())
        elapsed = time.monotonic() - started
    jwks = httpx.get(f"{ISSUER}/protocol/openid-connect/certs", timeout=30).json()
    modulus = key.public_key().public_numbers().n
    from jwt.algorithms import RSAAlgorithm  # noqa: PLC0415

    kid = next(k["kid"] for k in jwks["keys"] if k.get("alg") == "RS256"
               and RSAAlgorithm.from_jwk(json.dumps(k)).public_numbers().n == modulus)
    try:
        yield Realm(ISSUER, key, kid, elapsed)
    finally:
        subprocess.run([str(SCRIPT), "stop"], check=False, timeout=60)


@dataclass
class Server:
    url: str
    settings: Settings
    scenario: Any
    head: int

    def graphql(self, query: str, token: str | None, organisation: str | None, variables: dict | None = None,
                extra: dict[str, str] | None = None) -> httpx.Response:
        headers = {**({"authorization": f"Bearer {token}"} if token else {}),
                   **({"x-progres-organisation": organisation} if organisation else {}), **(extra or {})}
        return httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=60)

    def log_head(self) -> int:
        app = bootstrap(self.settings)
        try:
            return app.max_notification_id() or 0
        finally:
            app.close()


@pytest.fixture(scope="session")
def trusting_server(keycloak, postgres_ready) -> Iterator[Server]:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"kc_{suffix}", views_schema=f"kc_views_{suffix}",
                        oidc_issuer=keycloak.issuer)
    app = bootstrap(settings)
    scenario = run_seed_scenario(app)
    head = app.max_notification_id() or 0
    app.close()
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_OIDC_ISSUER": keycloak.issuer,
           "PROGRES_OIDC_JWKS_COOLDOWN_SECONDS": "1"}
    with served(env) as url:
        yield Server(url, settings, scenario, head)
    with postgres_connect(settings, autocommit=True) as connection:
        for schema in (settings.postgres_schema, settings.views_schema):
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

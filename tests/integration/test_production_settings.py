"""Identity modes of a server: production needs an identity provider and hides the schema; the local
identity mode runs only in development, on loopback; the old development header is gone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from progres.services.app import LocalIdentityRefused, create_app
from progres.services.audit_keys import KeyMissing, generate, keys_dir


@pytest.fixture
def provisioned(sqlite_settings):
    """Production needs its audit key provisioned beforehand (docs/audit.md)."""
    generate(keys_dir(sqlite_settings))
    return sqlite_settings


def test_production_refuses_to_start_without_an_audit_key(sqlite_settings):
    settings = sqlite_settings.model_copy(update={"environment": "production",
                                                  "oidc_issuer": "http://127.0.0.1:9/realms/progres"})
    with pytest.raises(KeyMissing, match="progres audit keygen"):
        create_app(settings)
    assert not keys_dir(settings).exists()


def test_production_refuses_the_local_identity_mode(provisioned):
    sqlite_settings = provisioned
    with pytest.raises(LocalIdentityRefused, match="identity provider"):
        create_app(sqlite_settings.model_copy(update={"environment": "production"}))


def test_the_local_identity_mode_serves_loopback_only(sqlite_settings):
    with pytest.raises(LocalIdentityRefused, match="loopback"):
        create_app(sqlite_settings.model_copy(update={"host": "0.0.0.0"}))


def test_production_hides_graphiql_and_introspection(provisioned):
    sqlite_settings = provisioned
    settings = sqlite_settings.model_copy(update={"environment": "production",
                                                  "oidc_issuer": "http://127.0.0.1:9/realms/progres"})
    with TestClient(create_app(settings)) as client:
        introspection = client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert introspection.json().get("errors"), "introspection is off in production"
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code != 200


def test_development_serves_graphiql_and_refuses_the_old_header(sqlite_settings):
    # The local identity mode serves loopback connections only: the test client says it connects on loopback.
    with TestClient(create_app(sqlite_settings), base_url="http://127.0.0.1",
                    client=("127.0.0.1", 50000)) as client:
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 200
        introspection = client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        old = client.post("/graphql", json={"query": "{ groupements { id } }"},
                          headers={"x-progres-actor": "someone:admin"})
        assert old.json()["errors"][0]["extensions"]["code"] == "unauthenticated"

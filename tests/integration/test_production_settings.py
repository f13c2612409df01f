"""A production server: no development identity header, no GraphiQL, no introspection."""

from __future__ import annotations

from fastapi.testclient import TestClient

from progres.services.app import create_app


def test_production_refuses_the_development_header_and_hides_the_schema(sqlite_settings):
    settings = sqlite_settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(settings)) as client:
        refused = client.post("/graphql", json={"query": "{ groupements { id } }"},
                              headers={"x-progres-actor": "x:admin"})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
        introspection = client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert introspection.json().get("errors"), "introspection is off in production"
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code != 200


def test_development_serves_graphiql_and_introspection(sqlite_settings):
    with TestClient(create_app(sqlite_settings)) as client:
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 200
        introspection = client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"

"""A real `progres serve` process on PostgreSQL, and a client that speaks to it over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from psycopg import sql

from progres.domain.organisations import Organisation
from progres.domain.values import siret_with_key
from progres.graphql.mutations import camel
from progres.graphql.schema import schema
from progres.services.bootstrap import postgres_connect
from progres.services.demo import REGION, TITULAIRE
from progres.services.identity import LocalIssuer
from progres.services.serving import served
from progres.services.settings import Settings
from tests.conftest import ADHESION, CONVENTION
from tests.graphql_inputs import command_input


@dataclass
class Server:
    url: str
    settings: Settings

    def token(self, siret: str, role: str) -> str:
        """A token of the server's local identity mode (the same key, in its data directory)."""
        return LocalIssuer(self.settings.data_dir).mint(siret, [role], self.settings.oidc_audience)

    def headers(self, actor: tuple[str, str]) -> dict[str, str]:
        siret, role = actor
        return {"authorization": f"Bearer {self.token(siret, role)}", "x-progres-organisation": siret}

    def post(self, query: str, variables: dict[str, Any] | None = None, actor: tuple[str, str] | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        sent = {**(headers or {}), **(self.headers(actor) if actor else {})}
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              headers=sent, timeout=60)
        return {"status": response.status_code, **response.json()}


@pytest.fixture
def server(postgres_ready, tmp_path, request) -> Iterator[Server]:
    """`@pytest.mark.server_env(PROGRES_X="…")` on a test adds settings to the server's environment."""
    marker = request.node.get_closest_marker("server_env")
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"e2e_{suffix}", views_schema=f"e2e_views_{suffix}",
                        data_dir=tmp_path)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(tmp_path), **(marker.kwargs if marker else {})}
    with served(env) as url:
        yield Server(url, settings)
    with postgres_connect(settings, autocommit=True) as connection:
        for schema_name in (settings.postgres_schema, settings.views_schema):
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))


REGION_SIRET = siret_with_key(REGION[0])
REGION_ID = str(Organisation.create_id(REGION_SIRET))
TITULAIRE_ID = str(Organisation.create_id(siret_with_key(TITULAIRE[0])))
ACTING_FOR = ("recorded_by", "corrected_by", "author_id", "by")


def actor_for(command: str, arguments: dict[str, Any], sirets: dict[str, str]) -> tuple[str, str]:
    """Who sends each command of the scenario: the party the command acts for (SIRET, role)."""
    if command == "register_organisation":
        return REGION_SIRET, "admin"
    org = next((str(arguments[a]) for a in ACTING_FOR if arguments.get(a)), REGION_ID)
    role = "coordonnateur" if org == REGION_ID else "titulaire" if org == TITULAIRE_ID else "acheteur"
    return sirets[org], role


class GraphQLRunner:
    """Runs each command of a scenario as the GraphQL mutation of the same name, over HTTP, as a client of the typed
    contract does: its Python arguments sent as the mutation's `input` (tests/graphql_inputs.py), the result read
    from `userErrors`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.count = 0
        self.head = 0  # the log position of the last command run (what a client would pass on)
        self.sirets: dict[str, str] = {}  # organisation id → SIRET, learnt as organisations are registered
        self.fields = schema._schema.mutation_type.fields

    def __call__(self, command: str, **arguments: Any) -> str:
        name = camel(command)
        kind = str(self.fields[name].args["input"].type)
        query = (f"mutation($input: {kind}) {{ {name}(input: $input) {{ id position "
                 "userErrors { code field message } } }")
        variables = {"input": command_input(schema._schema, command, arguments)}
        answer = self.server.post(query, variables, actor=actor_for(command, arguments, self.sirets))
        assert "errors" not in answer, (command, query, answer)
        result = answer["data"][name]
        assert not result["userErrors"], (command, result["userErrors"])
        self.count += 1
        self.head = max(self.head, result["position"] or 0)
        if command == "register_organisation":
            self.sirets[str(result["id"])] = arguments["siret"]
        return str(result["id"])


@dataclass
class SmallPlan:
    plan: str
    coordonnateur: tuple[str, str]  # (SIRET, role) of the Région
    lycee: tuple[str, str]


def small_plan(runner: GraphQLRunner, code: str = "GC-E2E") -> SmallPlan:
    """A groupement with one member, its marché and a plan with one axis, made through the mutations."""
    coordonnateur = runner("register_organisation", siret=siret_with_key("2000537670001"), name="Région",
                           kind="collectivite")
    titulaire = runner("register_organisation", siret=siret_with_key("4190012340001"), name="Laiterie",
                       kind="supplier")
    lycee = runner("register_organisation", siret=siret_with_key("1962001230001"), name="Lycée", kind="eple")
    groupement = runner("constitute_groupement", code=code, name="G", purpose="Achats", permanent=True,
                        coordonnateur_id=coordonnateur, signed_on="2021-06-01", convention=CONVENTION)
    runner("admit_member", groupement_id=groupement, organisation_id=lycee, on="2021-09-01", decision=ADHESION,
           decided_on="2021-07-01")
    marche = runner("notify_marche", groupement_id=groupement, code=f"M-{code}", object="BOF", cpv="15500000-3",
                    nature="fournitures", titulaire_ids=[titulaire], initial_amount="1000", duration_months=24,
                    notified_on="2022-01-01")
    plan = runner("draw_up_plan", marche_id=marche, title="Plan")
    runner("add_axis", plan_id=plan, key="egalim", title="EGalim")
    return SmallPlan(plan, (runner.sirets[coordonnateur], "coordonnateur"), (runner.sirets[lycee], "acheteur"))

"""Every example of docs/graphql.md runs, in the order of the page and as the actor it names, against one real
`progres serve` process on PostgreSQL (subscriptions over graphql-transport-ws); every query, mutation and
subscription of the schema has at least one example there."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import OperationDefinitionNode, OperationType, parse, validate
from psycopg import sql

from progres.graphql.schema import schema
from progres.services.bootstrap import postgres_connect
from progres.services.serving import served
from progres.services.settings import Settings

from .conftest import Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "graphql.md"
TEXT = DOC.read_text()
# An example: a ```graphql block whose first line names its actor, then (optionally, after blank lines only)
# the ```json block of its variables.
EXAMPLE = re.compile(r"```graphql\n# as: (\w+)\n(.*?)```\n(?:\s*```json\n(.*?)```)?", re.DOTALL)
# The table of actors: | `actor` | organisation | SIRET | `role` | `id` |
ACTOR_ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| (\d{14}) \| `(\w+)` \| `[0-9a-f-]{36}` \|$", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    number: int
    actor: str
    document: str
    variables: dict[str, Any]

    @property
    def name(self) -> str:
        operation = self.operation
        return f"{self.number:02d}-{operation.name.value if operation.name else 'anonymous'}"

    @property
    def operation(self) -> OperationDefinitionNode:
        (operation,) = [d for d in parse(self.document).definitions if isinstance(d, OperationDefinitionNode)]
        return operation

    def root_fields(self) -> list[str]:
        return [selection.name.value for selection in self.operation.selection_set.selections]  # type: ignore[attr-defined]


EXAMPLES = [Example(n, actor, document, json.loads(variables) if variables else {})
            for n, (actor, document, variables) in enumerate(EXAMPLE.findall(TEXT))]
ACTORS = {actor: (siret, role) for actor, siret, role in ACTOR_ROW.findall(TEXT)}
ROOTS = {OperationType.QUERY: "Query", OperationType.MUTATION: "Mutation", OperationType.SUBSCRIPTION: "Subscription"}


def test_the_page_has_examples_and_each_names_an_actor_of_its_table():
    assert len(EXAMPLES) >= 40
    assert set(ACTORS) >= {"admin", "coordonnateur", "membre", "titulaire", "auditeur"}
    assert {e.actor for e in EXAMPLES} - set(ACTORS) == set()


def test_every_query_mutation_and_subscription_of_the_schema_has_an_example():
    graphql_schema = schema._schema
    covered = {f"{ROOTS[e.operation.operation]}.{field}" for e in EXAMPLES for field in e.root_fields()}
    wanted = {f"{root.name}.{field}" for root in (graphql_schema.query_type, graphql_schema.mutation_type,
                                                    graphql_schema.subscription_type) if root
              for field in root.fields}
    missing = sorted(wanted - covered)
    assert not missing, f"operations without an example in docs/graphql.md: {', '.join(missing)}"
    assert covered <= wanted


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_each_example_is_valid_against_the_schema(example):
    assert validate(schema._schema, parse(example.document)) == []


# ---- against a real server: one process for the whole module, the examples in the order of the page ----


@dataclass
class Run:
    server: Server
    env: dict[str, str]
    head: int = 0  # the highest log position a mutation answered so far


@pytest.fixture(scope="module")
def docs_server(postgres_ready, tmp_path_factory) -> Iterator[Run]:
    data_dir = tmp_path_factory.mktemp("docs-server")
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"e2e_docs_{suffix}",
                        views_schema=f"e2e_docs_views_{suffix}", data_dir=data_dir)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(data_dir)}
    try:
        with served(env) as url:
            yield Run(Server(url, settings), env)
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def headers(run: Run, actor: str) -> dict[str, str]:
    siret, role = ACTORS[actor]
    return {"authorization": f"Bearer {run.server.token(siret, role)}", "x-progres-organisation": siret,
            "x-progres-role": role}


def caught_up(run: Run, timeout: float = 60) -> None:
    """Waits until the read side has projected every write of the examples before: a client passes the position
    a mutation answered as `minPosition` to a read, but the log, the replay and the history have no such argument,
    and a command that names an entity written just before (withdrawProposal after submitProposal) is authorised
    from the read side's routes, refused `forbidden` until they hold it."""
    deadline = time.monotonic() + timeout
    while (httpx.get(f"{run.server.url}/ready", timeout=10).json().get("position") or 0) < run.head:
        assert time.monotonic() < deadline, f"the read side did not reach position {run.head}"
        time.sleep(0.1)


async def first_message(run: Run, example: Example) -> dict[str, Any]:
    url = run.server.url.replace("http", "ws", 1) + "/graphql"
    siret, role = ACTORS[example.actor]
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], close_timeout=1) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {
            "authorization": f"Bearer {run.server.token(siret, role)}", "organisation": siret, "role": role}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": example.document, "variables": example.variables}}))
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
        await socket.send(json.dumps({"id": "1", "type": "complete"}))
    assert message["type"] == "next", message
    return message["payload"]


def empty(value: Any) -> bool:
    return value is None or value in ([], {}, "")


@pytest.mark.postgres
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_each_example_runs_against_a_real_server(docs_server, example):
    kind = example.operation.operation
    caught_up(docs_server)
    if "figureProof" in example.root_fields():  # a proof needs a signed head: the operator's step, as the page says
        signed = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "checkpoint"],
                                env=docs_server.env, capture_output=True, text=True, timeout=180, check=False)
        assert signed.returncode == 0, signed.stderr
    if kind == OperationType.SUBSCRIPTION:
        answer = asyncio.run(first_message(docs_server, example))
    else:
        response = httpx.post(f"{docs_server.server.url}/graphql", headers=headers(docs_server, example.actor),
                              json={"query": example.document, "variables": example.variables}, timeout=60)
        assert response.status_code == 200, response.text
        answer = response.json()
    assert "errors" not in answer, answer["errors"]
    data = answer["data"]
    assert data
    assert all(not empty(value) for value in data.values()), data
    if kind == OperationType.MUTATION:
        for alias, result in data.items():  # a MutationResult (ok, error) or a payload (userErrors)
            refusals = result.get("userErrors") or ([result["error"]] if result.get("error") else [])
            assert refusals == [], (alias, refusals)
            assert result.get("ok", True), alias
            docs_server.head = max(docs_server.head, result.get("position") or 0)

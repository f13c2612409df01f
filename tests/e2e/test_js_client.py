"""The reference JavaScript client, `graphql-ws` (Node, installed from npm by scripts/test into
tests/clients/js), against a real `progres serve`: a query, a mutation and a subscription that receives
another client's mutation, with the credentials in connection_init as a browser sends them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import IO

import pytest

from .conftest import GraphQLRunner, Server, small_plan

pytestmark = pytest.mark.postgres

CLIENT = Path(__file__).parents[1] / "clients" / "js"
REQUIRE_NODE = os.environ.get("PROGRES_REQUIRE_NODE") == "1"
ADD_OBJECTIVE = ("mutation($p: ID!, $k: String!) { addObjective(planId: $p, key: $k, axisKey: \"egalim\", "
                 "title: \"Objectif\", kind: \"moyens\") { ok position } }")


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    problem = ("node is not installed" if node is None else
               None if (CLIENT / "node_modules" / "graphql-ws").is_dir() else
               f"the JavaScript client is not installed: run `npm ci` in {CLIENT}")
    if problem is None:
        return str(node)
    if REQUIRE_NODE:
        pytest.fail(f"{problem} (PROGRES_REQUIRE_NODE=1)")
    pytest.skip(problem)


def start(node: str, mode: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([node, "client.mjs", mode, *args], cwd=CLIENT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_step(stream: IO[str], process: subprocess.Popen[str], step: str) -> dict:
    line = stream.readline()
    if not line:
        process.wait(timeout=30)
        raise AssertionError(f"the JS client stopped before {step!r}: {process.stderr.read()[-2000:]}")
    said = json.loads(line)
    assert said["step"] == step, said
    return said


def test_graphql_ws_does_a_query_a_mutation_and_receives_another_clients_mutation(server: Server, node):
    runner = GraphQLRunner(server)
    setup = small_plan(runner)
    siret, role = setup.coordonnateur  # the coordonnateur's web app: it may add objectives
    process = start(node, "scenario", server.url.replace("http", "ws", 1) + "/graphql", server.token(siret, role),
                    siret, role, setup.plan)
    try:
        query = read_step(process.stdout, process, "query")["result"]
        assert "errors" not in query, query
        assert query["data"]["plan"] == {"title": "Plan", "axes": [{"key": "egalim"}]}

        mutation = read_step(process.stdout, process, "mutation")["result"]
        assert mutation["data"]["addObjective"]["ok"], mutation
        after = mutation["data"]["addObjective"]["position"]

        assert read_step(process.stdout, process, "subscribed")["after"] == after
        # another client (another process, over HTTP)
        other = server.post(ADD_OBJECTIVE, {"p": setup.plan, "k": "py1"}, actor=setup.coordonnateur)
        assert other["data"]["addObjective"]["ok"], other
        event = read_step(process.stdout, process, "event")["result"]["data"]["planEvents"]
        assert event == {"position": other["data"]["addObjective"]["position"],
                         "type": "ProgressPlan.ObjectiveAdded"}

        frames = read_step(process.stdout, process, "frames")
        assert frames["binary"] == 0
        assert frames["text"] >= 5  # ack, query next + complete, mutation next + complete, event
        assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        process.kill()


def test_graphql_ws_reports_the_reason_a_token_is_refused(server: Server, node):
    setup = small_plan(GraphQLRunner(server))
    siret, _ = setup.lycee
    url = server.url.replace("http", "ws", 1) + "/graphql"
    cases = [(server.token(siret, "acheteur")[:-8] + "AAAAAAAA", "acheteur", 4401, "bad_signature: "),
             (server.token(siret, "acheteur"), "auditeur", 4403, "role_not_in_token: role 'auditeur'")]
    for token, role, code, reason in cases:
        process = start(node, "refused", url, token, siret, role)
        try:
            closed = read_step(process.stdout, process, "closed")
            assert closed["code"] == code, closed
            assert closed["reason"].startswith(reason), closed
            assert process.wait(timeout=30) == 0, process.stderr.read()
        finally:
            process.kill()

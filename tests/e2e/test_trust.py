"""Regression tests of issue 9 (defects 1, 2, 4 and 6), against a real `progres serve` on PostgreSQL: receipts
do not stall tracking, command ids are a namespace per organisation, a position beyond the log is refused at
once, and no command cites what another groupement holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from progres.services.bootstrap import bootstrap
from progres.services.commands import Progres

from .conftest import Server
from .tenants import Tenant, tenant

pytestmark = pytest.mark.postgres

RESULT = "{ ok id position replayed error { code field message } }"
ADD_AXIS = ("mutation($p: ID!, $k: String!, $c: String) { addAxis(planId: $p, key: $k, title: \"Axe\", "
            f"commandId: $c) {RESULT} }}")
ADD_OBJECTIVE = ("mutation($p: ID!, $c: String) { addObjective(planId: $p, key: \"o\", axisKey: \"egalim\", "
                 f"title: \"Objectif\", kind: \"resultats\", commandId: $c) {RESULT} }}")
SUBMIT = ("mutation($p: ID!, $a: ID!, $c: String) { submitProposal(planId: $p, authorId: $a, axisKey: \"egalim\", "
          "kind: \"innovation\", title: \"Idée\", content: \"Texte\", expectedImpact: \"Moins\", "
          f"submittedOn: \"2022-04-01\", commandId: $c) {RESULT} }}")
BALANCE = "query($p: ID!, $n: Int) { planBalance(planId: $p, minPosition: $n) { position } }"


@pytest.fixture
def tenants(server: Server) -> Iterator[tuple[Progres, Tenant, Tenant]]:
    """Groupement B (the caller) and groupement C (another tenant), each with a proposal accepted in a revue."""
    app = bootstrap(server.settings)
    try:
        other = tenant(app, 3, with_accepted_proposal=True)
        caller = tenant(app, 4, with_accepted_proposal=True)
        yield app, caller, other
    finally:
        app.close()


def mutation(server: Server, query: str, variables: dict[str, Any], actor: tuple[str, str]) -> dict[str, Any]:
    answer = server.post(query, variables, actor=actor)
    assert "errors" not in answer, answer
    return next(iter(answer["data"].values()))  # type: ignore[no-any-return]


def wait_ready_at_head(server: Server, within: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = httpx.get(f"{server.url}/ready", timeout=5)
        body = response.json()
        if response.status_code == 200 and body["lag"] == 0:
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def cli(server: Server, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": server.settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": server.settings.views_schema, "PROGRES_DATA_DIR": str(server.settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "progres.services.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


# Defect 1 -----------------------------------------------------------------------------------------------------

def test_a_receipt_at_the_end_of_the_log_stalls_nothing(server, tenants):
    app, caller, _ = tenants
    first = mutation(server, ADD_AXIS, {"p": caller.plan, "k": "env", "c": "retry-1"}, caller.coordinator)
    assert first["ok"], first
    assert first["position"] == app.max_notification_id()  # the receipt is the last event of the log

    # The documented retry pattern: read with the position returned.
    started = time.monotonic()
    read = server.post(BALANCE, {"p": caller.plan, "n": first["position"]}, actor=caller.coordinator)
    assert "errors" not in read, read
    assert read["data"]["planBalance"]["position"] >= first["position"] - 1
    later = mutation(server, ADD_AXIS, {"p": caller.plan, "k": "social", "c": None}, caller.coordinator)
    assert later["ok"], later
    # Bounds far from the 10 s wait of the defect, and loose enough for a loaded machine.
    assert time.monotonic() - started < 8, "a read or a command waited for a position never reached"

    head = app.max_notification_id()
    again = mutation(server, ADD_AXIS, {"p": caller.plan, "k": "env", "c": "retry-1"}, caller.coordinator)
    assert again['ok']
    assert again['replayed']
    assert again['id'] == first['id']
    assert app.max_notification_id() == head  # the replay wrote nothing
    assert wait_ready_at_head(server)["position"] == head

    # A receipt as the last event again, then the CLI: both finish and leave nothing behind.
    assert mutation(server, ADD_AXIS, {"p": caller.plan, "k": "eco", "c": "retry-2"}, caller.coordinator)["ok"]
    ran = cli(server, "projections", "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert 'retard 0' in ran.stdout, ran.stdout + ran.stderr
    rebuilt = cli(server, "projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    status = cli(server, "projections", "status")
    assert status.returncode == 0, status.stderr
    assert wait_ready_at_head(server)["position"] == app.max_notification_id()


# Defect 2 -----------------------------------------------------------------------------------------------------

def test_command_ids_are_a_namespace_per_organisation(server, tenants):
    app, caller, other = tenants
    theirs = mutation(server, ADD_AXIS, {"p": other.plan, "k": "env", "c": "shared-1"}, other.coordinator)
    assert theirs['ok']
    assert not theirs['replayed']

    head = app.max_notification_id()
    mine = mutation(server, ADD_AXIS, {"p": caller.plan, "k": "env", "c": "shared-1"}, caller.coordinator)
    assert mine['ok']
    assert not mine['replayed']
    assert mine['id'] == caller.plan
    assert app.max_notification_id() == head + 2  # the axis and the caller's own receipt
    assert "env" in app.plan(caller.plan).axes

    # Ids derived from a command id (propositions, revues) do not meet across tenants either.
    their_proposal = mutation(server, SUBMIT, {"p": other.plan, "a": other.lycee, "c": "p-1"}, other.buyer)
    my_proposal = mutation(server, SUBMIT, {"p": caller.plan, "a": caller.lycee, "c": "p-1"}, caller.buyer)
    assert their_proposal['ok']
    assert my_proposal['ok']
    assert not my_proposal['replayed']
    assert my_proposal["id"] != their_proposal["id"]

    # The same organisation, the same id, other arguments or another command: one answer that tells nothing.
    head = app.max_notification_id()
    other_arguments = mutation(server, ADD_AXIS, {"p": caller.plan, "k": "autre", "c": "shared-1"}, caller.coordinator)
    other_command = mutation(server, ADD_OBJECTIVE, {"p": caller.plan, "c": "shared-1"}, caller.coordinator)
    for refused in (other_arguments, other_command):
        assert not refused['ok']
        assert refused['id'] is None
        assert refused["error"]["code"] == "command_id_reused"
        assert refused["error"]["field"] == "command_id"
    assert other_arguments["error"] == other_command["error"]
    message = other_arguments["error"]["message"]
    assert 'add' not in message.lower()
    assert caller.plan not in message
    assert 'shared-1' not in message
    assert app.max_notification_id() == head
    assert "autre" not in app.plan(caller.plan).axes


# Defect 4 -----------------------------------------------------------------------------------------------------

def test_a_position_beyond_the_log_is_refused_at_once_and_does_not_starve_the_server(server, tenants):
    app, caller, _ = tenants
    head = app.max_notification_id()
    plan = "query($p: ID!, $n: Int) { plan(id: $p, minPosition: $n) { id } }"
    member = "query($p: ID!, $m: ID!, $n: Int) { memberView(planId: $p, memberId: $m, minPosition: $n) { position } }"
    for query, variables in ((BALANCE, {"p": caller.plan}), (plan, {"p": caller.plan}),
                             (member, {"p": caller.plan, "m": caller.lycee})):
        started = time.monotonic()
        answer = server.post(query, {**variables, "n": head + 1000}, actor=caller.coordinator)
        assert time.monotonic() - started < 5.0  # at once: the defect waited 10 s
        assert answer["data"] is None, answer
        extensions = answer["errors"][0]["extensions"]
        assert extensions == {"code": "position_ahead_of_log", "field": "minPosition"}, answer

    def abusive(_: int) -> dict[str, Any]:
        return server.post(BALANCE, {"p": caller.plan, "n": head + 10**9}, actor=caller.coordinator)

    with ThreadPoolExecutor(13) as pool:
        started = time.monotonic()
        refused = list(pool.map(abusive, range(12)))
        normal = server.post(BALANCE, {"p": caller.plan, "n": head}, actor=caller.coordinator)
        elapsed = time.monotonic() - started
    assert all(r["errors"][0]["extensions"]["code"] == "position_ahead_of_log" for r in refused)
    assert 'errors' not in normal
    assert normal['data']['planBalance']['position'] <= head
    assert elapsed < 8.0, f"12 abusive reads and a normal one took {elapsed:.2f} s"
    assert app.max_notification_id() == head


# Defect 6 -----------------------------------------------------------------------------------------------------

PROPOSE = ("mutation($m: ID!, $p: ID, $ch: AvenantChangesInput!) { proposeAvenant(marcheId: $m, basis: \"R2194-1\", "
           f"reason: \"Livraisons\", avenantChanges: $ch, proposalId: $p) {RESULT} }}")
DECIDE = ("mutation($r: ID!, $p: ID!) { decide(reviewId: $r, proposalId: $p, outcome: \"accepted\", "
          f"reasons: \"Oui\") {RESULT} }}")


def same_shape(foreign: dict[str, Any], foreign_id: str, unknown: dict[str, Any], unknown_id: str) -> None:
    assert not foreign['ok']
    assert not unknown['ok']
    assert foreign["error"]["code"] == unknown["error"]["code"]
    assert foreign["error"]["field"] == unknown["error"]["field"]
    shape = foreign["error"]["message"].replace(foreign_id, "ID")
    assert shape == unknown["error"]["message"].replace(unknown_id, "ID")


def test_a_command_cannot_cite_what_another_groupement_holds(server, tenants):
    app, caller, other = tenants
    changes = {"amountDelta": "-1000.00"}
    head = app.max_notification_id()
    stranger = str(uuid.uuid4())

    foreign = mutation(server, PROPOSE, {"m": caller.marche, "p": other.proposal, "ch": changes}, caller.coordinator)
    unknown = mutation(server, PROPOSE, {"m": caller.marche, "p": stranger, "ch": changes}, caller.coordinator)
    assert foreign['error']['code'] == 'proposal_not_found'
    assert foreign['error']['field'] == 'id'
    same_shape(foreign, other.proposal, unknown, stranger)

    foreign = mutation(server, DECIDE, {"r": caller.review, "p": other.proposal}, caller.coordinator)
    unknown = mutation(server, DECIDE, {"r": caller.review, "p": stranger}, caller.coordinator)
    assert foreign["error"]["code"] == "proposal_not_found"
    same_shape(foreign, other.proposal, unknown, stranger)

    action = ("mutation($p: ID!, $o: ID, $ms: [ID!]) { planAction(planId: $p, key: \"a\", axisKey: \"egalim\", "
              "title: \"Action\", owner: \"acheteur\", dueOn: \"2022-12-31\", ownerOrganisationId: $o, "
              f"memberIds: $ms) {RESULT} }}")
    refused = mutation(server, action, {"p": caller.plan, "o": None, "ms": [other.lycee]}, caller.coordinator)
    assert refused['error']['code'] == 'not_a_party', refused
    assert refused['error']['field'] == 'member_ids', refused
    refused = mutation(server, action, {"p": caller.plan, "o": other.coordonnateur, "ms": []}, caller.coordinator)
    assert refused['error']['code'] == 'not_a_party'
    assert refused['error']['field'] == 'owner_organisation_id'
    volume = ("mutation($p: ID!, $m: ID!) { declarePurchaseVolume(planId: $p, memberId: $m, amount: \"1000\") "
              f"{RESULT} }}")
    refused = mutation(server, volume, {"p": caller.plan, "m": other.lycee}, caller.coordinator)
    assert refused['error']['code'] == 'not_a_party'
    assert refused['error']['field'] == 'member_id'
    assert app.max_notification_id() == head  # nothing written, in either groupement

    # The same commands with the caller's own references are accepted: the targets could be written.
    assert mutation(server, PROPOSE, {"m": caller.marche, "p": caller.proposal, "ch": changes},
                    caller.coordinator)["ok"]
    assert mutation(server, action, {"p": caller.plan, "o": caller.lycee, "ms": [caller.lycee]},
                    caller.coordinator)["ok"]
    assert mutation(server, volume, {"p": caller.plan, "m": caller.lycee}, caller.coordinator)["ok"]
    assert app.max_notification_id() == head + 3

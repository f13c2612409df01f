"""Answers of `memberView` kept by the server's processes (graphql/loaders.py `ResponseCache`), with the state of
the read models known from each process's LISTEN on the log (services/read_models.py `served_state`): a real
`progres serve` with two worker processes on PostgreSQL, real HTTP. A new measure written after the answers were
kept is shown by every read once the views hold it, whichever process answers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap

pytestmark = pytest.mark.postgres

VIEW = ("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position "
        "indicators { key observations(last: 12) { edges { node { periodEnd value } } } } } }")
READS = 40  # new connections each: the kernel spreads them over both workers


def stored_position(server: Any) -> int:
    return int(httpx.get(f"{server.url}/ready", timeout=10).json().get("position", -1))


@pytest.mark.server_env(PROGRES_WORKERS="2")
def test_a_kept_member_view_shows_a_new_measure_once_the_views_hold_it(server, world_factory):
    app = bootstrap(server.settings)
    try:
        world = world_factory(app)
        world.measure(value="30")
        lycee = (siret_with_key("1962001200001"), "acheteur")  # the first lycée of the world, reading its own view

        def read() -> tuple[int, list[tuple[str, str]]]:
            answer = server.post(VIEW, {"p": world.plan, "m": world.lycees[0]}, actor=lycee)
            assert answer["status"] == 200, answer
            assert "errors" not in answer, answer
            view = answer["data"]["memberView"]
            share = next(i for i in view["indicators"] if i["key"] == "egalim_share")
            return view["position"], [(e["node"]["periodEnd"], e["node"]["value"])
                                      for e in share["observations"]["edges"]]

        first = world.head()
        deadline = time.monotonic() + 30
        while stored_position(server) < first and time.monotonic() < deadline:
            time.sleep(0.05)
        before = [read() for _ in range(READS)]  # computed, then kept, by each worker
        assert {observations[-1][1] for _, observations in before} == {"30"}

        world.measure(value="43", period_start="2022-07-01", period_end="2022-12-31", declared_on="2023-01-02")
        written = world.head()
        assert written > first
        deadline = time.monotonic() + 30
        while stored_position(server) < written:  # the views hold it (one worker projected it)
            assert time.monotonic() < deadline, "the read models did not reach the new measure"
            time.sleep(0.01)
        after = [read() for _ in range(READS)]  # whichever worker answers, and whatever it kept before
        assert all(position >= written for position, _ in after), [p for p, _ in after]
        assert {tuple(observations) for _, observations in after} == {(("2022-06-30", "30"), ("2022-12-31", "43"))}
    finally:
        app.close()

"""A worker of the previous release (plan_balance v2: the positions behind the figures inside the plan's part; no
`balance_positions`) leads for a batch after the switch to v3, then this release's runner carries on (a rolling update,
docs/read-models.md): the balance it serves is still the reducer's. Its first batch after loading its state writes the
positions of every indicator, not only of those its measures changed (plan_balance.positions_parts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from progres.projections import plan_balance as pb
from progres.projections import registry
from progres.projections.ledger import Replay
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import ProjectionRunner
from progres.projections.stores.sqlite import SqliteStore


def previous_release() -> tuple[registry.ReadModel, ...]:
    """The previous release's models: plan_balance v2 (positions in the plan's part), no balance_positions."""
    def v2(s: registry.Scope) -> list[Any]:
        return [(s.plan_id, "", s.ledger["id"], pb.balance_part(s.ledger, s.plan_id, s.figures))]

    models = []
    for model in registry.REGISTRY:
        if model.name == "plan_balance":
            models.append(dataclasses.replace(model, version=2, parts=("balance_members",), rows=v2))
        elif model.name != "balance_positions":
            models.append(model)
    return tuple(models)


def test_a_previous_release_worker_then_this_one(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    store = SqliteStore(tmp_path / "views.sqlite3")
    runner = ProjectionRunner(world.app, store, checkpoint_every=1_000_000)
    runner.catch_up()
    # the previous release leads for a batch: a measure of a later period (the indicator's last figure moves)
    world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="45",
                  period_start="2022-07-01", period_end="2022-12-31", declared_on="2023-01-02")
    with monkeypatch.context() as patched:
        patched.setattr(registry, "REGISTRY", previous_release())
        ProjectionRunner(world.app, store, checkpoint_every=1_000_000).catch_up()
    # this release's runner leads again (the tracking moved: its state is loaded anew): a measure of another
    # indicator of the plan
    world.measure(member_id=None, recorded_by=world.region, indicator_key="siqo", value=None, assessment="bien")
    runner.catch_up()
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    assert store.view("plan_balances", runner.projection, world.plan)[1] == plan_balance(ledger, world.plan)

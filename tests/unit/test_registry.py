"""The registry of read models (projections/registry.py): what the store creates, what the runner writes and what
`projections status` shows are its entries, and a malformed entry fails at import."""

from __future__ import annotations

import dataclasses

import pytest

from progres.projections import registry
from progres.projections.ledger import GROUPEMENT_EVENTS, PLAN_ROUTED_EVENTS, Replay
from progres.projections.stores.sql import VIEW_TABLES
from progres.services.read_models import ReadModels


def test_the_store_creates_and_the_runner_writes_the_tables_of_the_registry(world):
    assert VIEW_TABLES == registry.TABLES == tuple(m.table for m in registry.REGISTRY)
    world.measure()
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    views = registry.derived_views(ledger)
    assert tuple(views) == registry.TABLES
    per_member_or_indicator = ("member_views", "balance_members", "plan_aggregates", "balance_positions")
    assert {len(rows) for table, rows in views.items() if table not in per_member_or_indicator} == {1}
    assert len(views["member_views"]) == 4  # the coordonnateur and three lycées, for the one plan
    assert len(views["balance_members"]) == 3  # the three lycées (the coordonnateur apart)
    plan = ledger["plans"][views["plan_balances"][0][0]]
    quantitative = [i for i in plan["indicators"].values() if i["kind"] == "quantitative"]
    assert len(views["plan_aggregates"]) == 1 + len(quantitative)  # the plan's part, then one row per indicator


def test_each_read_model_consumes_events_of_the_domain_that_the_ledger_folds():
    for model in registry.REGISTRY:
        assert model.events, model.name
        assert model.events <= set(GROUPEMENT_EVENTS) | set(PLAN_ROUTED_EVENTS), model.name


@pytest.mark.parametrize("change", [{"name": "plan_balance"}, {"table": "plan_balances"}, {"version": 0},
                                    {"events": frozenset({object})}, {"table": "history"},
                                    {"table": "member views; --"}])
def test_a_malformed_entry_is_refused(monkeypatch, change):
    bad = dataclasses.replace(registry.REGISTRY[-1], **change)
    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY[:-1], bad))
    with pytest.raises(TypeError):
        registry._check()


def test_status_lists_the_read_models_with_their_version_and_events(memory_app, tmp_path):
    from progres.projections.stores.sqlite import SqliteStore  # noqa: PLC0415

    models = ReadModels(memory_app, SqliteStore(tmp_path / "views.sqlite3"))
    listed = models.read_models()
    assert [(m["name"], m["version"]) for m in listed] == [
        ("groupement_parties", 2), ("plan_dashboard", 1), ("balance_positions", 1), ("plan_balance", 3),
        ("balance_members", 1), ("member_view", 2), ("plan_aggregates", 1)]  # v2: stored in parts, per member and per
    # indicator; v3 of plan_balance: the positions behind its figures apart; v2 of groupement_parties: no position
    assert "Groupement.MemberLeft" in listed[0]["events"]
    models.close()

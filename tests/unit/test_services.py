"""Services: idempotent commands, snapshots, the import-root hazard, the CLI's error output."""

from __future__ import annotations

import importlib
from pathlib import Path
from uuid import UUID

import pytest

from progres.domain.errors import InvalidInput
from progres.services.applications import CommandIdReused
from progres.services.commands import Progres
from progres.services.demo import run_seed_scenario

REPO = Path(__file__).resolve().parents[2]


def test_a_retried_command_returns_its_first_result_and_writes_nothing(world):
    first = world.app.submit_proposal(world.plan, world.titulaire, "egalim", "innovation", "Idée", "C", "I",
                                      "2022-05-01", command_id="client-42")
    head = world.head()
    again = world.app.submit_proposal(world.plan, world.titulaire, "egalim", "innovation", "Idée", "C", "I",
                                      "2022-05-01", command_id="client-42")
    assert again.replayed
    assert again.id == first.id
    assert world.head() == head


def test_a_command_id_is_not_reused_for_another_command(world):
    world.app.add_axis(world.plan, "a1", "Axe", command_id="cmd-1")
    head = world.head()
    with pytest.raises(CommandIdReused):
        world.app.add_objective(world.plan, "o1", "a1", "Objectif", "moyens", command_id="cmd-1")
    assert world.head() == head


def test_a_command_id_is_a_short_text(world):
    with pytest.raises(InvalidInput):
        world.app.add_axis(world.plan, "a1", "Axe", command_id="x" * 129)


def test_an_aggregate_from_its_snapshot_equals_its_full_replay(memory_app: Progres):
    scenario = run_seed_scenario(memory_app)
    plan_id = UUID(scenario.plan)
    assert memory_app.snapshots is not None
    assert list(memory_app.snapshots.get(plan_id)), "the plan has over 50 events: a snapshot must exist"
    from_snapshot = memory_app.repository.get(plan_id)
    replayed = None
    for event in memory_app.events.get(plan_id):
        replayed = event.mutate(replayed)
    assert vars(from_snapshot) == vars(replayed)


def test_import_graphql_is_graphql_core():
    graphql = importlib.import_module("graphql")
    assert hasattr(graphql, "graphql_sync"), graphql
    assert "site-packages" in (graphql.__file__ or ""), graphql.__file__
    assert not (REPO / "graphql" / "__init__.py").exists(), "graphql/__init__.py would shadow graphql-core"


def test_the_import_root_maps_onto_the_top_level_folders():
    import progres.domain  # noqa: PLC0415
    import progres.services  # noqa: PLC0415

    assert Path(progres.domain.__file__).parent == REPO / "domain"
    assert Path(progres.services.__file__).parent == REPO / "services"

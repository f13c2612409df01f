"""Large aggregates kept between commands (services/applications.py `load_for_change`): each command changes a copy
of the kept state brought up to date with what any process stored since, so a rule is always judged on the stored
state, and a refused or failed command leaves the kept state as it was."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from progres.domain.errors import AlreadyMember, NotAMember
from progres.domain.groupements import Groupement
from progres.domain.marches import Marche
from progres.domain.plans import ProgressPlan
from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from tests.conftest import ADHESION, build_world


def test_a_changeable_copy_changes_alone(world):
    """Admitting, releasing, changing an action's status, declaring a volume on copies: the kept states are
    unchanged, and the kept states equal what the store holds."""
    app = world.app
    app.release_member(world.groupement, world.lycees[2], "2022-03-01")
    app.change_action_status(world.plan, "sourcing", "in_progress", "2022-02-01")
    for kind, aggregate_id in ((Groupement, world.groupement), (ProgressPlan, world.plan), (Marche, world.marche)):
        kept = app.context_cache.get(UUID(aggregate_id))
        assert isinstance(kept, kind)
        before = kept.changeable_copy()
        assert vars(before) == vars(kept)
    groupement = app.groupement(world.groupement)
    summary = groupement.summary()
    groupement.admit(app.organisation(world.outsider), date(2022, 4, 1), groupement.convention, date(2022, 3, 1))
    groupement.release(UUID(world.lycees[0]), date(2022, 5, 1))
    assert app.context_cache.get(groupement.id).summary() == summary  # type: ignore[union-attr]

    plan = app.plan(world.plan)
    history = list(plan.actions["sourcing"].history)
    plan.change_action_status("sourcing", "done", date(2022, 6, 1), "fini")
    plan.declare_purchase_volume(UUID(world.lycees[1]), 1000, app.groupement(world.groupement),
                                 app.marche(world.marche))
    kept_plan = app.context_cache.get(plan.id)
    assert kept_plan.actions["sourcing"].history == history  # type: ignore[union-attr]
    assert str(kept_plan.actions["sourcing"].status) == "in_progress"  # type: ignore[union-attr]
    assert world.lycees[1] not in {str(m) for m in kept_plan.purchase_volumes}  # type: ignore[union-attr]

    # The saved states kept equal what the store holds (their indexes made again from it); snapshots leave the
    # indexes out.
    for aggregate_id in (world.groupement, world.plan, world.marche):
        kept = app.context_cache.get(UUID(aggregate_id))
        assert kept is not None
        stored = app.repository.get(kept.id)
        stored.derive()
        assert vars(stored) == vars(kept)
        state = type(kept).Snapshot.take(kept).state
        assert not set(state) & type(kept).derived_state
    assert "_stays_at" in vars(app.context_cache.get(UUID(world.groupement)))
    assert "_party_set" in vars(app.context_cache.get(UUID(world.marche)))


@pytest.mark.parametrize("store_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_processes_admitting_judge_on_the_stored_state(store_settings):
    """Two applications on one store (two server processes): each keeps the groupement; what the other admitted
    or released is seen by the next command (refused as already a member, with its code and field, nothing
    written; admitted again after a departure)."""
    first, second = bootstrap(store_settings), bootstrap(store_settings)
    try:
        world = build_world(first)
        newcomer = first.register_organisation(siret_with_key("1962007770001"), "Lycée nouveau", "eple").id
        first.admit_member(world.groupement, world.outsider, "2022-01-01", ADHESION, "2021-12-01")  # first keeps it
        second.admit_member(world.groupement, newcomer, "2022-01-01", ADHESION, "2021-12-01")  # second keeps it

        head = first.max_notification_id()
        with pytest.raises(AlreadyMember) as refused:  # first's kept copy did not have the newcomer
            first.admit_member(world.groupement, newcomer, "2022-02-01", ADHESION, "2022-01-15")
        assert (refused.value.code, refused.value.field) == ("already_member", "organisation")
        assert first.max_notification_id() == head

        first.release_member(world.groupement, newcomer, "2022-06-01")
        second.admit_member(world.groupement, newcomer, "2022-09-01", ADHESION, "2022-07-01")  # seen as gone
        second.release_member(world.groupement, world.outsider, "2022-10-01")
        head = first.max_notification_id()
        with pytest.raises(NotAMember) as refused_release:  # second released it meanwhile: first sees it
            first.release_member(world.groupement, world.outsider, "2022-11-01")
        assert (refused_release.value.code, refused_release.value.field) == ("not_a_member", "organisation")
        assert first.max_notification_id() == head

        stored = [m for m in first.repository.get(Groupement.create_id("GC-TEST")).summary()["members"]
                  if m["organisation_id"] in (str(newcomer), str(world.outsider))]
        assert stored == [
            {"organisation_id": str(world.outsider), "joined_on": "2022-01-01", "left_on": "2022-10-01"},
            {"organisation_id": str(newcomer), "joined_on": "2022-01-01", "left_on": "2022-06-01"},
            {"organisation_id": str(newcomer), "joined_on": "2022-09-01", "left_on": None},
        ]
        for app in (first, second):
            assert app.groupement(world.groupement).summary() == first.repository.get(
                Groupement.create_id("GC-TEST")).summary()
    finally:
        first.close()
        second.close()

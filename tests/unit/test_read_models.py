"""The read models of the seed scenario, checked against figures computed by hand."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.plan_dashboard import plan_dashboard
from progres.services.demo import MEMBER_SERIES, run_seed_scenario

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def seed():
    from progres.services.commands import Progres  # noqa: PLC0415

    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    scenario = run_seed_scenario(app)
    replay = Replay().feed_all(app.facts())
    return scenario, replay.ledgers[scenario.groupement]


def lycee_value(index: int, semester: int, series: str) -> Decimal:
    """The demo's figure for lycée `index`: the series value spread by ±3 % per lycée, to 0.1."""
    raw = MEMBER_SERIES[series][semester] * (1 + (index - 3) * 0.03)
    return Decimal(str(round(raw, 1)))


def indicator(balance, key):
    return next(i for axis in balance["axes"] for o in axis["objectives"] for i in o["indicators"] if i["key"] == key)


def test_the_egalim_share_is_the_mean_weighted_by_purchase_volumes(seed):
    scenario, ledger = seed
    balance = plan_balance(ledger, scenario.plan)
    volumes = [Decimal(60000 + 5000 * i) for i in range(6)]  # the six lycées present all along
    first = sum(lycee_value(i, 0, "egalim_share") * volumes[i] for i in range(6)) / sum(volumes)
    last = sum(lycee_value(i, 3, "egalim_share") * volumes[i] for i in range(6)) / sum(volumes)
    egalim = indicator(balance, "egalim_share")
    assert Decimal(egalim["first"]) == first.quantize(CENT, ROUND_HALF_EVEN)
    assert Decimal(egalim["last"]) == last.quantize(CENT, ROUND_HALF_EVEN)
    assert egalim["target"] == "50"  # the trajectory step in force for the second half of 2023
    achievement = (last.quantize(CENT) - 22) * 100 / (50 - 22)
    assert Decimal(egalim["achievement"]) == achievement.quantize(CENT)
    assert egalim["status"] == "not_met"  # 48.56 % < 50 % and the plan is closed


def test_deliveries_went_from_two_to_one_a_week(seed):
    scenario, ledger = seed
    deliveries = indicator(plan_balance(ledger, scenario.plan), "deliveries_per_week")
    last = sum(lycee_value(i, 3, "deliveries_per_week") for i in range(6)) / 6
    assert Decimal(deliveries["last"]) == last.quantize(CENT)
    assert deliveries["status"] == "met"


def test_a_qualitative_indicator_gives_its_latest_assessment_and_no_percentage(seed):
    scenario, ledger = seed
    siqo = indicator(plan_balance(ledger, scenario.plan), "siqo_list")
    assert siqo["latest_assessment"].startswith("Liste SIQO stabilisée")
    assert "achievement" not in siqo


def test_the_balance_counts_avenants_propositions_revues_and_gains(seed):
    scenario, ledger = seed
    balance = plan_balance(ledger, scenario.plan)
    assert balance["final"]
    assert balance["marche"] == {"initial_amount": "480000.00", "current_amount": "496000.00",
                                 "cumulative_change_percent": str(
                                     (Decimal(-12000 + 28000) * 100 / 480000).quantize(CENT))}
    assert [a["amount_delta"] for a in balance["avenants"]] == ["-12000.00", "28000.00"]
    assert (balance["proposals"]["accepted"], balance["proposals"]["rejected"], balance["proposals"]["pending"]) \
        == (2, 1, 0)
    assert balance["reviews"]["held"] == 4
    assert balance["gains"]["total"] == str(Decimal(12000 + 2500))
    assert balance["gains"]["parties"] == {"titulaire": "7250.00", "acheteur": "7250.00"}
    shares = [Decimal(v) for v in balance["gains"]["members"].values()]
    assert abs(sum(shares) - Decimal("7250")) < Decimal("0.05")  # each member's part, rounded to the cent
    assert balance["actions"]["titulaire"]["total"] == 4
    assert "satisfaction" in [a["key"] for a in balance["axes"]]


def test_a_member_sees_its_measures_with_their_corrections(seed):
    scenario, ledger = seed
    view = member_view(ledger, scenario.plan, scenario.late_lycee)
    waste = next(i for i in view["indicators"] if i["key"] == "waste_weight")
    corrected = [o for o in waste["observations"] if o["corrections"]]
    assert len(corrected) == 1
    assert corrected[0]["value"] == "764.0"
    assert corrected[0]["corrections"][0]["previous_value"] == str(lycee_value(6, 2, "waste_weight"))
    assert not view["active"]  # it left the groupement on 2023-07-01
    assert [p["title"] for p in view["proposals"]] == []


def test_a_member_sees_its_own_proposals_and_every_decision(seed):
    scenario, ledger = seed
    view = member_view(ledger, scenario.plan, scenario.lycees[1])
    assert [p["title"] for p in view["proposals"]] == ["Supprimer le suremballage des fromages à la coupe"]
    # first revue: one postponed, one accepted; second revue: one accepted, one rejected
    assert [d["outcome"] for d in view["decisions"]] == ["postponed", "accepted", "accepted", "rejected"]
    assert [a["number"] for a in view["avenants"]] == [1, 2]


def test_the_dashboard_counts_actions_by_owner_and_state(seed):
    scenario, ledger = seed
    dashboard = plan_dashboard(ledger, scenario.plan)
    assert dashboard["proposals"] == {"accepted": 2, "rejected": 1}
    assert sum(sum(c.values()) for c in dashboard["actions"].values()) == 12
    assert dashboard["actions"]["acheteur"]["cancelled"] == 1
    assert dashboard["reviews"]["held"] == 4


def test_the_fast_fact_decoder_gives_what_the_domain_events_give():
    from progres.projections.facts import fact_from_event, fact_from_record  # noqa: PLC0415
    from progres.services.commands import Progres  # noqa: PLC0415

    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    run_seed_scenario(app)
    notifications = [n for n in app.iter_notifications() if "CommandReceipt" not in n.topic]
    assert len(notifications) > 250
    for n in notifications:
        slow = fact_from_event(n.id, app.mapper.to_domain_event(n))
        fast = fact_from_record(n.id, n.originator_id, n.originator_version, n.topic, n.state)
        assert fast == slow, n.topic

"""Issue 14's scenario, on SQLite and on PostgreSQL: a permanent groupement, a marché launched, a member joining
after it (refused as a party to it, accepted for a marché launched later), a member leaving (its later measures
treated per the convention's withdrawal clause, and labelled so in the balance and the member view)."""

from __future__ import annotations

from typing import Any

import pytest

from progres.domain.errors import DomainError
from progres.domain.values import siret_with_key
from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.services.demo import document


def plan_for(app: Any, groupement: str, titulaire: str, code: str, launched_on: str, notified_on: str) -> str:
    marche = app.notify_marche(groupement, code, "Denrées", "15500000-3", "fournitures", [titulaire], "500000", 24,
                               notified_on, launched_on=launched_on).id
    plan = app.draw_up_plan(marche, f"Plan {code}").id
    app.add_axis(plan, "egalim", "EGalim")
    app.add_objective(plan, "criteres", "egalim", "Critères", "resultats")
    app.define_indicator(plan, {"key": "egalim_share", "objective_key": "criteres", "name": "Part EGalim",
                                "kind": "quantitative", "unit": "%", "baseline": 20, "target": 50,
                                "direction": "increase", "periodicity": "semestrial", "scope": "member",
                                "aggregation": "weighted_mean"})
    return plan


def record(app: Any, plan: str, member: str, start: str, end: str, value: str, by: str | None = None) -> Any:
    return app.record_measure(plan, "egalim_share", member, start, end, "factures", by or member,
                              value=value)


def egalim(balance: dict[str, Any]) -> dict[str, Any]:
    return balance["axes"][0]["objectives"][0]["indicators"][0]  # type: ignore[no-any-return]


def test_parties_are_fixed_at_launch_and_a_leaving_member_follows_the_convention(app):
    """QE 100136 (2011) for the parties of a marché; CCP L2113-6 for the convention and its withdrawal clause."""
    org = lambda prefix, name, kind: app.register_organisation(siret_with_key(prefix), name, kind).id  # noqa: E731
    region = org("2000537670001", "Région", "collectivite")
    early, leaving, late = (org(f"19620012{i}0001", f"Lycée {i}", "eple") for i in range(3))
    titulaire = org("4190012340001", "Laiterie", "supplier")
    groupement = app.constitute_groupement("GC-PERM", "Groupement permanent", "Denrées", True, region, "2021-06-01",
                                           document("convention.pdf")).id  # the default clause: bound until the end
    for lycee in (early, leaving):
        app.admit_member(groupement, lycee, "2021-09-01", document(f"adhesion-{lycee}.pdf"), "2021-07-01")
    first = plan_for(app, groupement, titulaire, "M-2022", launched_on="2021-10-15", notified_on="2022-01-01")

    # A member joins after the marché was launched: not a party to it, nothing of it is written.
    app.admit_member(groupement, late, "2022-02-01", document("adhesion-late.pdf"), "2022-01-20")
    head = app.max_notification_id()
    for refused_command in (lambda: record(app, first, late, "2022-01-01", "2022-06-30", "45"),
                            lambda: app.declare_purchase_volume(first, late, "9000")):
        with pytest.raises(DomainError) as caught:
            refused_command()
        assert (caught.value.code, caught.value.field) == ("not_a_party_to_marche", "member_id")
    assert app.max_notification_id() == head

    # ... and a party to a marché launched after it joined (notified mid-semester: a partial first period).
    second = plan_for(app, groupement, titulaire, "M-2023", launched_on="2022-06-01", notified_on="2022-09-15")
    late_measure = record(app, second, late, "2022-07-01", "2022-12-31", "45").id
    assert app.measure(late_measure).partial

    # A member leaves; under the default clause it stays bound until the marché ends: its later measures count,
    # labelled so.
    for member, value in ((early, "30"), (leaving, "40")):
        app.declare_purchase_volume(first, member, "1000")
        record(app, first, member, "2022-01-01", "2022-06-30", value)
    app.release_member(groupement, leaving, "2022-07-01")
    record(app, first, early, "2022-07-01", "2022-12-31", "32")
    record(app, first, leaving, "2022-07-01", "2022-12-31", "50")  # after it left, by itself: still bound

    ledger = Replay().feed_all(app.facts()).ledgers[groupement]
    balance = plan_balance(ledger, first)
    assert balance["members"][leaving]["egalim_share"]["rules"] == ["bound_after_withdrawal", "party"]
    assert balance["members"][late]["egalim_share"]["rules"] == []  # nothing of it under the first marché
    assert balance["parties"][leaving]["rule"] == "withdrawn_bound_until_marche_end"
    assert balance["parties"][late] == {"party": False, "launched_on": "2021-10-15", "left_on": None,
                                        "withdrawal_clause": "bound_until_marche_end",
                                        "rule": "joined_after_launch"}
    second_half = egalim(balance)["periods"][1]
    assert (second_half["value"], second_half["members"], second_half["excluded"]) == ("41.00", 2, [])
    view = member_view(ledger, first, leaving)
    assert [o["participation"] for o in next(i for i in view["indicators"]
                                             if i["key"] == "egalim_share")["observations"]] == \
        ["party", "bound_after_withdrawal"]
    assert not view["active"]
    assert view["standing"]["party"]


def test_under_a_clause_ending_at_withdrawal_later_measures_are_refused_and_the_last_one_labelled(app):
    """CCP L2113-6: a convention whose clause ends a leaving member's part at its withdrawal."""
    org = lambda prefix, name, kind: app.register_organisation(siret_with_key(prefix), name, kind).id  # noqa: E731
    region = org("2000537670001", "Région", "collectivite")
    staying, leaving = (org(f"19620012{i}0001", f"Lycée {i}", "eple") for i in range(2))
    titulaire = org("4190012340001", "Laiterie", "supplier")
    groupement = app.constitute_groupement("GC-FIN", "Groupement", "Denrées", True, region, "2021-06-01",
                                           document("convention.pdf"), withdrawal_clause="ends_at_withdrawal").id
    for lycee in (staying, leaving):
        app.admit_member(groupement, lycee, "2021-09-01", document(f"adhesion-{lycee}.pdf"), "2021-07-01")
    plan = plan_for(app, groupement, titulaire, "M-FIN", launched_on="2021-10-15", notified_on="2022-01-01")
    for member in (staying, leaving):
        app.declare_purchase_volume(plan, member, "1000")
    app.release_member(groupement, leaving, "2022-10-01")
    head = app.max_notification_id()
    with pytest.raises(DomainError) as caught:
        record(app, plan, leaving, "2023-01-01", "2023-06-30", "50", by=region)
    assert (caught.value.code, caught.value.field) == ("withdrawn_from_marche", "member_id")
    with pytest.raises(DomainError) as caught:  # by itself, after it left: no longer entitled at all
        record(app, plan, leaving, "2022-07-01", "2022-12-31", "50")
    assert (caught.value.code, caught.value.field) == ("not_entitled", "recorded_by")
    assert app.max_notification_id() == head
    record(app, plan, leaving, "2022-07-01", "2022-12-31", "50", by=region)  # the period it left in
    record(app, plan, staying, "2022-07-01", "2022-12-31", "30")
    balance = plan_balance(Replay().feed_all(app.facts()).ledgers[groupement], plan)
    assert balance["members"][leaving]["egalim_share"]["rules"] == ["until_withdrawal"]
    assert balance["parties"][leaving]["rule"] == "withdrawn_ends_at_withdrawal"
    assert egalim(balance)["periods"][0]["value"] == "40.00"


def test_the_new_arguments_are_mutations_arguments_and_refusals_are_typed(sqlite_settings):
    """CCP L2113-6 and L2113-8 through GraphQL: constituteGroupement takes the convention and its withdrawal
    clause, registerOrganisation a VAT number, admitMember the adhesion decision and its date; a refusal is a
    typed error (code and field) and writes nothing."""
    from tests.integration.test_graphql_api import Api  # noqa: PLC0415

    api = Api(sqlite_settings)
    result = "{ ok id error { code field } }"
    region = api.run(f'mutation {{ registerOrganisation(siret: "{siret_with_key("2000537670001")}", name: "Région", '
                     f'kind: "collectivite") {result} }}').data["registerOrganisation"]["id"]
    cologne = api.run('mutation { registerOrganisation(name: "Stadt Köln", kind: "eu_buyer", '
                      f'vatNumber: "DE136695976") {result} }}').data["registerOrganisation"]
    assert cologne["ok"], cologne
    doc = '{sha256: "%s", name: "%s.pdf", mediaType: "application/pdf"}'
    constituted = api.run(
        f'mutation {{ constituteGroupement(code: "GC-GQL", name: "G", purpose: "Achats", permanent: true, '
        f'coordonnateurId: "{region}", signedOn: "2021-06-01", convention: {doc % ("c" * 64, "convention")}, '
        f'withdrawalClause: "ends_at_withdrawal") {result} }}').data["constituteGroupement"]
    assert constituted["ok"], constituted
    groupement = constituted["id"]
    head = api.app.max_notification_id()
    missing = api.run(f'mutation {{ admitMember(groupementId: "{groupement}", organisationId: "{cologne["id"]}", '
                      f'on: "2022-01-01") {result} }}').data["admitMember"]
    assert missing["error"] == {"code": "adhesion_decision_required", "field": "decision"}
    assert api.app.max_notification_id() == head
    admitted = api.run(f'mutation {{ admitMember(groupementId: "{groupement}", organisationId: "{cologne["id"]}", '
                       f'on: "2022-01-01", decision: {doc % ("d" * 64, "beschluss")}, decidedOn: "2021-12-01") '
                       f'{result} }}').data["admitMember"]
    assert admitted["ok"], admitted
    assert api.app.groupement(groupement).withdrawal_clause.value == "ends_at_withdrawal"

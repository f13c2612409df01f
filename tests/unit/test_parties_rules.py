"""Issue 14, who is a member and a party, and measures: one test per rule of the code de la commande publique
(and of the ministerial answer QE 100136 of 2011) as the platform applies it. Each refusal asserts its stable
code, its field and that nothing was written (the log head did not move); each acceptance, what it records.
The table of these rules is in docs/domain.md, "Règles appliquées — groupement, parties et mesures"."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest

from progres.domain import errors as e
from progres.domain.base import StateSnapshot
from progres.domain.values import Period, siret_with_key
from progres.projections.aggregation import NO_VOLUME, WEIGHTED, WEIGHTED_WITHOUT_SOME
from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from tests.conftest import ADHESION, CONVENTION

GERMAN_VAT = "DE136695976"  # a valid German VAT number (format and check digit)


def refused(world: Any, code: str, field: str, command: Any) -> e.DomainError:
    head = world.head()
    with pytest.raises(e.DomainError) as caught:
        command()
    assert (caught.value.code, caught.value.field) == (code, field), caught.value.as_dict()
    assert world.head() == head, "a refused command must write nothing"
    return caught.value


def org(world: Any, prefix: str, kind: str, name: str = "Organisation") -> str:
    return world.app.register_organisation(siret_with_key(prefix), name, kind).id


def ledger(world: Any) -> dict[str, Any]:
    return Replay().feed_all(world.app.facts()).ledgers[world.groupement]


def second_marche(world: Any, code: str, launched_on: str, notified_on: str = "2022-09-01",
                  aggregation: str = "mean") -> str:
    """Another marché of the world's groupement, launched on a given day, with a plan and a semestrial indicator."""
    marche = world.app.notify_marche(world.groupement, code, "BOF", "15500000-3", "fournitures", [world.titulaire],
                                     "100000", 24, notified_on, launched_on=launched_on).id
    plan = world.app.draw_up_plan(marche, "Plan").id
    world.app.add_axis(plan, "egalim", "EGalim")
    world.app.add_objective(plan, "criteres", "egalim", "Critères", "resultats")
    world.app.define_indicator(plan, {"key": "egalim_share", "objective_key": "criteres", "name": "Part EGalim",
                                      "kind": "quantitative", "unit": "%", "baseline": 20, "target": 50,
                                      "direction": "increase", "periodicity": "semestrial", "scope": "member",
                                      "aggregation": aggregation})
    return plan


# 1. Convention constitutive
def test_a_groupement_is_constituted_by_its_convention_constitutive(world):
    """CCP L2113-6: the groupement is formed by a convention constitutive signed by its members; the platform
    refuses a groupement without the convention (a document by hash) and records its withdrawal clause."""
    refused(world, "convention_required", "convention", lambda: world.app.constitute_groupement(
        "GC-SANS", "G", "Achats", True, world.region, "2021-06-01"))
    refused(world, "invalid_input", "withdrawal_clause", lambda: world.app.constitute_groupement(
        "GC-CLAUSE", "G", "Achats", True, world.region, "2021-06-01", CONVENTION, withdrawal_clause="jamais"))
    default = world.app.constitute_groupement("GC-DEFAUT", "G", "Achats", True, world.region, "2021-06-01",
                                              CONVENTION).id
    constituted = world.app.groupement(default)
    assert constituted.convention.sha256 == CONVENTION["sha256"]
    assert constituted.withdrawal_clause.value == "bound_until_marche_end"  # the default clause
    assert world.app.groupement(world.groupement).withdrawal_clause.value == "ends_at_withdrawal"


# 2. Adhesion record
def test_a_member_is_admitted_on_its_adhesion_decision(world):
    """CCP L2113-6 and L2113-7: a buyer joins by a délibération or décision d'adhésion; the platform requires it
    as a document by hash with its date, not after the day the adhesion takes effect."""
    refused(world, "adhesion_decision_required", "decision",
            lambda: world.app.admit_member(world.groupement, world.outsider, "2022-01-01"))
    refused(world, "adhesion_decision_required", "decided_on",
            lambda: world.app.admit_member(world.groupement, world.outsider, "2022-01-01", ADHESION))
    refused(world, "adhesion_decided_after_joining", "decided_on",
            lambda: world.app.admit_member(world.groupement, world.outsider, "2022-01-01", ADHESION, "2022-01-02"))
    world.app.admit_member(world.groupement, world.outsider, "2022-01-01", ADHESION, "2021-12-15")
    joined = world.app.groupement(world.groupement).memberships[-1]
    assert (joined.decision, joined.decided_on) == (ADHESION, date(2021, 12, 15))
    view = ledger(world)["groupement"]["memberships"][-1]
    assert (view["decision"], view["decided_on"]) == (ADHESION, "2021-12-15")


# 3. Any acheteur may be a member
@pytest.mark.parametrize("kind", ["state_service", "hospital", "public_establishment"])
def test_any_french_acheteur_may_be_a_member(world, kind):
    """CCP L2113-6: a groupement de commandes may be formed between acheteurs (L1210-1: pouvoirs adjudicateurs and
    entités adjudicatrices), not only collectivités and EPLE: State services, hospitals, établissements publics."""
    buyer = org(world, "3300000010001", kind)
    world.app.admit_member(world.groupement, buyer, "2022-01-01", ADHESION, "2022-01-01")
    assert world.app.groupement(world.groupement).is_active(world.app.organisation(buyer).id, date(2022, 1, 1))
    refused(world, "member_must_be_buyer", "organisation",
            lambda: world.app.admit_member(world.groupement, world.titulaire, "2022-01-01", ADHESION, "2022-01-01"))


def test_a_buyer_of_another_eu_state_is_a_member_known_by_its_vat_number(world):
    """CCP L2113-8: buyers of other EU member states may take part in a groupement. They have no SIRET: they are
    known by their VAT identification number (DECP's `typeIdentifiant: TVA`), checked to that state's format."""
    refused(world, "invalid_eu_identifier", "vat_number", lambda: world.app.register_organisation(
        None, "Stadt Köln", "eu_buyer", vat_number="DE136695977"))  # wrong check digit
    refused(world, "invalid_eu_identifier", "vat_number", lambda: world.app.register_organisation(
        None, "Mairie", "eu_buyer", vat_number="FR40303265045"))  # French: a SIRET, not a VAT number
    refused(world, "identifier_does_not_fit_kind", "siret", lambda: world.app.register_organisation(
        siret_with_key("3300000020001"), "Stadt Köln", "eu_buyer", vat_number=GERMAN_VAT))
    refused(world, "identifier_does_not_fit_kind", "vat_number", lambda: world.app.register_organisation(
        siret_with_key("3300000020001"), "Lycée", "eple", vat_number=GERMAN_VAT))
    cologne = world.app.register_organisation(None, "Stadt Köln", "eu_buyer", vat_number="de 136 695 976").id
    organisation = world.app.organisation(cologne)
    assert (organisation.siret, organisation.vat_number, organisation.identifier) == (None, GERMAN_VAT, GERMAN_VAT)
    refused(world, "organisation_already_registered", "vat_number", lambda: world.app.register_organisation(
        None, "Stadt Köln", "eu_buyer", vat_number=GERMAN_VAT))
    world.app.admit_member(world.groupement, cologne, "2022-01-01", ADHESION, "2021-12-01")
    refused(world, "coordonnateur_must_be_french", "coordonnateur", lambda: world.app.constitute_groupement(
        "GC-UE", "G", "Achats", True, cologne, "2021-06-01", CONVENTION))


# 4. Parties fixed at launch
def test_a_member_that_joins_after_a_marche_was_launched_is_not_a_party_to_it(world):
    """QE 100136 (JO AN 2011) and DAJ guidance on groupements: the parties of a marché are fixed when it is
    launched; a member that joins later benefits only from marchés launched after it joined. Its measures,
    purchase volume and propositions under the earlier marché are refused with `not_a_party_to_marche`."""
    world.app.admit_member(world.groupement, world.outsider, "2022-03-01", ADHESION, "2022-02-15")
    refused(world, "not_a_party_to_marche", "member_id", lambda: world.measure(
        member_id=world.outsider, recorded_by=world.outsider))
    refused(world, "not_a_party_to_marche", "member_id",
            lambda: world.app.declare_purchase_volume(world.plan, world.outsider, "1000"))
    refused(world, "not_a_party_to_marche", "author_id", lambda: world.app.submit_proposal(
        world.plan, world.outsider, "egalim", "innovation", "Idée", "Contenu", "Impact", "2022-05-01"))
    later = second_marche(world, "M-APRES", launched_on="2022-04-01")
    world.measure(plan_id=later, member_id=world.outsider, recorded_by=world.outsider,
                  period_start="2022-09-01", period_end="2022-12-31")
    world.app.declare_purchase_volume(later, world.outsider, "1000")
    assert str(world.app.organisation(world.outsider).id) in {str(p) for p in world.app.marche(
        world.app.plan(later).marche_id).party_ids}


def test_a_marche_is_launched_before_it_is_notified(world):
    """QE 100136 of 2011: the launch (publication of the consultation) fixes the parties; it comes before the
    notification and after the groupement's convention (L2113-6)."""
    refused(world, "launch_after_notification", "launched_on", lambda: world.app.notify_marche(
        world.groupement, "M-L", "BOF", "15500000-3", "fournitures", [world.titulaire], "1000", 12, "2022-01-01",
        launched_on="2022-01-02"))
    refused(world, "invalid_input", "launched_on", lambda: world.app.notify_marche(
        world.groupement, "M-L", "BOF", "15500000-3", "fournitures", [world.titulaire], "1000", 12, "2022-01-01",
        launched_on="2021-05-31"))


def test_a_leaving_member_is_treated_per_the_conventions_withdrawal_clause(world):
    """CCP L2113-6: the convention sets what a leaving member owes under marchés under way. The test world's
    clause ends its part at withdrawal: a measure for a period after it left is refused (withdrawn_from_marche);
    a period it left during is accepted and labelled `until_withdrawal` in the balance."""
    world.app.release_member(world.groupement, world.lycees[1], "2022-10-01")
    refused(world, "withdrawn_from_marche", "member_id", lambda: world.measure(
        member_id=world.lycees[1], recorded_by=world.region, period_start="2023-01-01", period_end="2023-06-30"))
    world.measure(member_id=world.lycees[1], recorded_by=world.region, period_start="2022-07-01",
                  period_end="2022-12-31")
    balance = plan_balance(ledger(world), world.plan)
    assert balance["members"][world.lycees[1]]["egalim_share"]["rules"] == ["until_withdrawal"]
    assert balance["parties"][world.lycees[1]] == {
        "party": True, "launched_on": "2022-01-01", "left_on": "2022-10-01",
        "withdrawal_clause": "ends_at_withdrawal", "rule": "withdrawn_ends_at_withdrawal"}


# 5. Server-side recording time
def test_the_recording_time_is_the_servers_and_a_declared_date_cannot_back_date_it(world):
    """Issue 14 (recordedOn trusted as sent): when a measure was recorded is the server's time (the event's
    timestamp); the recorder's business date is kept apart as declared. A member that left (under a clause
    ending its part at withdrawal) cannot record by declaring a date when it was still a member."""
    world.app.release_member(world.groupement, world.lycees[0], "2022-07-01")
    refused(world, "not_entitled", "recorded_by", lambda: world.measure(declared_on="2022-06-30"))
    refused(world, "declared_date_in_future", "declared_on", lambda: world.measure(
        member_id=world.lycees[1], recorded_by=world.lycees[1], declared_on="2999-01-01"))
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], declared_on="2022-07-03")
    view = member_view(ledger(world), world.plan, world.lycees[1])
    observation = next(i for i in view["indicators"] if i["key"] == "egalim_share")["observations"][0]
    assert observation["declared_on"] == "2022-07-03"
    assert observation["recorded_at"][:10] == datetime.now(UTC).date().isoformat()  # the server's day, not sent
    assert observation["participation"] == "party"


# 6. Periodicity
def test_a_measure_period_is_the_indicators_calendar_period(world):
    """Issue 14 (periodicity not enforced): a semestrial indicator is measured per calendar half-year; any other
    span is refused with `period_not_calendar` on the field `period`."""
    refused(world, "period_not_calendar", "period", lambda: world.measure(
        period_start="2022-02-01", period_end="2022-07-31"))
    refused(world, "period_not_calendar", "period", lambda: world.measure(
        period_start="2022-01-01", period_end="2022-12-31"))
    world.measure(period_start="2022-07-01", period_end="2022-12-31")


def test_a_partial_first_period_is_accepted_and_marked_partial(world):
    """Issue 14: when the marché is notified mid-semester, the first semester is measured over its part within
    the marché, accepted given whole or as that part, marked partial, and recorded once."""
    plan = second_marche(world, "M-MI", launched_on="2022-02-01", notified_on="2022-03-15")
    first = world.measure(plan_id=plan, period_start="2022-01-01", period_end="2022-06-30").id
    measure = world.app.measure(first)
    assert (measure.period.start, measure.period.end, measure.partial) == (date(2022, 3, 15), date(2022, 6, 30),
                                                                           True)
    refused(world, "measure_already_recorded", "period", lambda: world.measure(
        plan_id=plan, period_start="2022-03-15", period_end="2022-06-30"))
    second = world.app.measure(world.measure(plan_id=plan, period_start="2022-07-01", period_end="2022-12-31").id)
    assert not second.partial
    observations = next(i for i in member_view(ledger(world), plan, world.lycees[0])["indicators"]
                        if i["key"] == "egalim_share")["observations"]
    assert [o["partial"] for o in observations] == [True, False]


# 7. Weighting
def test_purchase_volumes_are_declared_only_for_members(world):
    """Issue 14: a purchase volume weighs a member in weighted means and gain sharing: only the groupement's
    members (parties to the marché) have one; another organisation is refused with `not_a_party`."""
    refused(world, "not_a_party", "member_id",
            lambda: world.app.declare_purchase_volume(world.plan, world.titulaire, "1000"))
    refused(world, "not_a_party", "member_id",
            lambda: world.app.declare_purchase_volume(world.plan, world.outsider, "1000"))
    world.app.declare_purchase_volume(world.plan, world.lycees[0], "1000")


def test_a_member_without_volume_is_left_out_of_a_weighted_mean_and_named(world):
    """Issue 14: in a mean weighted by purchase volume, a member without a volume is not weighted 0 in silence:
    it is left out and named; with no volume at all there is no figure (not a plain mean in disguise); the
    balance says which weighting rule applied."""
    plan = second_marche(world, "M-POIDS", launched_on="2022-01-01", aggregation="weighted_mean")
    for index, value in enumerate(["30", "40", "90"]):
        world.measure(plan_id=plan, member_id=world.lycees[index], recorded_by=world.region, value=value,
                      period_start="2022-09-01", period_end="2022-12-31")

    def period() -> dict[str, Any]:
        balance = plan_balance(ledger(world), plan)
        indicator = balance["axes"][0]["objectives"][0]["indicators"][0]
        return indicator["periods"][0]

    nothing = period()
    assert (nothing["value"], nothing["weighting"], nothing["members"]) == (None, NO_VOLUME, 0)
    assert {x["rule"] for x in nothing["excluded"]} == {NO_VOLUME}
    world.app.declare_purchase_volume(plan, world.lycees[0], "1000")
    world.app.declare_purchase_volume(plan, world.lycees[1], "3000")
    some = period()
    assert (Decimal(some["value"]), some["weighting"], some["members"]) == (Decimal("37.50"), WEIGHTED_WITHOUT_SOME, 2)
    assert some["excluded"] == [{"member_id": world.lycees[2], "rule": NO_VOLUME}]
    world.app.declare_purchase_volume(plan, world.lycees[2], "1000")
    every = period()
    assert (Decimal(every["value"]), every["weighting"], every["excluded"]) == (Decimal("48.00"), WEIGHTED, [])


# Events and snapshots written before issue 14 replay with the defaults
def _without(world: Any, aggregate_id: Any, version: int, *fields: str) -> Any:
    """The stored event of an aggregate at a version, as an older version of progres wrote it (fields absent)."""
    stored = next(s for s in world.app.recorder.select_events(aggregate_id) if s.originator_version == version)
    state = orjson.loads(stored.state)
    for name in fields:
        state.pop(name, None)
    return world.app.mapper.to_domain_event(dataclasses.replace(stored, state=orjson.dumps(state)))


def test_events_written_before_issue_14_replay_with_the_defaults(world):
    """CCP L2113-6 (clause), QE 100136 (launch), issue 14 (declared date): old events still replay."""
    constituted = _without(world, UUID(world.groupement), 1, "withdrawal_clause", "class_version")
    groupement = constituted.mutate(None)
    assert groupement.withdrawal_clause.value == "bound_until_marche_end"
    joined = _without(world, UUID(world.groupement), 2, "decision", "decided_on")
    joined.mutate(groupement)
    assert (groupement.memberships[-1].decision, groupement.memberships[-1].decided_on) == (None, None)
    notified = _without(world, UUID(world.marche), 1, "launched_on", "party_ids").mutate(None)
    assert (notified.launched_on, notified.party_ids) == (date(2022, 1, 1), None)
    assert notified.parties(world.app.groupement(world.groupement)) == {
        UUID(world.region), *(UUID(lycee) for lycee in world.lycees)}
    measure_id = world.measure().id
    recorded = world.app.recorder.select_events(UUID(measure_id))[0]
    state = orjson.loads(recorded.state)
    state["recorded_on"] = state.pop("declared_on")
    state.pop("partial")
    old = world.app.mapper.to_domain_event(dataclasses.replace(recorded, state=orjson.dumps(state))).mutate(None)
    assert (old.declared_on, old.partial) == (date(2022, 7, 1), False)


def test_snapshots_taken_before_issue_14_are_upcast(world):
    """Snapshots of v1 groupements and marchés get the default clause, launch day and parties (class_version 2)."""
    groupement = world.app.groupement(world.groupement)
    snapshot = StateSnapshot.take(groupement)
    state = dict(snapshot.state)
    state.pop("class_version")
    state.pop("withdrawal_clause")
    restored = dataclasses.replace(snapshot, state=state).mutate(None)
    assert restored.withdrawal_clause.value == "bound_until_marche_end"
    marche = StateSnapshot.take(world.app.marche(world.marche))
    state = {k: v for k, v in marche.state.items() if k not in ("class_version", "launched_on", "party_ids")}
    restored = dataclasses.replace(marche, state=state).mutate(None)
    assert (restored.launched_on, restored.party_ids) == (date(2022, 1, 1), None)


def test_a_member_that_is_not_a_party_takes_no_share_of_the_gains(world):
    """QE 100136 (2011): a member that joined after the launch takes no part in the marché, nor in its gains."""
    world.app.define_gain_sharing(world.plan, "économies", "2021", 12, {"titulaire": 50, "acheteur": 50}, "equal",
                                  "rebate")
    world.app.submit_proposal(world.plan, world.titulaire, "egalim", "innovation", "Idée", "Contenu", "Impact",
                              "2022-05-01", expected_gain="900")
    proposal = next(iter(ledger(world)["plans"][world.plan]["proposals"]))
    review = world.app.schedule_review(world.plan, "Revue", "2022-07-05").id
    world.app.hold_review(review, "2022-07-05", [{"name": "Acheteur", "function": "buyer"}])
    world.app.decide(review, proposal, "accepted", "oui")
    world.app.admit_member(world.groupement, world.outsider, "2022-03-01", ADHESION, "2022-02-15")
    shares = plan_balance(ledger(world), world.plan)["gains"]["members"]
    assert set(shares) == set(world.lycees)
    assert shares[world.lycees[0]] == "150.00"  # 450 € shared equally by the three parties, not four members


def test_a_roster_answers_as_scanning_the_memberships(world):
    """Marche.roster (an import decides thousands of measures on one index) gives the same participation and the
    same 'takes part on' as the scan of the groupement's memberships, for members who stayed, left (and came back),
    joined after the launch, and an outsider."""
    app = world.app
    late = org(world, "1962001230001", "eple", "Lycée arrivé après le lancement")
    app.admit_member(world.groupement, late, "2022-03-01", ADHESION, "2022-02-01")
    app.release_member(world.groupement, world.lycees[1], "2022-05-01")
    app.release_member(world.groupement, world.lycees[2], "2022-02-01")
    app.admit_member(world.groupement, world.lycees[2], "2022-09-01", ADHESION, "2022-08-01")
    groupement, marche = app.groupement(world.groupement), app.marche(world.marche)
    roster = marche.roster(groupement)
    periods = [Period(date(2022, m, 1), date(2022, m + 5, 28)) for m in (1, 4, 7)]
    days = [date(2021, 12, 31), date(2022, 1, 15), date(2022, 4, 30), date(2022, 5, 1), date(2022, 10, 1)]
    answers = set()
    for who in [*world.lycees, late, world.outsider]:
        member = UUID(who)
        for period in periods:
            scanned = marche.participation(groupement, member, period)
            assert marche.participation(groupement, member, period, roster) is scanned
            answers.add(scanned)
        for day in days:
            assert marche.takes_part_on(groupement, member, day, roster) == marche.takes_part_on(groupement, member,
                                                                                               day)
    assert len(answers) >= 4, answers  # the cases above give several different rules

"""One test per invariant: the command is refused with its named error and no event is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from progres.domain import errors as e
from progres.domain.values import siret_with_key
from tests.conftest import ADHESION


def refused(world: Any, error: type[e.DomainError], command: Callable[[], Any]) -> e.DomainError:
    head = world.head()
    with pytest.raises(error) as caught:
        command()
    assert world.head() == head, "a refused command must write nothing"
    assert caught.value.code == error.code
    return caught.value


def held_review(world: Any, title: str = "Bilan", on: str = "2022-07-05") -> str:
    review = world.app.schedule_review(world.plan, title, on).id
    world.app.hold_review(review, on, [{"name": "Acheteur", "function": "buyer"}])
    return review


def proposal(world: Any, author: str | None = None) -> str:
    return world.app.submit_proposal(world.plan, author or world.titulaire, "egalim", "innovation", "Idée",
                                     "Contenu", "Impact attendu", "2022-05-01").id


# Organisations
def test_a_siret_with_a_wrong_luhn_key_is_refused(world):
    good = siret_with_key("3210987650001")
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    error = refused(world, e.InvalidSiret, lambda: world.app.register_organisation(wrong, "X", "eple"))
    assert error.field == "siret"
    assert "Luhn" in error.message


def test_a_siret_that_is_not_14_digits_is_refused(world):
    refused(world, e.InvalidSiret, lambda: world.app.register_organisation("1234", "X", "eple"))


def test_an_organisation_is_registered_once_per_siret(world):
    refused(world, e.OrganisationAlreadyRegistered,
            lambda: world.app.register_organisation(siret_with_key("2000537670001"), "Région bis", "collectivite"))


def test_an_organisation_kind_must_be_known(world):
    error = refused(world, e.InvalidInput,
                    lambda: world.app.register_organisation(siret_with_key("3210987650001"), "X", "association"))
    assert error.field == "kind"


# Groupements
def test_a_supplier_cannot_coordinate_a_groupement(world):
    refused(world, e.CoordonnateurMustBeBuyer, lambda: world.app.constitute_groupement(
        "GC-2", "G", "Achats", True, world.titulaire, "2021-01-01"))


def test_a_groupement_code_is_used_once(world):
    refused(world, e.GroupementAlreadyExists, lambda: world.app.constitute_groupement(
        "GC-TEST", "G", "Achats", True, world.region, "2021-01-01"))


def test_a_supplier_cannot_join_a_groupement(world):
    refused(world, e.MemberMustBeBuyer, lambda: world.app.admit_member(world.groupement, world.titulaire, "2022-01-01"))


def test_an_active_member_cannot_join_twice(world):
    refused(world, e.AlreadyMember, lambda: world.app.admit_member(world.groupement, world.lycees[0], "2022-01-01"))


def test_a_member_cannot_join_before_the_convention(world):
    refused(world, e.DateBeforeConvention,
            lambda: world.app.admit_member(world.groupement, world.outsider, "2020-01-01"))


def test_the_coordonnateur_cannot_leave(world):
    refused(world, e.CoordonnateurCannotLeave,
            lambda: world.app.release_member(world.groupement, world.region, "2023-01-01"))


def test_a_member_cannot_leave_before_it_joined(world):
    refused(world, e.DateBeforeMembership,
            lambda: world.app.release_member(world.groupement, world.lycees[0], "2021-08-01"))


def test_an_organisation_that_is_not_a_member_cannot_leave(world):
    refused(world, e.NotAMember, lambda: world.app.release_member(world.groupement, world.outsider, "2023-01-01"))


def test_a_member_that_left_may_join_again_later(world):
    world.app.release_member(world.groupement, world.lycees[0], "2022-09-01")
    refused(world, e.AlreadyMember, lambda: world.app.admit_member(world.groupement, world.lycees[0], "2022-08-01"))
    world.app.admit_member(world.groupement, world.lycees[0], "2023-01-01", ADHESION, "2022-12-01")
    assert world.app.groupement(world.groupement).is_active(world.app.organisation(world.lycees[0]).id,
                                                             __import__("datetime").date(2023, 2, 1))


# Marchés
def notify(world: Any, **overrides: Any) -> Any:
    values = {"groupement_id": world.groupement, "code": "M2", "object": "BOF", "cpv": "15500000-3",
              "nature": "fournitures", "titulaire_ids": [world.titulaire], "initial_amount": "1000",
              "duration_months": 12, "notified_on": "2022-01-01"}
    values.update(overrides)
    return world.app.notify_marche(**values)


def test_a_marche_id_has_at_most_16_characters(world):
    error = refused(world, e.InvalidInput, lambda: notify(world, code="2022-BOF-LENS-0001"))
    assert error.field == "code"


def test_a_marche_needs_a_cpv_code(world):
    assert refused(world, e.InvalidInput, lambda: notify(world, cpv="beurre")).field == "cpv"


def test_a_titulaire_must_be_a_supplier(world):
    refused(world, e.TitulaireMustBeSupplier, lambda: notify(world, titulaire_ids=[world.lycees[0]]))


def test_a_marche_needs_a_positive_amount(world):
    assert refused(world, e.InvalidInput, lambda: notify(world, initial_amount="0")).field == "initial_amount"


def test_a_marche_needs_a_positive_duration(world):
    assert refused(world, e.InvalidInput, lambda: notify(world, duration_months=0)).field == "duration_months"


def test_a_marche_is_notified_once(world):
    refused(world, e.MarcheAlreadyNotified, lambda: notify(world, code="2022-BOF-T"))


def test_a_marche_cannot_close_before_its_notification(world):
    refused(world, e.CloseBeforeNotification, lambda: world.app.close_marche(world.marche, "2021-12-31"))


def test_a_closed_marche_takes_no_avenant(world):
    world.app.close_marche(world.marche, "2023-12-31")
    refused(world, e.MarcheClosed, lambda: world.app.propose_avenant(
        world.marche, "R2194-1", "raison", {"amount_delta": "10"}))


# Plan de progrès
def test_a_marche_has_one_plan(world):
    refused(world, e.PlanAlreadyExists, lambda: world.app.draw_up_plan(world.marche, "Autre plan"))


def test_an_objective_needs_a_known_axis(world):
    refused(world, e.UnknownAxis, lambda: world.app.add_objective(world.plan, "o2", "nope", "T", "moyens"))


def test_an_objective_is_of_means_or_of_results(world):
    assert refused(world, e.InvalidInput,
                   lambda: world.app.add_objective(world.plan, "o2", "egalim", "T", "effort")).field == "kind"


def test_keys_are_unique_within_a_plan(world):
    refused(world, e.DuplicateKey, lambda: world.app.add_axis(world.plan, "egalim", "Encore"))


def indicator(**overrides: Any) -> dict[str, Any]:
    spec = {"key": "i2", "objective_key": "criteres", "name": "I", "kind": "quantitative", "unit": "kg",
            "baseline": 10, "target": 5, "direction": "decrease", "periodicity": "yearly", "scope": "member",
            "aggregation": "sum"}
    spec.update(overrides)
    return spec


def test_an_indicator_needs_a_known_objective(world):
    refused(world, e.UnknownObjective, lambda: world.app.define_indicator(world.plan, indicator(objective_key="x")))


def test_a_qualitative_indicator_has_no_number(world):
    error = refused(world, e.InvalidIndicator, lambda: world.app.define_indicator(world.plan, indicator(
        kind="qualitative", unit=None, baseline=None, direction=None)))
    assert error.field == "indicator.target"


def test_a_quantitative_indicator_needs_a_target(world):
    refused(world, e.InvalidIndicator, lambda: world.app.define_indicator(world.plan, indicator(target=None)))


def test_a_trajectory_goes_forward_in_time(world):
    refused(world, e.InvalidIndicator, lambda: world.app.define_indicator(world.plan, indicator(
        target=None, trajectory=[{"from": "2023-01-01", "target": 8}, {"from": "2022-01-01", "target": 5}])))


def test_a_trajectory_gives_the_target_in_force_at_a_date(world):
    world.app.define_indicator(world.plan, indicator(key="proteins", target=None, trajectory=[
        {"from": "2022-01-01", "target": 8}, {"from": "2023-01-01", "target": 6}]))
    from datetime import date  # noqa: PLC0415

    proteins = world.app.plan(world.plan).indicators["proteins"]
    assert proteins.target_on(date(2021, 6, 1)) == 6  # before any step: the final target
    assert proteins.target_on(date(2022, 6, 1)) == 8
    assert proteins.target_on(date(2023, 6, 1)) == 6


def test_an_action_is_owned_by_titulaire_acheteur_or_both(world):
    error = refused(world, e.InvalidInput, lambda: world.app.plan_action(
        world.plan, "a2", "egalim", "Action", "prefecture", "2022-12-31"))
    assert error.field == "owner"


def test_a_done_action_cannot_start_again(world):
    world.app.change_action_status(world.plan, "sourcing", "done", "2022-06-01")
    refused(world, e.InvalidActionTransition,
            lambda: world.app.change_action_status(world.plan, "sourcing", "in_progress", "2022-07-01"))


def test_gain_shares_add_up_to_100_percent(world):
    refused(world, e.InvalidGainSharing, lambda: world.app.define_gain_sharing(
        world.plan, "économies", "2021", 12, {"titulaire": 60, "acheteur": 60}, "equal", "rebate"))


def test_governance_meets_at_a_positive_frequency(world):
    refused(world, e.InvalidInput, lambda: world.app.define_governance(world.plan, "Comité", ["acheteur"], 0))


# Measures
def test_a_measure_for_an_inactive_member_is_refused(world):
    error = refused(world, e.InactiveMember, lambda: world.measure(member_id=world.outsider,
                                                                  recorded_by=world.region))
    assert error.field == "member_id"


def test_a_measure_for_a_member_after_it_left_is_refused(world):
    world.app.release_member(world.groupement, world.lycees[1], "2022-07-01")
    # issue 14: the refusal names the convention's clause that ends a leaving member's part (a kind of inactive)
    refused(world, e.WithdrawnFromMarche, lambda: world.measure(
        member_id=world.lycees[1], recorded_by=world.region, period_start="2022-07-01", period_end="2022-12-31"))


def test_a_measure_of_an_unknown_indicator_is_refused(world):
    refused(world, e.UnknownIndicator, lambda: world.measure(indicator_key="co2"))


def test_a_measure_outside_the_marche_is_refused(world):
    refused(world, e.PeriodOutsideMarche, lambda: world.measure(period_start="2024-01-01", period_end="2024-06-30"))


def test_a_number_for_a_qualitative_indicator_is_refused(world):
    refused(world, e.WrongValueKind, lambda: world.measure(indicator_key="siqo", member_id=None,
                                                          recorded_by=world.region, value="12"))


def test_an_assessment_for_a_quantitative_indicator_is_refused(world):
    refused(world, e.WrongValueKind, lambda: world.measure(value=None, assessment="bien"))


def test_a_value_that_is_not_a_number_is_refused(world):
    assert refused(world, e.InvalidInput, lambda: world.measure(value="beaucoup")).field == "value"


def test_a_member_indicator_needs_its_member(world):
    refused(world, e.WrongScope, lambda: world.measure(member_id=None, recorded_by=world.region))


def test_a_period_that_ends_before_it_starts_is_refused(world):
    refused(world, e.InvalidInput, lambda: world.measure(period_start="2022-06-30", period_end="2022-01-01"))


def test_a_member_cannot_record_another_members_measure(world):
    refused(world, e.NotEntitled, lambda: world.measure(recorded_by=world.lycees[1]))


def test_a_measure_is_recorded_once_and_then_corrected(world):
    world.measure()
    refused(world, e.MeasureAlreadyRecorded, lambda: world.measure(value="31"))


def test_a_correction_must_change_the_value(world):
    measure = world.measure().id
    refused(world, e.UnchangedCorrection, lambda: world.app.correct_measure(
        measure, "même valeur", world.lycees[0], "2022-07-02", value="30"))


def test_a_correction_is_a_new_event_pointing_at_what_it_corrects(world):
    measure = world.measure().id
    world.app.correct_measure(measure, "saisie erronée", world.lycees[0], "2022-07-02", value="32.5")
    history = world.app.history(measure)
    assert [h["type"] for h in history] == ["Measure.Recorded", "Measure.Corrected"]
    assert "corrects_version=1" in history[1]["details"]
    assert str(world.app.measure(measure).value) == "32.5"


# Proposals
def test_an_organisation_outside_the_groupement_cannot_propose(world):
    refused(world, e.NotEntitled, lambda: proposal(world, author=world.outsider))


def test_a_proposal_names_a_known_axis(world):
    refused(world, e.UnknownAxis, lambda: world.app.submit_proposal(
        world.plan, world.titulaire, "nope", "innovation", "T", "C", "I", "2022-05-01"))


def test_only_its_author_withdraws_a_proposal(world):
    p = proposal(world)
    refused(world, e.NotEntitled, lambda: world.app.withdraw_proposal(p, world.lycees[0], "2022-05-02", "non"))


def test_a_decided_proposal_cannot_be_withdrawn(world):
    p = proposal(world)
    world.app.decide(held_review(world), p, "rejected", "trop cher")
    refused(world, e.ProposalNotPending, lambda: world.app.withdraw_proposal(p, world.titulaire, "2022-08-01", "x"))


# Reviews and decisions
def test_a_decision_needs_a_held_review(world):
    p = proposal(world)
    review = world.app.schedule_review(world.plan, "Bilan", "2022-07-05").id
    refused(world, e.ReviewNotHeld, lambda: world.app.decide(review, p, "accepted", "ok"))


def test_a_decision_needs_a_submitted_proposal(world):
    p = proposal(world)
    world.app.withdraw_proposal(p, world.titulaire, "2022-05-02", "retirée")
    review = held_review(world)
    refused(world, e.ProposalNotPending, lambda: world.app.decide(review, p, "accepted", "ok"))


def test_a_proposal_is_accepted_or_rejected_once(world):
    p = proposal(world)
    world.app.decide(held_review(world), p, "accepted", "ok")
    second = held_review(world, "B2")
    refused(world, e.ProposalNotPending, lambda: world.app.decide(second, p, "rejected", "non"))


def test_a_postponed_proposal_is_decided_at_a_later_review(world):
    p = proposal(world)
    world.app.decide(held_review(world), p, "postponed", "à étudier")
    world.app.decide(held_review(world, "B2", "2023-01-10"), p, "accepted", "étudiée")
    assert world.app.proposal(p).status == "accepted"


def test_a_closed_review_takes_no_decision(world):
    p = proposal(world)
    review = held_review(world)
    world.app.close_review(review, "2022-07-05")
    refused(world, e.ReviewNotHeld, lambda: world.app.decide(review, p, "accepted", "ok"))


def test_a_review_is_held_once(world):
    review = held_review(world)
    refused(world, e.ReviewAlreadyHeld, lambda: world.app.hold_review(review, "2022-07-06", [
        {"name": "A", "function": "buyer"}]))


def test_a_review_is_held_with_participants(world):
    review = world.app.schedule_review(world.plan, "Bilan", "2022-07-05").id
    refused(world, e.InvalidInput, lambda: world.app.hold_review(review, "2022-07-05", []))


def test_a_point_is_raised_by_someone_with_a_known_function(world):
    review = held_review(world)
    error = refused(world, e.InvalidInput, lambda: world.app.raise_point(
        review, "constraint", "Temps de préparation", {"name": "Chef", "function": "magician"}))
    assert error.field == "raised_by.function"


def test_a_point_is_raised_only_in_a_held_review(world):
    review = world.app.schedule_review(world.plan, "Bilan", "2022-07-05").id
    refused(world, e.ReviewNotHeld, lambda: world.app.raise_point(
        review, "constraint", "Temps", {"name": "Chef", "function": "cook"}))


# Documents
def test_a_document_is_referenced_by_its_sha256(world):
    error = refused(world, e.InvalidInput, lambda: world.measure(
        evidence={"sha256": "abc", "name": "facture.pdf", "media_type": "application/pdf"}))
    assert error.field == "document.sha256"


# Avenants
def test_r2194_1_needs_a_clause_de_reexamen(world):
    marche = notify(world, code="M-SANS-CLAUSE").id
    refused(world, e.AvenantBasisNotAllowed, lambda: world.app.propose_avenant(
        marche, "R2194-1", "raison", {"amount_delta": "10"}))


def test_an_avenant_for_supplementary_work_is_capped_at_50_percent(world):
    error = refused(world, e.AvenantCapExceeded, lambda: world.app.propose_avenant(
        world.marche, "R2194-2", "prestations supplémentaires", {"amount_delta": "50001"}))
    assert "50" in error.message


def test_small_avenants_are_capped_at_10_percent_cumulated_for_supplies(world):
    world.app.propose_avenant(world.marche, "R2194-8", "petite modification", {"amount_delta": "6000"})
    refused(world, e.AvenantCapExceeded, lambda: world.app.propose_avenant(
        world.marche, "R2194-8", "encore une", {"amount_delta": "4500"}))


def test_an_avenant_above_5_percent_needs_the_cao_opinion(world):
    world.app.propose_avenant(world.marche, "R2194-2", "plus", {"amount_delta": "5001"})
    avenant = world.app.marche(world.marche).avenant(1)
    assert avenant.needs_cao_opinion
    assert str(avenant.cumulative_percent) == "5.00"  # shown rounded, yet 5.001 % is above 5 %
    world.app.propose_avenant(world.marche, "R2194-2", "moins", {"amount_delta": "-1"})
    assert not world.app.marche(world.marche).avenant(2).needs_cao_opinion  # back to exactly 5 %


def test_an_avenant_following_a_decision_needs_an_accepted_proposal(world):
    p = proposal(world)
    world.app.decide(held_review(world), p, "rejected", "non")
    refused(world, e.DecisionNotAccepted, lambda: world.app.propose_avenant(
        world.marche, "R2194-1", "suite", {"amount_delta": "-100"}, proposal_id=p))


def test_an_avenant_is_signed_before_it_is_notified(world):
    world.app.propose_avenant(world.marche, "R2194-1", "raison", {"amount_delta": "10"})
    refused(world, e.AvenantWrongState, lambda: world.app.notify_avenant(world.marche, 1, "2022-06-01"))


def test_an_avenant_changes_something(world):
    refused(world, e.EmptyAvenant, lambda: world.app.propose_avenant(world.marche, "R2194-7", "rien", {}))


def test_an_avenant_keeps_some_duration(world):
    refused(world, e.InvalidInput, lambda: world.app.propose_avenant(
        world.marche, "R2194-7", "raccourcir", {"duration_delta_months": -24}))


def test_a_notified_avenant_adds_its_axis_to_the_plan_and_its_amount_to_the_marche(world):
    world.app.propose_avenant(world.marche, "R2194-1", "nouvel axe", {"amount_delta": "3000", "plan_changes": [
        {"kind": "add_axis", "key": "satisfaction", "title": "Satisfaction des convives"}]})
    world.app.sign_avenant(world.marche, 1, "2022-09-01")
    world.app.notify_avenant(world.marche, 1, "2022-09-05")
    assert world.app.plan(world.plan).axes["satisfaction"].added_by_avenant == 1
    marche = world.app.marche(world.marche)
    assert str(marche.current_amount) == "103000"
    assert str(marche.cumulative_change_percent) == "3.00"


# Bilan final
CLOSED_PLAN_COMMANDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("add_axis", lambda w: w.app.add_axis(w.plan, "new", "Nouvel axe")),
    ("define_indicator", lambda w: w.app.define_indicator(w.plan, indicator(key="late"))),
    ("change_action_status", lambda w: w.app.change_action_status(w.plan, "sourcing", "done", "2024-01-01")),
    ("record_measure", lambda w: w.measure()),
    ("submit_proposal", proposal),
    ("schedule_review", lambda w: w.app.schedule_review(w.plan, "Après", "2024-02-01")),
    ("close_again", lambda w: w.app.close_plan_with_bilan_final(w.plan, "2024-02-01", "encore")),
]


@pytest.mark.parametrize(("name", "command"), CLOSED_PLAN_COMMANDS, ids=[c[0] for c in CLOSED_PLAN_COMMANDS])
def test_after_the_bilan_final_the_plan_can_only_be_read(world, name, command):
    world.app.close_plan_with_bilan_final(world.plan, "2024-01-15", "Bilan final")
    refused(world, e.PlanClosed, lambda: command(world))


# Imports
def test_an_import_with_one_bad_row_records_nothing_and_names_the_row(world):
    rows = [{"indicator_key": "egalim_share", "member_id": world.lycees[i % 3], "period_start": "2022-01-01",
             "period_end": "2022-06-30", "value": 30 + i} for i in range(3)]
    rows.append({"indicator_key": "egalim_share", "member_id": world.outsider, "period_start": "2022-01-01",
                 "period_end": "2022-06-30", "value": 12})
    error = refused(world, e.InactiveMember, lambda: world.app.import_measures(
        world.plan, rows, world.region, "2022-07-01", "fichier d'achats"))
    assert error.field == "rows[3].member_id"


def test_an_import_refuses_a_row_already_recorded(world):
    world.measure()
    row = {"indicator_key": "egalim_share", "member_id": world.lycees[0], "period_start": "2022-01-01",
           "period_end": "2022-06-30", "value": 31}
    error = refused(world, e.MeasureAlreadyRecorded, lambda: world.app.import_measures(
        world.plan, [row], world.region, "2022-07-01", "fichier"))
    assert error.field == "rows[0].period"


def test_an_import_records_every_row(world):
    rows = [{"indicator_key": "egalim_share", "member_id": m, "period_start": "2022-01-01",
             "period_end": "2022-06-30", "value": 30} for m in world.lycees]
    head = world.head()
    world.app.import_measures(world.plan, rows, world.region, "2022-07-01", "fichier")
    assert world.head() == head + 3


def test_an_auditor_must_be_an_audit_body(world):
    refused(world, e.AuditorMustBeAuditBody, lambda: world.app.assign_auditor(world.groupement, world.lycees[0]))

"""Every rule of the domain, one case each: the command is refused with the rule's own code, field and
message, and nothing is written; beside it, the nearest case the rule lets through (its boundary).

A rule switched off, or a comparison moved by one, fails here (`scripts/mutation` checks it: see
docs/testing.md). Cases run on the in-memory application of the `world` fixture, or on the domain's
pure functions, so that the mutation run stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from progres.domain import errors as e
from progres.domain.avenants import AvenantChanges, LegalBasis, check_avenant
from progres.domain.groupements import Groupement
from progres.domain.marches import PARTICULARS
from progres.domain.values import (
    DocumentRef,
    MarcheNature,
    Period,
    Siret,
    luhn_valid,
    parse_date,
    parse_decimal,
    parse_enum,
    require_text,
    siret_with_key,
)
from tests.conftest import ADHESION

Command = Callable[[Any], Any]
SHA = "a" * 64


@dataclass(frozen=True)
class Rule:
    """A refusal: the command (given the world), and the error it must raise."""

    name: str
    command: Command | Steps
    code: str
    field: str | None
    message: str | Callable[[Any], str]


@dataclass(frozen=True)
class Steps:
    """Set-up steps, then the command under test: only the last one is checked for writing nothing."""

    setup: tuple[Command, ...]
    last: Command


def then(*steps: Command) -> Steps:
    return Steps(steps[:-1], steps[-1])


def prepare(world: Any, command: Command | Steps) -> Command:
    if isinstance(command, Steps):
        for step in command.setup:
            step(world)
        return command.last
    return command


def refused(world: Any, rule: Rule) -> e.DomainError:
    command = prepare(world, rule.command)
    head = world.head()
    with pytest.raises(e.DomainError) as caught:
        command(world)
    error = caught.value
    expected = rule.message(world) if callable(rule.message) else rule.message
    assert error.as_dict() == {"code": rule.code, "field": rule.field, "message": expected}
    assert world.head() == head, "a refused command must write nothing"
    return error


def accepted(world: Any, command: Command | Steps) -> None:
    last = prepare(world, command)
    head = world.head()
    last(world)
    assert world.head() > head


# Shared steps
def notify(w: Any, **overrides: Any) -> Any:
    values = {"groupement_id": w.groupement, "code": "M2", "object": "BOF", "cpv": "15500000-3",
              "nature": "fournitures", "titulaire_ids": [w.titulaire], "initial_amount": "1000",
              "duration_months": 12, "notified_on": "2022-01-01"}
    values.update(overrides)
    return w.app.notify_marche(**values)


def indicator(**overrides: Any) -> dict[str, Any]:
    spec = {"key": "i2", "objective_key": "criteres", "name": "I", "kind": "quantitative", "unit": "kg",
            "baseline": 10, "target": 5, "direction": "decrease", "periodicity": "yearly", "scope": "member",
            "aggregation": "sum"}
    spec.update(overrides)
    return spec


def qualitative(**overrides: Any) -> dict[str, Any]:
    spec = {"key": "q1", "objective_key": "criteres", "name": "Q", "kind": "qualitative", "periodicity": "yearly",
            "scope": "groupement"}
    spec.update(overrides)
    return spec


def proposal(w: Any, author: str | None = None, on: str = "2022-05-01") -> str:
    return w.app.submit_proposal(w.plan, author or w.titulaire, "egalim", "innovation", "Idée", "Contenu",
                                 "Impact attendu", on).id


def scheduled(w: Any) -> str:
    return w.app.schedule_review(w.plan, "Bilan", "2022-07-05").id


def held(w: Any, title: str = "Bilan") -> str:
    review = w.app.schedule_review(w.plan, title, "2022-07-05").id
    w.app.hold_review(review, "2022-07-05", [{"name": "Acheteur", "function": "buyer"}])
    return review


def avenant(w: Any, basis: str = "R2194-1", changes: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return w.app.propose_avenant(w.marche, basis, "raison", changes or {"amount_delta": "10"}, **kwargs)


def signed(w: Any) -> None:
    avenant(w)
    w.app.sign_avenant(w.marche, 1, "2022-06-01")


def notified(w: Any) -> None:
    signed(w)
    w.app.notify_avenant(w.marche, 1, "2022-06-02")


def audit_body(w: Any) -> str:
    return w.app.register_organisation(siret_with_key("1300000000001"), "Chambre régionale", "audit_body").id


def supplier(w: Any) -> str:
    return w.app.register_organisation(siret_with_key("4190099990001"), "Fromagerie", "supplier").id


def with_outsider_admitted_then_left(w: Any) -> None:
    w.app.admit_member(w.groupement, w.outsider, "2022-01-01", ADHESION, "2022-01-01")
    w.app.release_member(w.groupement, w.outsider, "2022-03-01")


def other_plan_proposal(w: Any) -> str:
    marche = notify(w, code="M-AUTRE").id
    plan = w.app.draw_up_plan(marche, "Autre plan").id
    w.app.add_axis(plan, "egalim", "EGalim")
    return w.app.submit_proposal(plan, w.titulaire, "egalim", "innovation", "Idée", "C", "I", "2022-05-01").id


def measure(w: Any, **overrides: Any) -> Any:
    return w.measure(**overrides)


def bare_org(w: Any) -> str:
    return f"l'organisation {w.outsider} n'est pas membre actif le 2023-01-01"


RULES = [
    # Groupements
    Rule("coordonnateur must be a buyer", lambda w: w.app.constitute_groupement(
        "GC-2", "G", "Achats", True, w.titulaire, "2021-01-01"), "coordonnateur_must_be_buyer", "coordonnateur",
        "coordonnateur: le coordonnateur doit être un acheteur (collectivité, EPLE, service de l'État, hôpital, "
        "établissement public), pas : supplier"),
    Rule("member must be a buyer", lambda w: w.app.admit_member(w.groupement, w.titulaire, "2022-01-01"),
         "member_must_be_buyer", "organisation",
         "organisation: un membre doit être un acheteur (collectivité, EPLE, service de l'État, hôpital, "
         "établissement public, ou acheteur d'un autre État de l'UE au titre de L2113-8), pas : supplier"),
    Rule("no membership before the convention", lambda w: w.app.admit_member(w.groupement, w.outsider, "2021-05-31"),
         "date_before_convention", "on", "on: le 2021-05-31 précède la signature de la convention, le 2021-06-01"),
    Rule("active member joins once", lambda w: w.app.admit_member(w.groupement, w.lycees[0], "2022-01-01"),
         "already_member", "organisation", "organisation: l'organisation Lycée 0 est déjà membre actif"),
    Rule("a member that left rejoins only from the day it left", then(
        lambda w: w.app.release_member(w.groupement, w.lycees[0], "2022-09-01"),
        lambda w: w.app.admit_member(w.groupement, w.lycees[0], "2022-08-31")),
        "already_member", "organisation", "organisation: l'organisation Lycée 0 est déjà membre actif"),
    Rule("coordonnateur cannot leave", lambda w: w.app.release_member(w.groupement, w.region, "2023-01-01"),
         "coordonnateur_cannot_leave", "organisation",
         "organisation: le coordonnateur ne peut pas quitter le groupement qu'il coordonne"),
    Rule("only a member leaves", lambda w: w.app.release_member(w.groupement, w.outsider, "2023-01-01"),
         "not_a_member", "organisation", lambda w: f"organisation: {bare_org(w)}"),
    Rule("a member leaves once", then(with_outsider_admitted_then_left,
                                      lambda w: w.app.release_member(w.groupement, w.outsider, "2023-01-01")),
         "not_a_member", "organisation", lambda w: f"organisation: {bare_org(w)}"),
    Rule("leaving the day one joined", lambda w: w.app.release_member(w.groupement, w.lycees[0], "2021-09-01"),
         "date_before_membership", "on", "on: un retrait le 2021-09-01 précède l'adhésion du 2021-09-01"),
    Rule("auditor must be an audit body", lambda w: w.app.assign_auditor(w.groupement, w.lycees[0]),
         "auditor_must_be_audit_body", "organisation", "organisation: un auditeur doit être un organe de contrôle, "
                                                       "pas : eple"),
    Rule("auditor assigned once", then(lambda w: setattr(w, "aud", audit_body(w)),
                                       lambda w: w.app.assign_auditor(w.groupement, w.aud),
                                       lambda w: w.app.assign_auditor(w.groupement, w.aud)),
         "already_assigned", "organisation", "organisation: l'organisation Chambre régionale est déjà désignée"),
    # Marchés
    Rule("a marché has a titulaire", lambda w: notify(w, titulaire_ids=[]), "invalid_input", "titulaires",
         "titulaires: un marché a au moins un titulaire"),
    Rule("titulaires are suppliers", lambda w: notify(w, titulaire_ids=[w.titulaire, w.lycees[0]]),
         "titulaire_must_be_supplier", "titulaires", "titulaires: un titulaire doit être un fournisseur, pas : eple"),
    Rule("particulars are known", lambda w: notify(w, particulars={"procedure": "MAPA", "colour": "blue"}),
         "invalid_input", "particulars.colour", f"particulars.colour: inconnu ; connus : {', '.join(PARTICULARS)}"),
    Rule("particulars have their type", lambda w: notify(w, particulars={"offres_recues": "3"}),
         "invalid_input", "particulars.offres_recues", "particulars.offres_recues: type attendu : int"),
    Rule("a boolean is not a count", lambda w: notify(w, particulars={"offres_recues": True}),
         "invalid_input", "particulars.offres_recues", "particulars.offres_recues: type attendu : int"),
    Rule("a boolean is not a rate", lambda w: notify(w, particulars={"taux_avance": True}),
         "invalid_input", "particulars.taux_avance", "particulars.taux_avance: type attendu : float"),
    Rule("a DECP id has 16 characters at most", lambda w: notify(w, code="M" * 17), "invalid_input", "code",
         "code: un identifiant de marché DECP a 16 caractères au plus"),
    Rule("a CPV code has 8 digits", lambda w: notify(w, cpv="1550000"), "invalid_input", "cpv",
         "cpv: « 1550000 » n'est pas un code CPV (8 chiffres, éventuellement -clé)"),
    Rule("a CPV code is required", lambda w: notify(w, cpv=None), "invalid_input", "cpv",
         "cpv: « None » n'est pas un code CPV (8 chiffres, éventuellement -clé)"),
    Rule("the amount is positive", lambda w: notify(w, initial_amount="0"), "invalid_input", "initial_amount",
         "initial_amount: le montant initial HT doit être positif"),
    Rule("the duration is positive", lambda w: notify(w, duration_months=0), "invalid_input", "duration_months",
         "duration_months: la durée doit être un nombre positif de mois"),
    Rule("the duration is a whole number", lambda w: notify(w, duration_months="12"), "invalid_input",
         "duration_months", "duration_months: la durée doit être un nombre positif de mois"),
    Rule("a marché follows its groupement", lambda w: notify(w, notified_on="2021-05-31"), "invalid_input",
         "notified_on", "notified_on: un marché est notifié après la constitution de son groupement"),
    Rule("a closed marché is read only", then(lambda w: w.app.close_marche(w.marche, "2023-12-31"), avenant),
         "marche_closed", "marche", "marche: le marché 2022-BOF-T est clos : il ne peut plus qu'être consulté"),
    Rule("a closed marché is closed once", then(lambda w: w.app.close_marche(w.marche, "2023-12-31"),
                                                lambda w: w.app.close_marche(w.marche, "2024-01-01")),
         "marche_closed", "marche", "marche: le marché 2022-BOF-T est clos : il ne peut plus qu'être consulté"),
    Rule("an avenant is known by its number", lambda w: w.app.sign_avenant(w.marche, 7, "2022-06-01"),
         "avenant_not_found", "number", "number: aucun avenant n° 7 sur ce marché"),
    Rule("a closed marché cannot close before its notification",
         lambda w: w.app.close_marche(w.marche, "2021-12-31"), "close_before_notification", "on",
         "on: une clôture le 2021-12-31 précède la notification du 2022-01-01"),
    # Avenants
    Rule("months are whole", lambda w: avenant(w, "R2194-7", {"duration_delta_months": 1.5}), "invalid_input",
         "changes.duration_delta_months", "changes.duration_delta_months: un nombre entier de mois est attendu"),
    Rule("a boolean is not a number of months", lambda w: avenant(w, "R2194-7", {"duration_delta_months": True}),
         "invalid_input", "changes.duration_delta_months",
         "changes.duration_delta_months: un nombre entier de mois est attendu"),
    Rule("an avenant adds axes only", lambda w: avenant(w, "R2194-7", {"plan_changes": [
        {"kind": "add_axis", "key": "a", "title": "A"}, {"kind": "drop_axis", "key": "egalim"}]}),
        "invalid_input", "changes.plan_changes[1].kind", "changes.plan_changes[1].kind: seul « add_axis » est "
                                                         "possible"),
    Rule("an avenant changes something", lambda w: avenant(w, "R2194-7", {"amount_delta": "0"}), "empty_avenant",
         "changes", "changes: un avenant doit modifier quelque chose"),
    Rule("R2194-1 needs a clause de réexamen", then(
        lambda w: setattr(w, "m2", notify(w, code="M-SANS-CLAUSE").id),
        lambda w: w.app.propose_avenant(w.m2, "R2194-1", "raison", {"amount_delta": "10"})),
        "avenant_basis_not_allowed", "basis",
        "basis: R2194-1 suppose une clause de réexamen dans le marché, et ce marché n'en a pas"),
    Rule("R2194-6 names the new titulaire", lambda w: avenant(w, "R2194-6", {"amount_delta": "10"}),
         "avenant_basis_not_allowed", "basis", "basis: R2194-6 est le remplacement du titulaire : nommez le nouveau"),
    Rule("each modification is capped at 50 %", lambda w: avenant(w, "R2194-5", {"amount_delta": "50001"}),
         "avenant_cap_exceeded", "changes.amount_delta", "changes.amount_delta: R2194-5 permet au plus 50 % du "
                                                         "montant initial (par modification) ; cet avenant "
                                                         "atteindrait 50.00 %"),
    Rule("a reduction is capped at 50 % too", lambda w: avenant(w, "R2194-2", {"amount_delta": "-50001"}),
         "avenant_cap_exceeded", "changes.amount_delta", "changes.amount_delta: R2194-2 permet au plus 50 % du "
                                                         "montant initial (par modification) ; cet avenant "
                                                         "atteindrait 50.00 %"),
    Rule("small modifications are capped at 10 % cumulated", then(
        lambda w: w.app.choose_small_modifications_reading(w.groupement, "absolute", "2022-01-01", "avis juridique"),
        lambda w: avenant(w, "R2194-8", {"amount_delta": "-6000"}),
        lambda w: avenant(w, "R2194-9", {"amount_delta": "4001"})),
        "avenant_cap_exceeded", "changes.amount_delta", "changes.amount_delta: R2194-9 permet au plus 10 % du montant "
                                                        "initial (cumulés sur les modifications de faible montant, en "
                                                        "valeur absolue) ; cet avenant atteindrait 10.00 %"),
    Rule("small modifications stay below the European threshold", then(
        lambda w: setattr(w, "m2", notify(w, code="M-GROS", initial_amount="3000000").id),
        lambda w: w.app.propose_avenant(w.m2, "R2194-8", "raison", {"amount_delta": "216000"}, on="2026-03-02")),
        "avenant_basis_not_allowed", "changes.amount_delta",
        "changes.amount_delta: les modifications de faible montant doivent rester sous le seuil européen de 216000 € "
        "HT en vigueur du 2026-01-01 au 2027-12-31 (Règlement délégué (UE) 2025/2152 du 22 octobre 2025 (directive "
        "2014/24/UE, art. 4); CCP annexe n° 2 (avis relatif aux seuils de procédure))"),
    Rule("an avenant following a decision follows an accepted one", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.decide(held(w), w.p, "rejected", "non"),
        lambda w: avenant(w, proposal_id=w.p)),
        "decision_not_accepted", "decision", "decision: un avenant issu du plan doit suivre une proposition acceptée "
                                             "; celle-ci est à l'état rejected"),
    Rule("an avenant following a pending proposition", then(
        lambda w: setattr(w, "p", proposal(w)), lambda w: avenant(w, proposal_id=w.p)),
        "decision_not_accepted", "decision", "decision: un avenant issu du plan doit suivre une proposition acceptée "
                                             "; celle-ci est à l'état submitted"),
    Rule("a marché keeps some duration", lambda w: avenant(w, "R2194-7", {"duration_delta_months": -24}),
         "invalid_input", "changes.duration_delta_months",
         "changes.duration_delta_months: le marché n'aurait plus de durée"),
    Rule("an avenant is signed once", then(signed, lambda w: w.app.sign_avenant(w.marche, 1, "2022-06-02")),
         "avenant_wrong_state", "number", "number: l'avenant n° 1 est à l'état signed : impossible de le signer"),
    Rule("an avenant is signed before it is notified", then(avenant,
                                                            lambda w: w.app.notify_avenant(w.marche, 1, "2022-06-01")),
         "avenant_wrong_state", "number", "number: l'avenant n° 1 est à l'état proposed : impossible de le notifier"),
    Rule("an avenant is notified after its signature", then(signed,
                                                            lambda w: w.app.notify_avenant(w.marche, 1, "2022-05-31")),
         "invalid_input", "notified_on", "notified_on: un avenant est notifié le jour de sa signature ou après"),
    Rule("a notified avenant cannot be abandoned", then(notified,
                                                        lambda w: w.app.abandon_avenant(w.marche, 1, "trop tard")),
         "avenant_wrong_state", "number", "number: l'avenant n° 1 est à l'état notified : impossible de l'abandonner"),
    # Plans
    Rule("a qualitative indicator has no unit", lambda w: w.app.define_indicator(w.plan, qualitative(unit="kg")),
         "invalid_indicator", "indicator.unit", "indicator.unit: un indicateur qualitatif est une appréciation : ni "
                                                "nombre, ni unité, ni cible"),
    Rule("a qualitative indicator has no trajectory", lambda w: w.app.define_indicator(w.plan, qualitative(
        trajectory=[{"from": "2022-01-01", "target": 1}])), "invalid_indicator", "indicator.trajectory",
        "indicator.trajectory: un indicateur qualitatif est une appréciation : ni nombre, ni unité, ni cible"),
    Rule("trajectory steps go forward", lambda w: w.app.define_indicator(w.plan, indicator(target=None, trajectory=[
        {"from": "2022-01-01", "target": 8}, {"from": "2022-01-01", "target": 5}])), "invalid_indicator",
        "indicator.trajectory", "indicator.trajectory: les étapes de la trajectoire doivent avoir des dates "
                                "strictement croissantes"),
    Rule("a quantitative indicator has a target", lambda w: w.app.define_indicator(w.plan, indicator(target=None)),
         "invalid_indicator", "indicator.target",
         "indicator.target: un indicateur quantitatif demande une cible ou une trajectoire"),
    Rule("a closed plan is read only", then(lambda w: w.app.close_plan_with_bilan_final(w.plan, "2024-01-15", "Fin"),
                                            lambda w: w.app.commit_resource(w.plan, "titulaire", "Camion")),
         "plan_closed", "plan", "plan: le plan de progrès est clos par son bilan final : il ne peut plus qu'être "
                                "consulté"),
    Rule("axis keys are unique", lambda w: w.app.add_axis(w.plan, "egalim", "Encore"), "duplicate_key", "key",
         "key: axis egalim existe déjà dans ce plan"),
    Rule("objective keys are unique", lambda w: w.app.add_objective(w.plan, "criteres", "egalim", "T", "moyens"),
         "duplicate_key", "key", "key: objective criteres existe déjà dans ce plan"),
    Rule("indicator keys are unique", lambda w: w.app.define_indicator(w.plan, indicator(key="siqo")),
         "duplicate_key", "key", "key: indicator siqo existe déjà dans ce plan"),
    Rule("action keys are unique", lambda w: w.app.plan_action(w.plan, "sourcing", "egalim", "A", "joint",
                                                                "2022-12-31"),
         "duplicate_key", "key", "key: action sourcing existe déjà dans ce plan"),
    Rule("milestone keys are unique", then(lambda w: w.app.schedule_milestone(w.plan, "m1", "Jalon", "2022-06-30"),
                                           lambda w: w.app.schedule_milestone(w.plan, "m1", "Autre", "2022-07-30")),
         "duplicate_key", "key", "key: milestone m1 existe déjà dans ce plan"),
    Rule("an objective is on a known axis", lambda w: w.app.add_objective(w.plan, "o2", "nope", "T", "moyens"),
         "unknown_axis", "axis_key", "axis_key: aucun axe nope dans ce plan"),
    Rule("an action is on a known axis", lambda w: w.app.plan_action(w.plan, "a2", "nope", "A", "joint",
                                                                      "2022-12-31"),
         "unknown_axis", "axis_key", "axis_key: aucun axe nope dans ce plan"),
    Rule("a measure is of a known indicator", lambda w: measure(w, indicator_key="co2"), "unknown_indicator",
         "indicator_key", "indicator_key: aucun indicateur co2 dans ce plan"),
    Rule("an indicator is of a known objective", lambda w: w.app.define_indicator(w.plan, indicator(
        objective_key="x")), "unknown_objective", "indicator.objective_key",
        "indicator.objective_key: aucun objectif x dans ce plan"),
    Rule("an action is known", lambda w: w.app.change_action_status(w.plan, "nope", "done", "2022-06-01"),
         "unknown_action", "action_key", "action_key: aucune action nope dans ce plan"),
    Rule("a done action stays done", then(
        lambda w: w.app.change_action_status(w.plan, "sourcing", "done", "2022-06-01"),
        lambda w: w.app.change_action_status(w.plan, "sourcing", "in_progress", "2022-07-01")),
        "invalid_action_transition", "status", "status: une action ne peut pas passer de done à in_progress"),
    Rule("an action in progress does not go back", then(
        lambda w: w.app.change_action_status(w.plan, "sourcing", "in_progress", "2022-06-01"),
        lambda w: w.app.change_action_status(w.plan, "sourcing", "planned", "2022-07-01")),
        "invalid_action_transition", "status", "status: une action ne peut pas passer de in_progress à planned"),
    Rule("a cancelled action stays cancelled", then(
        lambda w: w.app.change_action_status(w.plan, "sourcing", "cancelled", "2022-06-01"),
        lambda w: w.app.change_action_status(w.plan, "sourcing", "done", "2022-07-01")),
        "invalid_action_transition", "status", "status: une action ne peut pas passer de cancelled à done"),
    Rule("gain shares add up to 100 %", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", 12, {"titulaire": 60, "acheteur": 41}, "equal", "rebate"),
        "invalid_gain_sharing", "shares", "shares: les parts des parties doivent être positives et totaliser 100 %"),
    Rule("gain shares are positive", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", 12, {"titulaire": 110, "acheteur": -10}, "equal", "rebate"),
        "invalid_gain_sharing", "shares", "shares: les parts des parties doivent être positives et totaliser 100 %"),
    Rule("members share by volume or equally", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", 12, {"titulaire": 50, "acheteur": 50}, "by_size", "rebate"),
        "invalid_gain_sharing", "member_split",
        "member_split: les membres partagent selon « purchase_volume » ou à parts égales (« equal »)"),
    Rule("the gain period is positive", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", 0, {"titulaire": 50, "acheteur": 50}, "equal", "rebate"),
        "invalid_input", "period_months", "period_months: la période de gain est un nombre positif de mois"),
    Rule("the gain period is whole months", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", "12", {"titulaire": 50, "acheteur": 50}, "equal", "rebate"),
        "invalid_input", "period_months", "period_months: la période de gain est un nombre positif de mois"),
    Rule("reviews have a positive frequency", lambda w: w.app.define_governance(w.plan, "Comité", ["acheteur"], 0),
         "invalid_input", "review_frequency_months",
         "review_frequency_months: les revues ont lieu tous les N mois, N positif"),
    Rule("review frequency is whole months", lambda w: w.app.define_governance(w.plan, "Comité", ["acheteur"], "6"),
         "invalid_input", "review_frequency_months",
         "review_frequency_months: les revues ont lieu tous les N mois, N positif"),
    Rule("governance names a participant", lambda w: w.app.define_governance(w.plan, "Comité", [], 6),
         "invalid_input", "participants", "participants: nommez au moins un participant"),
    Rule("a purchase volume is not negative", lambda w: w.app.declare_purchase_volume(w.plan, w.lycees[0], "-0.01"),
         "invalid_input", "amount", "amount: un volume d'achats ne peut pas être négatif"),
    # Measures
    Rule("a quantitative measure has a value", lambda w: measure(w, value=None), "wrong_value_kind", "value",
         "value: l'indicateur egalim_share est quantitatif : donnez un nombre en % et pas d'appréciation"),
    Rule("a quantitative measure has no assessment", lambda w: measure(w, assessment="bien"), "wrong_value_kind",
         "value", "value: l'indicateur egalim_share est quantitatif : donnez un nombre en % et pas d'appréciation"),
    Rule("a qualitative measure has no value", lambda w: measure(
        w, indicator_key="siqo", member_id=None, recorded_by=w.region, value="12"), "wrong_value_kind", "value",
        "value: l'indicateur siqo est qualitatif : donnez une appréciation, pas un nombre"),
    Rule("a member records its own measures", lambda w: measure(w, recorded_by=w.lycees[1]), "not_entitled",
         "recorded_by", lambda w: f"recorded_by: l'organisation {w.lycees[1]} n'est ni membre actif "
         "ni titulaire"),
    Rule("an outsider records nothing", lambda w: measure(w, member_id=w.lycees[0], recorded_by=w.outsider),
         "not_entitled", "recorded_by", lambda w: f"recorded_by: l'organisation {w.outsider} n'est ni membre "
         "actif ni titulaire"),
    Rule("a member that left records no more", then(
        lambda w: w.app.release_member(w.groupement, w.lycees[0], "2022-07-01"),
        lambda w: measure(w, declared_on="2022-07-01")),
        "not_entitled", "recorded_by", lambda w: f"recorded_by: l'organisation {w.lycees[0]} n'est ni membre "
        "actif ni titulaire"),
    Rule("a member indicator names its member", lambda w: measure(w, member_id=None, recorded_by=w.region),
         "wrong_scope", "member_id", "member_id: l'indicateur egalim_share se mesure par membre : nommez le membre"),
    Rule("a groupement indicator names no member", lambda w: measure(
        w, indicator_key="siqo", value=None, assessment="bien", recorded_by=w.region), "wrong_scope", "member_id",
        "member_id: l'indicateur siqo se mesure pour tout le groupement"),
    Rule("a measure is for an active member", lambda w: measure(w, member_id=w.outsider, recorded_by=w.region),
         "inactive_member", "member_id", lambda w: f"member_id: l'organisation {w.outsider} n'est pas membre actif "
         "du groupement pendant 2022-01-01/2022-06-30"),
    Rule("a measure ends with the marché", lambda w: measure(w, period_start="2023-07-01", period_end="2024-01-01"),
         "period_outside_marche", "period",
         "period: la période 2023-07-01/2024-01-01 sort du marché (du 2022-01-01 au 2023-12-31)"),
    Rule("a measure starts with the marché", lambda w: measure(w, period_start="2021-12-31", period_end="2022-06-30"),
         "period_outside_marche", "period",
         "period: la période 2021-12-31/2022-06-30 sort du marché (du 2022-01-01 au 2023-12-31)"),
    Rule("a correction changes the value", then(lambda w: setattr(w, "m", measure(w).id),
                                                lambda w: w.app.correct_measure(w.m, "même", w.lycees[0],
                                                                                "2022-07-02", value="30.0")),
         "unchanged_correction", "value", "value: la correction donne la valeur déjà enregistrée"),
    Rule("a correction changes the assessment", then(
        lambda w: setattr(w, "m", measure(w, indicator_key="siqo", member_id=None, value=None, assessment="bien",
                                          recorded_by=w.region).id),
        lambda w: w.app.correct_measure(w.m, "même", w.region, "2022-07-02", assessment="bien")),
        "unchanged_correction", "value", "value: la correction donne la valeur déjà enregistrée"),
    Rule("a correction is by an entitled organisation", then(
        lambda w: setattr(w, "m", measure(w).id),
        lambda w: w.app.correct_measure(w.m, "autre", w.lycees[1], "2022-07-02", value="31")),
        "not_entitled", "recorded_by", lambda w: f"recorded_by: l'organisation {w.lycees[1]} n'est ni membre "
        "actif ni titulaire"),
    # Propositions
    Rule("an outsider does not propose", lambda w: proposal(w, author=w.outsider), "not_entitled", "author_id",
         lambda w: f"author_id: l'organisation {w.outsider} n'est ni membre actif ni titulaire"),
    Rule("a member that left does not propose", then(with_outsider_admitted_then_left,
                                                     lambda w: proposal(w, author=w.outsider, on="2022-03-01")),
         "not_entitled", "author_id",
         lambda w: f"author_id: l'organisation {w.outsider} n'est ni membre actif ni titulaire"),
    Rule("a proposition is on a known axis", lambda w: w.app.submit_proposal(
        w.plan, w.titulaire, "nope", "innovation", "T", "C", "I", "2022-05-01"), "unknown_axis", "axis_key",
        "axis_key: aucun axe nope dans ce plan"),
    Rule("only its author withdraws a proposition", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.withdraw_proposal(w.p, w.lycees[0], "2022-05-02", "non")),
        "not_entitled", "by", lambda w: f"by: l'organisation {w.lycees[0]} n'est ni membre actif ni "
        "titulaire"),
    Rule("a decided proposition is not withdrawn", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.decide(held(w), w.p, "rejected", "trop cher"),
        lambda w: w.app.withdraw_proposal(w.p, w.titulaire, "2022-08-01", "x")),
        "proposal_not_pending", "proposal_id", "proposal_id: la proposition est à l'état rejected : elle ne peut plus "
                                               "être retirée"),
    Rule("a withdrawn proposition is not decided", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.withdraw_proposal(w.p, w.titulaire, "2022-05-02", "retirée"),
        lambda w: setattr(w, "r", held(w)),
        lambda w: w.app.decide(w.r, w.p, "accepted", "ok")),
        "proposal_not_pending", "proposal_id", "proposal_id: la proposition est à l'état withdrawn : elle ne peut "
                                               "plus être décidée"),
    # Revues
    Rule("a decision needs a held revue", then(lambda w: setattr(w, "p", proposal(w)),
                                               lambda w: setattr(w, "r", scheduled(w)),
                                               lambda w: w.app.decide(w.r, w.p, "accepted", "ok")),
         "review_not_held", "review_id",
         "review_id: la revue est à l'état scheduled : elle doit être tenue (et non close) pour y décider"),
    Rule("a closed revue takes no point", then(lambda w: setattr(w, "r", held(w)),
                                               lambda w: w.app.close_review(w.r, "2022-07-05"),
                                               lambda w: w.app.raise_point(w.r, "need", "Four",
                                                                           {"name": "Chef", "function": "cook"})),
         "review_not_held", "review_id",
         "review_id: la revue est à l'état closed : elle doit être tenue (et non close) pour y inscrire un point"),
    Rule("a revue closes once held", then(lambda w: setattr(w, "r", scheduled(w)),
                                          lambda w: w.app.close_review(w.r, "2022-07-05")),
         "review_not_held", "review_id", "review_id: la revue est à l'état scheduled : elle doit être tenue (et non "
                                         "close) pour la clore"),
    Rule("a revue is held once", then(lambda w: setattr(w, "r", held(w)),
                                      lambda w: w.app.hold_review(w.r, "2022-07-06", [{"name": "A",
                                                                                        "function": "buyer"}])),
         "review_already_held", "review_id", "review_id: la revue est déjà à l'état held"),
    Rule("a closed revue is not held again", then(lambda w: setattr(w, "r", held(w)),
                                                  lambda w: w.app.close_review(w.r, "2022-07-05"),
                                                  lambda w: w.app.hold_review(w.r, "2022-07-06", [
                                                      {"name": "A", "function": "buyer"}])),
         "review_already_held", "review_id", "review_id: la revue est déjà à l'état closed"),
    Rule("a revue is held with participants", then(lambda w: setattr(w, "r", scheduled(w)),
                                                   lambda w: w.app.hold_review(w.r, "2022-07-05", [])),
         "invalid_input", "participants", "participants: une revue se tient avec au moins un participant"),
    Rule("a revue decides on its plan's propositions", then(lambda w: setattr(w, "p", other_plan_proposal(w)),
                                                            lambda w: setattr(w, "r", held(w)),
                                                            lambda w: w.app.decide(w.r, w.p, "accepted", "ok")),
         "proposal_of_another_plan", "proposal_id", "proposal_id: la proposition appartient à un autre plan"),
    Rule("a revue decides once on a proposition", then(lambda w: setattr(w, "p", proposal(w)),
                                                       lambda w: setattr(w, "r", held(w)),
                                                       lambda w: w.app.decide(w.r, w.p, "postponed", "plus tard"),
                                                       lambda w: w.app.decide(w.r, w.p, "accepted", "ok")),
         "already_decided_in_review", "proposal_id",
         lambda w: f"proposal_id: cette revue a déjà statué sur la proposition {w.p}"),
    # Values
    Rule("a document is referenced by its SHA-256", lambda w: measure(w, evidence={
        "sha256": "A" * 64, "name": "facture.pdf", "media_type": "application/pdf"}), "invalid_input",
        "document.sha256", "document.sha256: 64 chiffres hexadécimaux en minuscules sont attendus (SHA-256)"),
    Rule("a document has a media type", lambda w: measure(w, evidence={
        "sha256": SHA, "name": "facture.pdf", "media_type": "pdf"}), "invalid_input", "document.media_type",
        "document.media_type: « pdf » n'est pas un type de média"),
    Rule("a document has a name", lambda w: measure(w, evidence={
        "sha256": SHA, "name": " ", "media_type": "application/pdf"}), "invalid_input", "document.name",
        "document.name: ne doit pas être vide"),
]


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_each_rule_refuses_with_its_own_code_field_and_message(world, rule):
    refused(world, rule)


# What the rules let through: the boundary next to each refusal above.
ALLOWED: list[tuple[str, Command | Steps]] = [
    ("a member joins on the day of the convention", lambda w: w.app.admit_member(w.groupement, w.outsider,
                                                                                 "2021-06-01", ADHESION,
                                                                                 "2021-06-01")),
    ("a member that left rejoins on the day it left", then(
        lambda w: w.app.release_member(w.groupement, w.lycees[0], "2022-09-01"),
        lambda w: w.app.admit_member(w.groupement, w.lycees[0], "2022-09-01", ADHESION, "2022-09-01"))),
    ("a member leaves the day after it joined", lambda w: w.app.release_member(w.groupement, w.lycees[0],
                                                                              "2021-09-02")),
    ("an audit body is assigned", lambda w: w.app.assign_auditor(w.groupement, audit_body(w))),
    ("a marché with two suppliers", lambda w: notify(w, titulaire_ids=[w.titulaire, supplier(w)])),
    ("a DECP id of 16 characters", lambda w: notify(w, code="M" * 16)),
    ("a CPV code without check digit", lambda w: notify(w, cpv="15500000")),
    ("a cent is a positive amount", lambda w: notify(w, initial_amount="0.01")),
    ("one month is a duration", lambda w: notify(w, duration_months=1)),
    ("notified the day the groupement is constituted", lambda w: notify(w, notified_on="2021-06-01")),
    ("an int is a rate", lambda w: notify(w, particulars={"taux_avance": 1, "offres_recues": 3,
                                                          "marche_innovant": False})),
    ("a float rate", lambda w: notify(w, particulars={"taux_avance": 0.055})),
    ("closed on the day of notification", lambda w: w.app.close_marche(w.marche, "2022-01-01")),
    ("an avenant of exactly 50 %", lambda w: avenant(w, "R2194-2", {"amount_delta": "50000"})),
    ("a reduction of exactly 50 %", lambda w: avenant(w, "R2194-3", {"amount_delta": "-50000"})),
    ("R2194-1 with a clause de réexamen", lambda w: avenant(w, "R2194-1", {"amount_delta": "90000"})),
    ("R2194-6 naming the new titulaire", lambda w: avenant(w, "R2194-6", {"titulaire_ids": [supplier(w)]})),
    ("small modifications up to exactly 10 %", then(
        lambda w: avenant(w, "R2194-8", {"amount_delta": "-6000"}),
        lambda w: avenant(w, "R2194-9", {"amount_delta": "4000"}))),
    ("an abandoned small modification does not count", then(
        lambda w: avenant(w, "R2194-8", {"amount_delta": "9000"}),
        lambda w: w.app.abandon_avenant(w.marche, 1, "abandon"),
        lambda w: avenant(w, "R2194-8", {"amount_delta": "9000"}))),
    ("other bases do not count among small modifications", then(
        lambda w: avenant(w, "R2194-2", {"amount_delta": "9000"}),
        lambda w: avenant(w, "R2194-8", {"amount_delta": "9000"}))),
    ("just below the European threshold", lambda w: w.app.propose_avenant(
        notify(w, code="M-GROS", initial_amount="3000000").id, "R2194-8", "raison", {"amount_delta": "215999.99"},
        on="2026-03-02")),
    ("an avenant after an accepted proposition", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.decide(held(w), w.p, "accepted", "oui"),
        lambda w: avenant(w, proposal_id=w.p))),
    ("an avenant leaves one month", lambda w: avenant(w, "R2194-7", {"duration_delta_months": -23})),
    ("an avenant adds an axis", lambda w: avenant(w, "R2194-7", {"plan_changes": [
        {"kind": "add_axis", "key": "a", "title": "A"}]})),
    ("notified on the day it is signed", then(signed, lambda w: w.app.notify_avenant(w.marche, 1, "2022-06-01"))),
    ("a proposed avenant is abandoned", then(avenant, lambda w: w.app.abandon_avenant(w.marche, 1, "non"))),
    ("a signed avenant is abandoned", then(signed, lambda w: w.app.abandon_avenant(w.marche, 1, "non"))),
    ("a qualitative indicator with empty numeric fields", lambda w: w.app.define_indicator(w.plan, qualitative(
        key="q2", unit="", trajectory=[]))),
    ("a trajectory going forward gives the target", lambda w: w.app.define_indicator(w.plan, indicator(
        target=None, trajectory=[{"from": "2022-01-01", "target": 8}, {"from": "2022-01-02", "target": 5}]))),
    ("a planned action is done at once", lambda w: w.app.change_action_status(w.plan, "sourcing", "done",
                                                                              "2022-06-01")),
    ("an action in progress is cancelled", then(
        lambda w: w.app.change_action_status(w.plan, "sourcing", "in_progress", "2022-06-01"),
        lambda w: w.app.change_action_status(w.plan, "sourcing", "cancelled", "2022-07-01"))),
    ("shares of 100 % with a zero share", lambda w: w.app.define_gain_sharing(
        w.plan, "économies", "2021", 1, {"titulaire": 100, "acheteur": 0}, "purchase_volume", "rebate")),
    ("reviews every month", lambda w: w.app.define_governance(w.plan, "Comité", ["acheteur"], 1)),
    ("a purchase volume of zero", lambda w: w.app.declare_purchase_volume(w.plan, w.lycees[0], "0")),
    ("the coordonnateur records a member's measure", lambda w: measure(w, recorded_by=w.region)),
    ("the titulaire records a member's measure", lambda w: measure(w, recorded_by=w.titulaire)),
    ("a measure of the marché's last semester", lambda w: measure(w, period_start="2023-07-01",
                                                                  period_end="2023-12-31")),
    ("a measure with an empty assessment", lambda w: measure(w, assessment="")),
    ("a member records the day before it leaves", then(
        lambda w: w.app.release_member(w.groupement, w.lycees[0], "2022-07-02"),
        lambda w: setattr(w.app, "clock", lambda: date(2022, 7, 1)),
        lambda w: measure(w, declared_on="2022-07-01"))),
    ("a qualitative measure", lambda w: measure(w, indicator_key="siqo", member_id=None, value=None,
                                                assessment="bien", recorded_by=w.region)),
    ("a member proposes", lambda w: proposal(w, author=w.lycees[0])),
    ("a postponed proposition is withdrawn", then(
        lambda w: setattr(w, "p", proposal(w)),
        lambda w: w.app.decide(held(w), w.p, "postponed", "plus tard"),
        lambda w: w.app.withdraw_proposal(w.p, w.titulaire, "2022-08-01", "retirée"))),
    ("a held revue takes a point and closes", then(
        lambda w: setattr(w, "r", held(w)),
        lambda w: w.app.raise_point(w.r, "need", "Four", {"name": "Chef", "function": "cook"}),
        lambda w: w.app.close_review(w.r, "2022-07-05"))),
    ("a document with its hash, name and media type", lambda w: measure(w, evidence={
        "sha256": SHA, "name": "facture.pdf", "media_type": "application/vnd.ms-excel"})),
]


@pytest.mark.parametrize(("name", "command"), ALLOWED, ids=[a[0] for a in ALLOWED])
def test_each_rule_lets_its_boundary_through(world, name, command):
    accepted(world, command)


def test_a_member_that_left_is_active_until_the_day_before(world):
    world.app.release_member(world.groupement, world.lycees[0], "2022-07-01")
    groupement = world.app.groupement(world.groupement)
    member = UUID(world.lycees[0])
    assert groupement.is_active(member, date(2022, 6, 30))
    assert not groupement.is_active(member, date(2022, 7, 1))
    assert not groupement.is_active(member, date(2021, 8, 31))
    assert groupement.is_active_during(member, Period(date(2022, 6, 30), date(2022, 12, 31)))
    assert not groupement.is_active_during(member, Period(date(2022, 7, 1), date(2022, 12, 31)))
    assert groupement.is_active_during(member, Period(date(2021, 1, 1), date(2021, 9, 1)))
    assert not groupement.is_active_during(member, Period(date(2021, 1, 1), date(2021, 8, 31)))
    assert groupement.active_members(date(2022, 7, 1)) == [UUID(world.region), UUID(world.lycees[1]),
                                                          UUID(world.lycees[2])]


def test_check_active_names_the_field_and_the_day(world):
    groupement: Groupement = world.app.groupement(world.groupement)
    groupement.check_active(UUID(world.lycees[0]), date(2021, 9, 1))
    with pytest.raises(e.InactiveMember) as caught:
        groupement.check_active(UUID(world.lycees[0]), date(2021, 8, 31), "author_id")
    assert (caught.value.code, caught.value.field) == ("inactive_member", "author_id")
    assert caught.value.message == (f"author_id: l'organisation {world.lycees[0]} n'est pas membre actif du "
                                    "groupement pendant 2021-08-31")
    with pytest.raises(e.InactiveMember) as default:
        groupement.check_active(UUID(world.outsider), date(2022, 1, 1))
    assert default.value.field == "member"


# Pure value rules
def invalid(call: Callable[[], Any], code: str, field: str, message: str) -> None:
    with pytest.raises(e.DomainError) as caught:
        call()
    assert (caught.value.code, caught.value.field, caught.value.message) == (code, field, message)


def test_a_siret_is_14_digits_with_a_luhn_key():
    good = siret_with_key("3210987650001")
    assert Siret(good[:4] + " " + good[4:]).value == good
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    invalid(lambda: Siret(wrong), "invalid_siret", "siret",
            f"siret: « {wrong} » n'est pas un SIRET valide : sa clé de Luhn est fausse (un chiffre mal saisi ?)")
    invalid(lambda: Siret("1234567890123"), "invalid_siret", "siret",
            "siret: « 1234567890123 » n'est pas un SIRET valide : il doit compter exactement 14 chiffres")
    invalid(lambda: Siret("1234567890123a"), "invalid_siret", "siret",
            "siret: « 1234567890123a » n'est pas un SIRET valide : il doit compter exactement 14 chiffres")


def test_la_poste_sirets_follow_their_own_key():
    assert Siret("35600000000048").value == "35600000000048"  # the head office: a Luhn number
    assert Siret("35600000000001").value == "35600000000001"  # digits add up to 15, not a Luhn number
    assert not luhn_valid("35600000000001")
    assert luhn_valid("35600000000014")  # a Luhn number, yet its digits add up to 19
    invalid(lambda: Siret("35600000000014"), "invalid_siret", "siret",
            "siret: « 35600000000014 » n'est pas un SIRET valide : sa clé La Poste est fausse")


def test_luhn_doubles_every_second_digit_from_the_right():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("059")  # 0, 5×2=10→1, 9: 10
    assert luhn_valid("0")
    assert not luhn_valid("1")
    assert luhn_valid("18")  # 1×2=2, 8: 10
    assert luhn_valid("59")  # 5×2=10→1, 9: 10
    assert siret_with_key("3210987650001") == "32109876500019"


def test_a_period_ends_on_or_after_its_start():
    assert Period(date(2022, 1, 1), date(2022, 1, 1)).key() == "2022-01-01/2022-01-01"
    invalid(lambda: Period.parse("2022-06-30", "2022-06-29"), "invalid_input", "period",
            "period: la période finit (2022-06-29) avant de commencer (2022-06-30)")
    invalid(lambda: Period.parse("2022-02-30", "2022-06-29"), "invalid_input", "period.start",
            "period.start: « 2022-02-30 » n'est pas une date (AAAA-MM-JJ)")
    invalid(lambda: Period.parse("2022-01-01", "hier"), "invalid_input", "period.end",
            "period.end: « hier » n'est pas une date (AAAA-MM-JJ)")


def test_a_period_within_another_includes_both_ends():
    marche = Period(date(2022, 1, 1), date(2023, 12, 31))
    assert Period(date(2022, 1, 1), date(2023, 12, 31)).within(marche)
    assert not Period(date(2021, 12, 31), date(2022, 6, 30)).within(marche)
    assert not Period(date(2023, 7, 1), date(2024, 1, 1)).within(marche)


def test_dates_numbers_texts_and_enumerations_are_checked():
    assert parse_date("2022-03-04", "on") == date(2022, 3, 4)
    assert parse_date(date(2022, 3, 4), "on") == date(2022, 3, 4)
    invalid(lambda: parse_date(None, "on"), "invalid_input", "on", "on: « None » n'est pas une date (AAAA-MM-JJ)")
    assert parse_decimal("1.5", "amount") == Decimal("1.5")
    invalid(lambda: parse_decimal(True, "amount"), "invalid_input", "amount",
            "amount: un nombre est attendu, pas un booléen")
    invalid(lambda: parse_decimal("beaucoup", "amount"), "invalid_input", "amount",
            "amount: « beaucoup » n'est pas un nombre")
    invalid(lambda: parse_decimal("NaN", "amount"), "invalid_input", "amount", "amount: le nombre doit être fini")
    invalid(lambda: parse_decimal("Infinity", "amount"), "invalid_input", "amount",
            "amount: le nombre doit être fini")
    assert require_text("abc", "title", 3) == "abc"
    assert require_text(" abc ", "title") == "abc"
    invalid(lambda: require_text("   ", "title"), "invalid_input", "title", "title: ne doit pas être vide")
    invalid(lambda: require_text(12, "title"), "invalid_input", "title", "title: ne doit pas être vide")
    invalid(lambda: require_text("abcd", "title", 3), "invalid_input", "title", "title: 3 caractères au plus")
    assert require_text("a" * 2000, "content") == "a" * 2000
    invalid(lambda: require_text("a" * 2001, "content"), "invalid_input", "content",
            "content: 2000 caractères au plus")
    assert parse_enum(MarcheNature, "travaux", "nature") is MarcheNature.TRAVAUX
    invalid(lambda: parse_enum(MarcheNature, "armes", "nature"), "invalid_input", "nature",
            "nature: « armes » n'est pas l'une des valeurs : fournitures, services, travaux")


def test_a_document_reference_round_trips():
    document = DocumentRef(SHA, "pv.pdf", "application/pdf")
    assert DocumentRef.from_dict(document.as_dict()) == document
    assert DocumentRef.from_dict(None) is None


# Avenant rules, as pure functions of the marché's figures
def check(basis: str, delta: str, earlier: list[Any] | None = None, nature: MarcheNature = MarcheNature.FOURNITURES,
          threshold: Decimal = Decimal(216_000)) -> Decimal:
    return check_avenant(LegalBasis(basis), AvenantChanges.parse({"amount_delta": delta}), nature=nature,
                         initial_amount=Decimal(100_000), has_clause_reexamen=True, earlier=earlier or [],
                         eu_threshold=threshold)


def test_works_allow_15_percent_of_small_modifications():
    assert check("R2194-8", "15000", nature=MarcheNature.TRAVAUX) == Decimal(15_000)
    invalid(lambda: check("R2194-8", "15001", nature=MarcheNature.TRAVAUX), "avenant_cap_exceeded",
            "changes.amount_delta", "changes.amount_delta: R2194-8 permet au plus 15 % du montant initial (cumulés "
                                    "sur les modifications de faible montant) ; cet avenant atteindrait 15.00 %")
    assert check("R2194-8", "10000", nature=MarcheNature.SERVICES) == Decimal(10_000)


def test_the_european_threshold_is_reached_at_its_exact_amount():
    assert check("R2194-8", "999.99", threshold=Decimal(1000)) == Decimal("999.99")
    invalid(lambda: check("R2194-8", "1000", threshold=Decimal(1000)), "avenant_basis_not_allowed",
            "changes.amount_delta",
            "changes.amount_delta: les modifications de faible montant doivent rester sous le seuil européen de 1000 "
            "€ HT")
    invalid(lambda: check("R2194-8", "-1000", threshold=Decimal(1000)), "avenant_basis_not_allowed",
            "changes.amount_delta",
            "changes.amount_delta: les modifications de faible montant doivent rester sous le seuil européen de 1000 "
            "€ HT")


def test_the_cumulative_change_counts_every_live_avenant(world):
    world.app.propose_avenant(world.marche, "R2194-2", "a", {"amount_delta": "3000"})
    world.app.propose_avenant(world.marche, "R2194-7", "b", {"amount_delta": "-1000"})
    world.app.propose_avenant(world.marche, "R2194-7", "c", {"amount_delta": "500"})
    world.app.abandon_avenant(world.marche, 3, "non")
    world.app.propose_avenant(world.marche, "R2194-8", "d", {"amount_delta": "3001"})
    marche = world.app.marche(world.marche)
    assert [str(a.cumulative_percent) for a in marche.avenants] == ["3.00", "2.00", "2.50", "5.00"]
    assert [a.needs_cao_opinion for a in marche.avenants] == [False, False, False, True]
    assert marche.avenants[1].changes.amount_delta == Decimal(-1000)


def test_an_avenant_names_its_new_titulaires_and_they_replace_the_old_ones_when_notified(world):
    other = supplier(world)
    world.app.propose_avenant(world.marche, "R2194-6", "reprise", {"titulaire_ids": [other]})
    world.app.sign_avenant(world.marche, 1, "2022-06-01")
    assert world.app.marche(world.marche).titulaire_ids == [UUID(world.titulaire)]
    world.app.notify_avenant(world.marche, 1, "2022-06-01")
    assert world.app.marche(world.marche).titulaire_ids == [UUID(other)]
    with pytest.raises(e.TitulaireMustBeSupplier) as caught:
        world.app.propose_avenant(world.marche, "R2194-6", "reprise", {"titulaire_ids": [world.lycees[0]]})
    assert caught.value.field == "titulaires"


def test_an_avenant_changes_duration_and_amount_of_the_marche(world):
    world.app.propose_avenant(world.marche, "R2194-7", "plus long", {"duration_delta_months": 6,
                                                                     "amount_delta": "1000"})
    marche = world.app.marche(world.marche)
    assert (marche.current_duration_months, str(marche.current_amount)) == (24, "100000")  # not notified yet
    world.app.sign_avenant(world.marche, 1, "2022-06-01")
    world.app.notify_avenant(world.marche, 1, "2022-06-01")
    marche = world.app.marche(world.marche)
    assert (marche.current_duration_months, str(marche.current_amount)) == (30, "101000")
    assert marche.end_on == date(2024, 6, 30)

"""Propositions submitted and listed through the console, and the auditors' timeline of a plan, in a real Chromium
against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres


def test_the_titulaire_submits_a_proposition_and_finds_it_in_the_list(console, page):
    sign_in(page, console, console.scenario.titulaire, "titulaire")
    page.click("text=Propositions")
    head = console.log_head()
    page.select_option("#axis", "environnement")
    page.select_option("#kind", "service_improvement")
    page.fill("#title", "Une seule livraison par semaine")
    page.fill("#content", "Regrouper les commandes des lycées sur un passage hebdomadaire.")
    page.fill("#impact", "Moins de camions, un panier moyen plus grand.")
    page.fill("#gain", "1 250,50")
    page.fill("#submitted_on", "15/03/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/propositions\?soumise=\d+"))
    assert console.log_head() == head + 1
    row = page.get_by_role("row", name=re.compile("^Une seule livraison par semaine")).inner_text()
    assert "Laiterie des Flandres SAS" in row
    assert "amélioration du service" in row
    assert "15 mars 2023" in row
    assert "soumise" in row
    assert "1\u202f250,50\u00a0€" in row


def test_a_proposition_in_error_is_refused_field_by_field_and_nothing_is_written(console, page):
    sign_in(page, console, console.scenario.lycees[2], "acheteur")
    page.goto(f"{console.url}/plans/{console.scenario.plan}/propositions")
    head = console.log_head()
    page.fill("#title", "Yaourts fermiers")
    page.fill("#gain", "beaucoup")
    page.fill("#submitted_on", "2023-02-30")
    page.click("main button[type=submit]")
    assert page.inner_text("#content-error") == "Ce champ est obligatoire."
    assert page.inner_text("#gain-error") == "« beaucoup » n'est pas un nombre (écrivez par exemple 31,5)."
    assert page.inner_text("#submitted_on-error").startswith("« 2023-02-30 » n'est pas une date")
    assert page.input_value("#title") == "Yaourts fermiers"
    assert console.log_head() == head


def test_an_auditor_opens_any_members_dashboard_from_the_home_page(console, page):
    sign_in(page, console, console.scenario.auditor, "auditeur")
    page.click("summary")  # <details>: opens with the keyboard or a click, without JavaScript
    page.click("text=Lycée Condorcet (Lens)")
    assert page.inner_text("h1") == "Tableau de bord : Lycée Condorcet (Lens)"
    assert "Saisir une mesure" not in page.inner_text("main")


def test_an_auditor_replays_the_plan_and_a_lycee_may_not(console, page):
    sign_in(page, console, console.scenario.auditor, "auditeur")
    page.click("text=Historique (auditeurs)")
    assert page.inner_text("h1").startswith("Historique du plan")
    rows = page.locator("tbody tr")
    assert rows.count() == 50
    assert "groupement constitué\nGroupement.Constituted" in rows.first.inner_text()
    assert "plan pas encore dressé" in rows.first.inner_text()
    states = rows.all_inner_texts()
    assert any("1 axe" in row and "480 000,00 €" in row for row in states)  # the plan, step by step
    page.click("text=Événements suivants")
    later = page.locator("tbody tr").all_inner_texts()
    assert later
    assert int(later[0].split("\t")[0].replace("\u202f", "")) > int(states[-1].split("\t")[0])
    assert any("mesures" in row for row in later)
    page.context.clear_cookies()
    sign_in(page, console, console.scenario.lycees[0], "acheteur")
    assert "Historique (auditeurs)" not in page.inner_text("main")
    refused = page.goto(f"{console.url}/plans/{console.scenario.plan}/historique")
    assert refused.status == 403
    assert page.inner_text("h1") == "Accès refusé"

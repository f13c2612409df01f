"""The forms members expected and did not find, each through the pages in a real Chromium, each refused first (the
API's stable code next to the form's field its GraphQL path names, the values kept, the log head unmoved), then
accepted: the coordonnateur changes an action's state, declares a member's purchase volume and commits a resource
(plan setup page); releases a member and assigns an audit body (the groupement's members page). A lycée's forged
post is refused by the API's policy, nothing written."""

from __future__ import annotations

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres


def refused(page, button: str, field: str) -> str:
    page.get_by_role("button", name=button).click()
    page.wait_for_selector(f"#{field}-error")
    return page.inner_text(f"#{field}-error")


def test_the_coordonnateur_changes_an_action_declares_a_volume_and_commits_a_resource(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/mise-en-place")

    # An action under way cannot go back to planned: the API's refusal next to the new state, nothing written.
    head = console.log_head()
    page.select_option("#status_action", "info-chefs")  # in progress in the seed
    page.select_option("#status_status", "planned")
    page.fill("#status_on", "01/09/2023")
    said = refused(page, "Changer l'état", "status_status")
    assert "(invalid_action_transition)" in said
    assert console.log_head() == head
    assert page.input_value("#status_on") == "01/09/2023"  # the values typed are kept
    assert page.input_value("#status_action") == "info-chefs"
    page.select_option("#status_status", "done")
    page.fill("#status_on", "15/09/2023")
    page.get_by_role("button", name="Changer l'état").click()
    page.wait_for_selector("text=État de l'action changé")
    assert console.log_head() == head + 1

    # A purchase volume cannot be negative: refused next to the amount (`input.amount`), nothing written.
    head = console.log_head()
    page.select_option("#volume_member", s.lycees[0])
    page.fill("#volume_amount", "-5")
    said = refused(page, "Déclarer le volume", "volume_amount")
    assert "(invalid_input)" in said
    assert console.log_head() == head
    assert page.input_value("#volume_amount") == "-5"
    page.fill("#volume_amount", "42 000,50")
    page.get_by_role("button", name="Déclarer le volume").click()
    page.wait_for_selector("text=Volume d'achat déclaré")
    assert console.log_head() == head + 1

    # A resource without its description is refused by the page, nothing sent; then committed.
    head = console.log_head()
    page.select_option("#resource_party", "titulaire")
    page.fill("#resource_amount", "12 000")
    said = refused(page, "Inscrire le moyen", "resource_description")
    assert "obligatoire" in said
    assert console.log_head() == head
    page.fill("#resource_description", "Un camion frigorifique dédié aux lycées")
    page.get_by_role("button", name="Inscrire le moyen").click()
    page.wait_for_selector("text=Moyen inscrit")
    assert console.log_head() == head + 1
    page.goto(f"{console.url}/plans/{s.plan}")
    assert "Un camion frigorifique dédié aux lycées" in page.inner_text("main")
    assert "12\u202f000,00\u00a0€" in page.inner_text("main") or "12 000,00" in page.inner_text("main")

    # A lycée's forged post (with its own session's token) is refused by the API's policy, nothing written.
    sign_in(page, console, s.lycees[0], "acheteur")
    page.goto(f"{console.url}/plans/{s.plan}/mesures/nouvelle")
    token = page.get_attribute("input[name=csrf]", "value")
    head = console.log_head()
    posted = page.request.post(f"{console.url}/plans/{s.plan}/mise-en-place/resource",
                               form={"csrf": token or "", "resource_party": "acheteur",
                                     "resource_description": "Moyen du lycée"})
    assert posted.status in (403, 422)
    assert "forbidden" in posted.text() or "Accès refusé" in posted.text()
    assert console.log_head() == head


def test_the_coordonnateur_releases_a_member_and_assigns_an_audit_body(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/groupements/{s.groupement}/membres")

    # The audit body of the seed is already assigned: refused next to the organisation, nothing written.
    head = console.log_head()
    page.select_option("#auditor_organisation", s.auditor)
    said = refused(page, "Désigner l'organisme", "auditor_organisation")
    assert "(already_assigned)" in said
    assert console.log_head() == head

    # A withdrawal dated before the member joined is refused next to the date, the values kept, nothing written.
    member = s.lycees[-1]
    page.select_option("#release_organisation", member)
    page.fill("#release_on", "01/01/2000")
    said = refused(page, "Faire sortir le membre", "release_on")
    assert "(date_before_membership)" in said
    assert console.log_head() == head
    assert page.input_value("#release_on") == "01/01/2000"
    assert page.input_value("#release_organisation") == member
    page.fill("#release_on", "31/08/2024")
    page.get_by_role("button", name="Faire sortir le membre").click()
    page.wait_for_selector("text=Membre sorti du groupement")
    assert console.log_head() == head + 1
    assert "31 août 2024" in page.inner_text("table")


def test_the_coordonnateur_corrects_a_qualitative_measure(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/membres/{s.region}")
    page.get_by_role("link", name="Corriger la mesure de 2e sem. 2022 : Suivi de la liste de produits SIQO").click()
    page.wait_for_selector("#assessment")
    recorded = page.input_value("#assessment")  # the form starts from the assessment recorded
    assert "17 références" in recorded
    assert "appréciation enregistrée" in page.inner_text("main")

    # The same assessment again is no correction: refused next to it, the values kept, nothing written.
    head = console.log_head()
    page.fill("#reason", "Relecture de la liste")
    page.fill("#corrected_on", "10/01/2023")
    page.get_by_role("button", name="Enregistrer la correction").click()
    page.wait_for_selector("#assessment-error")
    assert "(unchanged_correction)" in page.inner_text("#assessment-error")
    assert page.input_value("#reason") == "Relecture de la liste"
    assert console.log_head() == head

    page.fill("#assessment", "Liste SIQO suivie : 18 références, le Maroilles AOP de nouveau livré.")
    page.get_by_role("button", name="Enregistrer la correction").click()
    page.wait_for_selector("text=18 références")
    assert console.log_head() == head + 1

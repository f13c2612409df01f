"""Revues through the console, as the coordonnateur: scheduled, their agenda (open propositions, late actions),
held with participants and the minutes as a document, propositions decided, closed; refusals in French with
nothing written. In a real Chromium against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import hashlib
import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres
MINUTES = b"%PDF-1.4\n% compte rendu de la revue du 10 janvier 2023\n"


def submit_proposal(page, console, title: str, plan: str | None = None) -> None:
    """The titulaire's proposition through its page (on the seed's plan unless another is named)."""
    page.goto(f"{console.url}/plans/{plan or console.scenario.plan}/propositions")
    page.select_option("#axis", "environnement")
    page.select_option("#kind", "service_improvement")
    page.fill("#title", title)
    page.fill("#content", "Regrouper les livraisons sur un passage hebdomadaire.")
    page.fill("#impact", "Moitié moins de passages.")
    page.fill("#gain", "12 000")
    page.fill("#submitted_on", "20/05/2022")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/propositions\?soumise=\d+"))


def test_the_coordonnateur_schedules_holds_decides_and_closes_a_revue(console, page):
    s = console.scenario
    sign_in(page, console, s.titulaire, "titulaire")
    submit_proposal(page, console, "Une livraison par semaine")
    submit_proposal(page, console, "Des œufs plein air")
    page.context.clear_cookies()

    sign_in(page, console, s.region, "coordonnateur")
    page.click("text=Revues")
    assert page.inner_text("h1").startswith("Revues : ")
    head = console.log_head()
    page.fill("#title", "Bilan semestriel S2 2022")
    page.fill("#scheduled_on", "31/02/2023")
    page.click("main button[type=submit]")
    assert page.inner_text("#scheduled_on-error").startswith("« 31/02/2023 » n'est pas une date")
    assert page.input_value("#title") == "Bilan semestriel S2 2022"
    assert console.log_head() == head

    page.fill("#scheduled_on", "10/01/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/revues/[^/?]+\?fait=\d+"))
    assert console.log_head() == head + 1
    assert page.inner_text("h1") == "Revue : Bilan semestriel S2 2022"
    main = page.inner_text("main")
    assert "Prévue le 10 janvier 2023. État : programmée." in main
    agenda = page.locator("table").first.inner_text()
    assert "Une livraison par semaine" in agenda
    assert "Des œufs plein air" in agenda
    assert "12\u202f000,00\u00a0€" in agenda
    late = page.locator("table").nth(1).inner_text()
    assert "Revue de marché" in late
    assert "30 juin 2022" in late
    assert "Formation des chefs de cuisine" not in late  # due on 30 June 2023: not late on 10 January 2023

    # A revue is not closed before it is held: the domain's refusal, in French, nothing written.
    review_url = page.url.split("?")[0]
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")
    closed = page.request.post(f"{review_url}/cloture", form={"csrf": csrf, "closed_on": "10/01/2023"})
    assert closed.status == 422
    assert "doit être tenue" in closed.text()
    assert console.log_head() == head

    # Holding it without any participant: refused next to the field, nothing written.
    page.fill("#held_on", "10/01/2023")
    page.click("main form button[type=submit]")
    assert page.inner_text("#name_1-error") == "Indiquez au moins un participant."
    assert page.input_value("#held_on") == "10/01/2023"
    assert console.log_head() == head

    page.fill("#name_1", "Thibaut G.")
    page.select_option("#function_1", "buyer")
    page.select_option("#organisation_1", s.region)
    page.fill("#name_2", "Responsable grands comptes")
    page.select_option("#function_2", "supplier")
    page.select_option("#organisation_2", s.titulaire)
    page.set_input_files("#minutes", files=[{"name": "compte-rendu-2023-01-10.pdf", "mimeType": "text/plain",
                                             "buffer": MINUTES}])
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Revue tenue")
    assert console.log_head() == head + 1
    notice = page.inner_text("[role=status]")
    assert "« compte-rendu-2023-01-10.pdf » (application/pdf)" in notice  # from the file's bytes, not the browser
    assert hashlib.sha256(MINUTES).hexdigest() in notice
    main = page.inner_text("main")
    assert "État : tenue." in main
    assert "Thibaut G. (acheteur), Région Hauts-de-France" in main

    # A decision without its reasons: refused, nothing written.
    head = console.log_head()
    form = page.locator("form", has_text="Décider : Une livraison par semaine")
    form.locator("select").select_option("accepted")
    form.locator("button").click()
    error = page.locator("[id^='reasons-'][id$='-error']")
    assert error.inner_text() == "Ce champ est obligatoire."
    assert console.log_head() == head

    form = page.locator("form", has_text="Décider : Une livraison par semaine")
    form.locator("select").select_option("accepted")
    form.locator("textarea").fill("Capacité de stockage vérifiée ; économies partagées à 50/50")
    form.locator("button").click()
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    form = page.locator("form", has_text="Décider : Des œufs plein air")
    form.locator("select").select_option("rejected")
    form.locator("textarea").fill("Surcoût non soutenable à budget constant")
    form.locator("button").click()
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    assert console.log_head() == head + 4  # each decision: in the revue, and on the proposition
    decisions = page.get_by_role("table", name="Décisions").inner_text()
    assert re.search(r"Une livraison par semaine\s+acceptée\s+Capacité de stockage vérifiée", decisions)
    assert re.search(r"Des œufs plein air\s+rejetée\s+Surcoût non soutenable", decisions)
    assert "Aucune proposition en attente de décision." in page.inner_text("main")

    page.fill("#closed_on", "10/01/2023")
    page.click("text=Clore la revue >> nth=-1")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    assert console.log_head() == head + 5
    assert "État : close." in page.inner_text("main")
    assert page.locator("form[action$='/cloture']").count() == 0
    page.goto(f"{console.url}/plans/{s.plan}/propositions")
    rows = page.locator("tbody").inner_text()
    assert re.search(r"Une livraison par semaine.*acceptée", rows, re.S)


def test_a_lycee_reads_the_revues_but_may_not_schedule_one(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[0], "acheteur")
    page.goto(f"{console.url}/plans/{s.plan}/revues")
    assert page.inner_text("h1").startswith("Revues : ")
    assert page.locator("form[action$='/revues']").count() == 0
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")  # the sign-out form's
    answer = page.request.post(f"{console.url}/plans/{s.plan}/revues",
                               form={"csrf": csrf, "title": "Revue pirate", "scheduled_on": "01/02/2023"})
    assert answer.status == 422
    assert "Votre organisation n&#39;a pas le droit de faire cela." in answer.text()
    assert console.log_head() == head
    # A multipart form (the minutes' upload) without its CSRF token: refused before anything runs.
    refused = page.request.post(f"{console.url}/plans/{s.plan}/revues/inconnue/tenue",
                                multipart={"held_on": "01/02/2023", "name_1": "X"})
    assert refused.status == 403
    assert "Formulaire refusé" in refused.text()
    assert console.log_head() == head
    missing = page.goto(f"{console.url}/plans/{s.plan}/revues/inconnue")
    assert missing.status == 404

"""What follows a revue, through the console, as the coordonnateur: points raised in the held revue (refused with
their errors next to the fields, nothing written), the avenant that follows an accepted proposition (the form
prefilled from it, the avenant linked to the decision; a rejected proposition refused next to its field), and an
avenant abandoned (its reason required). In a real Chromium against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from progres.services.bootstrap import bootstrap

from .conftest import sign_in
from .test_accessibility import violations
from .test_reviews import submit_proposal

pytestmark = pytest.mark.postgres


def test_points_are_raised_in_a_held_revue_and_an_avenant_follows_its_accepted_proposition(console, page):
    s = console.scenario
    sign_in(page, console, s.titulaire, "titulaire")
    submit_proposal(page, console, "Une livraison par semaine")
    submit_proposal(page, console, "Des œufs plein air")
    page.context.clear_cookies()

    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/revues")
    page.fill("#title", "Bilan semestriel S2 2022")
    page.fill("#scheduled_on", "10/01/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/revues/[^/?]+\?fait=\d+"))
    review_url = page.url.split("?")[0]
    assert page.locator("#point-text").count() == 0  # points are raised in a held revue only

    # A point posted to a revue not yet held: the domain's refusal, in French, nothing written.
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")
    early = page.request.post(f"{review_url}/point", form={"csrf": csrf, "kind": "need", "text": "Un besoin",
                                                           "name": "Chef", "function": "cook"})
    assert early.status == 422
    assert "elle doit être tenue (et non close) pour y inscrire un point" in early.text()
    assert console.log_head() == head

    page.fill("#held_on", "10/01/2023")
    page.fill("#name_1", "Thibaut G.")
    page.select_option("#function_1", "buyer")
    page.click("text=Tenir la revue >> nth=-1")
    page.wait_for_selector("text=Revue tenue")
    head = console.log_head()

    # A point without its text nor who raised it: each error next to its field, the choices kept, nothing written.
    page.select_option("#point-kind", "constraint")
    page.select_option("#point-function", "cook")
    page.click("text=Consigner le point")
    assert page.inner_text("#point-text-error") == "Ce champ est obligatoire."
    assert page.inner_text("#point-name-error") == "Ce champ est obligatoire."
    assert page.get_attribute("#point-text", "aria-invalid") == "true"
    assert page.input_value("#point-kind") == "constraint"
    assert page.input_value("#point-function") == "cook"
    assert console.log_head() == head
    assert violations(page) == []

    page.fill("#point-text", "La cuisine ne peut stocker qu'une livraison par semaine.")
    page.fill("#point-name", "Chef de cuisine du lycée Béhal")
    page.select_option("#point-organisation", s.lycees[0])
    page.click("text=Consigner le point")
    page.wait_for_url(re.compile(r".*\?fait=\d+#points"))
    assert console.log_head() == head + 1
    points = page.locator("h2#points + ul").inner_text()
    assert ("contrainte : La cuisine ne peut stocker qu'une livraison par semaine. — soulevé par Chef de cuisine "
            "du lycée Béhal (chef de cuisine), Lycée Auguste Béhal") in points

    for title, outcome, reasons in (("Une livraison par semaine", "accepted", "Capacité de stockage vérifiée"),
                                    ("Des œufs plein air", "rejected", "Surcoût non soutenable")):
        form = page.locator("form", has_text=f"Décider : {title}")
        form.locator("select").select_option(outcome)
        form.locator("textarea").fill(reasons)
        form.locator("button").click()
        page.wait_for_url(re.compile(r".*\?fait=\d+"))
    decisions = page.get_by_role("table", name="Décisions")
    assert decisions.get_by_role("link").count() == 1  # the accepted proposition only
    assert violations(page) == []

    # The avenant that follows the accepted proposition: the form prefilled from it.
    decisions.get_by_role("link", name="Proposer l'avenant qui découle de la proposition « Une livraison par "
                                       "semaine »").click()
    page.wait_for_url(re.compile(r".*/avenants\?proposition=[^#]+#proposer"))
    chosen = page.locator("#proposal_id option:checked").inner_text()
    assert chosen.startswith("Une livraison par semaine (soumise le 20 mai 2022)")
    assert page.locator("#proposal_id option").all_inner_texts()[1:] == [chosen]  # accepted propositions only
    assert page.input_value("#reason") == ("Suite à la proposition « Une livraison par semaine », acceptée en revue. "
                                           "Impact attendu : Moitié moins de passages.")
    assert violations(page) == []

    # A rejected proposition cannot be followed by an avenant: refused next to its field, nothing written.
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")
    answer = page.request.post(page.url.split("?")[0], form={
        "csrf": csrf, "proposal_id": proposal_id(console, "plein air"), "basis": "R2194-1",
        "reason": "Œufs plein air", "amount_delta": "5 000", "proposed_on": "15/01/2023"})
    assert answer.status == 422
    assert re.search(r'id="proposal_id-error">Seule une proposition acceptée en revue peut donner lieu à un '
                     r"avenant\.<", answer.text())
    assert console.log_head() == head

    page.select_option("#basis", "R2194-1")
    page.fill("#amount_delta", "-12 000")
    page.fill("#proposed_on", "15/01/2023")
    page.click("text=Proposer l'avenant")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    assert console.log_head() == head + 1
    row = page.get_by_role("table", name="Avenants").locator("tbody tr").first.inner_text()
    assert "suite à la proposition « Une livraison par semaine »" in row
    assert "-12\u202f000,00\u00a0€" in row
    assert "proposé" in row

    # Abandoned: its reason required (next to the field, nothing written), then the avenant is abandoned.
    page.click("button:has-text(\"Abandonner l'avenant\")")
    assert page.inner_text("#abandon-1-reason-error") == "Ce champ est obligatoire."
    assert page.get_attribute("#abandon-1-reason", "aria-invalid") == "true"
    assert console.log_head() == head + 1
    assert violations(page) == []
    page.fill("#abandon-1-reason", "Le titulaire retire son offre de prix")
    page.click("button:has-text(\"Abandonner l'avenant\")")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    assert console.log_head() == head + 2
    assert "abandonné" in page.get_by_role("table", name="Avenants").locator("tbody tr").first.inner_text()
    assert page.locator("form[action$='/1/abandon']").count() == 0  # nothing left to abandon

    # Abandoned already (its form is gone): the domain's refusal, in French, above the forms, nothing written.
    csrf = page.input_value("input[name=csrf]")
    again = page.request.post(f"{console.url}/marches/{s.marche}/avenants/1/abandon",
                              form={"csrf": csrf, "reason": "Encore"})
    assert again.status == 422
    assert re.search(r'role="alert">\s*<p>Rien n&#39;a été enregistré : corrigez 1\u00a0erreur\.</p>\s*'
                     r'<p class="field-error">Étape impossible : ', again.text())
    assert console.log_head() == head + 2


def proposal_id(console, words: str) -> str:
    """The id of the proposition whose submission mentions `words`, read from the log."""
    app = bootstrap(console.settings)
    try:
        for notification in app.iter_notifications():
            if notification.topic.endswith("Proposal.Submitted") and words in notification.state.decode():
                return str(notification.originator_id)
    finally:
        app.close()
    raise AssertionError(f"no proposition mentioning {words}")


def test_a_lycee_may_not_raise_a_point_nor_abandon_an_avenant(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[1], "acheteur")
    page.goto(f"{console.url}/marches/{s.marche}/avenants")
    assert page.locator("form[action$='/abandon']").count() == 0
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")
    answer = page.request.post(f"{console.url}/marches/{s.marche}/avenants/1/abandon",
                               form={"csrf": csrf, "reason": "Pour voir"})
    assert answer.status == 422
    assert "Votre organisation n&#39;a pas le droit de faire cela." in answer.text()
    refused = page.request.post(f"{console.url}/marches/{s.marche}/avenants/1/abandon", form={"reason": "Sans jeton"})
    assert refused.status == 403
    assert "Formulaire refusé" in refused.text()
    assert console.log_head() == head

"""Avenants through the console, as the coordonnateur: the caps computed, an avenant refused for its cap next to
the amount, one proposed with a new axis, refused a signature before the CAO's opinion, the opinion recorded (its
minutes hashed from the uploaded file), signed, notified. In a real Chromium against a real `progres serve`."""

from __future__ import annotations

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres
PV = b"%PDF-1.4\n% proces-verbal de la CAO du 15 juillet 2023\n"


def test_the_coordonnateur_proposes_an_avenant_has_the_cao_opinion_signs_and_notifies_it(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.click("text=Avenants")
    assert page.inner_text("h1").startswith("Avenants du marché ")
    amounts = page.get_by_role("table", name="Montants du marché").inner_text()
    assert re.search(r"Montant initial \(HT\)\s+480\u202f000,00\u00a0€", amounts)
    assert re.search(r"Avis de la CAO requis au-delà de\s+5\u00a0%\s+\(24\u202f000,00\u00a0€\)", amounts)
    caps = page.get_by_role("table", name="Plafond de chaque fondement juridique").inner_text()
    assert re.search(r"R2194-2 — prestations supplémentaires\s+50\u00a0%\s+240\u202f000,00\u00a0€", caps)
    assert re.search(r"R2194-8 — modification de faible montant\s+10\u00a0%\s+48\u202f000,00\u00a0€", caps)
    assert "Aucun avenant sur ce marché." in page.inner_text("main")

    # Above the cap of its legal basis: the domain's refusal, next to the amount, nothing written.
    head = console.log_head()
    page.select_option("#basis", "R2194-8")
    page.fill("#reason", "Ajout de l'axe satisfaction des convives")
    page.fill("#amount_delta", "60 000")
    page.fill("#proposed_on", "10/07/2023")
    page.click("text=Proposer l'avenant")
    error = page.inner_text("#amount_delta-error")
    assert error == ("Plafond du fondement juridique dépassé : R2194-8 permet au plus 10\u00a0% du montant initial "
                     "(cumulés sur les modifications de faible montant) ; cet avenant atteindrait 12,50\u00a0%.")
    assert page.get_attribute("#amount_delta", "aria-invalid") == "true"
    assert page.input_value("#amount_delta") == "60 000"
    assert console.log_head() == head

    page.select_option("#basis", "R2194-1")
    page.fill("#amount_delta", "28 000,00")
    page.fill("#axis_key", "satisfaction")
    page.fill("#axis_title", "Améliorer la satisfaction des convives")
    page.click("text=Proposer l'avenant")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    assert console.log_head() == head + 1
    row = page.get_by_role("table", name="Avenants").locator("tbody tr").first.inner_text()
    assert "28\u202f000,00\u00a0€" in row
    assert "5,83\u00a0%" in row
    assert "requis" in row
    assert "proposé" in row

    # Signing before the CAO's opinion: refused next to the date, nothing written.
    page.fill("#signature-1-on", "20/07/2023")
    page.click("text=Signer l'avenant")
    assert page.inner_text("#signature-1-on-error").startswith("Enregistrez d'abord l'avis de la CAO")
    assert console.log_head() == head + 1

    page.fill("#avis-cao-1-on", "15/07/2023")
    page.check("#avis-cao-1-oui")
    page.set_input_files("#avis-cao-1-document", files=[{"name": "pv-cao-2023-07-15.pdf",
                                                         "mimeType": "application/octet-stream", "buffer": PV}])
    page.click("text=Enregistrer l'avis de la CAO")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    assert console.log_head() == head + 2
    assert "favorable le 15 juillet 2023" in page.get_by_role("table", name="Avenants").inner_text()

    page.fill("#signature-1-on", "14/07/2023")
    page.click("text=Signer l'avenant")
    assert page.inner_text("#signature-1-on-error").startswith("Signature impossible à cette date")
    assert console.log_head() == head + 2

    page.fill("#signature-1-on", "20/07/2023")
    page.click("text=Signer l'avenant")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    page.fill("#notification-1-on", "25/07/2023")
    page.click("text=Notifier l'avenant")
    page.wait_for_url(re.compile(r".*/avenants\?fait=\d+"))
    assert console.log_head() > head + 3
    amounts = page.get_by_role("table", name="Montants du marché").inner_text()
    assert re.search(r"Montant en vigueur \(avenants notifiés\)\s+508\u202f000,00\u00a0€", amounts)
    assert "notifié le 25 juillet 2023" in page.get_by_role("table", name="Avenants").inner_text()
    page.goto(f"{console.url}/plans/{s.plan}")
    assert "Améliorer la satisfaction des convives" in page.inner_text("main")


def test_a_lycee_reads_the_avenants_but_may_not_propose_one(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[1], "acheteur")
    page.click("text=Avenants")
    assert page.locator("form[action$='/avenants']").count() == 0
    head = console.log_head()
    csrf = page.input_value("input[name=csrf]")
    answer = page.request.post(page.url, form={"csrf": csrf, "basis": "R2194-1", "reason": "Hausse",
                                               "amount_delta": "1000", "proposed_on": "01/02/2023"})
    assert answer.status == 422
    assert "Votre organisation n&#39;a pas le droit de faire cela." in answer.text()
    assert console.log_head() == head
    assert page.goto(f"{console.url}/marches/inconnu/avenants").status == 404

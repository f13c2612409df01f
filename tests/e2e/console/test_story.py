"""The seed's story played through the console's pages by the right actors, in order: the coordonnateur finds the
plan set up (the seed: no page sets up a plan yet), two lycées record (the form, a file), the titulaire proposes,
the coordonnateur holds a revue that decides, an avenant is signed after the CAO's opinion and notified, the bilan
is read and downloaded, an auditor replays the plan. A real Chromium against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from .conftest import sign_in
from .test_reviews import submit_proposal

pytestmark = pytest.mark.postgres


def as_(page, console, organisation: str, role: str) -> None:
    page.context.clear_cookies()
    sign_in(page, console, organisation, role)


def test_the_seeds_story_through_the_pages(console, page):
    s = console.scenario
    start = console.log_head()
    # The coordonnateur finds the plan set up.
    sign_in(page, console, s.region, "coordonnateur")
    page.click("text=Plan de progrès")
    assert "Augmenter la part de produits EGalim-compatibles" in page.inner_text("main")

    # Two lycées record: one with the form, one with a file.
    as_(page, console, s.lycees[0], "acheteur")
    page.goto(f"{console.url}/plans/{s.plan}/mesures/nouvelle")
    page.select_option("#indicator", "egalim_share")
    page.fill("#period_start", "01/01/2023")
    page.fill("#period_end", "30/06/2023")
    page.fill("#value", "41,5")
    page.fill("#source", "factures du lycée")
    page.fill("#declared_on", "05/07/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*\?enregistre=1&position=\d+"))
    as_(page, console, s.lycees[1], "acheteur")
    page.click("text=Importer un fichier de mesures")
    page.set_input_files("#file", files=[{"name": "mesures.csv", "mimeType": "text/csv", "buffer": (
        "indicateur;début;fin;valeur\negalim_share;01/01/2023;30/06/2023;40\n"
        "waste_weight;01/01/2023;30/06/2023;770\n").encode()}])
    page.fill("#source", "tableur de la cuisine")
    page.click("text=Vérifier le fichier")
    page.click("text=Confirmer l'import")
    page.wait_for_url(re.compile(r".*\?enregistre=1&position=\d+"))
    assert "40\u00a0%" in page.get_by_role("table", name=re.compile("Part des labels EGalim")).inner_text()

    # The titulaire proposes.
    as_(page, console, s.titulaire, "titulaire")
    submit_proposal(page, console, "Passer de deux à une livraison par semaine")

    # A revue decides.
    as_(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/revues")
    page.fill("#title", "Bilan semestriel S1 2023")
    page.fill("#scheduled_on", "06/07/2023")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/revues/[^/?]+\?fait=\d+"))
    page.fill("#held_on", "06/07/2023")
    page.fill("#name_1", "Thibaut G.")
    page.select_option("#organisation_1", s.region)
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Revue tenue")
    form = page.locator("form", has_text="Décider : Passer de deux à une livraison par semaine")
    form.locator("select").select_option("accepted")
    form.locator("textarea").fill("Capacité de stockage vérifiée")
    form.locator("button").click()
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    page.fill("#closed_on", "06/07/2023")
    page.click("text=Clore la revue >> nth=-1")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    assert "État : close." in page.inner_text("main")

    # An avenant is signed after the CAO's opinion, then notified.
    page.goto(f"{console.url}/marches/{s.marche}/avenants")
    page.select_option("#basis", "R2194-1")
    page.fill("#reason", "Ajout de l'axe satisfaction des convives")
    page.fill("#amount_delta", "28 000")
    page.fill("#axis_key", "satisfaction")
    page.fill("#axis_title", "Améliorer la satisfaction des convives")
    page.fill("#proposed_on", "10/07/2023")
    page.click("text=Proposer l'avenant")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    page.fill("#avis-cao-1-on", "15/07/2023")
    page.check("#avis-cao-1-oui")
    page.set_input_files("#avis-cao-1-document", files=[{"name": "pv-cao.pdf", "mimeType": "application/pdf",
                                                         "buffer": b"%PDF-1.4\n% PV\n"}])
    page.click("text=Enregistrer l'avis de la CAO")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    page.fill("#signature-1-on", "20/07/2023")
    page.click("text=Signer l'avenant")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    page.fill("#notification-1-on", "25/07/2023")
    page.click("text=Notifier l'avenant")
    page.wait_for_url(re.compile(r".*\?fait=\d+"))
    assert "notifié le 25 juillet 2023" in page.get_by_role("table", name="Avenants").inner_text()

    # The bilan is read and downloaded.
    page.goto(f"{console.url}/plans/{s.plan}/bilan")
    summary = page.get_by_role("table", name="Chiffres clés").inner_text()
    assert re.search(r"Montant en vigueur \(HT\)\s+508\u202f000,00\u00a0€", summary)
    assert re.search(r"Revues tenues\s+1", summary)
    with page.expect_download() as info:
        page.click("text=Chiffres du bilan (CSV, tableur)")
    assert "508\u202f000,00" in open(info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115

    # An auditor replays the plan, to its last event.
    as_(page, console, s.auditor, "auditeur")
    page.goto(f"{console.url}/plans/{s.plan}/historique")
    while page.locator("text=Événements suivants").count():
        page.click("text=Événements suivants")
    last = page.locator("tbody tr").last.inner_text()
    assert "avenant notifié" in last
    assert "montant en vigueur 508\u202f000,00\u00a0€" in last
    assert console.log_head() > start

"""The seed's story played through the console's pages by the right actors, in order: the coordonnateur sets the plan
up through the pages (the seed's marché notified again for the seed's groupement, its plan drawn up, axes,
objectives, indicators with their trajectory, an action), two lycées record (the form, a file), the titulaire proposes,
the coordonnateur holds a revue that decides, an avenant is signed after the CAO's opinion and notified, the bilan
is read and downloaded, an auditor replays the plan. A real Chromium against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from .conftest import sign_in
from .test_reviews import submit_proposal
from .test_setup import notify_and_draw_up, set_up

pytestmark = pytest.mark.postgres


def as_(page, console, organisation: str, role: str) -> None:
    page.context.clear_cookies()
    sign_in(page, console, organisation, role)


def set_up_the_plan(page, console) -> tuple[str, str]:
    """The seed's marché and plan, as the coordonnateur sets them up through the pages (the seed's own marché has
    its plan already: this one is its twin, notified for the same groupement); the marché's id and the plan's."""
    s = console.scenario
    marche, plan = notify_and_draw_up(page, console, {
        "marche_code": "2022-BOF-02", "marche_object": "Fourniture de beurre, œufs et fromages pour les lycées du "
                                                       "bassin de Lens",
        "marche_cpv": "15500000-3", "marche_nature": "fournitures", "marche_titulaire": s.titulaire,
        "marche_amount": "480 000,00", "marche_months": "24", "marche_notified_on": "01/01/2022",
        "marche_launched_on": "15/10/2021"}, "Plan de progrès BOF des lycées de Lens")
    set_up(page, "axis", "Ajouter l'axe", {"axis_title": "Augmenter la part de produits EGalim-compatibles",
                                           "axis_key": "egalim",
                                           "axis_description": "Critères EGalim, circuits courts, produits locaux"})
    set_up(page, "objective", "Ajouter l'objectif", {
        "objective_axis": "egalim", "objective_title": "Respecter les critères EGalim",
        "objective_key": "egalim-criteres", "objective_kind": "resultats"})
    set_up(page, "indicator", "Définir l'indicateur", {
        "indicator_objective": "egalim-criteres", "indicator_name": "Part des labels EGalim",
        "indicator_key": "egalim_share", "indicator_kind": "quantitative", "indicator_unit": "%",
        "indicator_direction": "increase", "indicator_aggregation": "mean", "indicator_periodicity": "semestrial",
        "indicator_scope": "member", "indicator_baseline": "22", "indicator_step1_from": "01/01/2022",
        "indicator_step1_target": "35", "indicator_step2_from": "01/01/2023", "indicator_step2_target": "50"})
    set_up(page, "axis", "Ajouter l'axe", {"axis_title": "Réduire les externalités négatives environnementales",
                                           "axis_key": "environnement"})
    set_up(page, "objective", "Ajouter l'objectif", {
        "objective_axis": "environnement", "objective_title": "Agir sur le gaspillage alimentaire",
        "objective_key": "gaspillage", "objective_kind": "moyens"})
    set_up(page, "indicator", "Définir l'indicateur", {
        "indicator_objective": "gaspillage", "indicator_name": "Poids des déchets par lycée",
        "indicator_key": "waste_weight", "indicator_kind": "quantitative", "indicator_unit": "kg",
        "indicator_direction": "decrease", "indicator_aggregation": "mean", "indicator_periodicity": "semestrial",
        "indicator_scope": "member", "indicator_baseline": "900", "indicator_target": "700"})
    set_up(page, "action", "Prévoir l'action", {
        "action_axis": "environnement",
        "action_title": "Discussion avec les cuisiniers pour réorganiser les livraisons", "action_owner": "joint",
        "action_due_on": "31/12/2022"})
    return marche, plan


def test_the_seeds_story_through_the_pages(console, page):
    s = console.scenario
    start = console.log_head()
    # The coordonnateur sets the plan up through the pages.
    sign_in(page, console, s.region, "coordonnateur")
    marche, plan = set_up_the_plan(page, console)
    page.click("text=Voir l'arbre complet du plan")
    assert "Augmenter la part de produits EGalim-compatibles" in page.inner_text("main")
    assert "Part des labels EGalim" in page.inner_text("main")

    # Two lycées record: one with the form, one with a file.
    as_(page, console, s.lycees[0], "acheteur")
    page.goto(f"{console.url}/plans/{plan}/mesures/nouvelle")
    page.select_option("#indicator", "egalim_share")
    page.fill("#period_start", "01/01/2023")
    page.fill("#period_end", "30/06/2023")
    page.fill("#value", "41,5")
    page.fill("#source", "factures du lycée")
    page.fill("#declared_on", "05/07/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*\?enregistre=1&position=\d+"))
    as_(page, console, s.lycees[1], "acheteur")
    page.goto(f"{console.url}/plans/{plan}/mesures/import")
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
    submit_proposal(page, console, "Passer de deux à une livraison par semaine", plan)

    # A revue decides.
    as_(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{plan}/revues")
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
    page.goto(f"{console.url}/marches/{marche}/avenants")
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
    page.goto(f"{console.url}/plans/{plan}/bilan")
    summary = page.get_by_role("table", name="Chiffres clés").inner_text()
    assert re.search(r"Montant en vigueur \(HT\)\s+508\u202f000,00\u00a0€", summary)
    assert re.search(r"Revues tenues\s+1", summary)
    with page.expect_download() as info:
        page.click("text=Chiffres du bilan (CSV, tableur)")
    assert "508\u202f000,00" in open(info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115

    # An auditor replays the plan, to its last event.
    as_(page, console, s.auditor, "auditeur")
    page.goto(f"{console.url}/plans/{plan}/historique")
    while page.locator("text=Événements suivants").count():
        page.click("text=Événements suivants")
    last = page.locator("tbody tr").last.inner_text()
    assert "avenant notifié" in last
    assert "montant en vigueur 508\u202f000,00\u00a0€" in last
    assert console.log_head() > start

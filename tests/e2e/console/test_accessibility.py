"""axe-core (the copy axe-playwright-python ships) on every page of the console, in a real Chromium: no violation
of impact serious or critical, on each page as each kind of party sees it, the pages of errors included."""

from __future__ import annotations

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres
SERIOUS = {"serious", "critical"}


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def test_every_console_page_has_no_serious_or_critical_violation(console, page):
    s = console.scenario
    checked = {}
    page.goto(f"{console.url}/connexion")
    checked["sign-in"] = violations(page)
    page.goto(f"{console.url}/nulle-part")
    checked["not found"] = violations(page)
    sign_in(page, console, s.lycees[0], "acheteur")
    checked["home (lycée)"] = violations(page)
    for name, path in [("plan tree", f"/plans/{s.plan}"), ("dashboard", f"/plans/{s.plan}/membres/{s.lycees[0]}"),
                       ("measure form", f"/plans/{s.plan}/mesures/nouvelle"),
                       ("another lycée's dashboard (403)", f"/plans/{s.plan}/membres/{s.lycees[1]}"),
                       ("propositions", f"/plans/{s.plan}/propositions")]:
        page.goto(f"{console.url}{path}")
        checked[name] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/mesures/nouvelle")
    page.fill("#period_start", "32/13/2023")
    page.fill("#value", "abc")
    page.click("main button[type=submit]")
    page.wait_for_selector("#value-error")
    checked["measure form with errors"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/membres/{s.lycees[0]}")
    page.click("a[aria-label^='Corriger la mesure de 2e sem. 2022 : Part des labels EGalim']")
    page.fill("#value", "x")
    page.click("main button[type=submit]")
    page.wait_for_selector("#value-error")
    checked["correction with errors"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/mesures/import")
    checked["import"] = violations(page)
    header = b"indicateur;debut;fin;valeur\n"
    page.set_input_files("#file", files=[{"name": "m.csv", "mimeType": "text/csv",
                                          "buffer": header + b"egalim_share;01/01/2023;30/06/2023;x\n"}])
    page.fill("#source", "tableur")
    page.click("text=Vérifier le fichier")
    page.wait_for_selector("#import-errors")
    checked["import with line errors"] = violations(page)
    page.set_input_files("#file", files=[{"name": "m.csv", "mimeType": "text/csv",
                                          "buffer": header + b"egalim_share;01/01/2023;30/06/2023;4\n"}])
    page.click("text=Vérifier le fichier")
    page.wait_for_selector("text=Confirmer l'import")
    checked["import preview"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/propositions")
    page.fill("#gain", "beaucoup")
    page.click("main button[type=submit]")
    page.wait_for_selector("#gain-error")
    checked["propositions with errors"] = violations(page)
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'faux')")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Formulaire refusé")
    checked["form refused (CSRF)"] = violations(page)
    page.click("text=Se déconnecter")
    page.wait_for_url("**/connexion?sortie=1")
    checked["signed out"] = violations(page)
    sign_in(page, console, s.region, "coordonnateur")
    checked["home (coordonnateur)"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/membres/{s.region}")
    checked["dashboard (coordonnateur)"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/historique")
    checked["timeline"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/revues")
    checked["revues"] = violations(page)
    page.fill("#title", "Bilan semestriel")
    page.fill("#scheduled_on", "demain")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#scheduled_on-error")
    checked["revues with errors"] = violations(page)
    page.fill("#scheduled_on", "10/01/2023")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#held_on")
    checked["revue (to hold)"] = violations(page)
    page.fill("#name_1", "Thibaut G.")
    page.fill("#held_on", "10/01/2023")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#closed_on")
    checked["revue (held)"] = violations(page)
    page.goto(f"{console.url}/marches/{s.marche}/avenants")
    checked["avenants"] = violations(page)
    page.fill("#reason", "Hausse")
    page.fill("#amount_delta", "28 000")
    page.fill("#proposed_on", "10/07/2023")
    page.click("text=Proposer l'avenant")
    page.wait_for_selector("#avis-cao-1-on")
    checked["avenants (steps)"] = violations(page)
    page.fill("#signature-1-on", "20/07/2023")
    page.click("text=Signer l'avenant")
    page.wait_for_selector("#signature-1-on-error")
    checked["avenants with errors"] = violations(page)
    page.goto(f"{console.url}/plans/{s.plan}/bilan")
    checked["bilan"] = violations(page)
    assert len(checked) == 27
    assert {name: found for name, found in checked.items() if found} == {}

"""The espace des membres in a real headless Chromium against a real `progres serve` on PostgreSQL: sign-in in
the local identity mode, the plan tree, a measure written the French way and seen on the dashboard, another
lycée's dashboard refused, a form without its CSRF token refused with nothing written, and the keyboard."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres


def test_a_coordonnateur_signs_in_and_sees_the_plan_tree(console, page):
    sign_in(page, console, console.scenario.region, "coordonnateur")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Région Hauts-de-France, en tant que coordonnateur" in page.inner_text("header")
    page.click("text=Arbre du plan : Plan de progrès BOF des lycées de Lens")
    assert page.inner_text("h1") == "Plan de progrès : Plan de progrès BOF des lycées de Lens"
    headings = page.locator("h2").all_inner_texts()
    assert headings == ["Axe : Augmenter la part de produits EGalim-compatibles",
                        "Axe : Réduire les externalités négatives environnementales",
                        "Moyens, calendrier, partage des gains et gouvernance"]
    tree = page.inner_text("main")
    assert "Objectif : Respecter les critères EGalim (obligation de résultats)" in tree
    # The indicator's target and trajectory, the French way: `50 %` from `1er janvier 2023`.
    row = page.locator("tr", has_text="Part des labels EGalim").inner_text()
    assert "22\u00a0%" in row
    assert "35\u00a0% à partir du 1er janvier 2022" in row
    assert "50\u00a0%" in row
    actions = page.get_by_role("row", name=re.compile("^Formation des chefs de cuisine")).inner_text()
    assert "titulaire" in actions
    assert "30 juin 2023" in actions


def test_a_lycee_records_a_french_decimal_and_sees_it_on_its_dashboard(console, page):
    behal = console.scenario.lycees[0]
    sign_in(page, console, behal, "acheteur")
    head = console.log_head()
    page.click("text=Saisir une mesure")
    page.select_option("#indicator", "egalim_share")
    page.fill("#period_start", "01/01/2023")
    page.fill("#period_end", "30/06/2023")
    page.fill("#value", "31,5")
    page.fill("#source", "factures du lycée")
    page.fill("#declared_on", "15/07/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(rf".*/membres/{behal}\?enregistre=1.*"))
    assert console.log_head() == head + 1
    assert page.inner_text("[role=status]").startswith("Mesure enregistrée")
    row = page.locator("section", has_text="Part des labels EGalim").locator("tr", has_text="1er sem. 2023")
    assert "31,5\u00a0%" in row.inner_text()
    chart = page.locator("section", has_text="Part des labels EGalim").locator("svg[role=img]")
    assert chart.count() == 1
    assert "Part des labels EGalim" in chart.locator("title").text_content()


def test_a_measure_in_error_is_shown_next_to_its_field_and_nothing_is_written(console, page):
    sign_in(page, console, console.scenario.lycees[1], "acheteur")
    head = console.log_head()
    page.goto(f"{console.url}/plans/{console.scenario.plan}/mesures/nouvelle")
    page.fill("#period_start", "31/02/2023")
    page.fill("#period_end", "30/06/2023")
    page.fill("#value", "trente")
    page.fill("#source", "factures")
    page.click("main button[type=submit]")
    assert page.inner_text("#period_start-error") == ("« 31/02/2023 » n'est pas une date au format jj/mm/aaaa "
                                                      "(par exemple 15/03/2025).")
    assert page.inner_text("#value-error") == "« trente » n'est pas un nombre (écrivez par exemple 31,5)."
    assert page.get_attribute("#value", "aria-invalid") == "true"
    assert "value-error" in page.get_attribute("#value", "aria-describedby")
    assert page.input_value("#value") == "trente"  # what was typed stays, to be corrected
    assert "corrigez 2\u00a0erreurs" in page.inner_text("[role=alert]")
    assert console.log_head() == head


def test_a_lycee_cannot_reach_another_lycees_dashboard(console, page):
    behal, condorcet = console.scenario.lycees[0], console.scenario.lycees[1]
    sign_in(page, console, behal, "acheteur")
    answer = page.goto(f"{console.url}/plans/{console.scenario.plan}/membres/{condorcet}")
    assert answer.status == 403
    assert page.inner_text("h1") == "Accès refusé"
    assert page.inner_text("[role=alert]") == "Votre organisation n'a pas accès à cette page."
    assert "Lycée Condorcet" not in page.content()


def test_a_form_posted_without_its_csrf_token_is_refused_and_writes_nothing(console, page):
    sign_in(page, console, console.scenario.lycees[0], "acheteur")
    page.goto(f"{console.url}/plans/{console.scenario.plan}/mesures/nouvelle")
    head = console.log_head()
    form = {"indicator": "egalim_share", "period_start": "01/07/2023", "period_end": "31/12/2023", "value": "40",
            "source": "factures"}
    url = f"{console.url}/plans/{console.scenario.plan}/mesures/nouvelle"
    without = page.request.post(url, form=form)  # the session's cookie, no token
    assert without.status == 403
    assert "jeton anti-falsification absent ou erroné" in without.text()
    wrong = page.request.post(url, form={**form, "csrf": "not-the-sessions-token"})
    assert wrong.status == 403
    assert console.log_head() == head
    # The same form with the page's own token is written: the refusal was the token's, nothing else.
    token = page.get_attribute("input[name=csrf]", "value")
    accepted = page.request.post(url, form={**form, "csrf": token}, max_redirects=0)
    assert accepted.status == 303
    assert console.log_head() == head + 1


def test_sign_out_needs_the_token_and_ends_the_session(console, page):
    sign_in(page, console, console.scenario.titulaire, "titulaire")
    assert page.request.post(f"{console.url}/deconnexion", form={}).status == 403
    page.click("text=Se déconnecter")
    page.wait_for_url(re.compile(r".*/connexion\?sortie=1"))
    assert page.inner_text("[role=status]") == "Vous êtes déconnecté."
    page.goto(f"{console.url}/plans/{console.scenario.plan}")
    assert page.url.endswith("/connexion")


def test_the_session_cookie_is_signed_http_only_and_same_site(console, page):
    sign_in(page, console, console.scenario.auditor, "auditeur")
    cookie = next(c for c in page.context.cookies() if c["name"] == "progres_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    tampered = cookie["value"][:-4] + ("AAAA" if not cookie["value"].endswith("AAAA") else "BBBB")
    answer = httpx.get(f"{console.url}/plans/{console.scenario.plan}", cookies={"progres_console": tampered},
                       follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/connexion"


def test_the_api_and_probes_still_answer_beside_the_console(console):
    assert httpx.get(f"{console.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{console.url}/ready").status_code == 200
    assert httpx.get(f"{console.url}/metrics").status_code == 200
    answer = httpx.post(f"{console.url}/graphql", json={"query": "{ groupements { id } }"})
    assert answer.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
    missing = httpx.get(f"{console.url}/nulle-part")
    assert missing.status_code == 404
    assert "Page introuvable" in missing.text


def test_the_measure_form_works_with_the_keyboard_alone(console, page):
    condorcet = console.scenario.lycees[1]
    sign_in(page, console, condorcet, "acheteur")
    page.goto(f"{console.url}/plans/{console.scenario.plan}/mesures/nouvelle")
    head = console.log_head()
    page.keyboard.press("Tab")  # the first stop is the skip link, visible once focused
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
        if order[-1] == "indicator":
            page.keyboard.press("End")  # the last indicator of the list... then back to the first one
            page.keyboard.press("Home")
        elif order[-1]:
            page.keyboard.type({"period_start": "01/01/2023", "period_end": "30/06/2023", "value": "27,25",
                                "source": "factures", "declared_on": ""}[order[-1]])
    assert order == ["indicator", "period_start", "period_end", "value", "source", "declared_on"]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/membres/{condorcet}\?enregistre=1.*"))
    assert console.log_head() == head + 1
    row = page.locator("section", has_text="Part des labels EGalim").locator("tr", has_text="1er sem. 2023")
    assert "27,25\u00a0%" in row.inner_text()


def test_the_apis_refusal_of_a_measure_is_said_in_french_next_to_its_field(console, page):
    sign_in(page, console, console.scenario.lycees[2], "acheteur")
    page.goto(f"{console.url}/plans/{console.scenario.plan}/mesures/nouvelle")
    head = console.log_head()
    page.fill("#period_start", "01/01/2022")  # already recorded by the seed: the API refuses it
    page.fill("#period_end", "30/06/2022")
    page.fill("#value", "40")
    page.fill("#source", "factures")
    page.click("main button[type=submit]")
    assert page.inner_text("#period_start-error") == ("Une mesure de cet indicateur est déjà enregistrée pour cette "
                                                      "période : corrigez-la plutôt que d'en saisir une nouvelle.")
    assert console.log_head() == head


def test_a_lycee_corrects_its_own_measure_and_cannot_open_anothers(console, page):
    s = console.scenario
    lycee = s.lycees[2]
    sign_in(page, console, lycee, "acheteur")
    page.goto(f"{console.url}/plans/{s.plan}/membres/{lycee}")
    section = page.locator("section", has_text="Part des labels EGalim")
    page.click("a[aria-label='Corriger la mesure de 1er sem. 2022 : Part des labels EGalim']")
    assert page.inner_text("h1") == "Corriger une mesure"
    assert "Part des labels EGalim, 1er sem. 2022 : valeur enregistrée" in page.inner_text("main")
    head = console.log_head()
    page.fill("#value", "27,75")
    page.fill("#reason", "Facture d'avoir oubliée")
    page.fill("#corrected_on", "10/02/2023")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(rf".*/membres/{lycee}\?corrige=1.*"))
    assert console.log_head() == head + 1
    assert page.inner_text("[role=status]").startswith("Correction enregistrée")
    section = page.locator("section", has_text="Part des labels EGalim")
    assert "27,75\u00a0%" in section.locator("tr", has_text="1er sem. 2022").inner_text()
    # Another lycée's measure: its correction page is not found for this lycée.
    other = page.goto(f"{console.url}/plans/{s.plan}/membres/{s.lycees[0]}")
    assert other.status == 403
    measure = s.measures[0]  # the seed's first measure: the Région's, not this lycée's
    missing = page.goto(f"{console.url}/plans/{s.plan}/mesures/{measure}/correction")
    assert missing.status == 404

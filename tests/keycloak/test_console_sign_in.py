"""The console's sign-in through the live Keycloak of the test suite, in a real browser: the authorization code
flow with PKCE (the realm's public client `progres-web`), Keycloak's own login form filled by Playwright, the
session then acting for the user's organisation; and what the API refuses that user stays refused."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.console.chromium import launched_chromium

pytestmark = [pytest.mark.postgres, pytest.mark.keycloak]


def sign_in_through_keycloak(browser, server, username: str):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{server.url}/connexion")
    with page.expect_request(re.compile(r".*/protocol/openid-connect/auth\?.*")) as asked:
        page.click("text=Se connecter avec l'annuaire (Keycloak)")
    query = parse_qs(urlparse(asked.value.url).query)
    assert query["client_id"] == ["progres-web"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    page.wait_for_selector("#username")
    page.fill("#username", username)
    if not page.is_visible("#password"):  # organisations enabled: identity first, then the password
        page.click("#kc-login")
        page.wait_for_selector("#password")
    page.fill("#password", "progres-demo")
    page.click("#kc-login")
    page.wait_for_url(re.compile(rf"^{re.escape(server.url)}/(connexion/organisation)?$"), timeout=60_000)
    return context, page


def test_a_coordonnateur_signs_in_through_keycloaks_login_form_and_reads_the_plan(keycloak, trusting_server):
    with launched_chromium() as browser:
        context, page = sign_in_through_keycloak(browser, trusting_server, "coord.region")
        try:
            if page.url.endswith("/connexion/organisation"):
                page.click("main button[type=submit]")
                page.wait_for_url(f"{trusting_server.url}/")
            assert "Région Hauts-de-France, en tant que coordonnateur" in page.inner_text("header")
            cookie = next(c for c in context.cookies() if c["name"] == "progres_console")
            assert cookie["httpOnly"]
            assert cookie["sameSite"] == "Lax"
            page.goto(f"{trusting_server.url}/plans/{trusting_server.scenario.plan}")
            assert page.inner_text("h1") == "Plan de progrès : Plan de progrès BOF des lycées de Lens"
            page.click("text=Se déconnecter")
            page.wait_for_url(re.compile(r".*/connexion\?sortie=1"))
        finally:
            context.close()


def test_a_lycee_signed_in_through_keycloak_cannot_reach_another_lycees_dashboard(keycloak, trusting_server):
    scenario = trusting_server.scenario
    with launched_chromium() as browser:
        context, page = sign_in_through_keycloak(browser, trusting_server, "acheteur.behal")
        try:
            assert "Lycée Auguste Béhal" in page.inner_text("header")
            own = page.goto(f"{trusting_server.url}/plans/{scenario.plan}/membres/{scenario.lycees[0]}")
            assert own.status == 200
            other = page.goto(f"{trusting_server.url}/plans/{scenario.plan}/membres/{scenario.lycees[1]}")
            assert other.status == 403
            assert page.inner_text("h1") == "Accès refusé"
        finally:
            context.close()

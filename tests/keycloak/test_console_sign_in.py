"""The console's sign-in through the live Keycloak of the test suite, in a real browser: the authorization code
flow with PKCE (the realm's public client `progres-web`), Keycloak's own login form filled by Playwright, the
session then acting for the user's organisation; and what the API refuses that user stays refused."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from progres.services.serving import served
from tests.e2e.console.chromium import launched_chromium

pytestmark = [pytest.mark.postgres, pytest.mark.keycloak]
# The realm's progres-web client accepts its redirect URI on progres serve's default port (and on any loopback
# port where Keycloak applies RFC 8252 7.3): the console under test listens there.
CONSOLE_PORT = 8000


@dataclass
class ConsoleServer:
    url: str
    scenario: Any
    keycloak_issuer: str


@pytest.fixture(scope="module")
def console_server(keycloak, trusting_server):
    """A second `progres serve` on the trusting server's store, on the port the realm's redirect URI names."""
    settings = trusting_server.settings
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_OIDC_ISSUER": keycloak.issuer}
    with served(env, port=CONSOLE_PORT) as url:
        yield ConsoleServer(url, trusting_server.scenario, keycloak.issuer)


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


def test_a_coordonnateur_signs_in_through_keycloaks_login_form_and_reads_the_plan(console_server):
    with launched_chromium() as browser:
        context, page = sign_in_through_keycloak(browser, console_server, "coord.region")
        try:
            if page.url.endswith("/connexion/organisation"):
                page.click("main button[type=submit]")
                page.wait_for_url(f"{console_server.url}/")
            assert "Région Hauts-de-France, en tant que coordonnateur" in page.inner_text("header")
            cookie = next(c for c in context.cookies() if c["name"] == "progres_console")
            assert cookie["httpOnly"]
            assert cookie["sameSite"] == "Lax"
            page.goto(f"{console_server.url}/plans/{console_server.scenario.plan}")
            assert page.inner_text("h1") == "Plan de progrès : Plan de progrès BOF des lycées de Lens"
            id_cookie = next(c for c in context.cookies() if c["name"] == "progres_console_id")
            assert id_cookie["httpOnly"]
            assert id_cookie["path"] == "/deconnexion"  # sent to the sign-out only

            # Signing out ends Keycloak's session too (RP-Initiated Logout, with the ID token as the hint)...
            with page.expect_request(re.compile(r".*/protocol/openid-connect/logout\?.*")) as ended:
                page.click("text=Se déconnecter")
            query = parse_qs(urlparse(ended.value.url).query)
            assert query["post_logout_redirect_uri"] == [f"{console_server.url}/deconnexion/fin"]
            assert query["client_id"] == ["progres-web"]
            assert query["id_token_hint"][0].count(".") == 2  # a JWT
            page.wait_for_url(re.compile(r".*/connexion\?sortie=1"))
            assert "Vous êtes déconnecté." in page.inner_text("main")
            assert not [c for c in context.cookies() if c["name"] == "progres_console_id"]
            # ... so that signing in again asks for the password: Keycloak's login form, not an automatic sign-in.
            page.click("text=Se connecter avec l'annuaire (Keycloak)")
            page.wait_for_selector("#username, #password", timeout=30_000)
            assert page.url.startswith(console_server.keycloak_issuer)
            assert page.goto(f"{console_server.url}/").url.endswith("/connexion")  # and no console session
        finally:
            context.close()


def test_a_lycee_signed_in_through_keycloak_cannot_reach_another_lycees_dashboard(console_server):
    scenario = console_server.scenario
    with launched_chromium() as browser:
        context, page = sign_in_through_keycloak(browser, console_server, "acheteur.behal")
        try:
            assert "Lycée Auguste Béhal" in page.inner_text("header")
            own = page.goto(f"{console_server.url}/plans/{scenario.plan}/membres/{scenario.lycees[0]}")
            assert own.status == 200
            other = page.goto(f"{console_server.url}/plans/{scenario.plan}/membres/{scenario.lycees[1]}")
            assert other.status == 403
            assert page.inner_text("h1") == "Accès refusé"
        finally:
            context.close()

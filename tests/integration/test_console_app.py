"""The console as mounted in the server's ASGI app: the local identity mode's sign-in is for loopback
connections only (the server's guard answers before the console), and with an identity provider the sign-in
page offers only the provider's login, with the session cookie marked Secure in production."""

from __future__ import annotations

from fastapi.testclient import TestClient

from progres.services.app import create_app
from progres.services.audit_keys import generate, keys_dir


def test_the_local_sign_in_page_refuses_a_connection_that_is_not_loopback(sqlite_settings):
    with TestClient(create_app(sqlite_settings), client=("192.0.2.10", 50000)) as client:
        answer = client.get("/connexion")
        assert answer.status_code == 403
        assert answer.json()["errors"][0]["extensions"]["code"] == "local_identity_loopback_only"
        assert client.post("/connexion", data={"identity": "x|acheteur"}).status_code == 403


def test_with_an_identity_provider_the_console_offers_its_login_and_a_secure_cookie(sqlite_settings):
    generate(keys_dir(sqlite_settings))
    settings = sqlite_settings.model_copy(update={"environment": "production",
                                                  "oidc_issuer": "http://127.0.0.1:9/realms/progres"})
    with TestClient(create_app(settings), base_url="https://progres.example", client=("192.0.2.10", 5)) as client:
        page = client.get("/connexion")
        assert page.status_code == 200
        assert 'href="/connexion/oidc"' in page.text
        assert 'name="identity"' not in page.text
        cookie = page.headers["set-cookie"]
        assert "httponly" in cookie.lower()
        assert "secure" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
        # A local sign-in posted to a server with a provider signs nobody in.
        posted = client.post("/connexion", data={"identity": "20005376700014|admin"}, follow_redirects=False)
        assert posted.status_code == 403
        assert "Formulaire refusé" in posted.text
        assert client.get("/", follow_redirects=False).headers["location"] == "/connexion"

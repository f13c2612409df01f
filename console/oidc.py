"""Sign-in through the identity provider (Keycloak): OpenID Connect authorization code flow with PKCE (S256),
by Authlib's Starlette client. The state, nonce and code verifier live in the signed session between the two
legs; what is kept after is the access token, validated by the same validator as `/graphql` bearer tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
from authlib.integrations.starlette_client import OAuth  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from progres.services.identity import organisations_of
from progres.services.settings import Settings


class SignInFailed(Exception):
    """The code flow did not end with a token; its code (OAuth's error code or ours) is shown to the user."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class OidcSignIn:
    def __init__(self, settings: Settings) -> None:
        self.client_id = settings.console_oidc_client_id
        self.oauth = OAuth()
        self.oauth.register(
            name="keycloak", client_id=settings.console_oidc_client_id,
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid organization", "code_challenge_method": "S256",
                           "token_endpoint_auth_method": "none"})

    @property
    def client(self) -> Any:
        return self.oauth.create_client("keycloak")

    async def start(self, request: Request, redirect_uri: str) -> Response:
        return await self.client.authorize_redirect(request, redirect_uri)  # type: ignore[no-any-return]

    async def finish(self, request: Request) -> tuple[str, str | None, str | None]:
        """The access token the code was exchanged for (the code verifier proves this session asked for it),
        the refresh token that renews it (Keycloak's access tokens live minutes), and the ID token, kept to end
        the identity provider's session at sign-out."""
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as error:  # a stale or forged state, a refused or expired code, a bad ID token…
            raise SignInFailed(str(error.error or "oauth_error")[:40]) from None
        except httpx.HTTPError:
            raise SignInFailed("identity_provider_unreachable") from None
        access = token.get("access_token")
        if not access:
            raise SignInFailed("no_access_token")
        return str(access), token.get("refresh_token"), token.get("id_token")

    async def refresh(self, refresh_token: str) -> tuple[str, str | None] | None:
        """A new access token for the session, or None when the identity provider ended the session."""
        metadata = await self.client.load_server_metadata()
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(metadata["token_endpoint"], data={
                "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id})
        if answer.status_code != 200:
            return None
        token = answer.json()
        return str(token["access_token"]), token.get("refresh_token") or refresh_token

    @staticmethod
    def organisations(claims: dict[str, Any]) -> set[str]:
        return organisations_of(claims)

    async def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """OpenID Connect RP-Initiated Logout: the identity provider's `end_session_endpoint`, with the ID token as
        `id_token_hint` (the provider then ends its session without asking) and where to come back; None when the
        provider does not publish that endpoint or cannot be reached (the console's session is ended anyway)."""
        try:
            metadata = await self.client.load_server_metadata()
        except (httpx.HTTPError, ValueError):
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


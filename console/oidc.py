"""Sign-in through the identity provider (Keycloak): OpenID Connect authorization code flow with PKCE (S256),
by Authlib's Starlette client. The state, nonce and code verifier live in the signed session between the two
legs; what is kept after is the access token, validated by the same validator as `/graphql` bearer tokens."""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response

from progres.services.identity import organisations_of
from progres.services.settings import Settings


class OidcSignIn:
    def __init__(self, settings: Settings) -> None:
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

    async def finish(self, request: Request) -> str:
        """The access token the code was exchanged for (the code verifier proves this session asked for it)."""
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as error:
            raise ValueError(error.description or error.error or "OAuth") from None
        access = token.get("access_token")
        if not access:
            raise ValueError("no access token")
        return str(access)

    @staticmethod
    def organisations(claims: dict[str, Any]) -> set[str]:
        return organisations_of(claims)

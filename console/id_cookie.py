"""The ID token a Keycloak sign-in obtained, kept for sign-out: OpenID Connect RP-Initiated Logout sends it to the
provider's `end_session_endpoint` as `id_token_hint` (console/oidc.py), so that the provider ends its own session
without asking."""

from __future__ import annotations

from itsdangerous import BadSignature, TimestampSigner
from starlette.requests import Request
from starlette.responses import Response

ID_COOKIE = "progres_console_id"
ID_COOKIE_PATH = "/deconnexion"


class IdTokenCookie:
    """The ID token, kept apart from the session cookie (it would take it past the 4 kB browsers keep): signed with
    the session's key, HttpOnly, SameSite=Lax, sent only to the sign-out path. It is no credential of the API (its
    audience is the console's client, not the API's): only the hint that lets the provider end its session."""

    def __init__(self, secret: str, max_age: int, secure: bool) -> None:
        self.signer = TimestampSigner(secret, salt="progres-console-id-token")
        self.max_age = max_age
        self.secure = secure

    def set(self, response: Response, id_token: str | None) -> None:
        if not id_token:
            return
        response.set_cookie(ID_COOKIE, self.signer.sign(id_token).decode(), max_age=self.max_age, path=ID_COOKIE_PATH,
                            httponly=True, samesite="lax", secure=self.secure)

    def read(self, request: Request) -> str | None:
        value = request.cookies.get(ID_COOKIE)
        if not value:
            return None
        try:
            return self.signer.unsign(value, max_age=self.max_age).decode()
        except BadSignature:
            return None

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(ID_COOKIE, path=ID_COOKIE_PATH)

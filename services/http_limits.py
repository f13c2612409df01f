"""What every HTTP request and WebSocket connection must pass before the GraphQL layer sees it.

A pure ASGI middleware (no buffering by a framework, no parsing before the checks):
- local identity mode (no identity provider): the connection's actual client *and* server addresses must be
  loopback, per request, whatever address the server was told to bind (a factory run by any ASGI server on
  0.0.0.0 must not accept development tokens from the network); a forwarded request (a proxy) is refused;
- production: a request to /graphql without a bearer token is refused before its body is read or parsed; in
  development such a request may read the schema only, so its body is bounded to 64 KiB;
- the body is bounded (`PROGRES_MAX_BODY_BYTES`, 413), and a JSON body must be UTF-8, well-formed, an
  object, and nested at most `PROGRES_MAX_JSON_DEPTH` deep (400): malformed input gets a 4xx with a code,
  never a 500.
Refusals are GraphQL-shaped (`errors[0].extensions.code`) and never quote the input.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GRAPHQL_PATH = "/graphql"
# Without a token (development only: production refuses it) a request can only read the schema: a small body.
ANONYMOUS_MAX_BODY_BYTES = 65_536
FORWARDING_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
# French: the person reading these is a client developer or an operator.
MESSAGES = {
    "local_identity_loopback_only": "le mode d'identité locale ne sert que les connexions en boucle locale "
                                    "(127.0.0.1, ::1) : configurez un fournisseur d'identité (PROGRES_OIDC_ISSUER)",
    "unauthenticated": "jeton manquant : envoyez `Authorization: Bearer <jeton>`",
    "payload_too_large": "requête trop volumineuse : au plus {limit} octets",
    "invalid_encoding": "le corps de la requête n'est pas de l'UTF-8 valide",
    "invalid_json": "le corps de la requête n'est pas un JSON valide",
    "json_too_deep": "le JSON de la requête est imbriqué trop profondément : au plus {limit} niveaux",
    "invalid_request": "le corps de la requête doit être un objet JSON {{\"query\": …, \"variables\": …}}",
}


@dataclass(frozen=True)
class RequestLimits:
    max_body_bytes: int
    max_json_depth: int
    loopback_only: bool  # local identity mode
    token_required: bool  # production


def is_loopback(address: Any) -> bool:
    """`scope["client"]`/`scope["server"]` hold (host, port) or None (e.g. a Unix socket: no network peer)."""
    if address is None:
        return True
    host = str(address[0]) if isinstance(address, list | tuple) and address else ""
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def json_depth(value: Any) -> int:
    """Deepest nesting of a parsed JSON value, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class Refused(Exception):
    def __init__(self, status: int, code: str, **details: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, MESSAGES[code].format(**details)


def body_refusal(body: bytes, content_type: str, max_depth: int) -> Refused | None:
    """Why a JSON request body cannot be a GraphQL request (other media types are left to strawberry)."""
    if "json" not in content_type:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(400, "invalid_encoding")
    try:
        parsed = orjson.loads(text)  # orjson itself refuses nesting beyond 1024, without a RecursionError
    except orjson.JSONDecodeError:
        return Refused(400, "invalid_json")
    if json_depth(parsed) > max_depth:
        return Refused(400, "json_too_deep", limit=max_depth)
    if not isinstance(parsed, dict):
        return Refused(400, "invalid_request")
    return None


class RequestGuard:
    """The ASGI middleware; see the module's docstring."""

    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            self.check_connection(scope)
            if scope["type"] == "http" and scope["path"].rstrip("/") == GRAPHQL_PATH:
                receive = await self.checked_body(scope, receive)
        except Refused as refused:
            await self.refuse(scope, send, refused)
            return
        await self.app(scope, receive, send)

    def check_connection(self, scope: Scope) -> None:
        headers = dict(scope.get("headers") or [])
        if self.limits.loopback_only and (
                not is_loopback(scope.get("client")) or not is_loopback(scope.get("server"))
                or any(name in headers for name in FORWARDING_HEADERS)):
            raise Refused(403, "local_identity_loopback_only")
        # A CORS preflight (OPTIONS) never carries credentials: it is left to the CORS middleware.
        if (self.limits.token_required and scope["type"] == "http" and scope.get("method") != "OPTIONS"
                and scope["path"].rstrip("/") == GRAPHQL_PATH and not headers.get(b"authorization")):
            raise Refused(401, "unauthenticated")

    async def checked_body(self, scope: Scope, receive: Receive) -> Receive:
        """Reads the body (at most the limit), checks it, and hands the application a receive that replays it."""
        headers = dict(scope.get("headers") or [])
        limit = self.limits.max_body_bytes
        if not headers.get(b"authorization"):
            limit = min(limit, ANONYMOUS_MAX_BODY_BYTES)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(413, "payload_too_large", limit=limit)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused(413, "payload_too_large", limit=limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if scope["method"] == "POST":
            refusal = body_refusal(body, headers.get(b"content-type", b"").decode("latin-1").lower(),
                                   self.limits.max_json_depth)
            if refusal is not None:
                raise refusal
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def refuse(self, scope: Scope, send: Send, refused: Refused) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting answers the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 4403 if refused.status == 403 else 4401,
                        "reason": refused.code})
            return
        body = orjson.dumps({"errors": [{"message": refused.message, "extensions": {"code": refused.code}}]})
        await send({"type": "http.response.start", "status": refused.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

"""GraphQL over WebSocket as browsers and the reference clients (`graphql-ws`, Python `gql`) expect it.

- Every message goes out as a **text** frame: the HTTP side encodes JSON to bytes (orjson, fast), which
  strawberry would otherwise send as binary frames that those clients refuse.
- A browser cannot set headers on a WebSocket upgrade, so the `connection_init` payload may carry the
  credentials instead: `{"authorization": "Bearer <token>", "organisation": "<SIRET>", "role": "<role>"}`
  (header names are accepted too, in any case, so a client can send its HTTP headers as they are). They
  go through the very function that checks the HTTP headers; the upgrade's own headers are the fallback.
- Refused credentials close the socket with 4401 (no valid token) or 4403 (organisation or role not the
  user's) and the refusal's code and message as the close reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types.unset import UNSET, UnsetType

from progres.services.policy import Actor

AUTHORIZATION, ORGANISATION, ROLE = "authorization", "x-progres-organisation", "x-progres-role"
# connection_init payload keys (lower-cased) → the header they stand for
PAYLOAD_KEYS = {"authorization": AUTHORIZATION, "token": AUTHORIZATION, "organisation": ORGANISATION,
                ORGANISATION: ORGANISATION, "role": ROLE, ROLE: ROLE}
CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's reason fits in 123 bytes


class CredentialsRefused(Exception):
    """Credentials that cannot be trusted: status 401 (no valid token) or 403 (organisation or role)."""

    def __init__(self, message: str, code: str = "unauthenticated", status: int = 401) -> None:
        super().__init__(message)
        self.code, self.status = code, status


Identify = Callable[[Mapping[str, str]], Actor | None]


def credentials(headers: Mapping[str, str], payload: object) -> Mapping[str, str]:
    """The headers to identify a WebSocket by: the connection_init payload's credentials when it has any,
    else the upgrade request's headers (never a mix of both)."""
    if not isinstance(payload, Mapping):
        return headers
    found: dict[str, str] = {}
    for key, value in payload.items():
        header = PAYLOAD_KEYS.get(str(key).lower())
        if header is None or value is None:  # a client's `role: null` says "no role chosen"
            continue
        if not isinstance(value, str):
            raise CredentialsRefused(f"connection_init: `{str(key)[:40]}` must be a string", "malformed_token")
        found[header] = f"Bearer {value}" if str(key).lower() == "token" else value
    if not found:
        return headers
    if AUTHORIZATION not in found:
        raise CredentialsRefused("connection_init: give `authorization: Bearer <token>` with the organisation",
                                 "malformed_token")
    return found


def close_reason(refusal: CredentialsRefused) -> str:
    """`code: message`, cut to what a close frame can carry."""
    reason = f"{refusal.code}: {refusal}".encode()[:CLOSE_REASON_BYTES]
    return reason.decode(errors="ignore")


class TextFrames(ASGIWebSocketAdapter):
    """Sends each graphql-transport-ws message as a text frame, whatever the view's JSON encoder returns."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class IdentifyingHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws whose connection_init is refused with the reason the credentials were refused."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except CredentialsRefused as refusal:
            await self.websocket.close(code=4403 if refusal.status == 403 else 4401, reason=close_reason(refusal))


class WebSocketIdentity:
    """Mixin for the GraphQL router: text frames, and the actor settled at connection_init.

    `identify` is the function that turns HTTP headers into the actor (or None when anonymous) and raises
    CredentialsRefused; the WebSocket's context carries the actor it returns."""

    websocket_adapter_class = TextFrames
    graphql_transport_ws_handler_class = IdentifyingHandler

    def __init__(self, *args: Any, identify: Identify, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identify = identify

    async def on_ws_connect(self, context: Any) -> UnsetType:
        sent = credentials(context.request.headers, context.connection_params)
        # a token check may fetch the identity provider's keys: keep it off the event loop
        context.actor = await asyncio.to_thread(self.identify, sent)
        return UNSET  # connection_ack without a payload

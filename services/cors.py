"""Cross-origin calls from browsers: an allow-list of origins (PROGRES_CORS_ORIGINS), nothing when it is empty.

An allowed origin gets the CORS headers on `/graphql` (preflight `OPTIONS` included) and may open the
GraphQL WebSocket; any other origin gets no `Access-Control-Allow-Origin`, so browsers refuse the answer.
Credentials travel in the `Authorization` header (never cookies), hence no `allow_credentials`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware

if TYPE_CHECKING:
    from fastapi import FastAPI

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = ("authorization", "content-type", "x-progres-organisation", "x-progres-role", "x-request-id")
EXPOSED_HEADERS = ("x-request-id",)  # a page can read the id of its request (services/observability.py)
PREFLIGHT_MAX_AGE = 600
DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidOrigin(ValueError):
    pass


def origin(text: str) -> str:
    """`scheme://host[:port]` as browsers send it in `Origin` (lower case, no default port, no path)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        port, parts = None, None
    if (parts is None or parts.scheme not in DEFAULT_PORTS or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise InvalidOrigin(f"CORS origin must look like https://host[:port], not {text.strip()[:60]!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def parse_origins(value: object) -> tuple[str, ...]:
    """A comma-separated string, a JSON array or a sequence; `*` is refused: list the origins."""
    if isinstance(value, str):
        text = value.strip()
        items: Iterable[object] = json.loads(text) if text.startswith("[") else text.split(",")
    elif isinstance(value, Iterable):
        items = value
    else:
        raise InvalidOrigin("CORS origins: a comma-separated list of origins")
    origins = [str(item).strip() for item in items if str(item).strip()]
    if "*" in origins:
        raise InvalidOrigin("CORS origins: `*` is not accepted, list the origins allowed")
    return tuple(dict.fromkeys(origin(item) for item in origins))


def install_cors(api: FastAPI, origins: tuple[str, ...]) -> None:
    """Answers preflights and adds CORS headers for the allowed origins; with none, changes nothing."""
    if not origins:
        return
    api.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=list(ALLOWED_METHODS),
                       allow_headers=list(ALLOWED_HEADERS), expose_headers=list(EXPOSED_HEADERS),
                       max_age=PREFLIGHT_MAX_AGE)

"""ASGI assembly: FastAPI serving the GraphQL API (HTTP and graphql-transport-ws), health and readiness,
with a runner that keeps the read models following the log for as long as the server lives."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services.access import Access
from progres.services.bootstrap import bootstrap
from progres.services.identity import TokenRefused, TokenRules, TokenValidator, actor_from_claims
from progres.services.policy import Actor, Policy
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

ACTOR_HEADER = "x-progres-actor"
ORGANISATION_HEADER = "x-progres-organisation"
ROLE_HEADER = "x-progres-role"
READY_MAX_LAG = 1000


class IdentityRefused(Exception):
    def __init__(self, message: str, code: str = "unauthenticated", status: int = 401) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def actor_from(headers: Any, settings: Settings, validator: TokenValidator | None = None) -> Actor | None:
    """With an identity provider: the bearer token, the acting organisation (SIRET) and role headers.
    Without one (development only): `X-Progres-Actor: <organisation id>:<role>`, refused in production."""
    if validator is not None:
        return actor_from_token(headers, validator)
    value = headers.get(ACTOR_HEADER)
    if value is None:
        return None
    if settings.environment == "production":
        raise IdentityRefused("the development identity header is refused in production")
    organisation, _, role = value.partition(":")
    try:
        return Actor.parse(organisation.strip(), role.strip())
    except ValueError:
        raise IdentityRefused(f"'{value}' is not '<organisation id>:<role>'") from None


class ProgresGraphQLRouter(GraphQLRouter[ProgresContext, None]):
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)  # views are large JSON documents: encode them fast


def actor_from_token(headers: Any, validator: TokenValidator) -> Actor | None:
    if headers.get(ACTOR_HEADER) is not None:
        raise IdentityRefused("the development identity header is refused: send a bearer token")
    authorization = headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise IdentityRefused("send `Authorization: Bearer <token>`", "malformed_token")
    try:
        return actor_from_claims(validator.claims(token.strip()), headers.get(ORGANISATION_HEADER),
                                 headers.get(ROLE_HEADER))
    except TokenRefused as refusal:
        raise IdentityRefused(refusal.message, refusal.code, refusal.status) from None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    application = bootstrap(settings)
    models = ReadModels.open(application, settings)
    services = Services(settings, application, models, Access(models, Policy()))
    validator = None
    if settings.oidc_issuer:
        validator = TokenValidator(TokenRules(settings.oidc_issuer, settings.oidc_audience, settings.oidc_allowed_azp,
                                              settings.oidc_leeway_seconds), settings.jwks_url,
                                   settings.oidc_jwks_cooldown_seconds)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        follower = threading.Thread(target=models.follow, args=(settings, stop.is_set, 0.5), daemon=True,
                                    name="progres-runner")
        follower.start()
        yield
        stop.set()
        follower.join(timeout=5)
        models.close()
        application.close()

    async def context(request: Request = None, websocket: WebSocket = None) -> ProgresContext:  # type: ignore[assignment]
        connection = request if request is not None else websocket
        return ProgresContext(services, actor_from(connection.headers, settings, validator))

    development = settings.environment == "development"
    router = ProgresGraphQLRouter(build_schema(settings), context_getter=context, graphql_ide="graphiql" if development
                           else None, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
    api = FastAPI(title="progres", lifespan=lifespan)
    api.include_router(router, prefix="/graphql")

    @api.exception_handler(IdentityRefused)
    async def refused(_: Request, error: IdentityRefused) -> JSONResponse:
        return JSONResponse({"errors": [{"message": str(error), "extensions": {"code": error.code}}]},
                            status_code=error.status)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready")
    async def ready() -> JSONResponse:
        try:
            status = models.status()
        except Exception as error:
            return JSONResponse({"status": "unavailable", "reason": type(error).__name__}, status_code=503)
        ok = status["lag"] <= READY_MAX_LAG
        return JSONResponse({"status": "ready" if ok else "lagging", **status}, status_code=200 if ok else 503)

    return api

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
from progres.services.policy import Actor, Policy
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

ACTOR_HEADER = "x-progres-actor"
READY_MAX_LAG = 1000


class IdentityRefused(Exception):
    pass


def actor_from(headers: Any, settings: Settings) -> Actor | None:
    """Development only: `X-Progres-Actor: <organisation id>:<role>`. Production refuses the header."""
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    application = bootstrap(settings)
    models = ReadModels.open(application, settings)
    services = Services(settings, application, models, Access(models, Policy()))
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
        return ProgresContext(services, actor_from(connection.headers, settings))

    development = settings.environment == "development"
    router = ProgresGraphQLRouter(build_schema(settings), context_getter=context, graphql_ide="graphiql" if development
                           else None, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
    api = FastAPI(title="progres", lifespan=lifespan)
    api.include_router(router, prefix="/graphql")

    @api.exception_handler(IdentityRefused)
    async def refused(_: Request, error: IdentityRefused) -> JSONResponse:
        return JSONResponse({"errors": [{"message": str(error), "extensions": {"code": "unauthenticated"}}]},
                            status_code=401)

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

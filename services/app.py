"""ASGI assembly: FastAPI serving the GraphQL API (HTTP and graphql-transport-ws), health and readiness,
with a runner that keeps the read models following the log for as long as the server lives."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from progres.console.web import build_console
from progres.graphql.context import ProgresContext, Services
from progres.graphql.ide import OfflineGraphiQL, mount_graphiql
from progres.graphql.loaders import encode_kept
from progres.graphql.schema import build_schema
from progres.graphql.ws import CredentialsRefused, WebSocketIdentity
from progres.services.cors import install_cors
from progres.services.http_limits import RequestGuard, RequestLimits
from progres.services.identity import LOOPBACK, LocalIssuer, TokenRefused, TokenRules, TokenValidator, actor_from_claims
from progres.services.observability import (
    Metrics,
    RequestObserver,
    configure_logging,
    install_tracing,
    metrics_access,
    note_actor,
    platform_status,
)
from progres.services.pauses import PauseRecorder
from progres.services.policy import Actor
from progres.services.settings import Settings

log = logging.getLogger("progres.server")
ORGANISATION_HEADER = "x-progres-organisation"
ROLE_HEADER = "x-progres-role"


class IdentityRefused(CredentialsRefused):
    """HTTP answers it with its status; a WebSocket closes with 4401/4403 (graphql/ws.py)."""


class LocalIdentityRefused(RuntimeError):
    """The local identity mode was asked where it must not run."""


def identity_validator(settings: Settings) -> TokenValidator:
    """Keycloak's keys when an issuer is configured; otherwise the explicit local identity mode, which only a
    development server on a loopback address may use."""
    if settings.oidc_issuer:
        return TokenValidator(TokenRules(settings.oidc_issuer, settings.oidc_audience, settings.oidc_allowed_azp,
                                         settings.oidc_leeway_seconds), settings.jwks_url,
                              settings.oidc_jwks_cooldown_seconds)
    if settings.environment == "production":
        raise LocalIdentityRefused("production needs an identity provider: set PROGRES_OIDC_ISSUER")
    if settings.host not in LOOPBACK:
        raise LocalIdentityRefused(f"local identity mode serves loopback addresses only, not {settings.host}")
    return LocalIssuer(settings.data_dir).validator(settings.oidc_audience, settings.oidc_leeway_seconds)


class ProgresGraphQLRouter(WebSocketIdentity, OfflineGraphiQL, GraphQLRouter[ProgresContext, None]):
    def encode_json(self, data: object) -> bytes:
        # Views are large JSON documents: encode them fast (WebSocket: as text); a kept answer as its bytes.
        return orjson.dumps(data, default=encode_kept)


def actor_from(headers: Any, validator: TokenValidator) -> Actor | None:
    """The bearer token, then the acting organisation (SIRET) and role headers."""
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


def start_checkpoints(settings: Settings, stop: threading.Event) -> threading.Thread | None:
    if not settings.audit_checkpoint_seconds:
        return None
    from progres.services.audit import checkpoint_periodically  # noqa: PLC0415

    thread = threading.Thread(target=checkpoint_periodically, args=(settings, stop.is_set, logging.warning),
                              daemon=True, name="progres-checkpoints")
    thread.start()
    return thread


def background_work(settings: Settings, services: Services) -> Any:
    """The server's lifespan: the in-process follower (unless external workers keep the views) and the periodic
    signed heads, started with the server and stopped with it."""
    application, models = services.app, services.models
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        follower = None
        if models.external:  # `progres projections run --follow` workers keep the views: this server only reads
            models.followed = True
        else:
            follower = threading.Thread(target=models.follow, args=(settings, stop.is_set, 0.5), daemon=True,
                                        name="progres-runner")
            follower.start()
        witness = start_checkpoints(settings, stop)  # signed tree heads (docs/audit.md), when configured
        pauses = PauseRecorder().start() if os.environ.get("PROGRES_DIAGNOSE_PAUSES") == "1" else None
        yield
        answers = services.answers
        if answers.kept or answers.shared or answers.computed:
            log.info("graphql answers of memberView/planBalance: kept %d, shared %d, computed %d (process %d)",
                     answers.kept, answers.shared, answers.computed, os.getpid())
        if pauses is not None:
            log.info("garbage collector pauses (process %d): %s", os.getpid(), orjson.dumps(pauses.stop()).decode())
        stop.set()
        if follower is not None:
            follower.join(timeout=5)
        if witness is not None:
            witness.join(timeout=5)
        models.close()
        application.close()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    services = Services.wire(settings)
    models = services.models
    validator = identity_validator(settings)
    lifespan = background_work(settings, services)

    async def context(request: Request = None, websocket: WebSocket = None) -> ProgresContext:  # type: ignore[assignment]
        if websocket is not None:  # identified at connection_init, from its payload or these headers (ws.py)
            return ProgresContext(services, None)
        actor = actor_from(request.headers, validator)
        note_actor(actor)  # for the access log (services/observability.py)
        context = ProgresContext(services, actor)
        context.raw_answers = True  # encoded by ProgresGraphQLRouter.encode_json, which writes kept answers as they are
        return context

    development = settings.environment == "development"
    schema = build_schema(settings)
    router = ProgresGraphQLRouter(schema, context_getter=context, graphql_ide="graphiql" if development
                           else None, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
                           identify=lambda headers: actor_from(headers, validator),
                           allowed_origins=settings.cors_origins)
    api = FastAPI(title="progres", lifespan=lifespan)
    api.include_router(router, prefix="/graphql")
    # Checked per connection before anything is parsed: loopback (local identity), token (production), body.
    # Added before CORS so that CORS stays outermost: refusals carry its headers, preflights never reach it.
    api.add_middleware(RequestGuard, limits=RequestLimits(  # type: ignore[arg-type]
        settings.max_body_bytes, settings.max_json_depth, loopback_only=not settings.oidc_issuer,
        token_required=settings.environment == "production"))
    install_cors(api, settings.cors_origins)
    # Observability (services/observability.py): outermost, so that every answer, refusals included, has its
    # request id, its access log line and its metrics; tracing around it when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    metrics = Metrics(settings, lambda: platform_status(settings, services))
    api.add_middleware(RequestObserver, metrics=metrics)  # type: ignore[arg-type]
    install_tracing(api)
    if development:
        mount_graphiql(api)

    @api.exception_handler(IdentityRefused)
    async def refused(_: Request, error: IdentityRefused) -> JSONResponse:
        return JSONResponse({"errors": [{"message": str(error), "extensions": {"code": error.code}}]},
                            status_code=error.status)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready")
    async def ready() -> JSONResponse:
        """Ready only when the follower is up and the views are at most `ready_max_lag` events behind (with
        external workers: the lag of the tracking they stored)."""
        if not models.external and not models.follower_up:  # said at once, without touching a database that may be gone
            return JSONResponse({"status": "not ready", "reason": "projection follower down"}, status_code=503)
        try:
            status = await asyncio.to_thread(models.status)
        except Exception as error:  # the database is unreachable: not ready, say why briefly
            return JSONResponse({"status": "not ready", "reason": type(error).__name__}, status_code=503)
        if status["lag"] > settings.ready_max_lag:
            return JSONResponse({"status": "not ready", "reason": "lagging", **status}, status_code=503)
        return JSONResponse({"status": "ready", **status})

    @api.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        """Prometheus text format; who may read it: `metrics_access` (docs/operations.md)."""
        allowed = metrics_access(settings, request.headers.get("authorization"))
        if allowed != 200:
            return Response(status_code=allowed, headers={"www-authenticate": "Bearer"} if allowed == 401 else None)
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # noqa: PLC0415

        page = await asyncio.to_thread(generate_latest, metrics.registry)  # the status reads the database
        return Response(page, media_type=CONTENT_TYPE_LATEST)

    # The console (console/web.py) last: every path the routes above do not answer is one of its pages, except
    # theirs: a path of the API asked with another method (OPTIONS /graphql without CORS) stays 405, not a page.
    api.mount("/", api_paths_first(build_console(settings, services, schema, validator), api))
    return api


def api_paths_first(console: Any, api: FastAPI) -> Any:
    """The console's ASGI app, answering 405 (with `Allow`) for a path an API route serves with other methods."""
    methods: dict[str, set[str]] = {}

    def collect(routes: Any, prefix: str = "") -> None:
        for route in routes:
            if isinstance(route, Route) and route.methods:  # FastAPI's APIRoute is one
                methods.setdefault(prefix + route.path, set()).update(route.methods)
            elif (included := getattr(route, "original_router", None)) is not None:  # a router included lazily
                collect(included.routes, prefix + getattr(getattr(route, "include_context", None), "prefix", ""))

    collect(api.routes)

    class ApiPathsFirst:
        routes = console.routes  # so that url_for through the mount finds the console's routes (its sign-in)

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            allowed = methods.get(scope.get("path", "")) if scope["type"] == "http" else None
            if allowed:
                response = Response(status_code=405, headers={"allow": ", ".join(sorted(allowed))})
                await response(scope, receive, send)
                return
            await console(scope, receive, send)

    return ApiPathsFirst()


def served_app() -> FastAPI:
    """The factory each uvicorn worker process calls (`progres serve` with several workers): logs configured first."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)

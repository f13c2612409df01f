"""Observability of a server: Prometheus metrics at /metrics, one structured log line per request with its
request id, and OpenTelemetry tracing when its standard environment variables are set (docs/operations.md).

- Request ids: taken from `X-Request-Id` when it is short and plain (at most 64 characters of letters, digits and
  `._:-`), generated otherwise; returned in `X-Request-Id` and bound to every log line written meanwhile.
- Access log: one line per request (`event="request"`) with the status, duration, acting organisation and role,
  GraphQL operation, the error codes answered and the commands with their outcome. A refusal or bad input is a
  `warning` without traceback; only a real server error carries one (logged where it is met, with the same id).
- Metrics: per process (one uvicorn worker per container, see docs/operations.md). Label values are bounded:
  operation names are kept for the first `metrics_max_operations` seen, the others counted as `other`; requests
  without a name are `anonymous`, those that never parsed `unknown`.
- What the metrics read from the read side, the log and the audit witness is gathered in one function,
  `platform_status`, so that changes inside the runner or the stores touch one place only.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from strawberry.extensions import SchemaExtension

from progres.services.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
ROUTES = frozenset({"/graphql", "/health", "/ready", "/metrics"})
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})  # probes and scrapes: logged at debug when they succeed
MAX_CODES = 8  # error codes kept per request in the access log
MAX_LOGGED_PATH = 256  # a path is the client's: it is cut in the log
MAX_SNIFFED_BODY = 16_384  # an error answer larger than this is not read for its code
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

INTERNAL_MESSAGE = "erreur interne : elle est journalisée ; réessayez ou prévenez les opérateurs de la plateforme"
log = structlog.get_logger("progres.access")
internal = logging.getLogger("progres.observability")


def accepted_request_id(value: str | None) -> str | None:
    """The client's request id when it is bounded and plain; None otherwise (a new one is generated)."""
    if value is None:
        return None
    value = value.strip()
    return value if REQUEST_ID.fullmatch(value) else None


@dataclass
class RequestRecord:
    """What the layers of one request tell the access log and the metrics (bound in a context variable)."""

    request_id: str
    method: str
    path: str
    metrics: Metrics | None = None
    organisation: str | None = None
    role: str | None = None
    operation: str | None = None
    operation_type: str | None = None
    codes: list[str] = field(default_factory=list)
    commands: list[tuple[str, str]] = field(default_factory=list)  # (command, "accepted" or the refusal code)

    def add_code(self, code: Any) -> None:
        code = str(code) if code is not None else ""
        if not CODE.fullmatch(code):
            code = "other"
        if len(self.codes) < MAX_CODES:
            self.codes.append(code)


CURRENT: ContextVar[RequestRecord | None] = ContextVar("progres_request", default=None)


def current_request() -> RequestRecord | None:
    return CURRENT.get()


def note_actor(actor: Any) -> None:
    """The acting organisation and role of the request, once the token was checked (services/app.py)."""
    record = CURRENT.get()
    if record is not None and actor is not None:
        record.organisation = str(actor.organisation_id)
        record.role = str(getattr(actor.role, "value", actor.role))


def observe_command(command: str, refusal_code: str | None) -> None:
    """A command's outcome: accepted, or refused with its stable code (graphql/mutations.py)."""
    record = CURRENT.get()
    if record is None:
        return
    outcome = "accepted" if refusal_code is None else refusal_code if CODE.fullmatch(refusal_code) else "other"
    record.commands.append((command, outcome))
    if refusal_code is not None:
        record.add_code(refusal_code)
    if record.metrics is not None:
        record.metrics.count_command(command, outcome)


class ObservedOperation(SchemaExtension):
    """Tells the request's record which GraphQL operation ran and the codes of the errors it answered. Placed
    before the extensions that give errors their codes: its exit runs after theirs."""

    def on_operation(self) -> Iterator[None]:
        yield
        record = CURRENT.get()
        if record is None:
            return
        context = self.execution_context
        try:
            record.operation_type = context.operation_type.value
        except Exception:  # no document: a syntax error, a limit met before parsing
            record.operation_type = None
        record.operation = context.operation_name
        for error in list(getattr(context.result, "errors", None) or context.pre_execution_errors or []):
            record.add_code((error.extensions or {}).get("code") or getattr(error.original_error, "code", None))


class OperationNames:
    """Bounded label values: the first `limit` operation names seen, then `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def label(self, name: str | None, operation_type: str | None) -> str:
        if operation_type is None:
            return "unknown"
        if not name:
            return "anonymous"
        if not OPERATION_NAME.fullmatch(name):
            return "other"
        with self.lock:
            if name in self.seen:
                return name
            if len(self.seen) < self.limit:
                self.seen.add(name)
                return name
        return "other"


# What the platform says about itself -----------------------------------------------------------------------------

@dataclass
class PlatformStatus:
    """Figures read at each scrape; any of them None when it could not be read (the scrape still answers)."""

    head: int | None = None
    projections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (position, lag)
    follower_up: bool | None = None
    newest_event_age: float | None = None
    signed_head_size: int | None = None
    signed_head_age: float | None = None
    pools: dict[str, dict[str, int]] = field(default_factory=dict)  # pool → stats (psycopg_pool.get_stats)
    conflicts_retried: int | None = None
    errors: list[str] = field(default_factory=list)


def _age(timestamp: str | None, now: datetime) -> float | None:
    if not timestamp:
        return None
    moment = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (now - moment).total_seconds())


def _newest_event_time(models: Any, projection: str) -> str | None:
    """The time of the newest event the read models hold (their history index, `projections/stores/sql.py`)."""
    store = models.store
    with store.transaction() as cursor:
        cursor.execute(store.q("SELECT max(timestamp) FROM {p}history WHERE projection = ?"), [projection])
        row = cursor.fetchone()
    return row[0] if row else None


def _newest_signed_head(settings: Settings) -> Any:
    """The largest signed tree head of the witness directory (names sort by size), read alone."""
    from progres.services.audit import LogReader, load_head, witness_dir  # noqa: PLC0415

    directory = witness_dir(settings, LogReader(settings).log_name())
    if not directory.is_dir():
        return None
    names = sorted(directory.glob("head-*.json"))
    return load_head(names[-1]) if names else None


def _pool_stats(pool: Any) -> dict[str, int] | None:
    if pool is None or not hasattr(pool, "get_stats"):
        return None
    stats = pool.get_stats()
    return {key: int(stats.get(key, 0)) for key in ("pool_min", "pool_max", "pool_size", "pool_available",
                                                     "requests_waiting")}


def platform_status(settings: Settings, services: Any) -> PlatformStatus:
    """Everything /metrics reports about the log, the read models, the audit witness and the pools, read through
    what the read side exposes (`ReadModels.status()`, as /ready does). Each part fails alone."""
    found = PlatformStatus()
    models, app = services.models, services.app
    now = datetime.now(UTC)

    def attempt(name: str, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception as error:
            found.errors.append(f"{name}: {type(error).__name__}")

    def read_models() -> None:
        status = models.status()
        found.head = int(status["head"])
        found.projections[str(status["projection"])] = (int(status["position"]), max(0, int(status["lag"])))
        if getattr(models, "followed", False):  # only where this process follows the log itself
            found.follower_up = bool(getattr(models, "follower_up", False))

    def newest_event() -> None:
        found.newest_event_age = _age(_newest_event_time(models, models.projection), now)

    def signed_head() -> None:
        head = _newest_signed_head(settings)
        if head is not None:
            found.signed_head_size = head.size
            found.signed_head_age = _age(head.time, now)

    def pools() -> None:
        datastore = getattr(getattr(app, "recorder", None), "datastore", None)
        for name, pool in (("events", getattr(datastore, "pool", None)),
                           ("views", getattr(models.store, "pool", None))):
            stats = _pool_stats(pool)
            if stats is not None:
                found.pools[name] = stats

    attempt("read_models", read_models)
    attempt("newest_event", newest_event)
    attempt("signed_head", signed_head)
    attempt("pools", pools)
    found.conflicts_retried = getattr(app, "conflicts_retried", None)
    return found


class PlatformCollector(Collector):
    """Reads `platform_status` at each scrape (a few small queries; Prometheus scrapes every 15 to 60 s)."""

    def __init__(self, status: Callable[[], PlatformStatus]) -> None:
        self.status = status

    def collect(self) -> Iterator[Any]:
        started = time.perf_counter()
        found = self.status()
        if found.head is not None:
            yield GaugeMetricFamily("progres_log_head_position", "Position of the newest event of the log",
                                    value=found.head)
        position = GaugeMetricFamily("progres_projection_position", "Log position the read models reached",
                                     labels=["projection"])
        lag = GaugeMetricFamily("progres_projection_lag_events", "Events of the log the read models have not "
                                "projected yet", labels=["projection"])
        for name, (reached, behind) in sorted(found.projections.items()):
            position.add_metric([name], reached)
            lag.add_metric([name], behind)
        yield position
        yield lag
        if found.follower_up is not None:
            yield GaugeMetricFamily("progres_projection_follower_up", "1 when this process's projection follower "
                                    "is connected and projecting", value=int(found.follower_up))
        if found.newest_event_age is not None:
            yield GaugeMetricFamily("progres_log_newest_event_age_seconds", "Age of the newest event the read "
                                    "models hold", value=found.newest_event_age)
        if found.signed_head_size is not None:
            yield GaugeMetricFamily("progres_audit_signed_head_size", "Events covered by the newest signed tree "
                                    "head of the witness directory", value=found.signed_head_size)
            if found.head is not None:
                yield GaugeMetricFamily("progres_audit_events_since_signed_head", "Events of the log no signed "
                                        "head covers yet", value=max(0, found.head - found.signed_head_size))
        if found.signed_head_age is not None:
            yield GaugeMetricFamily("progres_audit_signed_head_age_seconds", "Age of the newest signed tree head",
                                    value=found.signed_head_age)
        pool = GaugeMetricFamily("progres_db_pool_connections", "Connections of the process's PostgreSQL pools",
                                 labels=["pool", "state"])
        waiting = GaugeMetricFamily("progres_db_pool_requests_waiting", "Requests waiting for a pooled connection",
                                    labels=["pool"])
        for name, stats in sorted(found.pools.items()):
            pool.add_metric([name, "open"], stats["pool_size"])
            pool.add_metric([name, "idle"], stats["pool_available"])
            pool.add_metric([name, "in_use"], max(0, stats["pool_size"] - stats["pool_available"]))
            pool.add_metric([name, "max"], stats["pool_max"])
            waiting.add_metric([name], stats["requests_waiting"])
        yield pool
        yield waiting
        if found.conflicts_retried is not None:
            yield CounterMetricFamily("progres_command_conflicts_retried", "Commands retried after an optimistic "
                                      "concurrency conflict", value=found.conflicts_retried)
        yield GaugeMetricFamily("progres_status_read_errors", "Parts of the status that could not be read at "
                                "this scrape", value=len(found.errors))
        yield GaugeMetricFamily("progres_status_read_seconds", "Time taken to read the status at this scrape",
                                value=time.perf_counter() - started)


class Metrics:
    """The process's metrics, in a registry of their own (several applications may live in one test process)."""

    def __init__(self, settings: Settings, status: Callable[[], PlatformStatus] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.operations = OperationNames(settings.metrics_max_operations)
        self.graphql_latency = Histogram(
            "progres_graphql_request_duration_seconds", "Duration of GraphQL requests over HTTP, per operation",
            ["operation_type", "operation"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.http_requests = Counter("progres_http_requests", "HTTP requests answered", ["route", "method", "status"],
                                     registry=self.registry)
        self.http_latency = Histogram("progres_http_request_duration_seconds", "Duration of HTTP requests",
                                      ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.commands = Counter("progres_commands", "Commands, accepted or refused with their code",
                                ["command", "result", "code"], registry=self.registry)
        self.errors = Counter("progres_graphql_errors", "Errors answered, by code", ["code"], registry=self.registry)
        self.websockets = Counter("progres_websocket_connections", "WebSocket connections closed",
                                  registry=self.registry)
        if status is not None:
            self.registry.register(PlatformCollector(status))

    def count_command(self, command: str, outcome: str) -> None:
        accepted = outcome == "accepted"
        self.commands.labels(command, "accepted" if accepted else "refused", "" if accepted else outcome).inc()

    def observe(self, record: RequestRecord, status: int, seconds: float, websocket: bool) -> None:
        if websocket:
            self.websockets.inc()
            return
        route = record.path if record.path in ROUTES else "other"
        self.http_requests.labels(route, record.method if record.method in {"GET", "POST", "OPTIONS", "HEAD"}
                                  else "other", str(status)).inc()
        self.http_latency.labels(route).observe(seconds)
        if route == "/graphql" and record.method in {"GET", "POST"}:
            operation_type = record.operation_type or "unknown"
            self.graphql_latency.labels(operation_type, self.operations.label(record.operation,
                                                                             record.operation_type)).observe(seconds)
        for code in record.codes:
            self.errors.labels(code).inc()


def metrics_access(settings: Settings, authorization: str | None) -> int:
    """200 when /metrics may be read with this Authorization header; 401 (token wrong or missing), 404 (not served:
    production without PROGRES_METRICS_TOKEN, unless PROGRES_METRICS_PUBLIC)."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return 200
        return 401
    if settings.environment == "production" and not settings.metrics_public:
        return 404
    return 200


# The request middleware -----------------------------------------------------------------------------------------

def _codes_of(body: bytes) -> list[str]:
    """The codes of a small JSON error answer (`errors[].extensions.code`) that no GraphQL extension saw: refusals
    of the request guard, of the identity check."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(errors, list):
        return []
    return [str((e.get("extensions") or {}).get("code")) for e in errors[:MAX_CODES] if isinstance(e, dict)]


class RequestObserver:
    """Pure ASGI middleware, outermost: request id, access log line, request metrics."""

    def __init__(self, app: Any, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        given = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"x-request-id"), None)
        request_id = accepted_request_id(given) or uuid.uuid4().hex
        record = RequestRecord(request_id, "WS" if websocket else str(scope.get("method", ""))[:16],
                               str(scope.get("path", ""))[:MAX_LOGGED_PATH], self.metrics)
        token = CURRENT.set(record)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status, sniff, body = 500, False, bytearray()
        failed = responded = False

        async def sending(message: Message) -> None:
            nonlocal status, sniff, responded
            kind = message["type"]
            if kind == "http.response.start":
                responded = True
                status = int(message["status"])
                sniff = self._tag_response(message, record)
            elif kind == "http.response.body" and sniff and len(body) <= MAX_SNIFFED_BODY:
                body.extend(message.get("body", b""))
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close":
                status = int(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            # An error no layer answered: its traceback logged here, once, with the request id (the ASGI server
            # would log it again, without the id, if it were raised further); the client gets a coded 500.
            failed = True
            log.exception("unhandled error")
            if not websocket and not responded:
                await self._answer_internal(sending)
        finally:
            seconds = time.perf_counter() - started
            if sniff and not record.codes and len(body) <= MAX_SNIFFED_BODY:
                for code in _codes_of(bytes(body)):
                    record.add_code(code)
            if failed:
                status = 500
                record.add_code("internal")
            try:
                if self.metrics is not None:
                    self.metrics.observe(record, status, seconds, websocket)
                self._log(record, status, seconds, websocket)
            finally:
                structlog.contextvars.reset_contextvars(**bound)
                CURRENT.reset(token)

    @staticmethod
    def _tag_response(message: Message, record: RequestRecord) -> bool:
        """Adds the request id to the response; says whether its body is to be read for error codes: answers no
        GraphQL extension saw, i.e. refusals of the guard and of the identity check (4xx), and GraphQL documents
        that never parsed (a syntax error stops before the extensions see the answer)."""
        headers = list(message.get("headers") or [])
        headers.append((b"x-request-id", record.request_id.encode()))
        message["headers"] = headers
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        unparsed = record.path == "/graphql" and record.operation_type is None
        return (int(message["status"]) >= 400 or unparsed) and b"json" in content_type

    @staticmethod
    async def _answer_internal(send: Any) -> None:
        answer = orjson.dumps({"errors": [{"message": INTERNAL_MESSAGE, "extensions": {"code": "internal"}}]})
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    @staticmethod
    def _log(record: RequestRecord, status: int, seconds: float, websocket: bool) -> None:
        # 503 is an answer (not ready, overloaded), not a failure of this process: a warning, like a refusal.
        server_error = (status >= 500 and status != 503 and not websocket) or "internal" in record.codes
        client_error = (400 <= status < 500 and not websocket) or bool(record.codes)
        level = "error" if server_error else "warning" if client_error else "info"
        if level == "info" and record.path in QUIET_ROUTES:
            level = "debug"
        fields: dict[str, Any] = {"method": record.method, "path": record.path, "status": status,
                                  "duration_ms": round(seconds * 1000, 2)}
        for name in ("organisation", "role", "operation", "operation_type"):
            value = getattr(record, name)
            if value is not None:
                fields[name] = value if name != "operation" or OPERATION_NAME.fullmatch(value) else "other"
        if record.codes:
            fields["code"] = record.codes[0]
            fields["codes"] = record.codes
        if record.commands:
            fields["commands"] = [f"{command}:{outcome}" for command, outcome in record.commands[:MAX_CODES]]
        getattr(log, level)("request", **fields)  # no exc_info: the error itself was logged where it was met


# Logging --------------------------------------------------------------------------------------------------------

_tracing = False  # set by install_tracing: log lines then carry the trace and span ids


def trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Adds `trace_id` and `span_id` of the current span to a log line, when tracing is on."""
    if _tracing:
        from opentelemetry import trace  # noqa: PLC0415 - only when tracing was installed

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event.setdefault("trace_id", format(context.trace_id, "032x"))
            event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def log_renderer(settings: Settings) -> str:
    if settings.log_format != "auto":
        return settings.log_format
    return "console" if settings.environment == "development" else "json"


def configure_logging(settings: Settings, stream: Any = None) -> None:
    """Every log line of the process (ours, uvicorn's, strawberry's, the libraries') through structlog: JSON with
    an ISO 8601 UTC timestamp, the level, the logger and the request id of the request it belongs to; or coloured
    console lines in development (`PROGRES_LOG_FORMAT`)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        trace_ids,
    ]
    if log_renderer(settings) == "json":
        final: list[Any] = [structlog.processors.format_exc_info,
                            structlog.processors.JSONRenderer(serializer=lambda v, **_: orjson.dumps(
                                v, default=str).decode())]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final])
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# Tracing --------------------------------------------------------------------------------------------------------

OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_requested(environ: MutableMapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or environ.get("OTEL_TRACES_EXPORTER") == "none":
        return False
    return any(environ.get(name) for name in OTEL_VARIABLES)


def install_tracing(api: Any) -> bool:
    """OpenTelemetry tracing of every request, exported over OTLP/HTTP, when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
    is set (the SDK reads its other standard variables itself: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
    OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER...). Unset: nothing is imported, nothing runs."""
    if not tracing_requested():
        return False
    try:
        from opentelemetry import trace  # noqa: PLC0415
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError:
        internal.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
                         "install progres[otel]; no tracing")
        return False
    service = os.environ.get("OTEL_SERVICE_NAME") or "progres"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    api.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider,
                       excluded_urls="health,ready,metrics")
    global _tracing  # noqa: PLW0603 - one switch per process, like the tracer provider itself
    _tracing = True
    return True

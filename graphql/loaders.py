"""What the fields of one request share: the directory of organisations and the objects read by reference,
each loaded once per request (a list of fifty proposals names its authors from one read of the directory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import orjson
import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import FieldNode, OperationDefinitionNode, OperationType
from strawberry.extensions import SchemaExtension

from progres.graphql.context import context_of, off_loop
from progres.projections.ledger import DIRECTORY


class RequestCache(SchemaExtension):
    """Empties the objects loaded by reference at each operation: a WebSocket connection keeps one context for all
    its operations, and an operation must not read what an earlier one loaded."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None:
            context.loaded = {}
        yield
        if context is not None:
            context.loaded = {}


def request_cache(info: strawberry.Info) -> dict[Any, Any]:
    """A dictionary that lives as long as the operation (RequestCache empties it)."""
    context = context_of(info)
    cache = getattr(context, "loaded", None)
    if cache is None:
        cache = {}
        context.loaded = cache  # type: ignore[attr-defined]
    return cache  # type: ignore[no-any-return]


async def ledgers_of(info: strawberry.Info, groupement_ids: list[str]) -> dict[str, Any]:
    return await off_loop(context_of(info).services.models.ledgers, groupement_ids)


async def directory_of(info: strawberry.Info) -> dict[str, dict[str, Any]]:
    """The organisations of the platform by id (every caller sees them, as the `organisations` query)."""
    cache = request_cache(info)
    if "directory" not in cache:
        ledgers = await ledgers_of(info, [DIRECTORY])
        cache["directory"] = ledgers.get(DIRECTORY, {}).get("organisations", {})
    return cache["directory"]  # type: ignore[no-any-return]


# Root fields whose answer is a function of the stored views at the head, of the operation, its variables and the
# caller alone; an argument that reads another moment (or waits for a position) leaves the operation uncached.
FLIGHT_WAIT_SECONDS = 10.0  # longest a request waits for the same answer computed by another; then computes it
CACHEABLE_FIELDS = frozenset({"memberView", "planBalance"})
UNCACHED_ARGUMENTS = frozenset({"asOf", "position", "on", "asKnownAt", "minPosition"})


def cacheable(document: Any, operation_name: str | None) -> bool:
    """Whether the operation is a query made only of the cacheable root fields, none asking for another moment."""
    operations = [d for d in getattr(document, "definitions", ()) if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return bool(selections) and all(
        isinstance(s, FieldNode) and s.name.value in CACHEABLE_FIELDS and not s.directives
        and not any(a.name.value in UNCACHED_ARGUMENTS for a in s.arguments or ()) for s in selections)


class KeptAnswer(Mapping[str, Any]):
    """A kept answer's `data` as the JSON bytes it was kept as: the HTTP route's encoder writes them into the response
    as they are (`encode_kept`, an `orjson.Fragment`), without decoding and encoding them again for each request
    (about 0.3 ms for a 10 kB member view, docs/performance.md); whoever reads it as a mapping gets it decoded."""

    __slots__ = ("_decoded", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._decoded: dict[str, Any] | None = None

    def decoded(self) -> dict[str, Any]:
        if self._decoded is None:
            self._decoded = orjson.loads(self.raw)
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self.decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decoded())

    def __len__(self) -> int:
        return len(self.decoded())


def encode_kept(value: Any) -> Any:
    """orjson's `default`: a kept answer is written as its bytes."""
    if isinstance(value, KeptAnswer):
        return orjson.Fragment(value.raw)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


async def served_state(models: Any) -> Any:
    """The state from memory while the process's follower knows it (no query, no trip off the loop), else read;
    None when it cannot be read (the database gone, say: the read itself meets it and answers as it always did)."""
    state = models.known_state if models.followed else None
    if state is None:
        try:
            state = await off_loop(models.served_state)
        except Exception:
            state = None
    return state


async def computed_meanwhile(flight: tuple[Any, asyncio.Future[Any]] | None, state: Any) -> Any:
    """Single flight: the answer another request of this process is computing for the same question at the same
    state, once it has it (None: none being computed, or it failed: then this request computes it)."""
    if flight is None or flight[0] != state:
        return None
    try:
        return await asyncio.wait_for(asyncio.shield(flight[1]), FLIGHT_WAIT_SECONDS)
    except Exception:  # the wait's end (TimeoutError) included
        return None


class ResponseCache(SchemaExtension):
    """Answers of `memberView` and `planBalance` at the head, kept per process as encoded JSON, keyed by the
    operation, its variables and the caller (organisation and role: what it may read), and valid while the read
    models are where they were when the answer was computed (`ReadModels.served_state`: generation, tracking
    position, versions; read before executing, so an answer is never kept under a state older than what it
    read). The cache answers what executing would answer at that state: the same views, the same access rules
    (the parties are views too), the same notices; any error leaves the answer uncached. The state comes from memory
    while the process's follower knows it (`ReadModels.served_state`), else from one small query; every batch of the
    runner moves it, so under writes the answers are computed again (docs/performance.md, "GraphQL under load")."""

    def __init__(self, entries: int = 2048) -> None:
        self.entries = entries

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        services = getattr(context.context, "services", None)
        actor = getattr(context.context, "actor", None)
        if (services is None or actor is None or not self.entries
                or not cacheable(context.graphql_document, context.operation_name)):
            yield
            return
        state = await served_state(services.models)
        store = services.responses
        try:
            variables = orjson.dumps(context.variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError, e.g. an integer beyond 64 bits: left to the execution to refuse
            state = None
            variables = b""
        key = (context.query, context.operation_name, variables, actor.organisation_id, actor.role.value)
        found = store.get(key)
        if state is not None and found is not None and found[0] == state:
            store.move_to_end(key)
            services.answers.kept += 1
            self.give(found)
            yield
            return
        # Single flight: while this process computes an answer at this state, the same question waits for it
        # rather than computing it again (a cold cache under load would otherwise compute it once per request).
        shared = await computed_meanwhile(services.flights.get(key) if state is not None else None, state)
        if shared is not None:
            services.answers.shared += 1
            self.give(shared)
            yield
            return
        led: asyncio.Future[Any] | None = None
        if state is not None and key not in services.flights:
            led = asyncio.get_running_loop().create_future()
            services.flights[key] = (state, led)
        entry = None
        # A few answers computed at a time per process, the others queued in order: a burst of questions not yet
        # kept (after a start or a write) is answered one after the other instead of all together, each holding its
        # view and its half-built answer, while kept answers go past them (docs/performance.md).
        computing, acquired = services.computing(), False
        try:
            await computing.acquire()
            acquired = True
            found = store.get(key)
            if state is not None and found is not None and found[0] == state:  # kept while this one waited
                services.answers.kept += 1
                entry = found
                self.give(found)
                yield
                return
            yield
            services.answers.computed += 1
            entry = self.keep(store, key, state)
        finally:
            if acquired:
                computing.release()
            if led is not None:
                if services.flights.get(key, (None, None))[1] is led:
                    del services.flights[key]
                led.set_result(entry)  # None: those waiting compute it themselves

    def keep(self, store: Any, key: Any, state: Any) -> tuple[Any, bytes, tuple[Any, ...]] | None:
        """Keeps the answer just computed, unless it has an error or its state is unknown; returns the entry."""
        context = self.execution_context
        result = context.result
        if (state is None or not isinstance(result, GraphQLExecutionResult) or result.errors
                or result.data is None):
            return None
        entry = (state, orjson.dumps(result.data), tuple(getattr(context.context, "notices", None) or ()))
        store[key] = entry
        store.move_to_end(key)
        while len(store) > self.entries:
            store.popitem(last=False)
        return entry

    def give(self, entry: tuple[Any, bytes, tuple[Any, ...]]) -> None:
        """Answers the operation with a kept answer (and its notices), without executing it: over HTTP as the kept
        bytes themselves (`KeptAnswer`, written into the response as they are), elsewhere decoded."""
        context = self.execution_context
        raw = getattr(context.context, "raw_answers", False)
        context.result = GraphQLExecutionResult(data=KeptAnswer(entry[1]) if raw else orjson.loads(entry[1]))
        if entry[2]:
            context.context.notices = list(entry[2])


"""What the fields of one request share: the directory of organisations and the objects read by reference,
each loaded once per request (a list of fifty proposals names its authors from one read of the directory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
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

"""The GraphQL schema executed in process, as a server executes a request, for the tests that need no HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services.policy import Actor
from progres.services.settings import Settings


class InProcessApi:
    """One wiring of the services and one schema; each call acts as `actor` (`organisation:role`, None: anonymous)."""

    def __init__(self, settings: Settings) -> None:
        self.services = Services.wire(settings)
        self.app, self.models = self.services.app, self.services.models
        self.schema = build_schema(settings)

    def answer(self, query: str, variables: dict[str, Any] | None = None, actor: str | None = "platform:admin") -> Any:
        """The whole answer, errors included."""
        context = ProgresContext(self.services, Actor.parse(*actor.split(":")) if actor else None)
        return asyncio.run(self.schema.execute(query, variables, context_value=context))

    def run(self, query: str, variables: dict[str, Any] | None = None, actor: str | None = "platform:admin") -> Any:
        """The data of an answer that must have no error."""
        result = self.answer(query, variables, actor)
        assert result.errors is None, result.errors
        return result.data

    def refusal(self, query: str, variables: dict[str, Any] | None = None,
                actor: str | None = "platform:admin") -> Any:
        """The extensions (code, field) of the first error of an answer that must have one."""
        result = self.answer(query, variables, actor)
        assert result.errors, result.data
        return result.errors[0].extensions

    def head(self) -> int:
        return self.app.max_notification_id() or 0

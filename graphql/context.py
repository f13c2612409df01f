"""What a GraphQL request carries: the process's services and the acting organisation and role."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.fastapi import BaseContext
from strawberry.types import Info

from progres.services.access import Access
from progres.services.bootstrap import bootstrap
from progres.services.commands import Progres
from progres.services.policy import Actor, Policy
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

R = TypeVar("R")
COMPUTED_AT_ONCE = 2  # answers of memberView/planBalance computed at once per process (the others wait in order)


@dataclass
class AnswerCounts:
    """How this process answered the cacheable operations: from a kept answer, from one computed meanwhile by
    another request (single flight), or computed. Logged when the server stops (services/app.py)."""

    kept: int = 0
    shared: int = 0
    computed: int = 0


@dataclass
class Services:
    """Wired once per process by services/app.py."""

    settings: Settings
    app: Progres
    models: ReadModels
    access: Access
    # Answers kept while the read models stay at the same state (graphql/loaders.py ResponseCache), oldest first.
    responses: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    # Answers being computed, by the same key (single flight), and how the cacheable operations were answered.
    flights: dict[Any, Any] = field(default_factory=dict)
    answers: AnswerCounts = field(default_factory=AnswerCounts)
    _computing: asyncio.Semaphore | None = None

    def computing(self) -> asyncio.Semaphore:
        """How many cacheable answers this process computes at once (graphql/loaders.py ResponseCache); made on
        first use, inside the server's event loop."""
        if self._computing is None:
            self._computing = asyncio.Semaphore(COMPUTED_AT_ONCE)
        return self._computing

    @classmethod
    def wire(cls, settings: Settings) -> Services:
        """The application, its read models and the access policy, as a server (or a test) runs them."""
        app = bootstrap(settings)
        models = ReadModels.open(app, settings)
        return cls(settings, app, models, Access(models, Policy()))


class ProgresContext(BaseContext):
    def __init__(self, services: Services, actor: Actor | None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        # Set by the HTTP route, whose encoder writes a kept answer's bytes as they are (graphql/loaders.py KeptAnswer).
        self.raw_answers = False


def context_of(info: Info) -> ProgresContext:
    return info.context  # type: ignore[no-any-return]


def actor_of(info: Info) -> Actor:
    actor = context_of(info).actor
    if actor is None:
        raise PermissionError("unauthenticated: say who acts (organisation and role)")
    return actor


async def off_loop(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Stores and commands are synchronous: run them beside the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)

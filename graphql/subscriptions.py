"""Subscriptions (graphql-transport-ws): a plan's new events and its balance as it changes, live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from progres.graphql.context import actor_of, context_of, off_loop
from progres.graphql.types import Event, PlanBalance

POLL_SECONDS = 0.2


@strawberry.type(description="Les abonnements (graphql-transport-ws) : ce qui change dans un plan, en direct.")
class Subscription:
    @strawberry.subscription(description="Les événements d'un plan après une position du journal, à mesure que les "
                                        "modèles de lecture les reçoivent.")
    async def plan_events(self, info: Info, plan_id: strawberry.ID,
                          after_position: int = 0) -> AsyncGenerator[Event, None]:
        services, actor = context_of(info).services, actor_of(info)
        await off_loop(services.access.readable_plan, actor, str(plan_id))
        position = after_position
        while True:
            rows = await off_loop(services.models.store.history, services.models.projection,
                                  {"plan_id": str(plan_id)}, position, 200)
            for row in rows:
                position = row["position"]
                yield Event.from_row(row)
            if not rows:
                await asyncio.sleep(POLL_SECONDS)

    @strawberry.subscription(description="Le bilan du plan, renvoyé à chacun de ses changements.")
    async def plan_balance_changes(self, info: Info, plan_id: strawberry.ID) -> AsyncGenerator[PlanBalance, None]:
        services, actor = context_of(info).services, actor_of(info)
        _, parties = await off_loop(services.access.readable_plan, actor, str(plan_id))
        seen = -1
        while True:
            found = await off_loop(services.models.store.view, "plan_balances", services.models.projection,
                                   str(plan_id), "")
            if found and found[1]["position"] != seen:
                seen = found[1]["position"]
                yield PlanBalance.from_doc(services.access.balance_for(actor, parties, found[1]))
            await asyncio.sleep(POLL_SECONDS)

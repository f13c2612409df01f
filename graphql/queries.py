"""Queries: thin resolvers over the read models, filtered by the access policy."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from progres.domain.egalim import Territory
from progres.domain.errors import InvalidInput
from progres.graphql.context import actor_of, context_of, off_loop
from progres.graphql.egalim import EgalimShares, EgalimTerritory
from progres.graphql.log_verification import LogVerification
from progres.graphql.permissions import IsAuthenticated
from progres.graphql.types import (
    Connection,
    Edge,
    Event,
    EventFilter,
    Groupement,
    MemberView,
    Organisation,
    PageInfo,
    Plan,
    PlanBalance,
    ReplayStep,
    paginate,
)
from progres.projections.as_of import recording_instant
from progres.projections.ledger import DIRECTORY
from progres.projections.replay import replay_plan
from progres.services.access import Unknown
from progres.services.egalim_reads import member_figures
from progres.services.read_models import ReadModels
from progres.services.time_axes import Moment, member_view_at, moment, plan_at, plan_balance_at

AUTH = [IsAuthenticated]


def event_page(rows: list[dict], first: int) -> Connection[Event]:
    edges = [Edge(cursor=str(r["position"]), node=Event.from_row(r)) for r in rows[:first]]
    return Connection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > first,
                                                      end_cursor=edges[-1].cursor if edges else None),
                      total_count=len(edges))


def position_cursor(after: str | None) -> int:
    try:
        return int(after) if after else 0
    except ValueError:
        raise InvalidInput("after", rule="un curseur d'événements est une position du journal") from None


def recording_time(as_of: str | None) -> str | None:
    """`asOf` as the log records times (as `--as-of` in the CLI); a value that is not an ISO 8601 date or time is
    refused rather than read as "now"."""
    if as_of is None:
        return None
    try:
        return recording_instant(as_of)
    except ValueError:
        raise InvalidInput("asOf", rule="asOf est une date ou une heure ISO 8601 (p. ex. 2025-03-30 ou "
                           "2025-03-30T12:00:00+02:00)") from None


# The two time axes (services/time_axes.py): `on` a business date, `asKnownAt` what the log held then; `asOf` is
# the former name of asKnownAt (an instant), kept for the clients that use it.
AsOf = Annotated[str | None, strawberry.argument(
    deprecation_reason="Utilisez asKnownAt (même sens : un instant ISO 8601, ou une position du journal).")]


def noted(info: Info, doc: dict) -> dict:
    """A notice of the read (nothing recorded yet, a date before the plan's start) is also given in the answer's
    extensions (`notices`), beside the document that carries it."""
    if doc.get("notice"):
        context = context_of(info)
        notices = getattr(context, "notices", None)
        if notices is None:
            notices = []
            context.notices = notices  # type: ignore[attr-defined]
        notices.append(doc["notice"])
    return doc


def check_positions(position: int | None = None, min_position: int | None = None) -> None:
    """Log positions start at 1 (`minPosition` 0 asks for nothing): a negative one is a client's mistake."""
    if position is not None and position < 1:
        raise InvalidInput("position", rule="une position du journal est un entier à partir de 1")
    if min_position is not None and min_position < 0:
        raise InvalidInput("minPosition", rule="une position du journal est un entier à partir de 0")


def fresh_for(models: ReadModels, when: Moment, min_position: int | None) -> None:
    """A read on a business date of what is known now reads the current ledgers: as fresh as asked (the whole log
    when no position is given, as the stored views would be)."""
    if when.known_now and (min_position is not None or not models.followed):
        models.fresh(min_position)


def empty_plan_ledger(ledger: dict, plan_id: str) -> dict:
    """The plan's tree when nothing of it was recorded yet: its identity, nothing else."""
    plan = ledger["plans"][plan_id]
    return {"id": ledger["id"], "plans": {plan_id: {
        "marche_id": plan["marche_id"], "title": "", "axes": {}, "objectives": {}, "indicators": {}, "actions": {},
        "resources": [], "milestones": {}, "gain_sharing": None, "governance": None, "bilan_final": None,
        "measures": {}, "proposals": {}, "reviews": {}}}}


@strawberry.type(description="Les lectures de progres : chacune ne montre que ce que l'appelant "
                             "peut voir.")
class Query:
    @strawberry.field(description="Les organisations connues de la plateforme.", permission_classes=AUTH)
    async def organisations(self, info: Info, first: int = 100, after: str | None = None) -> Connection[Organisation]:
        ledgers = await off_loop(context_of(info).services.models.ledgers, [DIRECTORY])
        directory = ledgers.get(DIRECTORY, {}).get("organisations", {})
        return paginate([Organisation.from_ledger(o) for o in directory.values()], first, after)

    @strawberry.field(description="Les groupements auxquels l'appelant participe (ou qu'il audite).",
                      permission_classes=AUTH)
    async def groupements(self, info: Info) -> list[Groupement]:
        services = context_of(info).services
        readable = await off_loop(services.access.readable_groupements, actor_of(info))
        ledgers = await off_loop(services.models.ledgers, readable)
        return [Groupement.from_ledger(ledgers[g]) for g in readable if g in ledgers]

    @strawberry.field(description="Un plan de progrès : axes → objectifs → indicateurs → mesures, et le reste.",
                      permission_classes=AUTH)
    async def plan(self, info: Info, id: strawberry.ID, min_position: int | None = None, on: str | None = None,
                   as_known_at: str | None = None) -> Plan:
        services, actor = context_of(info).services, actor_of(info)
        check_positions(min_position=min_position)
        when = moment(on, as_known_at)
        if min_position:
            await off_loop(services.models.fresh, min_position)
        groupement_id, parties = await off_loop(services.access.readable_plan, actor, str(id))
        ledger = (await off_loop(services.models.ledgers, [groupement_id]))[groupement_id]
        if str(id) not in ledger["plans"]:  # the id of another entity of a groupement the caller may read
            raise Unknown("id", kind="plan", id=id)
        if not when.now:
            at = await off_loop(plan_at, services.models, str(id), when)
            if at.notice:
                noted(info, {"notice": at.notice})
            ledger = at.ledger if at.ledger is not None else empty_plan_ledger(ledger, str(id))
        return Plan.from_ledger(ledger, str(id), services.access.visible_members(actor, parties))

    @strawberry.field(description="Ce qu'un membre voit d'un plan, maintenant ou à un instant ou une position du "
                                  "journal passés.",
                      permission_classes=AUTH)
    async def member_view(self, info: Info, plan_id: strawberry.ID, member_id: strawberry.ID,
                          as_of: AsOf = None, position: int | None = None,
                          min_position: int | None = None, on: str | None = None,
                          as_known_at: str | None = None) -> MemberView:
        services, actor = context_of(info).services, actor_of(info)
        check_positions(position, min_position)
        when = moment(on, as_known_at, as_of=recording_time(as_of), as_of_asked=as_of, position=position)

        def read() -> dict | None:  # one trip off the event loop for the whole read
            services.access.check_member_view(actor, str(plan_id), str(member_id))
            if not when.now:
                fresh_for(services.models, when, min_position)
                return member_view_at(services.models, str(plan_id), str(member_id), when)
            return services.models.member_view(str(plan_id), str(member_id), min_position)

        doc = await off_loop(read)
        if doc is None:
            raise Unknown("member_id", kind="vue membre", id=member_id)
        return MemberView.from_doc(noted(info, doc))

    @strawberry.field(description="Les parts EGalim d'un membre sur une période, depuis ses achats importés (ma "
                                  "cantine), par famille de produits, avec les seuils du territoire. Visibles de qui "
                                  "voit la vue de ce membre (`memberView`) : le coordonnateur, les auditeurs du "
                                  "groupement, le membre lui-même (et les autres membres et titulaires quand la "
                                  "convention partage le détail des membres).", permission_classes=AUTH)
    async def egalim_shares(
        self, info: Info, plan_id: strawberry.ID, member_id: strawberry.ID, period_start: date, period_end: date,
        territory: EgalimTerritory = Territory.HEXAGONE,  # type: ignore[valid-type]
        min_position: int | None = None,
    ) -> EgalimShares:
        services, actor = context_of(info).services, actor_of(info)
        check_positions(min_position=min_position)

        def read() -> EgalimShares:
            if min_position:  # who may read is decided on the parties as of the position the client saw
                services.models.fresh(min_position)
            services.access.check_member_view(actor, str(plan_id), str(member_id))
            return EgalimShares.of(member_figures(services.app, str(plan_id), str(member_id), period_start,
                                                  period_end, Territory(territory)))

        return await off_loop(read)

    @strawberry.field(description="Le bilan du plan, maintenant ou à un instant (ISO 8601) ou une position du journal "
                                  "passés.",
                      permission_classes=AUTH)
    async def plan_balance(self, info: Info, plan_id: strawberry.ID, as_of: AsOf = None,
                           position: int | None = None, min_position: int | None = None, on: str | None = None,
                           as_known_at: str | None = None) -> PlanBalance:
        services, actor = context_of(info).services, actor_of(info)
        check_positions(position, min_position)
        when = moment(on, as_known_at, as_of=recording_time(as_of), as_of_asked=as_of, position=position)

        def read() -> dict | None:
            _, parties = services.access.readable_plan(actor, str(plan_id))
            if not when.now:
                fresh_for(services.models, when, min_position)
                found = plan_balance_at(services.models, str(plan_id), when)
            else:
                found = services.models.plan_balance(str(plan_id), min_position)
            return services.access.balance_for(actor, parties, found) if found else None

        doc = await off_loop(read)
        if doc is None:
            raise Unknown("plan_id", kind="plan", id=plan_id)
        return PlanBalance.from_doc(noted(info, doc))

    @strawberry.field(description="Auditeurs : les événements d'un groupement, filtrés, dans l'ordre du journal.",
                      permission_classes=AUTH)
    async def events(self, info: Info, filter: EventFilter, first: int = 100,
                     after: str | None = None) -> Connection[Event]:
        services = context_of(info).services
        groupement_id = str(filter.groupement_id) if filter.groupement_id else None
        if groupement_id is None and filter.plan_id:
            groupement_id = await off_loop(services.access.groupement_of, str(filter.plan_id))
        if groupement_id is None:
            raise InvalidInput("filter.groupementId", rule="nommez le groupement (ou le plan) dont vous lisez les "
                                                           "événements")
        await off_loop(services.access.check_history, actor_of(info), groupement_id)
        if not 0 < first <= 1000:
            raise InvalidInput("first", rule="demandez de 1 à 1000 événements")
        filters = {"groupement_id": groupement_id, "plan_id": filter.plan_id, "type": filter.type,
                   "organisation_id": filter.organisation_id, "aggregate_id": filter.aggregate_id,
                   "since": filter.since}
        rows = await off_loop(services.models.store.history, services.models.projection, filters,
                              position_cursor(after), first + 1, filter.until)
        return event_page(rows, first)

    @strawberry.field(description="Auditeurs : l'historique d'un plan rejoué, chaque événement avec l'état du plan "
                                  "après lui.",
                      permission_classes=AUTH)
    async def replay(self, info: Info, plan_id: strawberry.ID, until: str | None = None, first: int = 100,
                     after: str | None = None) -> Connection[ReplayStep]:
        services, actor = context_of(info).services, actor_of(info)

        def steps() -> list[dict]:
            groupement_id = services.access.groupement_of(str(plan_id))
            services.access.check_history(actor, groupement_id)
            after_position = position_cursor(after)
            found = []
            for step in replay_plan(services.app.facts(), str(plan_id), until):
                if step["position"] > after_position:
                    found.append(step)
                    if len(found) > first:
                        break
            return found

        if not 0 < first <= 1000:
            raise InvalidInput("first", rule="demandez de 1 à 1000 étapes")
        found = await off_loop(steps)
        edges = [Edge(cursor=str(s["position"]), node=ReplayStep.from_step(s)) for s in found[:first]]
        return Connection(edges=edges, page_info=PageInfo(has_next_page=len(found) > first,
                                                          end_cursor=edges[-1].cursor if edges else None),
                          total_count=len(edges))

    @strawberry.field(description="Auditeurs : la preuve d'inclusion (RFC 9162) des événements dont un chiffre du "
                      "bilan est calculé, contre la dernière tête d'arbre signée ; `progres audit check-proof` la "
                      "vérifie hors ligne. figure : une clé d'indicateur, suivie éventuellement de .first, .last ou "
                      ".latest.", permission_classes=AUTH)
    async def figure_proof(self, info: Info, plan_id: strawberry.ID, figure: str) -> JSON:
        from progres.services import audit  # noqa: PLC0415

        services, actor = context_of(info).services, actor_of(info)

        def prove() -> dict:
            services.access.check_history(actor, services.access.groupement_of(str(plan_id)))
            balance = services.models.plan_balance(str(plan_id))
            if balance is None:
                raise InvalidInput("planId", rule="aucun plan avec cet identifiant")
            try:
                return audit.figure_proof(services.settings, balance, str(plan_id), figure)
            except audit.ProofRefused as refused:
                raise InvalidInput("figure", rule=str(refused)) from None

        return await off_loop(prove)

    @strawberry.field(description="Auditeurs et coordonnateur : le journal vérifié maintenant, comme `progres audit "
                                  "verify` (chaîne à clé, têtes signées, enregistrements d'adoption, instantanés) : "
                                  "jusqu'où il est intègre, ou sa première anomalie. Le journal est celui de toute la "
                                  "plateforme ; le lit qui peut lire l'historique du groupement nommé.",
                      permission_classes=AUTH)
    async def log_verification(
        self, info: Info,
        plan_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Un plan du groupement dont l'appelant lit l'historique.")] = None,
        groupement_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Ou le groupement lui-même.")] = None,
    ) -> LogVerification:
        from progres.services import audit  # noqa: PLC0415

        services, actor = context_of(info).services, actor_of(info)
        if plan_id is None and groupement_id is None:
            raise InvalidInput("planId", rule="nommez le plan (ou le groupement) dont vous lisez l'historique")

        def check() -> LogVerification:
            groupement = str(groupement_id) if groupement_id else services.access.groupement_of(str(plan_id))
            services.access.check_history(actor, groupement)
            return LogVerification.of(audit.log_status(services.settings, services.app))

        return await off_loop(check)

    @strawberry.field(description="Auditeurs : l'historique de toute entité (groupement, marché, plan, mesure…).",
                      permission_classes=AUTH)
    async def history(self, info: Info, aggregate_id: strawberry.ID, first: int = 100,
                      after: str | None = None) -> Connection[Event]:
        services = context_of(info).services
        groupement_id = await off_loop(services.access.groupement_of, str(aggregate_id))
        await off_loop(services.access.check_history, actor_of(info), groupement_id)
        if not 0 < first <= 1000:
            raise InvalidInput("first", rule="demandez de 1 à 1000 événements")
        rows = await off_loop(services.models.store.history, services.models.projection,
                              {"aggregate_id": str(aggregate_id)}, position_cursor(after), first + 1)
        return event_page(rows, first)

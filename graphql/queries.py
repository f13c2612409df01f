"""Queries: thin resolvers over the read models, filtered by the access policy."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from progres.domain.egalim import Territory
from progres.domain.errors import InvalidInput
from progres.graphql.context import Services, actor_of, context_of, off_loop
from progres.graphql.egalim import EgalimShares, EgalimTerritory
from progres.graphql.identity import Node, parse_global_id
from progres.graphql.log_verification import FigureProof, LogVerification
from progres.graphql.nodes import MAX_NODES, load_node
from progres.graphql.paging import (
    LIST_DEPRECATED,
    After,
    Before,
    Connection,
    First,
    Last,
    PageRequest,
    paginate,
    position_cursor,
    positioned_page,
)
from progres.graphql.permissions import IsAuthenticated
from progres.graphql.types import (
    Event,
    EventFilter,
    Groupement,
    MemberView,
    Organisation,
    Plan,
    PlanBalance,
    ReplayStep,
)
from progres.projections.as_of import BalancePages, recording_instant
from progres.projections.ledger import DIRECTORY
from progres.projections.replay import replay_plan
from progres.services.access import Unknown
from progres.services.egalim_reads import member_figures
from progres.services.read_models import ReadModels
from progres.services.time_axes import Moment, member_view_at, moment, plan_at, plan_balance_pages_at

AUTH = [IsAuthenticated]
EventsFirst = Annotated[int | None, strawberry.argument(
    description="Nombre d'événements voulus depuis le début (ou depuis `after`), de 1 à 1\u202f000 ; ni `first` ni "
                "`last` : les 100 premiers. Jamais avec `last`.")]
EventsLast = Annotated[int | None, strawberry.argument(
    description="Nombre d'événements voulus depuis la fin (ou avant `before`), de 1 à 1\u202f000. Jamais avec "
                "`first`.")]
ReplayFirst = Annotated[int | None, strawberry.argument(
    description="Nombre d'étapes voulues depuis le début (ou depuis `after`), de 1 à 1\u202f000 ; ni `first` ni "
                "`last` : les 100 premières. Jamais avec `last`.")]
ReplayLast = Annotated[int | None, strawberry.argument(
    description="Nombre d'étapes voulues depuis la fin (ou avant `before`), de 1 à 1\u202f000. Jamais avec `first`.")]


EVENT_LIMIT = 1000  # the longest page of events or replay steps


def event_page(services: Services, filters: dict, asked: PageRequest, until: str | None = None) -> Connection[Event]:
    """A page of the history index, forwards (`first`/`after`) or backwards (`last`/`before`), with the count of
    every event matching the filters: cursors are log positions."""
    store, projection = services.models.store, services.models.projection
    after = position_cursor(asked.after, "after") or 0
    before = position_cursor(asked.before, "before")
    size = asked.last if asked.last is not None else asked.first
    assert size is not None
    rows = store.history(projection, filters, after, size + 1, until, before=before,
                         descending=asked.last is not None)
    page = rows[:size]
    low = min((r["position"] for r in page), default=None)
    high = max((r["position"] for r in page), default=None)
    # One row each, not a count: whether anything lies beyond each side of the page.
    more_before = low is not None and bool(store.history(projection, filters, 0, 1, until, before=low))
    more_after = high is not None and bool(store.history(projection, filters, high, 1, until))

    async def total() -> int:
        return await off_loop(store.history_count, projection, filters, 0, until)

    return positioned_page(rows, asked, Event.from_row, total, more_before, more_after)


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
    extensions (`notices`): the typed views carry no notice of their own."""
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
    async def organisations(self, info: Info, first: First = None, after: After = None, last: Last = None,
                            before: Before = None) -> Connection[Organisation]:
        ledgers = await off_loop(context_of(info).services.models.ledgers, [DIRECTORY])
        directory = ledgers.get(DIRECTORY, {}).get("organisations", {})
        return paginate(list(directory.values()), first, after, last, before, build=Organisation.from_ledger)

    @strawberry.field(description="Les groupements auxquels l'appelant participe (ou qu'il audite).",
                      permission_classes=AUTH, deprecation_reason=LIST_DEPRECATED.format("allGroupements"))
    async def groupements(self, info: Info) -> list[Groupement]:
        services = context_of(info).services
        readable = await off_loop(services.access.readable_groupements, actor_of(info))
        ledgers = await off_loop(services.models.ledgers, readable)
        return [Groupement.from_ledger(ledgers[g]) for g in readable if g in ledgers]

    @strawberry.field(description="Les groupements auxquels l'appelant participe (ou qu'il audite), page par page.",
                      permission_classes=AUTH)
    async def all_groupements(self, info: Info, first: First = None, after: After = None, last: Last = None,
                              before: Before = None) -> Connection[Groupement]:
        services = context_of(info).services
        readable = await off_loop(services.access.readable_groupements, actor_of(info))
        ledgers = await off_loop(services.models.ledgers, readable)
        return paginate([ledgers[g] for g in readable if g in ledgers], first, after, last, before,
                        build=Groupement.from_ledger)

    @strawberry.field(description="Un objet par son identifiant global (`nodeId`) : null s'il n'existe pas ou s'il "
                                  "appartient à un groupement que l'appelant ne peut pas lire (les deux cas donnent "
                                  "la même réponse). Un identifiant qui n'est pas un identifiant global est refusé "
                                  "(`invalid_input`, champ `id`).", permission_classes=AUTH)
    async def node(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="Identifiant global (`nodeId`) de l'objet.")]) -> Node | None:
        kind, parts = parse_global_id(str(id), "id")
        return await load_node(info, kind, *parts)  # type: ignore[no-any-return]

    @strawberry.field(description=f"Des objets par leurs identifiants globaux (`nodeId`), dans l'ordre demandé, au "
                                  f"plus {MAX_NODES} : null à la place de chacun qui n'existe pas ou que l'appelant ne "
                                  "peut pas lire. Un identifiant qui n'est pas un identifiant global est refusé "
                                  "(`invalid_input`, champ `ids[i]`).", permission_classes=AUTH)
    async def nodes(self, info: Info, ids: Annotated[list[strawberry.ID], strawberry.argument(
            description=f"Identifiants globaux (`nodeId`) des objets, de 1 à {MAX_NODES}.")]) -> list[Node | None]:
        if not 0 < len(ids) <= MAX_NODES:
            raise InvalidInput("ids", rule=f"demandez de 1 à {MAX_NODES} objets")
        parsed = [parse_global_id(str(i), f"ids[{index}]") for index, i in enumerate(ids)]
        return [await load_node(info, kind, *parts) for kind, parts in parsed]

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
            if min_position:  # as `plan`: the caller's own write (its admission) decides what it may read
                services.models.fresh(min_position)
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

        def read() -> tuple[dict, BalancePages | None] | None:
            _, parties = services.access.readable_plan(actor, str(plan_id))
            pages = None
            if not when.now:
                fresh_for(services.models, when, min_position)
                # as known at a past moment: the members' breakdowns are made for the page asked only (`members`)
                found, pages = plan_balance_pages_at(services.models, str(plan_id), when)
            else:
                found = services.models.plan_balance(str(plan_id), min_position)
            if not found:
                return None
            if pages is not None:
                visible = services.access.visible_members(actor, parties)
                pages = BalancePages([m for m in pages.members if visible is None or m in visible], pages.breakdowns)
            return services.access.balance_for(actor, parties, found), pages

        read_ = await off_loop(read)
        if read_ is None:
            raise Unknown("plan_id", kind="plan", id=plan_id)
        doc, pages = read_
        return PlanBalance.from_doc(noted(info, doc), pages)

    @strawberry.field(description="Auditeurs : les événements d'un groupement, filtrés, dans l'ordre du journal.",
                      permission_classes=AUTH)
    async def events(self, info: Info, filter: EventFilter, first: EventsFirst = None, after: After = None,
                     last: EventsLast = None, before: Before = None) -> Connection[Event]:
        services = context_of(info).services
        groupement_id = str(filter.groupement_id) if filter.groupement_id else None
        if groupement_id is None and filter.plan_id:
            groupement_id = await off_loop(services.access.groupement_of, str(filter.plan_id))
        if groupement_id is None:
            raise InvalidInput("filter.groupementId", rule="nommez le groupement (ou le plan) dont vous lisez les "
                                                           "événements")
        await off_loop(services.access.check_history, actor_of(info), groupement_id)
        asked = PageRequest.of(first, after, last, before, limit=EVENT_LIMIT, what="événements")
        filters = {"groupement_id": groupement_id, "plan_id": filter.plan_id, "type": filter.type,
                   "organisation_id": filter.organisation_id, "aggregate_id": filter.aggregate_id,
                   "since": filter.since}
        return await off_loop(event_page, services, filters, asked, filter.until)

    @strawberry.field(description="Auditeurs : l'historique d'un plan rejoué, chaque événement avec l'état du plan "
                                  "après lui.",
                      permission_classes=AUTH)
    async def replay(self, info: Info, plan_id: strawberry.ID, until: str | None = None, first: ReplayFirst = None,
                     after: After = None, last: ReplayLast = None, before: Before = None) -> Connection[ReplayStep]:
        services, actor = context_of(info).services, actor_of(info)
        asked = PageRequest.of(first, after, last, before, limit=EVENT_LIMIT, what="étapes")
        after_position = position_cursor(asked.after, "after") or 0
        before_position = position_cursor(asked.before, "before")

        def inside(step: dict) -> bool:
            return step["position"] > after_position and (before_position is None
                                                          or step["position"] < before_position)

        def steps() -> tuple[list[dict], bool, bool]:
            """The page (and one step more on the side it is read from), and whether steps lie beyond each side
            of the cut; forwards, the replay stops one step after the page."""
            groupement_id = services.access.groupement_of(str(plan_id))
            services.access.check_history(actor, groupement_id)
            found: list[dict] = []
            more_before = more_after = False
            for step in replay_plan(services.app.facts(), str(plan_id), until):
                if not inside(step):
                    more_before = more_before or step["position"] <= after_position
                    more_after = more_after or (before_position is not None and step["position"] >= before_position)
                    if more_after and asked.last is None:
                        break
                    continue
                found.append(step)
                if asked.last is None and len(found) > asked.first:  # type: ignore[operator]
                    break
            if asked.last is not None:
                found.reverse()
                more_before = more_before or len(found) > asked.last
                return found[:asked.last + 1], more_before, more_after
            return found, more_before, more_after

        async def total() -> int:
            def count() -> int:
                return sum(1 for _ in replay_plan(services.app.facts(), str(plan_id), until))
            return await off_loop(count)

        found, more_before, more_after = await off_loop(steps)
        return positioned_page(found, asked, ReplayStep.from_step, total, more_before, more_after)

    @strawberry.field(description="Auditeurs : la preuve d'inclusion (RFC 9162) des événements dont un chiffre du "
                      "bilan est calculé, contre la dernière tête d'arbre signée ; `progres audit check-proof` la "
                      "vérifie hors ligne. figure : une clé d'indicateur, suivie éventuellement de .first, .last ou "
                      ".latest.", permission_classes=AUTH)
    async def figure_proof(self, info: Info, plan_id: strawberry.ID, figure: str) -> FigureProof:
        from progres.services import audit  # noqa: PLC0415

        services, actor = context_of(info).services, actor_of(info)

        def prove() -> FigureProof:
            services.access.check_history(actor, services.access.groupement_of(str(plan_id)))
            balance = services.models.plan_balance(str(plan_id))
            if balance is None:
                raise InvalidInput("planId", rule="aucun plan avec cet identifiant")
            try:
                return FigureProof.of(audit.figure_proof(services.settings, balance, str(plan_id), figure))
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
    async def history(self, info: Info, aggregate_id: strawberry.ID, first: EventsFirst = None, after: After = None,
                      last: EventsLast = None, before: Before = None) -> Connection[Event]:
        services = context_of(info).services
        groupement_id = await off_loop(services.access.groupement_of, str(aggregate_id))
        await off_loop(services.access.check_history, actor_of(info), groupement_id)
        asked = PageRequest.of(first, after, last, before, limit=EVENT_LIMIT, what="événements")
        return await off_loop(event_page, services, {"aggregate_id": str(aggregate_id)}, asked)

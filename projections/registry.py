# mypy: disable-error-code="attr-defined"
# (the event classes, e.g. `Marche.Notified`, are made by eventsourcing's @event decorator: mypy cannot see them;
# a name that no longer exists fails the import instead, as in ledger.py.)
"""The registry of the read models derived from the groupements' ledgers (issue 12, deliverable 2).

Each read model declares its name, its version, the table it is stored in, the domain events it consumes (by
class) and how its rows are made from a ledger. The store's tables, the runner's batches, the rebuild
(`derived_views`), the readers (`services/read_models.py`, by name) and `progres projections status` iterate
REGISTRY (looked up at each use, never copied): a new read model of this kind is its module and one entry here.

A version different from the one the store recorded for a model makes the runner rebuild that model's rows
beside the old ones, from the ledgers it holds, then switch in one transaction (`projections/runner.py`,
`ProjectionRunner._upgrade_step`); reads keep the old rows meanwhile. See docs/read-models.md, "Versions of a
read model" and "Adding a read model".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from progres.domain.groupements import Groupement
from progres.domain.marches import Marche
from progres.domain.measures import Measure
from progres.domain.plans import ProgressPlan
from progres.projections import member_view, plan_balance
from progres.projections.indicators import PlanFigures
from progres.projections.ledger import DIRECTORY, GROUPEMENT_EVENTS, PLAN_ROUTED_EVENTS, Ledger
from progres.projections.member_view import member_ids
from progres.projections.plan_dashboard import plan_dashboard

Row = tuple[str, str, str, dict[str, Any]]  # (plan or groupement id, member id or "", groupement id, document)
# What a reader of a model stored in parts fetches: the rows of a table for a plan, as (member id, position, document).
Fetch = Callable[[str, str], list[tuple[str, int, Any]]]
# Makes the document a reader sees from its stored row and the rows of other tables: (position, document).
Assemble = Callable[[Fetch, str, str, int, Any], tuple[int, Any]]


@dataclass(frozen=True)
class Scope:
    """What a read model's rows are made from: a groupement's ledger and, for a plan's read model, one plan with
    its figures (computed once per plan for every read model) and the groupement's members."""

    ledger: Ledger
    plan_id: str = ""
    figures: PlanFigures | None = None
    members: tuple[str, ...] = ()
    indicators: frozenset[str] | None = None  # the indicators whose measures changed (None: any may have)


@dataclass(frozen=True)
class ReadModel:
    name: str
    version: int
    table: str
    events: frozenset[type[Any]]  # the domain events whose facts change it (through the ledger's handlers)
    per_plan: bool  # one call per plan of the groupement (else one per groupement)
    rows: Callable[[Scope], Iterable[Row]]
    # Its rows of a member change only with that member's own measures (or the plan's structure): a batch that only
    # recorded or corrected measures rewrites the rows of those measures' members alone.
    member_local: bool = False
    assemble: Assemble | None = None  # for a model stored in parts: how a reader puts its document together
    # the tables `assemble` fetches (by plan): a reader reads them with the model's row in one statement
    parts: tuple[str, ...] = ()


def parties_of(ledger: Ledger) -> dict[str, Any]:
    """The small document access checks read: who coordinates, who is a member, titulaire or auditor. It holds no
    position (v2): made from its own events alone, it is written by the batches that fold one of them, not by every
    batch (3,000 member ids rewritten per new measure at 3,000 members, before)."""
    groupement = ledger["groupement"]
    return {
        "groupement_id": ledger["id"], "coordonnateur_id": groupement["coordonnateur_id"],
        "member_ids": sorted({m["organisation_id"] for m in groupement["memberships"]}),
        "titulaire_ids": sorted({t for m in ledger["marches"].values() for t in m["titulaire_ids"]}),
        "auditor_ids": sorted(groupement.get("auditor_ids", [])),
        "shares_member_details": bool(groupement.get("shares_member_details")),
        "plan_ids": sorted(ledger["plans"]),
    }


# Every event the ledger folds: the views of a plan read the whole of its groupement's ledger.
LEDGER_EVENTS = frozenset(GROUPEMENT_EVENTS) | frozenset(PLAN_ROUTED_EVENTS)
PARTIES_EVENTS = frozenset({
    Groupement.Constituted, Groupement.MemberJoined, Groupement.MemberLeft, Groupement.AuditorAssigned,
    Marche.Notified, Marche.AvenantNotified, ProgressPlan.DrawnUp,
})

def _member_view(fetch: Fetch, plan_id: str, member_id: str, position: int, doc: Any) -> tuple[int, Any]:
    parts = {member: (at, part) for member, at, part in fetch("plan_aggregates", plan_id)}
    header = parts.pop("", None)
    if header is None:
        return position, doc
    return max(position, header[0]), member_view.assemble(doc, header[1], {k: part for k, (_, part) in parts.items()})


def _plan_balance(fetch: Fetch, plan_id: str, member_id: str, position: int, doc: Any) -> tuple[int, Any]:
    if doc.get("members"):  # made whole by a version before the rows (read while the new one is built)
        return position, doc
    positions = {key: part["positions"] for key, _, part in fetch("balance_positions", plan_id)}
    return position, plan_balance.assemble(doc, [part for _, _, part in fetch("balance_members", plan_id)], positions)


def _member_views(s: Scope) -> list[Row]:
    assert s.figures is not None
    return [(s.plan_id, m, s.ledger["id"], member_view.member_part(s.ledger, s.plan_id, m, s.figures))
            for m in s.members]


def _aggregates(s: Scope) -> list[Row]:
    """The plan's part of its member views (position, day, targets in force), then each quantitative indicator's
    groupement series (member id: the indicator's key), those of the indicators whose measures changed."""
    assert s.figures is not None
    g = s.ledger["id"]
    return [(s.plan_id, "", g, member_view.plan_part(s.ledger, s.plan_id)),
            *((s.plan_id, key, g, member_view.series_part(s.figures, key)) for key in s.figures.series
              if s.indicators is None or key in s.indicators)]


def _balance_members(s: Scope) -> list[Row]:
    assert s.figures is not None
    ranks = s.figures.memo.get(BALANCE_RANKS_MEMO)
    if ranks is None:  # (made once per figures: a batch of one measure does not walk the members)
        ranks = s.figures.memo[BALANCE_RANKS_MEMO] = {
            m: rank for rank, m in enumerate(plan_balance.balance_members(s.ledger, s.figures))}
    return [(s.plan_id, m, s.ledger["id"], plan_balance.member_part(s.ledger, s.plan_id, s.figures, m, ranks[m]))
            for m in sorted((m for m in set(s.members) if m in ranks), key=ranks.__getitem__)]


def _balance_positions(s: Scope) -> list[Row]:
    assert s.figures is not None
    return [(s.plan_id, key, s.ledger["id"], {"positions": positions})
            for key, positions in plan_balance.positions_parts(s.ledger, s.plan_id, s.figures, s.indicators)]


REGISTRY: tuple[ReadModel, ...] = (
    # v2: no position in the document, written by the batches that fold one of its events only
    ReadModel("groupement_parties", 2, "groupement_parties", PARTIES_EVENTS, False,
              lambda s: [(s.ledger["id"], "", s.ledger["id"], parties_of(s.ledger))]),
    ReadModel("plan_dashboard", 1, "plan_dashboards", LEDGER_EVENTS, True,
              lambda s: [(s.plan_id, "", s.ledger["id"], plan_dashboard(s.ledger, s.plan_id, s.figures))]),
    # The log positions behind each indicator's first and last groupement figures (one row per indicator and figure,
    # written when it changed): before plan_balance, whose v3 rows need them (a version switch goes in this order).
    ReadModel("balance_positions", 1, "balance_positions", LEDGER_EVENTS, True, _balance_positions),
    # v2: the members' breakdown and standing moved to balance_members (one row per member); v3: the positions behind
    # the indicators' figures moved to balance_positions (they grow with the members: one per member's measure)
    ReadModel("plan_balance", 3, "plan_balances", LEDGER_EVENTS, True,
              lambda s: [(s.plan_id, "", s.ledger["id"],
                          plan_balance.balance_part(s.ledger, s.plan_id, s.figures, positions=False))],
              assemble=_plan_balance, parts=("balance_members", "balance_positions")),
    ReadModel("balance_members", 1, "balance_members", LEDGER_EVENTS, True, _balance_members, member_local=True),
    # v2: the day's part and the groupement's series moved to plan_aggregates (one row per plan, one per indicator)
    ReadModel("member_view", 2, "member_views", LEDGER_EVENTS, True, _member_views, member_local=True,
              assemble=_member_view, parts=("plan_aggregates",)),
    ReadModel("plan_aggregates", 1, "plan_aggregates", LEDGER_EVENTS, True, _aggregates),
)
# The store's own tables; `measures`: the ledgers' measures as rows keyed by (plan, indicator, member, period).
STORE_TABLES = frozenset({"tracking", "active", "ledgers", "measures", "routes", "history", "checkpoints",
                          "model_versions"})
TABLES = tuple(model.table for model in REGISTRY)  # the tables of the read models declared in this module


def tables() -> tuple[str, ...]:
    """The tables of every read model registered now (a test may register one of its own)."""
    return tuple(model.table for model in REGISTRY)


def read_model(name: str) -> ReadModel:
    """The read model of that name: readers find their table through it."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise KeyError(f"no read model named {name!r}")


MEASURE_EVENTS = frozenset({Measure.Recorded, Measure.Corrected})  # what a batch of `changed` (below) folded alone
MEMBERS_MEMO, RANKS_MEMO = "views:members", "views:member_ranks"
BALANCE_RANKS_MEMO = "views:balance_ranks"  # what `derived_views` keeps in `PlanFigures.memo`
Changed = dict[str, tuple[frozenset[str] | None, frozenset[str]]]  # plan -> (members or None for all, indicators)


def derived_views(ledger: Ledger, models: Iterable[ReadModel] | None = None,
                  figures: dict[str, PlanFigures] | None = None,
                  changed: Changed | None = None) -> dict[str, list[Row]]:
    """Every row of every read model (or of those given) of a groupement's ledger, by table: what a batch writes.

    `figures`: each plan's figures when the caller holds them (a runner); `changed`: when the batch only recorded or
    corrected measures, per plan the members whose measures changed (None: all, e.g. a groupement's measure) and the
    indicators; then models whose member rows are `member_local` make those members' rows only, and the plan's
    aggregates those indicators' rows only."""
    chosen = tuple(REGISTRY if models is None else models)
    views: dict[str, list[Row]] = {model.table: [] for model in chosen}
    if ledger["id"] == DIRECTORY or ledger.get("groupement") is None:
        return views
    whole = Scope(ledger)
    for model in chosen:
        # a batch that only recorded or corrected measures leaves a model fed by other events as it was
        if not model.per_plan and (changed is None or model.events & MEASURE_EVENTS):
            views[model.table].extend(model.rows(whole))
    if not any(model.per_plan for model in chosen):
        return views
    made: tuple[str, ...] | None = None
    for plan_id, plan in ledger["plans"].items():
        plan_figures = (figures or {}).get(plan_id) or PlanFigures.of(plan, ledger)
        # the members and their ranks depend on the structure alone: kept with the figures (a runner's, from batch to
        # batch), not made again from the memberships by each batch
        members = plan_figures.memo.get(MEMBERS_MEMO)
        if members is None:
            members = plan_figures.memo[MEMBERS_MEMO] = made = made or tuple(member_ids(ledger))
        scope = Scope(ledger, plan_id, plan_figures, members)
        change = (changed or {}).get(plan_id)
        if change is not None:
            touched, indicators = change
            if touched is not None:
                ranks = plan_figures.memo.get(RANKS_MEMO)
                if ranks is None:
                    ranks = plan_figures.memo[RANKS_MEMO] = {m: rank for rank, m in enumerate(members)}
                touched_members = tuple(sorted((m for m in touched if m in ranks), key=ranks.__getitem__))
            local = scope if touched is None else Scope(ledger, plan_id, plan_figures, touched_members)
            scope = Scope(ledger, plan_id, plan_figures, members, indicators)
        for model in chosen:
            if model.per_plan:
                views[model.table].extend(model.rows(local if change is not None and model.member_local else scope))
    return views


def _check() -> None:
    """At import: one table and one name per read model (identifiers; not a table of the store's own), events that
    the ledger folds."""
    names, tables = [m.name for m in REGISTRY], [m.table for m in REGISTRY]
    if len(set(names)) != len(names) or len(set(tables)) != len(tables):
        raise TypeError(f"read models named or stored twice: {names}, {tables}")
    if set(tables) & STORE_TABLES or not all(t.isidentifier() and n.isidentifier() for t, n in zip(tables, names,
                                                                                                   strict=True)):
        raise TypeError(f"read model tables must be identifiers other than the store's own: {tables}, {names}")
    for model in REGISTRY:
        if not model.events <= LEDGER_EVENTS or model.version < 1:
            raise TypeError(f"read model {model.name}: its events must be folded by the ledger, its version >= 1")


_check()

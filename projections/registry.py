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
from progres.domain.plans import ProgressPlan
from progres.projections.indicators import PlanFigures
from progres.projections.ledger import DIRECTORY, GROUPEMENT_EVENTS, PLAN_ROUTED_EVENTS, Ledger
from progres.projections.member_view import member_ids, member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.plan_dashboard import plan_dashboard

Row = tuple[str, str, str, dict[str, Any]]  # (plan or groupement id, member id or "", groupement id, document)


@dataclass(frozen=True)
class Scope:
    """What a read model's rows are made from: a groupement's ledger and, for a plan's read model, one plan with
    its figures (computed once per plan for every read model) and the groupement's members."""

    ledger: Ledger
    plan_id: str = ""
    figures: PlanFigures | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadModel:
    name: str
    version: int
    table: str
    events: frozenset[type[Any]]  # the domain events whose facts change it (through the ledger's handlers)
    per_plan: bool  # one call per plan of the groupement (else one per groupement)
    rows: Callable[[Scope], Iterable[Row]]


def parties_of(ledger: Ledger) -> dict[str, Any]:
    """The small document access checks read: who coordinates, who is a member, titulaire or auditor."""
    groupement = ledger["groupement"]
    return {
        "groupement_id": ledger["id"], "coordonnateur_id": groupement["coordonnateur_id"],
        "member_ids": sorted({m["organisation_id"] for m in groupement["memberships"]}),
        "titulaire_ids": sorted({t for m in ledger["marches"].values() for t in m["titulaire_ids"]}),
        "auditor_ids": sorted(groupement.get("auditor_ids", [])),
        "shares_member_details": bool(groupement.get("shares_member_details")),
        "plan_ids": sorted(ledger["plans"]), "position": ledger["position"],
    }


# Every event the ledger folds: the views of a plan read the whole of its groupement's ledger.
LEDGER_EVENTS = frozenset(GROUPEMENT_EVENTS) | frozenset(PLAN_ROUTED_EVENTS)
PARTIES_EVENTS = frozenset({
    Groupement.Constituted, Groupement.MemberJoined, Groupement.MemberLeft, Groupement.AuditorAssigned,
    Marche.Notified, Marche.AvenantNotified, ProgressPlan.DrawnUp,
})

REGISTRY: tuple[ReadModel, ...] = (
    ReadModel("groupement_parties", 1, "groupement_parties", PARTIES_EVENTS, False,
              lambda s: [(s.ledger["id"], "", s.ledger["id"], parties_of(s.ledger))]),
    ReadModel("plan_dashboard", 1, "plan_dashboards", LEDGER_EVENTS, True,
              lambda s: [(s.plan_id, "", s.ledger["id"], plan_dashboard(s.ledger, s.plan_id, s.figures))]),
    ReadModel("plan_balance", 1, "plan_balances", LEDGER_EVENTS, True,
              lambda s: [(s.plan_id, "", s.ledger["id"], plan_balance(s.ledger, s.plan_id, s.figures))]),
    ReadModel("member_view", 1, "member_views", LEDGER_EVENTS, True,
              lambda s: [(s.plan_id, m, s.ledger["id"], member_view(s.ledger, s.plan_id, m, s.figures))
                         for m in s.members]),
)
STORE_TABLES = frozenset({"tracking", "active", "ledgers", "routes", "history", "checkpoints", "model_versions"})
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


def derived_views(ledger: Ledger, models: Iterable[ReadModel] | None = None) -> dict[str, list[Row]]:
    """Every row of every read model (or of those given) of a groupement's ledger, by table: what a batch writes."""
    chosen = tuple(REGISTRY if models is None else models)
    views: dict[str, list[Row]] = {model.table: [] for model in chosen}
    if ledger["id"] == DIRECTORY or ledger.get("groupement") is None:
        return views
    whole = Scope(ledger)
    for model in chosen:
        if not model.per_plan:
            views[model.table].extend(model.rows(whole))
    if not any(model.per_plan for model in chosen):
        return views
    members = tuple(member_ids(ledger))
    for plan_id, plan in ledger["plans"].items():
        scope = Scope(ledger, plan_id, PlanFigures.of(plan, ledger), members)
        for model in chosen:
            if model.per_plan:
                views[model.table].extend(model.rows(scope))
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

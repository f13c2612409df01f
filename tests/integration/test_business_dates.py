"""The views on a business date (issue 12, must-show 1): for random histories — members joining and leaving on
random dates, a trajectory of targets, avenants notified on random dates, measures over periods, corrections —
the member views and the plan balance `on` a random day and on every day of the history where a rule's boundary
lies (and the day before it), as known at a random log position (or now), equal a recomputation written here from
the raw events, without the projection code.

It fails when a rule is broken: each of `member_on` (day <= left_on), `notified_by` (notified_on < day),
`target_in_force` (start < day), the period filter of projections/business_date.py (period_end < day) and its
membership filter (a member joining after the day kept) was tried, and each made it fail.

The recomputation states the rules as plainly as it can: a member on a day has a stay [joined, left) covering it;
the target in force is the last trajectory step started by then; an avenant is in force once notified on or
before the day; the groupement's figure of a period ended by the day combines the measures of the marché's
parties (its members on the launch day) that count under the convention's withdrawal clause; before the plan's
start (its marché's notification) no member is in force and no period shown.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from progres.domain.errors import DomainError
from progres.domain.values import siret_with_key
from progres.projections.stores.sqlite import SqliteStore
from progres.services.commands import Progres
from progres.services.read_models import ReadModels
from progres.services.time_axes import Moment, member_view_at, plan_balance_at
from tests.conftest import ADHESION, CONVENTION

FIRST_DAY = date(2021, 1, 1)
DAYS = (date(2024, 12, 31) - FIRST_DAY).days
NOTIFIED_ON = "2022-01-01"
SEMESTERS = [("2022-01-01", "2022-06-30"), ("2022-07-01", "2022-12-31"), ("2023-01-01", "2023-06-30"),
             ("2023-07-01", "2023-12-31"), ("2024-01-01", "2024-06-30")]
MEMBERS = 4
PLACES = Decimal("0.01")


def day(offset: int) -> str:
    return (FIRST_DAY + timedelta(days=offset)).isoformat()


@dataclass
class World:
    app: Progres
    region: str
    lycees: list[str]
    titulaire: str
    groupement: str
    marche: str
    plan: str
    measures: list[str] = field(default_factory=list)


def build(app: Progres, clause: str, first_joins: list[int], aggregation: str,
          trajectory: list[tuple[int, int]]) -> World:
    org = lambda prefix, name, kind: app.register_organisation(siret_with_key(prefix), name, kind).id  # noqa: E731
    region = org("2000537670001", "Région", "collectivite")
    lycees = [org(f"19620012{i}0001", f"Lycée {i}", "eple") for i in range(MEMBERS)]
    titulaire = org("4190012340001", "Laiterie", "supplier")
    groupement = app.constitute_groupement("GC-DATES", "Groupement", "Achats", True, region, "2021-01-01",
                                           CONVENTION, withdrawal_clause=clause).id
    for lycee, offset in zip(lycees, first_joins, strict=True):  # some before the launch, some after
        with contextlib.suppress(DomainError):
            app.admit_member(groupement, lycee, day(offset), ADHESION, day(offset))
    marche = app.notify_marche(groupement, "2022-BOF", "BOF", "15500000-3", "fournitures", [titulaire], "100000",
                               36, NOTIFIED_ON, has_clause_reexamen=True).id
    plan = app.draw_up_plan(marche, "Plan").id
    app.add_axis(plan, "egalim", "EGalim")
    app.add_objective(plan, "criteres", "egalim", "Critères", "resultats")
    steps = sorted(dict(trajectory).items())  # one step a day, starts increasing
    app.define_indicator(plan, {"key": "share", "objective_key": "criteres", "name": "Part", "kind": "quantitative",
                                "unit": "%", "baseline": 20, "target": 60, "direction": "increase",
                                "periodicity": "semestrial", "scope": "member", "aggregation": aggregation,
                                "trajectory": [{"from": day(o), "target": str(t)} for o, t in steps]})
    return World(app, region, lycees, titulaire, groupement, marche, plan)


def perform(world: World, op: str, a: int, b: int, when: int) -> None:
    app, member = world.app, world.lycees[a % MEMBERS]
    if op == "join":
        app.admit_member(world.groupement, member, day(when), ADHESION, day(when))
    elif op == "leave":
        app.release_member(world.groupement, member, day(when))
    elif op == "measure":
        start, end = SEMESTERS[b % len(SEMESTERS)]
        world.measures.append(app.record_measure(world.plan, "share", member, start, end, "factures", member, end,
                                                 value=b).id)
    elif op == "correct" and world.measures:
        app.correct_measure(world.measures[a % len(world.measures)], "erreur", world.region, "2024-06-01",
                            value=b + 0.5)
    elif op == "avenant":
        proposed = max(when, 366)  # after the marché's notification
        number = int(app.propose_avenant(world.marche, "R2194-1", "raison", {"amount_delta": str(b - 50)},
                                         on=day(proposed)).id.rsplit("#", 1)[1])
        if a % 4 != 1:  # most are signed, then notified; some stay proposed, some signed
            app.sign_avenant(world.marche, number, day(proposed + 1))
            if a % 4 != 3:
                app.notify_avenant(world.marche, number, day(proposed + 1 + b))


# The recomputation, from the raw events only.
def expected(facts: list[Any], plan: str, on: str) -> dict[str, Any]:  # noqa: PLR0912
    stays: dict[str, list[list[str | None]]] = {}
    clause, coordonnateur, launched, parties, initial = None, None, None, None, None
    deltas: dict[int, Decimal] = {}
    notified: dict[int, str] = {}
    spec: dict[str, Any] = {}
    measures: dict[str, list[Any]] = {}
    plan_seen = False
    for fact in facts:
        data = fact.data
        if fact.kind == "Groupement.Constituted":
            clause, coordonnateur = data["withdrawal_clause"], data["coordonnateur_id"]
            stays[coordonnateur] = [[data["signed_on"], None]]
        elif fact.kind == "Groupement.MemberJoined":
            stays.setdefault(data["organisation_id"], []).append([data["on"], None])
        elif fact.kind == "Groupement.MemberLeft":
            stays[data["organisation_id"]][-1][1] = data["on"]
        elif fact.kind == "Marche.Notified":
            launched, parties, initial = data["launched_on"], set(data["party_ids"]), Decimal(data["initial_amount"])
        elif fact.kind == "Marche.AvenantProposed":
            deltas[data["number"]] = Decimal(data["changes"]["amount_delta"])
        elif fact.kind == "Marche.AvenantNotified":
            notified[data["number"]] = data["notified_on"]
        elif fact.kind == "ProgressPlan.DrawnUp":
            plan_seen = fact.aggregate_id == plan
        elif fact.kind == "ProgressPlan.IndicatorDefined":
            spec = data["spec"]
        elif fact.kind == "Measure.Recorded":
            measures[fact.aggregate_id] = [data["member_id"], data["period_start"], data["period_end"],
                                           Decimal(data["value"])]
        elif fact.kind == "Measure.Corrected":
            measures[fact.aggregate_id][3] = Decimal(data["value"])
    if not plan_seen:
        return {"recorded": False}
    started = on >= NOTIFIED_ON

    def member_on(org: str) -> bool:
        return started and any(joined <= on and (left is None or on < left) for joined, left in stays.get(org, []))

    def counts(org: str, start: str, end: str) -> bool:
        if org not in parties:
            return False
        launch_stay = next((s for s in stays[org] if s[0] <= launched and (s[1] is None or launched < s[1])), None)
        left = launch_stay[1] if launch_stay else launched
        if left is not None and left > on:
            left = None  # on that day, it had not left yet
        if left is None or end < left:
            return True
        return clause == "bound_until_marche_end" or start < left

    if not spec:  # known before the indicator was defined
        return {**figures(stays, coordonnateur, started, on, initial, deltas, notified, member_on), "target": None}
    target = Decimal(spec["target"])
    for step in spec.get("trajectory") or []:
        if step["from"] <= on:
            target = Decimal(step["target"])
    periods: dict[tuple[str, str], list[Decimal]] = {}
    for org, start, end, value in measures.values():
        if started and end <= on:
            periods.setdefault((start, end), [])
            if counts(org, start, end):
                periods[(start, end)].append(value)
    series = []
    for (_, end), values in sorted(periods.items()):
        total = sum(values, Decimal(0))
        figure = None if not values else (total if spec["aggregation"] == "sum" else total / len(values))
        series.append({"period_end": end, "value": None if figure is None else str(figure.quantize(PLACES)),
                       "members": len(values)})
    return {**figures(stays, coordonnateur, started, on, initial, deltas, notified, member_on),
            "target": str(target), "series": series}


def figures(stays: dict[str, Any], coordonnateur: str, started: bool, on: str, initial: Decimal,
            deltas: dict[int, Decimal], notified: dict[int, str], member_on: Any) -> dict[str, Any]:
    """What does not depend on the indicator: members, the marché's amount and its avenants in force."""
    amount = initial + sum((d for n, d in deltas.items() if n in notified and notified[n] <= on), Decimal(0))
    return {
        "recorded": True, "before_start": not started, "series": [],
        "active": {m: member_on(m) for m in stays if m != coordonnateur}, "amount": str(amount),
        "avenants": sorted(n for n, d in notified.items() if d <= on),
        "members": sorted(o for o, s in stays.items() if started and o != coordonnateur and s[0][0] <= on),
    }


OPERATIONS = st.lists(st.tuples(st.sampled_from(["join", "leave", "leave", "measure", "measure", "measure",
                                                 "measure", "measure", "correct", "avenant", "avenant"]),
                                st.integers(0, 20), st.integers(0, 100), st.integers(0, DAYS)),
                      min_size=10, max_size=40)
ON = st.one_of(st.integers(547, DAYS + 30), st.integers(-30, DAYS + 30))  # mostly after the plan's start
# Besides the random day, every day of the history where a rule's boundary lies, and the day before it: a member
# leaving that day is no longer one; a trajectory step starting, an avenant notified, a period ending that day
# are in force or counted.
BOUNDARIES = {"Groupement.MemberLeft": "on", "Groupement.MemberJoined": "on", "Marche.AvenantNotified": "notified_on",
              "Measure.Recorded": "period_end"}


def boundaries(facts: list[Any]) -> list[str]:
    found = {f.data[BOUNDARIES[f.kind]] for f in facts if f.kind in BOUNDARIES}
    found |= {s["from"] for f in facts if f.kind == "ProgressPlan.IndicatorDefined"
              for s in f.data["spec"].get("trajectory") or []}
    return sorted({d for found_day in found for d in (found_day, (date.fromisoformat(found_day)
                                                                  - timedelta(days=1)).isoformat())})


CUT = st.one_of(st.none(), st.floats(0.6, 1), st.floats(0, 1))  # now, or a position: mostly late in the log


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clause=st.sampled_from(["bound_until_marche_end", "ends_at_withdrawal"]),
       first_joins=st.lists(st.integers(0, 600), min_size=MEMBERS, max_size=MEMBERS),
       aggregation=st.sampled_from(["sum", "mean"]),
       trajectory=st.lists(st.tuples(st.integers(0, DAYS), st.integers(20, 80)), max_size=4),
       operations=OPERATIONS, on=ON, cut=CUT)
def test_views_on_a_business_date_equal_a_recomputation_from_the_events(clause, first_joins, aggregation,
                                                                        trajectory, operations, on, cut):
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    world = build(app, clause, first_joins, aggregation, trajectory)
    for op, a, b, when in operations:
        with contextlib.suppress(DomainError):  # refused commands write nothing; the events say what happened
            perform(world, op, a, b, when)
    facts = list(app.facts())
    head = facts[-1].position
    position = None if cut is None else max(1, round(cut * head))
    known = [f for f in facts if position is None or f.position <= position]
    with tempfile.TemporaryDirectory() as directory:
        models = ReadModels(app, SqliteStore(Path(directory) / "views.sqlite3"))
        models.fresh(None)
        for business_day in [day(on), *boundaries(facts)]:
            check(models, world, known, position, business_day)
        models.close()


def check(models: ReadModels, world: World, known: list[Any], position: int | None, business_day: str) -> None:
    """The views on `business_day` as known at `position` (None: now) against the recomputation."""
    want = expected(known, world.plan, business_day)
    when = Moment(on=business_day, position=position)
    balance = plan_balance_at(models, world.plan, when)
    views = {m: member_view_at(models, world.plan, m, when) for m in world.lycees}
    event(f"avenants notified: {bool(want.get('avenants'))}")
    event("plan not recorded yet" if not want["recorded"] else "before the plan's start" if want["before_start"]
          else "with periods" if want["series"] else "without periods")
    if not want["recorded"]:
        assert balance["notice"]["code"] == "plan_not_recorded_yet"
        assert balance["axes"] == []
        return
    assert (balance.get("notice") or {}).get("code") == ("before_plan_start" if want["before_start"] else None)
    assert balance["as_of_day"] == business_day
    assert balance["marche"]["current_amount"] == want["amount"], business_day
    assert sorted(a["number"] for a in balance["avenants"] if a["status"] == "notified") == want["avenants"]
    assert sorted(balance["members"]) == want["members"]
    for member, view in views.items():
        assert view["active"] is want["active"].get(member, False), (member, business_day)
        assert [a["number"] for a in view["avenants"]] == want["avenants"]
        if want["target"] is None:
            assert view["indicators"] == []
            continue
        (share,) = view["indicators"]
        assert share["target_in_force"] == want["target"], business_day
        assert share["groupement"] == want["series"], business_day
        assert all(o["period_end"] <= business_day for o in share["observations"])

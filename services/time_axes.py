"""The two time axes of every read, for the API and the command line alike.

- `on` (business date, `--on`): the plan as it stood on that day — members in force, targets and avenants in
  force, periods ended by then (projections/business_date.py, on the rules of domain/rules.py);
- `asKnownAt` (`--as-known-at`; `asOf` / `--as-of` are its former names, kept): what the log held at an
  instant (ISO 8601) or a log position (projections/as_of.py).

They are independent: "the plan on 30 March 2025, as it was known on 1 April 2025" is both. A moment before
anything was recorded, or before the plan was, answers an empty state with a notice (code, field, French
message), never an error; a business date before the plan's start answers the plan with no member in force
and no period, with a notice too. A value that is neither a date, an instant nor a position is refused with
`invalid_input` and the field at fault.

French text of these reads is kept in MESSAGES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from progres.domain.errors import InvalidInput
from progres.projections.as_of import AsOf, BalancePages, UnknownPlan, recording_instant
from progres.projections.business_date import before_start, ledger_on, plan_start
from progres.projections.ledger import Ledger
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.plan_dashboard import plan_dashboard
from progres.services import french
from progres.services.read_models import ReadModels

NOTHING_RECORDED = "nothing_recorded_yet"
PLAN_NOT_RECORDED = "plan_not_recorded_yet"
BEFORE_PLAN_START = "before_plan_start"

MESSAGES = {
    "bad_on": "« {value} » n'est pas une date au format aaaa-mm-jj",
    "bad_known_at": "« {value} » n'est ni une date ou un instant ISO 8601 (aaaa-mm-jj ou aaaa-mm-jjThh:mm[:ss]"
                    "[+hh:mm], UTC par défaut) ni une position du journal (un entier, 1 ou plus)",
    "one_known_at": "choisissez un seul de {fields} : ils disent tous à quel moment du journal lire",
    "nothing_at_time": "rien n'était encore enregistré au {at} (le premier événement date du {first}) : état vide",
    "nothing_at_position": "rien n'était encore enregistré à la position {at} du journal : état vide",
    "plan_not_yet": "le plan n'était pas encore enregistré à ce moment (position {at} du journal) : état vide",
    "before_start": "le {on}, le plan n'avait pas commencé (son marché est notifié le {start}) : aucun membre "
                    "en vigueur, aucune période",
}
LIMIT = 30  # what is quoted of a value refused


def _quoted(value: str) -> str:
    return value if len(value) <= LIMIT else value[:LIMIT] + "…"


@dataclass(frozen=True)
class Moment:
    """When a read is made: a business day (ISO, None: the day of the last recorded fact), and what the log held
    at a position or instant (both None: now). `field` names the argument of the second axis, for notices."""

    on: str | None = None
    position: int | None = None
    timestamp: str | None = None
    field: str = "asKnownAt"
    asked: str | None = None  # the instant as the caller wrote it (quoted, briefly, by a notice)
    on_field: str = "on"

    @property
    def now(self) -> bool:
        return self.on is None and self.position is None and self.timestamp is None

    @property
    def known_now(self) -> bool:
        return self.position is None and self.timestamp is None


def business_day(value: str | date | None, field: str = "on") -> str | None:
    """`on` as an ISO day (aaaa-mm-jj); anything else is refused, naming the field."""
    if value is None or isinstance(value, date):
        return value.isoformat() if value is not None else None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise InvalidInput(field, rule=MESSAGES["bad_on"].format(value=_quoted(value))) from None


def known_at(value: str | None, field: str = "asKnownAt") -> tuple[int | None, str | None]:
    """`asKnownAt` as (position, None) for a whole number, (None, instant) for an ISO 8601 date or time."""
    if value is None:
        return None, None
    text = value.strip()
    if text.lstrip("+-").isdigit():
        position = int(text)
        if position < 1:
            raise InvalidInput(field, rule=MESSAGES["bad_known_at"].format(value=_quoted(value)))
        return position, None
    try:
        return None, recording_instant(text)
    except ValueError:
        raise InvalidInput(field, rule=MESSAGES["bad_known_at"].format(value=_quoted(value))) from None


FIELDS = ("on", "asKnownAt", "asOf", "position")  # the GraphQL arguments of both axes


def moment(on: str | date | None = None, as_known_at: str | None = None, *, as_of: str | None = None,
           as_of_asked: str | None = None, position: int | None = None,
           fields: tuple[str, str, str, str] = FIELDS) -> Moment:
    """Both axes from a read's arguments. `as_of` (a former name of asKnownAt, already read as the log records
    times: `recording_instant`) and `position` keep their meaning; asKnownAt with either is refused (which moment
    would it be?)."""
    on_field, known_field, as_of_field, position_field = fields
    day = business_day(on, on_field)
    if as_known_at is not None:
        if as_of is not None or position is not None:
            raise InvalidInput(known_field, rule=MESSAGES["one_known_at"].format(
                fields=f"{known_field}, {as_of_field} et {position_field}"))
        at, timestamp = known_at(as_known_at, known_field)
        return Moment(day, at, timestamp, known_field, as_known_at, on_field)
    if position is not None:
        return Moment(day, position, None, position_field, str(position), on_field)
    if as_of is not None:
        return Moment(day, None, as_of, as_of_field, as_of_asked or as_of, on_field)
    return Moment(day, on_field=on_field)


def notice(code: str, field: str, message: str) -> dict[str, str]:
    return {"code": code, "field": field, "message": message}


@dataclass
class PlanAt:
    """A plan's groupement ledger at a moment (None: nothing of the plan was recorded then), with its notice; for a
    view read as known at a moment without a business date, the view itself (made by AsOf, see `_plan_at`)."""

    plan_id: str
    ledger: Ledger | None
    position: int
    day: str | None
    notice: dict[str, str] | None = None

    def with_notice(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "notice": self.notice} if self.notice else doc


def plan_at(models: ReadModels, plan_id: str, when: Moment) -> PlanAt:
    """The plan's groupement ledger as known at `when`'s position or instant, restricted to its business day."""
    return _plan_at(models, plan_id, when, lambda reader, position: reader.plan_ledger(plan_id, position))


def _plan_at(models: ReadModels, plan_id: str, when: Moment, read: Callable[[AsOf, int], Any]) -> PlanAt:
    """`read` gives what the log held at a past position (the ledger, or a view made from rows by AsOf)."""
    if when.known_now:
        route = models.route(plan_id)
        ledger: Ledger | None = models.ledgers([route.groupement_id]).get(route.groupement_id) if route else None
        if ledger is None or plan_id not in ledger["plans"]:
            raise UnknownPlan("planId", id=plan_id)
        position = int(ledger["position"])
    else:
        models.reached(when.position, when.field)
        reader = models.as_of()
        position = when.position if when.position is not None else reader.position_for(None, when.timestamp)
        if position == 0:
            return PlanAt(plan_id, None, 0, when.on, _nothing_recorded(models, when))
        try:
            ledger = read(reader, position)
        except UnknownPlan:
            return PlanAt(plan_id, None, position, when.on,
                          notice(PLAN_NOT_RECORDED, when.field, MESSAGES["plan_not_yet"].format(at=position)))
    if when.on is None:
        return PlanAt(plan_id, ledger, position, None)
    found = None
    if before_start(ledger, plan_id, when.on):
        found = notice(BEFORE_PLAN_START, when.on_field, MESSAGES["before_start"].format(
            on=french.day(when.on), start=french.day(plan_start(ledger, plan_id))))
    return PlanAt(plan_id, ledger_on(ledger, when.on, plan_id), position, when.on, found)


def _nothing_recorded(models: ReadModels, when: Moment) -> dict[str, str]:
    if when.timestamp is None:
        return notice(NOTHING_RECORDED, when.field, MESSAGES["nothing_at_position"].format(at=when.position))
    first = next(iter(models.app.facts(1, batch=10)), None)
    return notice(NOTHING_RECORDED, when.field, MESSAGES["nothing_at_time"].format(
        at=_quoted(when.asked or when.timestamp), first=first.timestamp[:19] if first else "—"))


# The views at a moment; an empty state when nothing of the plan was recorded yet.
# As known at a past moment on the day of that moment, the views are made by AsOf from rows (the measures of the
# member, the groupement series of the last checkpoint); on a business date, from the ledger restricted to that day.
def member_view_at(models: ReadModels, plan_id: str, member_id: str, when: Moment) -> dict[str, Any]:
    if when.on is None and not when.known_now:
        at = _plan_at(models, plan_id, when, lambda reader, position: reader.member_view(plan_id, member_id, position))
        return at.with_notice(empty_member_view(at, member_id) if at.ledger is None else at.ledger)
    at = plan_at(models, plan_id, when)
    if at.ledger is None:
        return at.with_notice(empty_member_view(at, member_id))
    return at.with_notice(member_view(at.ledger, plan_id, member_id))


def plan_balance_at(models: ReadModels, plan_id: str, when: Moment) -> dict[str, Any]:
    if when.on is None and not when.known_now:
        at = _plan_at(models, plan_id, when, lambda reader, position: reader.plan_balance(plan_id, position))
        return at.with_notice(empty_plan_balance(at) if at.ledger is None else at.ledger)
    at = plan_at(models, plan_id, when)
    if at.ledger is None:
        return at.with_notice(empty_plan_balance(at))
    return at.with_notice(plan_balance(at.ledger, plan_id))


def plan_balance_pages_at(models: ReadModels, plan_id: str, when: Moment) -> tuple[dict[str, Any], BalancePages | None]:
    """`plan_balance_at`, where the balance is made by AsOf (as known at a past moment, on its own day) without its
    members' breakdowns, with what makes those of the members a page shows; otherwise the whole balance and None."""
    if when.on is None and not when.known_now:
        at = _plan_at(models, plan_id, when, lambda reader, position: reader.plan_balance_pages(plan_id, position))
        if at.ledger is None:
            return at.with_notice(empty_plan_balance(at)), None
        part, pages = at.ledger
        return at.with_notice(part), pages
    return plan_balance_at(models, plan_id, when), None


def plan_dashboard_at(models: ReadModels, plan_id: str, when: Moment) -> dict[str, Any]:
    at = plan_at(models, plan_id, when)
    if at.ledger is None:
        return at.with_notice({"plan_id": plan_id, "groupement_id": None, "position": at.position,
                               "as_of_day": at.day, "indicators": [], "actions": {}, "proposals": {},
                               "reviews": {"held": 0, "scheduled": 0, "expected": None}})
    return at.with_notice(plan_dashboard(at.ledger, plan_id))


def empty_member_view(at: PlanAt, member_id: str) -> dict[str, Any]:
    return {"plan_id": at.plan_id, "member_id": member_id, "groupement_id": None, "position": at.position,
            "active": False, "as_of_day": at.day, "standing": None, "indicators": [], "actions": [],
            "proposals": [], "decisions": [], "avenants": []}


def empty_plan_balance(at: PlanAt) -> dict[str, Any]:
    return {"plan_id": at.plan_id, "groupement_id": None, "title": None, "position": at.position,
            "as_of_day": at.day, "final": False, "bilan_final": None, "axes": [], "actions": {},
            "proposals": {"submitted": 0, "accepted": 0, "rejected": 0, "withdrawn": 0, "pending": 0,
                          "expected_impact": []},
            "reviews": {"held": 0, "points": []}, "avenants": [],
            "marche": {"initial_amount": None, "current_amount": None, "cumulative_change_percent": None},
            "gains": {"total": "0", "rule": None, "parties": {}, "members": {}}, "members": {}, "parties": {}}

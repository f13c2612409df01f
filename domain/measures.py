"""Mesures: one observation of one indicator, for one member (or the groupement) and one period.

A wrong value is never edited: it is corrected by a new event that points at the version it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.errors import (
    DeclaredDateInFuture,
    NotEntitled,
    PeriodNotCalendar,
    PeriodOutsideMarche,
    UnchangedCorrection,
    WrongScope,
    WrongValueKind,
)
from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.marches import Marche, Roster
from progres.domain.plans import Indicator, ProgressPlan
from progres.domain.values import DocumentRef, Period, Scope, calendar_period, parse_decimal, require_text

GROUPEMENT_SCOPE = "groupement"


@dataclass(frozen=True)
class Observation:
    """The observed content: a number for a quantitative indicator, an assessment for a qualitative one."""

    value: Decimal | None
    assessment: str | None

    @classmethod
    def parse(cls, indicator: Indicator, value: Any, assessment: Any) -> Observation:
        if indicator.is_quantitative:
            if value is None or assessment not in (None, ""):
                raise WrongValueKind("value", rule=f"l'indicateur {indicator.key} est quantitatif : donnez un "
                                                   f"nombre en {indicator.unit} et pas d'appréciation")
            return cls(parse_decimal(value, "value"), None)
        if value is not None:
            raise WrongValueKind("value", rule=f"l'indicateur {indicator.key} est qualitatif : donnez une "
                                               "appréciation, pas un nombre")
        return cls(None, require_text(assessment, "assessment", 10_000))


def measure_id(plan_id: UUID, indicator_key: str, member_id: UUID | None, period: Period) -> UUID:
    return derive_id("measure", plan_id, indicator_key, member_id or GROUPEMENT_SCOPE, period.key())


def check_recorder(
    recorded_by: UUID, member_id: UUID | None, groupement: Groupement, marche: Marche, today: date,
    field: str = "recorded_by", roster: Roster | None = None,
) -> None:
    """A member records its own measures while it takes part in the marché (a member, or gone but bound by the
    convention until the marché's end); the coordonnateur and the titulaire may record any. `today` is the
    server's day, never a date the client sends: a member that left cannot back-date its way in."""
    if recorded_by == groupement.coordonnateur_id or marche.is_titulaire(recorded_by):
        return
    if recorded_by == member_id and marche.takes_part_on(groupement, recorded_by, today, roster):
        return
    raise NotEntitled(field, org=recorded_by)


def fit_period(indicator: Indicator, marche: Marche, period: Period) -> tuple[Period, bool]:
    """The period of a measure is the indicator's calendar period (month, quarter, half-year, year), or the
    part of it within the marché when the marché starts or ends inside it: that partial period is accepted
    (given whole or as its part) and marked partial. Returns (period as stored, partial)."""
    execution = marche.execution_period
    calendar = calendar_period(indicator.periodicity, period.start)
    if calendar.overlaps(execution):
        part = Period(max(calendar.start, execution.start), min(calendar.end, execution.end))
        if period in (calendar, part):
            return part, part != calendar
    if not period.within(execution):
        raise PeriodOutsideMarche("period", period=period.key(), start=marche.notified_on, end=marche.end_on)
    raise PeriodNotCalendar("period", key=indicator.key, periodicity=indicator.periodicity.value,
                            example=calendar.key())


class Measure(ProgresAggregate):
    """The measure of an indicator for a member and a period, with its corrections."""

    @staticmethod
    def create_id(plan_id: UUID, indicator_key: str, member_id: UUID | None, period_start: date,
                  period_end: date) -> UUID:
        return measure_id(plan_id, indicator_key, member_id, Period(period_start, period_end))

    @classmethod
    def record(
        cls,
        plan: ProgressPlan,
        groupement: Groupement,
        marche: Marche,
        *,
        indicator_key: str,
        member_id: UUID | None,
        period: Period,
        value: Any,
        assessment: Any,
        source: str,
        recorded_by: UUID,
        today: date,
        declared_on: date | None = None,
        evidence: DocumentRef | None = None,
        roster: Roster | None = None,
    ) -> Measure:
        """`today`: the server's day (the recording time is the event's own timestamp, set by the server);
        `declared_on`: the business date the recorder declares (its invoice, its count), kept as declared;
        `roster`: `marche.roster(groupement)` when many measures are decided on the same states (an import)."""
        plan.check_open()
        indicator = plan.indicator(indicator_key)
        if indicator.scope is Scope.MEMBER and member_id is None:
            raise WrongScope("member_id", rule=f"l'indicateur {indicator_key} se mesure par membre : nommez le membre")
        if indicator.scope is Scope.GROUPEMENT and member_id is not None:
            raise WrongScope("member_id", rule=f"l'indicateur {indicator_key} se mesure pour tout le groupement")
        period, partial = fit_period(indicator, marche, period)
        if member_id is not None:
            marche.check_party(groupement, member_id, period, "member_id", roster)
        observation = Observation.parse(indicator, value, assessment)
        check_recorder(recorded_by, member_id, groupement, marche, today, roster=roster)
        declared = declared_on or today
        if declared > today:
            raise DeclaredDateInFuture("declared_on", declared=declared, today=today)
        return cls(
            plan_id=plan.id, groupement_id=plan.groupement_id, indicator_key=indicator_key,
            member_id=member_id, period_start=period.start, period_end=period.end,
            value=observation.value, assessment=observation.assessment,
            source=require_text(source, "source", 500), recorded_by=recorded_by, declared_on=declared,
            partial=partial, evidence=evidence.as_dict() if evidence else None,
        )

    @event("Recorded")
    def __init__(
        self, plan_id: UUID, groupement_id: UUID, indicator_key: str, member_id: UUID | None,
        period_start: date, period_end: date, value: Decimal | None, assessment: str | None,
        source: str, recorded_by: UUID, evidence: dict[str, str] | None,
        declared_on: date | None = None, partial: bool = False,
        recorded_on: date | None = None,  # events before issue 14: the date the client sent, i.e. declared
    ) -> None:
        self.plan_id = plan_id
        self.groupement_id = groupement_id
        self.indicator_key = indicator_key
        self.member_id = member_id
        self.period = Period(period_start, period_end)
        self.value = value
        self.assessment = assessment
        self.source = source
        self.recorded_by = recorded_by
        self.declared_on = declared_on or recorded_on
        self.partial = partial
        self.evidence = DocumentRef.from_dict(evidence)
        self.corrections: list[dict[str, Any]] = []

    def correct(
        self, plan: ProgressPlan, groupement: Groupement, marche: Marche, *, value: Any, assessment: Any,
        reason: str, corrected_by: UUID, corrected_on: date, today: date, evidence: DocumentRef | None = None,
    ) -> None:
        """`corrected_on` is declared by the corrector; entitlement is judged on the server's day (`today`)."""
        plan.check_open()
        observation = Observation.parse(plan.indicator(self.indicator_key), value, assessment)
        if observation == Observation(self.value, self.assessment):
            raise UnchangedCorrection("value")
        check_recorder(corrected_by, self.member_id, groupement, marche, today)
        self._corrected(
            corrects_version=self.version, value=observation.value, assessment=observation.assessment,
            reason=require_text(reason, "reason", 2000), corrected_by=corrected_by, corrected_on=corrected_on,
            evidence=evidence.as_dict() if evidence else None,
        )

    @event("Corrected")
    def _corrected(
        self, corrects_version: int, value: Decimal | None, assessment: str | None, reason: str,
        corrected_by: UUID, corrected_on: date, evidence: dict[str, str] | None,
    ) -> None:
        self.corrections.append({"corrects_version": corrects_version, "previous_value": self.value,
                                 "previous_assessment": self.assessment, "reason": reason})
        self.value = value
        self.assessment = assessment

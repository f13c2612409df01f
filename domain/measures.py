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
    NotEntitled,
    PeriodOutsideMarche,
    UnchangedCorrection,
    WrongScope,
    WrongValueKind,
)
from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.marches import Marche
from progres.domain.plans import Indicator, ProgressPlan
from progres.domain.values import DocumentRef, Period, Scope, parse_decimal, require_text

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
                raise WrongValueKind("value", rule=f"indicator {indicator.key} is quantitative: give a number "
                                                   f"in {indicator.unit} and no assessment")
            return cls(parse_decimal(value, "value"), None)
        if value is not None:
            raise WrongValueKind("value", rule=f"indicator {indicator.key} is qualitative: give an assessment, "
                                               "not a number")
        return cls(None, require_text(assessment, "assessment", 10_000))


def measure_id(plan_id: UUID, indicator_key: str, member_id: UUID | None, period: Period) -> UUID:
    return derive_id("measure", plan_id, indicator_key, member_id or GROUPEMENT_SCOPE, period.key())


def check_recorder(
    recorded_by: UUID, member_id: UUID | None, groupement: Groupement, marche: Marche, on: date
) -> None:
    """A member records its own measures; the coordonnateur and the titulaire may record any."""
    if recorded_by == groupement.coordonnateur_id or marche.is_titulaire(recorded_by):
        return
    if recorded_by == member_id and groupement.is_active(recorded_by, on):
        return
    raise NotEntitled("recorded_by", org=recorded_by)


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
        recorded_on: date,
        evidence: DocumentRef | None = None,
    ) -> Measure:
        plan.check_open()
        indicator = plan.indicator(indicator_key)
        if indicator.scope is Scope.MEMBER and member_id is None:
            raise WrongScope("member_id", rule=f"indicator {indicator_key} is measured per member: name the member")
        if indicator.scope is Scope.GROUPEMENT and member_id is not None:
            raise WrongScope("member_id", rule=f"indicator {indicator_key} is measured for the whole groupement")
        if member_id is not None:
            groupement.check_active_during(member_id, period, "member_id")
        if not period.within(marche.execution_period):
            raise PeriodOutsideMarche("period", period=period.key(), start=marche.notified_on, end=marche.end_on)
        observation = Observation.parse(indicator, value, assessment)
        check_recorder(recorded_by, member_id, groupement, marche, recorded_on)
        return cls(
            plan_id=plan.id, groupement_id=plan.groupement_id, indicator_key=indicator_key,
            member_id=member_id, period_start=period.start, period_end=period.end,
            value=observation.value, assessment=observation.assessment,
            source=require_text(source, "source", 500), recorded_by=recorded_by, recorded_on=recorded_on,
            evidence=evidence.as_dict() if evidence else None,
        )

    @event("Recorded")
    def __init__(
        self, plan_id: UUID, groupement_id: UUID, indicator_key: str, member_id: UUID | None,
        period_start: date, period_end: date, value: Decimal | None, assessment: str | None,
        source: str, recorded_by: UUID, recorded_on: date, evidence: dict[str, str] | None,
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
        self.evidence = DocumentRef.from_dict(evidence)
        self.corrections: list[dict[str, Any]] = []

    def correct(
        self, plan: ProgressPlan, groupement: Groupement, marche: Marche, *, value: Any, assessment: Any,
        reason: str, corrected_by: UUID, corrected_on: date, evidence: DocumentRef | None = None,
    ) -> None:
        plan.check_open()
        observation = Observation.parse(plan.indicator(self.indicator_key), value, assessment)
        if observation == Observation(self.value, self.assessment):
            raise UnchangedCorrection("value")
        check_recorder(corrected_by, self.member_id, groupement, marche, corrected_on)
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

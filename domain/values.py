"""Value objects and vocabularies shared by the aggregates: SIRET, periods, documents, enumerations."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError as StdnumError

from progres.domain.errors import InvalidEuIdentifier, InvalidInput, InvalidSiret

E = TypeVar("E", bound=StrEnum)

# La Poste's establishments share one SIREN whose SIRETs follow another key rule (INSEE).
_LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class Siret:
    """A French establishment number: 14 digits whose Luhn key is valid."""

    value: str

    def __post_init__(self) -> None:
        value = self.value.replace(" ", "")
        object.__setattr__(self, "value", value)
        if not re.fullmatch(r"\d{14}", value):
            raise InvalidSiret("siret", value=self.value, rule="il doit compter exactement 14 chiffres")
        if value.startswith(_LA_POSTE_SIREN) and value != "35600000000048":
            if sum(int(c) for c in value) % 5 != 0:
                raise InvalidSiret("siret", value=value, rule="sa clé La Poste est fausse")
        elif not luhn_valid(value):
            raise InvalidSiret("siret", value=value, rule="sa clé de Luhn est fausse (un chiffre mal saisi ?)")

    def __str__(self) -> str:
        return self.value


# EU member states other than France, by the prefix of their VAT numbers (Greece writes EL, not GR).
EU_VAT_PREFIXES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})


@dataclass(frozen=True)
class EuVatNumber:
    """How a buyer of another EU member state is known (it has no SIRET): its VAT identification number,
    the identifier DECP gives such organisations (`typeIdentifiant: TVA`) and VIES checks. Its country
    prefix must be another member state's, and the number must pass that state's format and check digits."""

    value: str

    def __post_init__(self) -> None:
        compact = stdnum_vat.compact(self.value) if isinstance(self.value, str) else ""
        object.__setattr__(self, "value", compact)
        prefix = compact[:2]
        if prefix == "FR":
            raise InvalidEuIdentifier("vat_number", value=compact, rule="une organisation française est connue par "
                                                                        "son SIRET")
        if prefix not in EU_VAT_PREFIXES:
            raise InvalidEuIdentifier("vat_number", value=compact,
                                      rule="il doit commencer par le code d'un autre État membre de l'UE (DE, BE, EL…)")
        try:
            stdnum_vat.validate(compact)
        except StdnumError:
            raise InvalidEuIdentifier("vat_number", value=compact,
                                      rule=f"ce n'est pas un numéro de TVA {prefix} valide (format ou clé de "
                                           "contrôle)") from None

    @property
    def country(self) -> str:
        return "GR" if self.value.startswith("EL") else self.value[:2]

    def __str__(self) -> str:
        return self.value


def siret_with_key(prefix13: str) -> str:
    """Completes 13 digits with the Luhn key digit (used to make example SIRETs)."""
    for last in "0123456789":
        if luhn_valid(prefix13 + last):
            return prefix13 + last
    raise AssertionError("unreachable: one key digit always fits")


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, order=True)
class Period:
    """A closed interval of days [start, end], e.g. a semester or a month of measures."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("period", rule=f"la période finit ({self.end}) avant de commencer ({self.start})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @classmethod
    def semester(cls, year: int, half: int) -> Period:
        if half == 1:
            return cls(date(year, 1, 1), date(year, 6, 30))
        return cls(date(year, 7, 1), date(year, 12, 31))

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        return cls(parse_date(start, "period.start"), parse_date(end, "period.end"))

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end

    def within(self, other: Period) -> bool:
        return other.start <= self.start and self.end <= other.end

    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def __str__(self) -> str:
        return self.key()


def parse_date(value: str | date, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(field, rule=f"« {value} » n'est pas une date (AAAA-MM-JJ)") from None


def parse_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput(field, rule="un nombre est attendu, pas un booléen")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(field, rule=f"« {value} » n'est pas un nombre") from None
    if not number.is_finite():
        raise InvalidInput(field, rule="le nombre doit être fini")
    return number


def require_text(value: Any, field: str, max_length: int = 2000) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, rule="ne doit pas être vide")
    if len(value) > max_length:
        raise InvalidInput(field, rule=f"{max_length} caractères au plus")
    return value.strip()


def parse_enum(kind: type[E], value: Any, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(field, rule=f"« {value} » n'est pas l'une des valeurs : {allowed}") from None


def days(n: int) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class DocumentRef:
    """A document (convention, minutes, signed avenant, evidence) referenced by its content hash."""

    sha256: str
    name: str
    media_type: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise InvalidInput("document.sha256", rule="64 chiffres hexadécimaux en minuscules sont attendus (SHA-256)")
        require_text(self.name, "document.name", 255)
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", self.media_type):
            raise InvalidInput("document.media_type", rule=f"« {self.media_type} » n'est pas un type de média")

    @classmethod
    def from_dict(cls, data: dict[str, str] | None) -> DocumentRef | None:
        if data is None:
            return None
        return cls(data["sha256"], data["name"], data["media_type"])

    def as_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "name": self.name, "media_type": self.media_type}


class OrganisationKind(StrEnum):
    """What an organisation is. The acheteurs (CCP L1210-1, L1211-1) are the kinds that may form or join a
    groupement de commandes (L2113-6, L2113-7); a buyer of another EU member state joins under L2113-8."""

    COLLECTIVITE = "collectivite"
    EPLE = "eple"
    STATE_SERVICE = "state_service"
    HOSPITAL = "hospital"
    PUBLIC_ESTABLISHMENT = "public_establishment"
    EU_BUYER = "eu_buyer"
    SUPPLIER = "supplier"
    AUDIT_BODY = "audit_body"

    @property
    def is_buyer(self) -> bool:
        return self in BUYER_KINDS

    @property
    def is_foreign(self) -> bool:
        """An organisation of another EU member state: it has no SIRET but an EU VAT number."""
        return self is OrganisationKind.EU_BUYER


BUYER_KINDS = frozenset({
    OrganisationKind.COLLECTIVITE, OrganisationKind.EPLE, OrganisationKind.STATE_SERVICE, OrganisationKind.HOSPITAL,
    OrganisationKind.PUBLIC_ESTABLISHMENT, OrganisationKind.EU_BUYER,
})


class WithdrawalClause(StrEnum):
    """What the convention constitutive (CCP L2113-6) says a leaving member owes under marchés already launched.

    `bound_until_marche_end`: it stays a party of the marchés launched while it was a member until they end
    (the usual clause: a marché binds each member that took part, and its withdrawal cannot change it);
    `ends_at_withdrawal`: its part in them stops on the day it leaves."""

    BOUND_UNTIL_MARCHE_END = "bound_until_marche_end"
    ENDS_AT_WITHDRAWAL = "ends_at_withdrawal"


class MarcheNature(StrEnum):
    FOURNITURES = "fournitures"
    SERVICES = "services"
    TRAVAUX = "travaux"


class ObjectiveKind(StrEnum):
    MOYENS = "moyens"
    RESULTATS = "resultats"


class IndicatorKind(StrEnum):
    QUANTITATIVE = "quantitative"
    QUALITATIVE = "qualitative"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"


class Periodicity(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMESTRIAL = "semestrial"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "semestrial": 6, "yearly": 12}[self.value]


def calendar_period(periodicity: Periodicity, day: date) -> Period:
    """The calendar month, quarter, half-year or year that contains a day."""
    first_month = (day.month - 1) // periodicity.months * periodicity.months + 1
    start = date(day.year, first_month, 1)
    return Period(start, add_months(start, periodicity.months) - timedelta(days=1))


class Scope(StrEnum):
    MEMBER = "member"
    GROUPEMENT = "groupement"


class Aggregation(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    WEIGHTED_MEAN = "weighted_mean"
    NONE = "none"


class ActionOwner(StrEnum):
    TITULAIRE = "titulaire"
    ACHETEUR = "acheteur"
    JOINT = "joint"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ProposalKind(StrEnum):
    INNOVATION = "innovation"
    SERVICE_IMPROVEMENT = "service_improvement"
    SUR_QUALITE_REDUCTION = "sur_qualite_reduction"


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    POSTPONED = "postponed"


class ParticipantFunction(StrEnum):
    BUYER = "buyer"
    COOK = "cook"
    GESTIONNAIRE = "gestionnaire"
    ELECTED_OFFICIAL = "elected_official"
    SUPPLIER = "supplier"
    TEACHER = "teacher"
    OTHER = "other"


class PointKind(StrEnum):
    CONSTRAINT = "constraint"
    NEED = "need"
    DIFFICULTY = "difficulty"
    IDEA = "idea"


class Settlement(StrEnum):
    PRICE_REDUCTION = "price_reduction"
    REBATE = "rebate"
    REINVESTMENT = "reinvestment"

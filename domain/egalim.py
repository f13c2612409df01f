"""EGalim rules as ma cantine applies them to purchases (pure: no I/O).

A purchase carries a product family and EGalim labels. For the shares, each purchase is counted once,
in the first group its labels reach in the order bio > SIQO (label rouge, AOC/AOP, IGP, STG) > other
EGalim labels (HVE, pêche durable, RUP, commerce équitable, fermier) > externalités/performance; the
detailed teledeclaration goes one step finer, label by label in ma cantine's order. Origin, circuit court
and local are information, counted independently of the EGalim group.

Thresholds are data with their dates and legal sources (docs/egalim.md), never constants in code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache


class Family(StrEnum):
    """ma cantine's product families (famille_produits)."""

    VIANDES_VOLAILLES = "VIANDES_VOLAILLES"
    CHARCUTERIE = "CHARCUTERIE"
    PRODUITS_DE_LA_MER = "PRODUITS_DE_LA_MER"
    FRUITS_ET_LEGUMES = "FRUITS_ET_LEGUMES"
    PRODUITS_LAITIERS = "PRODUITS_LAITIERS"
    BOULANGERIE = "BOULANGERIE"
    BOISSONS = "BOISSONS"
    AUTRES = "AUTRES"


class Label(StrEnum):
    """EGalim categories (categories_egalim) in ma cantine's precedence order."""

    BIO = "BIO"
    LABEL_ROUGE = "LABEL_ROUGE"
    AOCAOP = "AOCAOP"
    IGP = "IGP"
    STG = "STG"
    HVE = "HVE"
    PECHE_DURABLE = "PECHE_DURABLE"
    RUP = "RUP"
    COMMERCE_EQUITABLE = "COMMERCE_EQUITABLE"
    FERMIER = "FERMIER"
    EXTERNALITES = "EXTERNALITES"
    PERFORMANCE = "PERFORMANCE"


class Origin(StrEnum):
    FRANCE = "FRANCE"
    EUROPE = "EUROPE"


class LocalDefinition(StrEnum):
    PAT = "PAT"
    COMMUNE = "COMMUNE"
    DEPARTEMENT = "DEPARTEMENT"
    REGION = "REGION"
    KM = "KM"


class Group(StrEnum):
    """Where a purchase counts in the simplified diagnostic: once, in the first group reached."""

    BIO = "bio"
    SIQO = "siqo"
    EGALIM_AUTRES = "egalim_autres"
    EXTERNALITES_PERFORMANCE = "externalites_performance"
    NON_EGALIM = "non_egalim"


GROUP_LABELS: tuple[tuple[Group, frozenset[Label]], ...] = (
    (Group.BIO, frozenset({Label.BIO})),
    (Group.SIQO, frozenset({Label.LABEL_ROUGE, Label.AOCAOP, Label.IGP, Label.STG})),
    (Group.EGALIM_AUTRES, frozenset({Label.HVE, Label.PECHE_DURABLE, Label.RUP, Label.COMMERCE_EQUITABLE,
                                     Label.FERMIER})),
    (Group.EXTERNALITES_PERFORMANCE, frozenset({Label.EXTERNALITES, Label.PERFORMANCE})),
)

# The detailed diagnostic's label columns, in the order that decides which label a purchase counts under
# (AOC/AOP, IGP and STG share one column).
DETAIL_LABELS: tuple[tuple[str, frozenset[Label]], ...] = (
    ("bio", frozenset({Label.BIO})),
    ("label_rouge", frozenset({Label.LABEL_ROUGE})),
    ("aocaop_igp_stg", frozenset({Label.AOCAOP, Label.IGP, Label.STG})),
    ("hve", frozenset({Label.HVE})),
    ("peche_durable", frozenset({Label.PECHE_DURABLE})),
    ("rup", frozenset({Label.RUP})),
    ("commerce_equitable", frozenset({Label.COMMERCE_EQUITABLE})),
    ("fermier", frozenset({Label.FERMIER})),
    ("externalites", frozenset({Label.EXTERNALITES})),
    ("performance", frozenset({Label.PERFORMANCE})),
)


def group_of(labels: Iterable[Label]) -> Group:
    present = frozenset(labels)
    for group, members in GROUP_LABELS:
        if present & members:
            return group
    return Group.NON_EGALIM


def detail_label_of(labels: Iterable[Label]) -> str:
    present = frozenset(labels)
    for name, members in DETAIL_LABELS:
        if present & members:
            return name
    return "non_egalim"


@dataclass(frozen=True)
class Purchase:
    """One purchase line as the rules see it (amount in euro cents, HT)."""

    day: date
    cents: int
    family: Family
    labels: frozenset[Label]
    origin: Origin | None = None
    circuit_court: bool = False
    local: bool = False
    local_definition: LocalDefinition | None = None


def bucket_keys(purchase: Purchase) -> tuple[str, ...]:
    """The totals a purchase adds to, for one family: what shares and the teledeclaration are made of."""
    return keys_for(purchase.labels, purchase.origin, purchase.circuit_court, purchase.local,
                    purchase.local_definition)


@lru_cache(maxsize=8192)
def keys_for(labels: frozenset[Label], origin: Origin | None, circuit_court: bool, local: bool,
             local_definition: LocalDefinition | None = None) -> tuple[str, ...]:
    # Cached: a file has few distinct combinations of labels, origin and locality.
    group = group_of(labels)
    keys = ["total", group.value, "detail:" + detail_label_of(labels)]
    if Label.BIO in labels and Label.COMMERCE_EQUITABLE in labels:
        keys.append("bio_dont_commerce_equitable")
    if group is Group.EGALIM_AUTRES and Label.COMMERCE_EQUITABLE in labels:
        keys.append("egalim_autres_dont_commerce_equitable")
    if origin is not None:
        keys.append(origin.value.lower())
    if circuit_court:
        keys.append("circuit_court")
    if local:
        keys.append("local")
        if local_definition is not None:  # e.g. "local:PAT", for a projet alimentaire territorial's plan
            keys.append("local:" + local_definition.value)
    if origin is Origin.FRANCE or circuit_court or local:
        keys.append("france_cc_local")  # "France" as the 2025 campaign counted it
    return tuple(keys)


# month ("2023-01") -> family -> key -> cents
MonthlyTotals = dict[str, dict[str, dict[str, int]]]


def add_amount(totals: MonthlyTotals, day: date, family: Family, keys: tuple[str, ...], cents: int) -> None:
    bucket = totals.setdefault(f"{day.year:04d}-{day.month:02d}", {}).setdefault(family.value, {})
    for key in keys:
        bucket[key] = bucket.get(key, 0) + cents


def merge_totals(into: MonthlyTotals, other: MonthlyTotals) -> None:
    for month, families in other.items():
        target = into.setdefault(month, {})
        for family, keys in families.items():
            bucket = target.setdefault(family, {})
            for key, cents in keys.items():
                bucket[key] = bucket.get(key, 0) + cents


def percent(part: int, whole: int) -> Decimal | None:
    """A share in % with two decimals, rounded half up; None when there is nothing to divide."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# Thresholds (I of article L. 230-5-1 of the code rural et de la pêche maritime and its overseas adaptations).
class Territory(StrEnum):
    HEXAGONE = "hexagone"  # mainland France and the territories without adapted thresholds
    GROUPE_1 = "groupe_1"  # Guadeloupe, Guyane, Martinique, La Réunion, Saint-Martin
    GROUPE_2 = "groupe_2"  # Mayotte
    GROUPE_3 = "groupe_3"  # Saint-Pierre-et-Miquelon


@dataclass(frozen=True)
class Threshold:
    territory: Territory
    start: date
    end: date | None  # inclusive; None: until further notice
    egalim_percent: int
    bio_percent: int
    source: str


LOI_EGALIM = "Loi n° 2018-938 du 30 octobre 2018, art. 24 (code rural, art. L. 230-5-1, I)"
DECRET_OUTRE_MER = ("Décret n° 2021-1235 du 25 septembre 2021, pris pour l'application des art. L. 271-10, "
                    "L. 273-6-1 et L. 274-8-1 du code rural")

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(Territory.HEXAGONE, date(2022, 1, 1), None, 50, 20, LOI_EGALIM),
    Threshold(Territory.GROUPE_1, date(2022, 1, 1), date(2025, 12, 31), 20, 5, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_1, date(2026, 1, 1), date(2029, 12, 31), 35, 10, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_1, date(2030, 1, 1), None, 50, 20, LOI_EGALIM),
    Threshold(Territory.GROUPE_2, date(2022, 1, 1), date(2025, 12, 31), 5, 2, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_2, date(2026, 1, 1), date(2029, 12, 31), 15, 5, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_2, date(2030, 1, 1), date(2034, 12, 31), 30, 10, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_2, date(2035, 1, 1), None, 50, 20, LOI_EGALIM),
    Threshold(Territory.GROUPE_3, date(2022, 1, 1), date(2029, 12, 31), 30, 10, DECRET_OUTRE_MER),
    Threshold(Territory.GROUPE_3, date(2030, 1, 1), None, 50, 20, LOI_EGALIM),
)

# Meat, poultry and fish together: 60 % EGalim from 2024 (100 % for the State's own restaurants).
MEAT_FISH_PERCENT = 60
MEAT_FISH_SINCE = date(2024, 1, 1)
MEAT_FISH_SOURCE = "Loi n° 2021-1104 du 22 août 2021 (Climat et résilience), art. 257 (code rural, art. L. 230-5-1)"


def threshold_on(territory: Territory, day: date) -> Threshold | None:
    for threshold in THRESHOLDS:
        if threshold.territory is territory and threshold.start <= day and (threshold.end is None
                                                                             or day <= threshold.end):
            return threshold
    return None

"""European procurement thresholds as dated data: by nature of the marché, kind of buyer and period.

R2194-8 CCP lets a small modification through only "below the European thresholds of the avis annexed to the
code" (annexe n° 2 du CCP), which follow the Commission's delegated regulations, revised every two years on
1 January. Which row applies is chosen by the avenant's date. A date outside every row is refused
(`eu_threshold_unknown`): the table must then be completed with the next period's row, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from progres.domain.errors import ThresholdUnknown
from progres.domain.values import MarcheNature


class BuyerKind(StrEnum):
    """Which column of the thresholds a buyer reads (directive 2014/24 art. 4, directive 2014/25 art. 15)."""

    # Autres pouvoirs adjudicateurs: collectivités territoriales, EPLE, établissements publics locaux, hospitals.
    POUVOIR_ADJUDICATEUR = "pouvoir_adjudicateur"
    # Autorités publiques centrales: the State and its établissements publics listed in the avis (CCP annexe 2).
    AUTORITE_PUBLIQUE_CENTRALE = "autorite_publique_centrale"
    # Entités adjudicatrices (CCP L1212-1): network operators (water, energy, transport, postal services).
    ENTITE_ADJUDICATRICE = "entite_adjudicatrice"


SUPPLIES_AND_SERVICES = frozenset({MarcheNature.FOURNITURES, MarcheNature.SERVICES})
WORKS = frozenset({MarcheNature.TRAVAUX})
EVERY_BUYER = frozenset(BuyerKind)


@dataclass(frozen=True)
class ThresholdRow:
    """One European threshold (€ HT) in force from `valid_from` to `valid_until`, both included."""

    valid_from: date
    valid_until: date
    natures: frozenset[MarcheNature]
    buyers: frozenset[BuyerKind]
    amount: Decimal
    source: str

    def applies(self, nature: MarcheNature, buyer: BuyerKind, on: date) -> bool:
        return nature in self.natures and buyer in self.buyers and self.valid_from <= on <= self.valid_until

    def as_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "valid_from": self.valid_from.isoformat(),
                "valid_until": self.valid_until.isoformat(), "source": self.source}


def _period(first_year: int) -> tuple[date, date]:
    return date(first_year, 1, 1), date(first_year + 1, 12, 31)


# Sources: the Commission delegated regulations amending directive 2014/24/UE (pouvoirs adjudicateurs) and
# 2014/25/UE (entités adjudicatrices), transposed by the avis annexed to the CCP (annexe n° 2).
_CLASSIC = {2022: "Règlement délégué (UE) 2021/1952 du 10 novembre 2021 (directive 2014/24/UE, art. 4)",
            2024: "Règlement délégué (UE) 2023/2495 du 15 novembre 2023 (directive 2014/24/UE, art. 4)",
            2026: "Règlement délégué (UE) 2025/2152 du 22 octobre 2025 (directive 2014/24/UE, art. 4)"}
_UTILITIES = {2022: "Règlement délégué (UE) 2021/1953 du 10 novembre 2021 (directive 2014/25/UE, art. 15)",
              2024: "Règlement délégué (UE) 2023/2496 du 15 novembre 2023 (directive 2014/25/UE, art. 15)",
              2026: "Règlement délégué (UE) 2025/2150 du 22 octobre 2025 (directive 2014/25/UE, art. 15)"}
_ANNEX = "; CCP annexe n° 2 (avis relatif aux seuils de procédure)"

# (first year, local buyers' supplies and services, central authorities', entités adjudicatrices', works)
_FIGURES = [
    (2022, 215_000, 140_000, 431_000, 5_382_000),
    (2024, 221_000, 143_000, 443_000, 5_538_000),
    (2026, 216_000, 140_000, 432_000, 5_404_000),
]


def _rows() -> tuple[ThresholdRow, ...]:
    rows: list[ThresholdRow] = []
    for year, local, central, utilities, works in _FIGURES:
        start, end = _period(year)
        classic, utility = _CLASSIC[year] + _ANNEX, _UTILITIES[year] + _ANNEX
        rows += [
            ThresholdRow(start, end, SUPPLIES_AND_SERVICES, frozenset({BuyerKind.POUVOIR_ADJUDICATEUR}),
                         Decimal(local), classic),
            ThresholdRow(start, end, SUPPLIES_AND_SERVICES, frozenset({BuyerKind.AUTORITE_PUBLIQUE_CENTRALE}),
                         Decimal(central), classic),
            ThresholdRow(start, end, SUPPLIES_AND_SERVICES, frozenset({BuyerKind.ENTITE_ADJUDICATRICE}),
                         Decimal(utilities), utility),
            ThresholdRow(start, end, WORKS, frozenset({BuyerKind.POUVOIR_ADJUDICATEUR,
                                                       BuyerKind.AUTORITE_PUBLIQUE_CENTRALE}), Decimal(works), classic),
            ThresholdRow(start, end, WORKS, frozenset({BuyerKind.ENTITE_ADJUDICATRICE}), Decimal(works), utility),
        ]
    return tuple(rows)


EU_THRESHOLDS: tuple[ThresholdRow, ...] = _rows()


def eu_threshold(nature: MarcheNature, buyer: BuyerKind, on: date, field: str = "on") -> ThresholdRow:
    """The row in force on that day for that nature and buyer; refused when the table has none."""
    for row in EU_THRESHOLDS:
        if row.applies(nature, buyer, on):
            return row
    known = f"{EU_THRESHOLDS[0].valid_from.isoformat()} to {EU_THRESHOLDS[-1].valid_until.isoformat()}"
    raise ThresholdUnknown(field, on=on.isoformat(), known=known)

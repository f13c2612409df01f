"""EGalim figures of a member for a period, from the monthly totals of its purchase imports.

Shares are in % (two decimals, half up) of the HT value; values are in euros. The figures are those
ma cantine computes from the same purchases: each purchase in one EGalim group only (domain/egalim.py),
meat/poultry and fish shares over their family's total, origin/circuit court/local as information.
`diagnostic` names them as ma cantine's diagnostic does, so a teledeclaration can be filled from them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from progres.domain.egalim import DETAIL_LABELS, Family, Group, MonthlyTotals, percent

FamilyTotals = dict[str, dict[str, int]]  # family -> key -> cents
EGALIM_GROUPS = (Group.BIO, Group.SIQO, Group.EGALIM_AUTRES, Group.EXTERNALITES_PERFORMANCE)
MEAT, FISH = Family.VIANDES_VOLAILLES.value, Family.PRODUITS_DE_LA_MER.value


def month_keys(start: date, end: date) -> set[str]:
    months, year, month = set(), start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.add(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def period_totals(totals: MonthlyTotals, start: date, end: date) -> FamilyTotals:
    """The totals of the months of [start, end] (periods of measures are whole months)."""
    wanted = month_keys(start, end)
    summed: FamilyTotals = {}
    for month, families in totals.items():
        if month not in wanted:
            continue
        for family, keys in families.items():
            bucket = summed.setdefault(family, {})
            for key, cents in keys.items():
                bucket[key] = bucket.get(key, 0) + cents
    return summed


def total(figures: FamilyTotals, key: str, families: tuple[str, ...] | None = None) -> int:
    return sum(keys.get(key, 0) for family, keys in figures.items() if families is None or family in families)


def egalim(figures: FamilyTotals, families: tuple[str, ...] | None = None) -> int:
    return sum(total(figures, group.value, families) for group in EGALIM_GROUPS)


def euros(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _of_total(key: str) -> Callable[[FamilyTotals], Decimal | None]:
    return lambda f: percent(total(f, key), total(f, "total"))


def _egalim_of(families: tuple[str, ...]) -> Callable[[FamilyTotals], Decimal | None]:
    return lambda f: percent(egalim(f, families), total(f, "total", families))


# The shares a plan's indicator can be fed with (measure values in %), by name.
SHARES: dict[str, Callable[[FamilyTotals], Decimal | None]] = {
    "part_bio": _of_total(Group.BIO.value),
    "part_siqo": _of_total(Group.SIQO.value),
    "part_egalim_autres": _of_total(Group.EGALIM_AUTRES.value),
    "part_externalites_performance": _of_total(Group.EXTERNALITES_PERFORMANCE.value),
    "part_egalim": lambda f: percent(egalim(f), total(f, "total")),
    "part_egalim_hors_bio": lambda f: percent(egalim(f) - total(f, Group.BIO.value), total(f, "total")),
    "part_viandes_volailles_egalim": _egalim_of((MEAT,)),
    "part_produits_de_la_mer_egalim": _egalim_of((FISH,)),
    "part_viandes_poissons_egalim": _egalim_of((MEAT, FISH)),
    "part_france": _of_total("france"),
    "part_europe": _of_total("europe"),
    "part_circuit_court": _of_total("circuit_court"),
    "part_local": _of_total("local"),
    # Local purchases by the definition of local given (a PAT's plan counts "local:PAT").
    "part_local_pat": _of_total("local:PAT"),
    "part_local_commune": _of_total("local:COMMUNE"),
    "part_local_departement": _of_total("local:DEPARTEMENT"),
    "part_local_region": _of_total("local:REGION"),
    "part_local_km": _of_total("local:KM"),
}
VALUES: dict[str, Callable[[FamilyTotals], Decimal | None]] = {
    "valeur_totale": lambda f: euros(total(f, "total")),
}
FIGURES = {**SHARES, **VALUES}


def shares(figures: FamilyTotals) -> dict[str, Decimal | None]:
    return {name: compute(figures) for name, compute in FIGURES.items()}


def by_family(figures: FamilyTotals) -> dict[str, dict[str, Any]]:
    """Per family: its value, its EGalim groups in euros and its EGalim share."""
    table: dict[str, dict[str, Any]] = {}
    for family in Family:
        keys = figures.get(family.value, {})
        if not keys.get("total"):
            continue
        row: dict[str, Any] = {"valeur_totale": euros(keys["total"])}
        for group in Group:
            row[f"valeur_{group.value}"] = euros(keys.get(group.value, 0))
        row["part_egalim"] = percent(egalim(figures, (family.value,)), keys["total"])
        table[family.value] = row
    return table


def diagnostic(figures: FamilyTotals, year: int) -> dict[str, Decimal]:
    """A member's figures for a year in ma cantine's diagnostic field names (euros HT)."""
    fish_france = total(figures, "france", (FISH,))
    fields = {
        "valeur_totale": total(figures, "total"),
        "valeur_bio": total(figures, Group.BIO.value),
        "valeur_bio_dont_commerce_equitable": total(figures, "bio_dont_commerce_equitable"),
        "valeur_siqo": total(figures, Group.SIQO.value),
        "valeur_egalim_autres": total(figures, Group.EGALIM_AUTRES.value),
        "valeur_egalim_autres_dont_commerce_equitable": total(figures, "egalim_autres_dont_commerce_equitable"),
        "valeur_externalites_performance": total(figures, Group.EXTERNALITES_PERFORMANCE.value),
        "valeur_viandes_volailles": total(figures, "total", (MEAT,)),
        "valeur_viandes_volailles_egalim": egalim(figures, (MEAT,)),
        "valeur_viandes_volailles_france": total(figures, "france", (MEAT,)),
        "valeur_produits_de_la_mer": total(figures, "total", (FISH,)),
        "valeur_produits_de_la_mer_egalim": egalim(figures, (FISH,)),
        "valeur_produits_de_la_mer_france": fish_france,
    }
    for family in Family:
        name = family.value.lower()
        keys = figures.get(family.value, {})
        for label, _ in DETAIL_LABELS:
            fields[f"valeur_{name}_{label}"] = keys.get("detail:" + label, 0)
        fields[f"valeur_{name}_non_egalim"] = keys.get("detail:non_egalim", 0)
        fields[f"valeur_{name}_bio_dont_commerce_equitable"] = keys.get("bio_dont_commerce_equitable", 0)
        for key, cents in origin_fields(keys, year).items():
            fields[f"valeur_{name}_{key}"] = cents
    return {key: euros(cents) for key, cents in fields.items()}


def origin_fields(keys: dict[str, int], year: int) -> dict[str, int]:
    """France, Europe, circuit court and local as each campaign counted them (ma cantine's rules)."""
    circuit_court, local = keys.get("circuit_court", 0), keys.get("local", 0)
    if year < 2025:
        return {"france": keys.get("france", 0), "circuit_court": circuit_court, "local": local}
    if year == 2025:  # that campaign counted circuit court and local purchases as France
        return {"france": keys.get("france_cc_local", 0), "circuit_court": circuit_court, "local": local}
    return {"france": keys.get("france", 0), "europe": keys.get("europe", 0), "circuit_court": circuit_court,
            "local": local}

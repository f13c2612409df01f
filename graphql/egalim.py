"""GraphQL types of the EGalim shares of a member (query `egalimShares`), described in French.

Shares are in % (two decimals, rounded half up) and values in euros HT, both as decimal strings, as
measures are; a share is null when there is nothing to divide (no purchase of that kind in the period).
The field names are those of the figures an import can feed indicators with (`part_bio` → `partBio`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from progres.domain.egalim import Family, Territory
from progres.graphql.paging import LIST_DEPRECATED, After, Before, Connection, First, Last, paginate
from progres.graphql.types import Organisation, Plan, node_of, organisation_of
from progres.services.egalim_reads import MemberFigures

EgalimTerritory = strawberry.enum(Territory, name="EgalimTerritory", description=(
    "Territoire dont les seuils EGalim s'appliquent : HEXAGONE (métropole et territoires sans seuils adaptés), "
    "GROUPE_1 (Guadeloupe, Guyane, Martinique, La Réunion, Saint-Martin), GROUPE_2 (Mayotte), "
    "GROUPE_3 (Saint-Pierre-et-Miquelon)."))
ProductFamily = strawberry.enum(Family, name="ProductFamily", description="Famille de produits de ma cantine.")

# What each value of the two enums means, in the words of ma cantine and of the EGalim texts.
ENUM_VALUES: dict[object, dict[str, str]] = {
    Territory: {
        "HEXAGONE": "Métropole, et les territoires sans seuils adaptés.",
        "GROUPE_1": "Guadeloupe, Guyane, Martinique, La Réunion et Saint-Martin.",
        "GROUPE_2": "Mayotte.",
        "GROUPE_3": "Saint-Pierre-et-Miquelon.",
    },
    Family: {
        "VIANDES_VOLAILLES": "Viandes et volailles.",
        "CHARCUTERIE": "Charcuterie.",
        "PRODUITS_DE_LA_MER": "Produits de la mer et de l'aquaculture.",
        "FRUITS_ET_LEGUMES": "Fruits et légumes.",
        "PRODUITS_LAITIERS": "Produits laitiers.",
        "BOULANGERIE": "Boulangerie et pâtisserie.",
        "BOISSONS": "Boissons.",
        "AUTRES": "Autres produits.",
    },
}
for enum, meanings in ENUM_VALUES.items():
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = meanings[value.name]


def text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def share(description: str) -> str | None:
    return strawberry.field(description=description + " (en %, null sans achat à diviser).")  # type: ignore[no-any-return]


@strawberry.type(description="Une famille de produits : sa valeur, ses groupes EGalim en euros HT et sa part EGalim.")
class EgalimFamilyShares:
    family: ProductFamily = strawberry.field(description="La famille de produits.")  # type: ignore[valid-type]
    valeur_totale: str = strawberry.field(description="Valeur totale des achats de la famille, en euros HT.")
    valeur_bio: str = strawberry.field(description="Achats bio de la famille, en euros HT.")
    valeur_siqo: str = strawberry.field(
        description="Achats SIQO (label rouge, AOC/AOP, IGP, STG) non bio de la famille, en euros HT.")
    valeur_egalim_autres: str = strawberry.field(
        description="Achats des autres labels EGalim (HVE, pêche durable, RUP, commerce équitable, fermier), "
                    "en euros HT.")
    valeur_externalites_performance: str = strawberry.field(
        description="Achats au titre des externalités environnementales ou de la performance, en euros HT.")
    valeur_non_egalim: str = strawberry.field(description="Achats sans critère EGalim, en euros HT.")
    part_egalim: str | None = share("Part EGalim de la famille")


@strawberry.type(description="Seuils EGalim en vigueur le premier jour de la période pour le territoire, avec leur "
                             "source, et s'ils sont atteints.")
class EgalimThreshold:
    territory: EgalimTerritory = strawberry.field(description="Le territoire.")  # type: ignore[valid-type]
    start: date = strawberry.field(description="Premier jour d'application de ces seuils.")
    end: date | None = strawberry.field(description="Dernier jour d'application, null : jusqu'à nouvel ordre.")
    egalim_percent: int = strawberry.field(description="Part minimale de produits durables et de qualité, en %.")
    bio_percent: int = strawberry.field(description="Dont part minimale de produits bio, en %.")
    source: str = strawberry.field(description="Texte qui fixe ces seuils.")
    egalim_reached: bool | None = strawberry.field(
        description="Vrai si la part EGalim de la période atteint le seuil (null sans achat).")
    bio_reached: bool | None = strawberry.field(
        description="Vrai si la part bio de la période atteint le seuil (null sans achat).")
    meat_fish_percent: int | None = strawberry.field(
        description="Part EGalim minimale des viandes, volailles et produits de la mer (depuis le 1er janvier "
                    "2024), en % ; null avant.")
    meat_fish_source: str | None = strawberry.field(description="Texte qui fixe le seuil des viandes et poissons.")
    meat_fish_reached: bool | None = strawberry.field(
        description="Vrai si la part EGalim des viandes, volailles et produits de la mer atteint son seuil "
                    "(null sans seuil ou sans achat).")


@strawberry.type(description="Un fichier d'achats importé pour le membre dans le plan (provenance des parts).")
class PurchaseFileImport:
    import_id: strawberry.ID = strawberry.field(description="Identifiant de l'import.")
    sha256: str = strawberry.field(description="Empreinte SHA-256 du fichier importé.")
    line_count: int = strawberry.field(description="Nombre d'achats du fichier.")
    imported_on: date = strawberry.field(description="Date de l'import.")


def reached(value: Decimal | None, percent: int | None) -> bool | None:
    return None if value is None or percent is None else value >= percent


@strawberry.type(description="Parts EGalim d'un membre sur une période, calculées comme ma cantine les calcule "
                             "depuis ses fichiers d'achats importés : chaque achat compté une fois, dans le "
                             "premier groupe atteint (bio > SIQO > autres labels > externalités/performance).")
class EgalimShares:
    plan_id: strawberry.ID = strawberry.field(description="Le plan de progrès.")
    member_id: strawberry.ID = strawberry.field(description="Le membre (l'établissement acheteur).")
    period_start: date = strawberry.field(description="Premier jour de la période (mois entiers comptés).")
    period_end: date = strawberry.field(description="Dernier jour de la période.")
    valeur_totale: str = strawberry.field(description="Valeur totale des achats de la période, en euros HT.")
    part_bio: str | None = share("Part des achats bio")
    part_siqo: str | None = share("Part des achats SIQO (label rouge, AOC/AOP, IGP, STG) non bio")
    part_egalim_autres: str | None = share("Part des autres labels EGalim (HVE, pêche durable, RUP, commerce "
                                           "équitable, fermier)")
    part_externalites_performance: str | None = share("Part des achats au titre des externalités ou de la "
                                                      "performance")
    part_egalim: str | None = share("Part EGalim (bio, SIQO, autres labels, externalités et performance)")
    part_egalim_hors_bio: str | None = share("Part EGalim hors bio")
    part_viandes_volailles_egalim: str | None = share("Part EGalim des viandes et volailles")
    part_produits_de_la_mer_egalim: str | None = share("Part EGalim des produits de la mer")
    part_viandes_poissons_egalim: str | None = share("Part EGalim des viandes, volailles et produits de la mer")
    part_france: str | None = share("Part des achats d'origine France")
    part_europe: str | None = share("Part des achats d'origine Europe")
    part_circuit_court: str | None = share("Part des achats en circuit court")
    part_local: str | None = share("Part des achats locaux")
    part_local_pat: str | None = share("Part des achats locaux au sens d'un projet alimentaire territorial")
    part_local_commune: str | None = share("Part des achats locaux au sens de la commune")
    part_local_departement: str | None = share("Part des achats locaux au sens du département")
    part_local_region: str | None = share("Part des achats locaux au sens de la région")
    part_local_km: str | None = share("Part des achats locaux au sens d'une distance en km")
    by_family: list[EgalimFamilyShares] = strawberry.field(
        description="Par famille de produits ayant des achats dans la période.")
    threshold: EgalimThreshold | None = strawberry.field(
        description="Seuils du territoire en vigueur au premier jour de la période (null avant 2022).")
    imports: list[PurchaseFileImport] = strawberry.field(
        description="Les fichiers importés pour ce membre dans ce plan, dans l'ordre des imports.",
        deprecation_reason=LIST_DEPRECATED.format("allImports"))

    @strawberry.field(description="Le membre (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)

    @strawberry.field(description="Le plan de progrès, tel que l'appelant peut le voir maintenant.")
    async def plan(self, info: strawberry.Info) -> Plan | None:
        return await node_of(info, "Plan", self.plan_id)  # type: ignore[no-any-return]

    @strawberry.field(description="Les fichiers importés pour ce membre dans ce plan, dans l'ordre des imports, page "
                                  "par page.")
    def all_imports(self, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[PurchaseFileImport]:
        return paginate(self.imports, first, after, last, before)

    @classmethod
    def of(cls, member: MemberFigures) -> EgalimShares:
        computed = member.shares
        values = {name: text(computed[name]) for name in computed if name.startswith("part_")}
        families = [
            EgalimFamilyShares(family=Family(name), valeur_totale=str(row["valeur_totale"]),
                               valeur_bio=str(row["valeur_bio"]), valeur_siqo=str(row["valeur_siqo"]),
                               valeur_egalim_autres=str(row["valeur_egalim_autres"]),
                               valeur_externalites_performance=str(row["valeur_externalites_performance"]),
                               valeur_non_egalim=str(row["valeur_non_egalim"]), part_egalim=text(row["part_egalim"]))
            for name, row in member.families.items()]
        threshold = member.threshold
        meat_fish = member.meat_fish_percent
        return cls(
            plan_id=strawberry.ID(member.plan_id), member_id=strawberry.ID(member.member_id),
            period_start=member.start, period_end=member.end,
            valeur_totale=str(computed["valeur_totale"]), **values, by_family=families,
            threshold=None if threshold is None else EgalimThreshold(
                territory=threshold.territory, start=threshold.start, end=threshold.end,
                egalim_percent=threshold.egalim_percent, bio_percent=threshold.bio_percent, source=threshold.source,
                egalim_reached=reached(computed["part_egalim"], threshold.egalim_percent),
                bio_reached=reached(computed["part_bio"], threshold.bio_percent),
                meat_fish_percent=meat_fish, meat_fish_source=member.meat_fish_source if meat_fish else None,
                meat_fish_reached=reached(computed["part_viandes_poissons_egalim"], meat_fish)),
            imports=[PurchaseFileImport(import_id=strawberry.ID(entry["import_id"]), sha256=sha256,
                                        line_count=entry["line_count"], imported_on=date.fromisoformat(entry["on"]))
                     for sha256, entry in member.register.imports.items()],
        )

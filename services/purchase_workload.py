"""A small world for purchase imports (tests, benchmark): a Région, its lycées, a marché, a plan whose
EGalim indicators are fed by purchase files, and generated files in ma cantine's current format."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from progres.domain.egalim import Family
from progres.domain.organisations import Organisation
from progres.domain.values import siret_with_key
from progres.services.commands import Progres
from progres.services.demo import document

HEADER = ["siret", "description", "fournisseur", "date", "prix_ht", "famille_produits", "categories_egalim",
          "origine", "est_circuit_court", "est_local", "definition_local", "definition_local_km"]
OLD_HEADER = ["siret", "description", "fournisseur", "date", "prix_ht", "famille_produits", "caracteristiques",
              "definition_local"]
FEEDS = {"egalim_share": "part_egalim", "bio_share": "part_bio", "meat_fish_share": "part_viandes_poissons_egalim",
         "local_share": "part_local"}


@dataclass
class CanteenWorld:
    region: str
    titulaire: str
    groupement: str
    marche: str
    plan: str
    lycees: list[str]
    sirets: list[str]


def org(app: Progres, prefix: str, name: str, kind: str) -> tuple[str, str]:
    siret = siret_with_key(prefix)
    existing = Organisation.create_id(siret)
    if not app.exists(existing):
        app.register_organisation(siret, name, kind)
    return str(existing), siret


def setup_canteens(app: Progres, members: int = 2, code: str = "GC-CANTINES") -> CanteenWorld:
    region, _ = org(app, "2000537670001", "Région Hauts-de-France", "collectivite")
    titulaire, _ = org(app, "4190012340001", "Laiterie des Flandres", "supplier")
    groupement = str(app.constitute_groupement(code, f"Groupement {code}", "Restauration des lycées", True,
                                               region, "2022-06-01", document("convention.pdf")).id)
    lycees, sirets = [], []
    for index in range(members):
        lycee, siret = org(app, f"1959{index:05d}0001"[:13], f"Lycée {index}", "eple")
        app.admit_member(groupement, lycee, "2022-09-01", document(f"adhesion-{index}.pdf"), "2022-07-01")
        lycees.append(lycee)
        sirets.append(siret)
    marche = str(app.notify_marche(groupement, code[-16:], "Denrées", "15500000-3", "fournitures", [titulaire],
                                   "1200000", 36, "2023-01-01", has_clause_reexamen=True).id)
    plan = str(app.draw_up_plan(marche, "Plan EGalim des lycées").id)
    app.add_axis(plan, "egalim", "Augmenter la part de produits EGalim")
    app.add_objective(plan, "criteres", "egalim", "Respecter les critères EGalim", "resultats")
    for key, name, periodicity in [("egalim_share", "Part EGalim", "semestrial"), ("bio_share", "Part bio",
                                   "semestrial"), ("meat_fish_share", "Part EGalim viandes et poissons", "yearly"),
                                   ("local_share", "Part locale", "yearly")]:
        app.define_indicator(plan, {"key": key, "objective_key": "criteres", "name": name, "kind": "quantitative",
                                    "unit": "%", "baseline": 20, "target": 50, "direction": "increase",
                                    "periodicity": periodicity, "scope": "member", "aggregation": "weighted_mean"})
    return CanteenWorld(region, titulaire, groupement, marche, plan, lycees, sirets)


LABEL_CYCLE = ["BIO", "", "LABEL_ROUGE", "BIO,IGP", "HVE", "", "EXTERNALITES", "AOCAOP", "", "COMMERCE_EQUITABLE",
               "PECHE_DURABLE", "FERMIER"]


def generated_rows(siret: str, lines: int, start: date = date(2023, 1, 1), days: int = 360) -> list[list[str]]:
    """Deterministic, varied purchases: every family, label, origin and local definition."""
    families = list(Family)
    rows = []
    for i in range(lines):
        local = i % 4 == 0
        rows.append([siret, f"Produit {i}", f"Fournisseur {i % 17}", (start + timedelta(days=i % days)).isoformat(),
                     f"{(i * 37) % 5000 / 10 + 1:.2f}", families[i % len(families)].value,
                     LABEL_CYCLE[i % len(LABEL_CYCLE)], ["FRANCE", "EUROPE", ""][i % 3], "OUI" if i % 5 == 0 else "",
                     "x" if local else "", "KM" if local else "", "80" if local else ""])
    return rows


def csv_bytes(header: list[str], rows: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()





"""Two groupements of different tenants, written straight into a server's store (the set-up is not what the
tests are about; what they attack goes over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass

from progres.domain.values import siret_with_key
from progres.services.commands import Progres
from tests.conftest import ADHESION, CONVENTION


@dataclass
class Tenant:
    """A groupement with its coordonnateur, one lycée, a titulaire, a marché and its plan."""

    coordonnateur_siret: str
    coordonnateur: str
    lycee_siret: str
    lycee: str
    titulaire: str
    groupement: str
    marche: str
    plan: str
    proposal: str = ""
    review: str = ""

    @property
    def coordinator(self) -> tuple[str, str]:
        return self.coordonnateur_siret, "coordonnateur"

    @property
    def buyer(self) -> tuple[str, str]:
        return self.lycee_siret, "acheteur"


def tenant(app: Progres, digit: int, with_accepted_proposal: bool = False) -> Tenant:
    """Tenant number `digit` (1-9): distinct SIRETs and codes per digit."""
    sirets = [siret_with_key(f"{kind}{digit}{digit}{digit}000001") for kind in ("2000", "1962", "4190")]
    coordonnateur = app.register_organisation(sirets[0], f"Région {digit}", "collectivite").id
    lycee = app.register_organisation(sirets[1], f"Lycée {digit}", "eple").id
    titulaire = app.register_organisation(sirets[2], f"Laiterie {digit}", "supplier").id
    groupement = app.constitute_groupement(f"GC-{digit}", f"Groupement {digit}", "Achats", True, coordonnateur,
                                           "2021-06-01", CONVENTION).id
    app.admit_member(groupement, lycee, "2021-09-01", ADHESION, "2021-07-01")
    marche = app.notify_marche(groupement, f"M-{digit}", "BOF", "15500000-3", "fournitures", [titulaire], "100000",
                               24, "2022-01-01", has_clause_reexamen=True).id
    plan = app.draw_up_plan(marche, f"Plan {digit}").id
    app.add_axis(plan, "egalim", "EGalim")
    found = Tenant(sirets[0], str(coordonnateur), sirets[1], str(lycee), str(titulaire), str(groupement),
                   str(marche), str(plan))
    if with_accepted_proposal:
        found.proposal = str(app.submit_proposal(plan, lycee, "egalim", "innovation", "Œufs plein air", "Basculer",
                                                 "Plus d'EGalim", "2022-03-01").id)
        found.review = str(app.schedule_review(plan, "Revue", "2022-06-01").id)
        app.hold_review(found.review, "2022-06-01", [{"name": "Chef", "function": "cook", "organisation_id": lycee}])
        app.decide(found.review, found.proposal, "accepted", "Bonne idée")
    return found

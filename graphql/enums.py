"""Enums of the GraphQL contract: one per closed set of the domain, each value described in French.

A value's GraphQL name is the domain's own value (`in_progress`, `weighted_mean`), the string clients already
received from the `String` fields and the `JSON` documents these enums replace: what travels is unchanged.
The Python enums are built from the domain's (domain/values.py, avenants.py, thresholds.py, parties.py) where
it has one, so a value added there without a French meaning here fails at import.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

import strawberry

from progres.domain import values as v
from progres.domain.avenants import AvenantStatus as DomainAvenantStatus
from progres.domain.avenants import Cumulation
from progres.domain.parties import Participation as DomainParticipation
from progres.domain.thresholds import BuyerKind as DomainBuyerKind
from progres.projections.aggregation import NO_VOLUME, WEIGHTINGS
from progres.services.audit import FINDING_KINDS


def closed_set(name: str, description: str, meanings: dict[str, str], domain: type[Enum] | None = None) -> Any:
    """A GraphQL enum whose value names are the domain's values, each with its French meaning."""
    if domain is not None and not {member.value for member in domain} <= set(meanings):
        raise ValueError(f"{name}: a value of {domain.__name__} has no French meaning here")
    python_enum = StrEnum(name, {value: value for value in meanings})  # type: ignore[misc]
    definition = strawberry.enum(python_enum, name=name, description=description)
    for value in definition.__strawberry_definition__.values:
        value.description = meanings[value.name]
    return definition


OrganisationKind = closed_set("OrganisationKind", "Type d'organisation.", {
    "collectivite": "Collectivité territoriale (commune, département, région, métropole…).",
    "eple": "Établissement public local d'enseignement (lycée, collège).",
    "state_service": "Service de l'État.",
    "hospital": "Établissement public de santé.",
    "public_establishment": "Autre établissement public.",
    "eu_buyer": "Acheteur d'un autre État de l'Union européenne (L2113-8), sans SIRET.",
    "supplier": "Fournisseur, titulaire possible d'un marché.",
    "audit_body": "Organisme d'audit (audit interne, chambre régionale des comptes).",
}, v.OrganisationKind)

WithdrawalClause = closed_set("WithdrawalClause", "Clause de retrait de la convention constitutive.", {
    "bound_until_marche_end": "Le membre sortant reste lié aux marchés en cours jusqu'à leur fin.",
    "ends_at_withdrawal": "La part du membre sortant s'arrête à son retrait.",
}, v.WithdrawalClause)

MarcheNature = closed_set("MarcheNature", "Nature du marché.", {
    "fournitures": "Marché de fournitures.",
    "services": "Marché de services.",
    "travaux": "Marché de travaux.",
}, v.MarcheNature)

BuyerKind = closed_set("BuyerKind", "Colonne des seuils européens qui s'applique à l'acheteur.", {
    "pouvoir_adjudicateur": "Pouvoir adjudicateur (collectivité, établissement public…).",
    "autorite_publique_centrale": "Autorité publique centrale (services de l'État).",
    "entite_adjudicatrice": "Entité adjudicatrice (opérateur de réseau).",
}, DomainBuyerKind)

ObjectiveKind = closed_set("ObjectiveKind", "Nature de l'obligation d'un objectif.", {
    "moyens": "Obligation de moyens.",
    "resultats": "Obligation de résultats.",
}, v.ObjectiveKind)

IndicatorKind = closed_set("IndicatorKind", "Nature d'un indicateur.", {
    "quantitative": "Quantitatif : une valeur chiffrée, une unité, une référence et une cible.",
    "qualitative": "Qualitatif : une appréciation documentée, sans chiffre.",
}, v.IndicatorKind)

Direction = closed_set("Direction", "Sens souhaité d'un indicateur quantitatif.", {
    "increase": "À la hausse : la cible est atteinte quand la valeur lui est supérieure ou égale.",
    "decrease": "À la baisse : la cible est atteinte quand la valeur lui est inférieure ou égale.",
}, v.Direction)

Periodicity = closed_set("Periodicity", "Périodicité des mesures d'un indicateur.", {
    "monthly": "Mensuelle.",
    "quarterly": "Trimestrielle.",
    "semestrial": "Semestrielle.",
    "yearly": "Annuelle.",
}, v.Periodicity)

IndicatorScope = closed_set("IndicatorScope", "Portée d'un indicateur.", {
    "member": "Une valeur par membre, combinées en chiffre du groupement.",
    "groupement": "Une seule valeur pour tout le groupement.",
}, v.Scope)

Aggregation = closed_set("Aggregation", "Comment les valeurs des membres se combinent en chiffre du groupement.", {
    "sum": "Somme des valeurs des membres.",
    "mean": "Moyenne simple.",
    "weighted_mean": "Moyenne pondérée par les volumes d'achat déclarés.",
    "none": "Pas de chiffre du groupement.",
}, v.Aggregation)

Party = closed_set("Party", "Partie au plan de progrès.", {
    "titulaire": "Le titulaire du marché.",
    "acheteur": "L'acheteur : le coordonnateur ou un membre.",
    "joint": "Le titulaire et l'acheteur ensemble.",
}, v.ActionOwner)

ActionStatus = closed_set("ActionStatus", "Statut d'une action du plan.", {
    "planned": "Prévue.",
    "in_progress": "En cours.",
    "done": "Faite.",
    "cancelled": "Annulée.",
}, v.ActionStatus)

ProposalKind = closed_set("ProposalKind", "Type de proposition.", {
    "innovation": "Innovation.",
    "service_improvement": "Amélioration du service.",
    "sur_qualite_reduction": "Réduction de la sur-qualité.",
}, v.ProposalKind)

ProposalStatus = closed_set("ProposalStatus", "Statut d'une proposition.", {
    "submitted": "Soumise, pas encore décidée.",
    "postponed": "Reportée par une revue.",
    "accepted": "Acceptée par une revue.",
    "rejected": "Rejetée par une revue.",
    "withdrawn": "Retirée par son auteur.",
})

DecisionOutcome = closed_set("DecisionOutcome", "Ce qu'une revue a décidé d'une proposition.", {
    "accepted": "Acceptée.",
    "rejected": "Rejetée.",
    "postponed": "Reportée.",
}, v.Outcome)

ParticipantFunction = closed_set("ParticipantFunction", "Fonction d'un participant à une revue.", {
    "buyer": "Acheteur.",
    "cook": "Cuisinier ou chef de cuisine.",
    "gestionnaire": "Gestionnaire d'établissement.",
    "elected_official": "Élu.",
    "supplier": "Représentant du fournisseur.",
    "teacher": "Enseignant.",
    "other": "Autre fonction.",
}, v.ParticipantFunction)

PointKind = closed_set("PointKind", "Nature d'un point soulevé en revue.", {
    "constraint": "Contrainte.",
    "need": "Besoin.",
    "difficulty": "Difficulté.",
    "idea": "Idée.",
}, v.PointKind)

Settlement = closed_set("Settlement", "Comment le gain partagé est réglé.", {
    "price_reduction": "Baisse de prix.",
    "rebate": "Remise.",
    "reinvestment": "Réinvestissement dans le plan.",
}, v.Settlement)

MemberSplit = closed_set("MemberSplit", "Répartition de la part de l'acheteur entre les membres.", {
    "purchase_volume": "Au prorata des volumes d'achat déclarés.",
    "equal": "Parts égales.",
})

ReviewStatus = closed_set("ReviewStatus", "Statut d'une revue.", {
    "scheduled": "Programmée.",
    "held": "Tenue.",
    "closed": "Close : plus rien ne s'y consigne.",
})

AvenantStatus = closed_set("AvenantStatus", "Statut d'un avenant.", {
    "proposed": "Proposé.",
    "signed": "Signé.",
    "notified": "Notifié : ses changements ont pris effet.",
    "abandoned": "Abandonné.",
}, DomainAvenantStatus)

SmallModificationsReading = closed_set(
    "SmallModificationsReading", "Lecture du montant cumulé des modifications de faible montant (R2194-9).", {
        "net": "Montant net des modifications successives (directive 2014/24, art. 72(2)), par défaut.",
        "absolute": "Somme des valeurs absolues : hausses et baisses comptent toutes deux.",
    }, Cumulation)

IndicatorStatus = closed_set("IndicatorStatus", "Où en est un indicateur par rapport à sa cible.", {
    "met": "Cible atteinte.",
    "not_met": "Cible non atteinte, le plan ou le marché étant clos.",
    "in_progress": "Cible pas encore atteinte, le plan continue.",
    "no_data": "Aucune mesure (ou pas de cible).",
    "assessed": "Indicateur qualitatif apprécié.",
})

Participation = closed_set("Participation", "Règle sous laquelle une mesure d'un membre compte (ou non) dans les "
                                            "chiffres du groupement.", {
    "party": "Membre au lancement du marché, et encore membre pendant la période : comptée.",
    "bound_after_withdrawal": "Sorti, mais lié par la convention jusqu'à la fin du marché : comptée.",
    "until_withdrawal": "Sorti pendant la période : comptée jusqu'à sa sortie.",
    "after_withdrawal": "Sorti avant la période : non comptée.",
    "joined_after_launch": "Entré après le lancement, il n'est pas partie au marché : non comptée.",
    "not_a_member": "Pas membre pendant la période : non comptée.",
    "groupement": "Mesure de tout le groupement.",
}, DomainParticipation)

Exclusion = closed_set("Exclusion", "Pourquoi un membre a été laissé hors d'un chiffre du groupement.", {
    "after_withdrawal": "Sorti avant la période.",
    "joined_after_launch": "Entré après le lancement : pas partie au marché.",
    "not_a_member": "Pas membre pendant la période.",
    "no_purchase_volume": "Aucun volume d'achat déclaré pour la moyenne pondérée.",
})


def names(enum: Any) -> set[str]:
    return {value.name for value in enum.__strawberry_definition__.values}


# Derived sets of the domain: a rule added there without its French meaning here fails at import.
if names(Exclusion) != {p.value for p in DomainParticipation if not p.counts} | {NO_VOLUME}:
    raise ValueError("Exclusion: the participations that do not count, and no_purchase_volume")

Weighting = closed_set("Weighting", "Règle de pondération appliquée à une moyenne pondérée.", {
    WEIGHTINGS[0]: "Chaque membre compté avait un volume d'achat.",
    WEIGHTINGS[1]: "Les membres sans volume d'achat ont été laissés hors de la moyenne, et nommés.",
    WEIGHTINGS[2]: "Aucun membre compté n'avait de volume : pas de chiffre.",
})

StandingRule = closed_set("StandingRule", "Place d'un membre dans le marché du plan.", {
    "party": "Partie au marché, toujours membre.",
    "withdrawn_bound_until_marche_end": "Partie sortie du groupement, liée jusqu'à la fin du marché.",
    "withdrawn_ends_at_withdrawal": "Partie sortie du groupement, sa part s'arrête à sa sortie.",
    "joined_after_launch": "Entré après le lancement : pas partie au marché.",
})

PlanChangeKind = closed_set("PlanChangeKind", "Changement que l'avenant apporte au plan.", {
    "add_axis": "Ajoute un axe au plan (laissé de côté au lancement).",
})

LogFaultKind = closed_set("LogFaultKind", "Nature de la première anomalie trouvée en vérifiant le journal "
                          "(`progres audit verify`, docs/audit.md).", {
    "altered": "Modifié : le contenu d'un événement ne donne plus ce que garantit son maillon, ou une tête signée "
               "ne se retrouve plus.",
    "deleted": "Supprimé : un événement que la chaîne lie manque au journal.",
    "inserted": "Inséré : un événement sans maillon fait avec la clé de l'application.",
    "reordered": "Déplacé : l'événement enregistré à une autre position se trouve ici.",
    "truncated": "Tronqué : le journal s'arrête avant la fin que couvre une tête signée ou un enregistrement "
                 "d'adoption.",
    "snapshot": "Instantané falsifié : un instantané diffère de l'état que donnent les événements de son agrégat.",
    "head": "Tête signée refusée : sa clé est inconnue, sa signature ne correspond pas, ou c'est celle d'un autre "
            "journal.",
    "adoption": "Enregistrement d'adoption refusé : illisible, de clé inconnue ou de signature fausse.",
})

if names(StandingRule) != {"party", "joined_after_launch"} | {f"withdrawn_{c.value}" for c in v.WithdrawalClause}:
    raise ValueError("StandingRule: party, joined_after_launch and withdrawn_<clause> (projections/parties.py)")

if names(LogFaultKind) != set(FINDING_KINDS):
    raise ValueError("LogFaultKind: the kinds of finding of services/audit.py")

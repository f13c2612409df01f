"""Who may do what: the one access policy of progres, deny by default.

GraphQL queries, mutations and subscriptions, exports and the CLI all ask `Policy`; nothing else
decides access. An actor is an organisation acting in a role; a groupement's parties are read from
its aggregates (commands) or its ledger (reads), which say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from progres.domain.errors import DomainError


class Role(StrEnum):
    COORDONNATEUR = "coordonnateur"
    ACHETEUR = "acheteur"
    TITULAIRE = "titulaire"
    AUDITEUR = "auditeur"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    organisation_id: str
    role: Role

    @classmethod
    def parse(cls, organisation_id: str, role: str) -> Actor:
        return cls(str(organisation_id), Role(role))


@dataclass(frozen=True)
class Parties:
    """The organisations of one groupement and what they are in it."""

    groupement_id: str
    coordonnateur_id: str
    member_ids: frozenset[str]
    titulaire_ids: frozenset[str] = frozenset()
    auditor_ids: frozenset[str] = frozenset()
    shares_member_details: bool = False

    @classmethod
    def of_document(cls, doc: dict[str, Any]) -> Parties:
        return cls(doc["groupement_id"], doc["coordonnateur_id"], frozenset(doc["member_ids"]),
                   frozenset(doc["titulaire_ids"]), frozenset(doc["auditor_ids"]), doc["shares_member_details"])

    @classmethod
    def of_ledger(cls, ledger: dict[str, Any]) -> Parties:
        groupement = ledger["groupement"]
        titulaires = {t for m in ledger["marches"].values() for t in m["titulaire_ids"]}
        return cls(ledger["id"], groupement["coordonnateur_id"],
                   frozenset(m["organisation_id"] for m in groupement["memberships"]),
                   frozenset(titulaires), frozenset(groupement.get("auditor_ids", [])),
                   bool(groupement.get("shares_member_details")))


class Denied(DomainError):
    code = "forbidden"
    template = "{actor} n'a pas le droit de {action}"


READ_PLAN = "read_plan"
READ_MEMBER = "read_member_view"
READ_HISTORY = "read_history"
MANAGE = "manage"
RECORD = "record_measure"
PROPOSE = "submit_proposal"
REPORT_ACTION = "report_action"

# What each action is called in a refusal (Denied's message).
ACTION_LABELS = {
    READ_PLAN: "lire ce plan", READ_MEMBER: "lire la vue de ce membre", READ_HISTORY: "lire l'historique",
    MANAGE: "gérer ce groupement", RECORD: "enregistrer une mesure pour ce membre",
    PROPOSE: "agir sur une proposition au nom de ce membre", REPORT_ACTION: "rendre compte d'une action",
}

# Commands a coordonnateur's buyers run for their groupement.
MANAGING_COMMANDS = frozenset({
    "admit_member", "release_member", "notify_marche", "close_marche", "draw_up_plan", "add_axis",
    "add_objective", "define_indicator", "plan_action", "commit_resource", "schedule_milestone",
    "define_gain_sharing", "define_governance", "declare_purchase_volume", "close_plan_with_bilan_final",
    "schedule_review", "hold_review", "raise_point", "decide", "close_review", "propose_avenant",
    "sign_avenant", "notify_avenant", "abandon_avenant", "record_cao_opinion", "correct_particulars",
    "choose_small_modifications_reading",
})


@dataclass
class Policy:
    """Deny by default; each rule names who may."""

    platform_admins: frozenset[str] = field(default_factory=frozenset)

    def allowed(self, actor: Actor, action: str, parties: Parties | None, subject: str | None = None) -> bool:
        if actor.role is Role.ADMIN:
            return True
        if parties is None:
            return False
        org = actor.organisation_id
        is_coordonnateur = actor.role is Role.COORDONNATEUR and org == parties.coordonnateur_id
        is_member_buyer = actor.role is Role.ACHETEUR and org in parties.member_ids
        is_titulaire = actor.role is Role.TITULAIRE and org in parties.titulaire_ids
        is_auditor = actor.role is Role.AUDITEUR and org in parties.auditor_ids
        rules = {
            READ_PLAN: is_coordonnateur or is_member_buyer or is_titulaire or is_auditor,
            READ_MEMBER: is_coordonnateur or is_auditor or (is_member_buyer and subject == org)
            or (parties.shares_member_details and (is_member_buyer or is_titulaire)),
            READ_HISTORY: is_coordonnateur or is_auditor,
            MANAGE: is_coordonnateur,
            RECORD: subject == org and (is_coordonnateur or is_member_buyer or is_titulaire),
            PROPOSE: subject == org and (is_coordonnateur or is_member_buyer or is_titulaire),
            REPORT_ACTION: is_coordonnateur or is_titulaire,
        }
        return rules.get(action, False)

    def check(self, actor: Actor, action: str, parties: Parties | None, subject: str | None = None) -> None:
        if not self.allowed(actor, action, parties, subject):
            raise Denied(actor=f"le rôle {actor.role.value} de l'organisation {actor.organisation_id}",
                         action=ACTION_LABELS.get(action, action))

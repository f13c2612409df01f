"""Applies the policy to commands and reads: finds the groupement a request touches and its parties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from progres.domain.errors import NotFound
from progres.services.policy import (
    MANAGE,
    MANAGING_COMMANDS,
    PROPOSE,
    READ_HISTORY,
    READ_MEMBER,
    READ_PLAN,
    RECORD,
    REPORT_ACTION,
    Actor,
    Denied,
    Parties,
    Policy,
    Role,
)
from progres.services.read_models import ReadModels

# Which argument names the organisation a command acts for, when it is not the coordonnateur's.
SUBJECTS = {
    "record_measure": (RECORD, "recorded_by"), "import_measures": (RECORD, "recorded_by"),
    "import_purchases": (RECORD, "imported_by"),
    "correct_measure": (RECORD, "corrected_by"), "submit_proposal": (PROPOSE, "author_id"),
    "withdraw_proposal": (PROPOSE, "by"), "change_action_status": (REPORT_ACTION, None),
}
ANCHORS = ("groupement_id", "plan_id", "marche_id", "review_id", "proposal_id", "measure_id_")
ANCHOR_KINDS = {"groupement_id": "groupement", "plan_id": "plan", "marche_id": "marché", "review_id": "revue",
                "proposal_id": "proposition", "measure_id_": "mesure"}


class Unknown(NotFound):
    code = "not_found"
    template = "{kind} introuvable parmi ce qui vous est visible : {id}"


@dataclass
class Access:
    models: ReadModels
    policy: Policy

    def parties(self, groupement_id: str) -> Parties | None:
        doc = self.models.parties(groupement_id)
        return Parties.of_document(doc) if doc else None

    def groupement_of(self, aggregate_id: str) -> str | None:
        route = self.models.route(str(aggregate_id))
        return route.groupement_id if route else None

    def authorize_command(self, actor: Actor, command: str, kwargs: dict[str, Any]) -> None:
        """Raises Denied unless the actor may run this command with these arguments."""
        if command == "register_organisation":
            if actor.role not in (Role.ADMIN, Role.COORDONNATEUR):
                raise Denied(None, actor=f"le rôle {actor.role.value}", action="enregistrer des organisations")
            return
        if command == "constitute_groupement":
            if actor.role is Role.ADMIN or (actor.role is Role.COORDONNATEUR
                                            and str(kwargs.get("coordonnateur_id")) == actor.organisation_id):
                return
            raise Denied("coordonnateur_id", actor=f"le rôle {actor.role.value}",
                         action="constituer un groupement pour une autre organisation")
        self.models.fresh(None, field=None)  # parties as of the latest write, not as of the runner's last pass
        anchor = next((a for a in ANCHORS if kwargs.get(a)), None)
        groupement_id = self.groupement_of(str(kwargs[anchor])) if anchor else None
        parties = self.parties(groupement_id) if groupement_id else None
        if anchor and actor.role is not Role.ADMIN and (parties is None
                                                        or not self.policy.allowed(actor, READ_PLAN, parties)):
            # What the caller's groupements do not hold answers as what does not exist: no probing of ids.
            raise Unknown(anchor.rstrip("_"), kind=ANCHOR_KINDS[anchor], id=str(kwargs[anchor]))
        if command in SUBJECTS:
            action, subject_arg = SUBJECTS[command]
            subject = str(kwargs.get(subject_arg)) if subject_arg else None
            self.policy.check(actor, action, parties, subject)
        elif command in MANAGING_COMMANDS or command == "assign_auditor":
            self.policy.check(actor, MANAGE, parties)
        else:
            raise Denied(None, actor=f"le rôle {actor.role.value}", action=f"exécuter la commande {command}")

    def readable_plan(self, actor: Actor, plan_id: str) -> tuple[str, Parties]:
        groupement_id = self.groupement_of(plan_id)
        parties = self.parties(groupement_id) if groupement_id else None
        if parties is None or not self.policy.allowed(actor, READ_PLAN, parties):
            raise Unknown("plan_id", kind="plan", id=plan_id)  # the same answer as for a plan that does not exist
        return groupement_id, parties  # type: ignore[return-value]

    def check_member_view(self, actor: Actor, plan_id: str, member_id: str) -> None:
        _, parties = self.readable_plan(actor, plan_id)
        self.policy.check(actor, READ_MEMBER, parties, member_id)

    def visible_members(self, actor: Actor, parties: Parties) -> set[str] | None:
        """None when the actor sees every member's details; else the members whose details it sees."""
        if actor.role is Role.ADMIN or any(self.policy.allowed(actor, READ_MEMBER, parties, m)
                                           for m in parties.member_ids - {actor.organisation_id}):
            return None
        return {actor.organisation_id}

    def balance_for(self, actor: Actor, parties: Parties, balance: dict[str, Any]) -> dict[str, Any]:
        """The balance as the actor may see it: another member's breakdown and gain share only for those
        who see every member's details (coordonnateur, auditors, or all when the convention shares them)."""
        visible = self.visible_members(actor, parties)
        if visible is None:
            return balance
        gains = balance["gains"]
        return {**balance, "members": {m: v for m, v in balance["members"].items() if m in visible},
                "gains": {**gains, "members": {m: v for m, v in gains["members"].items() if m in visible}}}

    def check_history(self, actor: Actor, groupement_id: str | None) -> None:
        parties = self.parties(groupement_id) if groupement_id else None
        if actor.role is Role.ADMIN:
            return
        self.policy.check(actor, READ_HISTORY, parties)

    def may_read_groupement(self, actor: Actor, groupement_id: str) -> bool:
        """Whether the actor reads this groupement (as `readable_groupements` lists it)."""
        parties = self.parties(groupement_id)
        return parties is not None and self.policy.allowed(actor, READ_PLAN, parties)

    def readable_groupements(self, actor: Actor) -> list[str]:
        return [doc["groupement_id"] for doc in self.models.all_parties()
                if self.policy.allowed(actor, READ_PLAN, Parties.of_document(doc))]

"""The parties of a plan's marché as the views see them: the rules of domain/parties.py applied to a ledger,
so that each measure and each member says which rule it was counted (or not counted) under."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

from progres.domain.parties import Participation, Stay, participation, withdrawal_date
from progres.domain.values import Period, WithdrawalClause

RuleOf = Callable[[str | None, str, str], str]
GROUPEMENT_SCOPE = "groupement"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def stays(ledger: dict[str, Any], organisation_id: str) -> list[Stay]:
    memberships = (ledger.get("groupement") or {}).get("memberships", [])
    return [Stay(date.fromisoformat(m["joined_on"]), _day(m["left_on"]))
            for m in memberships if m["organisation_id"] == organisation_id]


def launched_on(marche: dict[str, Any]) -> date:
    return date.fromisoformat(marche.get("launched_on") or marche["notified_on"])


def parties(ledger: dict[str, Any], marche: dict[str, Any]) -> set[str]:
    """Fixed at the launch; for a marché notified before issue 14, the members on its launch day."""
    if marche.get("party_ids") is not None:
        return set(marche["party_ids"])
    day = launched_on(marche)
    memberships = (ledger.get("groupement") or {}).get("memberships", [])
    return {m["organisation_id"] for m in memberships
            if Stay(date.fromisoformat(m["joined_on"]), _day(m["left_on"])).active_on(day)}


def clause(ledger: dict[str, Any]) -> WithdrawalClause:
    value = (ledger.get("groupement") or {}).get("withdrawal_clause")
    return WithdrawalClause(value or WithdrawalClause.BOUND_UNTIL_MARCHE_END.value)


def rule_of(ledger: dict[str, Any], marche: dict[str, Any] | None) -> RuleOf:
    """member id (None for the groupement), period start, period end → the participation rule's name."""
    if marche is None:
        return lambda member, start, end: Participation.PARTY.value if member else GROUPEMENT_SCOPE
    party_ids, launch, withdrawal = parties(ledger, marche), launched_on(marche), clause(ledger)
    # One answer per (member, period), each member's stays read once: a plan's figures ask for every measure, and
    # the ledger does not change while the rule is used (a caller makes the rule again after folding facts).
    known: dict[tuple[str, str, str], str] = {}
    members_stays: dict[str, list[Stay]] = {}

    def rule(member: str | None, start: str, end: str) -> str:
        if member is None:
            return GROUPEMENT_SCOPE
        answer = known.get((member, start, end))
        if answer is None:
            if member not in members_stays:
                members_stays[member] = stays(ledger, member)
            period = Period(date.fromisoformat(start), date.fromisoformat(end))
            answer = known[(member, start, end)] = participation(members_stays[member], launch, member in party_ids,
                                                                withdrawal, period).value
        return answer
    return rule


@functools.cache
def counts(rule: str) -> bool:
    return rule == GROUPEMENT_SCOPE or Participation(rule).counts


def standing(ledger: dict[str, Any], marche: dict[str, Any] | None, member: str) -> dict[str, Any]:
    """A member's place in the plan's marché: party or not, when it left, and what the convention says of it."""
    if marche is None:
        return {"party": False, "launched_on": None, "left_on": None, "withdrawal_clause": clause(ledger).value}
    launch = launched_on(marche)
    is_party = member in parties(ledger, marche)
    left = withdrawal_date(stays(ledger, member), launch) if is_party else None
    return {"party": is_party, "launched_on": launch.isoformat(), "left_on": left.isoformat() if left else None,
            "withdrawal_clause": clause(ledger).value,
            "rule": Participation.PARTY.value if is_party and left is None
            else (f"withdrawn_{clause(ledger).value}" if is_party else Participation.JOINED_AFTER_LAUNCH.value)}

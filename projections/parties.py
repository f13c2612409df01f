"""The parties of a plan's marché as the views see them: the rules of domain/parties.py applied to a ledger,
so that each measure and each member says which rule it was counted (or not counted) under."""

from __future__ import annotations

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
    # Each (member, period) once: a plan's measures share few of them, and a member's stays are read from every
    # membership of the groupement (the rule is a pure function of these, made and used with one ledger state).
    # A member's stays are made the first time it is asked for (as-of asks for a page of 20 members of 3,000).
    known: dict[tuple[str, str, str], str] = {}
    raw: dict[str, list[dict[str, Any]]] = {}
    for m in (ledger.get("groupement") or {}).get("memberships", []):
        raw.setdefault(m["organisation_id"], []).append(m)
    by_member: dict[str, list[Stay]] = {}

    def rule(member: str | None, start: str, end: str) -> str:
        if member is None:
            return GROUPEMENT_SCOPE
        found = known.get((member, start, end))
        if found is None:
            member_stays = by_member.get(member)
            if member_stays is None:
                member_stays = by_member[member] = [Stay(date.fromisoformat(m["joined_on"]), _day(m["left_on"]))
                                                    for m in raw.get(member, ())]
            period = Period(date.fromisoformat(start), date.fromisoformat(end))
            found = known[(member, start, end)] = participation(member_stays, launch, member in party_ids,
                                                                withdrawal, period).value
        return found
    return rule


COUNTED = frozenset({GROUPEMENT_SCOPE, *(p.value for p in Participation if p.counts)})


def counts(rule: str) -> bool:
    """Whether a measure under this rule enters the groupement's figures (a set lookup: called for every point)."""
    if rule not in COUNTED:
        Participation(rule)  # a name no rule has is an error, as before
        return False
    return True


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


def standings_of(ledger: dict[str, Any], marche: dict[str, Any] | None,
                 members: list[str]) -> dict[str, dict[str, Any]]:
    """`standing` of each of these members, the memberships and the parties read once (not once per member: a
    groupement of 3,000 members has 3,000 memberships)."""
    if marche is None:
        return {m: standing(ledger, marche, m) for m in members}
    launch, party_ids, withdrawal = launched_on(marche), parties(ledger, marche), clause(ledger).value
    wanted = set(members)  # (as-of asks for a page of them: only their stays are made)
    by_member: dict[str, list[Stay]] = {}
    for m in (ledger.get("groupement") or {}).get("memberships", []):
        if m["organisation_id"] in wanted:
            by_member.setdefault(m["organisation_id"], []).append(Stay(date.fromisoformat(m["joined_on"]),
                                                                       _day(m["left_on"])))
    found = {}
    for member in members:
        is_party = member in party_ids
        left = withdrawal_date(by_member.get(member, []), launch) if is_party else None
        found[member] = {"party": is_party, "launched_on": launch.isoformat(),
                         "left_on": left.isoformat() if left else None, "withdrawal_clause": withdrawal,
                         "rule": Participation.PARTY.value if is_party and left is None
                         else (f"withdrawn_{withdrawal}" if is_party else Participation.JOINED_AFTER_LAUNCH.value)}
    return found

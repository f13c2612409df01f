"""The access policy as a table: every actor (organisation × role) against every action and subject.

The expected table is written out from docs/access.md, not computed by the policy: a rule switched
off, widened or narrowed changes at least one cell. Allowed cells are checked as carefully as denied
ones, so a policy that denies everything fails here too.
"""

from __future__ import annotations

import itertools

import pytest

from progres.services.policy import (
    MANAGE,
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

COORD, MEMBER, OTHER_MEMBER, TITULAIRE, AUDITOR, OUTSIDER = "coord", "m1", "m2", "tit", "aud", "out"
ORGS = [COORD, MEMBER, OTHER_MEMBER, TITULAIRE, AUDITOR, OUTSIDER]
ACTIONS = [READ_PLAN, READ_MEMBER, READ_HISTORY, MANAGE, RECORD, PROPOSE, REPORT_ACTION, "launch_rocket"]
SUBJECTS = [None, *ORGS]
ALL = "any subject"


def parties(shares: bool) -> Parties:
    # The coordonnateur is a member of its own groupement, as in the ledger.
    return Parties("g1", COORD, frozenset({COORD, MEMBER, OTHER_MEMBER}), frozenset({TITULAIRE}),
                   frozenset({AUDITOR}), shares)


def table(shares: bool) -> set[tuple[str, Role, str, str | None]]:
    """Every allowed (organisation, role, action, subject); anything else is denied (admin aside)."""
    grants: list[tuple[str, Role, str, object]] = [
        (COORD, Role.COORDONNATEUR, READ_PLAN, ALL),
        (COORD, Role.COORDONNATEUR, READ_MEMBER, ALL),
        (COORD, Role.COORDONNATEUR, READ_HISTORY, ALL),
        (COORD, Role.COORDONNATEUR, MANAGE, ALL),
        (COORD, Role.COORDONNATEUR, REPORT_ACTION, ALL),
        (COORD, Role.COORDONNATEUR, RECORD, COORD),
        (COORD, Role.COORDONNATEUR, PROPOSE, COORD),
        (AUDITOR, Role.AUDITEUR, READ_PLAN, ALL),
        (AUDITOR, Role.AUDITEUR, READ_MEMBER, ALL),
        (AUDITOR, Role.AUDITEUR, READ_HISTORY, ALL),
        (TITULAIRE, Role.TITULAIRE, READ_PLAN, ALL),
        (TITULAIRE, Role.TITULAIRE, REPORT_ACTION, ALL),
        (TITULAIRE, Role.TITULAIRE, RECORD, TITULAIRE),
        (TITULAIRE, Role.TITULAIRE, PROPOSE, TITULAIRE),
    ]
    for member in (COORD, MEMBER, OTHER_MEMBER):  # buyers of the groupement, the coordonnateur's too
        grants += [(member, Role.ACHETEUR, READ_PLAN, ALL), (member, Role.ACHETEUR, READ_MEMBER, member),
                   (member, Role.ACHETEUR, RECORD, member), (member, Role.ACHETEUR, PROPOSE, member)]
        if shares:
            grants.append((member, Role.ACHETEUR, READ_MEMBER, ALL))
    if shares:
        grants.append((TITULAIRE, Role.TITULAIRE, READ_MEMBER, ALL))
    allowed = set()
    for org, role, action, subject in grants:
        for each in SUBJECTS if subject == ALL else [subject]:
            allowed.add((org, role, action, each))
    return allowed


CELLS = list(itertools.product(ORGS, [r for r in Role if r is not Role.ADMIN], ACTIONS, SUBJECTS))


@pytest.mark.parametrize("shares", [False, True], ids=["details private", "details shared"])
def test_the_policy_decides_every_cell_as_the_table_says(shares):
    policy, expected = Policy(), table(shares)
    wrong = [(org, role.value, action, subject) for org, role, action, subject in CELLS
             if policy.allowed(Actor(org, role), action, parties(shares), subject)
             != ((org, role, action, subject) in expected)]
    assert wrong == []
    assert len(expected) > 60  # the table itself grants something


def test_the_coordonnateur_sees_every_members_details_and_a_member_only_its_own():
    policy, private = Policy(), parties(False)
    for member in (COORD, MEMBER, OTHER_MEMBER):
        assert policy.allowed(Actor(COORD, Role.COORDONNATEUR), READ_MEMBER, private, member)
    assert policy.allowed(Actor(MEMBER, Role.ACHETEUR), READ_MEMBER, private, MEMBER)
    assert not policy.allowed(Actor(MEMBER, Role.ACHETEUR), READ_MEMBER, private, OTHER_MEMBER)
    assert not policy.allowed(Actor(TITULAIRE, Role.TITULAIRE), READ_MEMBER, private, MEMBER)
    assert policy.allowed(Actor(TITULAIRE, Role.TITULAIRE), READ_MEMBER, parties(True), MEMBER)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_admin_may_do_anything_even_outside_any_groupement(action):
    assert Policy().allowed(Actor(OUTSIDER, Role.ADMIN), action, None, OUTSIDER)
    assert Policy().allowed(Actor(OUTSIDER, Role.ADMIN), action, parties(False), None)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_without_a_groupement_everyone_but_an_admin_is_denied(role):
    assert not Policy().allowed(Actor(COORD, role), READ_PLAN, None, COORD)


def test_check_passes_silently_when_allowed_and_names_actor_and_action_when_denied():
    policy = Policy()
    assert policy.check(Actor(COORD, Role.COORDONNATEUR), MANAGE, parties(False)) is None
    assert policy.check(Actor(MEMBER, Role.ACHETEUR), RECORD, parties(False), MEMBER) is None
    with pytest.raises(Denied) as caught:
        policy.check(Actor(MEMBER, Role.ACHETEUR), MANAGE, parties(False))
    assert caught.value.code == "forbidden"
    assert caught.value.field is None
    assert caught.value.message == "le rôle acheteur de l'organisation m1 n'a pas le droit de gérer ce groupement"


def test_an_actor_is_parsed_from_its_organisation_and_role_name():
    assert Actor.parse("42", "titulaire") == Actor("42", Role.TITULAIRE)
    with pytest.raises(ValueError, match="'pope' is not a valid Role"):
        Actor.parse("42", "pope")


def test_parties_read_from_a_ledger_and_from_a_document_are_the_same():
    ledger = {
        "id": "g1",
        "groupement": {"coordonnateur_id": COORD, "shares_member_details": True, "auditor_ids": [AUDITOR],
                       "memberships": [{"organisation_id": COORD}, {"organisation_id": MEMBER},
                                       {"organisation_id": OTHER_MEMBER}]},
        "marches": {"mk": {"titulaire_ids": [TITULAIRE]}},
    }
    document = {"groupement_id": "g1", "coordonnateur_id": COORD, "member_ids": [COORD, MEMBER, OTHER_MEMBER],
                "titulaire_ids": [TITULAIRE], "auditor_ids": [AUDITOR], "shares_member_details": True}
    assert Parties.of_ledger(ledger) == parties(True)
    assert Parties.of_document(document) == parties(True)
    bare = {**ledger, "groupement": {k: v for k, v in ledger["groupement"].items()
                                     if k not in ("auditor_ids", "shares_member_details")}}
    assert Parties.of_ledger(bare) == Parties("g1", COORD, frozenset({COORD, MEMBER, OTHER_MEMBER}),
                                              frozenset({TITULAIRE}), frozenset(), False)

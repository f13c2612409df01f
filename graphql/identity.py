"""Global ids: one opaque, stable id per object that has an identity, encoding its type and its domain id, read
back by `node(id:)`/`nodes(ids:)` (docs/graphql.md, "Identifiants")."""

from __future__ import annotations

import base64
import binascii

import strawberry

from progres.domain.errors import InvalidInput

# How many parts of a domain id each type's global id carries: an entity keyed inside its plan (or its marché, or
# its review) needs both.
PARTS = {
    "Organisation": 1, "Groupement": 1, "Marche": 1, "Plan": 1, "Measure": 1, "Proposal": 1, "Review": 1,
    "Axis": 2, "Objective": 2, "Indicator": 2, "Action": 2,  # plan id, key
    "Avenant": 2,  # marché id, number
    "Decision": 2,  # review id, proposal id (one decision per proposal and review)
}
MAX_GLOBAL_ID = 400  # longer than any id of ours: refused before decoding


def global_id(kind: str, *parts: str) -> strawberry.ID:
    """`base64url("<Type>:<part>[:<part>]")`, without padding; the last part may hold colons (a key)."""
    text = ":".join((kind, *parts))
    return strawberry.ID(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))


def parse_global_id(value: str, field: str = "id") -> tuple[str, tuple[str, ...]]:
    """The type and domain id parts of a global id; a value that is not one is refused (`invalid_input`)."""
    refused = InvalidInput(field, rule="ce n'est pas un identifiant global (`nodeId`) de progres")
    if not value or len(value) > MAX_GLOBAL_ID:
        raise refused
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise refused from None
    kind, _, rest = text.partition(":")
    count = PARTS.get(kind)
    if count is None or not rest:
        raise refused
    parts = tuple(rest.split(":", count - 1))
    if len(parts) != count or not all(parts):
        raise refused
    return kind, parts


@strawberry.interface(description="Un objet qui a une identité (organisation, groupement, marché, plan, axe, "
                                  "objectif, indicateur, action, mesure, proposition, revue, décision, avenant) : "
                                  "`node(id:)` le relit par son identifiant global `nodeId` (convention Relay ; le "
                                  "champ `id`, quand il existe, reste l'identifiant métier que prennent les "
                                  "mutations).")
class Node:
    @strawberry.field(description="Identifiant global, opaque et stable : il code le type de l'objet et son "
                                  "identifiant métier ; à passer à `node(id:)` ou `nodes(ids:)`. Ne pas le "
                                  "décoder ni le construire : seul le serveur en connaît la forme.")
    def node_id(self) -> strawberry.ID:
        parts = self.identity()  # type: ignore[attr-defined]
        if not all(parts):  # a developer's slip: an entity keyed in its plan (or marché) built without it
            raise RuntimeError(f"{type(self).__name__} built without what its global id needs: pass its plan "
                               "(or marché) id to from_ledger")
        return global_id(type(self).__name__, *parts)

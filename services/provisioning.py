"""`progres keycloak sync`: Keycloak Organizations made to match the platform's organisations (alias =
SIRET, name, kind) and their groupement memberships (attribute `groupements`), idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from progres.services.settings import Settings

DOMAIN_SUFFIX = "progres.example"


@dataclass(frozen=True)
class Wanted:
    siret: str
    name: str
    kind: str
    groupements: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        return {"name": self.name, "alias": self.siret, "enabled": True,
                "domains": [{"name": f"{self.siret}.{DOMAIN_SUFFIX}"}],
                "attributes": {"kind": [self.kind], "groupements": sorted(self.groupements)}}


def wanted_organisations(directory: dict[str, Any], parties: list[dict[str, Any]],
                         codes: dict[str, str]) -> list[Wanted]:
    """What Keycloak should hold: every organisation, with the groupements it takes part in."""
    taking_part: dict[str, set[str]] = {}
    for doc in parties:
        code = codes.get(doc["groupement_id"], doc["groupement_id"])
        for org in {doc["coordonnateur_id"], *doc["member_ids"], *doc["titulaire_ids"], *doc["auditor_ids"]}:
            taking_part.setdefault(org, set()).add(code)
    # alias: the SIRET, or the VAT number of a buyer of another EU state (what its tokens name it by)
    return [Wanted(o.get("siret") or o["vat_number"], o["name"], o["kind"],
                   tuple(sorted(taking_part.get(o["id"], set()))))
            for o in directory.get("organisations", {}).values()]


def admin_client(settings: Settings) -> KeycloakAdmin:
    connection = KeycloakOpenIDConnection(
        server_url=settings.keycloak_url, realm_name=settings.keycloak_realm, client_id=settings.keycloak_client_id,
        client_secret_key=settings.keycloak_client_secret.get_secret_value(), verify=True)
    return KeycloakAdmin(connection=connection)


def differs(current: dict[str, Any], wanted: Wanted) -> bool:
    attributes = current.get("attributes") or {}
    return (current.get("name") != wanted.name or not current.get("enabled", True)
            or attributes.get("kind") != [wanted.kind]
            or sorted(attributes.get("groupements") or []) != sorted(wanted.groupements))


def sync(admin: KeycloakAdmin, wanted: list[Wanted]) -> list[str]:
    """Creates what is missing, updates what differs; returns what it changed (nothing the second time)."""
    existing = {o["alias"]: o for o in admin.get_organizations(query={"first": 0, "max": 10000,
                                                                       "briefRepresentation": False})}
    changes = []
    for organisation in wanted:
        current = existing.get(organisation.siret)
        if current is None:
            admin.create_organization(organisation.payload())
            changes.append(f"created {organisation.name} ({organisation.siret})")
        elif differs(current, organisation):
            admin.update_organization(current["id"], {**current, **organisation.payload(),
                                                      "domains": current.get("domains") or
                                                      organisation.payload()["domains"]})
            changes.append(f"updated {organisation.name} ({organisation.siret})")
    return changes

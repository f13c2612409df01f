"""The log's verification status as auditors read it (`logVerification`): what `progres audit verify` says of the
log now (services/audit.py `log_status`), typed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry

from progres.graphql.enums import LogFaultKind
from progres.services.audit import LogStatus, SignedHead


@strawberry.type(description="La première anomalie trouvée dans le journal : tout ce qui la suit n'est pas vérifié.")
class LogFault:
    position: int = strawberry.field(description="Position du journal où l'anomalie est trouvée.")
    kind: LogFaultKind = strawberry.field(description="Nature de l'anomalie.")  # type: ignore[valid-type]
    detail: str = strawberry.field(description="Ce qui a été constaté, en clair.")


@strawberry.type(description="Une tête d'arbre signée (point de contrôle) du journal : la racine de l'arbre de "
                             "Merkle (RFC 9162) de ses premiers événements, signée Ed25519 par la plateforme.")
class SignedCheckpoint:
    size: int = strawberry.field(description="Nombre d'événements couverts.")
    last_position: int = strawberry.field(description="Position du journal du dernier événement couvert.")
    root: str = strawberry.field(description="Racine de l'arbre, en hexadécimal.")
    signed_at: datetime = strawberry.field(description="Quand la tête a été signée.")
    key_id: str = strawberry.field(description="Identifiant de la clé qui l'a signée.")

    @classmethod
    def of(cls, head: SignedHead) -> SignedCheckpoint:
        return cls(size=head.size, last_position=head.last_position, root=head.root.hex(),
                   signed_at=datetime.fromisoformat(head.time), key_id=head.key_id)


@strawberry.type(description="La vérification du journal, faite à la lecture comme `progres audit verify` : chaque "
                             "maillon de la chaîne à clé, les têtes signées et les enregistrements d'adoption du "
                             "témoin, les instantanés. Le journal est celui de toute la plateforme : les positions "
                             "sont les siennes.")
class LogVerification:
    intact: bool = strawberry.field(description="Vrai quand tout le journal se vérifie ; faux dès une anomalie "
                                                "(`fault`).")
    verified_at: datetime = strawberry.field(description="Quand la vérification a été faite.")
    verified_position: int = strawberry.field(description="Dernière position jusqu'à laquelle la chaîne à "
                                                          "clé se vérifie sans interruption (0 : aucune).")
    checked_events: int = strawberry.field(description="Nombre d'événements vérifiés intègres.")
    log_head_position: int = strawberry.field(description="Position de tête du journal lue à la fin de la "
                                                          "vérification (au-delà de `verifiedPosition` quand une "
                                                          "anomalie l'arrête, ou quand un événement est écrit "
                                                          "pendant la vérification).")
    root: str = strawberry.field(description="Racine, en hexadécimal, de l'arbre de Merkle des événements vérifiés "
                                             "(vide quand la vérification s'arrête avant le premier).")
    active_key_id: str = strawberry.field(description="Identifiant de la clé qui chaîne et signe ce qui s'écrit "
                                                      "maintenant.")
    heads_checked: int = strawberry.field(description="Nombre de têtes signées vérifiées.")
    adoption_records_checked: int = strawberry.field(description="Nombre d'enregistrements d'adoption vérifiés.")
    fault: LogFault | None = strawberry.field(description="La première anomalie ; absente quand le journal est "
                                                          "intègre.")
    latest_checkpoint: SignedCheckpoint | None = strawberry.field(
        description="La dernière tête signée du témoin ; absente quand aucune n'a encore été signée.")

    @classmethod
    def of(cls, status: LogStatus) -> LogVerification:
        result, finding = status.verification, status.verification.finding
        return cls(
            intact=finding is None, verified_at=status.verified_at, verified_position=result.head_position,
            checked_events=result.checked, log_head_position=status.log_head, root=result.root,
            active_key_id=status.active_key_id, heads_checked=result.heads_checked,
            adoption_records_checked=result.records_checked,
            fault=LogFault(position=finding.position, kind=finding.kind, detail=finding.detail) if finding else None,
            latest_checkpoint=SignedCheckpoint.of(status.latest_head) if status.latest_head else None)


@strawberry.type(description="La preuve d'inclusion d'un événement dans l'arbre d'une tête signée (RFC 9162).")
class EventInclusion:
    position: int = strawberry.field(description="Position du journal de l'événement.")
    index: int = strawberry.field(description="Rang de sa feuille dans l'arbre de la tête (0 : la première).")
    canonical: str = strawberry.field(description="Les octets canoniques de l'événement, en base64 : ceux que hache "
                                                  "sa feuille.")
    path: list[str] = strawberry.field(description="Le chemin d'audit, de la feuille vers la racine : les hachés "
                                                   "voisins, en hexadécimal (sa longueur est bornée par la hauteur "
                                                   "de l'arbre).")


@strawberry.type(description="La tête signée contre laquelle une preuve se vérifie, telle que le témoin la garde.")
class ProofHead:
    format: str = strawberry.field(description="Version du format des têtes.")
    log: str = strawberry.field(description="Identifiant du journal de la plateforme.")
    size: int = strawberry.field(description="Nombre d'événements couverts.")
    last_position: int = strawberry.field(description="Position du journal du dernier événement couvert.")
    root: str = strawberry.field(description="Racine de l'arbre, en hexadécimal.")
    time: str = strawberry.field(description="Quand la tête a été signée (ISO 8601, UTC).")
    key_id: str = strawberry.field(description="Identifiant de la clé qui l'a signée.")
    signature_base64: str = strawberry.field(description="Signature Ed25519 de la tête, en base64.")


@strawberry.type(description="La preuve qu'un chiffre du bilan repose sur des événements inclus dans une tête "
                             "signée du journal : chaque événement avec son chemin d'audit. `file` est le même "
                             "contenu, à enregistrer tel quel et à vérifier hors ligne avec `progres audit "
                             "check-proof` et les seules clés publiques.")
class FigureProof:
    plan_id: strawberry.ID = strawberry.field(description="Le plan.")
    figure: str = strawberry.field(description="Le chiffre prouvé, comme demandé (clé d'indicateur et "
                                               "éventuellement `.first`, `.last`, `.latest`).")
    indicator: str = strawberry.field(description="La clé de l'indicateur de ce chiffre.")
    indicator_name: str = strawberry.field(description="Le nom de cet indicateur (ses valeurs prouvées sont dans "
                                                       "`file`, et dans le bilan : `planBalance`).")
    head: ProofHead = strawberry.field(description="La tête signée de la preuve.")
    events: list[EventInclusion] = strawberry.field(description="Les événements dont le chiffre est fait, chacun "
                                                                "avec sa preuve d'inclusion (les mesures et "
                                                                "corrections d'un chiffre : bornées par lui).")
    file: str = strawberry.field(description="La preuve en un fichier JSON, celui que lit `progres audit "
                                             "check-proof` (à enregistrer tel quel).")

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> FigureProof:
        head = bundle["head"]
        return cls(plan_id=strawberry.ID(bundle["plan"]), figure=bundle["figure"],
                   indicator=bundle["indicator"]["key"], indicator_name=bundle["indicator"].get("name", ""),
                   head=ProofHead(format=str(head["format"]), log=head["log"], size=head["size"],
                                  last_position=head["last_position"], root=head["root"], time=head["time"],
                                  key_id=head["key_id"], signature_base64=head["signature"]),
                   events=[EventInclusion(position=e["position"], index=e["index"], canonical=e["canonical"],
                                          path=list(e["path"])) for e in bundle["events"]],
                   file=json.dumps(bundle, ensure_ascii=False, indent=2))

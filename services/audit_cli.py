"""`progres audit …`: keys, verification, signed heads and proofs of the log (services/audit.py, docs/audit.md).

Exit codes: 0 the log (or proof) checks, 1 tampering found (or a proof that does not check), 2 bad arguments.
Messages are French, on stderr for problems.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from progres.services.cli_support import Refused
from progres.services.settings import Settings

KINDS = {"altered": "modifié", "deleted": "supprimé", "inserted": "inséré", "reordered": "déplacé",
         "truncated": "tronqué", "snapshot": "instantané falsifié", "head": "tête signée refusée",
         "adoption": "enregistrement d'adoption refusé"}

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (SQLite store, keys, witness)")]
HeadFiles = Annotated[list[Path] | None, typer.Option("--head", help="signed tree head (JSON) kept by the auditor")]
AdoptionFiles = Annotated[list[Path] | None, typer.Option(
    "--adoption", help="signed adoption record (JSON) kept by the auditor")]
TrustedKeys = Annotated[list[Path] | None, typer.Option(
    "--trusted-key", help="public key file (.pub.json) or directory of them (default: the deployment's keys)")]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _store_settings(data_dir: Path | None) -> Settings:
    """Settings of a store that must exist: verifying or signing an absent store would create an empty one."""
    from progres.services.cli_support import require_store  # noqa: PLC0415

    settings = _settings(data_dir)
    require_store(settings)
    return settings


def _fail(code: int, message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _read_head(path: Path) -> Any:
    from progres.services.audit import load_head  # noqa: PLC0415

    try:
        return load_head(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Refused("invalid_input", "--head", f"« {str(path)[:80]} » n'est pas une tête signée lisible "
                       f"({type(error).__name__})") from None


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise Refused("invalid_input", "--adoption", f"« {str(path)[:80]} » n'est pas un enregistrement "
                      f"d'adoption lisible ({type(error).__name__})") from None
    if not isinstance(record, dict):
        raise Refused("invalid_input", "--adoption", f"« {str(path)[:80]} » n'est pas un enregistrement "
                      "d'adoption lisible")
    return {**record, "_source": str(path)}


def _keyring(settings: Settings) -> Any:
    from progres.services.audit_keys import KeyMissing, load_keyring  # noqa: PLC0415

    try:
        return load_keyring(settings, create=False)
    except KeyMissing as missing:
        raise Refused("key_missing", "PROGRES_AUDIT_KEYS_DIR", f"aucune clé d'audit ({missing})") from None


def _trusted(keyring: Any, paths: list[Path] | None) -> Any:
    from progres.services.audit_keys import load_public_keys  # noqa: PLC0415

    if not paths:
        return keyring.public_keys() if keyring is not None else {}
    try:
        return load_public_keys(paths)
    except (OSError, ValueError, KeyError) as error:
        raise Refused("invalid_input", "--trusted-key", f"clé publique illisible ({type(error).__name__})") from None


def _report(finding: Any) -> str:
    return (f"falsification détectée : position {finding.position} : {finding.kind} ({KINDS.get(finding.kind, '')}) "
            f"— {finding.detail}")


def keygen(data_dir: DataDir = None) -> None:
    """Generate a new audit key (it becomes the active key; older keys stay to check what they signed)."""
    from progres.services.audit_keys import generate, keys_dir  # noqa: PLC0415

    settings = _settings(data_dir)
    key = generate(keys_dir(settings))
    typer.echo(f"clé {key.key_id} créée dans {keys_dir(settings)} ; clé publique à remettre aux auditeurs : "
               f"{keys_dir(settings) / (key.key_id + '.pub.json')}")

def verify(
    head: HeadFiles = None,
    adoption: AdoptionFiles = None,
    trusted_key: TrustedKeys = None,
    witness: Annotated[bool, typer.Option(
        help="also check the heads and adoption records of the witness directory")] = True,
    snapshots: Annotated[bool, typer.Option(help="also check snapshots against the events")] = True,
    data_dir: DataDir = None,
) -> None:
    """Check the keyed chain, every signed head (consistency, size, last position), every adoption record
    (signature, adopted range) and the snapshots."""
    from progres.services import audit as evidence  # noqa: PLC0415
    from progres.services.bootstrap import bootstrap  # noqa: PLC0415

    settings = _store_settings(data_dir)
    heads = [_read_head(path) for path in head or []]
    records = [_read_record(path) for path in adoption or []]
    if witness:
        heads += evidence.witnessed_heads(settings)
        records += evidence.adoption_records(settings)
    keyring = _keyring(settings)
    app = bootstrap(settings) if snapshots else None
    try:
        result = evidence.verify(settings, heads, _trusted(keyring, trusted_key), keyring, app, records)
    finally:
        if app is not None:
            app.close()
    if result.finding is not None:
        raise _fail(1, _report(result.finding) + f" ; {result.checked} événements intègres avant elle")
    typer.echo(f"intègre : {result.checked} événements vérifiés (chaîne à clé), dernière position "
               f"{result.head_position}, racine {result.root}, {result.heads_checked} tête(s) signée(s) "
               "vérifiée(s)" + (f", {result.records_checked} enregistrement(s) d'adoption vérifié(s)"
                                 if result.records_checked else "")
               + (", instantanés conformes aux événements" if snapshots else ""))

def checkpoint(
    output: Annotated[Path | None, typer.Option(help="also write the signed head to this file")] = None,
    data_dir: DataDir = None,
) -> None:
    """Verify the log, then sign its tree head and write it to the witness directory."""
    from progres.services import audit as evidence  # noqa: PLC0415

    settings = _store_settings(data_dir)
    _keyring(settings)
    signed, finding = evidence.checkpoint(settings)
    if signed is None:
        raise _fail(1, _report(finding) + " ; aucune tête signée")
    text = json.dumps(signed.to_json(), indent=2)
    if output is not None:
        output.write_text(text + "\n")
    typer.echo(text)

def heads(
    export: Annotated[Path | None, typer.Option(help="copy every signed head to this directory")] = None,
    data_dir: DataDir = None,
) -> None:
    """List (or export) the signed tree heads of the witness directory."""
    from progres.services import audit as evidence  # noqa: PLC0415

    settings = _settings(data_dir)
    found = evidence.witnessed_heads(settings)
    if export is not None:
        export.mkdir(parents=True, exist_ok=True)
        for head in found:
            shutil.copy2(head.source, export / Path(head.source).name)
    for head in found:
        typer.echo(f"{head.time}  taille {head.size}  position {head.last_position}  racine {head.root.hex()}  "
                   f"clé {head.key_id}")

def prove(
    plan: Annotated[str | None, typer.Option("--plan", help="id of the plan de progrès")] = None,
    figure: Annotated[str | None, typer.Option(help="indicator key, optionally .first, .last or .latest")] = None,
    head: Annotated[Path | None, typer.Option("--head", help="signed head to prove against (default: "
                                              "the newest of the witness directory)")] = None,
    from_head: Annotated[Path | None, typer.Option("--from-head", help="older head: prove that the newer "
                                                   "head extends it (consistency proof)")] = None,
    output: Annotated[Path | None, typer.Option(help="write the proof to this file")] = None,
    data_dir: DataDir = None,
) -> None:
    """Inclusion proof of the events a bilan figure comes from, or consistency proof between two heads."""
    from progres.services import audit as evidence  # noqa: PLC0415

    settings = _store_settings(data_dir)
    target = _read_head(head) if head is not None else max(evidence.witnessed_heads(settings),
                                                            key=lambda h: h.size, default=None)
    if target is None:
        raise Refused("missing", "--head", "aucune tête signée ; lancez « progres audit checkpoint » ou donnez --head")
    try:
        if from_head is not None:
            bundle = evidence.prove_consistency(settings, _read_head(from_head), target)
        elif plan is not None and figure is not None:
            bundle = _figure_proof(settings, plan, figure, target)
        else:
            raise Refused("missing", "--plan", "--plan et --figure (ou --from-head)")
    except evidence.ProofRefused as refused:
        raise Refused("proof_refused", None, str(refused)) from None
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"preuve écrite dans {output}")
    else:
        typer.echo(text)

def check_proof(
    proof: Annotated[Path, typer.Argument(help="proof file written by `progres audit prove`")],
    trusted_key: Annotated[list[Path], typer.Option("--trusted-key", help="public key file(s) of the "
                                                    "deployment, received from it beforehand")],
) -> None:
    """Check a proof with the public keys only: no database, no application key."""
    from progres.services.audit import check_proof as check  # noqa: PLC0415

    trusted = _trusted(None, trusted_key)
    try:
        bundle = json.loads(proof.read_text(encoding="utf-8"))
        problems, events = check(bundle, trusted)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Refused("invalid_input", "FILE", f"« {str(proof)[:80]} » n'est pas une preuve lisible "
                       f"({type(error).__name__})") from None
    if problems:
        raise _fail(1, "preuve invalide : " + " ; ".join(problems))
    if bundle.get("kind") == "consistency":
        typer.echo(f"preuve valide : l'arbre de {bundle['new_head']['size']} événements prolonge celui de "
                   f"{bundle['old_head']['size']} événements (têtes signées vérifiées)")
        return
    typer.echo(f"preuve valide : {len(events)} événement(s) inclus dans l'arbre signé de {bundle['head']['size']} "
               f"événements (racine {bundle['head']['root']})")
    for event in events:
        typer.echo(f"  position {event['position']} : {'.'.join(event['topic'].split('.')[-2:])} "
                   f"{json.dumps(event['state'], ensure_ascii=False)[:200]}")


def adopt(data_dir: DataDir = None) -> None:
    """Key a store written before the keyed chain: check its old chain, link every event, sign the adoption."""
    from progres.services import audit as evidence  # noqa: PLC0415
    from progres.services import audit_adopt  # noqa: PLC0415
    from progres.services.bootstrap import bootstrap  # noqa: PLC0415

    settings = _store_settings(data_dir)
    keyring = _keyring(settings)
    bootstrap(settings).close()  # as the upgraded application starts: the former chain and trigger set aside
    if audit_adopt.unlinked(settings) == 0:
        typer.echo("rien à adopter : chaque événement a déjà son maillon à clé")
        return
    with typer.progressbar(length=1, label="adoption", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            result = audit_adopt.adopt(settings, keyring, progress)
        except audit_adopt.AdoptionRefused as refused:
            raise _fail(1, f"adoption refusée : {refused} ; rien n'a été écrit") from None
    old = result.old_chain
    typer.echo(f"adopté : {result.adopted} événement(s) (positions {result.first_position} à {result.last_position}) "
               + (f"vérifiés sur l'ancienne chaîne (tête {old['head_position']}, {old['head_link']})"
                  if old else "sans ancienne chaîne à vérifier : historique accepté tel quel")
               + (f", {result.relinked} événement(s) postérieur(s) rechaîné(s)" if result.relinked else "")
               + f" ; acte signé par la clé {keyring.active.key_id} : {result.record}")
    head, finding = evidence.checkpoint(settings)
    if head is None:
        raise _fail(1, _report(finding) + " ; aucune tête signée")
    typer.echo(f"tête signée : taille {head.size}, position {head.last_position}, racine {head.root.hex()}")


def register(audit: typer.Typer) -> None:
    """Adds the tamper-evidence commands to the `audit` group of the CLI."""
    audit.command("keygen")(keygen)
    audit.command("verify")(verify)
    audit.command("checkpoint")(checkpoint)
    audit.command("heads")(heads)
    audit.command("prove")(prove)
    audit.command("check-proof")(check_proof)
    audit.command("adopt")(adopt)


def _figure_proof(settings: Settings, plan_id: str, figure: str, head: Any) -> dict[str, Any]:
    from progres.services import audit as evidence  # noqa: PLC0415
    from progres.services.bootstrap import bootstrap  # noqa: PLC0415
    from progres.services.read_models import ReadModels  # noqa: PLC0415

    app = bootstrap(settings)
    models = ReadModels.open(app, settings)
    try:
        models.fresh(None)
        balance = models.plan_balance(plan_id)
    finally:
        models.close()
        app.close()
    if balance is None:
        raise Refused("not_found", "--plan", f"aucun plan de progrès d'identifiant « {plan_id[:40]} »")
    return evidence.figure_proof(settings, balance, plan_id, figure, head)

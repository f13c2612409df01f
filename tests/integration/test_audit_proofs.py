"""Proofs for auditors, checked by an implementation of RFC 9162 written here (not the code under test),
on the embedded SQLite store (which gets the same keyed chain as PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from progres.domain.values import siret_with_key
from progres.graphql.mutations import camel
from progres.services.bootstrap import bootstrap
from progres.services.demo import run_seed_scenario
from progres.services.read_models import ReadModels
from progres.services.settings import Settings


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """Walks RFC 9162's MTH recursion down to the leaf; the path's last hash is the top sibling."""
    if size == 1:
        assert not path
        return leaf
    k, sibling, rest = split(size), path[-1], path[:-1]
    if index < k:
        return sha(b"\x01" + root_from_inclusion(leaf, index, k, rest) + sibling)
    return sha(b"\x01" + sibling + root_from_inclusion(leaf, index - k, size - k, rest))


def roots_from_consistency(m: int, n: int, old_root: bytes, proof: list[bytes], complete: bool = True):
    """Rebuilds (old root, new root) from PROOF(m, D[n]) following SUBPROOF's recursion."""
    if m == n:
        node = old_root if complete else proof.pop()
        return node, node
    k, sibling = split(n), proof.pop()
    if m <= k:
        old, new = roots_from_consistency(m, k, old_root, proof, complete)
        return old, sha(b"\x01" + new + sibling)
    old, new = roots_from_consistency(m - k, n - k, old_root, proof, False)
    return sha(b"\x01" + sibling + old), sha(b"\x01" + sibling + new)


@pytest.fixture
def seeded(tmp_path):
    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    app = bootstrap(settings)
    scenario = run_seed_scenario(app)
    app.close()
    return settings, scenario


def cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROGRES_STORE": "sqlite", "PROGRES_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", *args], env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def test_a_figure_is_proven_included_in_a_signed_head_and_heads_are_consistent(seeded, tmp_path):
    settings, scenario = seeded
    old = json.loads(cli(settings, "checkpoint", "--output", str(tmp_path / "old.json")).stdout)
    app = bootstrap(settings)
    app.register_organisation(siret_with_key("2159035010001"), "Commune", "collectivite")
    app.close()
    new = json.loads(cli(settings, "checkpoint", "--output", str(tmp_path / "new.json")).stdout)
    assert new["size"] == old["size"] + 1

    proven = cli(settings, "prove", "--plan", scenario.plan, "--figure", "egalim_share",
                 "--output", str(tmp_path / "proof.json"))
    assert proven.returncode == 0, proven.stderr
    proof = json.loads((tmp_path / "proof.json").read_text())
    assert proof["head"] == new

    # The positions are the ones the bilan cites for that figure.
    app = bootstrap(settings)
    models = ReadModels.open(app, settings)
    models.fresh(None)
    balance = models.plan_balance(scenario.plan)
    models.close()
    app.close()
    indicator = next(i for a in balance["axes"] for o in a["objectives"] for i in o["indicators"]
                     if i["key"] == "egalim_share")
    cited = sorted({p for part in indicator["positions"].values() for p in part})
    assert [e["position"] for e in proof["events"]] == cited
    assert cited

    # Independent check: the event bytes are the stored row's, and they hash up to the signed root.
    with sqlite3.connect(settings.sqlite_path) as connection:
        count = connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    assert count == new["size"]
    for event in proof["events"]:
        data = base64.b64decode(event["canonical"])
        assert int.from_bytes(data[:8], "big") == event["position"]
        leaf = sha(b"\x00" + data)
        path = [bytes.fromhex(p) for p in event["path"]]
        assert root_from_inclusion(leaf, event["index"], new["size"], path).hex() == new["root"]
        with sqlite3.connect(settings.sqlite_path) as connection:
            state = connection.execute("SELECT state FROM stored_events WHERE rowid = ?",
                                       [event["position"]]).fetchone()[0]
        assert data.endswith(state)

    consistency = cli(settings, "prove", "--from-head", str(tmp_path / "old.json"), "--head",
                      str(tmp_path / "new.json"), "--output", str(tmp_path / "consistency.json"))
    assert consistency.returncode == 0, consistency.stderr
    bundle = json.loads((tmp_path / "consistency.json").read_text())
    path = [bytes.fromhex(p) for p in bundle["path"]]
    old_root, new_root = roots_from_consistency(old["size"], new["size"], bytes.fromhex(old["root"]), path)
    assert not path  # every hash of the proof was used
    assert (old_root.hex(), new_root.hex()) == (old["root"], new["root"])

    # The standalone checker: no database (an empty environment and a fresh directory), public key only.
    public = next((settings.data_dir / "audit-keys").glob("*.pub.json"))
    standalone = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "check-proof",
                                 str(tmp_path / "proof.json"), "--trusted-key", str(public)],
                                capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
                                env={"PATH": os.environ["PATH"], "PROGRES_POSTGRES_HOST": "192.0.2.1",
                                     "PROGRES_DATA_DIR": str(tmp_path / "nowhere")})
    assert standalone.returncode == 0, standalone.stderr
    assert f"preuve valide : {len(cited)} événement(s)" in standalone.stdout
    checked = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "check-proof",
                              str(tmp_path / "consistency.json"), "--trusted-key", str(public)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stderr

    # A changed byte of a proven event, or a key the auditor does not trust, fails.
    tampered = dict(proof, events=[dict(proof["events"][0], canonical=base64.b64encode(
        base64.b64decode(proof["events"][0]["canonical"])[:-2] + b"9}").decode()), *proof["events"][1:]])
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    refused = cli(settings, "check-proof", str(tmp_path / "tampered.json"), "--trusted-key", str(public))
    assert refused.returncode == 1
    assert f"position {proof['events'][0]['position']} : absent de l'arbre signé" in refused.stderr
    other = cli(settings, "keygen")
    assert other.returncode == 0
    newest = max((settings.data_dir / "audit-keys").glob("*.pub.json"), key=lambda p: p.stat().st_mtime)
    assert newest != public
    wrong = cli(settings, "check-proof", str(tmp_path / "proof.json"), "--trusted-key", str(newest))
    assert wrong.returncode == 1
    assert "clé inconnue" in wrong.stderr


def test_the_sqlite_store_is_chained_and_tampering_is_found(seeded):
    settings, _ = seeded
    assert cli(settings, "verify").returncode == 0
    with sqlite3.connect(settings.sqlite_path) as connection:
        chained = connection.execute("SELECT count(*) FROM progres_chain").fetchone()[0]
        events = connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]
        assert chained == events
        connection.execute("UPDATE stored_events SET state = replace(state, '2022', '2023') WHERE rowid = 40")
    result = cli(settings, "verify")
    assert result.returncode == 1
    assert "position 40 : altered (" in result.stderr


def test_a_key_rotation_keeps_old_links_valid(seeded):
    settings, _ = seeded
    assert cli(settings, "keygen").returncode == 0
    app = bootstrap(settings)
    app.register_organisation(siret_with_key("2159035010001"), "Commune", "collectivite")
    app.close()
    with sqlite3.connect(settings.sqlite_path) as connection:
        keys = [row[0] for row in connection.execute("SELECT key_id FROM progres_chain GROUP BY key_id "
                                                     "ORDER BY min(notification_id)")]
    assert len(keys) == 2  # the new key chains what follows the rotation
    assert cli(settings, "verify").returncode == 0


def test_an_auditor_gets_a_figure_proof_over_graphql_and_others_do_not(tmp_path):
    import asyncio  # noqa: PLC0415

    from progres.graphql.context import ProgresContext, Services  # noqa: PLC0415
    from progres.graphql.schema import build_schema  # noqa: PLC0415
    from progres.services import audit  # noqa: PLC0415
    from progres.services.policy import Actor  # noqa: PLC0415

    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    services = Services.wire(settings)
    s = run_seed_scenario(services.app)
    services.models.fresh(None)
    head, finding = audit.checkpoint(settings)
    assert finding is None
    assert head is not None
    schema = build_schema(settings)
    query = ("query($plan: ID!) { figureProof(planId: $plan, figure: \"egalim_share.last\") { indicator "
             "head { format log size lastPosition root time keyId signatureBase64 } "
             "events { position index canonical path } file } }")

    def ask(org, role):
        context = ProgresContext(services, Actor.parse(org, role))
        return asyncio.run(schema.execute(query, {"plan": s.plan}, context_value=context))

    answer = ask(s.auditor, "auditeur")
    assert answer.errors is None, answer.errors
    proof = answer.data["figureProof"]
    bundle = json.loads(proof["file"])  # the file `progres audit check-proof` reads, beside its typed fields
    assert bundle["head"] == head.to_json()
    typed_head = {camel(k): v for k, v in head.to_json().items()}
    typed_head["signatureBase64"] = typed_head.pop("signature")
    assert proof["head"] == {**typed_head, "format": str(typed_head["format"])}
    assert proof["events"] == [{camel(k): v for k, v in e.items()} for e in bundle["events"]]
    assert bundle["events"]
    for event in bundle["events"]:
        leaf = sha(b"\x00" + base64.b64decode(event["canonical"]))
        assert root_from_inclusion(leaf, event["index"], head.size,
                                   [bytes.fromhex(p) for p in event["path"]]) == head.root
    refused = ask(s.titulaire, "titulaire")
    assert refused.errors[0].extensions["code"] == "forbidden"
    assert refused.data is None
    services.models.close()
    services.app.close()

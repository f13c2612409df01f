"""`progres audit adopt` on a SQLite store written before the keyed chain (it had no chain table at all)."""

from __future__ import annotations

import sqlite3

from progres.services.audit_adopt import adoption_records
from progres.services.bootstrap import bootstrap
from progres.services.demo import run_seed_scenario
from progres.services.settings import Settings
from tests.integration.test_audit_proofs import cli


def test_sqlite_store_without_chain_is_adopted_once_then_verifies(tmp_path):
    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    app = bootstrap(settings)
    run_seed_scenario(app)
    head = app.max_notification_id()
    app.close()
    with sqlite3.connect(settings.sqlite_path) as connection:
        connection.execute("DROP TABLE progres_chain")
    assert cli(settings, "verify", "--no-snapshots").returncode == 1

    result = cli(settings, "adopt")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"adopté : {head} événement(s) (positions 1 à {head}) sans ancienne chaîne" in result.stdout
    assert [r["old_chain"] for r in adoption_records(settings)] == [None]
    verified = cli(settings, "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"intègre : {head} événements vérifiés" in verified.stdout
    second = cli(settings, "adopt")
    assert second.returncode == 0
    assert "rien à adopter" in second.stdout
    assert len(adoption_records(settings)) == 1

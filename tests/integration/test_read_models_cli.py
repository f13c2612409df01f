"""The read side from the command line, on the embedded store: rebuild takes over, bilan as of a past position."""

from __future__ import annotations

import json
import subprocess
import sys

from progres.services.bootstrap import bootstrap
from progres.services.read_models import ReadModels
from progres.services.settings import Settings


def progres(*args: str, data_dir) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "progres.services.cli", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"COLUMNS": "200", "PATH": ""})


def test_a_rebuild_builds_a_new_generation_that_takes_over_with_the_same_views(tmp_path, monkeypatch):
    from progres.services import read_models  # noqa: PLC0415

    monkeypatch.setattr(read_models, "ACTIVE_RECHECK_SECONDS", 0)  # see the other process's switch at once
    assert progres("demo", data_dir=tmp_path).returncode == 0
    settings = Settings(data_dir=tmp_path)
    app = bootstrap(settings)
    models = ReadModels.open(app, settings)
    models.fresh(None)
    before = {table: [(r[1], r[2], r[5]) for r in models.store.rows(table, "views_v1")]
              for table in ("member_views", "plan_dashboards", "plan_balances")}
    result = progres("projections", "rebuild", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "views_v2" in result.stdout
    assert models.projection == "views_v2"
    assert models.store.rows("member_views", "views_v1") == [], "the replaced generation is dropped"
    after = {table: [(r[1], r[2], r[5]) for r in models.store.rows(table, "views_v2")] for table in before}
    assert after == before
    status = progres("projections", "status", data_dir=tmp_path)
    assert "retard 0" in status.stdout


def test_the_bilan_as_of_a_past_position_is_the_balance_the_log_gave_then(tmp_path):
    assert progres("demo", data_dir=tmp_path).returncode == 0
    app = bootstrap(Settings(data_dir=tmp_path))
    plan = next(f.aggregate_id for f in app.facts() if f.kind == "ProgressPlan.DrawnUp")
    avenant = next(f.position for f in app.facts() if f.kind == "Marche.AvenantNotified")
    before = json.loads(progres("bilan", "--plan", plan, "--position", str(avenant - 1), "--json",
                                data_dir=tmp_path).stdout)
    after = json.loads(progres("bilan", "--plan", plan, "--position", str(avenant), "--json",
                               data_dir=tmp_path).stdout)
    assert before["marche"]["current_amount"] == "480000.00"
    assert after["marche"]["current_amount"] == "468000.00"  # avenant 1: −12 000 € HT
    assert before["position"] == avenant - 1
    now = json.loads(progres("bilan", "--plan", plan, "--json", data_dir=tmp_path).stdout)
    assert now["final"]
    assert now["marche"]["current_amount"] == "496000.00"
    timestamp = next(f.timestamp for f in app.facts() if f.position == avenant)
    at_time = json.loads(progres("bilan", "--plan", plan, "--as-of", timestamp, "--json", data_dir=tmp_path).stdout)
    assert at_time == after


def test_status_shows_the_declared_and_stored_versions_and_a_rebuild_under_way(tmp_path, monkeypatch):
    import dataclasses  # noqa: PLC0415

    from typer.testing import CliRunner  # noqa: PLC0415

    from progres.projections import registry  # noqa: PLC0415
    from progres.services.cli import app as cli  # noqa: PLC0415

    assert progres("demo", data_dir=tmp_path).returncode == 0
    settings = Settings(data_dir=tmp_path)
    app = bootstrap(settings)
    models = ReadModels.open(app, settings)
    models.runner.catch_up()
    status = CliRunner().invoke(cli, ["projections", "status", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "plan_balance : code v3, dépôt v3 ; table plan_balances" in status.output
    assert "reconstruction" not in status.output
    # The code of plan_balance changes (this process's registry): the runner begins its rebuild, one chunk.
    balance = registry.read_model("plan_balance")
    monkeypatch.setattr(registry, "REGISTRY", tuple(dataclasses.replace(m, version=4) if m is balance else m
                                                    for m in registry.REGISTRY))
    models.runner.upgrade_chunk = 1
    models.runner.run_batch()
    status = CliRunner().invoke(cli, ["projections", "status", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    total = models.store.model_versions(models.projection)["plan_balance"].total
    assert "plan_balance : code v4, dépôt v3 ;" in status.output
    assert (f"reconstruction de v4 à côté de l'actuelle : 1\u00a0groupement sur {total} (les lectures servent "
            "l'actuelle jusqu'à la bascule)") in status.output
    assert "member_view : code v2, dépôt v2 ;" in status.output
    models.runner.upgrade()
    status = CliRunner().invoke(cli, ["projections", "status", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert "plan_balance : code v4, dépôt v4 ;" in status.output
    assert "reconstruction" not in status.output
    models.close()
    app.close()

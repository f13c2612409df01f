"""Replay for auditors: every event of the seed scenario's groupement, in order, with the plan's state."""

from __future__ import annotations

import json
import subprocess
import sys

from progres.projections.replay import replay_plan
from progres.services.bootstrap import bootstrap
from progres.services.demo import run_seed_scenario
from progres.services.settings import Settings


def test_the_replay_lists_every_event_in_order_with_the_state_after_it(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = bootstrap(settings)
    scenario = run_seed_scenario(app)
    facts = list(app.facts())
    ours = [f for f in facts if f.kind != "Organisation.Registered"]  # organisations belong to no groupement
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "replay", "--plan",
                             scenario.plan, "--json", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    steps = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["position"] for s in steps] == [f.position for f in ours]
    assert [s["type"] for s in steps] == [f.kind for f in ours]
    before_plan = [s for s in steps if not s["plan"]["exists"]]
    assert before_plan[-1]["type"] == "Marche.Notified"
    notified = next(s for s in steps if s["type"] == "Marche.AvenantNotified")
    assert notified["plan"]["current_amount"] == "468000.00"
    assert steps[-1]["plan"]["closed"]
    assert steps[-1]["plan"]["current_amount"] == "496000.00"
    assert steps[-1]["plan"]["corrections"] == 1

    until = steps[100]["timestamp"]
    partial = list(replay_plan(app.facts(), scenario.plan, until))
    assert partial[-1]["position"] == max(s["position"] for s in steps if s["timestamp"] <= until)

    readable = subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", "replay", "--plan",
                               scenario.plan, "--data-dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=120, check=False, env={"COLUMNS": "220", "PATH": ""})
    assert readable.returncode == 0
    assert "ProgressPlan.ClosedWithBilanFinal" in readable.stdout

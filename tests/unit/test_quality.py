"""Lint and types are part of the suite: ruff over the tree, mypy --strict over domain/ and projections/."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ruff_and_mypy_strict_find_nothing():
    result = subprocess.run([str(REPO / "scripts" / "lint")], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr

"""The headless Chromium the browser tests drive (Debian's package, installed by deploy/reports/ensure.sh)."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_TOOLS = os.environ.get("PROGRES_REQUIRE_REPORT_TOOLS") == "1"


def chromium() -> str:
    """The browser's path; a skip when it is absent, a failure when CI requires it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        if REQUIRE_TOOLS:
            pytest.fail("chromium is required (PROGRES_REQUIRE_REPORT_TOOLS=1)")
        pytest.skip("chromium is not installed (deploy/reports/ensure.sh)")
    return found

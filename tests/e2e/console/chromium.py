"""The real browser of the console's tests: Debian's chromium driven by Playwright for Python, never a browser
Playwright would download. Without chromium or Playwright the browser tests are skipped, unless
PROGRES_REQUIRE_BROWSER=1 (as in CI), which makes them fail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

REQUIRE_BROWSER = os.environ.get("PROGRES_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    """The system's chromium; a skip when it or Playwright is absent, a failure when CI requires them."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401, PLC0415
    except ImportError:
        found = None
    if found is None:
        message = "the console's browser tests need Debian's chromium and Playwright for Python"
        if REQUIRE_BROWSER:
            pytest.fail(f"{message} (PROGRES_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return found


@contextmanager
def launched_chromium() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()

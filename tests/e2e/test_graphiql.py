"""GraphiQL in development, from the package's own files: a headless Chromium that can reach nothing but
the loopback server renders it (not a blank page); production serves neither the page nor its assets."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx

from progres.graphql.ide import ASSETS
from progres.services.audit_keys import generate, keys_dir
from progres.services.serving import served
from progres.services.settings import Settings

from .browser import chromium

HTML = {"accept": "text/html"}


def sqlite_server_env(data_dir: Path, environment: str) -> dict[str, str]:
    env = {**os.environ, "PROGRES_STORE": "sqlite", "PROGRES_DATA_DIR": str(data_dir),
           "PROGRES_ENVIRONMENT": environment}
    env.pop("PROGRES_OIDC_ISSUER", None)
    if environment == "production":  # production needs an identity provider; none is asked in this test
        env["PROGRES_OIDC_ISSUER"] = "http://127.0.0.1:9/realms/progres"
    return env




def test_the_page_and_its_assets_come_from_the_server_itself(tmp_path):
    page = (ASSETS / "index.html").read_text()
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert linked, page
    assert all(link.startswith("/static/graphiql/") for link in linked), linked
    with served(sqlite_server_env(tmp_path, "development")) as url:
        assert httpx.get(f"{url}/graphql", headers=HTML).text == page
        for link in linked:
            asset = httpx.get(f"{url}{link}")
            assert asset.status_code == 200, link
            assert asset.content == (ASSETS / link.rsplit("/", 1)[1]).read_bytes()


def test_a_browser_without_network_renders_graphiql(tmp_path):
    browser = chromium()
    with served(sqlite_server_env(tmp_path / "data", "development")) as url:
        # every host name but the loopback address fails to resolve: a CDN could not be reached
        dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                              f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
                              "--dump-dom", f"{url}/graphql"], capture_output=True, text=True, timeout=120,
                             check=True).stdout
    assert "graphiql-editors" in dom, dom[:2000]  # React rendered GraphiQL's editors
    assert "MyGroupements" in dom  # the default query, in the editor
    assert "Chargement de GraphiQL" not in dom  # the placeholder was replaced


def test_production_serves_no_explorer(tmp_path):
    generate(keys_dir(Settings(data_dir=tmp_path)))  # production refuses to run without an audit key
    with served(sqlite_server_env(tmp_path, "production")) as url:
        assert "graphiql" not in httpx.get(f"{url}/graphql", headers=HTML).text.lower()
        assert httpx.get(f"{url}/static/graphiql/graphiql.min.js").status_code == 404

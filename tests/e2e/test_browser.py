"""A real browser (headless Chromium) on a page of another origin: with that origin in PROGRES_CORS_ORIGINS
it queries over HTTP (preflight included) and subscribes over WebSocket with the token in connection_init;
from an origin not in the list, the browser itself refuses both."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from progres.services.serving import free_port

from .browser import chromium
from .conftest import GraphQLRunner, Server, small_plan

pytestmark = pytest.mark.postgres

PAGE_PORT = free_port()  # the page's origin must be in the server's allow-list before it starts
ALLOWED = f"http://127.0.0.1:{PAGE_PORT}"

HOLD_SECONDS = 4  # the page's load event waits for /hold: time for the WebSocket to receive the events
PAGE = """<!doctype html><html><body><pre id="http">…</pre><pre id="ws">…</pre><img src="/hold"><script>
const config = %(config)s;
const show = (id, value) => { document.getElementById(id).textContent = JSON.stringify(value); };
fetch(config.api, {method: "POST", headers: {"content-type": "application/json",
    "authorization": "Bearer " + config.token, "x-progres-organisation": config.siret},
  body: JSON.stringify({query: "query($p: ID!) { plan(id: $p) { title } }", variables: {p: config.plan}})})
  .then(r => r.json()).then(body => show("http", body), error => show("http", {failed: String(error)}));
const seen = {frames: [], events: []};
const socket = new WebSocket(config.ws, "graphql-transport-ws");
socket.onopen = () => socket.send(JSON.stringify({type: "connection_init", payload: {
  authorization: "Bearer " + config.token, organisation: config.siret, role: config.role}}));
socket.onmessage = (message) => {
  seen.frames.push(typeof message.data);
  const data = JSON.parse(message.data);
  if (data.type === "connection_ack") socket.send(JSON.stringify({id: "1", type: "subscribe", payload: {
    query: "subscription($p: ID!) { planEvents(planId: $p, afterPosition: 0) { type } }",
    variables: {p: config.plan}}}));
  if (data.type === "next") seen.events.push(data.payload.data.planEvents.type);
  show("ws", seen);
};
socket.onerror = () => { seen.error = true; show("ws", seen); };
</script></body></html>"""




@contextmanager
def page_server(page: str) -> Iterator[None]:
    """Serves the page at /page.html, and /hold after a delay (Chromium dumps the DOM once the page loaded)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/hold":
                time.sleep(HOLD_SECONDS)
            body = page.encode() if self.path == "/page.html" else b""
            self.send_response(200 if body or self.path == "/hold" else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


def open_page(browser: str, url: str, profile: Path) -> dict[str, object]:
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                          "--dump-dom", url],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    found = dict(re.findall(r'<pre id="(\w+)">(.*?)</pre>', dom, re.DOTALL))
    return {key: json.loads(value.replace("&quot;", '"').replace("&amp;", "&")) if value != "…" else None
            for key, value in found.items()}


@pytest.mark.server_env(PROGRES_CORS_ORIGINS=ALLOWED)
def test_a_browser_page_of_an_allowed_origin_queries_and_subscribes_and_another_origin_cannot(
        server: Server, tmp_path):
    browser = chromium()
    setup = small_plan(GraphQLRunner(server))
    siret, role = setup.lycee
    config = {"api": f"{server.url}/graphql", "ws": server.url.replace("http", "ws", 1) + "/graphql",
              "token": server.token(siret, role), "siret": siret, "role": role, "plan": setup.plan}
    with page_server(PAGE % {"config": json.dumps(config)}):
        allowed = open_page(browser, f"{ALLOWED}/page.html", tmp_path / "profile-allowed")
        # the same page and server, but the page's origin (host name `localhost`) is not in the list
        other = open_page(browser, f"http://localhost:{PAGE_PORT}/page.html", tmp_path / "profile-other")

    assert allowed["http"] == {"data": {"plan": {"title": "Plan"}}}, allowed
    assert allowed["ws"]["events"] == ["Marche.Notified", "ProgressPlan.DrawnUp", "ProgressPlan.AxisAdded"], allowed
    assert set(allowed["ws"]["frames"]) == {"string"}, allowed  # text frames: strings, not Blobs
    assert "error" not in allowed["ws"]

    assert other["http"]["failed"].startswith("TypeError"), other  # the browser refused the CORS answer
    assert other["ws"] == {"frames": [], "events": [], "error": True}, other

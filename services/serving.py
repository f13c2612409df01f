"""A `progres serve` process started from Python and awaited until ready (end-to-end tests, benchmarks)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    """A free local port; within PROGRES_TEST_PORTS (e.g. `18700-18799`) when set, for machines where several
    test runs share the ports."""
    allowed = os.environ.get("PROGRES_TEST_PORTS", "")
    if allowed:
        low, _, high = allowed.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
        random.shuffle(candidates)
        for port in candidates:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise ServerDidNotStart(f"no free port in PROGRES_TEST_PORTS={allowed}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(env: dict[str, str], port: int | None = None, log: IO[str] | None = None,
           timeout: float = 60.0) -> Iterator[str]:
    """Creates the store (`progres init`: `serve` never creates one) and starts `progres serve` with this
    environment; yields its URL once /ready answers, stops it after."""
    port = port or free_port()
    initialised = subprocess.run([sys.executable, "-m", "progres.services.cli", "init"], env=env,
                                 capture_output=True, text=True, timeout=timeout, check=False)
    if initialised.returncode != 0:
        raise ServerDidNotStart(f"progres init failed: {initialised.stderr[-2000:]}")
    # The server's log goes to a file, never to an unread pipe: a server that logs much would block on a full pipe.
    own_log = tempfile.TemporaryFile("w+") if log is None else None  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen([sys.executable, "-m", "progres.services.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=log or own_log, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                said = ""
                if own_log is not None:
                    own_log.seek(0)
                    said = own_log.read()[-2000:]
                raise ServerDidNotStart(f"progres serve did not become ready: {said}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if own_log is not None:
            own_log.close()

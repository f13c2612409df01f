"""A real `progres serve` signs tree heads periodically (PROGRES_AUDIT_CHECKPOINT_SECONDS) into the witness
directory; each head verifies against the store, and the store written meanwhile extends it."""

from __future__ import annotations

import os
import time

from progres.domain.values import siret_with_key
from progres.services import audit
from progres.services.bootstrap import bootstrap
from progres.services.serving import served
from progres.services.settings import Settings


def wait_for_head(settings: Settings, size: int, timeout: float = 60) -> audit.SignedHead:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heads = [h for h in audit.witnessed_heads(settings) if h.size >= size]
        if heads:
            return heads[0]
        time.sleep(0.2)
    raise AssertionError(f"no signed head of {size} events within {timeout} s")


def test_the_server_signs_heads_as_the_log_grows(tmp_path):
    settings = Settings(store="sqlite", data_dir=tmp_path)
    app = bootstrap(settings)
    app.register_organisation(siret_with_key("2159035010001"), "Commune", "collectivite")
    env = {**os.environ, "PROGRES_STORE": "sqlite", "PROGRES_DATA_DIR": str(tmp_path),
           "PROGRES_ENVIRONMENT": "development", "PROGRES_AUDIT_CHECKPOINT_SECONDS": "0.3"}
    with served(env):
        first = wait_for_head(settings, 1)
        app.register_organisation(siret_with_key("2162004100001"), "Autre commune", "collectivite")
        second = wait_for_head(settings, 2)
    app.close()
    assert (first.size, second.size) == (1, 2)
    keys = {key_id: key.public for key_id, key in audit.load_keyring(settings, create=False).keys.items()}
    for head in (first, second):
        assert head.problem(keys, audit.LogReader(settings).log_name()) is None
    result = audit.verify(settings, [first, second])
    assert result.intact
    assert result.heads_checked == 2
    assert len(audit.witnessed_heads(settings)) == 2  # an unchanged log is not signed again

"""A full rebuild reads the log a few chunks ahead of its fold, and the fold waits when the database is behind with
its rows (projections/runner.py, WRITES_AHEAD): the reading cursor's transaction then stays idle. The store's sessions
end a transaction idle longer than 5 s (POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT); the rebuild's
read must survive such a pause (it ended the session at 3,000 members before its cursor's own limit was set)."""

from __future__ import annotations

import time

import pytest

from progres.services.bootstrap import bootstrap
from progres.services.workload import build_region

pytestmark = pytest.mark.postgres


def test_the_rebuilds_reading_cursor_outlives_a_pause_longer_than_the_stores_idle_limit(pg_settings):
    app = bootstrap(pg_settings)
    try:
        build_region(app, 2, 1, 2)
        head = app.max_notification_id() or 0
        expected = [record[0] for record in app.records(1, stop=head, batch=head + 1)]  # one query, no cursor
        assert len(expected) > 6
        read = []
        for record in app.records(1, stop=head, batch=3):  # a server-side cursor, 3 rows a fetch
            read.append(record[0])
            if len(read) == 4:
                time.sleep(6)  # idle in the cursor's transaction, longer than the store's limit of 5 s
        assert read == expected
    finally:
        app.close()

"""The facts appended after a fact recorded later, kept as rows (issue 12, as-of by a time).

As of a time T, the log's position is the last one recorded at or before T (`SqlStore.position_at`). One seek of the
history's time index finds L, the latest fact recorded by T (the highest position among those of that time). A later
position p > L recorded by T exists when concurrent writers appended facts out of time order (a command's time is taken
before it waits for its turn: an import of 3,000 facts can come after a command recorded after it). Such a p is *late*:
its time is before the time of some earlier position (that of L at least; equal is not possible: the seek would have
found p). Finding it in the history means reading every position after L (or every one up to T), which grows with the
log: 41 ms at 1,000 members, about three times that at 3,000.

So the writers keep the late facts apart, in `late_facts` keyed by (projection, position): a fact whose time is before
the latest time of the facts before it in the history. The runner (per batch, from the latest time of the history before
it) and the rebuild (over the whole log, in order) write them with the history rows. A row with no time marks the
position from which a generation keeps them (0 for one projected or rebuilt from the start; the batch's start for one
written before them and carried on by this code): `position_at` reads the history after L only up to that marker and the
late rows after it, a few rows instead of the log after L; a generation without the marker reads the history as before.
"""

from __future__ import annotations

from collections.abc import Iterable

TABLE = "late_facts"
LateRow = tuple[int, str | None]  # (position, time); time None: the marker, late facts kept after this position


def late_rows(times: Iterable[tuple[int, str]], latest: str | None) -> tuple[list[LateRow], str | None]:
    """The late facts among these (position, time) in position order, after facts whose latest time was `latest` (None:
    none before them); and the latest time after them."""
    late: list[LateRow] = []
    for position, timestamp in times:
        if latest is None or timestamp > latest:
            latest = timestamp
        elif timestamp < latest:
            late.append((position, timestamp))
    return late, latest

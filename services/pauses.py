"""The garbage collector's pauses in a server process, recorded when asked (PROGRES_DIAGNOSE_PAUSES=1): each
collection of at least `threshold_ms` of wall time, with its generation, its CPU time (what the collector spent;
the rest is the process waiting for a core) and the wall time it started,
logged when the server stops. It answers whether a slow request met a collection (docs/performance.md)."""

from __future__ import annotations

import gc
import time
from collections import deque
from typing import Any


class PauseRecorder:
    def __init__(self, threshold_ms: float = 5.0, keep: int = 2000) -> None:
        self.threshold = threshold_ms / 1000
        # (wall start, generation, wall ms, this thread's CPU ms, collected)
        self.long: deque[tuple[float, int, float, float, int]] = deque(maxlen=keep)
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0
        self._cpu = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # Nothing allocated beyond a tuple: called inside the collector, twice per collection.
        if phase == "start":
            self._started = time.perf_counter()
            self._cpu = time.thread_time()
            return
        spent = time.perf_counter() - self._started
        cpu = time.thread_time() - self._cpu
        generation = info.get("generation", 0)
        self.count[generation] += 1
        self.seconds[generation] += spent
        if spent >= self.threshold:
            self.long.append((time.time() - spent, generation, spent * 1000, cpu * 1000, info.get("collected", 0)))

    def start(self) -> PauseRecorder:
        gc.callbacks.append(self)
        return self

    def stop(self) -> dict[str, Any]:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        return {"collections": self.count, "seconds": [round(s, 3) for s in self.seconds],
                "frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()),
                "long": [{"at": round(at, 3), "generation": g, "ms": round(ms, 1), "cpu_ms": round(cpu, 1),
                          "collected": c} for at, g, ms, cpu, c in self.long]}

"""The connection board: how many connections each worker process holds, in memory the
master and its workers share, so a worker leaves a new connection to a sibling holding fewer."""
from __future__ import annotations

import mmap

MAX_SLOTS = 256
ABSENT = 1 << 40


class ConnectionBoard:
    """Open connections per worker, in memory shared by the master and its workers."""

    def __init__(self):
        """An anonymous shared mapping, made before the fork; every slot starts absent."""
        self._map = mmap.mmap(-1, MAX_SLOTS * 8)
        self.counts = memoryview(self._map).cast("q")
        for slot in range(MAX_SLOTS):
            self.counts[slot] = ABSENT

    def fewest_elsewhere(self, slot: int) -> int:
        """The fewest connections any other live worker holds (ABSENT when there is none)."""
        counts = self.counts
        return min((counts[i] for i in range(MAX_SLOTS) if i != slot), default=ABSENT)

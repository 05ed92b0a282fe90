"""Plain numbers the hot paths keep for ``/metrics``: ints and histograms updated in place.

Nothing here knows Prometheus: ``transport/metrics`` reads these at scrape time. Each
object is updated by one thread only (the event loop, or a storage writer thread) and read
without a lock: a scrape may see one commit half counted, never a number that goes back.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

# Seconds from an event's ``ts`` to its frames' write: sub-millisecond on one node, more
# across a broker or under load.
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COMMIT_SECONDS_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
BATCH_SIZE_BOUNDS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)  # up to the writers' MAX_BATCH


class Histogram:
    """Observations counted in buckets (``counts[i]``: above ``bounds[i-1]``, at most
    ``bounds[i]``; the last one: above every bound), with their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float, times: int = 1) -> None:
        """``times`` observations of ``value`` at the cost of one."""
        self.counts[bisect_left(self.bounds, value)] += times
        self.sum += value * times

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with (inf, all of them)."""
        total, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out


class CommitStats:
    """What a storage writer counts of its commits (on its own thread or task)."""

    __slots__ = ("batch_size", "events", "failed", "seconds")

    def __init__(self) -> None:
        self.events = 0  # events committed
        self.failed = 0  # batches whose transaction failed (nothing of them committed)
        self.batch_size = Histogram(BATCH_SIZE_BOUNDS)  # writes per committed transaction
        self.seconds = Histogram(COMMIT_SECONDS_BOUNDS)  # BEGIN to COMMIT done (fsync included)

    def committed(self, writes: int, events: int, seconds: float) -> None:
        self.events += events
        self.batch_size.observe(writes)
        self.seconds.observe(seconds)

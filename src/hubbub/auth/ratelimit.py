"""Token buckets keyed by anything (a user, an address), with a bounded number of keys."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from hubbub.errors import RateLimited


class RateLimiter:
    """``rate`` events per second on average, bursts up to ``burst``.

    At most ``max_keys`` buckets are kept; the least recently used is dropped first, so a
    flood of new keys costs bounded memory (a dropped bucket simply starts full again).
    """

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float], max_keys: int = 100_000
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def check(self, key: Hashable, cost: float = 1.0, what: str = "requests") -> None:
        """Take ``cost`` tokens or raise ``RateLimited`` with the time until they are there."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < cost:
            self._remember(key, tokens, now)
            raise RateLimited(f"too many {what}; slow down", (cost - tokens) / self.rate)
        self._remember(key, tokens - cost, now)

    def peek(self, key: Hashable, cost: float = 1.0, what: str = "requests") -> None:
        """Raise like ``check`` would, without taking anything."""
        now = self._clock()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < cost:
            raise RateLimited(f"too many {what}; slow down", (cost - tokens) / self.rate)

    def refund(self, key: Hashable, cost: float = 1.0) -> None:
        """Give back what ``check`` took (an attempt that turned out not to count)."""
        if key in self._buckets:
            tokens, then = self._buckets[key]
            self._buckets[key] = (min(self.burst, tokens + cost), then)

    def _remember(self, key: Hashable, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

"""Failed sign-ins, throttled so that guessing is slow and the owner is never locked out.

Three limits, all keyed by the name as typed, whether or not the account exists, so an
unknown user and a wrong password are throttled alike:

- per (account, address): 5 failures at once, then 1 per minute — the tight one;
- per address, whatever the account: 30 at once, then 1 per 10 s;
- per account, from all addresses: after 10 failures, an address that failed for the
  account in the last 15 minutes must wait before each further attempt: 1 s after the
  11th failure, doubling with each failure up to 15 min. An address without such a
  failure is not held back by it, so the owner signs in while others guess.

An attempt takes its tokens before the password is checked, so concurrent guesses cannot
overrun a bucket, and gets them back when the password was right.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from hubbub.auth.ratelimit import RateLimiter
from hubbub.errors import RateLimited

PAIR_RATE, PAIR_BURST = 1 / 60, 5
ADDRESS_RATE, ADDRESS_BURST = 1 / 10, 30
ACCOUNT_FREE_FAILURES = 10  # failures from all addresses before the account backs off
BACKOFF_FIRST = 1.0  # seconds, doubled with each further failure
BACKOFF_CAP = 15 * 60.0
RECENT = 15 * 60.0  # an address that failed this long ago counts as clean again
FORGET = 60 * 60.0  # an account without failures this long starts afresh
MAX_KEYS = 100_000
TOO_MANY = "failed sign-ins"

K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class _Account:
    failures: int = 0
    last_failure: float = 0.0
    not_before: float = 0.0  # addresses with recent failures wait until then


class SignInThrottle:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._pairs = RateLimiter(PAIR_RATE, PAIR_BURST, clock, MAX_KEYS)
        self._addresses = RateLimiter(ADDRESS_RATE, ADDRESS_BURST, clock, MAX_KEYS)
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._last_attempt: OrderedDict[tuple[str, str], float] = OrderedDict()

    def begin(self, account: str, address: str) -> None:
        """Before the password is checked: raise ``RateLimited``, or count the attempt."""
        now = self._clock()
        pair = (account, address)
        self._addresses.peek(address, what=TOO_MANY)
        self._pairs.peek(pair, what=TOO_MANY)
        state = self._backing_off(account, now) if self._failed_recently(pair, now) else None
        if state is not None and now < state.not_before:
            raise RateLimited(f"too many {TOO_MANY}; slow down", state.not_before - now)
        self._addresses.check(address, what=TOO_MANY)
        self._pairs.check(pair, what=TOO_MANY)
        _remember(self._last_attempt, pair, now)
        if state is not None:  # one attempt at a time while it backs off
            state.not_before = now + _backoff(state.failures)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        state = self._accounts.pop(account, None) or _Account()
        if now - state.last_failure > FORGET:
            state.failures = 0
        state.failures += 1
        state.last_failure = now
        if state.failures > ACCOUNT_FREE_FAILURES:
            state.not_before = now + _backoff(state.failures)
        _remember(self._accounts, account, state)

    def succeeded(self, account: str, address: str) -> None:
        """The right password: the attempt does not count against this address."""
        pair = (account, address)
        self._addresses.refund(address)
        self._pairs.refund(pair)
        self._last_attempt.pop(pair, None)

    def _backing_off(self, account: str, now: float) -> _Account | None:
        state = self._accounts.get(account)
        if state is None or now - state.last_failure > FORGET:
            return None
        return state if state.failures > ACCOUNT_FREE_FAILURES else None

    def _failed_recently(self, pair: tuple[str, str], now: float) -> bool:
        last = self._last_attempt.get(pair)
        return last is not None and now - last < RECENT


def _backoff(failures: int) -> float:
    doublings = min(failures - ACCOUNT_FREE_FAILURES - 1, 20)
    return min(BACKOFF_CAP, BACKOFF_FIRST * float(2**doublings))


def _remember(index: OrderedDict[K, V], key: K, value: V) -> None:
    index.pop(key, None)
    index[key] = value
    if len(index) > MAX_KEYS:
        index.popitem(last=False)

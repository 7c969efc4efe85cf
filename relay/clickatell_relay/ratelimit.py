"""The dispatcher's rate limits: a leaky bucket per limit (requests, messages per second).

The algorithm of aiolimiter, which the relay used until its import was
measured: its package imports `importlib.metadata` to read its own version,
0.7 MiB of the relay's 40 MiB memory budget (bench/README.md, "Where the
memory goes"). The bucket holds `rate` units and drains `rate` per second; an
acquisition waits until its units fit. Whoever calls, the bucket is never
overfilled (the check and the take have no await between them); waiters are
not served in order, which the dispatcher, its only caller, does not need.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class RateLimiter:
    """At most `rate` units per second, in bursts of up to `rate`."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        """An empty bucket (a full burst is available at once)."""
        if rate <= 0:
            raise ValueError(f"the rate must be positive, not {rate}")
        self.rate = rate
        self._clock = clock
        self._level = 0.0
        self._drained_at = clock()

    def delay(self, amount: float = 1) -> float:
        """Seconds until `amount` more units fit (0: they fit now)."""
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._drained_at) * self.rate)
        self._drained_at = now
        return max(0.0, (self._level + amount - self.rate) / self.rate)

    def take(self, amount: float = 1) -> bool:
        """Take `amount` units if they fit now; whether they were taken."""
        if self.delay(amount) > 0:
            return False
        self._level += amount
        return True

    async def acquire(self, amount: float = 1) -> None:
        """Wait until `amount` units fit, then take them."""
        if amount > self.rate:
            raise ValueError(f"{amount} units never fit in a bucket of {self.rate}")
        while not self.take(amount):  # noqa: ASYNC110 - the wait is known; no event to await
            await asyncio.sleep(self.delay(amount))

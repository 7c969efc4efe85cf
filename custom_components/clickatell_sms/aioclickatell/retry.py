"""Retrying inside one call: what Clickatell says to retry, never what it may have taken.

A send is retried only when the API cannot have accepted it: it answered
"try again" (503, code 901; 429 with a Retry-After short enough to wait
for), or the connection was never made. A timeout or a connection that broke
mid-request may hide an accepted message, so a send is never retried after
one: a duplicate SMS is the caller's decision, not the client's. Reads
(balance, coverage, status) have no such risk and are also retried then.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import ClassVar

from .exceptions import (
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often, and how long, one call may try again.

    `attempts` retries after the first try; waits grow from `initial_delay`,
    doubling up to `max_delay`, with jitter; a Retry-After above
    `max_retry_after` is not waited for; no wait may end past `deadline`
    seconds after the call began (a request once started keeps its own
    timeout).
    """

    NONE: ClassVar[RetryPolicy]

    attempts: int = 2
    initial_delay: float = 0.5
    max_delay: float = 4.0
    max_retry_after: float = 5.0
    deadline: float = 10.0

    def __post_init__(self) -> None:
        """Refuse figures that cannot mean anything."""
        figures = (self.initial_delay, self.max_delay, self.max_retry_after, self.deadline)
        if self.attempts < 0 or any(not math.isfinite(f) or f < 0 for f in figures):
            raise ValueError("RetryPolicy figures must be finite and not negative")
        if self.max_delay < self.initial_delay:
            raise ValueError("RetryPolicy.max_delay must not be below initial_delay")

    def delay(self, error: ClickatellError, retries: int, *, read_only: bool) -> float | None:
        """How long to wait before retrying after `error`, or None to give up."""
        if retries >= self.attempts:
            return None
        if isinstance(error, ClickatellRateLimitError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        retryable = (
            ClickatellServiceUnavailableError,
            ClickatellRateLimitError,
            ClickatellConnectionError if read_only else ClickatellCannotConnectError,
        )
        if not isinstance(error, retryable):
            return None
        ceiling = min(self.max_delay, self.initial_delay * 2.0**retries)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


RetryPolicy.NONE = RetryPolicy(attempts=0)

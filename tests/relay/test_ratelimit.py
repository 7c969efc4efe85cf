"""The dispatcher's leaky buckets: never more than the configured rates.

The bucket's arithmetic with a clock the test moves; then the relay against the
simulator, where a lower bound on how long the requests took is what the
limit promises (a slow machine only makes it longer).
"""

from __future__ import annotations

import asyncio

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.ratelimit import RateLimiter
from clickatell_relay.simulator import Simulator

from .conftest import ConfigFactory, mqtt_client, running, send_requests, until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_rate_then_the_rate_per_second() -> None:
    clock = Clock()
    bucket = RateLimiter(5, clock=clock)

    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.delay() == pytest.approx(0.2)  # one unit drains in 1/5 s
    clock.now += 0.2
    assert bucket.take()
    assert not bucket.take()
    clock.now += 10  # idle: the bucket empties, and holds no more than a burst
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]


def test_units_are_taken_together_or_not_at_all() -> None:
    clock = Clock()
    bucket = RateLimiter(100, clock=clock)
    assert bucket.take(60)
    assert not bucket.take(60)  # 40 left: none of the 60 is taken
    assert bucket.delay(60) == pytest.approx(0.2)
    clock.now += 0.2
    assert bucket.take(60)


async def test_what_never_fits_is_refused_not_waited_for() -> None:
    with pytest.raises(ValueError, match="never fit"):
        await RateLimiter(10).acquire(11)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


async def test_waiters_never_overfill_the_bucket() -> None:
    """Several at once (the dispatcher has one; the bucket does not rely on it)."""
    clock = Clock()
    bucket = RateLimiter(2, clock=clock)
    taken: list[int] = []

    async def one(number: int) -> None:
        await bucket.acquire()
        taken.append(number)

    tasks = [asyncio.create_task(one(number)) for number in range(5)]
    await asyncio.sleep(0.05)
    assert len(taken) == 2  # the clock has not moved: the burst only
    clock.now += 1.0
    await until(lambda: len(taken) == 4)
    await asyncio.sleep(0.05)
    assert len(taken) == 4
    clock.now += 0.5
    await asyncio.gather(*tasks)
    assert sorted(taken) == [0, 1, 2, 3, 4]


async def test_the_relay_keeps_to_its_request_rate(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """15 alerts at once at 5 requests/s: 5 at once, then one every 0.2 s (2 s at least)."""
    config = make_config(limits={"requests_per_second": 5})
    async with running(config) as relay, mqtt_client(config) as client:
        for number in range(15):
            await client.publish("alerts/a", f"alert {number}")
        await until(lambda: len(simulator.messages) >= 30, 20)  # to alice and bob
        assert relay.dispatcher.requests_sent == 15
    times = sorted(request.time.timestamp() for request in send_requests(simulator))
    assert len(times) == 15
    assert times[-1] - times[0] >= (15 - 5) / 5 - 0.05  # the clock's resolution, not slack

"""Retrying inside a call: only what Clickatell says to retry, never what it may have taken."""

from __future__ import annotations

import asyncio
import socket

import pytest

from aioclickatell import (
    ApiFlavour,
    ClickatellCannotConnectError,
    ClickatellClient,
    ClickatellConnectionError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ClickatellTimeoutError,
    RetryPolicy,
)
from clickatell_relay.simulator import Account, Simulator

from .conftest import API_KEY, SETUPS, ClientFactory, Setup

GOOD = ["2799900001"]
# Short delays so the tests stay fast; the figures that matter are the counts.
QUICK = RetryPolicy(attempts=2, initial_delay=0.05, max_delay=0.1, max_retry_after=2, deadline=5)


def sends(simulator: Simulator) -> int:
    """Requests that reached the simulator's API (control requests are not recorded)."""
    return len(simulator.requests)


async def test_without_a_policy_a_503_is_raised_at_once(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("unavailable", count=1)
    with pytest.raises(ClickatellServiceUnavailableError):
        await make_client(SETUPS[2]).send(GOOD, "Hi")
    assert sends(simulator) == 1


async def test_a_503_is_retried_and_sent_once(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("unavailable", count=1)
    result = await make_client(setup, retry=QUICK).send(GOOD, "Hi")
    assert result.accepted
    assert sends(simulator) == 2
    assert len(simulator.messages) == 1


async def test_a_per_call_policy_overrides_the_clients(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("unavailable", count=1)
    client = make_client(SETUPS[0], retry=QUICK)
    with pytest.raises(ClickatellServiceUnavailableError):
        await client.send(GOOD, "Hi", retry=RetryPolicy.NONE)
    assert sends(simulator) == 1
    simulator.inject("unavailable", count=1)
    result = await make_client(SETUPS[0]).send(GOOD, "Hi", retry=QUICK)
    assert result.accepted


async def test_a_storm_longer_than_the_attempts_is_raised(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("unavailable", count=5)
    with pytest.raises(ClickatellServiceUnavailableError):
        await make_client(SETUPS[0], retry=QUICK).send(GOOD, "Hi")
    assert sends(simulator) == 3  # the first try and two retries


async def test_a_short_retry_after_is_waited_for(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("rate_limited", count=1, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await make_client(SETUPS[2], retry=QUICK).send(GOOD, "Hi")
    assert result.accepted
    assert loop.time() - started >= 0.9  # the API's wait, not our backoff
    assert sends(simulator) == 2


async def test_a_long_retry_after_is_raised_without_waiting(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("rate_limited", count=1, retry_after=30)
    with pytest.raises(ClickatellRateLimitError) as caught:
        await make_client(SETUPS[0], retry=QUICK).send(GOOD, "Hi")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > QUICK.max_retry_after
    assert sends(simulator) == 1


async def test_the_deadline_bounds_the_whole_call(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    # Each wait is 0.2-0.4 s; a third try would end past the 0.5 s deadline.
    policy = RetryPolicy(attempts=10, initial_delay=0.4, max_delay=0.4, deadline=0.5)
    simulator.inject("unavailable", count=20)
    with pytest.raises(ClickatellServiceUnavailableError):
        await make_client(SETUPS[0], retry=policy).send(GOOD, "Hi")
    assert 2 <= sends(simulator) <= 3


async def test_a_timeout_on_a_send_is_never_retried(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    # The API may have taken the message: here it did, after we gave up.
    simulator.inject("slow", count=1, delay=0.5)
    client = make_client(SETUPS[0], retry=QUICK, request_timeout=0.2)
    with pytest.raises(ClickatellTimeoutError):
        await client.send(GOOD, "Hi")
    await asyncio.sleep(0.5)
    assert sends(simulator) == 1
    assert len(simulator.messages) == 1


async def test_a_dropped_connection_on_a_send_is_never_retried(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("drop", count=1)
    with pytest.raises(ClickatellConnectionError) as caught:
        await make_client(SETUPS[0], retry=QUICK).send(GOOD, "Hi")
    assert not isinstance(caught.value, ClickatellCannotConnectError)
    assert sends(simulator) == 1


async def test_a_timeout_on_a_read_is_retried(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("slow", count=1, delay=0.5)
    balance = await make_client(SETUPS[0], retry=QUICK, request_timeout=0.2).balance()
    assert balance.balance > 0
    await asyncio.sleep(0.5)  # the slow request is recorded when its answer is written
    assert sends(simulator) == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_retried_until_the_api_is_up() -> None:
    port = _free_port()
    simulator = Simulator(Account(api_key=API_KEY))
    client = ClickatellClient(
        api=ApiFlavour.REST,
        api_key=API_KEY,
        base_url=f"http://127.0.0.1:{port}/rest",
        retry=RetryPolicy(attempts=8, initial_delay=0.1, max_delay=0.2, deadline=5),
    )

    async def start_late() -> None:
        await asyncio.sleep(0.3)
        await simulator.start(host="127.0.0.1", port=port)

    starting = asyncio.create_task(start_late())
    try:
        async with client:
            result = await client.send(GOOD, "Hi")
        assert result.accepted
        assert len(simulator.messages) == 1
    finally:
        await starting
        await simulator.stop()


async def test_a_refused_connection_is_its_own_error() -> None:
    client = ClickatellClient(
        api=ApiFlavour.REST, api_key=API_KEY, base_url=f"http://127.0.0.1:{_free_port()}/rest"
    )
    async with client:
        with pytest.raises(ClickatellCannotConnectError) as caught:
            await client.send(GOOD, "Hi")
    assert isinstance(caught.value, ClickatellConnectionError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": -1},
        {"initial_delay": -1},
        {"max_delay": 0.1, "initial_delay": 0.2},
        {"max_retry_after": float("inf")},
        {"deadline": float("nan")},
    ],
)
def test_a_nonsensical_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]

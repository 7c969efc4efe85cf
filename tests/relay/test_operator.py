"""What the operator is told: errors at start, dead letters, the status, and quiet reconnects."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from clickatell_relay.broker import LocalBroker, free_port
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import ConfigFactory, mqtt_client, running, send_requests, until, until_async

MARKER = "payload-content-that-stays-out-of-the-log"


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """The relay's own records at `level` or above."""
    return [
        record
        for record in caplog.records
        if record.levelno >= level and record.name.startswith(("clickatell_relay", "aioclickatell"))
    ]


@pytest.mark.parametrize(
    ("clickatell", "said"),
    [
        ({"api_key": "a-key-clickatell-refuses"}, "refused the credentials"),
        ({"base_url": f"http://127.0.0.1:{free_port()}/rest"}, "cannot reach"),
    ],
    ids=["wrong key", "no endpoint"],
)
async def test_a_wrong_key_or_endpoint_is_an_error_at_start(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
    clickatell: dict[str, str],
    said: str,
) -> None:
    """A wrong API key was silent at start: only the status knew, until the first alert."""
    config = make_config(clickatell=clickatell)
    async with running(config) as relay:
        await until(
            lambda: any(said in record.getMessage() for record in records(caplog, logging.ERROR))
        )
        async with mqtt_client(config) as client:  # it keeps running, and queueing
            await client.publish("alerts/x", "queued meanwhile")
        await until_async(lambda: _depth(relay, 2))
    assert simulator.messages == []


async def _depth(relay: Relay, depth: int) -> bool:
    return bool((await relay.status())["queue_depth"] == depth)


async def test_dead_letters_on_receipt_are_logged_with_topic_reason_and_route(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dead letters on receipt logged only a count."""
    config = make_config(
        routes=[
            {"name": "json-only", "topic": "alerts/#", "recipients": ["alice"], "payload": "json"}
        ]
    )
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/garage", f"not JSON: {MARKER}")
        await until(lambda: relay.bursts == 1)
    (line,) = [
        record.getMessage()
        for record in records(caplog, logging.WARNING)
        if "dead-lettered" in record.getMessage()
    ]
    assert "alerts/garage" in line
    assert "not_json" in line
    assert "json-only" in line
    assert MARKER not in caplog.text


async def test_a_clean_stop_leaves_the_status_offline(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """The retained status said `online` after a clean stop, while availability said offline."""
    config = make_config()
    async with running(config):
        pass
    async with mqtt_client(config, "late-observer") as late:
        await late.subscribe("relay/status", "relay/availability")
        await until(lambda: late.received["relay/availability"] == [b"offline"])
        await until(lambda: len(late.received["relay/status"]) == 1)
    assert late.json("relay/status")[0]["state"] == "offline"


async def test_the_last_error_goes_once_everything_works_again(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """`last_error` stayed set after full recovery."""
    simulator.inject("unavailable", count=2)
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/x", "after a bad patch")
        await until_async(lambda: _last_error_set(relay))
        await until(lambda: len(simulator.messages) == 2)
        await until_async(lambda: _last_error_gone(relay))
        status = await relay.status()
    assert status["last_error_at"] is None
    assert status["failed"] > 0


async def _last_error_set(relay: Relay) -> bool:
    return (await relay.status())["last_error"] is not None


async def _last_error_gone(relay: Relay) -> bool:
    return (await relay.status())["last_error"] is None


async def test_the_balance_is_read_when_sending_pauses_for_no_credit(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """The balance stayed stale (the last good figure) while paused for no credit."""
    config = make_config(limits={"balance_check_interval": 3600})
    async with running(config) as relay, mqtt_client(config) as client:
        await until(lambda: relay.health.balance is not None)
        simulator.account.balance = Decimal(0)
        await client.publish("alerts/x", "pay up")
        await until(lambda: relay.health.paused)
        await until_async(lambda: _balance_is(relay, 0))


async def _balance_is(relay: Relay, balance: float) -> bool:
    return bool((await relay.status())["balance"] == balance)


async def test_a_broker_crash_is_a_warning(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A routine broker restart logged `ERROR clickatell_relay.mqtt: failed to receive on

    socket: [Errno 104] Connection reset by peer` (paho's own logger through ours): a
    reconnect the relay handles is a warning at most. The broker is frozen while the
    relay writes to it, then killed: its kernel answers with a reset.
    """
    config = make_config(status={"interval": 1})
    async with running(config) as relay:
        broker.pause()
        await asyncio.sleep(2)  # a status or two sit unread in the broker's socket
        broker.kill()
        broker.start()
        await until(lambda: "Broker connection lost" in caplog.text)
        await until(relay.connected.is_set)
    assert "Connection reset by peer" in caplog.text
    assert records(caplog, logging.ERROR) == []


async def test_a_429_hold_outlives_a_restart(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """A relay restarted inside a 429 storm sent again at once, before the Retry-After."""
    config = make_config()
    async with running(config), mqtt_client(config) as client:
        await until(lambda: any("balance" in request.path for request in simulator.requests))
        simulator.inject("rate_limited", count=1, retry_after=600)
        await client.publish("alerts/x", "rate limited")
        await until(lambda: len(send_requests(simulator)) == 1)
    refused = len(simulator.requests)
    async with running(config) as relay:
        # A full turn of the sending loop (its upkeep reads the balance) after the
        # alert is back: without the hold it would have been sent in that turn.
        await until(
            lambda: any("balance" in request.path for request in simulator.requests[refused:])
        )
        await until(
            lambda: len([r for r in simulator.requests[refused:] if "balance" in r.path]) >= 2
        )
        status = await relay.status()
    assert len(send_requests(simulator)) == 1
    assert status["queue_depth"] == 2

"""The daily budget and the per-recipient caps, with alerts too big to fit and answers lost."""

from __future__ import annotations

from clickatell_relay.broker import LocalBroker, free_port
from clickatell_relay.config import RelayConfig
from clickatell_relay.dispatch import next_midnight_utc
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    ConfigFactory,
    mqtt_client,
    running,
    send_requests,
    until,
    until_async,
)

PART = 153  # GSM-7 characters per part of a long SMS


def parts(count: int, label: str) -> str:
    """A text of exactly `count` SMS parts."""
    return (label + " " + "x" * PART * count)[: PART * count]


def slow_api_to_alice(
    simulator: Simulator, make_config: ConfigFactory, **limits: float
) -> RelayConfig:
    """Alerts to Alice, and an API that answers after the relay stopped waiting."""
    simulator.inject("slow", delay=1.0)
    return make_config(
        clickatell={"request_timeout": 0.3},
        limits=limits,
        routes=[{"name": "a", "topic": "alerts/#", "recipients": ["alice"]}],
    )


async def test_an_alert_bigger_than_what_is_left_today_does_not_stop_the_others(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """An alert that alone exceeded the remaining budget paused all sending until

    midnight UTC, critical alerts included.
    """
    config = make_config(
        limits={"daily_credit_budget": 4},
        routes=[
            {
                "name": "urgent",
                "topic": "alerts/urgent",
                "recipients": ["bob"],
                "priority": "critical",
            },
            {"name": "long", "topic": "alerts/#", "recipients": ["alice"], "max_parts": 10},
        ],
    )
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/long", parts(6, "six"))  # more than the whole budget
        await until(lambda: len(client.received["relay/dead_letter"]) == 1)
        await client.publish("alerts/long", parts(3, "three"))  # fits: 1 credit left after
        await until(lambda: len(simulator.messages) == 1)
        await client.publish("alerts/long", parts(2, "two"))  # does not fit today: held

        async def held_until_midnight() -> bool:
            rows = await relay.store.call(relay.store.messages, state="queued")
            return len(rows) == 1 and rows[0]["not_before"] >= next_midnight_utc(
                rows[0]["created_at"]
            )

        await until_async(held_until_midnight)
        await client.publish("alerts/urgent", "FIRE")  # one credit: it still goes
        await until(lambda: len(simulator.messages) == 2)
        status = await relay.status()
    assert [(message.text[:5], message.to) for message in simulator.messages] == [
        ("three", ALICE),
        ("FIRE", BOB),
    ]
    (letter,) = client.json("relay/dead_letter")
    assert letter["reason"] == "over_budget"
    assert letter["recipient"] == ALICE
    assert status["queue_depth"] == 1
    assert status["credits_today"] == 4


async def test_an_sms_whose_outcome_stays_unknown_is_dead_lettered_after_the_ceiling(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """A slow endpoint made the relay send one alert 12 times in 60 s: every timeout

    was retried at once, and none counted against the budget or the caps.
    """
    simulator.inject("slow", delay=1.0)
    config = make_config(clickatell={"request_timeout": 0.3}, limits={"max_unknown_outcomes": 3})
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/x", "does it arrive?")
        await until(lambda: len(client.received["relay/dead_letter"]) == 2, 30)
        await until(lambda: relay.dispatcher.in_flight == 0)
        status = await relay.status()
    assert status["failed"] == 6  # 3 requests for 2 recipients
    await until(lambda: len(send_requests(simulator)) == 3)  # as the API saw them
    letters = client.json("relay/dead_letter")
    assert {(letter["reason"], letter["recipient"]) for letter in letters} == {
        ("unknown_outcome", ALICE),
        ("unknown_outcome", BOB),
    }
    assert status["credits_today"] == 6  # counted as sent: 3 requests, 2 recipients
    assert status["queue_depth"] == 0


async def test_unknown_outcomes_count_against_the_per_recipient_cap(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = slow_api_to_alice(simulator, make_config, per_recipient_per_hour=2)
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/x", "maybe twice already")
        await until(lambda: len(client.received["relay/dead_letter"]) == 1, 30)
        status = await relay.status()
    assert status["failed"] == 2
    await until(lambda: len(send_requests(simulator)) == 2)
    assert client.json("relay/dead_letter")[0]["reason"] == "recipient_cap"


async def test_unknown_outcomes_count_against_the_budget(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = slow_api_to_alice(simulator, make_config, daily_credit_budget=2)
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/x", "maybe sent twice")
        await until(lambda: relay.health.paused, 30)
        status = await relay.status()
    assert status["failed"] == 2
    assert status["credits_today"] == 2
    await until(lambda: len(send_requests(simulator)) == 2)
    assert "budget" in status["pause_reason"]
    assert status["queue_depth"] == 1


async def test_a_connection_never_made_is_a_known_outcome(
    broker: LocalBroker, make_config: ConfigFactory
) -> None:
    """Refused at connect, the API cannot have sent anything: no ceiling, no cost."""
    config = make_config(
        clickatell={"base_url": f"http://127.0.0.1:{free_port()}/rest"},
        limits={"max_unknown_outcomes": 1, "daily_credit_budget": 1},
    )
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/x", "the API is not there")
        await until_async(lambda: _failed_at_least(relay, 6), 30)  # three refused requests
        status = await relay.status()
    assert status["dead_lettered"] == 0
    assert status["queue_depth"] == 2
    assert status["credits_today"] == 0
    assert not status["paused"]


async def _failed_at_least(relay: Relay, count: int) -> bool:
    return bool((await relay.status())["failed"] >= count)

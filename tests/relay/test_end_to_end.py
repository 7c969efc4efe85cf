"""The relay against a real mosquitto and the simulator, in-process."""

from __future__ import annotations

import json
import logging
from collections import Counter
from decimal import Decimal

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    INVALID,
    OPTED_OUT,
    Client,
    ConfigFactory,
    mqtt_client,
    running,
    send_requests,
    sent_to,
    until,
    until_async,
)


async def test_alert_becomes_one_batched_sms(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config()
    async with running(config), mqtt_client(config) as client:
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 2)
    assert sorted(sent_to(simulator)) == [("Database down", ALICE), ("Database down", BOB)]
    assert len({message.client_message_id for message in simulator.messages}) == 1
    assert len(send_requests(simulator)) == 1


async def test_sending_logs_nothing_above_debug(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A steady stream of alerts that all go out adds no line to the relay's log at INFO."""
    config = make_config()
    async with running(config), mqtt_client(config) as client:
        await client.publish("alerts/db", "Warm-up")  # connecting and the first balance log
        await until(lambda: len(simulator.messages) == 2)
        caplog.clear()
        for index in range(3):
            await client.publish("alerts/db", f"Database down {index}")
        await until(lambda: len(simulator.messages) == 8)
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.INFO and record.name.startswith("clickatell_relay.dispatch")
    ]
    assert logged == []
    assert any(
        record.getMessage().startswith("Request ") and record.levelno == logging.DEBUG
        for record in caplog.records
    )


async def test_a_refused_recipient_is_logged_as_a_warning(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(routes=[{"topic": "a/#", "recipients": ["alice", INVALID]}])
    async with running(config), mqtt_client(config) as client:
        await client.publish("a/x", "Half reachable")
        await until(lambda: "1 dead-lettered" in caplog.text)
    [record] = [record for record in caplog.records if "1 dead-lettered" in record.getMessage()]
    assert record.levelno == logging.WARNING
    assert INVALID not in record.getMessage()


async def test_batching_to_the_per_request_maximum(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    everyone = [f"27999{index:05d}" for index in range(1000, 1450)]
    config = make_config(
        groups={"everyone": everyone},
        routes=[{"name": "all", "topic": "site/#", "recipients": ["everyone"]}],
    )
    async with running(config), mqtt_client(config) as client:
        await client.publish("site/fire", "Fire alarm: leave the building")
        await until(lambda: len(simulator.messages) == 450)
    bodies = [json.loads(request.body) for request in send_requests(simulator)]
    assert sorted(len(body["to"]) for body in bodies) == [50, 200, 200]
    assert {body["clientMessageId"] for body in bodies} == {simulator.messages[0].client_message_id}
    assert sorted(message.to for message in simulator.messages) == everyone


async def test_alerts_published_while_the_api_is_down_arrive_after_it_comes_back(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("unavailable")
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        for index in range(5):
            await client.publish("alerts/x", f"alert {index}")
        await until(lambda: len(send_requests(simulator)) >= 3)
        status = await relay.status()
        assert status["queue_depth"] == 10
        assert simulator.messages == []
        simulator.clear_faults()
        await until(lambda: len(simulator.messages) == 10)
        status = await relay.status()
    assert Counter(sent_to(simulator)) == Counter(
        (f"alert {index}", number) for index in range(5) for number in (ALICE, BOB)
    )
    assert status["failed"] > 0
    assert status["queue_depth"] == 0


async def test_a_429_storm_is_waited_out(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("rate_limited", count=6, retry_after=0.1)
    config = make_config()
    async with running(config), mqtt_client(config) as client:
        for index in range(4):
            await client.publish("alerts/x", f"alert {index}")
        await until(lambda: len(simulator.messages) == 8)
    # Balance checks meet the storm too; every 429 was waited out, none was fatal.
    assert Counter(request.status for request in simulator.requests)[429] == 6
    assert Counter(request.status for request in send_requests(simulator))[429] >= 1
    assert Counter(sent_to(simulator)).most_common(1)[0][1] == 1  # each SMS once


async def test_a_503_storm_backs_off_and_recovers(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("unavailable", count=5)
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/x", "after the storm")
        await until(lambda: len(simulator.messages) == 2)
        status = await relay.status()
    failed_sends = Counter(request.status for request in send_requests(simulator))[503]
    assert failed_sends >= 1
    assert status["failed"] == 2 * failed_sends  # each failed request held 2 recipients
    assert status["last_error"] is not None


async def test_a_timed_out_request_is_retried(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(clickatell={"request_timeout": 0.5})
    async with running(config) as relay, mqtt_client(config) as client:
        await until(lambda: any("balance" in request.path for request in simulator.requests))
        simulator.inject("slow", count=1, delay=1.5)
        await client.publish("alerts/x", "slow network")

        async def both_recorded_sent() -> bool:
            # Not the simulator's messages: the timed-out request lands there too,
            # a second after the relay gave up on it and before its retry.
            return bool((await relay.status())["sent"] == 2)

        await until_async(both_recorded_sent)
        assert {ALICE, BOB} <= {to for _text, to in sent_to(simulator)}
        status = await relay.status()
    # The timed-out request may have been accepted too: at most that one is doubled.
    assert 2 <= len(simulator.messages) <= 4
    assert status["failed"] == 2
    assert "No readable answer (Timeout" in caplog.text
    assert status["last_error"] is None  # the retry went through: nothing stands


async def test_no_credit_pauses_then_resumes_when_the_balance_is_back(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.account.balance = Decimal(0)
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/status")
        await client.publish("alerts/x", "pay up")
        await until(lambda: any(item["paused"] for item in client.json("relay/status")))
        assert simulator.messages == []
        paused = next(item for item in client.json("relay/status") if item["paused"])
        assert paused["pause_reason"] == "no credit"
        simulator.account.balance = Decimal(50)
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: not relay.health.paused)


async def test_bad_payloads_are_dead_lettered_and_the_relay_keeps_running(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        mqtt={"max_payload_bytes": 1000},
        routes=[
            {
                "name": "json",
                "topic": "json/#",
                "recipients": ["oncall"],
                "payload": "json",
                "template": "{severity}: {text}",
            },
            {
                "name": "fixed",
                "topic": "fixed/#",
                "recipients": ["alice"],
                "allow_payload_recipients": False,
            },
            {"name": "short", "topic": "short/#", "recipients": ["alice"], "max_parts": 1},
            {"name": "text", "topic": "text/#", "recipients": ["oncall"]},
        ],
    )
    bad = {
        "not_utf8": ("text/a", b"\xff\xfe\xfd"),
        "empty": ("text/b", b"   "),
        "not_json": ("json/a", b"plain text on a JSON route"),
        "bad_json": ("json/b", b"[1, 2, 3]"),
        "template": ("json/c", json.dumps({"text": "no severity"}).encode()),
        "too_long": ("short/a", ("x" * 200).encode()),
        "too_large": ("text/c", ("y" * 1001).encode()),
        "unknown_recipient": ("text/d", json.dumps({"text": "hi", "to": ["mallory"]}).encode()),
        "recipients_not_allowed": ("fixed/a", json.dumps({"text": "hi", "to": ["bob"]}).encode()),
        "bad_options": (
            "text/e",
            json.dumps({"text": "hi", "options": {"sender": "x"}}).encode(),
        ),
    }
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        for topic, payload in bad.values():
            await client.publish(topic, payload)
        await client.publish("json/ok", json.dumps({"text": "disk full", "severity": "WARN"}))
        await until(lambda: len(client.received["relay/dead_letter"]) == len(bad))
        await until(lambda: len(simulator.messages) == 2)
        status = await relay.status()
    letters = client.json("relay/dead_letter")
    assert {letter["reason"] for letter in letters} == set(bad)
    by_reason = {letter["reason"]: letter for letter in letters}
    for reason, (topic, _payload) in bad.items():
        assert by_reason[reason]["topic"] == topic
        assert by_reason[reason]["detail"]
    assert sent_to(simulator) == [("WARN: disk full", ALICE), ("WARN: disk full", BOB)]
    assert status["dead_lettered"] == len(bad)


async def test_a_route_of_everything_never_texts_the_relays_own_topics(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """`#` also hears the relay's status, dead letters and discovery: none is an alert."""
    config = make_config(routes=[{"name": "everything", "topic": "#", "recipients": ["alice"]}])
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/status", "relay/dead_letter")
        await client.publish("alerts/a", b"   ")  # dead-lettered: empty
        await until(lambda: len(client.received["relay/dead_letter"]) == 1)
        # The retained status, then two the relay published while it heard `#`.
        await until(lambda: len(client.received["relay/status"]) >= 3)
        # Home Assistant's discovery prefix: its birth message, another device's config.
        await client.publish("homeassistant/status", "online")
        await client.publish("homeassistant/sensor/other/config", "{}")
        await client.publish("alerts/b", "Database down")
        await until(lambda: len(simulator.messages) >= 1)
        status = await relay.status()
    assert sent_to(simulator) == [("Database down", ALICE)]
    assert status["received"] == 2
    assert status["dead_lettered"] == 1
    assert status["queue_depth"] == 0


async def test_permanent_api_errors_are_dead_lettered_with_the_code_and_not_retried(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(groups={"oncall": ["alice", OPTED_OUT, INVALID]})
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/x", "mixed bag")
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
    letters = {letter["recipient"]: letter for letter in client.json("relay/dead_letter")}
    assert letters[OPTED_OUT]["code"] == "122"
    assert letters[INVALID]["code"] == "105"
    assert {letter["reason"] for letter in letters.values()} == {"rejected"}
    assert sent_to(simulator) == [("mixed bag", ALICE)]
    assert len(send_requests(simulator)) == 1


async def test_payload_recipients_are_limited_to_the_allowlist(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    stranger = "27999888777"
    config = make_config(allowlist=["27999555444"])
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/a", json.dumps({"text": "to carol", "to": ["carol"]}))
        await client.publish("alerts/b", json.dumps({"text": "to a number", "to": ["27999555444"]}))
        await client.publish("alerts/c", json.dumps({"text": "to a stranger", "to": [stranger]}))
        await client.publish(
            "alerts/d", json.dumps({"text": "mixed", "recipients": ["carol", stranger]})
        )
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
        await until(lambda: len(simulator.messages) == 2)
    assert sorted(sent_to(simulator)) == [("to a number", "27999555444"), ("to carol", CAROL)]
    assert {letter["reason"] for letter in client.json("relay/dead_letter")} == {
        "unknown_recipient"
    }
    assert stranger not in {to for _text, to in sent_to(simulator)}


async def test_per_recipient_cap_dead_letters_the_excess(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        limits={"per_recipient_per_hour": 2},
        routes=[{"name": "a", "topic": "alerts/#", "recipients": ["alice"]}],
    )
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        for index in range(5):
            await client.publish("alerts/x", f"flood {index}")
        await until(lambda: len(client.received["relay/dead_letter"]) == 3)
        await until(lambda: len(simulator.messages) == 2)
    assert [to for _text, to in sent_to(simulator)] == [ALICE, ALICE]
    assert {letter["reason"] for letter in client.json("relay/dead_letter")} == {"recipient_cap"}


async def test_per_recipient_cap_can_hold_the_excess_instead(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        limits={"per_recipient_per_hour": 1, "per_recipient_overflow": "hold"},
        routes=[{"name": "a", "topic": "alerts/#", "recipients": ["alice"]}],
    )
    async with running(config) as relay, mqtt_client(config) as client:
        await client.publish("alerts/x", "first")
        await client.publish("alerts/x", "second")
        await until(lambda: len(simulator.messages) == 1)

        async def held_for_the_hour() -> bool:
            rows = await relay.store.call(relay.store.messages, state="queued")
            return [row["text"] for row in rows] == ["second"] and (
                rows[0]["not_before"] > rows[0]["created_at"] + 3000
            )

        # If "second" was looked at while "first" was in flight, it is looked
        # at again shortly, then held until an hour after "first".
        await until_async(held_for_the_hour)
        await until(lambda: relay.dispatcher.in_flight == 0)
        status = await relay.status()
    assert sent_to(simulator) == [("first", ALICE)]
    assert status["dead_lettered"] == 0


async def test_digest_window_folds_alerts_into_one_sms(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        routes=[
            {
                "name": "disk",
                "topic": "disk/#",
                "recipients": ["alice", "bob"],
                "digest": {"wait": "0.5s", "interval": "1h"},
            }
        ]
    )
    async with running(config) as relay, mqtt_client(config) as client:
        for host in ("web1", "web2", "web3"):
            await client.publish(f"disk/{host}", f"{host} disk full")
        await until(lambda: len(simulator.messages) == 2)
        await client.publish("disk/web4", "web4 disk full")

        async def fourth_received() -> bool:
            return bool((await relay.status())["received"] == 4)

        await until_async(fourth_received)
        status = await relay.status()
    texts = {text for text, _to in sent_to(simulator)}
    assert texts == {"[3 alerts]\nweb1 disk full\nweb2 disk full\nweb3 disk full"}
    assert len(send_requests(simulator)) == 1
    # The fourth waits for the group interval (an hour) instead of texting again.
    assert status["digest_waiting"] == 1


async def test_a_digest_without_interval_sends_what_did_not_fit_right_after(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        routes=[
            {
                "name": "disk",
                "topic": "disk/#",
                "recipients": ["alice"],
                "max_parts": 1,
                "digest": {"wait": "0.2s", "interval": 0},
            }
        ]
    )
    texts = [f"{host} disk full: " + "x" * 100 for host in ("web1", "web2", "web3")]
    async with running(config), mqtt_client(config) as client:
        for text in texts:
            await client.publish("disk/all", text)
        # One alert per SMS (two do not fit in one part); no interval holds the rest.
        await until(lambda: len(simulator.messages) == 3)
    assert sorted(text for text, _to in sent_to(simulator)) == texts


async def test_high_priority_goes_before_a_low_priority_backlog(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("unavailable")
    config = make_config(
        limits={"concurrency": 1},
        routes=[
            {
                "name": "urgent",
                "topic": "alerts/urgent",
                "recipients": ["bob"],
                "priority": "critical",
            },
            {"name": "chatter", "topic": "alerts/#", "recipients": ["alice"], "priority": "low"},
        ],
    )
    async with running(config) as relay, mqtt_client(config) as client:
        for index in range(5):
            await client.publish("alerts/info", f"low {index}")
        await client.publish("alerts/urgent", "HIGH")
        await until(lambda: relay.bursts >= 1)
        await until_async(lambda: _depth_is(relay, 6))
        # Two more failed attempts: the second was claimed after HIGH was queued.
        attempts = len(send_requests(simulator))
        await until(lambda: len(send_requests(simulator)) >= attempts + 2)
        simulator.clear_faults()
        await until(lambda: len(simulator.messages) == 6)
    assert simulator.messages[0].text == "HIGH"
    assert [message.text for message in simulator.messages[1:]] == [f"low {i}" for i in range(5)]


async def _depth_is(relay: Relay, depth: int) -> bool:
    depth_now: int = (await relay.status())["queue_depth"]
    return depth_now == depth


async def test_daily_credit_budget_pauses_sending(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(
        limits={"daily_credit_budget": 3},
        routes=[{"name": "a", "topic": "alerts/#", "recipients": ["alice"]}],
    )
    async with running(config) as relay, mqtt_client(config) as client:
        for index in range(5):
            await client.publish("alerts/x", f"costly {index}")
        await until(lambda: relay.health.paused)
        status = await relay.status()
    assert len(simulator.messages) == 3
    assert status["queue_depth"] == 2
    assert "budget" in status["pause_reason"]


async def test_unsent_sms_expire_into_dead_letters(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("unavailable")
    config = make_config(queue={"max_age": 1})
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/x", "too late")
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
    assert {letter["reason"] for letter in client.json("relay/dead_letter")} == {"expired"}
    assert simulator.messages == []


async def test_queue_full_refuses_new_alerts_visibly(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    simulator.inject("unavailable")
    config = make_config(queue={"max_messages": 4})
    async with running(config) as relay, mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        for index in range(3):
            await client.publish("alerts/x", f"alert {index}")
        await until(lambda: len(client.received["relay/dead_letter"]) == 1)
        status = await relay.status()
        simulator.clear_faults()
        await until(lambda: len(simulator.messages) == 4)
    assert client.json("relay/dead_letter")[0]["reason"] == "queue_full"
    assert client.json("relay/dead_letter")[0]["text"] == "alert 2"
    assert status["queue_depth"] == 4
    assert {text for text, _to in sent_to(simulator)} == {"alert 0", "alert 1"}


async def test_status_availability_and_home_assistant_discovery(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(status={"node_id": "edge1", "name": "Edge relay"})
    async with running(config), mqtt_client(config, "observer") as client:
        await client.publish("alerts/x", "counted")
        await until(lambda: len(simulator.messages) == 2)
        await client.subscribe("relay/#", "homeassistant/#")
        await until(lambda: any(item["sent"] == 2 for item in client.json("relay/status")))
        await until(
            lambda: len([t for t in client.received if t.startswith("homeassistant/")]) >= 8
        )
    assert client.received["relay/availability"][-1] == b"online"
    status = client.json("relay/status")[-1]
    for key in (
        "queue_depth",
        "oldest_age",
        "sent",
        "failed",
        "dead_lettered",
        "last_error",
        "balance",
    ):
        assert key in status
    assert status["balance"] is not None
    config_topics = {topic for topic in client.received if topic.startswith("homeassistant/")}
    assert "homeassistant/sensor/edge1/queue_depth/config" in config_topics
    assert "homeassistant/binary_sensor/edge1/paused/config" in config_topics
    sensor = json.loads(client.received["homeassistant/sensor/edge1/sent/config"][-1])
    assert sensor["unique_id"] == "edge1_sent"
    assert sensor["default_entity_id"] == "sensor.edge1_sent"
    assert sensor["state_topic"] == "relay/status"
    assert sensor["availability_topic"] == "relay/availability"
    assert sensor["device"]["identifiers"] == ["edge1"]
    assert sensor["device"]["name"] == "Edge relay"
    # A graceful stop says offline (retained) before disconnecting.
    async with mqtt_client(config, "late-observer") as late:
        await late.subscribe("relay/availability")
        await until(lambda: late.received["relay/availability"] == [b"offline"])


async def test_the_balance_sensor_is_in_the_currency_the_api_gives(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """The One API's balance is money: its currency is the unit, kept for the next start."""
    simulator.account.currency = "ZAR"
    config = make_config(
        clickatell={"api": "platform", "base_url": simulator.base_url("platform")},
        status={"node_id": "edge1"},
    )
    topic = "homeassistant/sensor/edge1/balance/config"

    def units(client: Client) -> list[str]:
        return [item["unit_of_measurement"] for item in client.json(topic)]

    async with running(config), mqtt_client(config, "observer") as client:
        await client.subscribe(topic)
        await until(lambda: units(client)[-1:] == ["ZAR"])
    sensor = client.json(topic)[-1]
    assert sensor["device_class"] == "monetary"
    assert sensor["state_class"] == "total"
    # Restarted, it announces the currency at once, not credits first.
    async with mqtt_client(config, "second-observer") as second:
        await second.subscribe(topic)
        async with running(config):
            await until(lambda: len(second.json(topic)) >= 2)
        assert units(second) == ["ZAR"] * len(second.json(topic))


async def test_a_legacy_balance_is_in_credits(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(status={"node_id": "edge1"})
    topic = "homeassistant/sensor/edge1/balance/config"
    async with running(config) as relay, mqtt_client(config, "observer") as client:
        await client.subscribe(topic)
        await until(lambda: relay.health.balance is not None and bool(client.json(topic)))
    sensor = client.json(topic)[-1]
    assert sensor["unit_of_measurement"] == "credits"
    assert "device_class" not in sensor


async def test_a_route_decides_which_payload_options_it_takes(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """Payload options overrode the route's on every route (a validity of a minute, a

    delivery a week later), whoever published.
    """
    config = make_config(
        routes=[
            {"name": "strict", "topic": "alerts/strict", "recipients": ["alice"]},
            {
                "name": "open",
                "topic": "alerts/#",
                "recipients": ["alice"],
                "payload_options": ["validity_period"],
                "options": {"validity_period": 60},
            },
        ]
    )
    validity = {"text": "valid for 5 minutes", "options": {"validity_period": 5}}
    later = {
        "text": "in a week",
        "options": {"scheduled_delivery_time": "2030-01-01T00:00:00+00:00"},
    }
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/strict", json.dumps(validity))
        await client.publish("alerts/open", json.dumps(later))
        await client.publish("alerts/open", json.dumps(validity))
        await client.publish("alerts/open", "the route's own validity")
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
    letters = client.json("relay/dead_letter")
    assert [(letter["reason"], letter["topic"]) for letter in letters] == [
        ("bad_options", "alerts/strict"),
        ("bad_options", "alerts/open"),
    ]
    assert "payload_options" in letters[0]["detail"]
    validities = {
        message.text: message.options.get("validityPeriod") for message in simulator.messages
    }
    assert validities == {"valid for 5 minutes": 5, "the route's own validity": 60}


async def test_alerts_with_different_options_never_share_a_digest(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """A digest took its first alert's options: one publisher's options (a delivery

    scheduled days ahead) applied to every genuine alert folded with it.
    """
    config = make_config(
        routes=[
            {
                "name": "disk",
                "topic": "disk/#",
                "recipients": ["alice"],
                "digest": {"wait": "0.5s", "interval": "1h"},
                "payload_options": ["validity_period"],
            }
        ]
    )
    async with running(config), mqtt_client(config) as client:
        await client.publish("disk/a", json.dumps({"text": "a", "options": {"validity_period": 5}}))
        await client.publish("disk/b", "b")
        await client.publish("disk/c", "c")
        await until(lambda: len(simulator.messages) == 2)
    validities = {
        message.text: message.options.get("validityPeriod") for message in simulator.messages
    }
    assert validities == {"a": 5, "[2 alerts]\nb\nc": None}

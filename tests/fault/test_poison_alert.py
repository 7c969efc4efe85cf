"""One bad alert must not stop the relay: it is refused with a reason, and the next alert goes out.

The payload fuzzing (test_fuzz.py) found a payload that raises in the parser
instead of being refused; this is what that does to a running relay.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import parse_config
from clickatell_relay.mqtt import MqttConnection
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import API_KEY

ALICE = "2799900001"


async def test_an_alert_with_a_scheduled_delivery_time_does_not_stop_the_relay(
    tmp_path: Path, broker: LocalBroker, simulator: Simulator
) -> None:
    """A bug the fuzzing found (fixed): relay/clickatell_relay/payload.py `_options`.

    `scheduled_delivery_time` is an option payloads may carry
    (config.PAYLOAD_OPTIONS); JSON gives it as a string, SendOptions read
    `.tzinfo` from it and the AttributeError escaped `parse_payload`,
    `Relay._handle_burst` (before the commit and the acks) and `Relay.run`:
    the relay stopped. Restarted, it got the same unacknowledged alert again
    and stopped again, so no later alert was ever sent.
    """
    config = parse_config(
        json.dumps(
            {
                "mqtt": {
                    "port": broker.port,
                    "client_id": "poisoned-relay",
                    "reconnect_min_delay": 0.1,
                },
                "clickatell": {
                    "api": "rest",
                    "api_key": API_KEY,
                    "base_url": simulator.base_url("rest"),
                },
                "queue": {"path": str(tmp_path / "queue.db"), "receive_linger": 0.01},
                "limits": {"poll_interval": 0.2},
                "status": {"discovery": False},
                "contacts": {"alice": ALICE},
                "routes": [{"name": "alerts", "topic": "alerts/#", "recipients": ["alice"]}],
            }
        ),
        "poison.yaml",
        environ={},
    )
    relay = Relay(config)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="relay")
    publisher = MqttConnection(replace(config.mqtt, client_id="poison-publisher"))
    try:
        connected = asyncio.ensure_future(relay.connected.wait())
        await asyncio.wait({connected, task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        connected.cancel()
        assert relay.connected.is_set(), "the relay did not connect"
        await publisher.connect()
        poison = {"text": "at noon", "options": {"scheduled_delivery_time": "2030-01-01T12:00Z"}}
        await publisher.publish("alerts/a", json.dumps(poison), qos=1)
        await publisher.publish("alerts/b", "an ordinary alert", qos=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not task.done():
            if any(message.text == "an ordinary alert" for message in simulator.messages):
                break
            await asyncio.sleep(0.05)
        stopped = task.exception() if task.done() else None
        assert not task.done(), f"the relay stopped on one alert: {stopped!r}"
        # The bad alert may be dead-lettered (bad_options) or sent as scheduled; the next goes.
        assert "an ordinary alert" in [message.text for message in simulator.messages]
    finally:
        await publisher.disconnect()
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 30)
        elif not task.cancelled():
            task.exception()  # retrieved: reported by the assertion above

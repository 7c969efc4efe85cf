"""`clickatell-relay demo`: the whole relay on one machine, with no account, in seconds.

It starts a private mosquitto on a free port, the bundled Clickatell
simulator in-process, and the relay on the embedded configuration below;
publishes a handful of alerts (to groups, with identical texts to many
recipients, one digest burst, one refused number and some bad payloads);
prints what became which SMS request and which dead letter; and exits.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .broker import LocalBroker
from .config import RelayConfig, parse_config
from .mqtt import IncomingMessage, MqttConnection, MqttError
from .relay import Relay

if TYPE_CHECKING:
    from collections.abc import Callable

    from .simulator import Simulator

DEMO_API_KEY: Final = "demo-api-key"
# 250 numbers in Clickatell's test range: more than one request's worth.
EVERYONE: Final = [f"27999{index:05d}" for index in range(100, 350)]
# The simulator refuses 2799999122 as opted out (docs/api-contract.md).
OPTED_OUT: Final = "2799999122"

DEMO_CONFIG: Final = """\
# The demo's configuration (every key: relay/clickatell_relay/install/relay.example.yaml).
mqtt:
  host: 127.0.0.1
  port: {port}
  client_id: clickatell-relay-demo
  topic_prefix: demo_relay
clickatell:
  api: rest
  api_key: {api_key}
  base_url: {base_url}
  max_batch_size: 200
queue:
  path: {queue}
  receive_linger: 0.2
limits:
  requests_per_second: 20
  messages_per_second: 500
status:
  discovery: false
  interval: 5
contacts:
  alice: "2799900001"
  bob: "2799900002"
  carol: "2799900003"
groups:
  oncall: [alice, bob, carol, "{opted_out}"]
  everyone: [{everyone}]
routes:
  - name: critical
    topic: alerts/critical/#
    recipients: [oncall]
    priority: critical
  - name: site
    topic: alerts/site/#
    recipients: [everyone]
    payload: json
    template: "{{severity}}: {{text}} ({{building}})"
  - name: disk
    topic: alerts/disk/#
    recipients: [alice]
    digest: {{wait: 1s, interval: 10s}}
  - name: info
    topic: alerts/info/#
    recipients: [bob]
    priority: low
"""

ALERTS: Final[list[tuple[str, bytes]]] = [
    ("alerts/critical/db", b"Database db1 is down"),
    (
        "alerts/site/fire",
        json.dumps(
            {"text": "Fire alarm, leave the building", "severity": "EVACUATE", "building": "B"}
        ).encode(),
    ),
    (
        "alerts/info/backup",
        json.dumps({"text": "Nightly backup done", "recipients": ["carol"]}).encode(),
    ),
    ("alerts/disk/web1", b"web1: disk 91% full"),
    ("alerts/disk/web2", b"web2: disk 93% full"),
    ("alerts/disk/web3", b"web3: disk 97% full"),
    ("alerts/critical/bad", b"\xff\xfe not UTF-8"),
    ("alerts/site/broken", b"{not json"),
    ("alerts/info/stranger", json.dumps({"text": "hi", "recipients": ["+15555550123"]}).encode()),
]
EXPECTED_DEAD_LETTERS: Final = 4  # not UTF-8, not JSON, unknown recipient, opted out


def demo_config(port: int, base_url: str, queue: Path) -> RelayConfig:
    """The embedded configuration, for a broker port, a simulator and a queue file."""
    text = DEMO_CONFIG.format(
        port=port,
        api_key=DEMO_API_KEY,
        base_url=base_url,
        queue=queue,
        opted_out=OPTED_OUT,
        everyone=", ".join(f'"{number}"' for number in EVERYONE),
    )
    return parse_config(text, "<demo>", environ={})


async def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()


def _recipients(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:3])
    return shown if len(numbers) <= 3 else f"{shown} and {len(numbers) - 3} more"  # noqa: PLR2004


def _report(
    simulator: Simulator, dead_letters: list[dict[str, Any]], status: dict[str, Any]
) -> list[str]:
    by_request: dict[str, list[Any]] = defaultdict(list)
    for message in simulator.messages:
        by_request[message.client_message_id or "-"].append(message)
    requests = [
        request
        for request in simulator.requests
        if request.path.endswith("/message") and request.method == "POST"
    ]
    total = sum(len(items) for items in by_request.values())
    lines = [f"The relay made {len(requests)} send request(s) for {total} SMS:"]
    for client_message_id, messages in by_request.items():
        numbers = [message.to for message in messages]
        body_counts = [request.body.count(f'"{client_message_id}"') for request in requests]
        batches = sum(1 for count in body_counts if count)
        lines.append(f"  {messages[0].text!r}")
        lines.append(
            f"      -> {len(numbers)} recipient(s) in {batches} request(s): {_recipients(numbers)}"
        )
        lines.append(
            f"      clientMessageId {client_message_id}, "
            f"first apiMessageId {messages[0].api_message_id}"
        )
    lines.append(f"Dead letters published on the dead-letter topic ({len(dead_letters)}):")
    lines.extend(
        f"  {letter['reason']}{' ' + letter['code'] if letter.get('code') else ''}: "
        f"{letter['detail']} (topic {letter['topic']}"
        + (f", recipient {letter['recipient']})" if letter.get("recipient") else ")")
        for letter in dead_letters
    )
    lines.append(
        "Relay status: "
        + ", ".join(
            f"{key} {status[key]}"
            for key in ("queue_depth", "received", "sent", "failed", "dead_lettered")
        )
    )
    # The relay reads the balance every `balance_check_interval`, not after each send.
    charged = sum(message.charge for message in simulator.messages)
    lines.append(
        f"Credits: {charged:.2f} charged, {simulator.account.balance:.2f} left "
        f"(the relay last read {status['balance']})"
    )
    return lines


async def run_demo(deadline: float = 25.0) -> int:
    """Run the demo; 0 when every alert ended where it should."""
    from .simulator import Account, Simulator  # noqa: PLC0415 - the simulator is for demos and tests

    with tempfile.TemporaryDirectory(prefix="clickatell-relay-demo-") as directory:
        broker = LocalBroker(Path(directory) / "broker")
        broker.start()
        simulator = Simulator(Account(api_key=DEMO_API_KEY, balance=Decimal(1000)))
        await simulator.start()
        try:
            return await _run(broker, simulator, Path(directory), deadline)
        finally:
            await simulator.stop()
            broker.cleanup()


async def _run(broker: LocalBroker, simulator: Simulator, directory: Path, deadline: float) -> int:
    config = demo_config(broker.port, simulator.base_url("rest"), directory / "queue.db")
    print(  # noqa: T201
        f"mosquitto on 127.0.0.1:{broker.port}, simulator at {simulator.base_url('rest')}, "
        f"queue {directory / 'queue.db'}"
    )
    relay = Relay(config)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop), name="relay")
    dead_letters: list[dict[str, Any]] = []
    status: dict[str, Any] = {}
    observer = MqttConnection(config.mqtt, client_id="clickatell-relay-demo-observer")
    try:
        await observer.connect()
        await observer.subscribe([config.mqtt.dead_letter_topic], qos=1)
        collector = asyncio.create_task(_collect(observer, dead_letters))
        if not await _until(relay.connected.is_set, 10):
            print("The relay did not connect to the broker")  # noqa: T201
            return 1
        for topic, payload in ALERTS:
            await observer.publish(topic, payload, qos=1, timeout=10)
        print(f"Published {len(ALERTS)} alerts; waiting for the SMS...")  # noqa: T201
        expected_sms = 3 + len(EVERYONE) + 1 + 1  # oncall (less opted out), everyone, carol, digest
        done = await _until(
            lambda: (
                len(simulator.messages) >= expected_sms
                and len(dead_letters) >= EXPECTED_DEAD_LETTERS
            ),
            deadline,
        )
        status = await relay.status()
        collector.cancel()
    except MqttError as error:
        print(f"MQTT error: {error}")  # noqa: T201
        return 1
    finally:
        await observer.disconnect()
        stop.set()
        await relay_task
    print("\n".join(_report(simulator, dead_letters, status)))  # noqa: T201
    if not done:
        print("Not everything arrived in time")  # noqa: T201
        return 1
    return 0


async def _collect(connection: MqttConnection, into: list[dict[str, Any]]) -> None:
    while True:
        burst: list[IncomingMessage] = await connection.next_burst(0.0, 100)
        for message in burst:
            into.append(json.loads(message.payload))
            connection.ack(message)

"""Delivery: latency from publish to API accept, p50/p99, at 1, 10 and 100 alerts/s.

Every alert goes to a group of 5 recipients. "Batching off" sets
`clickatell.max_batch_size: 1`, so each SMS is a request of its own (5 per
alert); "batching on" is the shipped default (up to 200 recipients per
request: one request per alert). No digest window in either: a digest
holds alerts back on purpose (its `wait`), which would be the latency.

The rate limits are raised (1000 requests/s, 10000 messages/s) so that the
latency is the relay's, not the limiter's: at the shipped 10 requests/s and
100 messages/s, 100 alerts/s to 5 people cannot be sent as fast as they come,
whatever the relay does. The bench publishes on a fixed schedule (QoS 1,
each publish timestamped just before it is sent); the simulator timestamps
each message it accepts (`received_at`); an alert's latency is the time
until the last of its 5 SMS is accepted.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    Report,
    accepted_count,
    broker,
    fmt_seconds,
    mqtt_client,
    number,
    percentile,
    relay_config,
    relay_process,
    send_requests,
    simulator,
    wait_until,
)

if TYPE_CHECKING:
    from bench.common import Mqtt, Pinning, RelayProcess
    from clickatell_relay.simulator import Simulator

RECIPIENTS = 5
MODES = {"off": {"max_batch_size": 1}, "on": {}}


async def _phase(
    sim: Simulator, client: Mqtt, relay: RelayProcess, *, mode: str, rate: int, seconds: float
) -> dict[str, Any]:
    """Publish at `rate` for `seconds`; latencies once everything is accepted."""
    count = max(1, round(rate * seconds))
    sim.reset()
    published: dict[str, float] = {}
    before = relay.probe()
    start = time.monotonic()
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        text = f"latency {mode} {rate}/s #{index}"
        published[text] = time.time()
        await client.publish(f"alerts/{mode}", text)
    expected = count * RECIPIENTS
    complete = await wait_until(lambda: accepted_count(sim) >= expected, 120)
    after = relay.probe()
    done: dict[str, float] = {}
    for message in sim.messages:
        accepted = message.received_at.timestamp()
        done[message.text] = max(done.get(message.text, 0.0), accepted)
    latencies = [done[text] - sent for text, sent in published.items() if text in done]
    requests = send_requests(sim)
    return {
        "alerts": count,
        "sms_expected": expected,
        "sms_accepted": len(sim.messages),
        "complete": complete,
        "requests": len(requests),
        "refused_requests": sum(1 for request in requests if request.status >= 300),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "relay_cpu_utilisation": (after.cpu - before.cpu) / (after.at - before.at),
    }


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Both modes at the three rates."""
    durations = {1: 5.0, 10: 3.0, 100: 3.0} if quick else {1: 20.0, 10: 15.0, 100: 15.0}
    report = Report("Delivery")
    contacts = {f"person{i}": number(100 + i) for i in range(RECIPIENTS)}
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        async with simulator() as sim:
            for mode, clickatell in MODES.items():
                directory = Path(tmp) / mode
                directory.mkdir()
                with broker(directory / "broker") as local:
                    config = relay_config(
                        directory,
                        local.port,
                        base_url=sim.base_url("platform"),
                        contacts=contacts,
                        groups={"team": list(contacts)},
                        routes=[{"name": "alerts", "topic": "alerts/#", "recipients": ["team"]}],
                        clickatell=clickatell,
                        limits={"requests_per_second": 1000, "messages_per_second": 10000},
                    )
                    async with mqtt_client(local.port) as client:
                        with relay_process(config, pinning) as relay:
                            await asyncio.wait_for(client.online.wait(), 30)
                            await asyncio.sleep(1.0)  # let start-up work (balance check) pass
                            results[mode] = {}
                            for rate, seconds in durations.items():
                                results[mode][rate] = await _phase(
                                    sim, client, relay, mode=mode, rate=rate, seconds=seconds
                                )
    report.data = {"recipients_per_alert": RECIPIENTS, "durations": durations, "modes": results}
    for rate in durations:
        for mode in MODES:
            result = results[mode][rate]
            label = "off (1 SMS/request)" if mode == "off" else "on (5 SMS/request)"
            incomplete = (
                ""
                if result["complete"]
                else f", INCOMPLETE {result['sms_accepted']}/{result['sms_expected']}"
            )
            report.row(
                f"{rate} alert/s to 5, batching {label}",
                f"p50 {fmt_seconds(result['p50'])}, p99 {fmt_seconds(result['p99'])}"
                f" ({result['alerts']} alerts, {result['requests']} requests,"
                f" relay core {result['relay_cpu_utilisation'] * 100:.0f} % busy{incomplete})",
            )
    return report

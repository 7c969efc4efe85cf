"""Delivery: latency from publish to API accept, p50/p99, at 1, 10 and 100 alerts/s.

Every alert goes to a group of 5 recipients. The relay three times:
"batching off" sets `clickatell.max_batch_size: 1`, so each SMS is a request
of its own (5 per alert); "batching on" is the shipped default (up to 200
recipients per request: one request per alert); and batching on with
`queue.receive_linger: 50ms`, the opt-in for SD cards (fewer fsyncs, each
alert waits up to the window). For the relay, fsyncs per alert are its
durable commits (one fsync of the WAL each, from its status) per alert. No
digest window in any: a digest holds alerts back on purpose (its `wait`),
which would be the latency. mqttwarn: one job per alert on its one worker thread, which
Apprise's Clickatell plugin sends as one GET per recipient, in turn.

The rate limits are raised (1000 requests/s, 10000 messages/s) so that the
latency is the relay's, not the limiter's (mqttwarn has none): at the shipped 10 requests/s and
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
    collector_paused,
    fmt_seconds,
    mqtt_client,
    number,
    percentile,
    send_requests,
    simulator,
    wait_until,
)
from bench.contenders import Mqttwarn, Relay, Routing, started

if TYPE_CHECKING:
    from bench.common import Daemon, Mqtt, Pinning
    from bench.contenders import Contender
    from clickatell_relay.simulator import Simulator

RECIPIENTS = 5
RAISED = {"requests_per_second": 1000, "messages_per_second": 10000}


def contenders() -> list[Contender]:
    """The relay with batching off and on; mqttwarn (one request per SMS), if installed."""
    found: list[Contender] = [
        Relay(
            key="relay_off",
            label="relay, batching off (1 SMS/request)",
            sections={"clickatell": {"max_batch_size": 1}, "limits": RAISED},
        ),
        Relay(
            key="relay_on",
            label="relay, batching on (5 SMS/request)",
            sections={"limits": RAISED},
        ),
        Relay(
            key="relay_linger",
            label="relay, batching on, receive_linger 50ms (the SD-card option)",
            sections={"limits": RAISED, "queue": {"receive_linger": 0.05}},
        ),
    ]
    if Mqttwarn.installed():
        found.append(Mqttwarn(label="mqttwarn (Apprise: 1 SMS/request)"))
    return found


async def _durable_commits(client: Mqtt, received: int) -> int:
    """The relay's durable commits (one fsync each) once its status counts `received` alerts."""
    status = await client.until_status(lambda status: status.get("received", 0) >= received, 10)
    return int(status["durable_commits"])


async def _phase(
    sim: Simulator,
    client: Mqtt,
    daemon: Daemon,
    *,
    key: str,
    rate: int,
    seconds: float,
    received: int | None,
) -> dict[str, Any]:
    """Publish at `rate` for `seconds`; latencies once everything is accepted.

    `received`: for the relay, the alerts it received before this phase (its
    durable commits are counted from its status); None for the others.
    """
    count = max(1, round(rate * seconds))
    commits_before = None if received is None else await _durable_commits(client, received)
    sim.reset()
    published: dict[str, float] = {}
    expected = count * RECIPIENTS
    with collector_paused():
        before = daemon.probe()
        start, published_from = time.monotonic(), time.time()
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            text = f"latency {key} {rate}/s #{index}"
            published[text] = time.time()
            await client.publish("alerts/latency", text)
        complete = await wait_until(lambda: accepted_count(sim) >= expected, 120)
    after = daemon.probe()
    done: dict[str, float] = {}
    for message in sim.messages:
        accepted = message.received_at.timestamp()
        done[message.text] = max(done.get(message.text, 0.0), accepted)
    latencies = [done[text] - sent for text, sent in published.items() if text in done]
    # The slowest alerts and when in the phase they were published: a stall that
    # recurs (a timer, a collection) shows as a period here.
    slowest = sorted(
        (
            (done[text] - sent, sent - published_from)
            for text, sent in published.items()
            if text in done
        ),
        reverse=True,
    )[:10]
    requests = send_requests(sim)
    commits = None
    if received is not None and commits_before is not None:
        commits = await _durable_commits(client, received + count) - commits_before
    return {
        "alerts": count,
        "durable_commits": commits,
        "alerts_with_an_accepted_sms": len(latencies),
        "sms_expected": expected,
        "sms_accepted": len(sim.messages),
        "complete": complete,
        "requests": len(requests),
        "refused_requests": sum(1 for request in requests if request.status >= 300),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "slowest": [{"latency": latency, "published_at": at} for latency, at in slowest],
        "cpu_utilisation": (after.cpu - before.cpu) / (after.at - before.at),
    }


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Every contender at the three rates."""
    durations = {1: 5.0, 10: 3.0, 100: 3.0} if quick else {1: 20.0, 10: 15.0, 100: 15.0}
    report = Report("Delivery")
    numbers = [number(100 + i) for i in range(RECIPIENTS)]
    results: dict[str, dict[int, dict[str, Any]]] = {}
    found = contenders()
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        async with simulator() as sim:
            for contender in found:
                directory = Path(tmp) / contender.key
                directory.mkdir()
                with broker(directory / "broker") as local:
                    routing = Routing(local.port, sim.root_url, {"alerts/#": numbers})
                    async with (
                        mqtt_client(local.port) as client,
                        started(contender, directory, routing, pinning, client) as daemon,
                    ):
                        await asyncio.sleep(1.0)  # let start-up work (balance check) pass
                        results[contender.key] = {}
                        received = 0 if isinstance(contender, Relay) else None
                        for rate, seconds in durations.items():
                            results[contender.key][rate] = result = await _phase(
                                sim,
                                client,
                                daemon,
                                key=contender.key,
                                rate=rate,
                                seconds=seconds,
                                received=received,
                            )
                            if received is not None:
                                received += result["alerts"]
    report.data = {
        "recipients_per_alert": RECIPIENTS,
        "durations": durations,
        "contenders": results,
    }
    if not Mqttwarn.installed():
        report.notes.append("mqttwarn is not installed: scripts/bench makes its virtualenv")
    for rate in durations:
        for contender in found:
            result = results[contender.key][rate]
            incomplete = (
                ""
                if result["complete"]
                else f", INCOMPLETE {result['sms_accepted']}/{result['sms_expected']}"
            )
            commits = result["durable_commits"]
            fsyncs = "" if commits is None else f", {commits / result['alerts']:.2f} fsyncs/alert"
            report.row(
                f"{rate} alert/s to 5: {contender.label}",
                f"p50 {fmt_seconds(result['p50'])}, p99 {fmt_seconds(result['p99'])}"
                f" ({result['alerts']} alerts, {result['requests']} requests,"
                f" core {result['cpu_utilisation'] * 100:.0f} % busy{fsyncs}{incomplete})",
            )
    return report

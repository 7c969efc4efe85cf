"""Backlog drain: 10,000 alerts queued during an outage, sent when the API comes back.

The simulator answers every send with 503 (`unavailable`) while the bench
publishes 10,000 alerts, each to one recipient (one of 5 people, one route
each, distinct texts: nothing to batch), which fills the shipped
`queue.max_messages` of 10,000 exactly. The relay retries with its backoff.
Then the API comes back with the simulator's own rate limit on
(`messages_per_second: 100`, 429 beyond it) and the relay configured to
match (`limits.messages_per_second: 100`, and `requests_per_second: 100`,
since each of these alerts is a request of its own; the shipped 10
requests/s would take 17 minutes).

Measured from the moment the API is back: time to the first accepted message
and to the last, send requests used, how many were refused with 429, and the
relay's CPU. `limits.backoff_max` is 2 s here so the relay notices the
recovery within 2 s; with the shipped 1 minute, after a long outage the
first retry can come up to a minute after the API is back (the backoff
has reached its cap), which this figure leaves out.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import (
    STATUS_PREFIX,
    Pinning,
    Report,
    accepted_count,
    broker,
    fmt_seconds,
    mqtt_client,
    number,
    relay_config,
    relay_process,
    send_requests,
    simulator,
    wait_until,
)

RATE = 100  # messages per second, the simulator's limit and the relay's
PEOPLE = 5


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Queue the backlog during the outage, then drain it."""
    alerts = 1000 if quick else 10000
    report = Report("Backlog drain")
    contacts = {f"person{i}": number(200 + i) for i in range(PEOPLE)}
    with (
        tempfile.TemporaryDirectory(prefix="bench-drain-") as tmp,
        broker(Path(tmp) / "broker") as local,
    ):
        async with simulator() as sim, mqtt_client(local.port) as client:
            sim.inject("unavailable")
            config = relay_config(
                Path(tmp),
                local.port,
                base_url=sim.base_url("platform"),
                contacts=contacts,
                routes=[
                    {"name": name, "topic": f"alerts/{name}", "recipients": [name]}
                    for name in contacts
                ],
                limits={
                    "requests_per_second": RATE,
                    "messages_per_second": RATE,
                    "backoff_max": 2,
                },
            )
            with relay_process(config, pinning) as relay:
                await client.until_online(STATUS_PREFIX)
                started = time.monotonic()
                await client.publish_many(
                    (f"alerts/person{i % PEOPLE}", f"Backlog alert {i}: pump {i % 7} stopped")
                    for i in range(alerts)
                )
                queued = await client.until_status(
                    lambda status: status.get("received", 0) >= alerts, 120
                )
                enqueue_seconds = time.monotonic() - started
                outage = send_requests(sim)
                outage_statuses = sorted({request.status for request in outage})

                sim.messages_per_second = RATE
                sim.reset()  # the API is back: no fault, a full bucket, no records
                back = time.time()
                before = relay.probe()
                complete = await wait_until(lambda: accepted_count(sim) >= alerts, alerts / 10 + 60)
                after = relay.probe()
                status = await client.until_status(lambda _status: True, 5)
    messages = sim.messages
    accepted = [message.received_at.timestamp() for message in messages]
    requests = send_requests(sim)
    first, last = min(accepted), max(accepted)
    too_many = sum(1 for request in requests if request.status == 429)
    report.data = {
        "alerts": alerts,
        "recipients_per_alert": 1,
        "rate_limit_messages_per_second": RATE,
        "queued_status": queued,
        "enqueue_seconds": enqueue_seconds,
        "outage_requests": len(outage),
        "outage_statuses": outage_statuses,
        "complete": complete,
        "accepted": len(messages),
        "first_accept_after_seconds": first - back,
        "drain_seconds": last - back,
        "sustained_messages_per_second": (len(accepted) - 1) / (last - first),
        "requests": len(requests),
        "status_429": too_many,
        "status_429_at_seconds": [
            request.time.timestamp() - back for request in requests if request.status == 429
        ],
        "other_refusals": sum(1 for r in requests if r.status >= 300 and r.status != 429),
        "relay_cpu_seconds": after.cpu - before.cpu,
        "relay_cpu_utilisation": (after.cpu - before.cpu) / (after.at - before.at),
        "final_status": status,
    }
    incomplete = "" if complete else f", INCOMPLETE {len(messages)}/{alerts}"
    report.row(
        f"{alerts:,} alerts (1 recipient each) after an outage, at {RATE} msg/s",
        f"drained in {fmt_seconds(last - back)} (first accepted after"
        f" {fmt_seconds(first - back)}; {report.data['sustained_messages_per_second']:.1f} msg/s"
        f" sustained){incomplete}",
    )
    report.row(
        "requests used while draining",
        f"{len(requests):,}, of which {too_many} refused with 429"
        f" (relay core {report.data['relay_cpu_utilisation'] * 100:.0f} % busy)",
    )
    report.row(
        "during the outage",
        f"{len(outage)} send attempts (503), {alerts:,} alerts queued in"
        f" {fmt_seconds(enqueue_seconds)}",
    )
    return report

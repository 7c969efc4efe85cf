"""Fan-out: one alert to 10, 200 and 600 recipients, against mqttwarn, Apprise and a naive loop.

Each contender is a process pinned to the relay's core, subscribed to
`fanout/<group>`; the bench publishes one alert (QoS 1) and waits until the
simulator has accepted all N messages. Wall time: publish to the last
message accepted. Requests: send requests the simulator answered.

* relay, shipped limits: the Platform API (200 recipients per request) at the
  default 10 requests/s and 100 messages/s, which pace 600 messages over
  about 5 s on purpose.
* relay, limits raised (1000 requests/s, 100000 messages/s): no pacing, to
  compare with the contenders that have none.
* mqttwarn 0.36 (bench/contenders.py): its `apprise_single` service, which
  sets Apprise's throttle to 0; Apprise's Clickatell plugin makes one GET
  per recipient, in turn.
* naive loop (bench/naive.py --mode post): one POST per recipient, in turn.
* Apprise's Clickatell plugin in the bench's own paho loop (bench/naive.py
  --mode apprise), throttle 0: one GET per recipient.
* The same as shipped: 5.5 s between requests. Measured for 10 recipients;
  for 200 and 600, extrapolated from that run (first-to-last request gap
  per request, plus the run's own overhead).

Each contender first sends one warm-up alert to one recipient (imports,
connections, Apprise's plugin loading), which is not counted; then each size
is measured 5 times (200 and 600: 3 times) and the median run is reported.

Ratios: the unpaced contenders against the relay with limits raised, Apprise
as shipped against the relay as shipped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    NAIVE_PYTHON,
    Report,
    accepted_count,
    broker,
    collector_paused,
    fmt_seconds,
    mqtt_client,
    number,
    send_requests,
    simulator,
    wait_until,
)
from bench.contenders import Mqttwarn, Naive, Relay, Routing, started

if TYPE_CHECKING:
    from bench.common import Mqtt, Pinning
    from bench.contenders import Contender
    from clickatell_relay.simulator import Simulator

SIZES = (10, 200, 600)
WARM_UP = 1  # one alert to one recipient first: imports, connections, caches
APPRISE_THROTTLE = 5.5  # NotifyBase.request_rate_per_sec in Apprise 2.2.0
REFILL = 1.2  # between the relay's alerts: its 1 s rate-limit buckets refill
RAISED = {"requests_per_second": 1000, "messages_per_second": 100000}
SHIPPED_RELAY, RAISED_RELAY, APPRISE_SHIPPED = "relay_shipped", "relay_raised", "apprise_shipped"


def contenders(*, quick: bool) -> list[Contender]:
    """The relay twice, then the alternatives that are installed."""
    found: list[Contender] = [
        Relay(
            key=SHIPPED_RELAY,
            label="relay, shipped limits (10 req/s, 100 msg/s)",
            route_options={"max_parts": 1},
        ),
        Relay(
            key=RAISED_RELAY,
            label="relay, limits raised",
            sections={"limits": RAISED},
            route_options={"max_parts": 1},
        ),
    ]
    if Mqttwarn.installed():
        found.append(Mqttwarn(label="mqttwarn, its Apprise service (throttle 0)"))
    found.append(Naive("naive_post", "naive loop, one POST per recipient", mode="post"))
    if NAIVE_PYTHON.exists() or importlib.util.find_spec("apprise") is not None:
        found.append(Naive("apprise_throttle_0", "Apprise, throttle set to 0", "apprise", 0))
        if not quick:  # 50 s for 10 recipients
            found.append(Naive(APPRISE_SHIPPED, "Apprise as shipped (5.5 s throttle)", "apprise"))
    return found


async def _one_alert(
    sim: Simulator, client: Mqtt, size: int, label: str, within: float
) -> dict[str, Any]:
    """Publish one alert to g<size>; requests and wall time until all are accepted."""
    sim.reset()
    text = f"Fan-out test to {size} ({label})"
    with collector_paused():
        started_at = time.time()
        await client.publish(f"fanout/g{size}", text)
        complete = await wait_until(lambda: accepted_count(sim) >= size, within, step=0.01)
    last = max((message.received_at.timestamp() for message in sim.messages), default=started_at)
    requests = send_requests(sim)
    times = [request.time.timestamp() for request in requests]
    return {
        "recipients": size,
        "accepted": accepted_count(sim),
        "complete": complete,
        "requests": len(requests),
        "wall_seconds": last - started_at,
        "request_span_seconds": (max(times) - min(times)) if times else 0.0,
    }


async def _measure(
    sim: Simulator,
    client: Mqtt,
    label: str,
    *,
    repeats: dict[int, int],
    within: float,
    pause: float = 0.2,
) -> dict[int, dict[str, Any]]:
    """One warm-up alert, then `repeats[size]` alerts per size; the median run of each."""
    await _one_alert(sim, client, WARM_UP, "warm-up", 30)
    results = {}
    for size, count in repeats.items():
        runs = []
        for _ in range(count):
            await asyncio.sleep(pause)
            runs.append(await _one_alert(sim, client, size, label, within))
        median = sorted(runs, key=lambda run: run["wall_seconds"])[len(runs) // 2]
        results[size] = {
            **median,
            "complete": all(run["complete"] for run in runs),
            "runs_wall_seconds": [run["wall_seconds"] for run in runs],
        }
    return results


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.1f}x" if reference > 0 else "n/a"


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Every contender, every size."""
    report = Report("Fan-out")
    repeats = dict.fromkeys(SIZES, 1) if quick else {10: 5, 200: 3, 600: 3}
    found = contenders(quick=quick)
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp,
        broker(Path(tmp) / "broker") as local,
    ):
        async with simulator() as sim, mqtt_client(local.port) as client:
            routes = {
                f"fanout/g{size}": [number(1000 + i) for i in range(size)]
                for size in (WARM_UP, *SIZES)
            }
            routing = Routing(local.port, sim.root_url, routes)
            for contender in found:
                directory = Path(tempfile.mkdtemp(prefix=f"{contender.key}-", dir=tmp))
                relay = isinstance(contender, Relay)
                async with started(contender, directory, routing, pinning, client):
                    if relay:
                        await asyncio.sleep(1.0)  # past start-up (the balance check)
                    results[contender.key] = await _measure(
                        sim,
                        client,
                        contender.key,
                        repeats={10: 1} if contender.key == APPRISE_SHIPPED else repeats,
                        within=60 if relay else 120,
                        pause=REFILL if relay else 0.2,
                    )
    _extrapolate_apprise(results)
    report.data = {
        "sizes": SIZES,
        "repeats": repeats,
        "contenders": {contender.key: contender.label for contender in found},
        "results": results,
    }
    _rows(report, found, results)
    if not Mqttwarn.installed():
        report.notes.append("mqttwarn is not installed: scripts/bench makes its virtualenv")
    if "apprise_throttle_0" not in results:
        report.notes.append("Apprise is not installed: scripts/bench installs apprise==2.2.0")
    return report


def _extrapolate_apprise(results: dict[str, dict[int, dict[str, Any]]]) -> None:
    """Apprise as shipped at 200 and 600 recipients, from its measured 10-recipient run."""
    measured = results.get(APPRISE_SHIPPED, {}).get(10)
    if measured is None or measured["requests"] < 2:
        return
    gap = measured["request_span_seconds"] / (measured["requests"] - 1)
    overhead = measured["wall_seconds"] - measured["request_span_seconds"]
    for size in SIZES:
        if size not in results[APPRISE_SHIPPED]:
            results[APPRISE_SHIPPED][size] = {
                "recipients": size,
                "requests": size,
                "wall_seconds": gap * (size - 1) + overhead,
                "extrapolated": True,
                "gap_seconds": gap,
            }


def _rows(
    report: Report, found: list[Contender], results: dict[str, dict[int, dict[str, Any]]]
) -> None:
    for size in SIZES:
        for contender in found:
            result = results[contender.key].get(size)
            if result is None:
                continue
            shipped = contender.key == APPRISE_SHIPPED
            reference = results[SHIPPED_RELAY if shipped else RAISED_RELAY][size]
            plural = "" if result["requests"] == 1 else "s"
            text = f"{result['requests']} request{plural}, {fmt_seconds(result['wall_seconds'])}"
            if not isinstance(contender, Relay):
                text += (
                    f" ({_ratio(result['requests'], reference['requests'])} the requests,"
                    f" {_ratio(result['wall_seconds'], reference['wall_seconds'])} the time"
                    f" of the {'shipped' if shipped else 'unpaced'} relay)"
                )
            if result.get("extrapolated"):
                text += ", EXTRAPOLATED"
            elif not result.get("complete", True):
                text += f", INCOMPLETE {result['accepted']}/{size}"
            report.row(f"{size} recipients: {contender.label}", text)

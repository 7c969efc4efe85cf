"""Loss: alerts that never reach the API when the contender is killed, or when the API is down.

The bench publishes a stream of alerts (QoS 1, distinct texts) to
`loss/<scenario>`; each contender, pinned to the relay's core, sends every
alert to a group of 5 numbers of its own, as in the delivery benchmark.
Two scenarios:

* kill: N alerts at 100 alerts/s (the delivery benchmark's top load);
  after 5, 10 and 15 s (quick mode: once, after 3 s) the contender is
  killed with SIGKILL (no clean-up of any kind, as a power cut or the OOM
  killer would) and started again 1 s later, as a service manager would;
  the stream goes on meanwhile. What a kill loses depends on the moment,
  hence several. Each contender alone on its core: at this load mqttwarn
  needs most of the core, and the relay beside it would slow it down.
* outage: alerts at 10/s, and in the middle the simulator answers every
  request with 503 (its `unavailable` fault) for 30 s (5 s in quick mode).
  The relay and mqttwarn side by side, subscribed to the same stream, so
  both meet the same alerts and the same outage (the load is light).

After the stream the bench waits until each contender has delivered every
alert, or until the simulator has accepted nothing for 5 s: mqttwarn does
not retry, and the relay's `limits.backoff_max` is 2 s here, so it tries
again within 2 s of the API coming back. Its rate limits are raised (1000
requests/s), as in the delivery benchmark: at the shipped 10 requests/s the
backlog would take longer to send, not be lost.

Lost: alerts of the stream that did not reach all of that contender's 5
numbers (and how many SMS are missing). Duplicated: SMS accepted beyond the
first for an alert and a number. Also counted: the alerts published while
the contender (or the API) was down, and how many alerts it had
acknowledged to the broker (the relay: committed to its queue; mqttwarn:
PUBACKs in the broker's debug log) without any SMS of theirs accepted yet
when each fault began, summed: what a kill can lose. The two counters are
read a moment apart, so that sum can be off by one or two per fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import Report, broker, mqtt_client, number, simulator
from bench.contenders import Mqttwarn, Relay, Routing, started

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bench.common import Daemon, Mqtt, Pinning
    from bench.contenders import Contender
    from clickatell_relay.simulator import Simulator

RESTART_AFTER = 1.0  # seconds between the kill and the restart
QUIET = 5.0  # nothing accepted for this long: whatever is missing is lost
RECIPIENTS = 5
SETTLE_AT_MOST = 120.0
LIMITS = {"requests_per_second": 1000, "messages_per_second": 10000, "backoff_max": 2}


@dataclass(frozen=True)
class Scenario:
    """A stream of alerts with a fault in the middle."""

    key: str
    alerts: int
    rate: float  # alerts per second
    faults_at: tuple[float, ...]  # seconds into the stream
    outage: float = 0.0  # seconds; 0: the fault is a kill
    together: bool = False  # every contender on the same stream at once

    def while_down(self) -> str:
        """When the fault lasted."""
        return "while the API was down" if self.outage else "while it was down"

    def when_it_began(self) -> str:
        """When the fault began."""
        return "when the API went down" if self.outage else "at the kills"

    def describe(self) -> str:
        """The table's words for it."""
        stream = f"{self.alerts:,} alerts at {self.rate:g}/s"
        if self.outage:
            return f"API down {self.outage:g} s (503) mid-stream ({stream})"
        after = ", ".join(f"{seconds:g}" for seconds in self.faults_at)
        return (
            f"SIGKILL mid-stream, after {after} s ({stream};"
            f" restarted {RESTART_AFTER:g} s after each kill)"
        )


def scenarios(*, quick: bool) -> list[Scenario]:
    """The kill and the outage; quick mode shortens both."""
    if quick:
        return [
            Scenario("kill", alerts=600, rate=100, faults_at=(3,)),
            Scenario("outage", alerts=110, rate=10, faults_at=(3,), outage=5, together=True),
        ]
    return [
        Scenario("kill", alerts=2000, rate=100, faults_at=(5, 10, 15)),
        Scenario("outage", alerts=500, rate=10, faults_at=(10,), outage=30, together=True),
    ]


@dataclass
class Entrant:
    """A contender in a scenario: its own numbers, its process, its ingest counter."""

    contender: Contender
    recipients: list[str]
    daemon: Daemon
    taken: Callable[[], int]

    def delivered(self, sim: Simulator) -> dict[str, dict[str, int]]:
        """SMS accepted for its numbers: per alert text, per number."""
        counts: dict[str, dict[str, int]] = {}
        for message in sim.messages:
            to = message.to.lstrip("+")
            if to in self.recipients:
                per_number = counts.setdefault(message.text, {})
                per_number[to] = per_number.get(to, 0) + 1
        return counts


async def _stream(client: Mqtt, scenario: Scenario) -> dict[str, float]:
    """Publish the scenario's alerts on schedule (QoS 1); when each was published."""
    published = {}
    start = time.monotonic()
    for index in range(scenario.alerts):
        await asyncio.sleep(max(0.0, start + index / scenario.rate - time.monotonic()))
        text = f"{scenario.key} alert #{index}"
        published[text] = time.monotonic()
        await client.publish(f"loss/{scenario.key}", text)
    return published


async def _kill(sim: Simulator, client: Mqtt, entrants: list[Entrant]) -> dict[str, Any]:
    """SIGKILL every contender, then start each again; once all are back online."""
    unsent = _unsent(sim, entrants)
    killed = time.monotonic()
    for entrant in entrants:
        entrant.daemon.kill()
    await asyncio.sleep(RESTART_AFTER)
    for entrant in entrants:
        entrant.daemon.start()
    restarted = time.monotonic()
    for entrant in entrants:
        await client.until_online(entrant.contender.name)
    back = time.monotonic()
    return {"taken_not_sent": unsent, "window": (killed, back), "restart_seconds": back - restarted}


async def _outage(sim: Simulator, seconds: float, entrants: list[Entrant]) -> dict[str, Any]:
    """Every API request answers 503 for `seconds`."""
    unsent = _unsent(sim, entrants)
    down = time.monotonic()
    sim.inject("unavailable")
    await asyncio.sleep(seconds)
    sim.clear_faults()
    return {"taken_not_sent": unsent, "window": (down, time.monotonic())}


def _unsent(sim: Simulator, entrants: list[Entrant]) -> dict[str, int]:
    """Per contender: alerts acknowledged to the broker of which no SMS was accepted yet."""
    return {
        entrant.contender.key: entrant.taken() - len(entrant.delivered(sim)) for entrant in entrants
    }


async def _settle(sim: Simulator, entrants: list[Entrant], texts: list[str]) -> float:
    """Wait until every contender delivered every alert, or nothing came for QUIET s."""
    started_at = last_change = time.monotonic()
    seen = sim.message_count
    while time.monotonic() - started_at < SETTLE_AT_MOST:
        if sim.message_count >= len(texts) * RECIPIENTS * len(entrants) and all(
            _count(entrant.delivered(sim), texts)["lost"] == 0 for entrant in entrants
        ):
            break
        if sim.message_count != seen:
            seen, last_change = sim.message_count, time.monotonic()
        elif time.monotonic() - last_change >= QUIET:
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - started_at


async def _scenario(
    scenario: Scenario, contenders: list[Contender], directory: Path, pinning: Pinning
) -> dict[str, Any]:
    """One broker, one simulator, these contenders; the stream with its fault; the count."""
    options = sorted({option for contender in contenders for option in contender.broker_options})
    with broker(directory / "broker", options) as local:
        async with (
            simulator() as sim,
            mqtt_client(local.port) as client,
            contextlib.AsyncExitStack() as stack,
        ):
            entrants = []
            for index, contender in enumerate(contenders):
                numbers = [number(300 + 10 * index + i) for i in range(RECIPIENTS)]
                routing = Routing(local.port, sim.root_url, {f"loss/{scenario.key}": numbers})
                home = directory / contender.key
                home.mkdir()
                daemon = await stack.enter_async_context(
                    started(contender, home, routing, pinning, client)
                )
                entrants.append(Entrant(contender, numbers, daemon, contender.taken(home, local)))
            await asyncio.sleep(1.0)  # past start-up (the relay's balance check)
            sim.reset()

            fault: Callable[[], Awaitable[dict[str, Any]]]
            if scenario.outage:
                fault = functools.partial(_outage, sim, scenario.outage, entrants)
            else:
                fault = functools.partial(_kill, sim, client, entrants)
            published, faults = await asyncio.gather(
                _stream(client, scenario), _faults(scenario.faults_at, fault)
            )
            texts = list(published)
            settle_seconds = await _settle(sim, entrants, texts)
            results = {
                entrant.contender.key: _count(entrant.delivered(sim), texts) for entrant in entrants
            }
    windows = [fault["window"] for fault in faults]
    return {
        "faults": faults,
        "taken_not_sent": {
            entrant.contender.key: sum(f["taken_not_sent"][entrant.contender.key] for f in faults)
            for entrant in entrants
        },
        "published_during_faults": sum(
            1 for at in published.values() if any(begin <= at < end for begin, end in windows)
        ),
        "settle_seconds": settle_seconds,
        "contenders": results,
    }


async def _faults(
    at: tuple[float, ...], fault: Callable[[], Awaitable[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The fault at each of these times into the stream (it starts now)."""
    start = time.monotonic()
    outcomes = []
    for seconds in at:
        await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))
        outcomes.append(await fault())
    return outcomes


def _count(delivered: dict[str, dict[str, int]], texts: list[str]) -> dict[str, Any]:
    """Lost and duplicated, from the SMS accepted per alert and number."""
    missing = {text: RECIPIENTS - len(delivered.get(text, {})) for text in texts}
    lost = [text for text, count in missing.items() if count]
    return {
        "alerts": len(texts),
        "lost": len(lost),
        "sms_lost": sum(missing.values()),
        "lost_alerts": lost[:50],
        "duplicated": sum(
            count - 1 for text in texts for count in delivered.get(text, {}).values()
        ),
        "unexpected": sum(
            sum(per_number.values())
            for text, per_number in delivered.items()
            if text not in missing
        ),
    }


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Both scenarios; the contenders side by side in the table."""
    report = Report("Loss")
    contenders: list[Contender] = [Relay(sections={"limits": LIMITS})]
    if Mqttwarn.installed():
        contenders.append(Mqttwarn())
    else:
        report.notes.append("mqttwarn is not installed: scripts/bench makes its virtualenv")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-loss-") as tmp:
        for scenario in scenarios(quick=quick):
            groups = [contenders] if scenario.together else [[one] for one in contenders]
            results[scenario.key] = {}
            for group in groups:
                directory = Path(tempfile.mkdtemp(prefix=f"{scenario.key}-", dir=tmp))
                outcome = await _scenario(scenario, group, directory, pinning)
                for contender in group:
                    results[scenario.key][contender.key] = {
                        **outcome["contenders"][contender.key],
                        "taken_not_sent": outcome["taken_not_sent"][contender.key],
                        "published_during_faults": outcome["published_during_faults"],
                        "settle_seconds": outcome["settle_seconds"],
                        "faults": outcome["faults"],
                    }
            for contender in contenders:
                counted = results[scenario.key][contender.key]
                report.row(
                    f"{scenario.describe()}: {contender.label}",
                    f"{counted['lost']} of {counted['alerts']:,} alerts lost"
                    f" ({counted['sms_lost']} SMS), {counted['duplicated']} SMS duplicated;"
                    f" {counted['published_during_faults']} published {scenario.while_down()},"
                    f" {counted['taken_not_sent']} acknowledged but unsent"
                    f" {scenario.when_it_began()}",
                )
    report.data = {
        "recipients_per_alert": RECIPIENTS,
        "scenarios": {scenario.key: scenario.__dict__ for scenario in scenarios(quick=quick)},
        "results": results,
    }
    return report

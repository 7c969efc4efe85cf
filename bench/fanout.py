"""Fan-out: one alert to 10, 200 and 600 recipients, against Apprise and a naive loop.

Each contender is a process pinned to the relay's core, subscribed to
`fanout/<group>`; the bench publishes one alert (QoS 1) and waits until the
simulator has accepted all N messages. Wall time: publish to the last
message accepted. Requests: send requests the simulator answered.

* relay, shipped limits: the Platform API (200 recipients per request) at the
  default 10 requests/s and 100 messages/s, which pace 600 messages over
  about 5 s on purpose.
* relay, limits raised (1000 requests/s, 100000 messages/s): no pacing, to
  compare with the contenders that have none.
* naive loop (bench/naive.py --mode post): one POST per recipient, in turn.
* Apprise 2.2.0's Clickatell plugin, throttle 0: one GET per recipient.
* Apprise as shipped: the same, 5.5 s between requests. Measured for 10
  recipients; for 200 and 600, extrapolated from that run (first-to-last
  request gap per request, plus the run's own overhead).

Each contender first sends one warm-up alert to one recipient (imports,
connections, Apprise's plugin loading), which is not counted; then each size
is measured 5 times (200 and 600: 3 times) and the median run is reported.

Ratios: the unpaced contenders against the relay with limits raised, Apprise
as shipped against the relay as shipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    API_KEY,
    REPO,
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

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bench.common import Mqtt, Pinning
    from clickatell_relay.simulator import Simulator

SIZES = (10, 200, 600)
WARM_UP = 1  # one alert to one recipient first: imports, connections, caches
APPRISE_THROTTLE = 5.5  # NotifyBase.request_rate_per_sec in Apprise 2.2.0
REFILL = 1.2  # between the relay's alerts: its 1 s rate-limit buckets refill
RAISED = {"requests_per_second": 1000, "messages_per_second": 100000}


def _groups(sizes: tuple[int, ...]) -> dict[str, list[str]]:
    return {f"g{size}": [number(1000 + i) for i in range(size)] for size in sizes}


async def _one_alert(
    sim: Simulator, client: Mqtt, size: int, label: str, within: float
) -> dict[str, Any]:
    """Publish one alert to g<size>; requests and wall time until all are accepted."""
    sim.reset()
    text = f"Fan-out test to {size} ({label})"
    started = time.time()
    await client.publish(f"fanout/g{size}", text)
    complete = await wait_until(lambda: accepted_count(sim) >= size, within, step=0.01)
    last = max((message.received_at.timestamp() for message in sim.messages), default=started)
    requests = send_requests(sim)
    times = [request.time.timestamp() for request in requests]
    return {
        "recipients": size,
        "accepted": accepted_count(sim),
        "complete": complete,
        "requests": len(requests),
        "wall_seconds": last - started,
        "request_span_seconds": (max(times) - min(times)) if times else 0.0,
    }


@contextlib.contextmanager
def _naive(
    directory: Path, pinning: Pinning, config: dict[str, Any], *arguments: str
) -> Iterator[subprocess.Popen[str]]:
    """bench/naive.py, pinned like the relay, once it is subscribed."""
    path = directory / "naive.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    script = REPO / "bench" / "naive.py"
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our script
        [*pinning.prefix(), sys.executable, str(script), "--config", str(path), *arguments],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        if process.stdout is None or process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"naive.py {' '.join(arguments)} did not start")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def _relay_runs(
    directory: Path,
    pinning: Pinning,
    sim: Simulator,
    client: Mqtt,
    *,
    port: int,
    limits: str,
    repeats: dict[int, int],
) -> dict[int, dict[str, Any]]:
    """The relay with these limits: a warm-up, then every size."""
    groups = _groups((WARM_UP, *SIZES))
    config = relay_config(
        directory,
        port,
        base_url=sim.base_url("platform"),
        contacts={},
        groups={name: [f"+{n}" for n in numbers] for name, numbers in groups.items()},
        routes=[
            {"name": name, "topic": f"fanout/{name}", "recipients": [name], "max_parts": 1}
            for name in groups
        ],
        limits=RAISED if limits == "raised" else {},
    )
    with relay_process(config, pinning):
        await asyncio.wait_for(client.online.wait(), 30)
        client.online.clear()
        await asyncio.sleep(1.0)  # past start-up (the balance check)
        return await _measure(
            sim, client, f"relay {limits}", repeats=repeats, within=60, pause=REFILL
        )


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
    have_apprise = importlib.util.find_spec("apprise") is not None
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp,
        broker(Path(tmp) / "broker") as local,
    ):
        async with simulator() as sim, mqtt_client(local.port) as client:
            for limits in ("shipped", "raised"):
                directory = Path(tempfile.mkdtemp(prefix=f"relay-{limits}-", dir=tmp))
                results[f"relay_{limits}"] = await _relay_runs(
                    directory, pinning, sim, client, port=local.port, limits=limits, repeats=repeats
                )
            naive_config = {
                "base_url": sim.root_url,
                "api_key": API_KEY,
                "broker_port": local.port,
                "groups": _groups((WARM_UP, *SIZES)),
            }
            contenders = [("naive_post", ["--mode", "post"], repeats)]
            if have_apprise:
                throttle_0 = ["--mode", "apprise", "--throttle", "0"]
                contenders.append(("apprise_throttle_0", throttle_0, repeats))
                if not quick:  # 50 s for 10 recipients
                    contenders.append(("apprise_shipped", ["--mode", "apprise"], {10: 1}))
            for name, arguments, sizes in contenders:
                with _naive(Path(tmp), pinning, naive_config, *arguments):
                    results[name] = await _measure(sim, client, name, repeats=sizes, within=120)
    _extrapolate_apprise(results)
    report.data = {
        "sizes": SIZES,
        "repeats": repeats,
        "apprise_installed": have_apprise,
        "results": results,
    }
    _rows(report, results)
    if not have_apprise:
        report.notes.append("Apprise is not installed: scripts/bench installs apprise==2.2.0")
    return report


def _extrapolate_apprise(results: dict[str, dict[int, dict[str, Any]]]) -> None:
    """Apprise as shipped at 200 and 600 recipients, from its measured 10-recipient run."""
    measured = results.get("apprise_shipped", {}).get(10)
    if measured is None or measured["requests"] < 2:
        return
    gap = measured["request_span_seconds"] / (measured["requests"] - 1)
    overhead = measured["wall_seconds"] - measured["request_span_seconds"]
    for size in SIZES:
        if size not in results["apprise_shipped"]:
            results["apprise_shipped"][size] = {
                "recipients": size,
                "requests": size,
                "wall_seconds": gap * (size - 1) + overhead,
                "extrapolated": True,
                "gap_seconds": gap,
            }


def _rows(report: Report, results: dict[str, dict[int, dict[str, Any]]]) -> None:
    labels = {
        "relay_shipped": "relay, shipped limits (10 req/s, 100 msg/s)",
        "relay_raised": "relay, limits raised",
        "naive_post": "naive loop, one POST per recipient",
        "apprise_throttle_0": "Apprise, throttle set to 0",
        "apprise_shipped": "Apprise as shipped (5.5 s throttle)",
    }
    for size in SIZES:
        for name, label in labels.items():
            result = results.get(name, {}).get(size)
            if result is None:
                continue
            reference = results["relay_shipped" if name == "apprise_shipped" else "relay_raised"][
                size
            ]
            plural = "" if result["requests"] == 1 else "s"
            text = f"{result['requests']} request{plural}, {fmt_seconds(result['wall_seconds'])}"
            if not name.startswith("relay"):
                text += (
                    f" ({_ratio(result['requests'], reference['requests'])} the requests,"
                    f" {_ratio(result['wall_seconds'], reference['wall_seconds'])} the time"
                    f" of the {'shipped' if name == 'apprise_shipped' else 'unpaced'} relay)"
                )
            if result.get("extrapolated"):
                text += ", EXTRAPOLATED"
            elif not result.get("complete", True):
                text += f", INCOMPLETE {result['accepted']}/{size}"
            report.row(f"{size} recipients: {label}", text)

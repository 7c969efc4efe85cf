"""Ingest: alerts taken per second, CPU per alert, peak RSS, fsyncs and bytes written per alert.

Only receiving is measured: the API is unreachable (a refused loopback port).
Each contender subscribes once and stops (its memory then, online and idle,
is the idle RSS); the bench then publishes N QoS 1
alerts, which the broker holds in the contender's persistent session; the
contender starts again, pinned, and the broker hands them over as fast as
it acknowledges them. Every 0.2 s the bench reads how many it has taken,
together with its /proc counters; the steady-state figures are taken
between 10 % and 90 % of N, so start-up and the tail are left out.

"Taken" is what each contender's PUBACK means:
* the relay: the queue's `received` counter, read from the SQLite file and
  committed in the same transaction as the alerts (it acknowledges after
  the commit). Its dispatcher backs off and sends nothing.
* mqttwarn: its PUBACKs, counted in the broker's debug log; paho sends
  each right after mqttwarn's callback has put the alert on its in-memory
  job queue. Its worker meanwhile tries each job, which fails (connection
  refused) and is dropped: that is mqttwarn's work while the API is down.

A second run under `strace -f -c -e trace=fsync,fdatasync` counts fsyncs;
its throughput is not reported (strace slows the process down).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    UNREACHABLE_API,
    Pinning,
    ProcSample,
    Report,
    broker,
    fmt_bytes,
    mqtt_client,
    number,
    running,
)
from bench.contenders import Mqttwarn, Relay, Routing, started

if TYPE_CHECKING:
    from bench.contenders import Contender

SAMPLE_EVERY = 0.2
IDLE_SETTLE = 1.0  # seconds online before the idle memory is read
WINDOW = (0.10, 0.90)
TAKEN = {
    "relay": "durable alerts/s (acknowledged after the commit)",
    "mqttwarn": "alerts/s taken (acknowledged on receipt, kept in memory only)",
}


async def _run_once(
    contender: Contender, directory: Path, pinning: Pinning, alerts: int, *, strace: bool
) -> dict[str, Any]:
    """Preload the broker with `alerts` alerts, start the contender, measure it taking them."""
    with broker(directory / "broker", contender.broker_options) as local:
        routing = Routing(local.port, UNREACHABLE_API, {"alerts/#": [number(1)]})
        async with mqtt_client(local.port) as client:
            # First run: create the persistent session and its subscription, then stop;
            # online with nothing to do, its memory is the idle figure.
            async with started(contender, directory, routing, pinning, client) as first:
                await asyncio.sleep(IDLE_SETTLE)
                idle = first.probe()
            payloads = (
                (f"alerts/host{i % 50}", f"disk {i % 100}% full, alert {i}") for i in range(alerts)
            )
            started_at = time.monotonic()
            await client.publish_many(payloads)
            publish_seconds = time.monotonic() - started_at

            taken = contender.taken(directory, local)
            strace_output = directory / "strace.txt" if strace else None
            samples: list[tuple[ProcSample, int]] = []
            daemon = contender.daemon(directory, routing, pinning, strace_output=strace_output)
            with running(daemon):
                await asyncio.sleep(0.3)  # the process is up (its /proc files exist)
                deadline = time.monotonic() + max(120.0, alerts / 100)
                while time.monotonic() < deadline:
                    samples.append((daemon.probe(), taken()))
                    if samples[-1][1] >= alerts:
                        break
                    await asyncio.sleep(SAMPLE_EVERY)
                status = {}
                if isinstance(contender, Relay):
                    status = await client.until_status(lambda s: s.get("received", 0) >= alerts, 10)
                else:
                    # Its SIGTERM handler first works through the jobs in memory, each
                    # failing: nothing to measure there.
                    daemon.kill()
            fsyncs = daemon.fsyncs()
    return {
        "alerts": alerts,
        "idle": idle,
        "publish_seconds": publish_seconds,
        "samples": samples,
        "status": status,
        "fsyncs": fsyncs,
    }


def _steady(samples: list[tuple[ProcSample, int]], alerts: int) -> dict[str, float]:
    """Figures between 10 % and 90 % of the alerts taken."""
    low = next(s for s in samples if s[1] >= WINDOW[0] * alerts)
    high = next(s for s in samples if s[1] >= WINDOW[1] * alerts)
    (first, first_count), (last, last_count) = low, high
    count = last_count - first_count
    seconds = last.at - first.at
    return {
        "alerts_in_window": count,
        "window_seconds": seconds,
        "alerts_per_second": count / seconds,
        "cpu_us_per_alert": (last.cpu - first.cpu) / count * 1e6,
        "cpu_utilisation": (last.cpu - first.cpu) / seconds,
        "write_bytes_per_alert": (last.write_bytes - first.write_bytes) / count,
        "wchar_per_alert": (last.wchar - first.wchar) / count,
    }


async def _measure(
    contender: Contender, directory: Path, pinning: Pinning, alerts: int
) -> dict[str, Any]:
    """Both runs of one contender; its figures."""
    plain_dir = Path(tempfile.mkdtemp(prefix=f"{contender.key}-plain-", dir=directory))
    traced_dir = Path(tempfile.mkdtemp(prefix=f"{contender.key}-strace-", dir=directory))
    plain = await _run_once(contender, plain_dir, pinning, alerts, strace=False)
    traced = await _run_once(contender, traced_dir, pinning, alerts, strace=True)
    taken = plain["samples"][-1][1]
    if taken < alerts:
        raise RuntimeError(f"{contender.label} took {taken} of {alerts} alerts")
    commits = plain["status"].get("durable_commits")
    fsync_calls = sum(traced["fsyncs"].values())
    return {
        "publish_seconds": plain["publish_seconds"],
        **_steady(plain["samples"], alerts),
        "idle_rss_bytes": plain["idle"].rss,
        "peak_rss_bytes": plain["samples"][-1][0].rss_peak,
        "fsyncs": traced["fsyncs"],
        "fsync_calls": fsync_calls,
        "fsyncs_per_alert": fsync_calls / alerts,
        "durable_commits": commits,
        "alerts_per_durable_commit": alerts / commits if commits else None,
        "status": plain["status"],
    }


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Both runs of each contender; the report, contender by contender for each figure."""
    alerts = 5000 if quick else 20000
    report = Report("Ingest")
    contenders: list[Contender] = [Relay(sections={"queue": {"max_messages": 10 * alerts}})]
    if Mqttwarn.installed():
        contenders.append(Mqttwarn())
    else:
        report.notes.append("mqttwarn is not installed: scripts/bench makes its virtualenv")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for contender in contenders:
            results[contender.key] = await _measure(contender, Path(tmp), pinning, alerts)
    report.data = {"alerts": alerts, "contenders": results}
    _rows(report, contenders, results, alerts)
    return report


def _rows(
    report: Report, contenders: list[Contender], results: dict[str, dict[str, Any]], alerts: int
) -> None:
    """Each figure, contender by contender."""
    figures = [
        _figures(results[contender.key], TAKEN[contender.key], alerts) for contender in contenders
    ]
    for cases in zip(*figures, strict=True):
        for contender, (case, text) in zip(contenders, cases, strict=True):
            report.row(f"{contender.label}: {case}", text)


def _figures(result: dict[str, Any], taken: str, alerts: int) -> list[tuple[str, str]]:
    calls, commits = result["fsync_calls"], result["durable_commits"]
    per_commit = (
        f"; {commits} durable commits, {alerts / commits:.0f} alerts each" if commits else ""
    )
    return [
        (
            f"{taken}, steady state ({alerts:,} queued at the broker, QoS 1)",
            (
                f"{result['alerts_per_second']:,.0f}/s"
                f" (core {result['cpu_utilisation'] * 100:.0f} % busy)"
            ),
        ),
        ("CPU per alert", f"{result['cpu_us_per_alert']:.0f} µs"),
        ("RSS idle (VmRSS, online, nothing to do)", fmt_bytes(result["idle_rss_bytes"])),
        ("peak RSS (VmHWM)", fmt_bytes(result["peak_rss_bytes"])),
        (
            "fsyncs per alert (strace, whole run)",
            f"{calls / alerts:.4f} ({calls} for {alerts:,}{per_commit})",
        ),
        (
            "bytes written per alert",
            (
                f"{fmt_bytes(result['write_bytes_per_alert'])} to storage"
                f" (write() total incl. sockets {fmt_bytes(result['wchar_per_alert'])})"
            ),
        ),
    ]

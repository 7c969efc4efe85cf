"""Ingest: durable alerts per second, CPU per alert, peak RSS, fsyncs and bytes written per alert.

Only receiving is measured: the API is unreachable (a refused loopback port),
so the dispatcher backs off and sends nothing. The relay subscribes once and
stops; the bench then publishes N QoS 1 alerts, which the broker holds in
the relay's persistent session; the relay starts again, pinned, and the
broker hands them over as fast as the relay acknowledges them (after each
burst's commit). The queue's `received` counter (committed in the same
transaction as the alerts) is read from the SQLite file every 0.2 s
together with the relay's /proc counters; the steady-state figures are taken
between 10 % and 90 % of N, so start-up and the tail are left out.

A second run under `strace -f -c -e trace=fsync,fdatasync` counts fsyncs;
its throughput is not reported (strace slows the process down).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    UNREACHABLE_API,
    Pinning,
    ProcSample,
    Report,
    broker,
    fmt_bytes,
    mqtt_client,
    number,
    relay_config,
    relay_process,
)

SAMPLE_EVERY = 0.2
WINDOW = (0.10, 0.90)


def _received(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM counters WHERE name = 'received'").fetchone()
    return 0 if row is None else int(row[0])


async def _run_once(
    directory: Path, pinning: Pinning, alerts: int, *, strace: bool
) -> dict[str, Any]:
    """Preload the broker with `alerts` alerts, start the relay, measure it taking them."""
    with broker(directory / "broker") as local:
        config = relay_config(
            directory,
            local.port,
            base_url=UNREACHABLE_API,
            contacts={"oncall": number(1)},
            routes=[{"name": "alerts", "topic": "alerts/#", "recipients": ["oncall"]}],
            queue={"max_messages": 10 * alerts},
        )
        async with mqtt_client(local.port) as client:
            # First run: create the persistent session and its subscription, then stop.
            with relay_process(config, pinning) as relay:
                client.relay = relay
                await asyncio.wait_for(client.online.wait(), 30)
            client.relay = None
            payloads = (
                (f"alerts/host{i % 50}", f"disk {i % 100}% full, alert {i}") for i in range(alerts)
            )
            started = time.monotonic()
            await client.publish_many(payloads)
            publish_seconds = time.monotonic() - started

            strace_output = directory / "strace.txt" if strace else None
            samples: list[tuple[ProcSample, int]] = []
            with relay_process(config, pinning, strace_output=strace_output) as relay:
                await asyncio.sleep(0.3)  # the queue file exists: the relay opened it before
                db = sqlite3.connect(f"file:{directory / 'queue.db'}?mode=ro", uri=True)
                try:
                    deadline = time.monotonic() + max(120.0, alerts / 100)
                    while time.monotonic() < deadline:
                        proc = relay.probe()
                        received = _received(db)
                        samples.append((proc, received))
                        if received >= alerts:
                            break
                        await asyncio.sleep(SAMPLE_EVERY)
                finally:
                    db.close()
                status = await client.until_status(lambda s: s.get("received", 0) >= alerts, 10)
            fsyncs = relay.fsyncs()
    return {
        "alerts": alerts,
        "publish_seconds": publish_seconds,
        "samples": samples,
        "status": status,
        "fsyncs": fsyncs,
    }


def _steady(samples: list[tuple[ProcSample, int]], alerts: int) -> dict[str, float]:
    """Figures between 10 % and 90 % of the alerts committed."""
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


async def run(pinning: Pinning, *, quick: bool) -> Report:
    """Both runs; the report."""
    alerts = 5000 if quick else 20000
    report = Report("Ingest")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        plain_dir = Path(tempfile.mkdtemp(prefix="plain-", dir=tmp))
        traced_dir = Path(tempfile.mkdtemp(prefix="strace-", dir=tmp))
        plain = await _run_once(plain_dir, pinning, alerts, strace=False)
        traced = await _run_once(traced_dir, pinning, alerts, strace=True)
    steady = _steady(plain["samples"], alerts)
    peak = plain["samples"][-1][0].rss_peak
    fsync_calls = sum(traced["fsyncs"].values())
    commits = plain["status"].get("durable_commits", 0)
    report.data = {
        "alerts": alerts,
        "publish_seconds": plain["publish_seconds"],
        **steady,
        "peak_rss_bytes": peak,
        "fsyncs": traced["fsyncs"],
        "fsyncs_per_alert": fsync_calls / alerts,
        "durable_commits": commits,
        "alerts_per_durable_commit": alerts / commits if commits else None,
        "status": plain["status"],
    }
    report.row(
        f"durable alerts/s, steady state ({alerts:,} queued at the broker, QoS 1)",
        f"{steady['alerts_per_second']:,.0f}/s"
        f" (relay core {steady['cpu_utilisation'] * 100:.0f} % busy)",
    )
    report.row("CPU per alert", f"{steady['cpu_us_per_alert']:.0f} µs")
    report.row("peak RSS (VmHWM)", fmt_bytes(peak))
    report.row(
        "fsyncs per alert (strace, whole run)",
        f"{fsync_calls / alerts:.4f} ({fsync_calls} for {alerts:,};"
        f" {commits} durable commits, {alerts / max(commits, 1):.0f} alerts each)",
    )
    report.row(
        "bytes written per alert",
        f"{fmt_bytes(steady['write_bytes_per_alert'])} to storage"
        f" (write() total incl. sockets {fmt_bytes(steady['wchar_per_alert'])})",
    )
    return report

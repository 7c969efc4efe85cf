"""Run the benchmarks, print one markdown table, write bench/results/latest.json.

    .venv/bin/python -m bench                      # everything (scripts/bench does this)
    .venv/bin/python -m bench --only ingest,fanout
    .venv/bin/python -m bench --quick              # small counts: a smoke check

Not a test suite: nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    INSTALLED_RELAY,
    MQTTWARN_PYTHON,
    NAIVE_PYTHON,
    REPO,
    Pinning,
    Report,
    pin,
    relay_python,
    versions,
)

BENCHMARKS = ("ingest", "delivery", "fanout", "loss", "drain", "integration")
DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.json"


def _machine(pinning: Pinning) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    try:
        banner = subprocess.run(  # noqa: S603 - the broker binary, asked its version
            [mosquitto, "-h"], capture_output=True, text=True, check=False, timeout=10
        ).stdout.splitlines()
    except OSError:
        banner = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "relay_python": os.path.relpath(relay_python(), REPO),
        "mosquitto": banner[0] if banner else None,
        "relay_virtualenv": versions(INSTALLED_RELAY, ("aiohttp", "paho-mqtt")),
        "mqttwarn_virtualenv": versions(MQTTWARN_PYTHON, ("mqttwarn", "apprise", "paho-mqtt")),
        "naive_virtualenv": versions(NAIVE_PYTHON, ("apprise", "requests", "paho-mqtt")),
        "pinning": pinning.note,
        "load_average_at_start": os.getloadavg(),
    }


async def _run(names: list[str], pinning: Pinning, *, quick: bool) -> list[Report]:
    reports = []
    for name in names:
        print(f"... {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        try:
            report: Report = await module.run(pinning, quick=quick)
        except Exception as error:  # noqa: BLE001 - one benchmark's failure must not lose the rest
            traceback.print_exc()
            report = Report(name.capitalize())
            report.row("FAILED", f"{type(error).__name__}: {error}")
            report.data = {"error": repr(error)}
        report.data["seconds"] = time.monotonic() - started
        print(f"    {name}: {report.data['seconds']:.0f} s", file=sys.stderr, flush=True)
        reports.append(report)
    return reports


def _table(reports: list[Report]) -> str:
    lines = ["| Benchmark | Case | Result |", "| --- | --- | --- |"]
    for report in reports:
        for index, (case, result) in enumerate(report.rows):
            name = report.name if index == 0 else ""
            lines.append(f"| {name} | {case} | {result} |")
    notes = [f"- {report.name}: {note}" for report in reports for note in report.notes]
    return "\n".join([*lines, *(["", *notes] if notes else [])])


def main() -> int:
    """Parse the options, run, print, write."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {','.join(BENCHMARKS)}", default=""
    )
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke check")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON file")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    if unknown := [name for name in names if name not in BENCHMARKS]:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    pinning = pin()
    machine = _machine(pinning)
    started = time.monotonic()
    reports = asyncio.run(_run(names, pinning, quick=args.quick))
    seconds = time.monotonic() - started
    machine["load_average_at_end"] = os.getloadavg()

    when = datetime.now(UTC).replace(microsecond=0).isoformat()
    mode = "quick" if args.quick else "full"
    print(f"\nBenchmarks ({mode}, {when}, {seconds / 60:.1f} min)")
    print(f"{machine['cpu']}, {machine['cores']} cores; {pinning.note}.")
    print(f"The relay runs as {machine['relay_python']} -m clickatell_relay run.")
    load_start, load_end = machine["load_average_at_start"][0], machine["load_average_at_end"][0]
    print(f"Load average (1 min) {load_start:.2f} at start, {load_end:.2f} at end.\n")
    print(_table(reports))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": when,
        "mode": mode,
        "seconds": seconds,
        "machine": machine,
        "benchmarks": {
            report.name: {"rows": report.rows, "notes": report.notes, "data": report.data}
            for report in reports
        },
    }
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nWritten: {os.path.relpath(args.output)}")
    return 1 if any("error" in report.data for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())

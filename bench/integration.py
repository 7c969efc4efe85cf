"""Integration: Home Assistant set-up time and API calls per day, default options, 5 recipients.

The measurement itself is bench/ha_bench.py, which needs Home Assistant and
so runs in scripts/ha-env's Python 3.14 environment (built on first use,
which can take minutes); this module runs it, pinned like the relay, and
reads what it wrote.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from bench.common import REPO, Report, fmt_seconds

if TYPE_CHECKING:
    from bench.common import Pinning

APIS = ("platform", "rest")
RESULTS = REPO / "bench" / "results"


async def run(pinning: Pinning, *, quick: bool) -> Report:  # noqa: ARG001 - always the same size
    """Run bench/ha_bench.py in the Home Assistant environment; the report."""
    report = Report("Integration")
    for api in APIS:
        (RESULTS / f"integration-{api}.json").unlink(missing_ok=True)
    command = [
        *pinning.prefix(),
        str(REPO / "scripts" / "ha-env"),
        "pytest",
        "bench/ha_bench.py",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    completed = subprocess.run(  # noqa: S603, ASYNC221 - nothing else runs meanwhile
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=1800
    )
    results: dict[str, dict[str, Any]] = {}
    for api in APIS:
        path = RESULTS / f"integration-{api}.json"
        if path.exists():
            results[api] = json.loads(path.read_text(encoding="utf-8"))
    report.data = {"results": results, "exit_status": completed.returncode}
    if completed.returncode != 0 or len(results) != len(APIS):
        report.data["error"] = "bench/ha_bench.py failed"
        report.data["output"] = (completed.stdout + completed.stderr)[-4000:]
        report.row("FAILED", "scripts/ha-env pytest bench/ha_bench.py: see the JSON's output")
        return report
    for api, result in results.items():
        name = {"platform": "Platform (the default API)", "rest": "REST"}[api]
        if api == APIS[0]:
            report.row(
                f"{name}: first set-up in a fresh Home Assistant (imports the integration)",
                f"{fmt_seconds(result['setup_cold_seconds'])},"
                f" {result['setup_requests']} API request(s)",
            )
        report.row(
            f"{name}: set-up (reload, median of {len(result['reload_seconds'])})",
            f"{fmt_seconds(result['reload_median_seconds'])},"
            f" {result['requests_per_reload']:g} API request(s)",
        )
        kinds = ", ".join(f"{count} {kind}" for kind, count in _grouped(result).items())
        report.row(
            f"{name}: API calls per day, default options, 5 recipients",
            f"{result['requests_per_day']} ({kinds})",
        )
        report.row(
            f"{name}: notify.clickatell to all 5",
            f"{result['notify_all_requests']} requests"
            f" ({', '.join(result['notify_request_kinds'])}),"
            f" {fmt_seconds(result['notify_all_seconds'])}",
        )
    return report


def _grouped(result: dict[str, Any]) -> dict[str, int]:
    """Requests of the day by kind: balance, coverage (one per recipient)."""
    grouped: dict[str, int] = {}
    for kind, count in result["day_request_kinds"].items():
        name = "coverage" if "coverage" in kind else "balance" if "balance" in kind else kind
        grouped[name] = grouped.get(name, 0) + count
    return grouped

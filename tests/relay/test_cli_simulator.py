"""`clickatell-relay simulator`: what it says when it starts, and what it never says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KEY_FROM_ENVIRONMENT = "real-looking-api-key-Hq7"


def start(*args: str, environ: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """The simulator on a free port; its output until it listens."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "clickatell_relay", "-v", "simulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **environ},
    )
    assert process.stdout is not None
    shown = ""
    deadline = time.monotonic() + 60  # generous: a loaded 2-core machine starts Python slowly
    while "listening" not in shown and time.monotonic() < deadline:
        shown += process.stdout.readline()
    return process, shown


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    return rest


@pytest.mark.parametrize(
    ("args", "environ", "said", "unsaid"),
    [
        ((), {"CLICKATELL_API_KEY": "", "CLICKATELL_PASSWORD": ""}, "API key: simulator-key", None),
        (
            (),
            {"CLICKATELL_API_KEY": KEY_FROM_ENVIRONMENT},
            "API key: the one in $CLICKATELL_API_KEY (not shown)",
            KEY_FROM_ENVIRONMENT,
        ),
        (("--api-key", "given-key"), {}, "API key: given-key", None),
    ],
)
def test_the_simulator_says_its_key_unless_it_came_from_the_environment(
    args: tuple[str, ...], environ: dict[str, str], said: str, unsaid: str | None
) -> None:
    process, shown = start(*args, environ=environ)
    shown += stop(process)
    assert said in shown
    assert "control http://127.0.0.1:" in shown
    if unsaid is not None:
        assert unsaid not in shown


def test_the_simulator_warns_off_loopback_and_logs_requests_at_debug(tmp_path: Path) -> None:
    process, shown = start("--host", "0.0.0.0", environ={"CLICKATELL_API_KEY": ""})  # noqa: S104
    port = shown.split("control http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-c",
            (
                "import urllib.request, sys\n"
                "try: urllib.request.urlopen(sys.argv[1])\n"
                "except Exception: pass\n"
            ),
            f"http://127.0.0.1:{port}/http/getbalance?user=u&password=pw-in-query-Zx1&api_id=1",
        ],
        check=True,
    )
    shown += stop(process)
    assert "WARNING" in shown
    assert "anyone who can reach this machine can read and change the simulator" in shown
    assert "GET /http/getbalance -> 200" in shown
    assert "pw-in-query-Zx1" not in shown

"""The API commands of `clickatell-relay`: send, balance, coverage, stop, per flavour.

Each runs as a real process against the simulator, as a user would run it:
the key comes from the environment and never shows in the output.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from typing import Protocol

import pytest

from clickatell_relay.cli import EXIT_STATUSES
from clickatell_relay.simulator import Simulator

from .conftest import API_KEY

PASSWORD = "cli-test-password-Qw3"
MESSAGE_ID = re.compile(r"message ID ([0-9a-f]{32})")


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


class Cli(Protocol):
    async def __call__(self, *args: str, api: str = "rest") -> Run: ...


@pytest.fixture
def cli(simulator: Simulator) -> Cli:
    simulator.account.password = PASSWORD

    async def run(*args: str, api: str = "rest") -> Run:
        environ = {
            **os.environ,
            "CLICKATELL_API_KEY": API_KEY,
            "CLICKATELL_PASSWORD": PASSWORD,
            "CLICKATELL_USERNAME": simulator.account.username,
            "CLICKATELL_API_ID": simulator.account.api_id,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "clickatell_relay",
            args[0],
            "--api",
            api,
            "--base-url",
            simulator.base_url(api),
            *args[1:],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environ,
        )
        out, err = await process.communicate()
        result = Run(process.returncode or 0, out.decode(), err.decode())
        for secret in (API_KEY, PASSWORD):
            assert secret not in result.out + result.err
        return result

    return run


@pytest.mark.parametrize("api", ["rest", "platform", "http"])
async def test_send_prints_a_message_id_per_recipient(
    api: str, cli: Cli, simulator: Simulator
) -> None:
    result = await cli("send", "--to", "2799900001,+27 83 123 4567", "--text", "Hi", api=api)
    assert result.status == 0, result.err
    ids = MESSAGE_ID.findall(result.out)
    assert len(ids) == 2
    assert sorted(ids) == sorted(message.api_message_id for message in simulator.messages)
    assert "2 accepted, 0 rejected" in result.out


async def test_a_rejected_recipient_is_shown_with_its_code(cli: Cli) -> None:
    result = await cli("send", "--to", "2799900001", "--to", "2799999121", "--text", "Hi")
    assert result.status == 7
    assert "2799999121: rejected, error 121" in result.out


async def test_balance_coverage_and_stop(cli: Cli, simulator: Simulator) -> None:
    balance = await cli("balance")
    assert balance.status == 0
    assert f"{float(simulator.account.balance):.2f} credits" in balance.out
    coverage = await cli("coverage", "2799999114")
    assert (coverage.status, coverage.out.strip()) == (7, "2799999114: not routable")
    sent = await cli(
        "send", "--to", "2799900001", "--text", "Later", "--schedule", "2099-01-01T00:00:00+00:00"
    )
    assert sent.status == 6  # more than 7 days ahead: refused before sending
    assert "at most 7 days ahead" in sent.err
    unsupported = await cli("stop", "abc123", api="platform")
    assert unsupported.status == 6
    assert "does not support stop" in unsupported.err


@pytest.mark.parametrize(
    ("setup", "status"),
    [("wrong-key", 3), ("no-credit", 4), ("outage", 8)],
)
async def test_each_error_class_has_its_exit_status(
    setup: str, status: int, cli: Cli, simulator: Simulator
) -> None:
    if setup == "no-credit":
        simulator.account.balance = simulator.account.balance * 0
    if setup == "outage":
        simulator.inject("unavailable")
    args = ["--api-key", "wrong-key"] if setup == "wrong-key" else []
    result = await cli("send", "--to", "27831234567", "--text", "Hi", *args)
    assert result.status == status
    assert result.err.startswith("error: ")
    assert status in dict(EXIT_STATUSES).values()

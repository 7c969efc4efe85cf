"""The API commands of `clickatell-relay`: send, balance, coverage, stop, per flavour.

Each runs as a real process against the simulator, as a user would run it:
the key comes from the environment and never shows in the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from clickatell_relay.cli import EXIT_STATUSES, Exit
from clickatell_relay.simulator import Simulator

from .conftest import API_KEY, REPO, send_requests, until

PASSWORD = "cli-test-password-Qw3"
MESSAGE_ID = re.compile(r"message ID ([0-9a-f]{32})")


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


class Cli(Protocol):
    async def __call__(
        self,
        *args: str,
        api: str = "rest",
        environ: dict[str, str] | None = None,
        stderr: int | None = None,
    ) -> Run: ...


@pytest.fixture
def cli(simulator: Simulator) -> Cli:
    simulator.account.password = PASSWORD

    async def run(
        *args: str,
        api: str = "rest",
        environ: dict[str, str] | None = None,
        stderr: int | None = None,
    ) -> Run:
        if environ is None:
            environ = {
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
            stderr=asyncio.subprocess.PIPE if stderr is None else stderr,
            env={**os.environ, **environ},
        )
        out, err = await process.communicate()
        result = Run(process.returncode or 0, out.decode(), (err or b"").decode())
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
    environ = {"CLICKATELL_API_KEY": "wrong-key" if setup == "wrong-key" else API_KEY}
    result = await cli("send", "--to", "27831234567", "--text", "Hi", environ=environ)
    assert result.status == status
    assert result.err.startswith("error: ")
    assert status in dict(EXIT_STATUSES).values()


NUMBERS = [f"27999{index:05d}" for index in range(450)]  # ordinary numbers to the simulator


async def test_a_partial_send_shows_what_was_accepted_and_has_its_own_status(
    cli: Cli, simulator: Simulator
) -> None:
    # 200 go out, the next request meets a 429 the client may not retry.
    simulator.messages_per_second = 200
    result = await cli("send", "--to", ",".join(NUMBERS), "--text", "Evacuate", "--retries", "0")
    assert result.status == Exit.PARTIAL_SEND
    ids = MESSAGE_ID.findall(result.out)
    assert sorted(ids) == sorted(message.api_message_id for message in simulator.messages)
    assert len(ids) == 200
    assert "200 of 450 recipient(s) accepted" in result.err
    assert "do not simply send again" in result.err


async def test_a_send_waits_out_a_short_retry_after(cli: Cli, simulator: Simulator) -> None:
    simulator.messages_per_second = 200
    result = await cli("send", "--to", ",".join(NUMBERS), "--text", "Evacuate")  # --retries 2
    assert result.status == 0, result.err
    assert len(MESSAGE_ID.findall(result.out)) == 450
    assert len(simulator.messages) == 450


@pytest.mark.parametrize(("retries", "status"), [("2", 0), ("0", Exit.UNAVAILABLE)])
async def test_a_503_is_retried_as_often_as_asked(
    retries: str, status: int, cli: Cli, simulator: Simulator
) -> None:
    simulator.inject("unavailable", count=1)
    result = await cli("send", "--to", "2799900001", "--text", "Hi", "--retries", retries)
    assert result.status == status
    assert len(simulator.messages) == (1 if status == 0 else 0)


async def test_a_send_that_may_have_been_accepted_is_never_retried(
    cli: Cli, simulator: Simulator
) -> None:
    simulator.inject("slow", count=1, delay=2.0)
    result = await cli("send", "--to", "2799900001", "--text", "Hi", "--timeout", "0.3")
    assert result.status == Exit.CONNECTION
    assert "may have been accepted" in result.err
    # The slow request is recorded when its answer is done; a retry, answered at
    # once, would have been recorded before the command ended.
    await until(lambda: len(send_requests(simulator)) >= 1)
    assert len(send_requests(simulator)) == 1


async def test_a_long_send_shows_progress_on_a_terminal(cli: Cli, simulator: Simulator) -> None:
    primary, secondary = pty.openpty()
    try:
        result = await cli("send", "--to", ",".join(NUMBERS), "--text", "Hi", stderr=secondary)
        os.close(secondary)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once everything is read
            while chunk := os.read(primary, 65536):
                shown += chunk
    finally:
        os.close(primary)
    assert result.status == 0
    assert "200/450 recipients" in shown.decode()
    piped = await cli("send", "--to", ",".join(NUMBERS[:250]), "--text", "Hi")
    assert "recipients" not in piped.err


async def test_a_secret_on_the_command_line_is_a_warning(
    cli: Cli, simulator: Simulator, tmp_path: Path
) -> None:
    given = await cli("balance", "--api-key", API_KEY, environ={"CLICKATELL_API_KEY": ""})
    assert given.status == 0
    assert "warning: --api-key on the command line can be seen by other users" in given.err
    key_file = tmp_path / "api-key"
    key_file.write_text(API_KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    from_file = await cli(
        "balance", "--api-key-file", str(key_file), environ={"CLICKATELL_API_KEY": ""}
    )
    assert (from_file.status, from_file.err) == (0, "")
    both = await cli("balance", "--api-key", "x", "--api-key-file", str(key_file))
    assert both.status == Exit.USAGE
    assert "not allowed with argument" in both.err


async def test_an_env_file_gives_the_api_commands_their_secrets(
    cli: Cli, simulator: Simulator, tmp_path: Path
) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"# the unit's\nCLICKATELL_API_KEY={API_KEY}\n", encoding="utf-8")
    env_file.chmod(0o600)
    result = await cli("balance", "--env-file", str(env_file), environ={"CLICKATELL_API_KEY": ""})
    assert (result.status, result.err) == (0, "")
    env_file.chmod(0o644)
    warned = await cli("balance", "--env-file", str(env_file), environ={"CLICKATELL_API_KEY": ""})
    assert warned.status == 0
    assert f"{env_file} can be read by others (mode 0644)" in warned.err


async def test_a_national_number_suggests_region(cli: Cli, simulator: Simulator) -> None:
    result = await cli("send", "--to", "0831234567", "--text", "Hi")
    assert result.status == Exit.RECIPIENT_REFUSED
    assert "'0831234567' is not a valid phone number" in result.err
    assert "--region" in result.err
    with_region = await cli("send", "--to", "0831234567", "--text", "Hi", "--region", "ZA")
    assert with_region.status == 0


async def test_coverage_on_the_platform_says_which_api_has_it(cli: Cli) -> None:
    result = await cli("coverage", "27831234567", api="platform")
    assert result.status == Exit.INVALID_REQUEST
    assert "--api rest or --api http" in result.err


def test_every_exit_status_is_documented() -> None:
    for guide in (REPO / "relay" / "README.md", REPO / "README.md"):
        text = guide.read_text(encoding="utf-8")
        documented = {int(code) for code in re.findall(r"^\| `?(\d+)`? \|", text, re.MULTILINE)}
        if guide.parent == REPO:  # the project README points to the relay's table
            assert "relay/README.md#exit-statuses" in text
            continue
        assert documented == {int(status) for status in Exit}

"""The relay's commands: check-config, queue (list, retry, purge-dead, send), run, demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from clickatell_relay.cli import EXIT_CONFIG, Exit, main
from clickatell_relay.config import load_config
from clickatell_relay.store import NewDeadLetter, NewSms, Store

from .conftest import ALICE, BOB, CAROL, ConfigFactory


def test_check_config_ok(make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_config.write()
    assert main(["check-config", "--config", str(path), "--show"]) == 0
    out = capsys.readouterr().out
    assert "OK: 1 route(s)" in out
    assert "relay-test-key" not in out
    assert '"api_key": "**REDACTED**"' in out


def test_check_config_errors_are_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("routes:\n  - topic: a/#/b\n    recipients: [x]\n", encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:2: routes.0.topic: '#' may only be the last level" in err


def test_run_refuses_a_bad_config_with_ex_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("mqtt: {port: nope}\n", encoding="utf-8")
    assert main(["run", "--config", str(path)]) == EXIT_CONFIG


def test_queue_send_enforces_the_allowlist(
    make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_config.write()
    Store(load_config(path, environ={}).queue.path).close()  # the relay has run once
    assert main(["queue", "send", "--config", str(path), "--to", "oncall", "--text", "hi"]) == 0
    assert "Queued 2 SMS" in capsys.readouterr().out
    refused = ["queue", "send", "--config", str(path), "--to", "2799912345", "--text", "x"]
    assert main(refused) == Exit.RECIPIENT_REFUSED
    assert "unknown_recipient" in capsys.readouterr().err
    too_long = ["queue", "send", "--config", str(path), "--to", "alice", "--text", "x" * 1000]
    assert main(too_long) == Exit.INVALID_REQUEST
    assert "too_long" in capsys.readouterr().err
    store = Store(load_config(path, environ={}).queue.path)
    rows = store.messages(state="queued")
    store.close()
    assert sorted(row["recipient"] for row in rows) == [ALICE, BOB]


def test_send_takes_no_queue_option(capsys: pytest.CaptureFixture[str]) -> None:
    # `send` is the API; the relay's queue is `queue send`, which takes no API options.
    assert main(["send", "--queue", "--to", "alice", "--text", "x"]) == Exit.USAGE
    assert "unrecognized arguments: --queue" in capsys.readouterr().err
    assert main(["queue", "send", "--api-key", "k", "--to", "alice", "--text", "x"]) == Exit.USAGE
    assert "unrecognized arguments: --api-key" in capsys.readouterr().err


@pytest.fixture
def dead(make_config: ConfigFactory) -> tuple[Path, int, list[int]]:
    """A queue with a refused payload and three dead SMS: (config, payload's ID, SMS IDs)."""
    path = make_config.write()
    store = Store(load_config(path, environ={}).queue.path)
    store.commit_burst(
        sms=[
            NewSms(
                client_message_id="c1",
                recipients=(ALICE, BOB, CAROL),
                text="queued text",
                route="alerts",
                topic="alerts/x",
                priority=5,
                options={},
                max_parts=3,
            )
        ],
        digest=[],
        dead=[NewDeadLetter(reason="not_utf8", detail="bad bytes", topic="alerts/y")],
        receipts=[],
        max_messages=100,
    )
    batch = store.claim(limit=10)
    assert batch is not None
    store.record_results(
        dead=[
            (sms_id, NewDeadLetter(reason="rejected", detail="opted out", code="122"))
            for sms_id in batch.ids
        ]
    )
    letters = store.dead_letters()
    store.close()
    refused = next(letter.id for letter in letters if letter.sms_id is None)
    return path, refused, sorted(letter.id for letter in letters if letter.sms_id is not None)


def listing(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["queue", "list", "--config", str(path), "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_queue_list_retry_and_purge(
    dead: tuple[Path, int, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, refused, letters = dead
    before = listing(path, capsys)
    assert before["queue_depth"] == 0
    assert {letter["reason"] for letter in before["dead_letters"]} == {"not_utf8", "rejected"}

    assert main(["queue", "retry", "--all", "--config", str(path)]) == 0
    assert "3 dead SMS queued again" in capsys.readouterr().out
    assert main(["queue", "purge-dead", "--all", "--config", str(path)]) == 0
    assert "1 dead letter(s) purged" in capsys.readouterr().out
    assert main(["queue", "list", "--config", str(path)]) == 0
    assert "3 SMS queued" in capsys.readouterr().out
    assert main(["queue", "retry", str(refused), str(letters[0]), "--config", str(path)]) == 1


def test_purge_dead_purges_only_what_is_named(
    dead: tuple[Path, int, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _refused, letters = dead
    assert main(["queue", "purge-dead", str(letters[0]), "--config", str(path)]) == 0
    assert "1 dead letter(s) purged" in capsys.readouterr().out
    assert len(listing(path, capsys)["dead_letters"]) == 3
    # Nothing named: refused, nothing purged.
    assert main(["queue", "purge-dead", "--config", str(path)]) == Exit.USAGE
    assert "--all" in capsys.readouterr().err
    assert len(listing(path, capsys)["dead_letters"]) == 3
    assert main(["queue", "purge-dead", "--all", str(letters[1]), "--config", str(path)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["queue", "purge-dead", "--all", "--config", str(path)]) == 0
    assert listing(path, capsys)["dead_letters"] == []


def test_queue_options_and_ids_go_in_any_order(
    dead: tuple[Path, int, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _refused, (first, second, third) = dead
    assert main(["queue", "retry", "--config", str(path), str(first)]) == 0
    assert main(["queue", "retry", str(second), "--config", str(path), str(third)]) == 0
    assert "2 dead SMS queued again" in capsys.readouterr().out
    assert listing(path, capsys)["queue_depth"] == 3


def test_a_retry_without_ids_is_refused_with_a_reason(
    dead: tuple[Path, int, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _refused, _letters = dead
    assert main(["queue", "retry", "--config", str(path)]) == Exit.USAGE
    err = capsys.readouterr().err
    assert "name the dead letters to retry" in err
    assert "--all" in err
    assert listing(path, capsys)["queue_depth"] == 0


def test_an_impossible_retry_says_why(
    dead: tuple[Path, int, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, refused, letters = dead
    named = [str(refused), "999", str(letters[0])]
    assert main(["queue", "retry", *named, "--config", str(path)]) == Exit.FAILED
    captured = capsys.readouterr()
    assert "1 dead SMS queued again" in captured.out
    assert f"#{refused} is a refused alert (not_utf8): it has no SMS to send again" in captured.err
    assert "#999: no such dead letter" in captured.err


@pytest.mark.parametrize(
    "argv",
    [["queue", "list", "5"], ["queue", "list", "--all"], ["queue"], ["queue", "retry", "x"]],
)
def test_queue_refuses_what_a_subcommand_does_not_take(
    argv: list[str], make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_config.write()
    Store(load_config(path, environ={}).queue.path).close()
    assert main([*argv, "--config", str(path)]) == Exit.USAGE
    err = capsys.readouterr().err
    assert "error:" in err
    assert "usage: clickatell-relay queue" in err


def test_queue_commands_need_no_api_secret_but_a_queue(
    make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # As the install guide leaves it: the key and the broker's password come from
    # secrets.env, which systemd reads; an admin command runs without them.
    path = make_config.write(
        clickatell={"api_key": "${CLICKATELL_API_KEY}"},
        mqtt={"username": "relay", "password": "${RELAY_MQTT_PASSWORD}"},
    )
    assert main(["queue", "list", "--config", str(path)]) == Exit.FAILED
    assert "no queue at" in capsys.readouterr().err  # and none was made
    assert not Path(path.parent / "queue.db").exists()
    Store(path.parent / "queue.db").close()
    assert main(["queue", "list", "--config", str(path)]) == 0
    assert "0 SMS queued" in capsys.readouterr().out
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    assert "CLICKATELL_API_KEY is not set" in capsys.readouterr().err


def test_run_loads_neither_the_simulator_nor_the_api_commands() -> None:
    # The relay's memory and start-up time on a Pi: `run` imports what it runs.
    script = (
        "import sys\n"
        "from clickatell_relay import cli\n"
        "cli.handler_of(cli.build_parser().parse_args(['run']))\n"
        "import clickatell_relay.relay\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "clickatell_relay.relay" in loaded
    for unwanted in (
        "clickatell_relay.simulator",
        "clickatell_relay.demo",
        "clickatell_relay.cli.api",
        "clickatell_relay.cli.sandbox",
    ):
        assert unwanted not in loaded


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    assert "250 recipient(s) in 2 request(s)" in captured.out
    assert "[3 alerts]" in captured.out
    assert "rejected 122" in captured.out
    assert "not_utf8" in captured.out
    assert "demo-api-key" not in captured.out + captured.err


def test_init_writes_the_guide_s_files_and_keeps_what_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    etc, units = tmp_path / "etc" / "clickatell-relay", tmp_path / "units"
    init = ["init", "--config-dir", str(etc), "--unit-dir", str(units)]
    assert main(init) == 0
    config, secrets, unit = (
        etc / "relay.yaml",
        etc / "secrets.env",
        units / "clickatell-relay.service",
    )
    modes = [stat.S_IMODE(path.stat().st_mode) for path in (config, secrets, unit)]
    assert modes == [0o644, 0o600, 0o644]
    example = files("clickatell_relay") / "install" / "relay.example.yaml"
    assert config.read_text(encoding="utf-8") == example.read_text(encoding="utf-8")
    command = Path(sys.executable).parent / "clickatell-relay"
    assert f"\nExecStart={command} run --config {config}\n" in unit.read_text(encoding="utf-8")
    assert f"\nEnvironmentFile=-{secrets}\n" in unit.read_text(encoding="utf-8")
    assert "/opt/" not in unit.read_text(encoding="utf-8")
    assert f"{command} check-config --config {config} --env-file {secrets}" in (
        capsys.readouterr().out
    )

    config.write_text("mine\n", encoding="utf-8")
    secrets.chmod(0o644)
    assert main(init) == 0
    assert f"kept {config} (it exists; --force overwrites it)" in capsys.readouterr().out
    assert config.read_text(encoding="utf-8") == "mine\n"
    assert main([*init, "--force"]) == 0
    assert config.read_text(encoding="utf-8") == example.read_text(encoding="utf-8")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


def test_an_env_file_is_read_as_systemd_reads_it(
    make_config: ConfigFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_config.write(
        clickatell={"api_key": "${CLICKATELL_API_KEY}"},
        contacts={"alice": "${ALICE}"},
        routes=[{"name": "a", "topic": "${ROUTE_TOPIC}", "recipients": ["alice"]}],
    )
    env_file = tmp_path / "secrets.env"
    env_file.write_text(
        "# the unit's\n; also a comment\n\nCLICKATELL_API_KEY=k\n"
        "ALICE='+27 99 900 001'\n"
        'ROUTE_TOPIC = "alerts/#"\n',
        encoding="utf-8",
    )
    env_file.chmod(0o600)
    check = ["check-config", "--config", str(path), "--env-file", str(env_file)]
    assert main([*check, "--show"]) == 0
    shown = json.loads(capsys.readouterr().out.split(f"\n{path}: OK")[0])
    assert shown["contacts"]["alice"] == ALICE
    assert shown["routes"][0]["topic"] == "alerts/#"
    assert "CLICKATELL_API_KEY" not in os.environ  # the command's, not the process's

    env_file.write_text("GOOD=1\nexport BAD=2\nNO_EQUALS\n'unclosed=x\n", encoding="utf-8")
    assert main(check) == EXIT_CONFIG
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "not NAME=value" in line] == [
        f"{env_file}:{line}: not NAME=value (a value may be quoted whole)" for line in (2, 3, 4)
    ]
    env_file.unlink()
    assert main(check) == EXIT_CONFIG
    assert "cannot read the environment file" in capsys.readouterr().err

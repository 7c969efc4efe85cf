"""The relay's commands: check-config, queue, send --queue, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clickatell_relay.cli import EXIT_CONFIG, main
from clickatell_relay.config import load_config
from clickatell_relay.store import NewDeadLetter, NewSms, Store

from .conftest import ALICE, BOB, ConfigFactory


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
    with pytest.raises(SystemExit) as caught:
        main(["run", "--config", str(path)])
    assert caught.value.code == EXIT_CONFIG


def test_send_to_queue_enforces_the_allowlist(
    make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_config.write()
    assert main(["send", "--queue", "--config", str(path), "--to", "oncall", "--text", "hi"]) == 0
    assert "Queued 2 SMS" in capsys.readouterr().out
    refused = ["send", "--queue", "--config", str(path), "--to", "2799912345", "--text", "x"]
    assert main(refused) == 2
    assert "unknown_recipient" in capsys.readouterr().err
    store = Store(load_config(path, environ={}).queue.path)
    rows = store.messages(state="queued")
    store.close()
    assert sorted(row["recipient"] for row in rows) == [ALICE, BOB]


def test_queue_list_retry_and_purge(
    make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_config.write()
    store = Store(load_config(path, environ={}).queue.path)
    store.commit_burst(
        sms=[
            NewSms(
                client_message_id="c1",
                recipients=(ALICE, BOB),
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
        dead=[(batch.ids[0], NewDeadLetter(reason="rejected", detail="opted out", code="122"))]
    )
    store.close()

    assert main(["queue", "list", "--config", str(path), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["queue_depth"] == 1
    assert {letter["reason"] for letter in listing["dead_letters"]} == {"not_utf8", "rejected"}

    assert main(["queue", "retry", "--all", "--config", str(path)]) == 0
    assert "1 dead SMS queued again" in capsys.readouterr().out
    assert main(["queue", "purge-dead", "--config", str(path)]) == 0
    assert "1 dead letter(s) purged" in capsys.readouterr().out
    assert main(["queue", "list", "--config", str(path)]) == 0
    assert "2 SMS queued" in capsys.readouterr().out


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    assert "250 recipient(s) in 2 request(s)" in captured.out
    assert "[3 alerts]" in captured.out
    assert "rejected 122" in captured.out
    assert "not_utf8" in captured.out
    assert "demo-api-key" not in captured.out + captured.err

"""Safe defaults, and the warnings check-config and `run` give about risky settings."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli import main
from clickatell_relay.config import REDACTED, load_config, parse_config
from clickatell_relay.simulator import Simulator

from .conftest import ConfigFactory, RelayProcess, mqtt_client, running, until

MINIMAL = """\
clickatell:
  api_key: ${KEY}
routes:
  - topic: alerts/#
    recipients: ["2799900001"]
"""
BUDGET = "limits:\n  daily_credit_budget: 500\n"
ENVIRON = {"KEY": "k"}


def warnings_of(text: str, **environ: str) -> list[str]:
    config = parse_config(text, "relay.yaml", environ={**ENVIRON, **environ})
    return [str(warning) for warning in config.warnings]


def test_each_recipient_is_capped_per_hour_by_default() -> None:
    assert parse_config(MINIMAL, environ=ENVIRON).limits.per_recipient_per_hour == 10
    uncapped = MINIMAL + "limits:\n  per_recipient_per_hour: null\n"
    assert parse_config(uncapped, environ=ENVIRON).limits.per_recipient_per_hour is None


async def test_the_shipped_cap_dead_letters_the_eleventh_sms_of_the_hour(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    data = make_config.data(routes=[{"name": "a", "topic": "alerts/#", "recipients": ["alice"]}])
    del data["limits"]["per_recipient_per_hour"]  # as shipped
    config = parse_config(yaml.safe_dump(data), "relay.yaml", environ={})
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        for index in range(12):
            await client.publish("alerts/x", f"flapping {index}")
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
        await until(lambda: len(simulator.messages) == 10)
    assert {letter["reason"] for letter in client.json("relay/dead_letter")} == {"recipient_cap"}


def test_no_daily_budget_is_a_warning() -> None:
    assert [warning for warning in warnings_of(MINIMAL) if "daily_credit_budget" in warning] == [
        (
            "relay.yaml:1: warning: limits.daily_credit_budget is not set: "
            "nothing caps what a day of alerts may cost"
        )
    ]
    assert warnings_of(MINIMAL + BUDGET) == []


def test_a_route_that_hears_the_relays_own_topics_is_a_warning() -> None:
    wide = MINIMAL.replace("alerts/#", "'#'") + BUDGET
    assert warnings_of(wide) == [
        (
            "relay.yaml:4: warning: route route1: # also matches the relay's own topics "
            "(clickatell_relay/#, homeassistant/#): the relay ignores those, never texts them"
        )
    ]
    under_prefix = MINIMAL.replace("alerts/#", "clickatell_relay/alerts") + BUDGET
    assert "clickatell_relay/#" in warnings_of(under_prefix)[0]
    notify = MINIMAL.replace("alerts/#", "clickatell_relay/notify/+") + BUDGET
    assert warnings_of(notify) == []


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_a_secret_file_others_may_read_is_a_warning(
    tmp_path: Path, mode: int, warned: bool
) -> None:
    secret = tmp_path / "api-key"
    secret.write_text("key-from-file\n", encoding="utf-8")
    secret.chmod(mode)
    path = tmp_path / "relay.yaml"
    path.write_text(
        MINIMAL.replace("api_key: ${KEY}", "api_key_file: api-key") + BUDGET, encoding="utf-8"
    )
    warnings = [str(warning) for warning in load_config(path, environ={}).warnings]
    expected = (
        f"{path}:2: warning: clickatell.api_key_file {secret} can be read by others "
        f"(mode {mode:04o}); like ssh's keys, keep it 0600: chmod 600 {secret}"
    )
    assert warnings == ([expected] if warned else [])


def test_a_secret_written_in_a_config_others_may_read_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(MINIMAL.replace("${KEY}", "written-here") + BUDGET, encoding="utf-8")
    path.chmod(0o644)
    assert [str(warning) for warning in load_config(path, environ={}).warnings] == [
        (
            f"{path}:2: warning: clickatell.api_key is written in {path}, which others can read "
            "(mode 0644): use ${CLICKATELL_API_KEY} set in secrets.env, or api_key_file, "
            f"or chmod 600 {path}"
        )
    ]
    path.chmod(0o600)
    assert load_config(path, environ={}).warnings == ()
    # From the environment, the file holds no secret: nothing to say.
    path.write_text(MINIMAL + BUDGET, encoding="utf-8")
    path.chmod(0o644)
    assert load_config(path, environ=ENVIRON).warnings == ()


@pytest.mark.parametrize(
    ("mqtt", "warning"),
    [
        (
            "  host: broker.example.net\n  username: relay\n  password: ${MQTT}\n",
            (
                "relay.yaml:11: warning: mqtt.password travels unencrypted to broker.example.net: "
                "enable mqtt.tls"
            ),
        ),
        ("  host: 127.0.0.1\n  username: relay\n  password: ${MQTT}\n", None),
        ("  host: localhost\n  username: relay\n  password: ${MQTT}\n", None),
        (
            "  host: broker.example.net\n  password: ${MQTT}\n  tls: {enabled: true}\n",
            None,
        ),
        (
            "  host: broker.example.net\n  tls: {enabled: true, insecure: true}\n",
            (
                "relay.yaml:10: warning: mqtt.tls.insecure: the broker's certificate is not "
                "checked, so anyone on the way can pose as the broker"
            ),
        ),
    ],
)
def test_broker_settings_that_expose_the_password_are_warnings(
    mqtt: str, warning: str | None
) -> None:
    text = MINIMAL + BUDGET + "mqtt:\n" + mqtt
    assert warnings_of(text, MQTT="mqtt-secret") == ([warning] if warning else [])


def test_plain_http_to_another_host_is_a_warning() -> None:
    text = MINIMAL + BUDGET + "clickatell:\n  api_key: k\n  base_url: http://proxy.example.net\n"
    text = text.replace("clickatell:\n  api_key: ${KEY}\n", "", 1)
    assert warnings_of(text) == [
        (
            "relay.yaml:8: warning: clickatell.base_url is plain http to proxy.example.net: "
            "the API key travels unencrypted"
        )
    ]


def test_credentials_in_a_url_are_redacted() -> None:
    text = (
        MINIMAL
        + BUDGET
        + (
            "clickatell:\n  api_key: k\n  base_url: https://proxy-user:proxy-pw@proxy.example.net/\n"
        )
    )
    text = text.replace("clickatell:\n  api_key: ${KEY}\n", "", 1)
    config = parse_config(text, "relay.yaml", environ={})
    shown = json.dumps(config.redacted())
    assert "proxy-pw" not in shown
    assert f"proxy-user:{REDACTED}@proxy.example.net" in config.redacted()["clickatell"]["base_url"]
    assert "proxy-pw" not in repr(config)


def test_check_config_prints_the_warnings_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(MINIMAL.replace("${KEY}", "k"), encoding="utf-8")
    path.chmod(0o600)
    assert main(["check-config", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert f"{path}:1: warning: limits.daily_credit_budget is not set" in captured.err
    assert "OK" in captured.out


def test_run_logs_the_warnings(
    make_config: ConfigFactory,
    broker: LocalBroker,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    relay = relay_process(make_config.write())
    deadline = time.monotonic() + 20
    while "connected" not in relay.output().lower() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert relay.stop() == 0
    assert "WARNING clickatell_relay" in relay.output()
    assert "warning: limits.daily_credit_budget is not set" in relay.output()

"""The configuration loader: typed results, line-precise errors, secrets, redaction."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickatell_relay.config import (
    REDACTED,
    ConfigError,
    load_config,
    parse_config,
)

from .conftest import REPO

EXAMPLE = REPO / "relay" / "clickatell_relay" / "install" / "relay.example.yaml"
MINIMAL = """\
clickatell:
  api_key: k
routes:
  - topic: alerts/#
    recipients: ["2799900001"]
"""


def test_the_example_config_is_valid_and_documents_every_key() -> None:
    environ = {"CLICKATELL_API_KEY": "key-from-env", "RELAY_MQTT_PASSWORD": "mqtt-secret"}
    config = load_config(
        REPO / "relay" / "clickatell_relay" / "install" / "relay.example.yaml", environ=environ
    )
    assert config.clickatell.api_key == "key-from-env"
    assert config.mqtt.password == "mqtt-secret"
    assert [route.name for route in config.routes] == ["critical", "building", "disks"]
    assert config.routes[2].digest is not None
    assert config.routes[2].digest.wait == 30
    assert config.routes[2].digest.interval == 600
    assert config.contacts["alice"] == "27830000001"
    assert config.groups["oncall"] == ("27830000001", "27830000002")
    assert "27830000010" in config.allowlist
    example = (REPO / "relay" / "clickatell_relay" / "install" / "relay.example.yaml").read_text(
        encoding="utf-8"
    )
    for section, values in config.redacted().items():
        if isinstance(values, dict) and section not in {"contacts", "groups"}:
            for key in values:
                assert f"{key}:" in example, f"{section}.{key} is not in the example"


def test_defaults_fill_what_is_left_out() -> None:
    config = parse_config(MINIMAL, "relay.yaml", environ={})
    assert config.mqtt.protocol == "5"
    assert config.mqtt.session_expiry == 7 * 86400
    assert config.queue.max_messages == 10000
    assert config.routes[0].name == "route1"
    assert config.routes[0].priority == 5
    assert config.routes[0].payload_options == frozenset()  # payloads set no send option
    assert config.allowlist == frozenset({"2799900001"})


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (MINIMAL + "mqtt:\n  port: 99999\n", 7, "mqtt.port"),
        (MINIMAL + "limits:\n  per_recipient_overflow: drop\n", 7, "per_recipient_overflow"),
        (MINIMAL + "bogus: 1\n", 6, "extra keys not allowed"),
        (MINIMAL.replace('["2799900001"]', '["nobody"]'), 5, "not a contact"),
        (MINIMAL + 'groups:\n  team: [alice, "2799900002"]\n', 7, "neither a contact"),
        (MINIMAL.replace("alerts/#", "alerts/#/x"), 4, "'#' may only be the last level"),
        (MINIMAL + "clickatell:\n  api: rest\n", 6, "duplicate key"),
        (MINIMAL + "mqtt: {port: [unclosed\n", 7, "invalid YAML"),
        (MINIMAL + "queue:\n  max_age: soon\n", 7, "duration"),
        (MINIMAL + "    payload_options: [sender]\n", 6, "expected one of scheduled_delivery"),
        (MINIMAL.replace("api_key: k", "api_key: ${NOT_SET_ANYWHERE}"), 2, "NOT_SET_ANYWHERE"),
    ],
)
def test_errors_name_the_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "relay.yaml", environ={})
    rendered = str(caught.value)
    assert f"relay.yaml:{line}: " in rendered
    assert fragment in rendered


@pytest.mark.parametrize(
    ("value", "advice"),
    [
        ("!secret clickatell_key", "write ${CLICKATELL_KEY} and set CLICKATELL_KEY"),
        ("!env_var CLICKATELL_API_KEY", "write ${CLICKATELL_API_KEY}"),
        ("!env_var CLICKATELL_API_KEY fallback", "write ${CLICKATELL_API_KEY} (no default"),
        ("!include clickatell.yaml", "keep the configuration in one file"),
    ],
)
def test_home_assistant_tags_say_what_to_write_instead(value: str, advice: str) -> None:
    # We keep ${VAR} (annotatedyaml, which reads these tags, needs Python 3.12+):
    # a Home Assistant user's habit gets a pointer, not "could not determine a constructor".
    text = MINIMAL.replace("api_key: k", f"api_key: {value}")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "relay.yaml", environ={})
    rendered = str(caught.value)
    assert rendered.startswith("relay.yaml:2: ")
    assert advice in rendered
    assert "constructor" not in rendered


def test_batch_size_above_the_flavour_ceiling_is_an_error_at_its_line() -> None:
    text = (
        "clickatell:\n  api_key: k\n  max_batch_size: 300\n"
        "routes:\n  - topic: a\n    recipients: ['2799900001']\n"
    )
    with pytest.raises(ConfigError, match=r"relay.yaml:3: .*at most 200 for the platform API"):
        parse_config(text, "relay.yaml", environ={})


def test_credentials_are_required_for_the_chosen_api() -> None:
    text = (
        "clickatell:\n  api: http\n  username: u\n"
        "routes:\n  - topic: a\n    recipients: ['2799900001']\n"
    )
    with pytest.raises(ConfigError, match=r"relay.yaml:2: .*needs password, api_id"):
        parse_config(text, "relay.yaml", environ={})
    no_key = MINIMAL.replace("  api_key: k\n", "  api: rest\n")
    with pytest.raises(ConfigError, match="needs api_key"):
        parse_config(no_key, "relay.yaml", environ={})
    config = parse_config(no_key, "relay.yaml", environ={"CLICKATELL_API_KEY": "k"})
    assert config.clickatell.api_key == "k"


def test_several_problems_are_all_reported() -> None:
    text = MINIMAL + "mqtt:\n  port: 0\n  keepalive: -1\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "relay.yaml", environ={})
    assert len(caught.value.problems) == 2


def test_secrets_from_files_and_environment_overrides(tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text("key-from-file\n", encoding="utf-8")
    (tmp_path / "mqtt-password").write_text("pw-from-file", encoding="utf-8")
    path = tmp_path / "relay.yaml"
    path.write_text(
        "clickatell:\n  api_key_file: api-key\n"
        "mqtt:\n  username: u\n  password_file: mqtt-password\n"
        "routes:\n  - topic: a\n    recipients: ['2799900001']\n",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert config.clickatell.api_key == "key-from-file"
    assert config.mqtt.password == "pw-from-file"
    overridden = load_config(path, environ={"CLICKATELL_API_KEY": "key-from-env"})
    assert overridden.clickatell.api_key == "key-from-env"


def test_a_missing_secret_file_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(
        "routes:\n  - topic: a\n    recipients: ['2799900001']\n"
        "clickatell:\n  api_key_file: nope\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"relay.yaml:5: cannot read api_key_file"):
        load_config(path, environ={})


def test_redacted_view_hides_every_secret() -> None:
    text = MINIMAL.replace("api_key: k", "api_key: sekrit-key") + (
        "mqtt:\n  username: me\n  password: sekrit-password\n"
    )
    config = parse_config(text, "relay.yaml", environ={})
    dumped = json.dumps(config.redacted(), default=str)
    assert "sekrit" not in dumped
    assert config.redacted()["clickatell"]["api_key"] == REDACTED
    assert config.redacted()["mqtt"]["username"] == "me"
    assert "sekrit" not in repr(config)


# Property tests: whatever the text, a config or a ConfigError with positions.

_KEYS = [
    "mqtt",
    "clickatell",
    "queue",
    "limits",
    "routes",
    "topic",
    "port",
    "recipients",
    "api_key",
    "groups",
    "contacts",
    "digest",
    "wait",
    "priority",
    "max_parts",
    "status",
    "notify_entities",
    "x",
]
_SCALARS = st.one_of(
    st.integers(-5, 70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(alphabet=string.printable, max_size=12),
    st.sampled_from(["alerts/#", "+/x", "#/bad", "2799900001", "30s", "high", "${UNSET}", "all"]),
)
_YAMLISH = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(_KEYS), children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.dictionaries(st.sampled_from(_KEYS), _YAMLISH, max_size=6))
def test_any_structure_gives_a_config_or_located_errors(document: dict[str, object]) -> None:
    import yaml  # noqa: PLC0415

    text = yaml.safe_dump(document)
    try:
        parse_config(text, "fuzz.yaml", environ={})
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert str(problem).startswith("fuzz.yaml")
            assert problem.message


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=string.printable + "äé€\t", max_size=200))
def test_any_text_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml", environ={})
    except ConfigError as error:
        assert all(str(problem).startswith("fuzz.yaml") for problem in error.problems)

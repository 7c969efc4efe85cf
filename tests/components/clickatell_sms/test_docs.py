"""Every example in docs/home-assistant.md and README.md runs, on the default API.

The action examples run as Home Assistant scripts against a Platform (One
API) account; the documented response is the response; the automation
examples and the blueprints are set up as automations and triggered.
"""

import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components import persistent_notification
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import Blueprint
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.script import Script
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.clickatell_sms as integration
from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import CONF_NUMBER, DOMAIN

from .conftest import ALICE, ALICE_SUBENTRY_ID, BOB

REPOSITORY = Path(integration.__file__).parents[2]
BLUEPRINTS = REPOSITORY / "blueprints" / "automation" / "clickatell_sms"


def _examples(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    # Sections whose examples need more than a send have tests of their own:
    # "Two-way SMS" needs callbacks (test_two_way_examples.py), "The outbox"
    # an outage and "Direct, through a relay, or both" the relay's entities
    # (test_outbox_examples.py).
    for title in ("Two-way SMS", "The outbox", "Direct, through a relay, or both"):
        text = re.sub(rf"\n## {re.escape(title)}\n.*?(?=\n## )", "", text, flags=re.DOTALL)
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


EXAMPLES = _examples(REPOSITORY / "docs" / "home-assistant.md") + _examples(
    REPOSITORY / "README.md"
)
ACTIONS = [example for example in EXAMPLES if "action" in example]
AUTOMATIONS = [example for example in EXAMPLES if "triggers" in example]
(RESPONSE,) = [example for example in EXAMPLES if "messages" in example]
(SEND_MESSAGE,) = [example for example in ACTIONS if example["action"] == f"{DOMAIN}.send_message"]
(STOP_MESSAGE,) = [example for example in ACTIONS if example["action"] == f"{DOMAIN}.stop_message"]


@pytest.fixture
def api() -> ApiFlavour:
    """The default API, which the examples are for."""
    return ApiFlavour.PLATFORM


def test_every_example_is_one_of_these() -> None:
    """A new kind of example would go untested: this says so."""
    assert len(EXAMPLES) == len(ACTIONS) + len(AUTOMATIONS) + 1
    assert len(AUTOMATIONS) == 3


async def _run(hass: HomeAssistant, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Run steps as a script does; its variables after."""
    script = Script(hass, cv.SCRIPT_SCHEMA(steps), "documented example", DOMAIN)
    result = await script.async_run(context=Context())
    assert result is not None
    return dict(result.variables)


@pytest.mark.parametrize(
    "example",
    [example for example in ACTIONS if example is not STOP_MESSAGE],
    ids=lambda example: example["action"],
)
@pytest.mark.usefixtures("init_integration")
async def test_action_examples_run_on_the_default_api(
    hass: HomeAssistant, simulator: Simulator, example: dict[str, Any]
) -> None:
    simulator.reset()

    await _run(hass, [example])

    assert simulator.messages


@pytest.mark.usefixtures("init_integration")
async def test_the_documented_response_is_the_response(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    variables = await _run(hass, [SEND_MESSAGE])

    response = variables[SEND_MESSAGE["response_variable"]]
    documented = {**RESPONSE, "messages": [dict(item) for item in RESPONSE["messages"]]}
    for item, actual in zip(documented["messages"], response["messages"], strict=True):
        if item["message_id"] is not None:
            item["message_id"] = actual["message_id"]
    # Made for each SMS: the documented one has its form.
    assert re.fullmatch(r"[0-9a-f]{32}", documented["client_message_id"])
    documented["client_message_id"] = response["client_message_id"]
    assert response == documented


@pytest.mark.parametrize("api", [ApiFlavour.REST])
@pytest.mark.usefixtures("init_integration")
async def test_the_stop_example_and_the_legacy_codes(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """stop_message is for REST and HTTP; their code for the opted-out number is 122."""
    variables = await _run(hass, [SEND_MESSAGE, STOP_MESSAGE])

    refused = variables["sms"]["messages"][2]
    assert (refused["error_code"], refused["error_description"]) == (
        "122",
        "Destination mobile opted out",
    )
    assert (
        variables[STOP_MESSAGE["response_variable"]]["message_id"]
        == (variables["sms"]["messages"][0]["message_id"])
    )


async def _automations(hass: HomeAssistant, configs: list[dict[str, Any]]) -> None:
    assert await async_setup_component(hass, "automation", {"automation": configs})
    await hass.async_block_till_done()


def _texts(simulator: Simulator) -> list[tuple[str, str]]:
    return [(message.to, message.text) for message in simulator.messages]


async def test_the_automation_examples(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("alarm_control_panel.home", "armed_away")
    hass.states.async_set("binary_sensor.basement_leak", "off")
    await _automations(hass, AUTOMATIONS)
    simulator.reset()

    # The alarm: Alice and Bob, titled.
    hass.states.async_set("alarm_control_panel.home", "triggered")
    await hass.async_block_till_done()
    assert [to for to, _text in _texts(simulator)] == [ALICE, BOB]
    assert _texts(simulator)[0][1].startswith("Alarm\nThe alarm at home went off at ")

    # The leak: Alice is reached, so Bob is not texted.
    simulator.reset()
    hass.states.async_set("binary_sensor.basement_leak", "on")
    await hass.async_block_till_done()
    assert _texts(simulator) == [(ALICE, "Water leak in the basement.")]

    # Low credit (the Platform's balance is in dollars): a word to Alice.
    simulator.reset()
    simulator.account.balance = Decimal(5)
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    await hass.async_block_till_done()
    assert _texts(simulator) == [(ALICE, "Clickatell credit is low: 5.0 left.")]


async def test_the_fallback_example_texts_bob_when_alice_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Alice's number becomes one Clickatell refuses (opted out).
    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries[ALICE_SUBENTRY_ID],
        data={CONF_NUMBER: "+2799999122"},
    )
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.basement_leak", "off")
    await _automations(hass, AUTOMATIONS)
    simulator.reset()

    hass.states.async_set("binary_sensor.basement_leak", "on")
    await hass.async_block_till_done()

    assert _texts(simulator) == [(BOB, "Water leak in the basement (Alice was not reached).")]


@pytest.fixture
def blueprints(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The repository's blueprints, where Home Assistant looks for them."""
    hass.config.config_dir = str(tmp_path)
    folder = tmp_path / "blueprints" / "automation" / "clickatell_sms"
    shutil.copytree(BLUEPRINTS, folder)
    return folder


@pytest.mark.parametrize("name", ["alarm_sms.yaml", "low_balance.yaml"])
def test_blueprints_are_valid_automation_blueprints(name: str) -> None:
    blueprint = Blueprint(
        load_yaml_dict(str(BLUEPRINTS / name)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.metadata["source_url"].endswith(
        f"/blueprints/automation/clickatell_sms/{name}"
    )


@pytest.mark.usefixtures("blueprints")
async def test_the_alarm_blueprint_texts_the_recipients(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("alarm_control_panel.home", "armed_night", {"friendly_name": "Home"})
    await _automations(
        hass,
        [
            {
                "use_blueprint": {
                    "path": "clickatell_sms/alarm_sms.yaml",
                    "input": {
                        "alarm": "alarm_control_panel.home",
                        "account": init_integration.entry_id,
                        "recipients": ["Alice", "+27831234567"],
                    },
                }
            }
        ],
    )
    simulator.reset()

    hass.states.async_set("alarm_control_panel.home", "triggered", {"friendly_name": "Home"})
    await hass.async_block_till_done()

    assert [to for to, _text in _texts(simulator)] == [ALICE, "27831234567"]
    assert _texts(simulator)[0][1].startswith("Alarm: Home was triggered at ")


@pytest.mark.usefixtures("blueprints")
async def test_the_low_balance_blueprint_notifies(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Its default action: a notification in Home Assistant to top up."""
    assert await async_setup_component(hass, persistent_notification.DOMAIN, {})
    notifications: list[dict[str, Any]] = []
    persistent_notification.async_register_callback(
        hass, lambda _kind, items: notifications.extend(item for item in items.values())
    )
    await _automations(
        hass,
        [
            {
                "use_blueprint": {
                    "path": "clickatell_sms/low_balance.yaml",
                    "input": {
                        "low_balance": "binary_sensor.clickatell_low_balance",
                    },
                }
            }
        ],
    )

    simulator.account.balance = Decimal("7.5")
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    await hass.async_block_till_done()

    (notification,) = notifications
    assert notification["title"] == "Clickatell credit is low"
    assert "fell below the low balance threshold" in notification["message"]

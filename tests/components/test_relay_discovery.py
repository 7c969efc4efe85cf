"""The relay's Home Assistant discovery, read by Home Assistant's own MQTT integration.

Home Assistant validates discovery payloads with each platform's
DISCOVERY_SCHEMA, which drops keys it does not know without a word: since
2026.4 `object_id` is one of them, and `default_entity_id` sets the entity ID.
The payloads are the relay's own (`discovery_messages`); the MQTT transport is
the test harness's (paho mocked), everything above it is Home Assistant's.
The relay behind a real broker: test_relay_notify.py.
"""

import json
import logging
import sys

import pytest
from homeassistant.components.mqtt import binary_sensor as mqtt_binary_sensor
from homeassistant.components.mqtt import notify as mqtt_notify
from homeassistant.components.mqtt import sensor as mqtt_sensor
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.clickatell_sms import aioclickatell

# The relay's wheel installs these very files as the top-level `aioclickatell`.
sys.modules.setdefault("aioclickatell", aioclickatell)

from clickatell_relay.config import MqttConfig, RelayConfig, StatusConfig  # noqa: E402
from clickatell_relay.payload import Alert, parse_payload  # noqa: E402
from clickatell_relay.status import discovery_messages  # noqa: E402

DISCOVERY_SCHEMAS = {
    "sensor": mqtt_sensor.DISCOVERY_SCHEMA,
    "binary_sensor": mqtt_binary_sensor.DISCOVERY_SCHEMA,
    "notify": mqtt_notify.DISCOVERY_SCHEMA,
}

# A node ID that is not the device name's slug: entity IDs must come from it.
CONFIG = RelayConfig(
    mqtt=MqttConfig(topic_prefix="garage"),
    status=StatusConfig(
        node_id="garage_relay",
        name="Clickatell relay",
        # A contact's name as written, and a group's that is no entity ID as it is.
        notify_entities=("alice", "Night-Shift.2"),
    ),
)

# The entity IDs relay/README.md documents: <component>.<node_id>_<object>.
ENTITY_IDS = {
    "sensor.garage_relay_queue_depth",
    "sensor.garage_relay_oldest_age",
    "sensor.garage_relay_sent",
    "sensor.garage_relay_failed",
    "sensor.garage_relay_dead_lettered",
    "sensor.garage_relay_last_error",
    "sensor.garage_relay_balance",
    "binary_sensor.garage_relay_paused",
    "notify.garage_relay_alice",
    "notify.garage_relay_night_shift_2",
}


# The balance sensor as announced once the One API gave a currency.
IN_CURRENCY = [
    (topic, payload)
    for topic, payload in discovery_messages(CONFIG, currency="ZAR")
    if topic.endswith("/balance/config")
]


@pytest.mark.parametrize(("topic", "payload"), discovery_messages(CONFIG) + IN_CURRENCY)
async def test_home_assistant_keeps_every_key(
    hass: HomeAssistant, topic: str, payload: str
) -> None:
    """Nothing the relay says is dropped as unknown by the platform's schema.

    (Templates are validated against a running Home Assistant, hence `hass`.)
    """
    _prefix, component, node, name, _config = topic.split("/")
    config = json.loads(payload)

    validated = DISCOVERY_SCHEMAS[component](config)

    assert set(config) <= set(validated)
    assert validated["default_entity_id"] == f"{component}.{node}_{name}"


async def test_entities_get_the_documented_ids_and_states(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    await announce(hass)
    async_fire_mqtt_message(hass, CONFIG.mqtt.availability_topic, "online", retain=True)
    async_fire_mqtt_message(
        hass,
        CONFIG.mqtt.status_topic,
        json.dumps({"queue_depth": 3, "sent": 12, "balance": None, "paused": True}),
        retain=True,
    )
    await hass.async_block_till_done()

    ids = {
        entry.entity_id for entry in entity_registry.entities.values() if entry.platform == "mqtt"
    }
    assert ids == ENTITY_IDS
    assert hass.states.get("sensor.garage_relay_queue_depth").state == "3"
    assert hass.states.get("sensor.garage_relay_sent").state == "12"
    assert hass.states.get("sensor.garage_relay_balance").state == "unknown"
    assert hass.states.get("binary_sensor.garage_relay_paused").state == "on"


async def test_a_balance_in_a_currency_is_money(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Monetary, in the API's currency, with the one state class Home Assistant allows."""
    [(topic, payload)] = IN_CURRENCY
    async_fire_mqtt_message(hass, topic, payload, retain=True)
    # The mock broker keeps no retained messages: the entity must subscribe first.
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, CONFIG.mqtt.availability_topic, "online", retain=True)
    async_fire_mqtt_message(hass, CONFIG.mqtt.status_topic, json.dumps({"balance": 300.5}))
    await hass.async_block_till_done()

    state = hass.states.get("sensor.garage_relay_balance")
    assert state.state == "300.5"
    assert state.attributes["unit_of_measurement"] == "ZAR"
    assert state.attributes["device_class"] == "monetary"
    assert state.attributes["state_class"] == "total"
    # No warning about its classes or its unit.
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


async def announce(hass: HomeAssistant) -> None:
    """What the relay publishes on connecting, as the broker delivers it (retained)."""
    for topic, payload in discovery_messages(CONFIG):
        async_fire_mqtt_message(hass, topic, payload, retain=True)
    await hass.async_block_till_done()


async def send_message(hass: HomeAssistant, entity_id: str, **data: str) -> None:
    """notify.send_message on an entity, as an automation calls it."""
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": entity_id, **data}, blocking=True
    )


def published(mqtt_mock: MqttMockHAClient) -> tuple[str, str, int, bool]:
    """(topic, payload, QoS, retain) of the one publication Home Assistant made."""
    mqtt_mock.async_publish.assert_called_once()
    topic, payload, qos, retain = mqtt_mock.async_publish.call_args.args
    return topic, payload, qos, retain


async def test_notify_entities_stay_available_while_the_relay_is_offline(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Home Assistant skips an unavailable entity's action: the broker must get the message."""
    await announce(hass)
    async_fire_mqtt_message(hass, CONFIG.mqtt.availability_topic, "offline", retain=True)
    await hass.async_block_till_done()

    assert hass.states.get("sensor.garage_relay_sent").state == "unavailable"
    assert hass.states.get("notify.garage_relay_alice").state == "unknown"  # never used yet
    await send_message(hass, "notify.garage_relay_night_shift_2", message="while offline")
    assert published(mqtt_mock) == (
        "garage/notify/Night-Shift.2",
        '{"text":"while offline"}',
        1,  # QoS 1: the broker keeps it for the relay's persistent session
        False,
    )


HOSTILE = [
    'Door "A" is open',
    "two\nlines\tand a tab",
    "back\\slash \\n not a newline",
    "ünïcödé ✓ 🚪 مرحبا",
    "{{ value }} {text} {% raw %} #}",
    '{"text": "spoofed", "recipients": ["+27830000099"]}',
    "[WARN] disk full",
    "</script>' OR 1=1 --",
]


@pytest.mark.parametrize("message", HOSTILE)
async def test_the_relay_reads_exactly_the_message_home_assistant_was_given(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, message: str
) -> None:
    """Home Assistant's template makes the relay's JSON alert; the relay's parser reads it back.

    A message that looks like JSON, or a template, or has quotes, newlines or
    braces, is one text: never a field, a recipient list or a bad alert.
    """
    await announce(hass)
    await send_message(hass, "notify.garage_relay_alice", message=message)

    topic, payload, qos, retain = published(mqtt_mock)
    assert (topic, qos, retain) == ("garage/notify/alice", 1, False)
    assert parse_payload(payload.encode()) == Alert(text=message)


async def test_home_assistant_drops_the_title(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Home Assistant's MQTT notify renders its template with the message only.

    It neither passes the title on nor declares the title feature (its form
    hides the field): no discovery key can carry it. When this fails, Home
    Assistant passes the title: give it to the relay's JSON `title`.
    """
    await announce(hass)
    await send_message(hass, "notify.garage_relay_alice", message="Door open", title="Garage")

    assert published(mqtt_mock) == ("garage/notify/alice", '{"text":"Door open"}', 1, False)
    assert not hass.states.get("notify.garage_relay_alice").attributes.get("supported_features")

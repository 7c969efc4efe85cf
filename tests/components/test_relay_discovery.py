"""The relay's Home Assistant discovery, read by Home Assistant's own MQTT integration.

Home Assistant validates discovery payloads with each platform's
DISCOVERY_SCHEMA, which drops keys it does not know without a word: since
2026.4 `object_id` is one of them, and `default_entity_id` sets the entity ID.
The payloads are the relay's own (`discovery_messages`); the MQTT transport is
the test harness's (paho mocked), everything above it is Home Assistant's.
"""

import json
import sys

import pytest
from homeassistant.components.mqtt import binary_sensor as mqtt_binary_sensor
from homeassistant.components.mqtt import sensor as mqtt_sensor
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.clickatell_sms import aioclickatell

# The relay's wheel installs these very files as the top-level `aioclickatell`.
sys.modules.setdefault("aioclickatell", aioclickatell)

from clickatell_relay.config import MqttConfig, RelayConfig, StatusConfig  # noqa: E402
from clickatell_relay.status import discovery_messages  # noqa: E402

DISCOVERY_SCHEMAS = {
    "sensor": mqtt_sensor.DISCOVERY_SCHEMA,
    "binary_sensor": mqtt_binary_sensor.DISCOVERY_SCHEMA,
}

# A node ID that is not the device name's slug: entity IDs must come from it.
CONFIG = RelayConfig(
    mqtt=MqttConfig(topic_prefix="garage"),
    status=StatusConfig(node_id="garage_relay", name="Clickatell relay"),
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
}


@pytest.mark.parametrize(("topic", "payload"), discovery_messages(CONFIG))
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
    for topic, payload in discovery_messages(CONFIG):
        async_fire_mqtt_message(hass, topic, payload, retain=True)
    await hass.async_block_till_done()
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

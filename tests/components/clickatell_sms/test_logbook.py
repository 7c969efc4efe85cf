"""What the logbook says of the integration's events.

The logbook component needs the frontend, which this test environment does
not install; its describers are called here on the events a real exchange
with the simulator fired, as the logbook calls them.
"""

import json
from collections.abc import Callable

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms import logbook
from custom_components.clickatell_sms.const import (
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
)

from .conftest import ALICE
from .two_way import STRANGER, TWO_WAY_NUMBER


def describers(hass: HomeAssistant) -> dict[str, Callable[[Event], dict[str, str]]]:
    """The integration's describers, by event type, as the logbook registers them."""
    found: dict[str, Callable[[Event], dict[str, str]]] = {}

    def describe(
        domain: str, event_type: str, describer: Callable[[Event], dict[str, str]]
    ) -> None:
        assert domain == DOMAIN
        found[event_type] = describer

    logbook.async_describe_events(hass, describe)
    return found


async def test_logbook(hass: HomeAssistant, simulator: Simulator, webhook_url: str) -> None:
    """Recipients by name, numbers this Home Assistant sent to; never a stranger's or a text."""
    simulator.account.callback_url = webhook_url
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"recipients": ["Alice", "2799998007"], "message": "Leak"},
        blocking=True,
    )
    simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, "On my way")
    simulator.inject_inbound(STRANGER, TWO_WAY_NUMBER, "Who is this?")
    await simulator.callbacks_settled()
    await hass.async_block_till_done()

    describe = describers(hass)
    entries = [describe[event.event_type](event) for event in (*statuses, *received)]

    assert sorted(
        (entry[LOGBOOK_ENTRY_NAME], entry[LOGBOOK_ENTRY_MESSAGE]) for entry in entries
    ) == sorted(
        [
            ("Alice", "SMS delivered to gateway"),
            ("Alice", "SMS delivered"),
            ("Clickatell SMS", "SMS to 2799998007 delivered to gateway"),
            ("Clickatell SMS", "SMS to 2799998007 failed"),
            ("Alice", "sent an SMS"),
            ("Clickatell SMS", "SMS from another number"),
        ]
    )
    text = json.dumps(entries)
    assert STRANGER not in text
    assert "On my way" not in text

"""What the two-way SMS tests share: numbers, callback credentials, sending and waiting."""

from typing import Any

from homeassistant.core import Event, HomeAssistant

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.const import DOMAIN

# Clickatell's two-way number, in the simulator's test range; a number no recipient has.
TWO_WAY_NUMBER = "2799900099"
STRANGER = "27831234567"
CALLBACK_USERNAME = "clickatell"
CALLBACK_PASSWORD = "callback-secret-Zq81"  # the secret audit looks for it in every log


async def send_message(
    hass: HomeAssistant, recipients: list[str], **options: Any
) -> dict[str, Any]:
    """Send through the integration's action; its response."""
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"recipients": recipients, "message": "Water leak", **options},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def message_ids(response: dict[str, Any]) -> list[str]:
    """The message IDs of a send_message response, in the order of its recipients."""
    return [item["message_id"] for item in response["messages"]]


async def settled(hass: HomeAssistant, simulator: Simulator) -> None:
    """Every callback made (and retried), and Home Assistant done with them."""
    await simulator.callbacks_settled()
    await hass.async_block_till_done()


def statuses_of(events: list[Event]) -> list[tuple[str, str | None, str]]:
    """(message ID, recipient, status) of each status event."""
    return [
        (event.data["message_id"], event.data["recipient"], event.data["status"])
        for event in events
    ]

"""Logbook descriptions of the integration's events.

The logbook is for everyone in the household: it names recipients, and
numbers only where this Home Assistant sent to them; never a stranger's
number, never a text.
"""

from typing import TYPE_CHECKING

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_MESSAGE_RECEIVED, EVENT_MESSAGE_STATUS

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "Clickatell SMS"


@callback
def async_describe_events(
    _hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe delivery statuses and SMS received."""

    @callback
    def async_describe_status(event: Event) -> dict[str, str]:
        data = event.data
        status = str(data["status"]).replace("_", " ")
        if (recipient := data.get("recipient")) is not None:
            return {LOGBOOK_ENTRY_NAME: recipient, LOGBOOK_ENTRY_MESSAGE: f"SMS {status}"}
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: f"SMS to {data['to']} {status}"}

    @callback
    def async_describe_received(event: Event) -> dict[str, str]:
        if (recipient := event.data.get("recipient")) is not None:
            return {LOGBOOK_ENTRY_NAME: recipient, LOGBOOK_ENTRY_MESSAGE: "sent an SMS"}
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: "SMS from another number"}

    async_describe_event(DOMAIN, EVENT_MESSAGE_STATUS, async_describe_status)
    async_describe_event(DOMAIN, EVENT_MESSAGE_RECEIVED, async_describe_received)

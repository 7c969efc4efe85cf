"""The integration's actions: send_message (with a response), stop_message and the outbox's."""

from typing import TYPE_CHECKING, Any

import probatio
from homeassistant.components.notify.const import ATTR_MESSAGE, ATTR_TITLE
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry

from .aioclickatell import Operation
from .const import (
    ATTR_MESSAGE_ID,
    ATTR_RECIPIENTS,
    DOMAIN,
    SERVICE_CLEAR_OUTBOX,
    SERVICE_RETRY_OUTBOX,
    SERVICE_SEND_MESSAGE,
    SERVICE_STOP_MESSAGE,
)
from .send import (
    SEND_OPTIONS_SCHEMA,
    action_errors,
    async_send,
    raise_for_rejected,
    send_options_from,
    send_response,
    with_title,
)

if TYPE_CHECKING:
    from .coordinator import ClickatellConfigEntry


SEND_MESSAGE_SCHEMA = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_RECIPIENTS): probatio.All(
            # Numbers are let through to be refused with a reason (see _recipients).
            cv.ensure_list,
            [probatio.Any(str, int, float)],
            probatio.Length(min=1),
        ),
        probatio.Required(ATTR_MESSAGE): cv.string,
        probatio.Optional(ATTR_TITLE): cv.string,
        **SEND_OPTIONS_SCHEMA,
    }
)

STOP_MESSAGE_SCHEMA = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_MESSAGE_ID): cv.string,
    }
)


OUTBOX_SCHEMA = probatio.Schema({probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


def _entry(call: ServiceCall) -> ClickatellConfigEntry:
    """The entry the call names, or the only loaded one."""
    entry: ClickatellConfigEntry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    return entry


def _recipients(values: list[Any]) -> list[str]:
    """The recipients, all text: a number may have lost its "+".

    YAML reads `+33612345678` unquoted, and a template renders it, as the
    integer 33612345678, which would then read as a national number.
    """
    if numbers := [value for value in values if not isinstance(value, str)]:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="recipients_not_text",
            translation_placeholders={"recipients": ", ".join(str(value) for value in numbers)},
        )
    return values


async def _async_send_message(call: ServiceCall) -> ServiceResponse:
    """Send, and say per recipient what happened.

    Rejected recipients are never silent: they are in the response when the
    caller asks for it, and raised (after the others were sent) when not.
    """
    entry = _entry(call)
    options = send_options_from(call.data)
    message = with_title(call.data[ATTR_MESSAGE], call.data.get(ATTR_TITLE))
    recipients = _recipients(call.data[ATTR_RECIPIENTS])
    result = await async_send(call.hass, entry, recipients, message, options)
    if not call.return_response:
        raise_for_rejected(entry, result)
        return None
    return send_response(entry, result)


async def _async_stop_message(call: ServiceCall) -> ServiceResponse:
    """Stop a scheduled message, where the flavour can.

    A message that could not be stopped (already delivered) is in the response,
    or raised when the caller does not ask for one.
    """
    entry = _entry(call)
    client = entry.runtime_data.client
    if not client.supports(Operation.STOP):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="stop_not_supported",
            translation_placeholders={"account": entry.title},
        )
    async with action_errors(call.hass, entry):
        result = await client.stop(call.data[ATTR_MESSAGE_ID])
    if not call.return_response:
        if not result.stopped:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_stopped",
                translation_placeholders={
                    "message_id": result.api_message_id,
                    "status": f"{result.status} {result.description or ''}".strip(),
                },
            )
        return None
    return {
        "message_id": result.api_message_id,
        "stopped": result.stopped,
        "status": result.status,
        "description": result.description,
    }


async def _async_retry_outbox(call: ServiceCall) -> None:
    """Send what waits now, without waiting out the backoff (a Retry-After still applies)."""
    _entry(call).runtime_data.outbox.async_retry()


async def _async_clear_outbox(call: ServiceCall) -> ServiceResponse:
    """Drop what waits, each SMS with its expired_from_outbox event; how many were dropped."""
    cleared = await _entry(call).runtime_data.outbox.async_clear()
    return {"cleared": cleared} if call.return_response else None


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions, once for every entry."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_MESSAGE,
        _async_send_message,
        schema=SEND_MESSAGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_STOP_MESSAGE,
        _async_stop_message,
        schema=STOP_MESSAGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RETRY_OUTBOX, _async_retry_outbox, schema=OUTBOX_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLEAR_OUTBOX,
        _async_clear_outbox,
        schema=OUTBOX_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

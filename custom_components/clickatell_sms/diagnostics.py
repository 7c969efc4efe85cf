"""Diagnostics: the entry, recipients, last polls and outbox, without secrets or numbers."""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME, CONF_WEBHOOK_ID

from .const import (
    CONF_API_ID,
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    CONF_CLOUDHOOK_URL,
    CONF_NUMBER,
    CONF_SENDER,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import ClickatellConfigEntry

# The account identity is a hash of the key, and a recipient's is its number.
# The webhook's ID (and the cloudhook's URL) let anyone post to it.
TO_REDACT = {
    CONF_API_KEY,
    CONF_API_ID,
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    CONF_CLOUDHOOK_URL,
    CONF_NUMBER,
    CONF_WEBHOOK_ID,
    CONF_PASSWORD,
    CONF_SENDER,
    CONF_USERNAME,
    "destination",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    _hass: HomeAssistant, entry: ClickatellConfigEntry
) -> dict[str, Any]:
    """What a bug report needs: configuration, capabilities and the last data."""
    runtime = entry.runtime_data
    client = runtime.client
    balance = runtime.balance_coordinator
    coverage = runtime.coverage_coordinator
    # Recipients by position: their names and numbers are personal data.
    positions = {
        subentry_id: f"recipient {index}"
        for index, subentry_id in enumerate(entry.subentries, start=1)
    }
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": async_redact_data(entry.options, TO_REDACT),
            "unique_id": REDACTED,
            "recipients": [
                {
                    "recipient": positions[subentry.subentry_id],
                    "subentry_type": subentry.subentry_type,
                    "title": REDACTED,
                    "data": async_redact_data(subentry.data, TO_REDACT),
                }
                for subentry in entry.subentries.values()
            ],
        },
        "client": {
            "api": client.api.value,
            "operations": sorted(operation.value for operation in client.operations),
            "supported_options": sorted(client.supported_options),
            "max_batch_size": client.max_batch_size,
            "default_region": client.default_region,
            "default_options": async_redact_data(client.default_options.set_options(), {"sender"}),
        },
        "balance": {
            "last_update_success": balance.last_update_success,
            # None until the API answers, when the entry loaded without it.
            "data": asdict(last) if (last := balance.last_balance) is not None else None,
            "low_balance_threshold": balance.low_balance_threshold,
        },
        "two_way": {
            "webhook": CONF_WEBHOOK_ID in entry.data,
            "cloudhook": CONF_CLOUDHOOK_URL in entry.data,
            "basic_authentication": bool(entry.options.get(CONF_CALLBACK_USERNAME)),
            "messages_remembered": runtime.tracker.remembered,
            "counts": dict(sorted(runtime.tracker.counts.items())),
        },
        "outbox": runtime.outbox.diagnostics(),
        "coverage": None
        if coverage is None
        else {
            "last_update_success": coverage.last_update_success,
            "data": {
                positions.get(subentry_id, subentry_id): async_redact_data(asdict(item), TO_REDACT)
                for subentry_id, item in (coverage.data or {}).items()
            },
        },
    }

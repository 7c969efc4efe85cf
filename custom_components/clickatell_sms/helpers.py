"""Building the client from a config entry, and the account's identity."""

import hashlib
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .aioclickatell import (
    DEFAULT_MAX_BATCH_SIZE,
    ApiFlavour,
    ClickatellClient,
    RetryPolicy,
    SendOptions,
)
from .const import (
    CONF_API,
    CONF_API_ID,
    CONF_BASE_URL,
    CONF_DEFAULT_REGION,
    CONF_MAX_BATCH_SIZE,
    CONF_MAX_PARTS,
    CONF_PRIORITY,
    CONF_SENDER,
    CONF_VALIDITY,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

# Seconds one request may take.
REQUEST_TIMEOUT = 10.0
# A send tries again what Clickatell says to retry (503/901, a short
# Retry-After, a connection never made), so a blip loses no alert, and still
# ends within about ten seconds; never what may have been accepted (see
# aioclickatell.RetryPolicy). Polls need none: the coordinators poll again
# within minutes while the API fails.
SEND_RETRY: Final = RetryPolicy(
    attempts=3, initial_delay=0.5, max_delay=2.0, max_retry_after=5.0, deadline=10.0
)

# Options of the entry that become the client's default send options.
DEFAULT_SEND_OPTIONS: Mapping[str, str] = {
    CONF_SENDER: "sender",
    CONF_VALIDITY: "validity_period",
    CONF_MAX_PARTS: "max_message_parts",
    CONF_PRIORITY: "user_priority_queue",
}


def account_identity(data: Mapping[str, Any]) -> str:
    """A stable identity of the account that exposes no secret.

    Clickatell answers with no account ID, so the identity is derived from
    what names the account: the flavour and the API key (REST, Platform), or
    the flavour, the api_id and the user (HTTP; the password may change).
    Only a truncated SHA-256 of it is kept.
    """
    api = ApiFlavour(data[CONF_API])
    if api is ApiFlavour.HTTP:
        material = f"{api.value}:{data[CONF_API_ID]}:{data[CONF_USERNAME]}"
    else:
        material = f"{api.value}:{data[CONF_API_KEY]}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


# The legacy APIs call back only with the statuses a message asks for (its
# `callback` level, none by default); 7 asks for every one. The Platform calls
# back with every status.
LEGACY_CALLBACK_LEVEL: Final = 7


def default_send_options(options: Mapping[str, Any], api: ApiFlavour) -> SendOptions:
    """The send options every message gets unless a call overrides them."""
    values = {
        field: options[key]
        for key, field in DEFAULT_SEND_OPTIONS.items()
        if options.get(key) not in (None, "")
    }
    if api is not ApiFlavour.PLATFORM:
        values["callback"] = LEGACY_CALLBACK_LEVEL
    return SendOptions(**values)


def create_client(
    hass: HomeAssistant, data: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> ClickatellClient:
    """A client for the account in `data`, over Home Assistant's shared session.

    Raises the client's ClickatellInvalidRequestError for a configuration it
    refuses (a base URL without a host, a batch size over the flavour's
    ceiling, an option it cannot take).
    """
    options = options or {}
    api = ApiFlavour(data[CONF_API])
    return ClickatellClient(
        api=api,
        api_key=data.get(CONF_API_KEY),
        username=data.get(CONF_USERNAME),
        password=data.get(CONF_PASSWORD),
        api_id=data.get(CONF_API_ID),
        session=async_get_clientsession(hass),
        base_url=data.get(CONF_BASE_URL) or None,
        default_region=options.get(CONF_DEFAULT_REGION) or None,
        max_batch_size=int(options.get(CONF_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_SIZE)),
        default_options=default_send_options(options, api),
        request_timeout=REQUEST_TIMEOUT,
    )

"""The webhook Clickatell calls back: delivery statuses and SMS received.

Each entry has one webhook (an unguessable ID in its data), for statuses and
replies alike, and a Home Assistant Cloud cloudhook to it where the user has
Cloud. The handler answers fast: read, check, hand the events to the
entry's `MessageTracker`, answer. Clickatell retries anything but a 2xx, so
(docs/home-assistant.md, "Two-way SMS", says the same):

* 405: a method the account's API does not call back with;
* 401: basic authentication is set and the request's is missing or wrong;
* 413: a body over `MAX_CALLBACK_BYTES`;
* 400: anything `parse_callback` refuses: Clickatell sends none, and if a
  change on its side did, its retries give time for a fix;
* 200: everything else, also a status of a message this entry never sent
  (it never will have: retrying is useless), a repeat, and an empty request.

Refusals are logged at debug level, and never with what the request held.
"""

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from aiohttp import hdrs, web
from homeassistant.components import webhook
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError

from .aioclickatell import (
    MAX_CALLBACK_BYTES,
    ApiFlavour,
    ClickatellInvalidCallbackError,
    DeliveryStatus,
    callback_authorized,
    parse_callback,
)
from .const import (
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    LOGGER,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.util.aiohttp import MockRequest

    from .coordinator import ClickatellConfigEntry

# The legacy APIs call back by GET or POST, as set in the portal; the Platform POSTs JSON.
CALLBACK_METHODS: Final = {
    ApiFlavour.REST: frozenset({hdrs.METH_GET, hdrs.METH_POST}),
    ApiFlavour.HTTP: frozenset({hdrs.METH_GET, hdrs.METH_POST}),
    ApiFlavour.PLATFORM: frozenset({hdrs.METH_POST}),
}
# Registered for more than any API uses, so a wrong method is ours to answer, quietly.
REGISTERED_METHODS: Final = (hdrs.METH_GET, hdrs.METH_POST, hdrs.METH_PUT)
WEBHOOK_KEYS: Final = (CONF_WEBHOOK_ID, CONF_CLOUDHOOK_URL)
# Shown where Home Assistant knows no URL of its own.
NO_URL: Final = "https://<your Home Assistant address>"


def webhook_data(data: Mapping[str, Any]) -> dict[str, str]:
    """The webhook's keys of an entry's data, to keep them through a change of credentials."""
    return {key: data[key] for key in WEBHOOK_KEYS if key in data}


async def async_webhook_data(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """The webhook's keys for an entry: its own, or a new ID; a cloudhook where Cloud is active.

    A cloudhook is only made while Home Assistant Cloud is connected; without
    it the entry gets one at a later start.
    """
    found = webhook_data(data)
    webhook_id = found.setdefault(CONF_WEBHOOK_ID, webhook.async_generate_id())
    # Only where the user set Cloud up: importing it loads its voice assistants.
    if CONF_CLOUDHOOK_URL in found or "cloud" not in hass.config.components:
        return found
    from homeassistant.components import cloud  # noqa: PLC0415

    if cloud.async_active_subscription(hass):
        try:
            found[CONF_CLOUDHOOK_URL] = await cloud.async_create_cloudhook(hass, webhook_id)
        except cloud.CloudNotAvailable:
            LOGGER.debug("Home Assistant Cloud is not connected: no cloudhook yet")
    return found


async def async_delete_cloudhook(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Delete the entry's cloudhook, if it has one and Cloud is still there."""
    if CONF_CLOUDHOOK_URL not in data or "cloud" not in hass.config.components:
        return
    from homeassistant.components import cloud  # noqa: PLC0415

    if cloud.async_is_logged_in(hass):
        try:
            await cloud.async_delete_cloudhook(hass, data[CONF_WEBHOOK_ID])
        except cloud.CloudNotAvailable:
            LOGGER.debug("Home Assistant Cloud is not available: the cloudhook stays")


@callback
def callback_url(hass: HomeAssistant, data: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """The URL to paste into Clickatell's portal, for statuses and replies alike.

    The cloudhook where there is one, else Home Assistant's own URL (external
    first). With basic authentication, `user:***@` stands where the
    credentials go in a URL; the password is never shown.
    """
    url: str = data.get(CONF_CLOUDHOOK_URL, "")
    if not url:
        path = webhook.async_generate_path(data[CONF_WEBHOOK_ID])
        try:
            url = webhook.async_generate_url(hass, data[CONF_WEBHOOK_ID])
        except NoURLAvailableError:
            url = NO_URL + path
    if username := options.get(CONF_CALLBACK_USERNAME):
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://{username}:***@{rest}"
    return url


@callback
def async_register_webhook(hass: HomeAssistant, entry: ClickatellConfigEntry) -> None:
    """Listen for Clickatell's callbacks until the entry unloads."""
    webhook_id: str = entry.data[CONF_WEBHOOK_ID]

    async def _async_handle(
        _hass: HomeAssistant, _webhook_id: str, request: web.Request
    ) -> web.Response:
        return await _async_handle_callback(entry, request)

    webhook.async_register(
        hass, DOMAIN, entry.title, webhook_id, _async_handle, allowed_methods=REGISTERED_METHODS
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))


def _refuse(entry: ClickatellConfigEntry, reason: str, status: HTTPStatus) -> web.Response:
    entry.runtime_data.tracker.counts[f"refused_{reason}"] += 1
    LOGGER.debug("Refused a callback to %s: %s (%s)", entry.title, reason, int(status))
    return web.Response(status=status)


def _authorized(options: Mapping[str, Any], header: str | None) -> bool:
    """Whether the request carries the basic authentication the options ask for, if any."""
    if not (username := options.get(CONF_CALLBACK_USERNAME)):
        return True
    return callback_authorized(header, username, options.get(CONF_CALLBACK_PASSWORD, ""))


async def _read_body(request: web.Request | MockRequest) -> bytes | None:
    """The body, or None if it is over MAX_CALLBACK_BYTES (no more is read)."""
    body = bytearray()
    while chunk := await request.content.read(MAX_CALLBACK_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_CALLBACK_BYTES:
            return None
    return bytes(body)


async def _async_handle_callback(
    entry: ClickatellConfigEntry, request: web.Request | MockRequest
) -> web.Response:
    runtime = entry.runtime_data
    api = runtime.client.api
    if request.method not in CALLBACK_METHODS[api]:
        return _refuse(entry, "method", HTTPStatus.METHOD_NOT_ALLOWED)
    if not _authorized(entry.options, request.headers.get(hdrs.AUTHORIZATION)):
        response = _refuse(entry, "authentication", HTTPStatus.UNAUTHORIZED)
        response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="Clickatell SMS"'
        return response
    if (body := await _read_body(request)) is None:
        return _refuse(entry, "size", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    # Raw: a legacy reply's text is in its own charset. A cloudhook's request has only the string.
    query = (
        request.rel_url.raw_query_string
        if isinstance(request, web.Request)
        else request.query_string
    )
    if not body.strip() and not query:
        LOGGER.debug("An empty request to the webhook of %s: nothing to do", entry.title)
        return web.Response(status=HTTPStatus.OK)
    try:
        events = parse_callback(
            api, body=body, content_type=request.headers.get(hdrs.CONTENT_TYPE), query=query
        )
    except ClickatellInvalidCallbackError as error:
        runtime.tracker.counts["refused_invalid"] += 1
        LOGGER.debug("Refused a callback to %s: %s", entry.title, error)
        return web.Response(status=HTTPStatus.BAD_REQUEST)
    for event in events:
        if isinstance(event, DeliveryStatus):
            runtime.tracker.async_status(event)
        else:
            runtime.tracker.async_received(event)
    return web.Response(status=HTTPStatus.OK)

"""Read the callbacks Clickatell sends: message statuses (delivery receipts) and replies.

One entry point for whatever receives them, a Home Assistant webhook or an
aiohttp listener of the relay; it does no I/O:

    events = parse_callback(
        ApiFlavour.PLATFORM,
        body=await request.read(),            # at most MAX_CALLBACK_BYTES
        content_type=request.headers.get("Content-Type"),
        query=request.rel_url.raw_query_string,  # raw: the text may not be UTF-8
    )

It returns a list of `DeliveryStatus` and `InboundMessage` (the One API may
batch; an event type it does not know is skipped, as Clickatell asks) and
raises `ClickatellInvalidCallbackError` for anything else. The shapes, per
flavour, are in docs/api-contract.md:

- legacy (REST and HTTP): the fields of Developers' Central callbacks
  (apiMsgId, status, charge ...; a reply has moMsgId, text, charset ...) in
  the query (GET), a form (POST), an XML document or a JSON object;
- Platform, One API: `{"integrationId", "event": {"messageStatusUpdate": [...],
  "moText": [...]}}`;
- Platform, /messages: one flat JSON object, `messageId` and `status` for a
  status, `replyMessageId`, `fromNumber` and `text` for a reply.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from aiohttp import BasicAuth

from . import statuses
from .const import MAX_CALLBACK_BYTES, ApiFlavour
from .exceptions import ClickatellError, ClickatellInvalidCallbackError
from .flavours.base import (
    json_object,
    optional_str,
    parse_number,
    parse_timestamp,
    xml_root,
    xml_to_dict,
)
from .models import CallbackEvent, DeliveryStatus, InboundMessage

if TYPE_CHECKING:
    from .flavours.base import Invalid
    from .statuses import Resolved

# Legacy replies give local time without a zone: South Africa's, UTC+2.
LEGACY_REPLY_ZONE: Final = timezone(timedelta(hours=2))
MAX_FIELDS: Final = 100
MAX_ID_LENGTH: Final = 128

# Charset names the APIs use -> Python codecs. UCS-2 text is UTF-16BE.
_CODECS: Final = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ucs-2": "utf-16-be",
    "ucs2": "utf-16-be",
    "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be",
    "utf-16": "utf-16-be",
}
_UCS2_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{4})+")
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")

# Field values: bytes from a query or form (their charset is known only to the
# text's own field), str or numbers from JSON and XML.
Fields = Mapping[str, Any]


def invalid_callback(api: ApiFlavour, detail: str) -> ClickatellInvalidCallbackError:
    """The error for a callback that is not what Clickatell sends."""
    return ClickatellInvalidCallbackError(f"Invalid Clickatell {api.value} callback: {detail}")


def parse_callback(
    api: ApiFlavour, *, body: bytes, content_type: str | None = None, query: str = ""
) -> list[CallbackEvent]:
    """The statuses and replies in one callback request, in the order given.

    A One API event lists its statuses first, then its replies; an event type
    the client does not read is skipped, so the list may be empty (answer 2xx).

    `query` is the raw (percent-encoded) query string: legacy callbacks may
    arrive by GET, and a reply's text is in its own charset, not UTF-8.
    """
    try:
        flavour = ApiFlavour(api)
    except ValueError:
        raise ClickatellInvalidCallbackError(f"Unknown API flavour {api!r}") from None
    if len(body) > MAX_CALLBACK_BYTES or len(query) > MAX_CALLBACK_BYTES:
        raise invalid_callback(flavour, f"more than {MAX_CALLBACK_BYTES} bytes")
    if flavour is ApiFlavour.PLATFORM:
        return _platform(flavour, _json(flavour, body))
    fields = {**_form(flavour, query), **_legacy_fields(flavour, body, content_type)}
    return [_legacy(flavour, _unwrapped(flavour, fields))]


# ---- the body ------------------------------------------------------------------------


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _json(api: ApiFlavour, body: bytes) -> dict[str, Any]:
    try:
        return json_object(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise invalid_callback(api, "the body is not UTF-8") from None
    except ValueError as error:
        raise invalid_callback(api, str(error)) from None


def _xml_fields(api: ApiFlavour, document: bytes | str) -> dict[str, Any]:
    try:
        return xml_to_dict(xml_root(document))
    except ValueError as error:
        raise invalid_callback(api, str(error)) from None


def _form(api: ApiFlavour, raw: bytes | str) -> dict[str, bytes]:
    """Form or query fields, their values as the bytes that were sent (last one wins)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    if not text:
        return {}
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, encoding="latin-1", max_num_fields=MAX_FIELDS
        )
        return {name: value.encode("latin-1") for name, value in pairs}
    except (ValueError, UnicodeEncodeError):
        raise invalid_callback(api, "the form or query string cannot be read") from None


# ---- values --------------------------------------------------------------------------


def _invalid_for(name: str) -> Invalid:
    def invalid(api: ApiFlavour, detail: str) -> ClickatellError:
        return invalid_callback(api, f"{name}: {detail}")

    return invalid


def _as_text(api: ApiFlavour, name: str, value: object) -> object:
    """Bytes from a form as UTF-8 text; other values as they are."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_callback(api, f"{name}: not UTF-8") from None
    return value


def _str(api: ApiFlavour, fields: Fields, name: str, limit: int = MAX_ID_LENGTH) -> str | None:
    """A short text field (an ID, a number); None when absent or empty."""
    value = optional_str(api, _as_text(api, name, fields.get(name)), _invalid_for(name))
    value = value.strip() if value is not None else None
    if not value:
        return None
    if len(value) > limit or not value.isprintable():
        raise invalid_callback(api, f"{name}: not an identifier")
    return value


def _required(api: ApiFlavour, fields: Fields, name: str) -> str:
    value = _str(api, fields, name)
    if value is None:
        raise invalid_callback(api, f"{name} is missing")
    return value


def _charge(api: ApiFlavour, fields: Fields, name: str) -> float | None:
    value = _as_text(api, name, fields.get(name))
    if value is None or value == "":
        return None
    charge = parse_number(api, value, _invalid_for(name))
    if charge < 0:
        raise invalid_callback(api, f"{name}: a charge is not negative")
    return charge


def _time(api: ApiFlavour, fields: Fields, name: str, zone: timezone = UTC) -> datetime | None:
    value = _as_text(api, name, fields.get(name))
    if value is None or value == "":
        return None
    return parse_timestamp(api, value, _invalid_for(name), naive_zone=zone)


def _status(api: ApiFlavour, resolved: Resolved | None, given: object) -> Resolved:
    if resolved is None and given in (None, ""):
        raise invalid_callback(api, "the status is missing")
    if resolved is None:
        raise invalid_callback(api, f"unknown message status {str(given)[:40]!r}")
    return resolved


def _udh(api: ApiFlavour, fields: Fields, name: str) -> str | None:
    value = _str(api, fields, name, limit=MAX_CALLBACK_BYTES)
    if value is not None and not _HEX.fullmatch(value):
        raise invalid_callback(api, f"{name}: not hexadecimal")
    return value


def _text(api: ApiFlavour, fields: Fields, name: str, charset: str | None) -> str:
    """A reply's text, decoded by its charset; UCS-2 may come as hex (4 digits a character)."""
    value = fields.get(name)
    if value is None:
        raise invalid_callback(api, f"{name} is missing")
    if not isinstance(value, bytes | str):
        raise invalid_callback(api, f"{name}: expected text, got {type(value).__name__}")
    codec = _CODECS.get(charset.lower()) if charset is not None else "utf-8"
    if codec is None:
        raise invalid_callback(api, f"unsupported charset {str(charset)[:40]!r}")
    try:
        if codec == "utf-16-be":
            hex_text = value.decode("latin-1") if isinstance(value, bytes) else value
            if _UCS2_HEX.fullmatch(hex_text):
                return bytes.fromhex(hex_text).decode(codec)
        return value.decode(codec) if isinstance(value, bytes) else value
    except UnicodeDecodeError:
        raise invalid_callback(api, f"{name}: not valid {charset or 'UTF-8'}") from None


# ---- legacy: REST and HTTP -----------------------------------------------------------


def _legacy_fields(api: ApiFlavour, body: bytes, content_type: str | None) -> Fields:
    """Fields of a legacy body: a form, an XML <callback>, or a JSON object."""
    if not body.strip():
        return {}
    media = _media_type(content_type)
    start = body.lstrip()[:1]
    fields: Fields
    if "json" in media or (not media.endswith("form-urlencoded") and start == b"{"):
        fields = _json(api, body)
    elif "xml" in media or start == b"<":
        fields = _xml_fields(api, body)
    else:
        fields = _form(api, body)
    return fields


def _unwrapped(api: ApiFlavour, fields: Fields) -> Fields:
    """The fields themselves where a JSON `data` object or an XML `data` field holds them."""
    data = fields.get("data")
    if isinstance(data, Mapping):
        return data
    if isinstance(data, bytes | str) and "apiMsgId" not in fields and "moMsgId" not in fields:
        text = data.decode("latin-1") if isinstance(data, bytes) else data
        if text.lstrip().startswith("<"):  # XML GET/POST: the document in a `data` field
            return _xml_fields(api, text)
    return fields


def _delivery(
    api: ApiFlavour,
    fields: Fields,
    resolved: Resolved,
    ids: tuple[str, str] = ("messageId", "clientMessageId"),
) -> DeliveryStatus:
    """A status callback's fields around its status; `ids` name its message IDs."""
    return DeliveryStatus(
        api_message_id=_required(api, fields, ids[0]),
        client_message_id=_str(api, fields, ids[1]),
        to=_str(api, fields, "to"),
        sender=_str(api, fields, "from"),
        status=resolved.status,
        status_code=resolved.code,
        status_text=resolved.text,
        charge=_charge(api, fields, "charge"),
        timestamp=_time(api, fields, "timestamp"),
    )


def _legacy(api: ApiFlavour, fields: Fields) -> CallbackEvent:
    if "apiMsgId" in fields:
        given = _as_text(api, "status", fields.get("status"))
        resolved = _status(api, statuses.legacy(given), given)
        return _delivery(api, fields, resolved, ("apiMsgId", "cliMsgId"))
    if "moMsgId" in fields:
        charset = _str(api, fields, "charset")
        return InboundMessage(
            message_id=_required(api, fields, "moMsgId"),
            sender=_required(api, fields, "from"),
            to=_required(api, fields, "to"),
            text=_text(api, fields, "text", charset),
            timestamp=_time(api, fields, "timestamp", LEGACY_REPLY_ZONE),
            charset=charset,
            udh=_udh(api, fields, "udh"),
        )
    raise invalid_callback(api, "neither a status (apiMsgId) nor a reply (moMsgId)")


# ---- Platform: the One API and /messages ---------------------------------------------


def _platform(api: ApiFlavour, document: dict[str, Any]) -> list[CallbackEvent]:
    if "event" in document:
        return _one_api(api, document["event"])
    if "replyMessageId" in document or "fromNumber" in document:
        return [_platform_reply(api, document)]
    if "messageId" in document:
        return [_platform_status(api, document)]
    raise invalid_callback(api, "neither an event, a status (messageId) nor a reply")


def _entries(api: ApiFlavour, event: Mapping[str, Any], name: str) -> list[Fields]:
    entries = event.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(item, Mapping) for item in entries):
        raise invalid_callback(api, f"{name}: expected a list of objects")
    return entries


def _one_api(api: ApiFlavour, event: object) -> list[CallbackEvent]:
    """Statuses and text replies; other events (media, location) are not ours to read."""
    if not isinstance(event, Mapping):
        raise invalid_callback(api, "event: expected an object")
    found: list[CallbackEvent] = []
    for entry in _entries(api, event, "messageStatusUpdate"):
        resolved = statuses.one_api(entry.get("statusCode"), entry.get("status"))
        resolved = _status(api, resolved, entry.get("status", entry.get("statusCode")))
        found.append(_delivery(api, entry, resolved))
    for entry in _entries(api, event, "moText"):
        charset = _str(api, entry, "charset")
        sms = entry.get("sms")
        found.append(
            InboundMessage(
                message_id=_required(api, entry, "messageId"),
                sender=_required(api, entry, "from"),
                to=_required(api, entry, "to"),
                text=_text(api, entry, "content", charset),
                timestamp=_time(api, entry, "timestamp"),
                keyword=_str(api, sms, "keyword") if isinstance(sms, Mapping) else None,
                related_message_id=_str(api, entry, "relatedMessageId"),
                charset=charset,
            )
        )
    return found


def _platform_status(api: ApiFlavour, fields: Fields) -> DeliveryStatus:
    description = _str(api, fields, "statusDescription", limit=MAX_CALLBACK_BYTES)
    resolved = statuses.platform(fields.get("statusCode"), fields.get("status"), description)
    return _delivery(
        api, fields, _status(api, resolved, fields.get("status", fields.get("statusCode")))
    )


def _platform_reply(api: ApiFlavour, fields: Fields) -> InboundMessage:
    """A /messages reply; its apiKey, which Clickatell includes, is never kept."""
    charset = _str(api, fields, "charset")
    return InboundMessage(
        message_id=_required(api, fields, "replyMessageId"),
        sender=_required(api, fields, "fromNumber"),
        to=_required(api, fields, "toNumber"),
        text=_text(api, fields, "text", charset),
        timestamp=_time(api, fields, "timestamp"),
        keyword=_str(api, fields, "keyword"),
        related_message_id=_str(api, fields, "messageId"),
        charset=charset,
        udh=_udh(api, fields, "udh"),
    )


__all__ = ["invalid_callback", "parse_callback"]


def callback_authorized(header: str | None, username: str, password: str) -> bool:
    """Whether an Authorization header carries the basic auth a callback URL was given.

    Clickatell calls `https://user:password@host/...` as HTTP basic authentication.
    """
    if header is None:
        return False
    try:
        given = BasicAuth.decode(header, encoding="utf-8")
    except ValueError:
        return False
    # Both compared, always: the time taken says nothing about which was wrong.
    return hmac.compare_digest(given.login.encode(), username.encode()) & hmac.compare_digest(
        given.password.encode(), password.encode()
    )

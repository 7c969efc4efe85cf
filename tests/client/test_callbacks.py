"""Callbacks: every flavour's golden examples parse, every bad callback is refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from aioclickatell import (
    MAX_CALLBACK_BYTES,
    ApiFlavour,
    CallbackEvent,
    ClickatellError,
    ClickatellInvalidCallbackError,
    DeliveryStatus,
    InboundMessage,
    MessageStatus,
    parse_callback,
)

FIXTURES: Final = Path(__file__).parents[1] / "fixtures" / "callbacks"
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
LEGACY: Final = (ApiFlavour.REST, ApiFlavour.HTTP)
# The stand-in key in platform-reply.json: it must never be kept.
PLATFORM_REPLY_API_KEY: Final = "REPLACED-integration-key"


def golden(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def only(events: list[CallbackEvent]) -> CallbackEvent:
    assert len(events) == 1, events
    return events[0]


def status_of(events: list[CallbackEvent]) -> DeliveryStatus:
    event = only(events)
    assert isinstance(event, DeliveryStatus)
    return event


def reply_of(events: list[CallbackEvent]) -> InboundMessage:
    event = only(events)
    assert isinstance(event, InboundMessage)
    return event


# ---- golden examples ---------------------------------------------------------------------

LEGACY_STATUS: Final = DeliveryStatus(
    api_message_id="996411ad91fa211e7d17bc873aa4a41d",
    status=MessageStatus.DELIVERED,
    status_code="004",
    status_text="Received by recipient",
    to="279995631564",
    sender="27833001171",
    charge=0.3,
    timestamp=datetime(2008, 8, 6, 7, 35, 29, tzinfo=UTC),
)


@pytest.mark.parametrize("api", LEGACY)
def test_legacy_status_by_get(api: ApiFlavour) -> None:
    query = golden("legacy-status.query").decode()
    assert status_of(parse_callback(api, body=b"", query=query)) == LEGACY_STATUS


@pytest.mark.parametrize("api", LEGACY)
def test_legacy_status_by_post(api: ApiFlavour) -> None:
    body = golden("legacy-status.query")
    assert status_of(parse_callback(api, body=body, content_type=FORM)) == LEGACY_STATUS


@pytest.mark.parametrize("api", LEGACY)
@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8", None])
def test_legacy_status_by_xml_post(api: ApiFlavour, content_type: str | None) -> None:
    body = golden("legacy-status.xml")
    assert status_of(parse_callback(api, body=body, content_type=content_type)) == LEGACY_STATUS


def test_legacy_status_by_xml_get_in_a_data_field() -> None:
    query = "data=" + golden("legacy-status.xml").decode().replace("\n", "").replace(" ", "%20")
    assert status_of(parse_callback(ApiFlavour.HTTP, body=b"", query=query)) == LEGACY_STATUS


@pytest.mark.parametrize("wrapped", [False, True])
def test_legacy_status_by_json_post(wrapped: bool) -> None:
    fields = {
        "api_id": "12345",
        "apiMsgId": "996411ad91fa211e7d17bc873aa4a41d",
        "cliMsgId": "",
        "timestamp": 1218008129,
        "to": "279995631564",
        "from": "27833001171",
        "charge": 0.3,
        "status": "004",
    }
    body = json.dumps({"data": fields} if wrapped else fields).encode()
    assert status_of(parse_callback(ApiFlavour.REST, body=body, content_type=JSON)) == LEGACY_STATUS


def test_a_post_reads_the_query_of_the_callback_url_too() -> None:
    """A callback URL may carry its own query (a token); the body's fields come first."""
    body = b"apiMsgId=abc123&status=003"
    event = status_of(
        parse_callback(ApiFlavour.HTTP, body=body, content_type=FORM, query="hook=1&status=009")
    )
    assert (event.api_message_id, event.status_code) == ("abc123", "003")
    assert event.status is MessageStatus.DELIVERED_TO_GATEWAY


@pytest.mark.parametrize("api", LEGACY)
def test_legacy_reply(api: ApiFlavour) -> None:
    query = golden("legacy-reply.query").decode()
    assert reply_of(parse_callback(api, body=b"", query=query)) == InboundMessage(
        message_id="d2b66016178dda7c3b4a701056797755",
        sender="919676026708",
        to="447860024227",
        text="Test clicks tell 103 2-4-2015",
        timestamp=datetime(2015, 2, 4, 7, 30, 36, tzinfo=UTC),  # sent as local time, UTC+2
        charset="ISO-8859-1",
    )


def test_legacy_reply_in_ucs2_bytes() -> None:
    body = golden("legacy-reply-ucs2.query")
    event = reply_of(parse_callback(ApiFlavour.HTTP, body=body, content_type=FORM))
    assert event.text == "Привет!"
    assert event.charset == "UTF-16BE"
    assert event.message_id == "1de97e5e15f76bb1e374f1ea3d33bf65"


@pytest.mark.parametrize("charset", ["UCS-2", "UTF-16BE", "ucs2"])
def test_legacy_reply_in_ucs2_hex(charset: str) -> None:
    text = "Ja 👍 مرحبا".encode("utf-16-be").hex().upper()
    query = f"moMsgId=m1&from=2799900001&to=2799900002&text={text}&charset={charset}"
    assert reply_of(parse_callback(ApiFlavour.HTTP, body=b"", query=query)).text == "Ja 👍 مرحبا"


@pytest.mark.parametrize(
    ("charset", "encoded", "text"),
    [
        ("ISO-8859-1", "Caf%E9", "Café"),
        ("UTF-8", "Caf%C3%A9", "Café"),
        (None, "Caf%C3%A9", "Café"),  # no charset: UTF-8
    ],
)
def test_legacy_reply_text_is_read_in_its_charset(
    charset: str | None, encoded: str, text: str
) -> None:
    query = f"moMsgId=m1&from=2799900001&to=2799900002&text={encoded}"
    if charset:
        query += f"&charset={charset}"
    assert reply_of(parse_callback(ApiFlavour.REST, body=b"", query=query)).text == text


def test_one_api_reply() -> None:
    event = reply_of(parse_callback(ApiFlavour.PLATFORM, body=golden("one-api-reply.json")))
    assert event == InboundMessage(
        message_id="3a89680503414383af44dcd0e4e5f184",
        sender="2799900001",
        to="2799900002",
        text="Text Content of the reply message",
        timestamp=datetime(2017, 9, 28, 14, 8, 18, tzinfo=UTC),
        related_message_id="d33eef0838a121f71069a4cc8d55c19e",
        charset="UTF-8",
    )


def test_one_api_status() -> None:
    events = parse_callback(
        ApiFlavour.PLATFORM, body=golden("one-api-status.json"), content_type=JSON
    )
    assert status_of(events) == DeliveryStatus(
        api_message_id="3a89680503414383af44dcd0e4e5f184",
        client_message_id="alert-42",
        status=MessageStatus.DELIVERED,
        status_code="5",
        status_text="DEVICE_ACK",
        timestamp=datetime(2017, 9, 28, 14, 8, 18, tzinfo=UTC),
    )


def test_platform_messages_status() -> None:
    event = status_of(parse_callback(ApiFlavour.PLATFORM, body=golden("platform-status.json")))
    assert event == DeliveryStatus(
        api_message_id="a55b8f8d56f33440e993aa614c68bf8b",
        client_message_id="alert-42",
        to="2799900001",
        sender="2799900002",
        status=MessageStatus.DELIVERED,
        status_code="004",
        status_text="Received by recipient",
        timestamp=datetime(2017, 9, 28, 14, 8, 18, tzinfo=UTC),
    )


def test_platform_messages_reply_keeps_no_api_key() -> None:
    event = reply_of(parse_callback(ApiFlavour.PLATFORM, body=golden("platform-reply.json")))
    assert event == InboundMessage(
        message_id="3a89680503414383af44dcd0e4e5f184",
        sender="2799900001",
        to="2799900002",
        text="YES",
        timestamp=datetime(2017, 9, 28, 14, 8, 18, tzinfo=UTC),
        keyword="YES",
        related_message_id="a55b8f8d56f33440e993aa614c68bf8b",
        charset="UTF-8",
    )
    assert PLATFORM_REPLY_API_KEY not in repr(event)


def one_api(**event: Any) -> bytes:
    return json.dumps({"integrationId": "i", "integrationName": "n", "event": event}).encode()


def test_one_api_batches_statuses_and_replies_in_order() -> None:
    body = one_api(
        messageStatusUpdate=[
            {"messageId": "a1", "status": "QUEUED", "statusCode": 2, "timestamp": 1},
            {"messageId": "a1", "statusCode": 4},
            {"messageId": "a2", "status": "ROUTING_ERROR"},
        ],
        moText=[{"messageId": "m1", "from": "2799900001", "to": "2799900002", "content": "ok"}],
    )
    events = parse_callback(ApiFlavour.PLATFORM, body=body)
    assert [
        event.status if isinstance(event, DeliveryStatus) else event.text for event in events
    ] == [MessageStatus.QUEUED, MessageStatus.DELIVERED_TO_GATEWAY, MessageStatus.FAILED, "ok"]
    second = events[1]
    assert isinstance(second, DeliveryStatus)
    assert (second.status_code, second.status_text) == ("4", "SENT_TO_SUPPLIER")


def test_one_api_events_we_do_not_read_are_skipped() -> None:
    """Clickatell adds event types and asks receivers not to break on them."""
    body = one_api(moMedia=[{"messageId": "x", "contentType": "image/jpeg"}])
    assert parse_callback(ApiFlavour.PLATFORM, body=body) == []


def test_one_api_reply_keyword_and_ucs2_hex() -> None:
    body = one_api(
        moText=[
            {
                "messageId": "m1",
                "from": "2799900001",
                "to": "2799900002",
                "content": "€".encode("utf-16-be").hex(),
                "charset": "UCS-2",
                "sms": {"network": "n", "keyword": "STOP"},
            }
        ]
    )
    event = reply_of(parse_callback(ApiFlavour.PLATFORM, body=body))
    assert (event.text, event.keyword) == ("€", "STOP")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("001", MessageStatus.UNKNOWN),
        ("002", MessageStatus.QUEUED),
        ("003", MessageStatus.DELIVERED_TO_GATEWAY),
        ("004", MessageStatus.DELIVERED),
        ("005", MessageStatus.FAILED),
        ("006", MessageStatus.CANCELLED),
        ("007", MessageStatus.FAILED),
        ("008", MessageStatus.QUEUED),
        ("009", MessageStatus.FAILED),
        ("010", MessageStatus.EXPIRED),
        ("011", MessageStatus.SCHEDULED),
        ("012", MessageStatus.OUT_OF_CREDIT),
        ("013", MessageStatus.CANCELLED),
        ("014", MessageStatus.LIMIT_EXCEEDED),
        ("4", MessageStatus.DELIVERED),  # written without its zeros
    ],
)
def test_every_legacy_status_code(code: str, status: MessageStatus) -> None:
    event = status_of(parse_callback(ApiFlavour.HTTP, body=b"", query=f"apiMsgId=a&status={code}"))
    assert event.status is status
    assert event.status_code == code.zfill(3)


def test_final_and_failed() -> None:
    assert MessageStatus.DELIVERED.final
    assert not MessageStatus.DELIVERED.failed
    assert MessageStatus.EXPIRED.failed
    assert not MessageStatus.DELIVERED_TO_GATEWAY.final
    assert not MessageStatus.QUEUED.failed


# ---- bad callbacks -----------------------------------------------------------------------

XML_BOMB: Final = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<callback><apiMsgId>&b;</apiMsgId><status>004</status></callback>"
)
REPLY: Final = "moMsgId=m&from=1&to=2"
WRONG_CHARGE: Final = b'{"apiMsgId": "a", "status": 4, "charge": [1]}'
BAD: Final[dict[str, tuple[ApiFlavour, bytes, str | None, str]]] = {
    # name: (flavour, body, content type, query)
    "garbage-json": (ApiFlavour.PLATFORM, b"\xff\xfe{garbage", JSON, ""),
    "platform-form": (ApiFlavour.PLATFORM, b"messageId=a&status=QUEUED", FORM, ""),
    "platform-json-list": (ApiFlavour.PLATFORM, b"[1, 2]", JSON, ""),
    "platform-empty": (ApiFlavour.PLATFORM, b"", JSON, ""),
    "platform-unrecognised": (ApiFlavour.PLATFORM, b'{"hello": "world"}', JSON, ""),
    "legacy-garbage-xml": (ApiFlavour.HTTP, b"<callback><apiMsgId>", "application/xml", ""),
    "legacy-xml-bomb": (ApiFlavour.REST, XML_BOMB, "application/xml", ""),
    "legacy-empty": (ApiFlavour.HTTP, b"", None, ""),
    "legacy-neither": (ApiFlavour.HTTP, b"", None, "to=2799900001&status=004"),
    "missing-status": (ApiFlavour.HTTP, b"", None, "apiMsgId=a"),
    "missing-id": (ApiFlavour.HTTP, b"", None, "apiMsgId=&status=004"),
    "missing-reply-text": (ApiFlavour.HTTP, b"", None, REPLY),
    "missing-reply-sender": (ApiFlavour.HTTP, b"", None, "moMsgId=m&to=2&text=hi"),
    "unknown-legacy-status": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=099"),
    "status-not-a-code": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=delivered"),
    "wrong-type-id": (ApiFlavour.REST, b'{"apiMsgId": ["a"], "status": "004"}', JSON, ""),
    "wrong-type-status": (ApiFlavour.REST, b'{"apiMsgId": "a", "status": {"x": 1}}', JSON, ""),
    "wrong-type-charge": (ApiFlavour.REST, WRONG_CHARGE, None, ""),
    "charge-nan": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=004&charge=nan"),
    "charge-negative": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=004&charge=-1"),
    "bad-timestamp": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=004&timestamp=yesterday"),
    "huge-timestamp": (ApiFlavour.HTTP, b"", None, "apiMsgId=a&status=004&timestamp=" + "9" * 40),
    "id-not-utf8": (ApiFlavour.HTTP, b"", None, "apiMsgId=%FF&status=004"),
    "id-control-characters": (ApiFlavour.HTTP, b"", None, "apiMsgId=a%00b&status=004"),
    "id-too-long": (ApiFlavour.HTTP, b"", None, "apiMsgId=" + "a" * 300 + "&status=004"),
    "unknown-charset": (ApiFlavour.HTTP, b"", None, REPLY + "&text=hi&charset=EBCDIC"),
    "text-not-its-charset": (ApiFlavour.HTTP, b"", None, REPLY + "&text=%FF&charset=UTF-8"),
    "text-odd-ucs2": (ApiFlavour.HTTP, b"", None, REPLY + "&text=%00&charset=UTF-16BE"),
    "text-lone-surrogate": (ApiFlavour.HTTP, b"", None, REPLY + "&text=D800&charset=UCS-2"),
    "udh-not-hex": (ApiFlavour.HTTP, b"", None, REPLY + "&text=hi&udh=zz"),
    "one-api-event-not-object": (ApiFlavour.PLATFORM, b'{"event": []}', JSON, ""),
    "one-api-entries-not-list": (ApiFlavour.PLATFORM, b'{"event": {"moText": {}}}', JSON, ""),
    "one-api-unknown-status": (
        ApiFlavour.PLATFORM,
        one_api(messageStatusUpdate=[{"messageId": "a", "status": "BOUNCED", "statusCode": 999}]),
        JSON,
        "",
    ),
    "one-api-missing-id": (
        ApiFlavour.PLATFORM,
        one_api(messageStatusUpdate=[{"status": "QUEUED"}]),
        JSON,
        "",
    ),
    "one-api-content-not-text": (
        ApiFlavour.PLATFORM,
        one_api(moText=[{"messageId": "m", "from": "1", "to": "2", "content": 5}]),
        JSON,
        "",
    ),
    "platform-reply-missing-number": (
        ApiFlavour.PLATFORM,
        b'{"replyMessageId": "r", "toNumber": "2", "text": "x"}',
        JSON,
        "",
    ),
    "platform-status-bool-code": (
        ApiFlavour.PLATFORM,
        b'{"messageId": "a", "statusCode": true}',
        JSON,
        "",
    ),
    "huge-body": (ApiFlavour.PLATFORM, b" " * (MAX_CALLBACK_BYTES + 1), JSON, ""),
    "huge-query": (ApiFlavour.HTTP, b"", None, "a=" + "b" * MAX_CALLBACK_BYTES),
    "too-many-fields": (ApiFlavour.HTTP, b"", None, "&".join(f"f{n}=1" for n in range(500))),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_callbacks_are_refused_with_a_reason(case: str) -> None:
    api, body, content_type, query = BAD[case]
    with pytest.raises(ClickatellInvalidCallbackError) as caught:
        parse_callback(api, body=body, content_type=content_type, query=query)
    assert isinstance(caught.value, ClickatellError)
    assert str(caught.value).startswith(f"Invalid Clickatell {api.value} callback: ")


def test_an_unknown_flavour_is_refused_in_the_tree() -> None:
    with pytest.raises(ClickatellInvalidCallbackError):
        parse_callback("sms-over-carrier-pigeon", body=b"")  # type: ignore[arg-type]

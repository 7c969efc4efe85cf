"""Fuzzing the parsers: no uncaught exception, and every bad input refused with a reason.

What already covered the requirement, and what this module adds.

API response parsers (JSON, XML, HTTP text), per flavour:

* tests/client/test_parsers.py: random status, content type and body (text,
  JSON, XML, HTTP lines) give a result or a ClickatellError, for REST
  JSON/XML, the One API, /messages XML and HTTP; hostile XML is refused.
* here, `test_every_answer_is_a_well_formed_result_or_an_error_with_its_reason`:
  also /messages JSON and answers close to the real shapes; every error has a
  message (its reason), a code that is text, the response's status; every
  result is well formed.
* here, `test_amounts_are_finite_numbers_or_refused_with_a_reason`: balances
  and charges are finite numbers (NaN, Infinity, 1e999, an integer too large
  for a float are refused). FAILS: a bug, see the test.

The API transport (bytes, charset, Retry-After, broken HTTP):

* tests/client/test_errors.py: scripted examples of each failure.
* here, `test_any_raw_answer_is_a_result_or_an_error_with_its_reason`: random
  raw HTTP answers through a real socket, every flavour, send and balance.
* here, `test_retry_after_is_none_or_a_finite_wait`: the Retry-After reader.
  FAILS: a bug, see the test.

MQTT payloads:

* tests/relay/test_payload.py: any bytes give an Alert or a Rejection (no
  exception); JSON values of any shape give a Rejection with a detail; text
  round trip; every rejection class by example.
* here, `test_every_rejected_payload_has_a_reason_and_a_detail`: for any
  bytes, text or JSON, any mode and any template the configuration accepts,
  a Rejection has a Reason and a detail.
* here, `test_alert_json_gives_a_usable_alert_or_a_reasoned_rejection`:
  alert-shaped JSON with fuzzed text, recipients, priority and options (those
  a payload may carry) gives an Alert whose options the dispatcher can use and
  whose recipients resolve on the allowlist, or a Rejection with a reason.
  FAILS: a bug, see the test.

Callbacks (statuses and replies Clickatell sends us):

* tests/client/test_callbacks.py: every flavour's golden examples, and every
  class of bad callback by example.
* here, `test_any_callback_is_events_or_an_invalid_callback_error`: any bytes,
  content type and query, every flavour: a list of well-formed events or a
  ClickatellInvalidCallbackError with a reason, never another exception.
* here, `test_callbacks_close_to_the_real_shapes`: the real shapes (legacy
  fields, One API events, /messages objects) with any value garbled, as JSON,
  a form or a query.

The configuration loader:

* tests/relay/test_config.py: any YAML structure gives a config or a
  ConfigError whose problems name the file and have a message; any text gives
  a config or a ConfigError.
* here, `test_every_config_problem_in_a_mapping_has_a_line_and_a_message`:
  every problem of a mapping document has its line.
* here, `test_every_config_problem_in_any_text_has_a_line_and_a_message`: the
  same for any text (non-mappings, control characters, an empty file).
  FAILS: a bug, see the test.
"""

from __future__ import annotations

import asyncio
import json
import math
import string
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Final, Self
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aioclickatell import (
    ApiFlavour,
    ClickatellClient,
    ClickatellError,
    ClickatellInvalidCallbackError,
    ContentFormat,
    DeliveryStatus,
    HttpMethod,
    InboundMessage,
    MessageStatus,
    PlatformEndpoint,
    SendOptions,
    parse_callback,
)
from aioclickatell.codes import retry_after_seconds
from aioclickatell.flavours import ApiResponse, Credentials, Flavour, flavour_for
from aioclickatell.models import Balance, Coverage, MessageResult, StopResult
from clickatell_relay.config import PAYLOAD_OPTIONS, ConfigError, parse_config
from clickatell_relay.payload import Alert, Reason, Rejection, parse_payload, template_problem
from clickatell_relay.routing import Routed, Router

FUZZ_API_KEY: Final = "fuzz-key-Ty62mN"
FUZZ_PASSWORD: Final = "fuzz-password-Lq40"
CREDENTIALS: Final = Credentials(
    api_key=FUZZ_API_KEY, username="fuzzer", password=FUZZ_PASSWORD, api_id="1234567"
)
FLAVOURS: Final[dict[str, Flavour]] = {
    "rest-json": flavour_for(ApiFlavour.REST, CREDENTIALS),
    "rest-xml": flavour_for(ApiFlavour.REST, CREDENTIALS, content_format=ContentFormat.XML),
    "one-api": flavour_for(ApiFlavour.PLATFORM, CREDENTIALS),
    "messages-json": flavour_for(
        ApiFlavour.PLATFORM, CREDENTIALS, platform_endpoint=PlatformEndpoint.MESSAGES
    ),
    "messages-xml": flavour_for(
        ApiFlavour.PLATFORM,
        CREDENTIALS,
        platform_endpoint=PlatformEndpoint.MESSAGES,
        content_format=ContentFormat.XML,
    ),
    "http": flavour_for(ApiFlavour.HTTP, CREDENTIALS, http_method=HttpMethod.GET),
}
ONE: Final = ("2799900001",)
TWO: Final = ("2799900001", "2799900002")
Parser = Callable[[Flavour, ApiResponse], object]
PARSERS: Final[dict[str, Parser]] = {
    "send": lambda flavour, response: flavour.parse_send(response, list(TWO)),
    "send-one": lambda flavour, response: flavour.parse_send(response, list(ONE)),
    "balance": lambda flavour, response: flavour.parse_balance(response),
    "coverage": lambda flavour, response: flavour.parse_coverage(response, ONE[0]),
    "stop": lambda flavour, response: flavour.parse_stop(response, "abc123"),
}


# API responses ----------------------------------------------------------------------------

# Numbers as an API might garble them. (Integers too large for a float are left to
# the test on amounts, which fails on them while parse_number has its bug.)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["300.50", "-1", "nan", "NaN", "inf", "-Infinity", "1e999", "", " 5 ", "1_0"]),
    st.text(alphabet="0123456789.-+eE", max_size=12),
)
NAMES = st.sampled_from(
    [
        "data",
        "message",
        "messages",
        "error",
        "errorCode",
        "errorDescription",
        "code",
        "description",
        "to",
        "accepted",
        "apiMessageId",
        "balance",
        "currency",
        "routable",
        "destination",
        "minimumCharge",
        "messageStatus",
        "response",
    ]
)
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12))
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NAMES, children, max_size=5),
    max_leaves=16,
)


def _json(value: object) -> str:
    # NaN and Infinity as Python's json writes them: what a sloppy API could send.
    return json.dumps(value)


@st.composite
def shaped_answers(draw: st.DrawFn) -> object:
    """Answers close to the real shapes, with any leaf garbled."""
    number = draw(NUMBERS)
    message = draw(
        st.fixed_dictionaries(
            {"to": st.sampled_from([*TWO, 5, None]), "accepted": LEAVES},
            optional={"apiMessageId": LEAVES, "error": LEAVES, "errorCode": LEAVES},
        )
    )
    error = draw(
        st.fixed_dictionaries(
            {"code": LEAVES, "description": LEAVES},
        )
    )
    return draw(
        st.sampled_from(
            [
                {"data": {"balance": number, "currency": "USD"}},
                {"balance": number, "currency": "USD"},
                {"data": {"routable": True, "destination": ONE[0], "minimumCharge": number}},
                {"data": {"message": [message]}},
                {"messages": [message], "error": None},
                {"data": {"messageStatus": number, "apiMessageId": "abc123"}},
                {"error": error},
                {"errorCode": number, "error": "x", "errorDescription": "y"},
            ]
        )
    )


@st.composite
def xml_documents(draw: st.DrawFn) -> str:
    def grow(parent: Element, depth: int) -> None:
        for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
            child = SubElement(parent, draw(NAMES))
            child.text = draw(
                st.none() | st.sampled_from(["1e999", "nan", "-5"]) | st.text(max_size=8)
            )
            grow(child, depth + 1)

    root = Element(draw(st.sampled_from(["response", "Response", "messages", "x"])))
    grow(root, 0)
    return tostring(root, encoding="unicode")


HTTP_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "ID: abc",
                "ID: abc To: 2799900001",
                "ID: abc Status: 006",
                "ERR: 105, Invalid Destination Address To: 2799900002",
                "ERR: 001, Authentication failed",
                "ERR: 130, Maximum MT limit exceeded until 99999999999",
                "Credit: nan",
                "Credit: " + "9" * 400,
                "OK: routed Charge: " + "9" * 400,
                "Credit: 12.5",
            ]
        ),
        NUMBERS.map(lambda value: f"Credit: {value}"),
        st.text(max_size=30),
    ),
    max_size=3,
).map("\n".join)
BODIES = st.one_of(
    shaped_answers().map(_json), JSON_VALUES.map(_json), xml_documents(), HTTP_LINES, st.text()
)
STATUSES = st.sampled_from([200, 202, 207, 301, 400, 401, 402, 404, 410, 429, 500, 503, 599])
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/xml", "text/xml", "text/plain", "text/html", ""]
)
RETRY_AFTER = st.none() | st.floats(min_value=0, max_value=3600)


def check_error(error: ClickatellError, response: ApiResponse) -> None:
    """A refusal names its reason; the code is text; the status is the response's."""
    assert str(error).strip(), f"{type(error).__name__} without a message"
    assert error.code is None or error.code.strip()
    assert error.status in (None, response.status)


def check_result(result: object) -> None:
    """A parsed answer is well formed (amounts are checked by the test on numbers)."""
    if isinstance(result, list):
        assert result, "an empty list of results"
        for item in result:
            assert isinstance(item, MessageResult)
            assert item.to.strip()
            assert isinstance(item.accepted, bool)
            assert item.error_code is None or item.error_code.strip()
    elif isinstance(result, Balance):
        assert isinstance(result.balance, float)
        assert result.currency is None or isinstance(result.currency, str)
    elif isinstance(result, Coverage):
        assert result.destination.strip()
        assert isinstance(result.routable, bool)
    else:
        assert isinstance(result, StopResult), result
        assert result.api_message_id.strip()
        assert result.status.strip()


# Nested past Python's recursion limit, well inside MAX_RESPONSE_BYTES.
DEEP_JSON: Final = "[" * 100_000 + "]" * 100_000
DEEP_XML: Final = "<a>" * 20_000 + "</a>" * 20_000


@pytest.mark.parametrize("flavour", list(FLAVOURS))
@pytest.mark.parametrize("parser", list(PARSERS))
@settings(max_examples=40, deadline=None)
@given(status=STATUSES, content_type=CONTENT_TYPES, body=BODIES, retry_after=RETRY_AFTER)
@example(status=200, content_type="application/json", body=DEEP_JSON, retry_after=None)
@example(status=200, content_type="application/xml", body=DEEP_XML, retry_after=None)
def test_every_answer_is_a_well_formed_result_or_an_error_with_its_reason(
    flavour: str, parser: str, status: int, content_type: str, body: str, retry_after: float | None
) -> None:
    """A bug the callback fuzzing below found (fixed): reading JSON and XML answers.

    JSON or XML nested deeper than Python's recursion limit (under
    MAX_RESPONSE_BYTES) raised RecursionError, not a ClickatellError:
    json.loads recursed, and so did xml_to_dict after the (flat) XML parser.
    Found at the same time on main (tests/client/test_errors.py,
    test_deeply_nested_*); the two fixes are one in flavours/base.py.
    """
    response = ApiResponse(
        status=status, content_type=content_type, text=body, retry_after=retry_after
    )
    try:
        result = PARSERS[parser](FLAVOURS[flavour], response)
    except ClickatellError as error:
        check_error(error, response)
    else:
        check_result(result)


def _amounts(result: object) -> list[float]:
    if isinstance(result, Balance):
        return [result.balance]
    if isinstance(result, Coverage) and result.minimum_charge is not None:
        return [result.minimum_charge]
    return []


AMOUNT_ANSWERS: Final[dict[str, tuple[str, Callable[[object], str], str]]] = {
    "rest-json": (
        "application/json",
        lambda number: _json({"data": {"balance": number}}),
        "balance",
    ),
    "rest-json-coverage": (
        "application/json",
        lambda number: _json({"data": {"routable": True, "minimumCharge": number}}),
        "coverage",
    ),
    "one-api": ("application/json", lambda number: _json({"balance": number}), "balance"),
    "rest-xml": (
        "application/xml",
        lambda number: f"<response><data><balance>{number}</balance></data></response>",
        "balance",
    ),
    "http": ("text/plain", lambda number: f"Credit: {number}", "balance"),
    "http-coverage": ("text/plain", lambda number: f"OK: routed Charge: {number}", "coverage"),
}


AMOUNTS = NUMBERS | st.integers(min_value=10**308, max_value=10**330)


@settings(max_examples=300, deadline=None)
@given(answer=st.sampled_from(list(AMOUNT_ANSWERS)), number=AMOUNTS)
@example(answer="rest-json", number=10**400)  # an integer too large for a float
@example(answer="one-api", number=float("nan"))  # JSON's NaN, as Python writes it
@example(answer="rest-json-coverage", number="1e999")  # infinity, spelt as a string
@example(answer="http", number="9" * 400)  # HTTP text: digits that overflow to infinity
def test_amounts_are_finite_numbers_or_refused_with_a_reason(answer: str, number: object) -> None:
    """A bug this fuzzing found (fixed): aioclickatell/flavours/base.py `parse_number`.

    It returned float(value) for any int, float or numeric string: an integer
    too large for a float raised OverflowError (not a ClickatellError: it
    escapes the relay's balance check and ends the dispatcher), and NaN,
    Infinity, "inf", "1e999" or 400 digits become a NaN or infinite balance or
    charge (the relay then reads NaN > 0 as "no credit"; its status JSON says
    NaN, which is not JSON; Home Assistant refuses a non-finite sensor state).
    """
    content_type, body, parser = AMOUNT_ANSWERS[answer]
    flavour = FLAVOURS[answer.removesuffix("-coverage")]
    response = ApiResponse(status=200, content_type=content_type, text=body(number))
    try:
        result = PARSERS[parser](flavour, response)
    except ClickatellError as error:
        check_error(error, response)
    else:
        assert all(math.isfinite(amount) for amount in _amounts(result)), result


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=20),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.integers().map(str),
        st.sampled_from(["inf", "nan", "Infinity", "-1", "1e999", " 30 ", "Wed, 21 Oct 2015"]),
    )
)
@example(value="inf")
@example(value="nan")
def test_retry_after_is_none_or_a_finite_wait(value: str) -> None:
    """A bug this fuzzing found (fixed): aioclickatell/codes.py `retry_after_seconds`.

    It took float(value): "inf", "nan", "Infinity" and "1e999" passed. A 429
    with `Retry-After: inf` made the relay hold every send forever
    (dispatch.py `_failed`: hold_until = now + inf); Home Assistant's
    coordinator gets retry_after=inf.
    """
    seconds = retry_after_seconds(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# The transport: raw HTTP answers through a real socket -------------------------------------


class RawServer:
    """A loopback TCP server that answers every request with the bytes set for the example."""

    def __init__(self) -> None:
        self.answer = b""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw-http", daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if length:
                await asyncio.wait_for(reader.readexactly(length), 2)
            writer.write(self.answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    with RawServer() as server:
        yield server


CHARSETS = st.sampled_from(
    ["", "; charset=utf-8", "; charset=latin-1", "; charset=bogus", "; charset=utf-16"]
)


@st.composite
def raw_answers(draw: st.DrawFn) -> bytes:
    """An HTTP/1.1 answer, mostly well framed, with any status, type, charset and body."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))  # not HTTP at all
    status = draw(STATUSES)
    body_text = draw(BODIES)
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    body = body_text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        body = draw(st.binary(max_size=100))
    headers = [f"HTTP/1.1 {status} Whatever"]
    content_type = draw(CONTENT_TYPES)
    if content_type:
        headers.append(f"Content-Type: {content_type}{draw(CHARSETS)}")
    if (
        retry_after := draw(st.none() | st.text(alphabet=string.printable, max_size=10))
    ) is not None:
        headers.append(f"Retry-After: {retry_after.strip()}")
    framing = draw(st.sampled_from(["length", "close", "short", "long"]))
    if framing == "length":
        headers.append(f"Content-Length: {len(body)}")
    elif framing == "short":
        headers.append(f"Content-Length: {len(body) + 10}")
    elif framing == "long":
        headers.append(f"Content-Length: {max(len(body) - 1, 0)}")
    headers.append("Connection: close")
    head = "\r\n".join(headers).replace("\n\n", "\n") + "\r\n\r\n"
    return head.encode("latin-1", errors="replace") + body


CALLS: Final[dict[str, Callable[[ClickatellClient], Any]]] = {
    "send": lambda client: client.send_batch(list(TWO), "fuzz", None),
    "balance": lambda client: client.balance(),
}
CLIENTS: Final[dict[str, dict[str, Any]]] = {
    "rest": {"api": ApiFlavour.REST, "api_key": FUZZ_API_KEY},
    "platform": {"api": ApiFlavour.PLATFORM, "api_key": FUZZ_API_KEY},
    "http": {
        "api": ApiFlavour.HTTP,
        "username": "fuzzer",
        "password": FUZZ_PASSWORD,
        "api_id": "1234567",
    },
}


async def _call(port: int, client_options: dict[str, Any], call: str) -> object:
    client = ClickatellClient(
        **client_options, base_url=f"http://127.0.0.1:{port}", request_timeout=3
    )
    try:
        return await CALLS[call](client)
    finally:
        await client.close()


@pytest.mark.parametrize("api", list(CLIENTS))
@pytest.mark.parametrize("call", list(CALLS))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answer=raw_answers())
def test_any_raw_answer_is_a_result_or_an_error_with_its_reason(
    raw_server: RawServer, api: str, call: str, answer: bytes
) -> None:
    raw_server.answer = answer
    try:
        result = asyncio.run(_call(raw_server.port, CLIENTS[api], call))
    except ClickatellError as error:
        message = str(error)
        assert message.strip()
        assert FUZZ_API_KEY not in message
        assert FUZZ_PASSWORD not in message
        retry_after = getattr(error, "retry_after", None)
        assert retry_after is None or retry_after >= 0
    else:
        assert result is not None


# Callbacks ----------------------------------------------------------------------------------

CALLBACK_TYPES = st.sampled_from(
    [
        None,
        "",
        "application/json",
        "application/xml",
        "text/xml; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ]
)
CALLBACK_NAMES = st.sampled_from(
    [
        "apiMsgId",
        "cliMsgId",
        "moMsgId",
        "api_id",
        "status",
        "charge",
        "timestamp",
        "to",
        "from",
        "text",
        "charset",
        "udh",
        "data",
        "event",
        "messageStatusUpdate",
        "moText",
        "messageId",
        "statusCode",
        "content",
        "replyMessageId",
        "fromNumber",
        "toNumber",
        "keyword",
        "sms",
    ]
)
CALLBACK_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=12),
    st.sampled_from(
        ["004", "4", "099", "DEVICE_ACK", "BOUNCED", "UTF-16BE", "UCS-2", "EBCDIC", "D800", "00e9"]
    ),
)
CALLBACK_VALUES = st.recursive(
    CALLBACK_LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(CALLBACK_NAMES, children, max_size=5)
    ),
    max_leaves=20,
)
FORM_VALUES = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["004", "0.30", "nan", "-1", "1e999", "2015-02-04 09:30:36", "%FF%00", "D800"]),
)


def check_event(event: object) -> None:
    """An event is well formed: IDs and numbers are text, times aware, charges finite."""
    if isinstance(event, DeliveryStatus):
        assert event.api_message_id.strip()
        assert isinstance(event.status, MessageStatus)
        assert event.status_text
        assert event.charge is None or (math.isfinite(event.charge) and event.charge >= 0)
    else:
        assert isinstance(event, InboundMessage), event
        assert event.message_id.strip()
        assert event.sender.strip()
        assert event.to.strip()
        assert isinstance(event.text, str)
    assert event.timestamp is None or event.timestamp.tzinfo is not None


def parse_any(api: ApiFlavour, body: bytes, content_type: str | None, query: str) -> None:
    try:
        events = parse_callback(api, body=body, content_type=content_type, query=query)
    except ClickatellInvalidCallbackError as error:
        assert str(error).startswith(f"Invalid Clickatell {api.value} callback: ")
    else:
        assert isinstance(events, list)
        for event in events:
            check_event(event)


@settings(max_examples=300, deadline=None)
@given(
    api=st.sampled_from(list(ApiFlavour)),
    body=st.one_of(
        st.binary(max_size=300),
        CALLBACK_VALUES.map(_json).map(str.encode),
        xml_documents().map(str.encode),
        st.text(max_size=100).map(str.encode),
    ),
    content_type=CALLBACK_TYPES,
    query=st.one_of(st.text(max_size=60), st.just("")),
)
@example(
    api=ApiFlavour.HTTP, body=b"", content_type=None, query="apiMsgId=a&status=4&timestamp=1e400"
)
@example(api=ApiFlavour.PLATFORM, body=b'{"event": {"moText": [{}]}}', content_type=None, query="")
@example(api=ApiFlavour.PLATFORM, body=b"[" * 30_000 + b"]" * 30_000, content_type=None, query="")
@example(api=ApiFlavour.REST, body=b"<a>" * 10_000 + b"</a>" * 10_000, content_type=None, query="")
def test_any_callback_is_events_or_an_invalid_callback_error(
    api: ApiFlavour, body: bytes, content_type: str | None, query: str
) -> None:
    """A bug this fuzzing found (fixed): deep nesting raised RecursionError; see above."""
    parse_any(api, body, content_type, query)


@st.composite
def shaped_callbacks(draw: st.DrawFn) -> tuple[ApiFlavour, bytes, str | None, str]:
    """The real shapes, any value garbled, as JSON, a form or a query."""
    legacy_status = {"apiMsgId": "a1", "status": "004", "charge": "0.3", "timestamp": "1218008129"}
    legacy_reply = {"moMsgId": "m1", "from": "27", "to": "28", "text": "hi", "charset": "UTF-8"}
    shape = draw(st.sampled_from(["legacy-status", "legacy-reply", "one-api", "platform"]))
    if shape.startswith("legacy"):
        fields: dict[str, Any] = dict(legacy_status if shape == "legacy-status" else legacy_reply)
        for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3)):
            fields[name] = draw(FORM_VALUES if draw(st.booleans()) else CALLBACK_LEAVES)
        api = draw(st.sampled_from([ApiFlavour.REST, ApiFlavour.HTTP]))
        how = draw(st.sampled_from(["query", "form", "json"]))
        if how == "json":
            return api, _json(fields).encode(), "application/json", ""
        form = "&".join(f"{name}={value}" for name, value in fields.items())
        if how == "query":
            return api, b"", None, form
        return api, form.encode("utf-8", errors="replace"), "application/x-www-form-urlencoded", ""
    entry: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {"messageId": CALLBACK_LEAVES},
            optional={
                "status": CALLBACK_LEAVES,
                "statusCode": CALLBACK_LEAVES,
                "timestamp": CALLBACK_LEAVES,
                "from": CALLBACK_LEAVES,
                "to": CALLBACK_LEAVES,
                "content": CALLBACK_LEAVES,
                "charset": CALLBACK_LEAVES,
                "sms": CALLBACK_VALUES,
            },
        )
    )
    if shape == "one-api":
        kind = draw(st.sampled_from(["messageStatusUpdate", "moText", "moMedia"]))
        payload: dict[str, Any] = {"integrationId": "i", "event": {kind: [entry]}}
    else:
        payload = (
            {**entry, "replyMessageId": draw(CALLBACK_LEAVES)} if draw(st.booleans()) else entry
        )
    return ApiFlavour.PLATFORM, _json(payload).encode(), "application/json", ""


@settings(max_examples=400, deadline=None)
@given(callback=shaped_callbacks())
def test_callbacks_close_to_the_real_shapes(
    callback: tuple[ApiFlavour, bytes, str | None, str],
) -> None:
    parse_any(*callback)


# MQTT payloads ------------------------------------------------------------------------------

# Templates as the configuration lets them through (it refuses the others at load time).
TEMPLATES = st.none() | st.one_of(
    st.sampled_from(["{text}", "{severity}: {text}", "{labels.host} {topic}", "{a.b.c}", "{}"]),
    st.text(alphabet="{}abc.!:0 ", max_size=12),
).filter(lambda template: template_problem(template) is None)


@settings(max_examples=400, deadline=None)
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        JSON_VALUES.map(_json).map(str.encode),
    ),
    mode=st.sampled_from(["auto", "text", "json"]),
    template=TEMPLATES,
    max_parts=st.integers(1, 4),
    max_bytes=st.integers(1, 400),
)
def test_every_rejected_payload_has_a_reason_and_a_detail(
    payload: bytes, mode: str, template: str | None, max_parts: int, max_bytes: int
) -> None:
    result = parse_payload(
        payload, topic="t/x", mode=mode, template=template, max_parts=max_parts, max_bytes=max_bytes
    )
    if isinstance(result, Rejection):
        assert isinstance(result.reason, Reason)
        assert isinstance(result.detail, str)
        assert result.detail.strip()
    else:
        assert isinstance(result, Alert)
        assert result.text.strip()


OPTION_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=20000),
    st.text(max_size=25),
    st.sampled_from(
        ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00+02:00", "2000-01-01T00:00:00Z", "tomorrow"]
    ),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def alert_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        draw(st.sampled_from(["text", "message"])): draw(
            st.one_of(st.text(max_size=40), st.integers(), st.none())
        )
    }
    if draw(st.booleans()):
        document[draw(st.sampled_from(["recipients", "to"]))] = draw(
            st.one_of(
                st.sampled_from(["alice", "team", "2799900009", "2799900123", "+27 99 900 0001"]),
                st.lists(
                    st.sampled_from(["alice", "bob", "team", "2799900009", "mallory", " ", ""]),
                    max_size=4,
                ),
                st.integers(),
            )
        )
    if draw(st.booleans()):
        document["priority"] = draw(
            st.one_of(
                st.integers(-2, 12), st.sampled_from(["low", "HIGH", "urgent", "5"]), st.floats()
            )
        )
    if draw(st.booleans()):
        document["options"] = draw(
            st.one_of(
                st.dictionaries(
                    st.sampled_from([*sorted(PAYLOAD_OPTIONS), "sender", "x"]),
                    OPTION_VALUES,
                    max_size=3,
                ),
                st.lists(st.integers(), max_size=2),
                st.text(max_size=5),
            )
        )
    return document


ROUTER_CONFIG: Final = """\
clickatell: {api_key: k}
contacts: {alice: "2799900001", bob: "2799900002"}
groups: {team: [alice, bob]}
allowlist: ["2799900009"]
routes:
  - {name: all, topic: alerts/#, recipients: [team]}
  - {name: fixed, topic: fixed/#, recipients: [bob], allow_payload_recipients: false}
"""


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(parse_config(ROUTER_CONFIG, "fuzz.yaml", environ={}))


def usable_options(options: dict[str, Any]) -> None:
    """What the dispatcher does with an alert's options: store them as JSON, rebuild them."""
    stored = json.loads(json.dumps(options, allow_nan=False))
    rebuilt = SendOptions.from_dict({**stored, "client_message_id": "c" * 32})
    for name in ("validity_period", "user_priority_queue"):
        value = getattr(rebuilt, name)
        assert value is None or (isinstance(value, int) and not isinstance(value, bool)), (
            f"{name}={value!r} accepted: the API takes whole numbers"
        )
    when = rebuilt.scheduled_delivery_time
    assert when is None or isinstance(when, datetime)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=alert_documents(), topic=st.sampled_from(["alerts/x", "fixed/y"]))
@example(
    document={"text": "a", "options": {"scheduled_delivery_time": "2030-01-01T00:00:00Z"}},
    topic="alerts/x",
)
@example(document={"text": "a", "options": {"validity_period": 5.5}}, topic="alerts/x")
def test_alert_json_gives_a_usable_alert_or_a_reasoned_rejection(
    router: Router, document: dict[str, Any], topic: str
) -> None:
    """A bug this fuzzing found (fixed): relay/clickatell_relay/payload.py `_options`.

    `scheduled_delivery_time` is one of the options a payload may carry
    (config.PAYLOAD_OPTIONS), but JSON gives a string and SendOptions called
    `.tzinfo` on it: AttributeError, which `_options` did not catch (only
    ClickatellError and TypeError). In the relay the exception escapes
    `_handle_burst` before the commit and the ack, ends the relay, and the
    broker redelivers the same alert after the restart: a crash loop. And
    `validity_period: 5.5` is accepted, for the API to refuse later.
    """
    payload = json.dumps(document).encode()
    route = router.route_for(topic)
    assert route is not None
    result = parse_payload(
        payload,
        topic=topic,
        mode=route.payload,
        max_parts=route.max_parts,
        payload_options=PAYLOAD_OPTIONS,  # every option a route can allow, to fuzz them all
    )
    if isinstance(result, Rejection):
        assert isinstance(result.reason, Reason)
        assert result.detail.strip()
        return
    usable_options(result.options)
    routed = router.resolve(route, result)
    if isinstance(routed, Rejection):
        assert routed.reason in {
            Reason.UNKNOWN_RECIPIENT,
            Reason.RECIPIENTS_NOT_ALLOWED,
            Reason.NO_RECIPIENTS,
        }
        assert routed.detail.strip()
    else:
        assert isinstance(routed, Routed)
        assert routed.numbers
        assert set(routed.numbers) <= router._config.allowlist
        assert 0 <= routed.priority <= 9


# Configuration ------------------------------------------------------------------------------

_KEYS = [
    "mqtt",
    "clickatell",
    "queue",
    "limits",
    "status",
    "routes",
    "contacts",
    "groups",
    "allowlist",
    "topic",
    "port",
    "recipients",
    "api",
    "api_key",
    "api_key_file",
    "digest",
    "wait",
    "priority",
    "max_parts",
    "log_level",
    "x",
]
_SCALARS = st.one_of(
    st.integers(-5, 70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(alphabet=string.printable, max_size=12),
    st.sampled_from(["alerts/#", "#/bad", "2799900001", "30s", "5m", "high", "${UNSET}", "rest"]),
)
_YAMLISH = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(_KEYS), children, max_size=5),
    ),
    max_leaves=25,
)


def check_problems(error: ConfigError) -> None:
    """Every problem: a message, and the line it is at."""
    assert error.problems
    for problem in error.problems:
        assert problem.message.strip()
        assert problem.position is not None, f"no line for {problem.message!r}"
        assert problem.position.line >= 1
        assert str(problem).startswith(f"fuzz.yaml:{problem.position.line}: ")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.dictionaries(st.sampled_from(_KEYS), _YAMLISH, min_size=1, max_size=6))
def test_every_config_problem_in_a_mapping_has_a_line_and_a_message(
    document: dict[str, object],
) -> None:
    text = json.dumps(document)  # JSON is YAML (NaN and Infinity arrive as strings)
    try:
        parse_config(text, "fuzz.yaml", environ={})
    except ConfigError as error:
        check_problems(error)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=string.printable + "\x00\x07äé€\t", max_size=200))
@example(text="")  # an empty file
@example(text="- a list\n")  # not a mapping
@example(text="api: \x00")  # a character YAML refuses
def test_every_config_problem_in_any_text_has_a_line_and_a_message(text: str) -> None:
    """A bug this fuzzing found (fixed): relay/clickatell_relay/config.py `parse_config`.

    The README promises `file:line: message` for every problem, but three
    kinds carried no position: "the configuration must be a mapping" (the
    document's start mark is not used), a yaml.reader.ReaderError such as
    "unacceptable character #x0" (not a MarkedYAMLError, though it knows its
    position), and every problem of an empty file (the empty document gets no
    position; line 1 would do).
    """
    try:
        parse_config(text, "fuzz.yaml", environ={})
    except ConfigError as error:
        check_problems(error)

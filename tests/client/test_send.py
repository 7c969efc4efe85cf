"""Sending through every flavour: results, and the exact requests the seeds prescribe."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, parse_qsl
from xml.etree import ElementTree as ET

import pytest

from aioclickatell import (
    ApiFlavour,
    ClickatellInvalidRecipientError,
    ClickatellInvalidRequestError,
    ClickatellPaymentRequiredError,
    ClickatellUnsupportedError,
    Encoding,
    Operation,
    Overflow,
    SendOptions,
)
from clickatell_relay.simulator import RecordedRequest, Simulator

from .conftest import API_ID, API_KEY, PASSWORD, SETUPS, USERNAME, ClientFactory, Setup

MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
GOOD = ["2799900001", "2799900002"]


def form(setup: Setup, simulator: Simulator) -> dict[str, list[str]]:
    """The parameters of the last HTTP API request, from the query or the body."""
    request = simulator.requests[-1]
    if setup.options.get("http_method") == "GET":
        assert request.body == ""
        return {key: [value] for key, value in request.query.items()}
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    return parse_qs(request.body)


async def test_send_accepts_every_recipient(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(setup)
    result = await client.send(GOOD, "Hello from the test")
    assert [message.to for message in result.messages] == GOOD
    assert all(message.accepted for message in result.messages)
    assert all(MESSAGE_ID.fullmatch(message.api_message_id or "") for message in result.messages)
    assert result.requests == 1
    assert result.plan.parts == 1
    assert result.plan.encoding is Encoding.GSM7
    recorded = {message.api_message_id: message for message in simulator.messages}
    for message in result.messages:
        assert message.api_message_id is not None
        assert recorded[message.api_message_id].to == message.to
        assert recorded[message.api_message_id].text == "Hello from the test"


async def test_rest_json_request_is_the_seeds(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    await make_client(SETUPS[0]).send(GOOD, "My message")
    request = simulator.requests[-1]
    assert (request.method, request.path) == ("POST", "/rest/message")
    assert request.headers["X-Version"] == "1"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.body) == {"text": "My message", "to": GOOD}
    assert request.status == 202


async def test_rest_xml_request_is_the_seeds(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    await make_client(SETUPS[1]).send(GOOD, "Test Message")
    request = simulator.requests[-1]
    assert request.headers["Content-Type"] == "application/xml"
    assert request.headers["Accept"] == "application/xml"
    root = ET.fromstring(request.body)  # noqa: S314 - our own request
    assert root.tag == "request"
    assert root.findtext("data/text") == "Test Message"
    assert [to.text for to in root.findall("data/to")] == GOOD


async def test_one_api_request(simulator: Simulator, make_client: ClientFactory) -> None:
    await make_client(SETUPS[2]).send(GOOD, "Hello")
    request = simulator.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/message")
    assert request.headers["Authorization"] == API_KEY  # the raw key, no "Bearer"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "messages": [{"channel": "sms", "to": to, "content": "Hello"} for to in GOOD]
    }


async def test_platform_messages_json_request_is_seed_003(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    options = SendOptions(sender="380671234567", client_message_id="uuid-1", validity_period=1)
    await make_client(SETUPS[3]).send(GOOD, "string", options)
    request = simulator.requests[-1]
    assert (request.method, request.path) == ("POST", "/messages")
    assert request.headers["Authorization"] == API_KEY
    assert json.loads(request.body) == {
        "content": "string",
        "to": GOOD,
        "from": "380671234567",
        "clientMessageId": "uuid-1",
        "validityPeriod": 1,
    }


async def test_platform_messages_xml_request_is_seed_003(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    await make_client(SETUPS[4]).send(GOOD, "string", SendOptions(binary=None, sender="Alerts"))
    request = simulator.requests[-1]
    root = ET.fromstring(request.body)  # noqa: S314 - our own request
    assert root.tag == "SendMessageRequest"
    assert root.findtext("Content") == "string"
    assert [to.text for to in root.findall("To")] == GOOD
    assert root.findtext("From") == "Alerts"


@pytest.mark.parametrize("setup", SETUPS[5:], ids=["http-post", "http-get"])
async def test_http_request_is_seed_004(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    await make_client(setup).send(GOOD, "Hello there")
    request = simulator.requests[-1]
    assert request.path == "/http/sendmsg"
    assert request.method == setup.options.get("http_method", "POST")
    assert form(setup, simulator) == {
        "user": [USERNAME],
        "password": [PASSWORD],
        "api_id": [API_ID],
        "to": [",".join(GOOD)],
        "text": ["Hello there"],
    }


async def test_every_rest_option_travels_under_its_seed_name(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    options = SendOptions(
        sender="27831234567",
        client_message_id="2993b6b548",
        scheduled_delivery_time=when,
        validity_period=25,
        unicode=False,
        binary=False,
        udh="0605040B8423F0",
        max_message_parts=3,
        callback=7,
        user_priority_queue=1,
        escalate=True,
        max_credits=1.5,
        message_type="SMS_FLASH",
        mo=True,
        required_features=3,
        bypass_dnc_check=True,
    )
    await make_client(SETUPS[0]).send(GOOD, "All options", options)
    assert json.loads(simulator.requests[-1].body) == {
        "text": "All options",
        "to": GOOD,
        "from": "27831234567",
        "clientMessageId": "2993b6b548",
        "scheduledDeliveryTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validityPeriod": 25,
        "unicode": 0,
        "binary": 0,
        "udh": "0605040B8423F0",
        "maxMessageParts": 3,
        "callback": 7,
        "userPriorityQueue": 1,
        "escalate": 1,
        "maxCredits": 1.5,
        "type": "SMS_FLASH",
        "mo": 1,
        "requiredFeatures": 3,
        "bypassDNCCheck": 1,
    }


async def test_http_options_use_the_http_api_names(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    options = SendOptions(
        sender="Alerts",
        client_message_id="abc123",
        validity_period=60,
        max_message_parts=2,
        callback=3,
        user_priority_queue=2,
        escalate=False,
        max_credits=2,
        message_type="SMS_TEXT",
        mo=False,
        required_features=1,
        bypass_dnc_check=False,
    )
    setup = SETUPS[5]
    await make_client(setup).send(GOOD[:1], "Hi", options)
    fields = form(setup, simulator)
    assert {key: values[0] for key, values in fields.items()} == {
        "user": USERNAME,
        "password": PASSWORD,
        "api_id": API_ID,
        "to": GOOD[0],
        "text": "Hi",
        "from": "Alerts",
        "climsgid": "abc123",
        "validity": "60",
        "concat": "2",
        "msg_callback": "3",
        "queue": "2",
        "escalate": "0",
        "max_credits": "2",
        "msg_type": "SMS_TEXT",
        "mo": "0",
        "req_feat": "1",
        "bypass_dnc_check": "0",
    }


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (SETUPS[0], {"unicode": 1}),
        (SETUPS[5], {"unicode": "1"}),
        (SETUPS[2], {}),
    ],
    ids=["rest", "http", "one-api"],
)
async def test_unicode_text_is_flagged_and_arrives_whole(
    setup: Setup, expected: dict[str, object], simulator: Simulator, make_client: ClientFactory
) -> None:
    text = "Грозовое предупреждение ⚡"
    result = await make_client(setup).send(GOOD[:1], text)
    assert result.plan.encoding is Encoding.UCS2
    assert simulator.messages[-1].text == text
    assert simulator.messages[-1].encoding == "UCS-2"
    request = simulator.requests[-1]
    if setup.api is ApiFlavour.REST:
        assert json.loads(request.body)["unicode"] == expected["unicode"]
    elif setup.api is ApiFlavour.HTTP:
        fields = form(setup, simulator)
        assert fields["unicode"] == [expected["unicode"]]
        assert fields["text"] == [text.encode("utf-16-be").hex().upper()]
    else:
        assert "unicode" not in request.body


async def test_unsupported_option_is_refused_before_sending(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[2])
    with pytest.raises(ClickatellUnsupportedError, match="user_priority_queue"):
        await client.send(GOOD, "Hi", SendOptions(user_priority_queue=1))
    assert simulator.requests == []


async def test_mixed_batch_gives_per_recipient_results(
    setup: Setup, make_client: ClientFactory
) -> None:
    recipients = ["2799900001", "2799999105", "2799999121", "2799900002", "2799999122"]
    result = await make_client(setup).send(recipients, "Mixed")
    by_number = {message.to: message for message in result.messages}
    assert set(by_number) == set(recipients)
    assert by_number["2799900001"].accepted
    assert by_number["2799900002"].accepted
    rejected = {message.to for message in result.rejected}
    assert rejected == {"2799999105", "2799999121", "2799999122"}
    for number in rejected:
        assert by_number[number].api_message_id is None
        assert by_number[number].error_code is not None
        assert by_number[number].error_description


async def test_all_rejected_is_a_result_not_an_exception(
    setup: Setup, make_client: ClientFactory
) -> None:
    result = await make_client(setup).send(["2799999114"], "Nobody home")
    assert len(result.rejected) == 1
    assert result.rejected[0].to == "2799999114"
    assert result.accepted == ()


@pytest.mark.parametrize(
    ("setup", "batch", "recipients", "sizes"),
    [
        (SETUPS[0], 200, 450, [200, 200, 50]),
        (SETUPS[0], 600, 601, [600, 1]),
        (SETUPS[2], 200, 201, [200, 1]),
        (SETUPS[6], 300, 301, [300, 1]),
        (SETUPS[5], 600, 1200, [600, 600]),
    ],
    ids=["rest-200", "rest-600", "platform-200", "http-get-300", "http-post-600"],
)
async def test_batches_never_exceed_the_limit(
    setup: Setup,
    batch: int,
    recipients: int,
    sizes: list[int],
    simulator: Simulator,
    make_client: ClientFactory,
) -> None:
    simulator.account.balance = Decimal(recipients)  # one credit each outside 279991/1999
    numbers = [f"27999{index:05d}" for index in range(recipients)]
    result = await make_client(setup, max_batch_size=batch).send(numbers, "Fan-out")
    assert result.requests == len(sizes)
    assert len(result.accepted) == recipients
    assert len(simulator.messages) == recipients
    assert [recipients_in(request, setup) for request in simulator.requests] == sizes


def recipients_in(request: RecordedRequest, setup: Setup) -> int:
    """How many recipients one recorded send request carried."""
    if setup.api is ApiFlavour.HTTP:
        fields = request.query if request.method == "GET" else dict(parse_qsl(request.body))
        return len(fields["to"].split(","))
    body = json.loads(request.body)
    return len(body["messages"] if setup.api is ApiFlavour.PLATFORM else body["to"])


@pytest.mark.parametrize(
    ("setup", "too_many"),
    [(SETUPS[0], 601), (SETUPS[2], 201), (SETUPS[6], 301), (SETUPS[5], 601)],
    ids=["rest", "platform", "http-get", "http-post"],
)
def test_batch_size_above_the_ceiling_is_a_configuration_error(
    setup: Setup, too_many: int, make_client: ClientFactory
) -> None:
    with pytest.raises(ClickatellInvalidRequestError, match="max_batch_size"):
        make_client(setup, max_batch_size=too_many)


async def test_numbers_are_normalized_and_deduplicated(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0], default_region="ZA")
    result = await client.send(["+27 83 123 4567", "0027831234567", "083-123-4567"], "Hi")
    assert [message.to for message in result.messages] == ["27831234567"]
    assert json.loads(simulator.requests[-1].body)["to"] == ["27831234567"]


async def test_invalid_numbers_are_named_and_nothing_is_sent(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0])
    with pytest.raises(ClickatellInvalidRecipientError) as caught:
        await client.send(["2799900001", "12345", "not a number"], "Hi")
    assert caught.value.numbers == ["12345", "not a number"]
    assert "'12345'" in str(caught.value)
    assert simulator.requests == []


async def test_long_text_is_refused_past_the_maximum_parts(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0])
    with pytest.raises(ClickatellInvalidRequestError, match="needs 3 parts"):
        await client.send(GOOD, "x" * 307, SendOptions(max_message_parts=2))
    assert simulator.requests == []


async def test_long_text_is_truncated_when_configured(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0], overflow=Overflow.TRUNCATE)
    result = await client.send(GOOD[:1], "word " * 100, SendOptions(max_message_parts=2))
    assert result.plan.truncated
    assert result.plan.parts == 2
    sent = json.loads(simulator.requests[-1].body)["text"]
    assert sent.endswith("...")
    assert len(sent) <= 306
    assert simulator.messages[-1].parts == 2


async def test_multipart_messages_are_charged_per_part(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    before = simulator.account.balance
    result = await make_client(SETUPS[0]).send(["27831234567"], "y" * 161)
    assert result.plan.parts == 2
    assert simulator.messages[-1].parts == 2
    assert before - simulator.account.balance == 2


async def test_a_failed_later_batch_reports_what_went_out(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.account.balance = Decimal("2.5")
    client = make_client(SETUPS[0], max_batch_size=2)
    numbers = ["27831234567", "27831234568", "27831234569", "27831234560"]
    with pytest.raises(ClickatellPaymentRequiredError) as caught:
        await client.send(numbers, "Costly")
    partial = caught.value.partial_result
    assert partial is not None
    assert [message.to for message in partial.accepted] == numbers[:2]
    assert partial.requests == 1


async def test_send_batch_takes_one_request(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0], max_batch_size=3)
    result = await client.send_batch(["2799900001", "2799900002", "2799900003"], "One go")
    assert result.requests == 1
    assert len(simulator.requests) == 1
    with pytest.raises(ClickatellInvalidRequestError, match="1 to 3 recipients"):
        await client.send_batch([f"279990000{i}" for i in range(4)], "Too many")


STOPPERS = [setup for setup in SETUPS if setup.api is not ApiFlavour.PLATFORM]


@pytest.mark.parametrize("setup", STOPPERS, ids=[setup.name for setup in STOPPERS])
async def test_scheduled_message_can_be_stopped(setup: Setup, make_client: ClientFactory) -> None:
    client = make_client(setup)
    assert client.supports(Operation.STOP)
    when = datetime.now(UTC) + timedelta(hours=2)
    result = await client.send(GOOD[:1], "Later", SendOptions(scheduled_delivery_time=when))
    message_id = result.messages[0].api_message_id
    assert message_id is not None
    stopped = await client.stop(message_id)
    assert stopped.stopped
    assert stopped.status == "006"
    assert stopped.api_message_id == message_id


async def test_a_delivered_message_cannot_be_stopped(make_client: ClientFactory) -> None:
    client = make_client(SETUPS[0])
    result = await client.send(GOOD[:1], "Now")
    stopped = await client.stop(str(result.messages[0].api_message_id))
    assert not stopped.stopped
    assert stopped.status == "004"


async def test_progress_is_told_after_each_request(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    seen: list[tuple[int, int]] = []
    numbers = [f"2799900{index:03d}" for index in range(5)]
    client = make_client(SETUPS[0], max_batch_size=2)
    await client.send(numbers, "Hi", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]

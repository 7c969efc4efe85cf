"""Two-way end to end: the simulator calls back, the client reads it; status queries over HTTP."""

from __future__ import annotations

import asyncio
from typing import Final

import pytest
from simulator.receiver import CallbackReceiver, Received

from aioclickatell import (
    ApiFlavour,
    ClickatellInvalidRequestError,
    DeliveryStatus,
    InboundMessage,
    MessageStatus,
    RetryPolicy,
    SendOptions,
    parse_callback,
)
from clickatell_relay.simulator import Simulator, Timings

from .conftest import SETUPS, ClientFactory, Setup

FAST: Final = Timings(callback_retry_delays=(0.01,), mo_retry_delays=(0.01,))
LEGACY_METHODS: Final = ["get", "post", "xml", "json"]
QUICK: Final = RetryPolicy(attempts=2, initial_delay=0.05, max_delay=0.1, deadline=5)


def parsed(api: ApiFlavour, request: Received) -> list[DeliveryStatus | InboundMessage]:
    """What the client makes of a callback, given what a web server has of the request."""
    return parse_callback(
        api, body=request.body, content_type=request.content_type, query=request.query
    )


async def settle(simulator: Simulator) -> None:
    async with asyncio.timeout(5):
        await simulator.callbacks_settled()


# Each setup; the legacy ones in each of the portal's callback methods.
CALLBACK_CASES: Final = [
    (setup, method)
    for setup in SETUPS
    for method in (["json"] if setup.api is ApiFlavour.PLATFORM else LEGACY_METHODS)
]


@pytest.mark.parametrize(
    ("setup", "method"),
    CALLBACK_CASES,
    ids=[f"{setup}-{method}" for setup, method in CALLBACK_CASES],
)
async def test_every_status_callback_reads_back(
    setup: Setup,
    simulator: Simulator,
    make_client: ClientFactory,
    receiver: CallbackReceiver,
    method: str,
) -> None:
    """For each flavour (and each legacy method), what the simulator sends the client reads."""
    simulator.timings = FAST
    simulator.account.callback_url = receiver.url()
    simulator.account.callback_method = method
    legacy = setup.api is not ApiFlavour.PLATFORM
    options = SendOptions(client_message_id="alert-9", callback=3 if legacy else None)
    client = make_client(setup)
    result = await client.send(["2799900001"], "Hi", options)
    message_id = result.accepted[0].api_message_id
    await settle(simulator)
    events = [event for request in receiver.received for event in parsed(setup.api, request)]
    assert all(isinstance(event, DeliveryStatus) for event in events)
    statuses = [event.status for event in events if isinstance(event, DeliveryStatus)]
    expected = [MessageStatus.DELIVERED_TO_GATEWAY, MessageStatus.DELIVERED]
    assert statuses == ([] if legacy else [MessageStatus.QUEUED]) + expected
    for event in events:
        assert isinstance(event, DeliveryStatus)
        assert event.api_message_id == message_id
        assert event.client_message_id == "alert-9"
        assert event.timestamp is not None


@pytest.mark.parametrize(
    ("number", "final"),
    [
        ("2799998007", MessageStatus.FAILED),
        ("2799998010", MessageStatus.EXPIRED),
        ("2799998012", MessageStatus.OUT_OF_CREDIT),
    ],
)
async def test_failure_destinations_read_back(
    setup: Setup,
    simulator: Simulator,
    make_client: ClientFactory,
    receiver: CallbackReceiver,
    number: str,
    final: MessageStatus,
) -> None:
    simulator.timings = FAST
    simulator.account.callback_url = receiver.url()
    legacy = setup.api is not ApiFlavour.PLATFORM
    client = make_client(setup)
    await client.send([number], "Hi", SendOptions(callback=4 if legacy else None))
    await settle(simulator)
    last = parsed(setup.api, receiver.received[-1])[-1]
    assert isinstance(last, DeliveryStatus)
    assert last.status is final
    assert last.status.failed


@pytest.mark.parametrize(
    ("mo_format", "api"),
    [
        ("get", ApiFlavour.HTTP),
        ("post", ApiFlavour.REST),
        ("one_api", ApiFlavour.PLATFORM),
        ("messages", ApiFlavour.PLATFORM),
    ],
)
@pytest.mark.parametrize("text", ["YES please", "Café", "Привет 👍", "中文 ok"])
async def test_every_reply_reads_back(
    simulator: Simulator, receiver: CallbackReceiver, mo_format: str, api: ApiFlavour, text: str
) -> None:
    simulator.account.mo_url = receiver.url("/mo")
    simulator.account.mo_format = mo_format
    message_id = simulator.inject_inbound(
        "2799900001", "2799900999", text, keyword="YES", related_message_id="b" * 32
    )
    (request,) = await receiver.wait_for(1)
    event = parsed(api, request)[0]
    assert isinstance(event, InboundMessage)
    assert (event.message_id, event.sender, event.to, event.text) == (
        message_id,
        "2799900001",
        "2799900999",
        text,
    )
    assert event.timestamp is not None
    if mo_format in ("one_api", "messages"):  # the legacy reply has neither
        assert (event.keyword, event.related_message_id) == ("YES", "b" * 32)


# ---- status queries ---------------------------------------------------------------------------


async def test_message_status_follows_the_message(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.timings = Timings(gateway_delay=1.0)
    client = make_client(setup)
    message_id = (await client.send(["2799900001"], "Hi")).accepted[0].api_message_id
    assert message_id is not None
    first = await client.message_status(message_id)
    assert (first.api_message_id, first.status) == (message_id, MessageStatus.QUEUED)
    for _ in range(100):  # a query every 50 ms, for up to 5 s
        later = await client.message_status(message_id)
        if later.status is not MessageStatus.QUEUED:
            break
        await asyncio.sleep(0.05)
    assert later.status is MessageStatus.DELIVERED
    assert later.status_code in {"004", "5"}
    assert not later.status.failed


async def test_message_status_of_an_unknown_message(
    setup: Setup, make_client: ClientFactory
) -> None:
    status = await make_client(setup).message_status("0" * 32)
    assert status.status is MessageStatus.UNKNOWN


async def test_message_status_of_a_failure_destination(
    setup: Setup, make_client: ClientFactory
) -> None:
    client = make_client(setup)
    message_id = (await client.send(["2799998009"], "Hi")).accepted[0].api_message_id
    assert message_id is not None
    status = await client.message_status(message_id)
    assert status.status is MessageStatus.FAILED
    assert status.status_text in {"Routing error", "ROUTING_ERROR"}


@pytest.mark.parametrize("message_id", ["", "a b", "../balance"])
async def test_message_status_refuses_a_malformed_id(
    make_client: ClientFactory, simulator: Simulator, message_id: str
) -> None:
    with pytest.raises(ClickatellInvalidRequestError):
        await make_client(SETUPS[0]).message_status(message_id)
    assert simulator.requests == []


async def test_message_status_is_a_read_a_timeout_is_retried(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0], retry=QUICK, request_timeout=0.2)
    message_id = (await client.send(["2799900001"], "Hi")).accepted[0].api_message_id
    assert message_id is not None
    simulator.inject("slow", count=1, delay=0.5)
    status = await client.message_status(message_id)
    assert status.status is MessageStatus.DELIVERED

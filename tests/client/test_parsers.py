"""Fuzzing every response parser: any answer is a result or a ClickatellError, never a crash."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioclickatell import ClickatellError, ContentFormat, HttpMethod, PlatformEndpoint
from aioclickatell.const import ApiFlavour
from aioclickatell.flavours import ApiResponse, Credentials, Flavour, flavour_for

CREDENTIALS = Credentials(api_key="k", username="u", password="p", api_id="1")
FLAVOURS: list[Flavour] = [
    flavour_for(ApiFlavour.REST, CREDENTIALS),
    flavour_for(ApiFlavour.REST, CREDENTIALS, content_format=ContentFormat.XML),
    flavour_for(ApiFlavour.PLATFORM, CREDENTIALS),
    flavour_for(
        ApiFlavour.PLATFORM,
        CREDENTIALS,
        platform_endpoint=PlatformEndpoint.MESSAGES,
        content_format=ContentFormat.XML,
    ),
    flavour_for(ApiFlavour.HTTP, CREDENTIALS, http_method=HttpMethod.GET),
]
IDS = ["rest-json", "rest-xml", "one-api", "messages-xml", "http"]

Parser = Callable[[Flavour, ApiResponse], object]
PARSERS: dict[str, Parser] = {
    "send": lambda flavour, response: flavour.parse_send(response, ["2799900001", "2799900002"]),
    "send-one": lambda flavour, response: flavour.parse_send(response, ["2799900001"]),
    "balance": lambda flavour, response: flavour.parse_balance(response),
    "coverage": lambda flavour, response: flavour.parse_coverage(response, "2799900001"),
    "stop": lambda flavour, response: flavour.parse_stop(response, "abc"),
}

STATUSES = st.sampled_from([200, 202, 207, 400, 401, 402, 404, 410, 429, 500, 503, 302, 204])
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/xml", "text/xml", "text/plain", "text/html", ""]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "message",
                    "messages",
                    "error",
                    "errorCode",
                    "to",
                    "accepted",
                    "apiMessageId",
                    "balance",
                    "routable",
                    "minimumCharge",
                    "messageStatus",
                    "code",
                    "description",
                    "destination",
                    "currency",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
TAGS = st.sampled_from(
    [
        "response",
        "data",
        "message",
        "error",
        "code",
        "to",
        "accepted",
        "apiMessageId",
        "balance",
        "routable",
        "Messages",
        "Message",
        "ApiMessageId",
        "Accepted",
        "To",
        "ErrorCode",
    ]
)


@st.composite
def xml_documents(draw: st.DrawFn) -> str:
    def grow(parent: Element, depth: int) -> None:
        for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
            child = SubElement(parent, draw(TAGS))
            child.text = draw(st.none() | st.text(alphabet="0123456789abtruefls. ", max_size=8))
            grow(child, depth + 1)

    root = Element(draw(TAGS))
    grow(root, 0)
    return tostring(root, encoding="unicode")


TEXT_LINES = st.lists(
    st.sampled_from(
        [
            "ID: abc",
            "ID: abc To: 2799900001",
            "ERR: 105, Bad To: 2799900002",
            "ERR: 001, Authentication failed",
            "Credit: 12.5",
            "Credit: x",
            "OK: routed Charge: 0.8",
            "ERR: not supported",
            "ID: x Status: 006",
            "junk",
        ]
    )
    | st.text(max_size=40),
    max_size=4,
).map("\n".join)


def check(parse: Parser, flavour: Flavour, response: ApiResponse) -> None:
    with contextlib.suppress(ClickatellError):
        parse(flavour, response)


@pytest.mark.parametrize("flavour", FLAVOURS, ids=IDS)
@pytest.mark.parametrize("parser", list(PARSERS), ids=list(PARSERS))
@settings(max_examples=60, deadline=None)
@given(
    status=STATUSES,
    content_type=CONTENT_TYPES,
    body=st.one_of(
        st.text(max_size=200),
        JSON_VALUES.map(json.dumps),
        xml_documents(),
        TEXT_LINES,
    ),
)
def test_no_answer_crashes_a_parser(
    flavour: Flavour, parser: str, status: int, content_type: str, body: str
) -> None:
    response = ApiResponse(status=status, content_type=content_type, text=body)
    check(PARSERS[parser], flavour, response)


@pytest.mark.parametrize("flavour", FLAVOURS, ids=IDS)
@settings(max_examples=80, deadline=None)
@given(payload=JSON_VALUES)
def test_well_typed_json_of_any_shape(flavour: Flavour, payload: Any) -> None:
    response = ApiResponse(status=200, content_type="application/json", text=json.dumps(payload))
    for parse in PARSERS.values():
        check(parse, flavour, response)


@pytest.mark.parametrize(
    "body",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><response>&e;</response>',
        '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><response>&b;</response>',
    ],
    ids=["external-entity", "entity-expansion"],
)
def test_hostile_xml_is_refused(body: str) -> None:
    flavour = FLAVOURS[1]
    response = ApiResponse(status=200, content_type="application/xml", text=body)
    with pytest.raises(ClickatellError):
        flavour.parse_balance(response)

"""The payload parser: every rejection class, templates, and property tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioclickatell import plan_message
from clickatell_relay.payload import (
    Alert,
    Reason,
    Rejection,
    parse_payload,
    render_template,
    template_problem,
)


def test_plain_text() -> None:
    assert parse_payload(b"  Disk full on web1 \n") == Alert(text="Disk full on web1")


def test_json_with_text_recipients_priority_and_options() -> None:
    payload = json.dumps(
        {
            "message": "Fire!",
            "to": ["alice", "2799900002"],
            "priority": "critical",
            "options": {"validity_period": 30},
        }
    ).encode()
    assert parse_payload(payload, payload_options=frozenset({"validity_period"})) == Alert(
        text="Fire!",
        recipients=("alice", "2799900002"),
        priority=9,
        options={"validity_period": 30},
    )


@pytest.mark.parametrize(
    "payload", [b"{not json}", b'{"text": "cut off', b"[WARN] disk full", b"[1, 2]"]
)
def test_auto_mode_refuses_what_looks_like_json_and_is_no_alert(payload: bytes) -> None:
    """Such a payload was sent verbatim as text: a broken alert, half a JSON document."""
    result = parse_payload(payload)
    assert isinstance(result, Rejection)
    assert result.reason is Reason.BAD_JSON


def test_auto_mode_takes_other_text_as_it_is() -> None:
    assert parse_payload(b"WARN: {disk} [full]") == Alert(text="WARN: {disk} [full]")


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ({"title": "Garage", "text": "Door open"}, "Garage\nDoor open"),
        ({"title": "  Garage ", "message": " Door open "}, "Garage\nDoor open"),
        ({"title": "", "text": "Door open"}, "Door open"),
        ({"title": " ", "text": "Door open"}, "Door open"),
        ({"title": None, "text": "Door open"}, "Door open"),
    ],
)
def test_a_title_goes_on_the_first_line(document: dict[str, object], text: str) -> None:
    """As the integration's notify entities put it (SMS has no subject); a title was ignored."""
    assert parse_payload(json.dumps(document).encode()) == Alert(text=text)


def test_a_title_that_is_no_text_is_refused() -> None:
    result = parse_payload(b'{"title": ["Garage"], "text": "Door open"}')
    assert result == Rejection(reason=Reason.BAD_JSON, detail="title must be a string")


def test_a_route_template_places_the_title_itself() -> None:
    payload = b'{"title": "Garage", "text": "Door open"}'
    assert parse_payload(payload, template="{title}: {text}") == Alert(text="Garage: Door open")


def test_the_title_counts_towards_max_parts() -> None:
    payload = json.dumps({"title": "T" * 100, "text": "x" * 60}).encode()
    assert parse_payload(payload.replace(b"T" * 100, b""), max_parts=1) == Alert(text="x" * 60)
    result = parse_payload(payload, max_parts=1)
    assert isinstance(result, Rejection)
    assert result.reason is Reason.TOO_LONG


def test_template_formats_json_fields() -> None:
    payload = json.dumps({"text": "disk full", "labels": {"host": "web1"}, "level": 3}).encode()
    alert = parse_payload(payload, template="[{level}] {labels.host}: {text}", topic="t")
    assert alert == Alert(text="[3] web1: disk full")


def test_template_on_plain_text_knows_text_and_topic() -> None:
    alert = parse_payload(b"down", template="{topic}: {text}", topic="alerts/db")
    assert alert == Alert(text="alerts/db: down")


@pytest.mark.parametrize(
    ("payload", "kwargs", "reason"),
    [
        (b"\xff\xfe", {}, Reason.NOT_UTF8),
        (b"", {}, Reason.EMPTY),
        (b" \n\t", {}, Reason.EMPTY),
        (b"text", {"mode": "json"}, Reason.NOT_JSON),
        (b"[1]", {"mode": "json"}, Reason.BAD_JSON),
        (b'{"text": 5}', {}, Reason.BAD_JSON),
        (b'{"severity": "x"}', {}, Reason.BAD_JSON),
        (b'{"text": "  "}', {}, Reason.EMPTY),
        (b'{"text": "a", "priority": "urgent"}', {}, Reason.BAD_JSON),
        (b'{"text": "a", "recipients": []}', {}, Reason.BAD_JSON),
        (b'{"text": "a", "recipients": [1]}', {}, Reason.BAD_JSON),
        (b'{"text": "a", "options": {"sender": "x"}}', {}, Reason.BAD_OPTIONS),
        (b'{"text": "a", "options": {"validity_period": 5}}', {}, Reason.BAD_OPTIONS),
        (
            b'{"text": "a", "options": {"validity_period": 5}}',
            {"payload_options": frozenset({"scheduled_delivery_time"})},
            Reason.BAD_OPTIONS,
        ),
        (
            b'{"text": "a", "options": {"validity_period": -1}}',
            {"payload_options": frozenset({"validity_period"})},
            Reason.BAD_OPTIONS,
        ),
        (b'{"text": "a", "n": NaN}', {"mode": "json"}, Reason.NOT_JSON),
        (b'{"text": "a"}', {"template": "{missing}"}, Reason.TEMPLATE),
        (b"x" * 161, {"max_parts": 1}, Reason.TOO_LONG),
        (b"x" * 100, {"max_bytes": 99}, Reason.TOO_LARGE),
        ("中".encode() * 71, {"max_parts": 1}, Reason.TOO_LONG),  # UCS-2: 70 per SMS
    ],
)
def test_rejections(payload: bytes, kwargs: dict[str, object], reason: Reason) -> None:
    result = parse_payload(payload, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.detail


def test_template_problems_are_found_before_use() -> None:
    assert template_problem("{a} {b.c}") is None
    # Dotted names only ever look up JSON object keys, never Python attributes.
    assert isinstance(render_template("{a.__class__}", {"a": {}}), Rejection)
    assert isinstance(render_template("{text.upper}", {"text": "x"}), Rejection)
    assert template_problem("{a[0]}") is not None
    assert template_problem("{a!r}") is not None
    assert template_problem("{a:>10}") is not None
    assert template_problem("{unclosed") is not None
    assert render_template("{{literal}} {a}", {"a": [1, 2]}) == "{literal} [1,2]"


# Property tests -------------------------------------------------------------------

MODES = st.sampled_from(["auto", "text", "json"])


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=600), mode=MODES, max_parts=st.integers(1, 4))
def test_any_bytes_give_an_alert_or_a_rejection(payload: bytes, mode: str, max_parts: int) -> None:
    result = parse_payload(payload, mode=mode, max_parts=max_parts, max_bytes=500)
    assert isinstance(result, Alert | Rejection)
    if isinstance(result, Alert):
        assert result.text == result.text.strip()
        assert result.text
        assert plan_message(result.text).parts <= max_parts


@settings(max_examples=300, deadline=None)
@given(text=st.text(min_size=1, max_size=300), max_parts=st.integers(1, 3))
def test_json_text_round_trips(text: str, max_parts: int) -> None:
    payload = json.dumps({"text": text, "priority": "low"}).encode()
    result = parse_payload(payload, mode="json", max_parts=max_parts)
    stripped = text.strip()
    if not stripped:
        assert isinstance(result, Rejection)
        assert result.reason is Reason.EMPTY
    elif isinstance(result, Rejection):
        assert result.reason is Reason.TOO_LONG
        assert plan_message(stripped).parts > max_parts
    else:
        assert result.text == stripped
        assert result.priority == 1


@settings(max_examples=300, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=15,
    ),
    template=st.sampled_from([None, "{text}", "{a}: {text}", "{topic}"]),
)
def test_any_json_value_gives_an_alert_or_a_rejection(value: object, template: str | None) -> None:
    result = parse_payload(json.dumps(value).encode(), mode="json", template=template, topic="t")
    assert isinstance(result, Alert | Rejection)
    if isinstance(result, Rejection):
        assert result.detail

"""Send options: typed and validated, whether they come from code, YAML or JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aioclickatell import ClickatellInvalidOptionError, ClickatellInvalidRequestError, SendOptions


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"validity_period": 5.5}, "validity_period: expected int"),
        ({"validity_period": True}, "validity_period: expected a number"),
        ({"scheduled_delivery_time": 3}, "scheduled_delivery_time: expected a time"),
        ({"scheduled_delivery_time": "soon"}, "scheduled_delivery_time: expected an ISO 8601"),
        ({"unicode": "yes"}, "unicode: expected bool"),
        ({"sender": 27831234567}, "sender: expected str"),
        ({"max_credits": float("inf")}, "max_credits: expected a finite number"),
        ({"max_credits": 1.2}, "max_credits: one of 0.8, 1, 1.5, 2, 2.5, 3"),
        ({"user_priority_queue": 4}, "user_priority_queue: must be 1 to 3"),
        ({"client_message_id": "has space"}, "client_message_id: 1 to 64 characters"),
        ({"udh": "xyz"}, "udh: hexadecimal bytes"),
        ({"sender": "far too long a sender"}, "sender: a number of up to 15 digits"),
        ({"colour": "red"}, "Unknown option(s): colour"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ClickatellInvalidRequestError) as caught:
        SendOptions.from_dict(options)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("options", "option", "problem"),
    [
        ({"user_priority_queue": 4}, "user_priority_queue", "must be 1 to 3"),
        ({"validity_period": True}, "validity_period", "expected a number or text, not true/false"),
        (
            {"scheduled_delivery_time": "soon"},
            "scheduled_delivery_time",
            "expected an ISO 8601 time",
        ),
    ],
)
def test_a_bad_option_names_its_field_apart_from_the_problem(
    options: dict[str, Any], option: str, problem: str
) -> None:
    """Callers with their own names for the options (Home Assistant's) can name theirs."""
    with pytest.raises(ClickatellInvalidOptionError) as caught:
        SendOptions.from_dict(options)
    assert (caught.value.option, caught.value.problem) == (option, problem)


def test_a_scheduled_time_needs_a_zone_and_at_most_seven_days() -> None:
    with pytest.raises(ClickatellInvalidRequestError, match="needs a time zone"):
        SendOptions(scheduled_delivery_time=datetime(2030, 1, 1))  # noqa: DTZ001
    with pytest.raises(ClickatellInvalidRequestError, match="at most 7 days ahead"):
        SendOptions(scheduled_delivery_time=datetime.now(UTC) + timedelta(days=8))


def test_json_round_trip() -> None:
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    options = SendOptions(scheduled_delivery_time=when, validity_period=30, mo=True)
    data = options.to_json()
    assert data == {"scheduled_delivery_time": when.isoformat(), "validity_period": 30, "mo": True}
    assert SendOptions.from_dict(data) == options
    zulu = SendOptions.from_dict({"scheduled_delivery_time": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert zulu.scheduled_delivery_time == when


def test_overrides_win_over_defaults() -> None:
    defaults = SendOptions(sender="Alerts", validity_period=60)
    merged = defaults.merged(SendOptions(validity_period=5))
    assert (merged.sender, merged.validity_period) == ("Alerts", 5)
    assert defaults.merged(None) is defaults

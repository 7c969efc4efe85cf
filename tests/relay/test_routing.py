"""Topic matching, subscription sets and recipient resolution."""

from __future__ import annotations

import pytest

from clickatell_relay.config import parse_config
from clickatell_relay.payload import Alert, Reason, Rejection
from clickatell_relay.routing import (
    Routed,
    Router,
    filter_covers,
    filters_overlap,
    minimal_filters,
    topic_matches,
)

CONFIG = """\
clickatell: {api_key: k}
contacts: {alice: "2799900001", bob: "2799900002"}
groups: {team: [alice, bob]}
allowlist: ["2799900009"]
routes:
  - {name: crit, topic: alerts/critical/#, recipients: [team], priority: high}
  - {name: all, topic: alerts/#, recipients: [alice]}
  - {name: fixed, topic: fixed/+, recipients: [bob], allow_payload_recipients: false}
"""


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "a/b", True),
        ("#", "$SYS/x", False),
        ("+/b", "$x/b", False),
        ("a/+/c", "a//c", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches


def test_filter_cover_and_minimal_subscriptions() -> None:
    assert filter_covers("a/#", "a/b/+")
    assert filter_covers("a/+", "a/b")
    assert not filter_covers("a/b", "a/+")
    assert not filter_covers("a/+", "a/#")
    assert minimal_filters(["alerts/critical/#", "alerts/#", "x/+", "x/y", "alerts/#"]) == [
        "alerts/#",
        "x/+",
    ]


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("#", "relay/status", True),
        ("relay/#", "relay/status", True),
        ("+/status", "relay/status", True),
        ("+/+", "homeassistant/#", True),
        ("homeassistant", "homeassistant/#", True),  # `a/#` matches `a`
        ("alerts/#", "relay/status", False),
        ("relay/notify/+", "relay/status", False),
        ("+", "relay/status", False),
        ("relay/status/x", "relay/status", False),
    ],
)
def test_filters_overlap(first: str, second: str, overlap: bool) -> None:
    assert filters_overlap(first, second) is overlap
    assert filters_overlap(second, first) is overlap


def test_the_relays_own_topics_are_never_alerts() -> None:
    router = Router(parse_config(CONFIG + "  - {topic: '#', recipients: [alice]}\n", environ={}))
    for topic in (
        "clickatell_relay/status",
        "clickatell_relay/availability",
        "clickatell_relay/dead_letter",
        "homeassistant/status",
        "homeassistant/sensor/clickatell_relay/queue_depth/config",
        "clickatell_relay/delivery/alerts",  # whatever else it publishes there
    ):
        assert router.is_own(topic)
    for topic in ("clickatell_relay/notify/alice", "alerts/disk", "clickatell_relayed/x"):
        assert not router.is_own(topic)


def test_first_matching_route_wins_and_subscriptions_share() -> None:
    router = Router(parse_config(CONFIG, "r.yaml", environ={}))
    route = router.route_for("alerts/critical/db")
    assert route is not None
    assert route.name == "crit"
    other = router.route_for("alerts/disk")
    assert other is not None
    assert other.name == "all"
    assert router.route_for("elsewhere") is None
    assert router.subscriptions("grp") == ["$share/grp/alerts/#", "$share/grp/fixed/+"]


def test_resolution_stays_on_the_allowlist() -> None:
    router = Router(parse_config(CONFIG, "r.yaml", environ={}))
    route = router.route_for("alerts/x")
    assert route is not None
    routed = router.resolve(route, Alert(text="t", recipients=("team", "2799900009")))
    assert isinstance(routed, Routed)
    assert routed.numbers == ("2799900001", "2799900002", "2799900009")
    refused = router.resolve(route, Alert(text="t", recipients=("alice", "2799900123")))
    assert isinstance(refused, Rejection)
    assert refused.reason is Reason.UNKNOWN_RECIPIENT
    assert "2799900123" in refused.detail
    default = router.resolve(route, Alert(text="t", priority=0))
    assert isinstance(default, Routed)
    assert default.numbers == ("2799900001",)
    assert default.priority == 0


def test_a_route_may_refuse_payload_recipients() -> None:
    router = Router(parse_config(CONFIG, "r.yaml", environ={}))
    route = router.route_for("fixed/a")
    assert route is not None
    refused = router.resolve(route, Alert(text="t", recipients=("bob",)))
    assert isinstance(refused, Rejection)
    assert refused.reason is Reason.RECIPIENTS_NOT_ALLOWED

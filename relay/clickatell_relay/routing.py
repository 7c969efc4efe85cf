"""Topics to routes, and names to numbers, within the allowlist.

A topic can never text an arbitrary number: the recipients an alert may name
are contacts, groups, or numbers that are on the allowlist (the contacts, the
groups' members, the routes' own numbers and `allowlist:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aioclickatell import ClickatellInvalidRecipientError, normalize_number

from .payload import Alert, Reason, Rejection

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .config import RelayConfig, RouteConfig


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether a topic name matches a filter, by the MQTT rules.

    A filter starting with a wildcard does not match topics starting with `$`.
    """
    if topic.startswith("$") and topic_filter[:1] in {"+", "#"}:
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level not in {"+", topic_levels[index]}:
            return False
    return len(filter_levels) == len(topic_levels)


def filter_covers(wide: str, narrow: str) -> bool:
    """Whether every topic `narrow` matches is matched by `wide` too."""
    wide_levels = wide.split("/")
    narrow_levels = narrow.split("/")
    for index, level in enumerate(wide_levels):
        if level == "#":
            return not (wide_levels[0] in {"+", "#"} and narrow_levels[0].startswith("$"))
        if index >= len(narrow_levels) or narrow_levels[index] == "#":
            return False
        if level != "+" and level != narrow_levels[index]:
            return False
    return len(wide_levels) == len(narrow_levels)


def filters_overlap(first: str, second: str) -> bool:
    """Whether some topic is matched by both filters."""
    first_levels = first.split("/")
    second_levels = second.split("/")
    for index in range(max(len(first_levels), len(second_levels))):
        one = first_levels[index] if index < len(first_levels) else None
        other = second_levels[index] if index < len(second_levels) else None
        if "#" in (one, other):
            return True
        if one is None or other is None:
            return False
        if "+" not in (one, other) and one != other:
            return False
    return True


def own_topics(config: RelayConfig) -> tuple[str, ...]:
    """Filters of what the relay and Home Assistant's discovery publish: never alerts.

    Everything under the relay's prefix (status, dead letters, and whatever
    else it publishes there) but the notify entities' topics, which are
    Home Assistant's alerts (see `is_own_topic`), and the discovery prefix. A
    route of `#` would otherwise text the relay's own status, and a dead
    letter of a dead letter would never end.
    """
    return (f"{config.mqtt.topic_prefix}/#", f"{config.status.discovery_prefix}/#")


def is_own_topic(config: RelayConfig, topic: str) -> bool:
    """Whether the relay ignores this topic as its own (see `own_topics`)."""
    if topic_matches(config.mqtt.notify_topic("+"), topic):
        return False
    return any(topic_matches(own, topic) for own in own_topics(config))


def hears_own_topics(config: RelayConfig, topic_filter: str) -> list[str]:
    """The filters of `own_topics` this route's filter also matches (`#` matches both)."""
    if filter_covers(config.mqtt.notify_topic("+"), topic_filter):
        return []
    return [own for own in own_topics(config) if filters_overlap(topic_filter, own)]


def minimal_filters(filters: Iterable[str]) -> list[str]:
    """The filters to subscribe to: none covered by another.

    A broker may deliver one copy of a message per matching subscription; one
    subscription per topic keeps one alert one alert.
    """
    unique = list(dict.fromkeys(filters))
    kept: list[str] = []
    for index, candidate in enumerate(unique):
        covered = any(
            filter_covers(other, candidate)
            and (not filter_covers(candidate, other) or other_index < index)
            for other_index, other in enumerate(unique)
            if other_index != index
        )
        if not covered:
            kept.append(candidate)
    return kept


def valid_number(entry: str, region: str | None) -> str | None:
    """`entry` as a normalized number; None if it is not a valid number."""
    try:
        return normalize_number(entry, region)
    except ClickatellInvalidRecipientError:
        return None


def resolve_name(
    entry: str,
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    region: str | None,
) -> tuple[str, ...] | None:
    """The numbers a contact, a group or a number stands for; None if it is none of these."""
    if entry in contacts:
        return (contacts[entry],)
    if entry in groups:
        return groups[entry]
    normalized = valid_number(entry, region)
    return None if normalized is None else (normalized,)


@dataclass(frozen=True, kw_only=True)
class Routed:
    """An alert with its route and the numbers it goes to."""

    route: RouteConfig
    alert: Alert
    numbers: tuple[str, ...]
    priority: int


class Router:
    """Finds the route of a topic and resolves recipients on the allowlist."""

    def __init__(self, config: RelayConfig) -> None:
        """Index the routes of a configuration."""
        self._config = config
        # A notify entity's route first: its topic is the entity's, whatever filter
        # of the configuration also matches it.
        self.routes = sorted(config.routes, key=lambda route: route.notify_entity is None)

    def subscriptions(self, shared_group: str | None = None) -> list[str]:
        """The filters to subscribe to, as `$share/<group>/...` when sharing."""
        filters = minimal_filters(route.topic for route in self.routes)
        if shared_group:
            return [f"$share/{shared_group}/{item}" for item in filters]
        return filters

    def is_own(self, topic: str) -> bool:
        """Whether the topic is the relay's own or discovery's (see `own_topics`): no alert."""
        return is_own_topic(self._config, topic)

    def route_for(self, topic: str) -> RouteConfig | None:
        """The first route whose filter matches: a notify entity's, then in configuration order."""
        return next((route for route in self.routes if topic_matches(route.topic, topic)), None)

    def resolve(self, route: RouteConfig, alert: Alert) -> Routed | Rejection:
        """The numbers an alert goes to; names outside the allowlist are a rejection."""
        numbers: tuple[str, ...]
        if alert.recipients is None:
            numbers = route.recipients
        elif not route.allow_payload_recipients:
            return Rejection(
                reason=Reason.RECIPIENTS_NOT_ALLOWED,
                detail=f"route {route.name} does not take recipients from payloads",
            )
        else:
            resolved: dict[str, None] = {}
            unknown: list[str] = []
            for entry in alert.recipients:
                found = resolve_name(
                    entry,
                    self._config.contacts,
                    self._config.groups,
                    self._config.clickatell.default_region,
                )
                if found is None or not set(found) <= self._config.allowlist:
                    unknown.append(entry)
                else:
                    resolved.update(dict.fromkeys(found))
            if unknown:
                return Rejection(
                    reason=Reason.UNKNOWN_RECIPIENT,
                    detail="not a contact, group or allowlisted number: " + ", ".join(unknown),
                )
            numbers = tuple(resolved)
        if not numbers:
            return Rejection(
                reason=Reason.NO_RECIPIENTS, detail=f"route {route.name} has no recipients"
            )
        priority = route.priority if alert.priority is None else alert.priority
        return Routed(route=route, alert=alert, numbers=numbers, priority=priority)

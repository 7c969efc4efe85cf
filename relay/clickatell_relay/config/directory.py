"""The contact directory: contacts, groups and the allowlist, every number normalized.

Routes and payloads name recipients through it (see `routing.resolve_name`);
the allowlist is every number an alert may reach. `Directory` looks numbers
up the other way, for the statuses and replies Clickatell calls back with. Contacts and groups may
also have a Home Assistant notify entity (`status.notify_entities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clickatell_relay.routing import valid_number
from clickatell_relay.status import notify_object_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .model import RelayConfig
    from .problems import Checker


def build_directory(
    data: dict[str, Any], checker: Checker, region: str | None
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], set[str]]:
    """Contacts, groups and the allowlist (before the routes add their own numbers)."""
    contacts: dict[str, str] = {}
    for name, number in (data["contacts"] or {}).items():
        normalized = valid_number(number, region)
        if normalized is None:
            checker.add(("contacts", name), f"contact {name}: {number!r} is not a valid number")
        else:
            contacts[name] = normalized
    groups: dict[str, tuple[str, ...]] = {}
    for name, members in (data["groups"] or {}).items():
        if name in contacts:
            checker.add(("groups", name), f"group {name}: a contact has the same name")
        numbers: dict[str, None] = {}
        for index, member in enumerate(members):
            found = contacts.get(member) or valid_number(member, region)
            if found is None:
                checker.add(
                    ("groups", name, index),
                    f"group {name}: {member!r} is neither a contact nor a valid number",
                )
            else:
                numbers[found] = None
        groups[name] = tuple(numbers)
    allowlist: set[str] = set(contacts.values())
    for members_of_group in groups.values():
        allowlist.update(members_of_group)
    for index, entry in enumerate(data["allowlist"] or []):
        if (normalized := valid_number(entry, region)) is None:
            checker.add(("allowlist", index), f"allowlist: {entry!r} is not a valid number")
        else:
            allowlist.add(normalized)
    return contacts, groups, allowlist


def notify_entities(
    selection: str | list[str],
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    checker: Checker,
) -> tuple[str, ...]:
    """The contacts and groups that get a notify entity: `all`, or those named."""
    path: tuple[str | int, ...] = ("status", "notify_entities")
    listed = [*contacts, *groups] if selection == "all" else list(dict.fromkeys(selection))
    names: list[str] = []
    by_entity: dict[str, str] = {}
    for index, name in enumerate(listed):
        where = path if selection == "all" else (*path, index)
        if name not in contacts and name not in groups:
            checker.add(where, f"status.notify_entities: {name!r} is not a contact or a group")
        elif name in groups and not groups[name]:
            checker.add(where, f"status.notify_entities: group {name} has no members")
        elif not notify_object_id(name):
            checker.add(where, f"status.notify_entities: {name!r} has no letter or digit")
        elif (other := by_entity.setdefault(notify_object_id(name), name)) != name:
            checker.add(
                where,
                f"status.notify_entities: {other} and {name} would have the same entity ID "
                f"(notify.<node_id>_{notify_object_id(name)}): rename one",
            )
        else:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A number of the directory: a named contact, or a number only a group or the allowlist has."""

    number: str  # normalized, as the queue holds recipients
    name: str | None = None


class Directory:
    """Who a number is: its contact, or None for a number outside the directory and allowlist."""

    def __init__(self, config: RelayConfig) -> None:
        """Index the configuration's numbers once."""
        self._region = config.clickatell.default_region
        self._contacts = {number: Contact(number=number) for number in config.allowlist}
        for name, number in config.contacts.items():
            self._contacts[number] = Contact(number=number, name=name)

    def lookup(self, number: str | None) -> Contact | None:
        """The contact with this number, written in any form the configuration accepts."""
        if number is None or (normalized := valid_number(number, self._region)) is None:
            return None
        return self._contacts.get(normalized)

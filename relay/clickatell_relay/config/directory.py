"""The contact directory: contacts, groups and the allowlist, every number normalized.

Routes and payloads name recipients through it (see `routing.resolve_name`);
the allowlist is every number an alert may reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clickatell_relay.routing import valid_number

if TYPE_CHECKING:
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

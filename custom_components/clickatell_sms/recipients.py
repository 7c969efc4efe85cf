"""The entry's recipients (subentries) by name and by number, the one place numbers are matched.

Sends, their responses, the outbox and the two-way events all name a
recipient by its number as the API writes it ("27831234567"), so the same
number is always the same recipient.
"""

from typing import TYPE_CHECKING

from .aioclickatell import ClickatellInvalidRecipientError, normalize_number
from .const import CONF_NUMBER, SUBENTRY_RECIPIENT

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry

    from .coordinator import ClickatellConfigEntry


def api_number(number: str) -> str | None:
    """A number as the API writes it ("27831234567"), from any international form; None if invalid.

    Callbacks give numbers international without "+"; recipients are kept
    with it. Read without a default country, the same number gives the same
    digits on both sides, so a name is only ever given to its own number.
    """
    try:
        return normalize_number("+" + number.strip().removeprefix("+"))
    except ClickatellInvalidRecipientError:
        return None


def recipient_numbers(entry: ClickatellConfigEntry) -> dict[str, str]:
    """The recipients' numbers (E.164, "+27831234567") by their names."""
    return {
        subentry.title: subentry.data[CONF_NUMBER]
        for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
    }


def recipients_by_number(entry: ClickatellConfigEntry) -> dict[str, ConfigSubentry]:
    """The recipients by their numbers as the API writes them."""
    return {
        number: subentry
        for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
        if (number := api_number(subentry.data[CONF_NUMBER])) is not None
    }


def recipient_names(entry: ClickatellConfigEntry) -> dict[str, str]:
    """The recipients' names by their numbers as the API writes them."""
    return {number: subentry.title for number, subentry in recipients_by_number(entry).items()}


def recipient_of(entry: ClickatellConfigEntry, number: str) -> ConfigSubentry | None:
    """The recipient with this number (any international form), if one has it."""
    if (wanted := api_number(number)) is None:
        return None
    return recipients_by_number(entry).get(wanted)

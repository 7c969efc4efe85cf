"""Event entities: a recipient's delivery statuses and replies; the account's SMS from others.

Fed by the tracker's dispatcher signals, which the webhook and the status
polling feed; never polled themselves. The account's entity shows SMS from
numbers that are no recipient, strangers' numbers and texts: disabled by
default.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .aioclickatell import MessageStatus
from .const import SUBENTRY_RECIPIENT
from .entity import account_device_info, account_id, recipient_device_info
from .tracking import signal_received, signal_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import ClickatellConfigEntry

# Events come from the webhook, not from updates of the entities.
PARALLEL_UPDATES = 0

RECEIVED: Final = "received"


@dataclass(frozen=True, kw_only=True)
class ClickatellEventDescription(EventEntityDescription):
    """An event entity: the tracker's signal it hears, and what of the event it shows."""

    signal_fn: Callable[[str], str]
    event_type_fn: Callable[[dict[str, Any]], str]
    attributes: tuple[str, ...]


RECIPIENT_EVENTS: Final = (
    ClickatellEventDescription(
        key="delivery_status",
        translation_key="delivery_status",
        event_types=[status.value for status in MessageStatus],
        signal_fn=signal_status,
        event_type_fn=lambda data: str(data["status"]),
        attributes=("message_id", "client_message_id", "status_code", "status_text", "charge"),
    ),
    ClickatellEventDescription(
        key="reply",
        translation_key="reply",
        event_types=[RECEIVED],
        signal_fn=signal_received,
        event_type_fn=lambda _data: RECEIVED,
        attributes=("message_id", "text", "timestamp", "related_message_id"),
    ),
)

FROM_OTHERS: Final = ClickatellEventDescription(
    key="received_from_others",
    translation_key="received_from_others",
    event_types=[RECEIVED],
    signal_fn=signal_received,
    event_type_fn=lambda _data: RECEIVED,
    attributes=("message_id", "from", "to", "text", "timestamp"),
    entity_registry_enabled_default=False,
)


async def async_setup_entry(
    _hass: HomeAssistant,
    entry: ClickatellConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """SMS from others on the account; statuses and replies on each recipient."""
    async_add_entities([ClickatellEventEntity(entry, FROM_OTHERS)])
    for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        async_add_entities(
            (
                ClickatellEventEntity(entry, description, subentry)
                for description in RECIPIENT_EVENTS
            ),
            config_subentry_id=subentry.subentry_id,
        )


class ClickatellEventEntity(EventEntity):
    """The events of one recipient, or of the numbers that are no recipient."""

    _attr_has_entity_name = True
    entity_description: ClickatellEventDescription

    def __init__(
        self,
        entry: ClickatellConfigEntry,
        description: ClickatellEventDescription,
        subentry: ConfigSubentry | None = None,
    ) -> None:
        """A recipient's entity with its subentry; the account's without one."""
        self.entity_description = description
        self._entry_id = entry.entry_id
        self._subentry_id = subentry.subentry_id if subentry is not None else None
        if subentry is None:
            self._attr_unique_id = f"{account_id(entry)}_{description.key}"
            self._attr_device_info = account_device_info(entry)
        else:
            self._attr_unique_id = f"{account_id(entry)}_{subentry.subentry_id}_{description.key}"
            self._attr_device_info = recipient_device_info(entry, subentry)

    @override
    async def async_added_to_hass(self) -> None:
        """Hear the tracker's events until removed."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, self.entity_description.signal_fn(self._entry_id), self._async_handle
            )
        )

    @callback
    def _async_handle(self, subentry_id: str | None, data: dict[str, Any]) -> None:
        """An event of the entry: this entity's if it is about its recipient (or no recipient)."""
        if subentry_id != self._subentry_id:
            return
        description = self.entity_description
        self._trigger_event(
            description.event_type_fn(data), {key: data[key] for key in description.attributes}
        )
        self.async_write_ha_state()

"""Notify: the legacy `notify.<name>` service and one notify entity per recipient.

Home Assistant still sets up legacy notify services only through
`discovery.async_load_platform`, so `__init__` loads this platform that way
for each entry (as core's SMTP integration does); the service is removed
when the entry unloads. The entities come from the entry like any platform.
"""

from typing import TYPE_CHECKING, Any, override

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import (
    ATTR_DATA,
    ATTR_TARGET,
    ATTR_TITLE,
    NotifyEntityFeature,
)
from homeassistant.components.notify.const import DOMAIN as NOTIFY_DOMAIN
from homeassistant.components.notify.legacy import BaseNotificationService
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.util import slugify

from .const import CONF_NUMBER, LOGGER, SUBENTRY_RECIPIENT
from .entity import account_id, recipient_device_info
from .send import async_send, notify_send_options, raise_for_rejected, with_title

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

    from .coordinator import ClickatellConfigEntry

# Sends are not polled updates; one at a time keeps a burst of alerts in order.
PARALLEL_UPDATES = 1

# The key of the discovery info that names the config entry.
CONF_ENTRY_ID = "entry_id"


async def async_get_service(
    hass: HomeAssistant,
    _config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> ClickatellNotificationService | None:
    """The legacy service of one config entry; none is configured in YAML."""
    if discovery_info is None:
        LOGGER.error("Clickatell SMS is set up from the UI, not in configuration.yaml")
        return None
    entry: ClickatellConfigEntry | None = hass.config_entries.async_get_entry(
        discovery_info[CONF_ENTRY_ID]
    )
    if entry is None or entry.state not in (
        ConfigEntryState.LOADED,
        ConfigEntryState.SETUP_IN_PROGRESS,
    ):
        # Unloaded before the discovery came round.
        return None
    name = slugify(discovery_info[CONF_NAME])
    if hass.services.has_service(NOTIFY_DOMAIN, name):
        LOGGER.warning(
            "notify.%s already exists; rename the Clickatell SMS entry %s to get its own service",
            name,
            entry.title,
        )
        return None
    service = ClickatellNotificationService(entry)
    entry.async_on_unload(service.async_unregister_services)
    return service


class ClickatellNotificationService(BaseNotificationService):
    """`notify.<name>`: message, title, target (numbers or recipient names), data (options)."""

    def __init__(self, entry: ClickatellConfigEntry) -> None:
        """Send through this entry's client."""
        self._entry = entry

    @override
    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Send to the targets, or to every recipient when none is given.

        Raises, after the others were sent, if the API refused any recipient.
        """
        options = notify_send_options(kwargs.get(ATTR_DATA))
        targets: list[str] = kwargs.get(ATTR_TARGET) or [
            subentry.title for subentry in self._entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
        ]
        result = await async_send(
            self.hass, self._entry, targets, with_title(message, kwargs.get(ATTR_TITLE)), options
        )
        raise_for_rejected(self._entry, result)


async def async_setup_entry(
    _hass: HomeAssistant,
    entry: ClickatellConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One notify entity per recipient subentry."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        async_add_entities(
            [ClickatellNotifyEntity(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class ClickatellNotifyEntity(NotifyEntity):
    """Send an SMS to one recipient with `notify.send_message`."""

    _attr_has_entity_name = True
    _attr_name = None  # the main feature of the recipient's device, named after it
    _attr_translation_key = "recipient"
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, entry: ClickatellConfigEntry, subentry: ConfigSubentry) -> None:
        """Send to the subentry's number."""
        self._entry = entry
        self._number: str = subentry.data[CONF_NUMBER]
        self._attr_unique_id = f"{account_id(entry)}_{subentry.subentry_id}"
        self._attr_device_info = recipient_device_info(entry, subentry)

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send the message, the title on the first line."""
        result = await async_send(
            self.hass, self._entry, [self._number], with_title(message, title)
        )
        raise_for_rejected(self._entry, result)

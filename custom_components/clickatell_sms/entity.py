"""Base entities and devices: one device for the account, one per recipient."""

from typing import TYPE_CHECKING, Any, override

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .aioclickatell import ApiFlavour
from .const import API_NAMES, CONF_API, DOMAIN, MANUFACTURER
from .coordinator import ClickatellConfigEntry, ClickatellCoverageCoordinator

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import EntityDescription


def account_id(entry: ClickatellConfigEntry) -> str:
    """The entry's account identity, the root of every unique ID.

    Every entry is created with one (see helpers.account_identity); the entry
    ID is only there for the type.
    """
    return entry.unique_id or entry.entry_id


def account_device_info(entry: ClickatellConfigEntry) -> DeviceInfo:
    """The account: balance and low-balance entities live here."""
    return DeviceInfo(
        identifiers={(DOMAIN, account_id(entry))},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model=API_NAMES[ApiFlavour(entry.data[CONF_API])],
        entry_type=DeviceEntryType.SERVICE,
        configuration_url="https://portal.clickatell.com/",
    )


def recipient_device_info(entry: ClickatellConfigEntry, subentry: ConfigSubentry) -> DeviceInfo:
    """A recipient: its notify entity and its coverage entities live here."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{account_id(entry)}_{subentry.subentry_id}")},
        name=subentry.title,
        manufacturer=MANUFACTURER,
        model="SMS recipient",
        entry_type=DeviceEntryType.SERVICE,
        via_device_id=entry.runtime_data.account_device_id,
    )


class ClickatellEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of the account."""

    _attr_has_entity_name = True

    def __init__(
        self,
        *,
        entry: ClickatellConfigEntry,
        coordinator: CoordinatorT,
        description: EntityDescription,
    ) -> None:
        """Describe the entity and tie it to the account's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{account_id(entry)}_{description.key}"
        self._attr_device_info = account_device_info(entry)


class ClickatellCoverageEntity(CoordinatorEntity[ClickatellCoverageCoordinator]):
    """An entity of one recipient, fed by the coverage coordinator."""

    _attr_has_entity_name = True

    def __init__(
        self,
        *,
        entry: ClickatellConfigEntry,
        coordinator: ClickatellCoverageCoordinator,
        subentry: ConfigSubentry,
        description: EntityDescription,
    ) -> None:
        """Describe the entity and tie it to the recipient's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self.subentry_id = subentry.subentry_id
        self._attr_unique_id = f"{account_id(entry)}_{subentry.subentry_id}_{description.key}"
        self._attr_device_info = recipient_device_info(entry, subentry)

    @property
    @override
    def available(self) -> bool:
        """Available while the coordinator has this recipient's coverage."""
        return super().available and self.subentry_id in self.coordinator.data

"""Binary sensors: low balance on the account, and each recipient's coverage."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory

from .aioclickatell import Coverage, Operation
from .const import SUBENTRY_RECIPIENT
from .coordinator import ClickatellBalanceCoordinator, ClickatellConfigEntry, ClickatellRuntimeData
from .entity import ClickatellCoverageEntity, ClickatellEntity

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

# Coordinators do the polling.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ClickatellBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of the account."""

    exists_fn: Callable[[ClickatellRuntimeData], bool] = lambda runtime: runtime.client.supports(
        Operation.BALANCE
    )
    value_fn: Callable[[ClickatellBalanceCoordinator], bool]


@dataclass(frozen=True, kw_only=True)
class ClickatellCoverageBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a recipient, from its coverage."""

    value_fn: Callable[[Coverage], bool]


ACCOUNT_BINARY_SENSORS: tuple[ClickatellBinarySensorDescription, ...] = (
    ClickatellBinarySensorDescription(
        key="low_balance",
        translation_key="low_balance",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: coordinator.data.balance < coordinator.low_balance_threshold,
    ),
)

COVERAGE_BINARY_SENSORS: tuple[ClickatellCoverageBinarySensorDescription, ...] = (
    ClickatellCoverageBinarySensorDescription(
        key="routable",
        translation_key="routable",
        value_fn=lambda coverage: coverage.routable,
    ),
)


async def async_setup_entry(
    _hass: HomeAssistant,
    entry: ClickatellConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The account's binary sensors, and coverage where the flavour has it."""
    runtime = entry.runtime_data
    async_add_entities(
        ClickatellBinarySensorEntity(
            entry=entry, coordinator=runtime.balance_coordinator, description=description
        )
        for description in ACCOUNT_BINARY_SENSORS
        if description.exists_fn(runtime)
    )
    if (coverage := runtime.coverage_coordinator) is None:
        return
    for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        async_add_entities(
            (
                ClickatellCoverageBinarySensorEntity(
                    entry=entry, coordinator=coverage, subentry=subentry, description=description
                )
                for description in COVERAGE_BINARY_SENSORS
            ),
            config_subentry_id=subentry.subentry_id,
        )


class ClickatellBinarySensorEntity(
    ClickatellEntity[ClickatellBalanceCoordinator], BinarySensorEntity
):
    """A binary sensor of the account."""

    entity_description: ClickatellBinarySensorDescription

    @property
    @override
    def is_on(self) -> bool:
        """The state from the last balance and the options."""
        return self.entity_description.value_fn(self.coordinator)


class ClickatellCoverageBinarySensorEntity(ClickatellCoverageEntity, BinarySensorEntity):
    """A binary sensor of a recipient."""

    entity_description: ClickatellCoverageBinarySensorDescription

    @property
    @override
    def is_on(self) -> bool:
        """The state from the recipient's last coverage."""
        return self.entity_description.value_fn(self.coordinator.data[self.subentry_id])

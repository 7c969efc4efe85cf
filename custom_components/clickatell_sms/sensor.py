"""Sensors: the account's balance, and each recipient's minimum charge."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory

from .aioclickatell import Balance, Coverage, Operation
from .const import SUBENTRY_RECIPIENT
from .coordinator import ClickatellBalanceCoordinator, ClickatellConfigEntry, ClickatellRuntimeData
from .entity import ClickatellCoverageEntity, ClickatellEntity

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

# Coordinators do the polling.
PARALLEL_UPDATES = 0


def _balance_exists(*, in_currency: bool) -> Callable[[ClickatellRuntimeData], bool]:
    """Whether the account's balance is read, and given in a currency or not."""

    def exists(runtime: ClickatellRuntimeData) -> bool:
        return runtime.client.supports(Operation.BALANCE) and in_currency == (
            runtime.balance_coordinator.data.currency is not None
        )

    return exists


@dataclass(frozen=True, kw_only=True)
class ClickatellSensorDescription(SensorEntityDescription):
    """A sensor of the account."""

    exists_fn: Callable[[ClickatellRuntimeData], bool]
    value_fn: Callable[[Balance], float | None]
    # The unit where the API names it; else the translation's.
    unit_fn: Callable[[Balance], str | None] = lambda _: None


@dataclass(frozen=True, kw_only=True)
class ClickatellCoverageSensorDescription(SensorEntityDescription):
    """A sensor of a recipient, from its coverage."""

    value_fn: Callable[[Coverage], float | None]


# One balance sensor: in the currency the API names (the One API answers
# {"currency": "USD", "balance": 95.0}), else in credits (the legacy APIs).
ACCOUNT_SENSORS: tuple[ClickatellSensorDescription, ...] = (
    ClickatellSensorDescription(
        key="balance",
        translation_key="balance",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        exists_fn=_balance_exists(in_currency=False),
        value_fn=lambda balance: balance.balance,
    ),
    ClickatellSensorDescription(
        key="balance",
        translation_key="balance_in_currency",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.MONETARY,
        # What monetary sensors take: an amount that rises and falls.
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        exists_fn=_balance_exists(in_currency=True),
        value_fn=lambda balance: balance.balance,
        unit_fn=lambda balance: balance.currency,
    ),
)

COVERAGE_SENSORS: tuple[ClickatellCoverageSensorDescription, ...] = (
    ClickatellCoverageSensorDescription(
        key="minimum_charge",
        translation_key="minimum_charge",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda coverage: coverage.minimum_charge,
    ),
)


async def async_setup_entry(
    _hass: HomeAssistant,
    entry: ClickatellConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The account's sensors, and the coverage sensors where the flavour has coverage."""
    runtime = entry.runtime_data
    async_add_entities(
        ClickatellSensorEntity(
            entry=entry, coordinator=runtime.balance_coordinator, description=description
        )
        for description in ACCOUNT_SENSORS
        if description.exists_fn(runtime)
    )
    if (coverage := runtime.coverage_coordinator) is None:
        return
    for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        async_add_entities(
            (
                ClickatellCoverageSensorEntity(
                    entry=entry, coordinator=coverage, subentry=subentry, description=description
                )
                for description in COVERAGE_SENSORS
            ),
            config_subentry_id=subentry.subentry_id,
        )


class ClickatellSensorEntity(ClickatellEntity[ClickatellBalanceCoordinator], SensorEntity):
    """A sensor of the account."""

    entity_description: ClickatellSensorDescription

    @property
    @override
    def native_value(self) -> float | None:
        """The value from the last balance."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def native_unit_of_measurement(self) -> str | None:
        """The currency the API names, if it names one."""
        return self.entity_description.unit_fn(self.coordinator.data)


class ClickatellCoverageSensorEntity(ClickatellCoverageEntity, SensorEntity):
    """A sensor of a recipient."""

    entity_description: ClickatellCoverageSensorDescription

    @property
    @override
    def native_value(self) -> float | None:
        """The value from the recipient's last coverage."""
        return self.entity_description.value_fn(self.coordinator.data[self.subentry_id])

"""Sensors: the account's balance and outbox, and each recipient's minimum charge."""

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .aioclickatell import Balance, Coverage, Operation
from .const import SUBENTRY_RECIPIENT
from .coordinator import ClickatellBalanceCoordinator, ClickatellConfigEntry, ClickatellRuntimeData
from .entity import ClickatellCoverageEntity, ClickatellEntity, account_device_info, account_id
from .outbox import Outbox, signal_outbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

# While SMS wait, the outbox sensor's age of the oldest is written this often.
AGE_REFRESH = timedelta(minutes=1)

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


@dataclass(frozen=True, kw_only=True)
class ClickatellOutboxSensorDescription(SensorEntityDescription):
    """A sensor of the account's outbox."""

    value_fn: Callable[[Outbox], int]
    attributes_fn: Callable[[Outbox], dict[str, Any]]


def _oldest(outbox: Outbox) -> dict[str, Any]:
    """When the SMS that has waited longest was sent, and for how many seconds it has waited."""
    if (oldest := outbox.oldest) is None:
        return {"oldest_queued_at": None, "oldest_age": None}
    return {
        "oldest_queued_at": oldest.isoformat(),
        "oldest_age": round((dt_util.utcnow() - oldest).total_seconds()),
    }


OUTBOX_SENSOR = ClickatellOutboxSensorDescription(
    key="outbox",
    translation_key="outbox",
    entity_category=EntityCategory.DIAGNOSTIC,
    state_class=SensorStateClass.MEASUREMENT,
    value_fn=lambda outbox: outbox.waiting,
    attributes_fn=_oldest,
)

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
    balance = runtime.balance_coordinator

    @callback
    def add_balance_sensors() -> None:
        async_add_entities(
            ClickatellSensorEntity(entry=entry, coordinator=balance, description=description)
            for description in ACCOUNT_SENSORS
            if description.exists_fn(runtime)
        )

    async_add_entities([ClickatellOutboxSensorEntity(entry=entry, description=OUTBOX_SENSOR)])
    if balance.last_balance is not None:
        add_balance_sensors()
    else:
        # Loaded without the API: whether the balance is in credits or in a
        # currency is known once it answers. Until then the sensor is
        # unavailable (Home Assistant shows it so from its registry).
        entry.async_on_unload(_async_once_read(balance, add_balance_sensors))
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


@callback
def _async_once_read(
    coordinator: ClickatellBalanceCoordinator, action: Callable[[], None]
) -> CALLBACK_TYPE:
    """Call `action` once the coordinator has read its data; returns what cancels it."""
    remove: CALLBACK_TYPE | None = None

    @callback
    def updated() -> None:
        nonlocal remove
        if coordinator.last_balance is not None and remove is not None:
            remove()
            remove = None
            action()

    @callback
    def cancel() -> None:
        if remove is not None:
            remove()

    remove = coordinator.async_add_listener(updated)
    return cancel


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


class ClickatellOutboxSensorEntity(SensorEntity):
    """How many SMS wait in the account's outbox, and since when the oldest."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Moves every minute while SMS wait: not worth a row in the history each time.
    _unrecorded_attributes = frozenset({"oldest_age"})
    entity_description: ClickatellOutboxSensorDescription

    def __init__(
        self, *, entry: ClickatellConfigEntry, description: ClickatellOutboxSensorDescription
    ) -> None:
        """Follow the entry's outbox, on the account's device."""
        self.entity_description = description
        self._entry_id = entry.entry_id
        self._outbox = entry.runtime_data.outbox
        self._attr_unique_id = f"{account_id(entry)}_{description.key}"
        self._attr_device_info = account_device_info(entry)
        self._ticking: CALLBACK_TYPE | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Write the state whenever the outbox changes."""
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_outbox(self._entry_id), self._async_changed)
        )
        self.async_on_remove(self._stop_ticking)
        self._follow_age()

    @property
    @override
    def native_value(self) -> int:
        """How many SMS wait (one per recipient)."""
        return self.entity_description.value_fn(self._outbox)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the oldest SMS was sent, and its age in seconds."""
        return self.entity_description.attributes_fn(self._outbox)

    @callback
    def _async_changed(self) -> None:
        self._follow_age()
        self.async_write_ha_state()

    @callback
    def _follow_age(self) -> None:
        """While SMS wait, the age of the oldest moves: write it every minute."""
        if not self._outbox.waiting:
            self._stop_ticking()
        elif self._ticking is None:
            self._ticking = async_track_time_interval(self.hass, self._async_tick, AGE_REFRESH)

    @callback
    def _async_tick(self, _now: datetime) -> None:
        self.async_write_ha_state()

    @callback
    def _stop_ticking(self) -> None:
        if self._ticking is not None:
            self._ticking()
            self._ticking = None

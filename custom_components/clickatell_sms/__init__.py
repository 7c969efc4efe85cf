"""The Clickatell SMS integration: send SMS through Clickatell from Home Assistant."""

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import discovery
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .aioclickatell import ClickatellInvalidRequestError, Operation
from .const import (
    CONF_NUMBER,
    CONF_STATUS_POLLING,
    DOMAIN,
    ISSUE_NO_CREDIT,
    ISSUE_OUTBOX_WAITING,
    SUBENTRY_RECIPIENT,
)
from .coordinator import (
    ClickatellBalanceCoordinator,
    ClickatellConfigEntry,
    ClickatellCoverageCoordinator,
    ClickatellRuntimeData,
)
from .entity import account_device_info
from .helpers import create_client
from .notify import CONF_ENTRY_ID
from .outbox import Outbox
from .polling import StatusPoller
from .services import async_setup_services
from .tracking import MessageTracker
from .webhook import (
    async_delete_cloudhook,
    async_register_webhook,
    async_webhook_data,
    webhook_data,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.helpers.typing import ConfigType

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.NOTIFY, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, _config: ConfigType) -> bool:
    """Register the actions; they serve every entry."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ClickatellConfigEntry) -> bool:
    """Bring an entry of 1.1 to 1.2, without the user.

    Home Assistant calls this only for an older entry of the same major
    version; it refuses a newer one itself.
    """
    # 1.1 kept recipients in the API's form ("33612345678"), which every send
    # read again as a national number of the default country: an Italian
    # entry texted +39 336... The flow had resolved the number correctly, so
    # the same digits with "+" are the number the user meant.
    for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        number = f"+{subentry.data[CONF_NUMBER]}"
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_NUMBER: number}, unique_id=number
        )
    hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ClickatellConfigEntry) -> bool:
    """Start polling, set up the platforms, `notify.<name>`, the webhook and the outbox.

    Refused credentials stop the set-up; an API that does not answer does not
    (see ClickatellBalanceCoordinator.async_setup_refresh).
    """
    try:
        client = create_client(hass, entry.data, entry.options)
    except ClickatellInvalidRequestError as error:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_configuration",
            translation_placeholders={"error": str(error)},
        ) from error

    balance = ClickatellBalanceCoordinator(hass, entry, client)
    await balance.async_setup_refresh()
    coverage: ClickatellCoverageCoordinator | None = None
    if client.supports(Operation.COVERAGE):
        coverage = ClickatellCoverageCoordinator(hass, entry, client)
        # An extra: the entry works without it, its entities wait for it.
        await coverage.async_refresh()

    # Entries made before two-way SMS get their webhook now.
    if (wanted := await async_webhook_data(hass, entry.data)) != webhook_data(entry.data):
        hass.config_entries.async_update_entry(entry, data={**entry.data, **wanted})
    tracker = MessageTracker(hass, entry)
    await tracker.async_load()
    outbox = Outbox(hass, entry)
    await outbox.async_load()

    # The account's device first: the recipients' devices are linked to it.
    account_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    )
    entry.runtime_data = ClickatellRuntimeData(
        client=client,
        account_device_id=account_device.id,
        balance_coordinator=balance,
        coverage_coordinator=coverage,
        tracker=tracker,
        outbox=outbox,
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    outbox.async_start()
    async_register_webhook(hass, entry)
    if entry.options.get(CONF_STATUS_POLLING) and client.supports(Operation.STATUS):
        entry.async_on_unload(StatusPoller(hass, entry).async_start())

    # Legacy notify services can only be set up through discovery.
    hass.async_create_task(
        discovery.async_load_platform(
            hass,
            Platform.NOTIFY,
            DOMAIN,
            {CONF_NAME: entry.title, CONF_ENTRY_ID: entry.entry_id},
            {},
        ),
        f"{DOMAIN} notify service for {entry.title}",
    )
    entry.async_on_unload(_async_reload_on_change(hass, entry))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ClickatellConfigEntry) -> bool:
    """Stop the outbox, keeping what waits; write what the tracker remembers; unload the platforms.

    `notify.<name>` goes with the entry's unload callbacks.
    """
    await entry.runtime_data.outbox.async_stop()
    await entry.runtime_data.tracker.async_flush()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ClickatellConfigEntry) -> None:
    """Remove the entry's repair issues, its cloudhook, what it remembered and what waited."""
    for issue in (ISSUE_NO_CREDIT, ISSUE_OUTBOX_WAITING):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.entry_id}")
    await async_delete_cloudhook(hass, entry.data)
    await MessageTracker(hass, entry).async_remove()
    await Outbox(hass, entry).async_remove()


def _recipients(entry: ConfigEntry) -> dict[str, tuple[str, Mapping[str, Any]]]:
    return {
        subentry.subentry_id: (subentry.title, subentry.data)
        for subentry in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
    }


@callback
def _async_reload_on_change(hass: HomeAssistant, entry: ClickatellConfigEntry) -> CALLBACK_TYPE:
    """Reload when recipients are added, changed or removed, or the entry is renamed.

    Not an update listener: those clash with reauthentication and
    reconfiguration reloading the entry themselves, and options reload
    through their own flow.
    """
    loaded = (entry.title, _recipients(entry))

    @callback
    def _async_changed(change: ConfigEntryChange, changed: ConfigEntry) -> None:
        nonlocal loaded
        if (
            change is not ConfigEntryChange.UPDATED
            or changed.entry_id != entry.entry_id
            or changed.state is not ConfigEntryState.LOADED
        ):
            return
        if (current := (changed.title, _recipients(changed))) != loaded:
            loaded = current
            hass.config_entries.async_schedule_reload(entry.entry_id)

    return async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _async_changed)

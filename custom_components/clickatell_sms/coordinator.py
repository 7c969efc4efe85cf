"""Polling of the account's balance and of the recipients' coverage."""

from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, cast, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .aioclickatell import (
    Balance,
    ClickatellAuthenticationError,
    ClickatellClient,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellIpLockdownError,
    ClickatellRateLimitError,
    Coverage,
)
from .const import (
    CONF_BALANCE_INTERVAL,
    CONF_COVERAGE_INTERVAL,
    CONF_LOW_BALANCE_THRESHOLD,
    CONF_NUMBER,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_COVERAGE_INTERVAL,
    DEFAULT_LOW_BALANCE_THRESHOLD,
    DOMAIN,
    ISSUE_NO_CREDIT,
    LOGGER,
    RETRY_INTERVAL,
    SUBENTRY_RECIPIENT,
)
from .errors import error_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from homeassistant.core import HomeAssistant

    from .outbox import Outbox
    from .tracking import MessageTracker


@dataclass(kw_only=True)
class ClickatellRuntimeData:
    """What a loaded entry holds: the client, its coordinators and what it sent."""

    client: ClickatellClient
    # The account's device; the recipients' devices are linked to it.
    account_device_id: str
    balance_coordinator: ClickatellBalanceCoordinator
    # None where the flavour has no coverage call (the Platform / One API).
    coverage_coordinator: ClickatellCoverageCoordinator | None
    # The messages sent, for their statuses; the events of two-way SMS.
    tracker: MessageTracker
    # The SMS waiting to be sent again.
    outbox: Outbox


type ClickatellConfigEntry = ConfigEntry[ClickatellRuntimeData]


class ClickatellCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Polls one kind of data; maps the client's errors; retries sooner while failing."""

    config_entry: ClickatellConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ClickatellConfigEntry,
        client: ClickatellClient,
        *,
        name: str,
        interval: timedelta,
    ) -> None:
        """Poll every `interval`; every RETRY_INTERVAL at most while the API fails."""
        self.client = client
        self._interval = interval
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{entry.title} {name}", update_interval=interval
        )

    @asynccontextmanager
    async def _api_errors(self) -> AsyncIterator[None]:
        """Map the client's errors to what a coordinator raises, with translations."""
        # Until a fetch succeeds, look again sooner than a rare poll would:
        # entities should come back soon after the API does.
        self.update_interval = min(self._interval, RETRY_INTERVAL)
        try:
            yield
        except ClickatellIpLockdownError as error:
            # New credentials would not help: the account's IP allowlist must change.
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="ip_lockdown") from error
        except ClickatellAuthenticationError as error:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_failed"
            ) from error
        except ClickatellError as error:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=error_key(error),
                translation_placeholders={"error": str(error)},
                retry_after=error.retry_after
                if isinstance(error, ClickatellRateLimitError)
                else None,
            ) from error
        self.update_interval = self._interval


class ClickatellBalanceCoordinator(ClickatellCoordinator[Balance]):
    """Reads the balance, and keeps the no-credit repair issue in step with it."""

    def __init__(
        self, hass: HomeAssistant, entry: ClickatellConfigEntry, client: ClickatellClient
    ) -> None:
        """Poll at the interval of the entry's options."""
        # The balance seen when the API last refused for lack of credit; the
        # issue stays until the balance rises above it (a top-up) or a send
        # goes through. A positive balance can still be too low for a message.
        self._no_credit_at: float | None = None
        super().__init__(
            hass,
            entry,
            client,
            name="balance",
            interval=timedelta(
                minutes=entry.options.get(CONF_BALANCE_INTERVAL, DEFAULT_BALANCE_INTERVAL)
            ),
        )

    async def async_setup_refresh(self) -> None:
        """Read the balance at set-up; only refused credentials stop the set-up.

        Without the API the entry loads all the same: its outbox keeps SMS
        and sends them when Clickatell is back, and the balance entities are
        unavailable until it answers. Polls look again every RETRY_INTERVAL.
        """
        try:
            await self.async_config_entry_first_refresh()
        except ConfigEntryNotReady as error:
            LOGGER.warning(
                "Clickatell does not answer %s yet (%s); the balance shows once it does",
                self.config_entry.title,
                error.__cause__,
            )

    @property
    def last_balance(self) -> Balance | None:
        """The last balance read; None until the API first answers.

        DataUpdateCoordinator types `data` as always there; it is None until
        the first refresh succeeds, and the entry may load without it.
        """
        return cast("Balance | None", self.data)

    @property
    def low_balance_threshold(self) -> float:
        """Below this many credits the low-balance sensor is on."""
        return float(
            self.config_entry.options.get(CONF_LOW_BALANCE_THRESHOLD, DEFAULT_LOW_BALANCE_THRESHOLD)
        )

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_NO_CREDIT}_{self.config_entry.entry_id}"

    @override
    async def _async_update_data(self) -> Balance:
        """Fetch the balance; no credit raises the repair issue, a top-up clears it."""
        async with self._api_errors():
            balance = await self.client.balance()
        if balance.balance <= 0:
            self.async_no_credit(balance.balance)
        elif self._no_credit_at is not None and balance.balance > self._no_credit_at:
            self.async_credit_restored()
        return balance

    def async_no_credit(self, level: float | None = None) -> None:
        """Raise the no-credit issue: a send or the balance call said there is none."""
        if level is None:
            # No balance read yet when the entry loaded without the API.
            last = self.last_balance
            level = max(last.balance, 0.0) if last is not None else 0.0
        if self._no_credit_at is not None:
            level = min(level, self._no_credit_at)
        self._no_credit_at = level
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_NO_CREDIT,
            translation_placeholders={"account": self.config_entry.title},
        )

    def async_credit_restored(self) -> None:
        """Clear the no-credit issue, if it was raised."""
        if self._no_credit_at is None:
            return
        self._no_credit_at = None
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
        LOGGER.info("The Clickatell account %s has credit again", self.config_entry.title)


class ClickatellCoverageCoordinator(ClickatellCoordinator[dict[str, Coverage]]):
    """Whether each recipient is routable, and the least one part costs; polled rarely."""

    def __init__(
        self, hass: HomeAssistant, entry: ClickatellConfigEntry, client: ClickatellClient
    ) -> None:
        """Poll at the interval of the entry's options (a day by default)."""
        super().__init__(
            hass,
            entry,
            client,
            name="coverage",
            interval=timedelta(
                hours=entry.options.get(CONF_COVERAGE_INTERVAL, DEFAULT_COVERAGE_INTERVAL)
            ),
        )

    @override
    async def _async_update_data(self) -> dict[str, Coverage]:
        """Coverage of every recipient, by subentry ID."""
        coverage: dict[str, Coverage] = {}
        async with self._api_errors():
            for subentry in self.config_entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
                coverage[subentry.subentry_id] = await self._async_coverage(
                    subentry.data[CONF_NUMBER]
                )
        return coverage

    async def _async_coverage(self, number: str) -> Coverage:
        try:
            return await self.client.coverage(number)
        except ClickatellDestinationError:
            # The API refuses the number itself: it cannot be routed.
            return Coverage(destination=number, routable=False)

    def minimum_charges(self) -> Mapping[str, float]:
        """The known minimum charge of one part, by number."""
        # No data if the first poll failed.
        return {
            item.destination: item.minimum_charge
            for item in (self.data or {}).values()
            if item.minimum_charge is not None
        }

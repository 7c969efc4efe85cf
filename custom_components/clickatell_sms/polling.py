"""Status polling, for where no callback can reach Home Assistant (an option, off by default).

Each message sent in the last hour is queried 1, 3, 10, 30 and 60 minutes
after it was sent, until it has a final status: at most 5 queries a
message, 1 for most (a message is usually delivered within a minute), and
none while nothing was sent in the last hour. 20 messages a day cost 20 to
100 queries a day. What a query finds goes through the tracker, as a
callback would: an event per new status, nothing twice.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from .aioclickatell import ClickatellError, MessageStatus
from .const import LOGGER

if TYPE_CHECKING:
    from .coordinator import ClickatellConfigEntry

# Ages of a message at which its status is queried.
POLL_AGES: Final = tuple(timedelta(minutes=minutes) for minutes in (1, 3, 10, 30, 60))
POLL_TICK: Final = timedelta(minutes=1)


class StatusPoller:
    """Queries the status of the entry's recent messages that have none final yet."""

    def __init__(self, hass: HomeAssistant, entry: ClickatellConfigEntry) -> None:
        """Poll through the entry's client, into its tracker."""
        self._hass = hass
        self._entry = entry
        self._queried: dict[str, int] = {}

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Look every minute for queries due; returns the function that stops it."""
        return async_track_time_interval(
            self._hass, self._async_tick, POLL_TICK, name=f"{self._entry.title} status polling"
        )

    async def _async_tick(self, now: datetime) -> None:
        runtime = self._entry.runtime_data
        unfinished = runtime.tracker.unfinished(since=now - POLL_AGES[-1] - POLL_TICK)
        # Ages passed at the last query, per message; a late tick makes one query, not several.
        self._queried = {key: self._queried.get(key, 0) for key in unfinished}
        for message_id, message in unfinished.items():
            passed = sum(1 for age in POLL_AGES if now - message.sent_at >= age)
            if passed <= self._queried[message_id]:
                continue
            self._queried[message_id] = passed
            try:
                status = await runtime.client.message_status(message_id)
            except ClickatellError as error:
                LOGGER.debug("Cannot query a message's status: %s", error)
                continue
            # UNKNOWN is "not reported yet" (or the ID is wrong): nothing to tell.
            if status.status is not MessageStatus.UNKNOWN:
                runtime.tracker.async_status(status)

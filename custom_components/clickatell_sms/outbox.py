"""The outbox: SMS that cannot go now wait, in Home Assistant's storage, until Clickatell answers.

A send that fails for a reason worth retrying (see `errors.worth_retrying`),
and a recipient Clickatell refuses only for now (901, 130 in a 207), come
here when the entry's outbox is on; the call then succeeds. The outbox
tries again with capped exponential backoff and jitter, waits out a
Retry-After, and wakes at once when Clickatell answers again (a send or a
balance poll that goes through) or when asked (`retry_outbox`). What waits
keeps its order per recipient: a recipient's SMS go out one after the
other, and a new SMS to someone with SMS waiting queues behind them. An SMS
older than the maximum age, or whose validity ran out, is dropped with an
event. What waits is written once per change (not per attempt) and read
once at set-up, so it survives a restart.

An SMS keeps its client message ID on every try: a send whose answer was
lost may have been accepted, and Clickatell's records then show the
duplicate under the same ID.
"""

import asyncio
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, Final, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .aioclickatell import (
    ClickatellAuthenticationError,
    ClickatellError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    MessageResult,
    RetryPolicy,
    SendOptions,
    SendResult,
)
from .const import (
    CONF_OUTBOX_ENABLED,
    CONF_OUTBOX_ISSUE_AFTER,
    CONF_OUTBOX_MAX_AGE,
    CONF_OUTBOX_MAX_SIZE,
    DEFAULT_OUTBOX_ISSUE_AFTER,
    DEFAULT_OUTBOX_MAX_AGE,
    DEFAULT_OUTBOX_MAX_SIZE,
    DOMAIN,
    EVENT_EXPIRED_FROM_OUTBOX,
    EVENT_SENT_FROM_OUTBOX,
    ISSUE_OUTBOX_WAITING,
    LOGGER,
)
from .errors import refused_for_now, worth_retrying
from .recipients import recipient_names
from .send import async_account_problem, record_sent

if TYPE_CHECKING:
    from .coordinator import ClickatellConfigEntry

STORAGE_VERSION: Final = 1
# Waits between tries while Clickatell cannot take anything: from 15 s,
# doubling, at most 5 minutes (as often as the balance is polled while it
# fails), each between half and all of that, so that many installations do
# not come back in step.
BACKOFF_INITIAL: Final = 15.0
BACKOFF_MAX: Final = 300.0


class Dropped(Enum):
    """Why the outbox dropped an SMS unsent (the `reason` of its event)."""

    MAX_AGE = auto()
    VALIDITY = auto()
    CLEARED = auto()


class _Outcome(Enum):
    """What one send from the outbox came to."""

    SETTLED = auto()  # every recipient of the request was answered for good
    SOME_WAIT = auto()  # some were refused for now: they wait
    NOTHING_TAKEN = auto()  # the request failed: nothing more can go now


class _StoredSms(TypedDict):
    text: str
    options: dict[str, Any]
    recipients: list[str]
    queued_at: str
    valid_until: str | None


class _StoredOutbox(TypedDict):
    messages: list[_StoredSms]
    hold_until: str | None


@dataclass(kw_only=True)
class QueuedSms:
    """One text, with its options, for the recipients it still waits for."""

    text: str
    options: SendOptions  # the call's, with its client message ID
    recipients: list[str]  # as the API writes them ("27831234567")
    queued_at: datetime  # when the call was made
    valid_until: datetime | None  # where a validity applies: when it ends, counted from the call

    @property
    def client_message_id(self) -> str | None:
        """The SMS's client message ID, the same on every try."""
        return self.options.client_message_id

    def expiry(self, max_age: timedelta) -> tuple[datetime, Dropped]:
        """When it is dropped unsent, and why: its maximum age or its validity."""
        by_age = self.queued_at + max_age
        if self.valid_until is not None and self.valid_until < by_age:
            return self.valid_until, Dropped.VALIDITY
        return by_age, Dropped.MAX_AGE

    def options_at(self, now: datetime) -> SendOptions:
        """Its options for a send now: what is left of its validity, not the whole again."""
        if self.valid_until is None:
            return self.options
        minutes = math.ceil((self.valid_until - now).total_seconds() / 60)
        return replace(self.options, validity_period=max(minutes, 1))


def signal_outbox(entry_id: str) -> str:
    """The dispatcher signal sent whenever the entry's outbox changes."""
    return f"{DOMAIN}_{entry_id}_outbox"


def _backoff(failures: int) -> float:
    """Seconds before the next try after `failures` failed ones in a row."""
    ceiling = min(BACKOFF_MAX, BACKOFF_INITIAL * 2.0 ** min(failures - 1, 16))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Outbox:
    """The entry's SMS waiting to be sent, and the loop that sends them."""

    def __init__(self, hass: HomeAssistant, entry: ClickatellConfigEntry) -> None:
        """Nothing is read until `async_load`, nothing sent until `async_start`."""
        self._hass = hass
        self._entry = entry
        self._store = Store[_StoredOutbox](
            hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{entry.entry_id}"
        )
        self._messages: list[QueuedSms] = []
        # Until when Clickatell asked for no request (Retry-After): kept, like the SMS.
        self._hold_until: datetime | None = None
        # Tries that failed in a row, and when the next may be made.
        self._failures = 0
        self._next_try: datetime | None = None
        self._dirty = False
        self._api_answers = True
        self._timer: CALLBACK_TYPE | None = None
        self._round: asyncio.Task[None] | None = None
        # One send at a time; `clear` waits for the one in flight.
        self._lock = asyncio.Lock()
        self._stopping = False

    # Options

    @property
    def enabled(self) -> bool:
        """Whether sends that fail for now are queued (an SMS already waiting goes either way)."""
        return bool(self._entry.options.get(CONF_OUTBOX_ENABLED, False))

    @property
    def max_age(self) -> timedelta:
        """How long an SMS may wait before it is dropped."""
        return timedelta(hours=self._entry.options.get(CONF_OUTBOX_MAX_AGE, DEFAULT_OUTBOX_MAX_AGE))

    @property
    def max_size(self) -> int:
        """How many SMS (one per recipient) may wait."""
        return int(self._entry.options.get(CONF_OUTBOX_MAX_SIZE, DEFAULT_OUTBOX_MAX_SIZE))

    @property
    def issue_after(self) -> timedelta:
        """How long an SMS may wait before the repair issue says so."""
        return timedelta(
            minutes=self._entry.options.get(CONF_OUTBOX_ISSUE_AFTER, DEFAULT_OUTBOX_ISSUE_AFTER)
        )

    # What waits

    @property
    def waiting(self) -> int:
        """How many SMS wait (one per recipient)."""
        return sum(len(sms.recipients) for sms in self._messages)

    @property
    def oldest(self) -> datetime | None:
        """When the SMS that has waited longest was sent, if any waits."""
        return min((sms.queued_at for sms in self._messages), default=None)

    @property
    def held(self) -> bool:
        """Whether Clickatell asked for no request until later (Retry-After)."""
        return self._hold_until is not None and self._hold_until > dt_util.utcnow()

    def waiting_for(self, recipients: list[str]) -> set[str]:
        """Those of the recipients (as the API writes them) who have SMS waiting."""
        waiting = {number for sms in self._messages for number in sms.recipients}
        return waiting.intersection(recipients)

    def check_room(self, count: int) -> None:
        """Refuse, rather than evict what waits, when `count` more SMS do not fit."""
        if count and self.waiting + count > self.max_size:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="outbox_full",
                translation_placeholders={
                    "account": self._entry.title,
                    "max_size": str(self.max_size),
                },
            )

    # Life cycle

    async def async_load(self) -> None:
        """Read what waited when Home Assistant last stopped."""
        if (stored := await self._store.async_load()) is None:
            return
        self._messages = [
            QueuedSms(
                text=item["text"],
                options=SendOptions.from_dict(item["options"]),
                recipients=item["recipients"],
                queued_at=datetime.fromisoformat(item["queued_at"]),
                valid_until=None
                if item["valid_until"] is None
                else datetime.fromisoformat(item["valid_until"]),
            )
            for item in stored["messages"]
        ]
        if stored["hold_until"] is not None:
            self._hold_until = datetime.fromisoformat(stored["hold_until"])

    @callback
    def async_start(self) -> None:
        """Send what waits, and wake whenever a balance poll finds Clickatell again."""
        balance = self._entry.runtime_data.balance_coordinator
        self._api_answers = balance.last_update_success
        self._entry.async_on_unload(balance.async_add_listener(self._async_balance_updated))
        self._async_update_issue()
        self._async_schedule()

    async def async_stop(self) -> None:
        """Let the send in flight finish (so it is not sent twice), then write what waits."""
        self._stopping = True
        self._cancel_timer()
        if self._round is not None:
            await asyncio.shield(self._round)
        if self._dirty:
            await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Forget what waits: the entry is deleted."""
        await self._store.async_remove()

    # From the calls

    @callback
    def async_enqueue(
        self,
        text: str,
        options: SendOptions,
        recipients: list[str],
        queued_at: datetime,
        *,
        failed: bool,
        retry_after: float | None = None,
    ) -> None:
        """Queue an SMS for these recipients (as the API writes them) behind what waits.

        `failed`: a try just failed, so the next waits for the backoff;
        `retry_after`: Clickatell asked for no request for that long. Raises a
        HomeAssistantError (outbox_full) when they do not fit.
        """
        self.check_room(len(recipients))
        now = dt_util.utcnow()
        if retry_after is not None or (failed and (self._try_at() or now) <= now):
            self._back_off(now, retry_after)
        validity = self._entry.runtime_data.client.options_for(options).validity_period
        self._messages.append(
            QueuedSms(
                text=text,
                options=options,
                recipients=recipients,
                queued_at=queued_at,
                valid_until=None if validity is None else queued_at + timedelta(minutes=validity),
            )
        )
        self._async_changed()
        self._async_schedule()

    @callback
    def async_api_answered(self) -> None:
        """Clickatell answered a request: what waits need not wait out the backoff."""
        if self._failures:
            self.async_retry()

    @callback
    def async_retry(self) -> None:
        """Try again now rather than after the backoff; a Retry-After is still waited out."""
        self._failures = 0
        self._next_try = None
        self._async_schedule()

    async def async_clear(self) -> int:
        """Drop everything that waits, after the send in flight; how many SMS were dropped."""
        async with self._lock:
            dropped = self.waiting
            for sms in list(self._messages):
                self._drop(sms, Dropped.CLEARED)
        self._async_schedule()
        return dropped

    # The loop: a round at a time, started by a timer or a wake

    @callback
    def _async_balance_updated(self) -> None:
        answers = self._entry.runtime_data.balance_coordinator.last_update_success
        if answers and not self._api_answers:
            self.async_api_answered()
        self._api_answers = answers

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    def _try_at(self) -> datetime | None:
        """When the next try may be made: after the backoff and any Retry-After."""
        times = [when for when in (self._next_try, self._hold_until) if when is not None]
        return max(times, default=None)

    @callback
    def _async_schedule(self) -> None:
        """Start a round now, or set the timer for what is due next: a try, an expiry, the issue."""
        self._cancel_timer()
        if self._stopping or not self._messages:
            return
        if self._round is not None and not self._round.done():
            return  # the round schedules the next when it ends
        now = dt_util.utcnow()
        due = [sms.expiry(self.max_age)[0] for sms in self._messages]
        due.append(self._try_at() or now)
        if (oldest := self.oldest) is not None and now - oldest < self.issue_after:
            due.append(oldest + self.issue_after)
        if (when := min(due)) <= now:
            self._round = self._entry.async_create_task(
                self._hass, self._async_round(), f"{self._entry.title} outbox", eager_start=False
            )
        else:
            self._timer = async_call_later(
                self._hass, (when - now).total_seconds(), self._async_timer_fired
            )

    @callback
    def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        self._async_schedule()

    async def _async_round(self) -> None:
        try:
            async with self._lock:
                now = dt_util.utcnow()
                self._expire(now)
                try_at = self._try_at()
                if self._messages and (try_at is None or try_at <= now):
                    try:
                        await self._async_try(now)
                    except Exception:  # noqa: BLE001 - logged with its traceback
                        # A bug must not turn into a round after round without a pause.
                        LOGGER.exception("Unexpected error in the outbox of %s", self._entry.title)
                        self._back_off(now, None)
                # Time passes: the oldest SMS may have crossed the threshold.
                self._async_update_issue()
        finally:
            self._round = None
            self._async_schedule()

    async def _async_try(self, now: datetime) -> None:
        """Send what may go, oldest first, none before an older SMS to the same recipient."""
        runtime = self._entry.runtime_data
        blocked: set[str] = set()
        outcome = _Outcome.SETTLED
        retry_after: float | None = None
        for sms in list(self._messages):
            if self._stopping:
                break
            if numbers := [number for number in sms.recipients if number not in blocked]:
                try:
                    sent = await self._async_send(sms, numbers, now)
                except ClickatellError as error:
                    outcome = _Outcome.NOTHING_TAKEN
                    if isinstance(error, ClickatellRateLimitError):
                        retry_after = error.retry_after
                    break
                if sent is _Outcome.SOME_WAIT:
                    outcome = sent
            blocked.update(sms.recipients)
        await runtime.balance_coordinator.async_request_refresh()
        if outcome is _Outcome.SETTLED:
            self._failures = 0
            self._next_try = None
        else:
            self._back_off(now, retry_after)

    def _back_off(self, now: datetime, retry_after: float | None) -> None:
        """Wait before the next try: the backoff, or as long as Clickatell asked."""
        self._failures += 1
        delay = retry_after if retry_after is not None else _backoff(self._failures)
        self._next_try = now + timedelta(seconds=delay)
        if retry_after is not None:
            # Kept with the SMS, and direct sends wait for it too.
            self._hold_until = self._next_try
            self._async_changed()
        LOGGER.debug("The outbox tries again in %.0f s", delay)

    async def _async_send(self, sms: QueuedSms, numbers: list[str], now: datetime) -> _Outcome:
        """One SMS to these of its recipients; raises the error when nothing more can go now."""
        runtime = self._entry.runtime_data
        try:
            result = await runtime.client.send(
                [f"+{number}" for number in numbers],
                sms.text,
                sms.options_at(now),
                retry=RetryPolicy.NONE,  # the outbox is the retry
            )
        except ClickatellError as error:
            if error.partial_result is not None:
                self._settle(sms, error.partial_result)
            if worth_retrying(error) or isinstance(
                error, ClickatellAuthenticationError | ClickatellPaymentRequiredError
            ):
                # Refused credentials and no credit are the account's, not the
                # SMS's: it waits for the fix (re-authentication, a top-up).
                async_account_problem(self._hass, self._entry, error)
                LOGGER.debug("The outbox could not send: %s", error)
                raise
            # Refused for good: every recipient of the request is told.
            refused = [
                MessageResult(
                    to=number,
                    accepted=False,
                    error_code=error.code,
                    error_description=error.description or str(error),
                )
                for number in numbers
                if number in sms.recipients
            ]
            self._settle(sms, None, refused)
            return _Outcome.SETTLED
        self._settle(sms, result)
        return _Outcome.SOME_WAIT if set(numbers) & set(sms.recipients) else _Outcome.SETTLED

    def _settle(
        self,
        sms: QueuedSms,
        result: SendResult | None,
        refused: list[MessageResult] | None = None,
    ) -> None:
        """Take out of the SMS the recipients Clickatell answered for good, with an event each."""
        runtime = self._entry.runtime_data
        answers = list(refused or [])
        if result is not None:
            record_sent(runtime, result)
            answers.extend(result.messages)
        names = recipient_names(self._entry)
        for item in answers:
            if item.to not in sms.recipients or (
                not item.accepted and refused_for_now(runtime.client.api, item.error_code)
            ):
                continue
            sms.recipients.remove(item.to)
            if not item.accepted:
                LOGGER.warning(
                    "Clickatell refused an SMS from the outbox of %s (client message ID %s): %s",
                    self._entry.title,
                    sms.client_message_id,
                    item.error_description or item.error_code,
                )
            self._hass.bus.async_fire(
                EVENT_SENT_FROM_OUTBOX,
                {
                    **self._event_data(sms, item.to, names),
                    "accepted": item.accepted,
                    "message_id": item.api_message_id,
                    "error_code": item.error_code,
                    "error_description": item.error_description,
                },
            )
        if not sms.recipients:
            self._messages.remove(sms)
        self._async_changed()

    def _expire(self, now: datetime) -> None:
        for sms in list(self._messages):
            when, reason = sms.expiry(self.max_age)
            if when <= now:
                self._drop(sms, reason)

    def _drop(self, sms: QueuedSms, reason: Dropped) -> None:
        """Drop an SMS unsent, with an event per recipient and a line in the log."""
        LOGGER.warning(
            "%s SMS (client message ID %s) dropped unsent from the outbox of %s after %d min: %s",
            len(sms.recipients),
            sms.client_message_id,
            self._entry.title,
            (dt_util.utcnow() - sms.queued_at).total_seconds() // 60,
            reason.name.lower(),
        )
        names = recipient_names(self._entry)
        for number in sms.recipients:
            self._hass.bus.async_fire(
                EVENT_EXPIRED_FROM_OUTBOX,
                {**self._event_data(sms, number, names), "reason": reason.name.lower()},
            )
        self._messages.remove(sms)
        self._async_changed()

    def _event_data(self, sms: QueuedSms, number: str, names: dict[str, str]) -> dict[str, Any]:
        return {
            "config_entry_id": self._entry.entry_id,
            "client_message_id": sms.client_message_id,
            "to": number,
            "recipient": names.get(number),
            "queued_at": sms.queued_at.isoformat(),
        }

    # Keeping it, and telling

    @callback
    def _async_changed(self) -> None:
        """Write it once for this change (a burst is one write), and tell the sensor."""
        self._dirty = True
        self._store.async_delay_save(self._data)
        self._async_update_issue()
        async_dispatcher_send(self._hass, signal_outbox(self._entry.entry_id))

    @callback
    def _async_update_issue(self) -> None:
        """The repair issue, while an SMS has waited longer than the threshold."""
        issue_id = f"{ISSUE_OUTBOX_WAITING}_{self._entry.entry_id}"
        oldest = self.oldest
        if oldest is None or dt_util.utcnow() - oldest < self.issue_after:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_OUTBOX_WAITING,
            translation_placeholders={
                "account": self._entry.title,
                "minutes": str(int(self.issue_after.total_seconds() // 60)),
            },
        )

    @callback
    def _data(self) -> _StoredOutbox:
        self._dirty = False
        return {
            "messages": [
                {
                    "text": sms.text,
                    "options": sms.options.to_json(),
                    "recipients": list(sms.recipients),
                    "queued_at": sms.queued_at.isoformat(),
                    "valid_until": _time(sms.valid_until),
                }
                for sms in self._messages
            ],
            "hold_until": _time(self._hold_until),
        }

    def diagnostics(self) -> dict[str, Any]:
        """The outbox for a bug report: counts and times, never a number or a text."""
        now = dt_util.utcnow()
        return {
            "enabled": self.enabled,
            "max_age_hours": self.max_age.total_seconds() / 3600,
            "max_size": self.max_size,
            "issue_after_minutes": self.issue_after.total_seconds() / 60,
            "waiting": self.waiting,
            "messages": [
                {
                    "recipients": len(sms.recipients),
                    "waited_seconds": round((now - sms.queued_at).total_seconds()),
                    "has_validity": sms.valid_until is not None,
                    "options": sorted(sms.options.set_options()),
                }
                for sms in self._messages
            ],
            "failures": self._failures,
            "next_try": _time(self._next_try),
            "hold_until": _time(self._hold_until),
        }

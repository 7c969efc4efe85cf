"""From the queue to Clickatell: claim -> batch -> limit -> send -> record.

One loop claims batches (one text, one client message ID, up to the
flavour's batch size; highest priority first), checks them against the
per-recipient caps and the daily budget, waits for the rate limiters, and
hands them to at most `limits.concurrency` send tasks. Each send is exactly
one API request through the shared client; its per-recipient results are
recorded in one transaction.

Errors, and what happens to the batch (it always stays queued unless said):

* 429 / code 130: wait `Retry-After` (or the backoff) before any request.
* 503 / 901, a connection never made: capped exponential backoff with
  jitter, reset by the next success. The API took nothing.
* Timeouts, connections broken after the request went out, unreadable
  answers: the outcome is unknown, the API may have sent the SMS. They are
  counted as sent (the daily budget, the per-recipient caps), the rows wait
  an exponential backoff of their own (not reset by other successes) besides
  the global one, and after `limits.max_unknown_outcomes` such requests an
  SMS is dead-lettered (`unknown_outcome`) rather than sent again: each
  retry risks a duplicate, each give-up a loss, and the ceiling bounds the
  duplicates at that figure minus one.
* 402 / 301 (no credit) and refused credentials: sending pauses (status
  `paused`), the balance is checked every `limits.balance_check_interval`,
  and sending resumes when there is credit.
* A recipient the API refuses permanently (invalid, blocked, opted out...):
  dead-lettered with the API's code, never retried. A request the API
  refuses as invalid: every recipient dead-lettered with the code.
* Per-recipient cap reached: dead-lettered (`recipient_cap`) or held until
  the hour has room, as `limits.per_recipient_overflow` says.
* Daily credit budget: an SMS costing more than the whole budget is
  dead-lettered (`over_budget`); SMS that do not fit in what is left today
  wait until midnight UTC while those that fit still go; once less than one
  part's worth is left, sending pauses until midnight UTC.
* Older than `queue.max_age` without being sent: dead-lettered (`expired`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import math
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, ParamSpec

from aioclickatell import (
    ApiFlavour,
    ClickatellAuthenticationError,
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    Operation,
    Overflow,
    SendOptions,
    plan_message,
)

from .payload import Reason
from .ratelimit import RateLimiter
from .store import Batch, DigestItem, NewDeadLetter, NewSms, Store

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aioclickatell import ClickatellClient, SendResult

    from .config import RelayConfig, RouteConfig
    from .status import Health

_LOGGER = logging.getLogger(__name__)
P = ParamSpec("P")

# Per-recipient error codes that say "not now" rather than "never".
TRANSIENT_RECIPIENT_CODES: Final = frozenset({"130", "301", "901", "18", "19", "20", "43"})
HOUR: Final = 3600.0
MAX_API_WAIT: Final = HOUR
# Pauses that end when the account is usable again (checked through the balance).
ACCOUNT_PAUSES: Final = frozenset({"no credit", "credentials refused"})
MAINTENANCE_INTERVAL: Final = 10.0  # at most; at least every poll interval, and 1 s
PRUNE_INTERVAL: Final = 600.0
ERROR_DETAIL_LIMIT: Final = 300
# With the listener on, legacy messages ask to be called back with every status (intermediate,
# final and errors: the `callback` level's bits 1, 2 and 4); the Platform's is the portal's.
LEGACY_CALLBACK_LEVEL: Final = 7
API_HOLD: Final = "api_hold_until"  # meta key: until when the API asked us to wait (429, 130)


class Backoff:
    """Capped exponential backoff with jitter; `reset` after a success."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        """Start at `initial` seconds, double up to `maximum`."""
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next(self) -> float:
        """The next delay: half fixed, half random, so many relays do not retry in step."""
        delay = self.after(self.failures)
        self.failures += 1
        return delay

    def after(self, failures: int) -> float:
        """The delay after `failures` failures in a row (the counter is left alone)."""
        ceiling = min(self.maximum, self.initial * 2.0 ** min(failures, 32))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Start again from the initial delay."""
        self.failures = 0


def digest_group_key(route: str, recipients: Sequence[str], options: dict[str, Any]) -> str:
    """One digest group per route, set of recipients and send options.

    Alerts with different options never fold into one SMS: a digest is sent
    with its alerts' options, and one publisher's (a delivery days ahead, a
    short validity) must not apply to another's alert.
    """
    identity = json.dumps([sorted(recipients), options], sort_keys=True, default=str)
    fingerprint = hashlib.blake2b(identity.encode(), digest_size=8)
    return f"{route}:{fingerprint.hexdigest()}"


def fold_digest(items: Sequence[DigestItem], max_parts: int) -> tuple[str, list[DigestItem]]:
    """Fold alerts into one text of at most `max_parts` parts; the items it holds.

    The oldest alerts go first; those that do not fit wait for the next digest.
    """
    taken: list[DigestItem] = []
    text = ""
    for item in items:
        lines = [entry.text for entry in [*taken, item]]
        candidate = lines[0] if len(lines) == 1 else f"[{len(lines)} alerts]\n" + "\n".join(lines)
        try:
            plan_message(candidate, max_parts=max_parts, overflow=Overflow.REFUSE)
        except ClickatellError:
            if taken:
                break
            # A single alert always fits: the payload check used the same maximum.
            candidate = item.text
        taken.append(item)
        text = candidate
    return text, taken


def unknown_outcome(error: ClickatellError) -> bool:
    """Whether the API may have sent what a failed request asked for.

    A timeout, a connection broken once the request was on its way, or an
    answer nobody can read: the request may have been taken. A connection
    never made and every answer the API gave (an error status, a code) mean
    it was not.
    """
    if isinstance(error, ClickatellCannotConnectError):
        return False
    return isinstance(error, ClickatellConnectionError | ClickatellInvalidResponseError)


def next_midnight_utc(now: float) -> float:
    """When the daily budget starts again."""
    today = datetime.fromtimestamp(now, UTC).date()
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    return tomorrow.timestamp()


def new_client_message_id() -> str:
    """An idempotency key for the API: 32 hex digits, time first.

    48 bits of milliseconds then 80 random bits (as UUIDv7 orders them): new
    rows land at the end of the queue's index instead of on a random page,
    which writes a third of the bytes per alert to the SD card.
    """
    return f"{int(time.time() * 1000) & 0xFFFFFFFFFFFF:012x}{secrets.token_hex(10)}"


class Dispatcher:
    """Sends what the queue holds, within every limit."""

    def __init__(
        self,
        *,
        config: RelayConfig,
        store: Store,
        client: ClickatellClient,
        health: Health,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wire the dispatcher to its store, client and health record."""
        self._config = config
        self._limits = config.limits
        self._store = store
        self._client = client
        self._health = health
        self._on_change = on_change or (lambda: None)
        self._clock = clock
        self._ask_for_callbacks = config.listener.enabled and config.clickatell.api in (
            ApiFlavour.REST,
            ApiFlavour.HTTP,
        )
        self._routes: dict[str, RouteConfig] = {route.name: route for route in config.routes}
        self._requests = RateLimiter(self._limits.requests_per_second)
        self._messages = RateLimiter(self._limits.messages_per_second)
        self._message_chunk = max(1, int(self._limits.messages_per_second))
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._in_flight_recipients: dict[str, int] = {}
        self._in_flight_credits = 0.0  # estimated cost of the requests in flight
        self._batch_credits: dict[tuple[str, int], float] = {}
        self._slots = asyncio.Semaphore(self._limits.concurrency)
        self._waiting_for_slot = False  # the loop sleeps until a request ends
        self._bookkeeping: list[tuple[Callable[[], object], asyncio.Future[None]]] = []
        self._bookkeeper: asyncio.Task[None] | None = None
        self._hold_until = 0.0
        self._backoff = Backoff(self._limits.backoff_initial, self._limits.backoff_max)
        self._last_maintenance = 0.0
        self._maintenance_interval = min(MAINTENANCE_INTERVAL, max(1.0, self._limits.poll_interval))
        self._last_prune = 0.0
        self._last_balance = 0.0
        self._digests_looked_at: int | None = None  # the store's count of digest items then
        self._next_digest: float | None = None
        self.requests_sent = 0

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """SMS handed to the API and not yet recorded."""
        return len(self._in_flight)

    # The loop --------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; then let the requests in flight finish."""
        sends: set[asyncio.Task[None]] = set()
        held = await self._store.call(self._store.get_meta, API_HOLD)
        if held is not None and float(held) > self._clock():
            self._hold_until = max(self._hold_until, float(held))
            _LOGGER.info(
                "The API asked the last run to wait: no request for %.0fs",
                self._hold_until - self._clock(),
            )
        # One task that wakes the loop on stop, rather than one per sleep.
        stopping = asyncio.create_task(self._wake_on(stop), name="dispatch-stop")
        try:
            while not stop.is_set():
                delay = await self._step(sends)
                if delay is None:
                    continue
                await self._sleep(stop, delay)
        finally:
            stopping.cancel()
            if sends:
                _LOGGER.info("Waiting for %d request(s) in flight", len(sends))
                _done, pending = await asyncio.wait(
                    sends, timeout=self._config.clickatell.request_timeout + 5
                )
                for task in pending:
                    task.cancel()  # their rows were never marked: they stay queued

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _sleep(self, stop: asyncio.Event, delay: float) -> None:
        """Wait `delay` seconds, or less if woken (something to send, or stop)."""
        self._wake.clear()
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(delay, 0.0)):
                await self._wake.wait()

    async def _step(self, sends: set[asyncio.Task[None]]) -> float | None:
        """One turn of the loop; how long to wait before the next, or None for at once."""
        now = self._clock()
        if now - self._last_maintenance >= self._maintenance_interval:
            self._last_maintenance = now
            await self._maintenance(now)
        next_digest = await self._digests(now)
        if self._hold_until > now:
            return await self._held(now)
        if self._health.paused:
            if not await self._may_resume(now):
                return await self._held(now)
            self._health.resume()
            self._on_change()
        if self._slots.locked():
            self._waiting_for_slot = True
            return self._limits.poll_interval
        self._waiting_for_slot = False
        batch = await self._store.call(self._claim_or_when, frozenset(self._in_flight), now)
        if not isinstance(batch, Batch):
            return self._idle(now, batch, next_digest)
        batch = await self._apply_caps(batch, now)
        if batch is not None:
            batch = await self._fit_budget(batch, now)
        if batch is None:
            return None
        await self._slots.acquire()
        self._claim(batch)
        try:
            await self._limit(batch)
        except BaseException:
            self._release(batch)
            raise
        task = asyncio.create_task(self._send(batch), name=f"send-{batch.client_message_id[:8]}")
        sends.add(task)
        task.add_done_callback(sends.discard)
        return None

    async def _held(self, now: float) -> float:
        """Sending waits (rate limit, backoff, pause)."""
        return min(max(self._hold_until - now, 0.0), self._limits.poll_interval)

    async def _may_resume(self, now: float) -> bool:
        """Whether a pause may end: for an account pause, whether the balance reads above 0."""
        if self._health.pause_reason not in ACCOUNT_PAUSES:
            return True  # the budget pause ends at midnight, nothing to check
        if await self._check_balance():
            _LOGGER.info("The account works again (%s); resuming", self._health.pause_reason)
            return True
        self._hold_until = now + self._limits.balance_check_interval
        return False

    def _claim_or_when(self, exclude: frozenset[int], now: float) -> Batch | float | None:
        """On the store's thread: the next batch, or else when the next held row is due.

        One trip to the store's thread per turn of the loop, whichever it is.
        """
        batch = self._store.claim(limit=self._client.max_batch_size, exclude=exclude, now=now)
        return batch if batch is not None else self._store.next_due(exclude=exclude)

    def _idle(self, now: float, due: float | None, next_digest: float | None) -> float:
        """Nothing to send now: until the next held row, digest or poll."""
        candidates = [self._limits.poll_interval]
        if due is not None and due > now:
            candidates.append(due - now)
        if next_digest is not None:
            candidates.append(max(next_digest - now, 0.01))
        return min(candidates)

    async def _limit(self, batch: Batch) -> None:
        """Wait for the request and message rate limiters."""
        await self._requests.acquire()
        remaining = len(batch.recipients)
        while remaining > 0:
            chunk = min(remaining, self._message_chunk)
            await self._messages.acquire(chunk)
            remaining -= chunk

    def _claim(self, batch: Batch) -> None:
        self._in_flight.update(batch.ids)
        for recipient in batch.recipients:
            self._in_flight_recipients[recipient] = self._in_flight_recipients.get(recipient, 0) + 1

    def _release(self, batch: Batch) -> None:
        self._in_flight.difference_update(batch.ids)
        cost = self._batch_credits.pop((batch.client_message_id, batch.ids[0]), 0.0)
        self._in_flight_credits = max(0.0, self._in_flight_credits - cost)
        for recipient in batch.recipients:
            left = self._in_flight_recipients.get(recipient, 0) - 1
            if left > 0:
                self._in_flight_recipients[recipient] = left
            else:
                self._in_flight_recipients.pop(recipient, None)
        self._slots.release()

    async def _bookkeep(
        self, function: Callable[P, object], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Commit a write of bookkeeping (what became of a batch), grouped with others.

        Writes that come while one bookkeeping commit is on its way share the
        next one: one transaction per group of results, not per request.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._bookkeeping.append((functools.partial(function, *args, **kwargs), done))
        if self._bookkeeper is None or self._bookkeeper.done():
            self._bookkeeper = asyncio.create_task(self._commit_bookkeeping(), name="bookkeeping")
        await done

    async def _commit_bookkeeping(self) -> None:
        while self._bookkeeping:
            group, self._bookkeeping = self._bookkeeping, []
            writes = [write for write, _done in group]
            errors: list[Exception | None]
            try:
                errors = await self._store.call(self._store.in_one_transaction, writes)
            except Exception as error:  # noqa: BLE001 - the commit failed: the whole group did
                errors = [error] * len(group)
            except BaseException:
                for _write, done in group:
                    done.cancel()
                raise
            for (_write, done), failed in zip(group, errors, strict=True):
                if done.done():  # its sender was cancelled
                    continue
                if failed is None:
                    done.set_result(None)
                else:
                    done.set_exception(failed)

    # Limits before sending -----------------------------------------------------------

    async def _apply_caps(self, batch: Batch, now: float) -> Batch | None:
        """Drop (or hold) recipients over their hourly cap; the rest of the batch."""
        cap = self._limits.per_recipient_per_hour
        if cap is None:
            return batch
        history = await self._store.call(self._store.sent_since, batch.recipients, now - HOUR)
        keep: list[int] = []
        over: list[tuple[int, str, float]] = []
        for row_id, recipient in zip(batch.ids, batch.recipients, strict=True):
            sent = history.get(recipient, [])
            if len(sent) + self._in_flight_recipients.get(recipient, 0) < cap:
                keep.append(row_id)
            else:
                # Over the cap only with SMS still in flight: look again once
                # their outcome is recorded, which fixes the real free time.
                free_at = (sent[0] + HOUR) if sent else now + self._limits.poll_interval
                over.append((row_id, recipient, free_at))
        if not over:
            return batch
        if self._limits.per_recipient_overflow == "hold":
            for row_id, _recipient, free_at in over:
                await self._store.call(
                    self._store.hold, [row_id], max(free_at, now + 1), "per-recipient cap"
                )
        else:
            detail = f"{cap} SMS in the last hour already (or maybe, when no answer came)"
            over_ids = {row_id for row_id, _recipient, _free_at in over}
            await self._dead_letter(batch.only(over_ids), Reason.RECIPIENT_CAP, detail, now)
            _LOGGER.warning("%d SMS over the per-recipient cap dead-lettered", len(over))
        self._on_change()
        return batch.only(keep) if keep else None

    def _parts(self, batch: Batch) -> int:
        try:
            return self._client.plan(batch.text, self._options(batch)).parts
        except ClickatellError:
            return batch.max_parts

    async def _fit_budget(self, batch: Batch, now: float) -> Batch | None:
        """The SMS of a batch that today's credit budget has room for.

        One SMS dearer than the whole budget is dead-lettered (`over_budget`);
        those that do not fit in what is left today wait until midnight UTC,
        and the others go. Once not even a one-part SMS fits, sending pauses.
        """
        budget = self._limits.daily_credit_budget
        if budget is None:
            return batch
        spent = await self._store.call(self._store.credits_spent, now)
        per_sms = self._parts(batch) * self._limits.credits_per_part
        if per_sms > budget:
            detail = f"{per_sms:g} credits per SMS, more than the daily budget of {budget:g}"
            await self._dead_letter(batch, Reason.OVER_BUDGET, detail, now)
            _LOGGER.warning("%d SMS dearer than the daily budget dead-lettered", len(batch.ids))
            self._on_change()
            return None
        left = budget - spent
        if left < self._limits.credits_per_part:
            self._hold_until = next_midnight_utc(now)
            self._health.pause(f"daily credit budget of {budget:g} spent")
            _LOGGER.warning(
                "Daily credit budget spent (%.2f of %g); pausing until midnight UTC", spent, budget
            )
            self._on_change()
            return None
        room = left - self._in_flight_credits
        fit = max(0, min(len(batch.ids), math.floor(room / per_sms + 1e-9)))
        if fit < len(batch.ids):
            # Not today, or not before the requests in flight are recorded (their
            # reserved cost may be more than they take).
            until = next_midnight_utc(now) if per_sms > left else now + self._limits.poll_interval
            waiting = batch.ids[fit:]
            await self._store.call(
                self._store.hold, waiting, until, f"daily credit budget: {left:g} left"
            )
            if per_sms > left:
                _LOGGER.info(
                    "%d SMS of %g credits each wait for tomorrow's budget (%.2f left today)",
                    len(waiting),
                    per_sms,
                    left,
                )
            self._on_change()
            if fit == 0:
                return None
            batch = batch.only(batch.ids[:fit])
        cost = per_sms * len(batch.ids)
        self._batch_credits[batch.client_message_id, batch.ids[0]] = cost
        self._in_flight_credits += cost
        return batch

    async def _dead_letter(
        self, batch: Batch, reason: str, detail: str, now: float, code: str | None = None
    ) -> None:
        """Give up on every SMS of a batch, with one reason."""
        dead = [
            (row_id, batch.dead_letter(recipient, reason, detail, code))
            for row_id, recipient in zip(batch.ids, batch.recipients, strict=True)
        ]
        await self._bookkeep(self._store.record_results, dead=dead, now=now)

    # Sending -----------------------------------------------------------------------------

    def _options(self, batch: Batch) -> SendOptions:
        options = {**batch.options, "client_message_id": batch.client_message_id}
        if self._ask_for_callbacks:
            # The legacy APIs call back only as each message asks; a route may ask otherwise.
            options.setdefault("callback", LEGACY_CALLBACK_LEVEL)
        return SendOptions.from_dict(options)

    async def _send(self, batch: Batch) -> None:
        settled = False
        try:
            try:
                options = self._options(batch)
                result = await self._client.send_batch(list(batch.recipients), batch.text, options)
            except ClickatellError as error:
                await self._failed(batch, error)
            else:
                settled = await self._record(batch, result)
        except Exception:  # a bug must not stop the relay; the rows stay queued
            _LOGGER.exception("Unexpected error sending batch %s", batch.client_message_id)
            self._hold_until = max(self._hold_until, self._clock() + self._backoff.next())
        finally:
            self._release(batch)
            self._on_change()
            # The loop looks again if it waits for this slot, or if rows stay queued
            # (it reckoned its sleep without them); a batch all sent changes nothing.
            if self._waiting_for_slot or not settled:
                self._wake.set()

    async def _record(self, batch: Batch, result: SendResult) -> bool:
        """Record the API's answer; whether every SMS of the batch is settled (none retried)."""
        self.requests_sent += 1
        by_number = {message.to: message for message in result.messages}
        sent: list[tuple[int, str | None]] = []
        dead: list[tuple[int, NewDeadLetter]] = []
        retry: list[int] = []
        for row_id, recipient in zip(batch.ids, batch.recipients, strict=True):
            message = by_number.get(recipient)
            if message is None:
                retry.append(row_id)  # the answer did not mention it: try again
            elif message.accepted:
                sent.append((row_id, message.api_message_id))
            elif message.error_code in TRANSIENT_RECIPIENT_CODES:
                retry.append(row_id)
            else:
                letter = batch.dead_letter(
                    recipient,
                    Reason.REJECTED,
                    message.error_description or "refused by the API",
                    message.error_code,
                )
                dead.append((row_id, letter))
        now = self._clock()
        credits_used = result.plan.parts * len(sent) * self._limits.credits_per_part
        await self._bookkeep(
            self._store.record_results,
            sent=sent,
            dead=dead,
            retry=retry,
            retry_at=now + self._limits.backoff_initial,
            error="recipient not accepted this time" if retry else None,
            credits_used=credits_used,
            failed=len(retry),
            now=now,
        )
        self._backoff.reset()
        self._health.clear("send", "dispatch")  # the API answered, and sending works
        # One line per request is noise at INFO (and costs a Pi's CPU at hundreds a
        # second): debug, unless a recipient was refused or is to be tried again.
        _LOGGER.log(
            logging.WARNING if dead or retry else logging.DEBUG,
            "Request %s: %d accepted, %d dead-lettered, %d to retry (%d part(s), route %s)",
            batch.client_message_id,
            len(sent),
            len(dead),
            len(retry),
            result.plan.parts,
            batch.route,
        )
        return not retry

    async def _failed(self, batch: Batch, error: ClickatellError) -> None:
        now = self._clock()
        detail = str(error)[:ERROR_DETAIL_LIMIT]
        self._health.error("send", detail)
        if isinstance(error, ClickatellInvalidRequestError | ClickatellDestinationError):
            reason = (
                Reason.REJECTED
                if isinstance(error, ClickatellDestinationError)
                else Reason.INVALID_REQUEST
            )
            description = error.description or detail
            await self._dead_letter(batch, reason, description, now, error.code)
            _LOGGER.warning("Request refused, %d SMS dead-lettered: %s", len(batch.ids), detail)
            return
        if unknown_outcome(error):
            await self._unknown_outcome(batch, detail, now)
            return
        if isinstance(error, ClickatellRateLimitError):
            wait = error.retry_after if error.retry_after is not None else self._backoff.next()
            # However long the API asks (a day's MT limit, a bogus header), look again
            # within the hour: a wasted request is cheaper than a relay asleep for good.
            wait = min(wait, MAX_API_WAIT)
            _LOGGER.warning("Rate limited by the API; waiting %.1fs", wait)
            # Kept in the queue file: a relay restarted inside a 429 storm honours it too.
            await self._store.call(self._store.set_meta, API_HOLD, repr(now + wait))
        elif isinstance(error, ClickatellPaymentRequiredError | ClickatellAuthenticationError):
            wait = self._limits.balance_check_interval
            what = (
                "no credit"
                if isinstance(error, ClickatellPaymentRequiredError)
                else "credentials refused"
            )
            if not self._health.paused:
                _LOGGER.error("Sending paused (%s): %s", what, detail)
            self._health.pause(what)
            await self._check_balance()  # the status shows the balance of the pause
        else:
            wait = self._backoff.next()
            _LOGGER.warning("Send failed (%s); retrying in %.1fs", detail, wait)
        self._hold_until = max(self._hold_until, now + wait)
        await self._bookkeep(
            self._store.record_results,
            retry=batch.ids,
            retry_at=now,
            error=detail,
            failed=len(batch.ids),
            now=now,
        )

    async def _unknown_outcome(self, batch: Batch, detail: str, now: float) -> None:
        """No answer the relay could read: the SMS may have been sent.

        They count as sent (budget and caps), wait a backoff of their own that
        grows with their unknown outcomes, and after `max_unknown_outcomes`
        they are dead-lettered instead of risking yet another duplicate.
        """
        limit = self._limits.max_unknown_outcomes
        counts = [count + 1 for count in batch.unknown_outcomes]
        give_up = {
            row_id for row_id, count in zip(batch.ids, counts, strict=True) if count >= limit
        }
        retry = [row_id for row_id in batch.ids if row_id not in give_up]
        advice = f"it may have been sent: look for clientMessageId {batch.client_message_id}"
        dead = [
            (
                row_id,
                batch.dead_letter(
                    recipient,
                    Reason.UNKNOWN_OUTCOME,
                    f"no readable answer to {limit} request(s), the last: {detail}; {advice}",
                ),
            )
            for row_id, recipient in zip(batch.ids, batch.recipients, strict=True)
            if row_id in give_up
        ]
        row_delay = self._backoff.after(max(counts) - 1)
        await self._bookkeep(
            self._store.record_results,
            dead=dead,
            retry=retry,
            retry_at=now + row_delay,
            error=detail,
            credits_used=self._parts(batch) * len(batch.ids) * self._limits.credits_per_part,
            failed=len(batch.ids),
            unknown=batch.ids,
            possibly_sent=batch.recipients,
            now=now,
        )
        wait = self._backoff.next()
        self._hold_until = max(self._hold_until, now + wait)
        _LOGGER.warning(
            "No readable answer (%s): %d SMS counted as sent, %d retried in %.1fs or later,"
            " %d dead-lettered after %d such request(s)",
            detail,
            len(batch.ids),
            len(retry),
            max(row_delay, wait),
            len(dead),
            limit,
        )

    # Upkeep ---------------------------------------------------------------------------------

    async def _check_balance(self) -> bool:
        """Read the balance for the status; whether sending may go on (True if unknowable).

        The first read, at start, checks the credentials and the endpoint: what
        is wrong is logged as an ERROR at once rather than at the first alert,
        and refused credentials pause sending (alerts are queued meanwhile).
        """
        first = self._last_balance == 0.0
        self._last_balance = self._clock()
        if not self._client.supports(Operation.BALANCE):
            return True
        try:
            balance = await self._client.balance()
        except ClickatellError as error:
            self._health.error("balance", f"balance: {error}"[:ERROR_DETAIL_LIMIT])
            self._on_change()
            if first:
                self._report_at_start(error)
            return False
        self._health.clear("balance")
        self._health.balance = balance.balance
        self._health.currency = balance.currency
        self._on_change()
        if first and balance.balance <= 0:
            _LOGGER.warning("The Clickatell account has no credit: alerts wait in the queue")
        return balance.balance > 0

    def _report_at_start(self, error: ClickatellError) -> None:
        api = self._config.clickatell.api.value
        if isinstance(error, ClickatellAuthenticationError):
            _LOGGER.error(
                "Clickatell refused the credentials of the %s API (%s): alerts are queued,"
                " and sending waits until the credentials work",
                api,
                error,
            )
            self._health.pause("credentials refused")
            self._on_change()
        elif isinstance(error, ClickatellConnectionError | ClickatellInvalidResponseError):
            _LOGGER.error(
                "At start the relay cannot reach the Clickatell %s API (%s): alerts are"
                " queued and sent once it answers",
                api,
                error,
            )
        else:  # it answered: busy, rate limited... nothing to fix here
            _LOGGER.warning("At start the Clickatell %s API answered: %s", api, error)

    async def _maintenance(self, now: float) -> None:
        expired = await self._store.call(
            self._store.expired, max_age=self._config.queue.max_age, now=now
        )
        expired = [batch for batch in expired if not set(batch.ids) & self._in_flight]
        if expired:
            detail = f"not sent within {self._config.queue.max_age:g}s"
            dead = [
                (batch.ids[0], batch.dead_letter(batch.recipients[0], Reason.EXPIRED, detail))
                for batch in expired
            ]
            await self._store.call(self._store.record_results, dead=dead, now=now)
            _LOGGER.warning("%d SMS expired unsent and were dead-lettered", len(dead))
            self._on_change()
        if now - self._last_prune >= PRUNE_INTERVAL:
            self._last_prune = now
            await self._store.call(
                self._store.prune, retention=self._config.queue.retention, now=now
            )
        if (
            not self._health.paused
            and now - self._last_balance >= self._limits.balance_check_interval
        ):
            await self._check_balance()

    async def _digests(self, now: float) -> float | None:
        """Fold the digest groups that are due; when the next one will be.

        The groups are read only when one may be due: at start, when this
        process has queued digest items since the last look, and at the due
        time found then (not on every turn: that is a read per request).
        """
        written = self._store.digest_items_written
        due = self._next_digest is not None and self._next_digest <= now
        if due or written != self._digests_looked_at:
            self._next_digest = await self._flush_digests(now)
            self._digests_looked_at = written
        return self._next_digest

    async def _flush_digests(self, now: float) -> float | None:
        """Fold the digest groups that are due; when the next one will be."""
        groups = await self._store.call(self._store.digest_groups)
        next_due: float | None = None
        for group in groups:
            route = self._routes.get(group.route)
            wait = route.digest.wait if route and route.digest else 0.0
            interval = route.digest.interval if route and route.digest else 0.0
            due = group.first_at + wait
            if group.last_flush is not None:
                due = max(due, group.last_flush + interval)
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            items = await self._store.call(self._store.digest_items, group.group_key)
            if not items:
                continue
            max_parts = route.max_parts if route else items[0].max_parts
            text, taken = fold_digest(items, max_parts)
            sms = NewSms(
                client_message_id=new_client_message_id(),
                recipients=items[0].recipients,
                text=text,
                route=group.route,
                topic=taken[-1].topic,
                priority=max(item.priority for item in taken),
                options=taken[0].options,  # the group's: every item has the same
                max_parts=max_parts,
            )
            await self._store.call(
                self._store.fold_digest,
                group_key=group.group_key,
                item_ids=[item.id for item in taken],
                sms=sms,
                now=now,
            )
            _LOGGER.info("Digest %s: %d alert(s) folded into one SMS", group.route, len(taken))
            if len(taken) < len(items):  # the rest wait for the next digest
                later = now + interval
                next_due = later if next_due is None else min(next_due, later)
            self._on_change()
        return next_due


async def sleep_until_stopped(stop: asyncio.Event, delay: float) -> None:
    """Sleep `delay` seconds, or less if `stop` is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()

"""Sending SMS for the notify services and the actions: targets, options, errors.

Every send goes through `async_send`, so the notify service, the notify
entities and the `send_message` action resolve targets, read options and
report failures the same way.
"""

from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util.ulid import ulid_hex

from .aioclickatell import (
    ClickatellAuthenticationError,
    ClickatellError,
    ClickatellInvalidOptionError,
    ClickatellInvalidRecipientError,
    ClickatellInvalidRequestError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellUnsupportedError,
    MessagePlan,
    MessageResult,
    SendOptions,
    SendResult,
    normalize_numbers,
)
from .aioclickatell.const import MAX_SCHEDULE_DAYS
from .const import (
    API_NAMES,
    DEFAULT_CREDITS_PER_PART,
    DOMAIN,
    LOGGER,
)
from .errors import error_key, refused_for_now, worth_retrying
from .helpers import SEND_RETRY
from .recipients import recipient_names, recipient_numbers

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping

    from homeassistant.core import HomeAssistant

    from .coordinator import ClickatellConfigEntry, ClickatellRuntimeData
    from .outbox import Outbox

# The options a send takes (notify `data`, action fields) -> the client's SendOptions field.
SEND_OPTION_FIELDS: Final[Mapping[str, str]] = {
    "from": "sender",
    "client_message_id": "client_message_id",
    "scheduled_time": "scheduled_delivery_time",
    "validity": "validity_period",
    "unicode": "unicode",
    "charset": "charset",
    "binary": "binary",
    "udh": "udh",
    "max_parts": "max_message_parts",
    "callback": "callback",
    "priority": "user_priority_queue",
    "escalate": "escalate",
    "max_credits": "max_credits",
    "type": "message_type",
    "mo": "mo",
    "required_features": "required_features",
    "bypass_dnc_check": "bypass_dnc_check",
}

# Types only: the client checks ranges and names the option it refuses.
SEND_OPTIONS_SCHEMA: Final[dict[Any, Any]] = {
    probatio.Optional("from"): cv.string,
    probatio.Optional("client_message_id"): cv.string,
    probatio.Optional("scheduled_time"): cv.datetime,
    probatio.Optional("validity"): probatio.Coerce(int),
    probatio.Optional("unicode"): cv.boolean,
    probatio.Optional("charset"): cv.string,
    probatio.Optional("binary"): cv.boolean,
    probatio.Optional("udh"): cv.string,
    probatio.Optional("max_parts"): probatio.Coerce(int),
    probatio.Optional("callback"): probatio.Coerce(int),
    probatio.Optional("priority"): probatio.Coerce(int),
    probatio.Optional("escalate"): cv.boolean,
    probatio.Optional("max_credits"): probatio.Coerce(float),
    probatio.Optional("type"): cv.string,
    probatio.Optional("mo"): cv.boolean,
    probatio.Optional("required_features"): probatio.Coerce(int),
    probatio.Optional("bypass_dnc_check"): cv.boolean,
}

# The client's SendOptions field -> the option as the user writes it.
OPTION_KEYS: Final[Mapping[str, str]] = {field: key for key, field in SEND_OPTION_FIELDS.items()}

NOTIFY_DATA_SCHEMA: Final = probatio.Schema(SEND_OPTIONS_SCHEMA)


def send_options_from(data: Mapping[str, Any] | None) -> SendOptions | None:
    """The client's options from a validated notify `data` or action call."""
    if not data:
        return None
    values = {
        field: data[key] for key, field in SEND_OPTION_FIELDS.items() if data.get(key) is not None
    }
    if (when := values.get("scheduled_delivery_time")) is not None:
        # A time without a zone is Home Assistant's local time.
        values["scheduled_delivery_time"] = _schedulable(dt_util.as_utc(when))
    try:
        return SendOptions(**values)
    except ClickatellInvalidOptionError as error:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_option",
            translation_placeholders={
                "option": OPTION_KEYS[error.option],
                "problem": error.problem,
            },
        ) from error


def _schedulable(when: datetime) -> datetime:
    """A scheduled time Clickatell can keep: not past (it would send at once), at most 7 days."""
    now = dt_util.utcnow()
    if when <= now:
        key = "scheduled_time_past"
    elif when > now + timedelta(days=MAX_SCHEDULE_DAYS):
        key = "scheduled_time_too_far"
    else:
        return when
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"time": when.isoformat(), "days": str(MAX_SCHEDULE_DAYS)},
    )


def check_supported(entry: ClickatellConfigEntry, options: SendOptions | None) -> None:
    """Refuse, naming them as the user typed them, options the account's API does not take."""
    client = entry.runtime_data.client
    if options is None:
        return
    unsupported = sorted(
        OPTION_KEYS[name] for name in options.set_options() if name not in client.supported_options
    )
    if unsupported:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="options_not_supported",
            translation_placeholders={
                "options": ", ".join(unsupported),
                "api": API_NAMES[client.api],
            },
        )


def notify_send_options(data: Mapping[str, Any] | None) -> SendOptions | None:
    """The options of a legacy notify call's free-form `data`, validated."""
    try:
        validated = NOTIFY_DATA_SCHEMA(dict(data or {}))
    except probatio.Invalid as error:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_data",
            translation_placeholders={"error": str(error)},
        ) from error
    return send_options_from(validated)


def with_title(message: str, title: str | None) -> str:
    """SMS has no subject: a title is prepended on a line of its own."""
    return f"{title}\n{message}" if title else message


def resolve_targets(entry: ClickatellConfigEntry, targets: Iterable[str]) -> list[str]:
    """Numbers for targets that are recipient names (any case) or phone numbers.

    A target with a letter in it is a name; an unknown name is refused. Numbers
    are left to the client, which normalizes them and names every invalid one.
    """
    by_name = {name.casefold(): number for name, number in recipient_numbers(entry).items()}
    numbers: list[str] = []
    unknown: list[str] = []
    for target in targets:
        name = target.strip()
        if (number := by_name.get(name.casefold())) is not None:
            numbers.append(number)
        elif any(char.isalpha() for char in name):
            unknown.append(target)
        else:
            numbers.append(name)
    if unknown:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_recipients",
            translation_placeholders={"names": ", ".join(unknown)},
        )
    if not numbers:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_recipients")
    return numbers


@asynccontextmanager
async def action_errors(
    hass: HomeAssistant, entry: ClickatellConfigEntry, *, sending: bool = False
) -> AsyncIterator[None]:
    """Map the client's errors to translated action errors.

    Mistakes in the call are ServiceValidationError; everything else is a
    HomeAssistantError. A refused key starts re-authentication, a refusal for
    lack of credit raises the repair issue. `sending`: the call sends messages.
    """
    try:
        yield
    except ClickatellInvalidRecipientError as error:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_numbers",
            translation_placeholders={"numbers": ", ".join(error.numbers)},
        ) from error
    except ClickatellUnsupportedError as error:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unsupported",
            translation_placeholders={"error": str(error)},
        ) from error
    except ClickatellInvalidRequestError as error:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_request",
            translation_placeholders={"error": str(error)},
        ) from error
    except ClickatellError as error:
        _log_partial_send(error)
        raise _home_assistant_error(hass, entry, error, sending=sending) from error


def async_account_problem(
    hass: HomeAssistant, entry: ClickatellConfigEntry, error: ClickatellError
) -> None:
    """A refused key starts re-authentication; no credit raises the repair issue."""
    if isinstance(error, ClickatellAuthenticationError) and not isinstance(
        error, ClickatellIpLockdownError
    ):
        entry.async_start_reauth(hass)
    elif isinstance(error, ClickatellPaymentRequiredError):
        entry.runtime_data.balance_coordinator.async_no_credit()


def _home_assistant_error(
    hass: HomeAssistant, entry: ClickatellConfigEntry, error: ClickatellError, *, sending: bool
) -> HomeAssistantError:
    """The error to raise for a failure that is not the caller's mistake."""
    async_account_problem(hass, entry, error)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=error_key(error, sending=sending),
        translation_placeholders={"error": str(error)},
    )


def _log_partial_send(error: ClickatellError) -> None:
    """Say what went out before a later batch failed."""
    if (partial := error.partial_result) is not None:
        LOGGER.warning(
            "%s of the recipients were sent to before a later batch failed: %s",
            len(partial.accepted),
            error,
        )


@dataclass(frozen=True, kw_only=True)
class Sent:
    """What became of a send: Clickatell's answer per recipient, and who waits in the outbox."""

    recipients: tuple[str, ...]  # as the API writes them, in the call's order
    answers: Mapping[str, MessageResult]  # by recipient; none for those in the outbox
    plan: MessagePlan
    requests: int
    client_message_id: str

    @property
    def accepted(self) -> tuple[MessageResult, ...]:
        """Recipients Clickatell accepted."""
        return tuple(answer for answer in self.answers.values() if answer.accepted)

    @property
    def rejected(self) -> tuple[MessageResult, ...]:
        """Recipients Clickatell refused, each with its error."""
        return tuple(answer for answer in self.answers.values() if not answer.accepted)

    @property
    def queued(self) -> tuple[str, ...]:
        """Recipients whose SMS waits in the outbox."""
        return tuple(number for number in self.recipients if number not in self.answers)


def record_sent(runtime: ClickatellRuntimeData, result: SendResult) -> None:
    """Remember what Clickatell accepted, for its statuses; a message accepted proves credit."""
    runtime.tracker.async_sent(result)
    if result.accepted:
        runtime.balance_coordinator.async_credit_restored()


async def async_send(
    hass: HomeAssistant,
    entry: ClickatellConfigEntry,
    targets: Iterable[str],
    message: str,
    options: SendOptions | None = None,
) -> Sent:
    """Send to every target in as few requests as the batch size allows.

    Recipients the API refuses are in the result; the caller decides whether
    that is an error (see `raise_for_rejected`). With the outbox on, what
    cannot go now waits there, and so does a new SMS to a recipient with SMS
    waiting, behind them: the call succeeds for those (see outbox.py).
    """
    numbers = resolve_targets(entry, targets)
    check_supported(entry, options)
    runtime = entry.runtime_data
    client = runtime.client
    outbox = runtime.outbox if runtime.outbox.enabled else None
    # Every SMS has a client message ID, the same on every try from the outbox.
    options = replace(
        options or SendOptions(),
        client_message_id=(options and options.client_message_id) or ulid_hex(),
    )
    called_at = dt_util.utcnow()
    result: SendResult | None = None
    try:
        async with action_errors(hass, entry, sending=True):
            recipients = normalize_numbers(numbers, client.default_region)
            plan = client.plan(message, options)
            behind: set[str] = set()
            if outbox is not None:
                # Clickatell asked for no request yet: everything waits.
                behind = set(recipients) if outbox.held else outbox.waiting_for(recipients)
                outbox.check_room(len(behind))
            error: ClickatellError | None = None
            if direct := [number for number in recipients if number not in behind]:
                result, error = await _async_send_now(
                    runtime, direct, message, options, outbox=outbox
                )
            answers = {
                item.to: item
                for item in (result.messages if result is not None else ())
                if outbox is None
                or item.accepted
                or not refused_for_now(client.api, item.error_code)
            }
            if outbox is not None and (
                waiting := [number for number in recipients if number not in answers]
            ):
                try:
                    outbox.async_enqueue(
                        message,
                        options,
                        waiting,
                        called_at,
                        failed=len(waiting) > len(behind),
                        retry_after=error.retry_after
                        if isinstance(error, ClickatellRateLimitError)
                        else None,
                    )
                except HomeAssistantError as full:
                    raise full from error
                LOGGER.warning(
                    "%s SMS wait in the outbox of %s (client message ID %s)%s",
                    len(waiting),
                    entry.title,
                    options.client_message_id,
                    f": {error}" if error is not None else "",
                )
    finally:
        # The balance may have changed, or the send failed for the want of
        # it: show it now (with the repair issue) rather than at the next poll.
        await runtime.balance_coordinator.async_request_refresh()
    return Sent(
        recipients=tuple(recipients),
        answers=answers,
        plan=plan,
        requests=result.requests if result is not None else 0,
        client_message_id=options.client_message_id or "",
    )


async def _async_send_now(
    runtime: ClickatellRuntimeData,
    recipients: list[str],
    message: str,
    options: SendOptions,
    *,
    outbox: Outbox | None,
) -> tuple[SendResult | None, ClickatellError | None]:
    """Send to these recipients (as the API writes them): what was answered, and the failure.

    With an outbox, a failure worth retrying is returned with what went
    before it (None if nothing did), for the rest to wait; else it is raised.
    """
    try:
        result = await runtime.client.send(
            [f"+{number}" for number in recipients], message, options, retry=SEND_RETRY
        )
    except ClickatellError as error:
        # What went out before a later batch failed still gets its statuses.
        if error.partial_result is not None:
            record_sent(runtime, error.partial_result)
        if outbox is None or not worth_retrying(error):
            raise
        return error.partial_result, error
    record_sent(runtime, result)
    # Clickatell answers again: what waits need not wait out its backoff.
    runtime.outbox.async_api_answered()
    return result, None


def raise_for_rejected(entry: ClickatellConfigEntry, sent: Sent) -> None:
    """Raise, listing them, if the API refused any recipient (the others were sent or wait)."""
    if not sent.rejected:
        return
    names = recipient_names(entry)
    rejected = ", ".join(
        f"{names.get(item.to, item.to)} ({item.error_description or item.error_code})"
        for item in sent.rejected
    )
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="recipients_rejected",
        translation_placeholders={
            "rejected": rejected,
            "accepted": str(len(sent.accepted)),
        },
    )


def send_response(entry: ClickatellConfigEntry, sent: Sent) -> dict[str, Any]:
    """The `send_message` action's response: one item per recipient, and totals.

    `estimated_credits` is parts x the recipient's minimum charge from the
    coverage sensors where known, else parts x 1 credit (`charge_basis` says
    which); it is an estimate, not Clickatell's bill. A recipient whose SMS
    waits in the outbox is `queued`, with no message ID and no cost yet.
    """
    runtime = entry.runtime_data
    charges = runtime.coverage_coordinator.minimum_charges() if runtime.coverage_coordinator else {}
    names = recipient_names(entry)
    parts = sent.plan.parts
    messages: list[dict[str, Any]] = []
    total = 0.0
    for number in sent.recipients:
        item = sent.answers.get(number, MessageResult(to=number, accepted=False))
        estimated: float | None = None
        basis: str | None = None
        if item.accepted:
            per_part = charges.get(item.to)
            basis = "default" if per_part is None else "coverage"
            estimated = round(
                parts * (DEFAULT_CREDITS_PER_PART if per_part is None else per_part), 4
            )
            total += estimated
        messages.append(
            {
                "to": item.to,
                "recipient": names.get(item.to),
                "accepted": item.accepted,
                "queued": number not in sent.answers,
                "message_id": item.api_message_id,
                "error_code": item.error_code,
                "error_description": item.error_description,
                "parts": parts,
                "estimated_credits": estimated,
                "charge_basis": basis,
            }
        )
    return {
        "messages": messages,
        "accepted": len(sent.accepted),
        "rejected": len(sent.rejected),
        "queued": bool(sent.queued),
        "parts": parts,
        "encoding": sent.plan.encoding.value,
        "truncated": sent.plan.truncated,
        "requests": sent.requests,
        "client_message_id": sent.client_message_id,
        "estimated_credits": round(total, 4),
    }

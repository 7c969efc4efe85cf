"""aioclickatell: an asynchronous client for Clickatell's SMS APIs.

No Home Assistant import: this package ships inside the integration and, by
the same files, as a top-level package of the relay's wheel. Imports inside it
are relative so both can load it.
"""

from .callbacks import callback_authorized, parse_callback
from .client import ClickatellClient
from .const import (
    DEFAULT_MAX_BATCH_SIZE,
    MAX_CALLBACK_BYTES,
    ApiFlavour,
    ContentFormat,
    HttpMethod,
    Operation,
    Overflow,
    PlatformEndpoint,
)
from .exceptions import (
    ClickatellAuthenticationError,
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidCallbackError,
    ClickatellInvalidOptionError,
    ClickatellInvalidRecipientError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ClickatellTimeoutError,
    ClickatellUnsupportedError,
)
from .models import (
    Balance,
    CallbackEvent,
    Coverage,
    DeliveryStatus,
    Encoding,
    InboundMessage,
    MessagePlan,
    MessageResult,
    MessageStatus,
    SendOptions,
    SendResult,
    StopResult,
)
from .numbers import e164, normalize_number, normalize_numbers
from .retry import RetryPolicy
from .segments import is_gsm7, plan_message

__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "MAX_CALLBACK_BYTES",
    "ApiFlavour",
    "Balance",
    "CallbackEvent",
    "ClickatellAuthenticationError",
    "ClickatellCannotConnectError",
    "ClickatellClient",
    "ClickatellConnectionError",
    "ClickatellDestinationError",
    "ClickatellError",
    "ClickatellInvalidCallbackError",
    "ClickatellInvalidOptionError",
    "ClickatellInvalidRecipientError",
    "ClickatellInvalidRequestError",
    "ClickatellInvalidResponseError",
    "ClickatellIpLockdownError",
    "ClickatellPaymentRequiredError",
    "ClickatellRateLimitError",
    "ClickatellServiceUnavailableError",
    "ClickatellTimeoutError",
    "ClickatellUnsupportedError",
    "ContentFormat",
    "Coverage",
    "DeliveryStatus",
    "Encoding",
    "HttpMethod",
    "InboundMessage",
    "MessagePlan",
    "MessageResult",
    "MessageStatus",
    "Operation",
    "Overflow",
    "PlatformEndpoint",
    "RetryPolicy",
    "SendOptions",
    "SendResult",
    "StopResult",
    "callback_authorized",
    "e164",
    "is_gsm7",
    "normalize_number",
    "normalize_numbers",
    "parse_callback",
    "plan_message",
]

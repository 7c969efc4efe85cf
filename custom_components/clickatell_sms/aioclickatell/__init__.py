"""aioclickatell: an asynchronous client for Clickatell's SMS APIs.

No Home Assistant import: this package ships inside the integration and, by
the same files, as a top-level package of the relay's wheel. Imports inside it
are relative so both can load it.
"""

from .client import ClickatellClient
from .const import (
    DEFAULT_MAX_BATCH_SIZE,
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
    Coverage,
    Encoding,
    MessagePlan,
    MessageResult,
    SendOptions,
    SendResult,
    StopResult,
)
from .numbers import normalize_number, normalize_numbers
from .retry import RetryPolicy
from .segments import is_gsm7, plan_message

__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "ApiFlavour",
    "Balance",
    "ClickatellAuthenticationError",
    "ClickatellCannotConnectError",
    "ClickatellClient",
    "ClickatellConnectionError",
    "ClickatellDestinationError",
    "ClickatellError",
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
    "Encoding",
    "HttpMethod",
    "MessagePlan",
    "MessageResult",
    "Operation",
    "Overflow",
    "PlatformEndpoint",
    "RetryPolicy",
    "SendOptions",
    "SendResult",
    "StopResult",
    "is_gsm7",
    "normalize_number",
    "normalize_numbers",
    "plan_message",
]

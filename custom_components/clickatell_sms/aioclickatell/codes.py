"""Map the API's error codes and HTTP statuses onto the exception tree.

Legacy codes come from seed 001 section 10 (REST and HTTP APIs); the Platform
answers with the One API's own numbering. An unknown code falls back to the
HTTP status, an unknown status to the base error.
"""

from __future__ import annotations

import math
import re
import time

from .const import ApiFlavour
from .exceptions import (
    ClickatellAuthenticationError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
)

_AUTH_CODES = {"001", "002", "003", "004", "005"}  # the HTTP API's auth family
_LEGACY_CODES: dict[str, type[ClickatellError]] = {
    **dict.fromkeys(_AUTH_CODES, ClickatellAuthenticationError),
    "007": ClickatellIpLockdownError,
    **dict.fromkeys(
        ("105", "114", "121", "122", "128", "250"),
        ClickatellDestinationError,
    ),
    "130": ClickatellRateLimitError,
    "301": ClickatellPaymentRequiredError,
    "901": ClickatellServiceUnavailableError,
}
# Every other code of 100-167 is an invalid request.
_LEGACY_INVALID_REQUEST = range(100, 168)

_PLATFORM_CODES: dict[int, type[ClickatellError]] = {
    1: ClickatellAuthenticationError,
    2: ClickatellAuthenticationError,
    3: ClickatellAuthenticationError,
    7: ClickatellIpLockdownError,
    18: ClickatellServiceUnavailableError,
    19: ClickatellServiceUnavailableError,
    20: ClickatellPaymentRequiredError,
    **dict.fromkeys((21, 22, 23, 24, 30, 40, 41, 42, 100), ClickatellInvalidRequestError),
    **dict.fromkeys((25, 26, 27, 28), ClickatellDestinationError),
    43: ClickatellRateLimitError,
}

_STATUSES: dict[int, type[ClickatellError]] = {
    401: ClickatellAuthenticationError,
    402: ClickatellPaymentRequiredError,
    410: ClickatellDestinationError,
    429: ClickatellRateLimitError,
    503: ClickatellServiceUnavailableError,
}

_UNTIL = re.compile(r"until\s*<?(\d{9,11})>?", re.IGNORECASE)


def normalize_code(flavour: ApiFlavour, code: object) -> str | None:
    """Codes arrive as "001", 1 or "1"; legacy ones are written with three digits."""
    if code is None or isinstance(code, bool):
        return None
    text = str(code).strip()
    if not text:
        return None
    if flavour is ApiFlavour.PLATFORM or not text.isdigit():
        return text
    return text.zfill(3)


def _class_for_code(flavour: ApiFlavour, code: str | None) -> type[ClickatellError] | None:
    if code is None or not code.isdigit():
        return None
    number = int(code)
    if flavour is ApiFlavour.PLATFORM and number in _PLATFORM_CODES:
        return _PLATFORM_CODES[number]
    if code in _LEGACY_CODES:
        return _LEGACY_CODES[code]
    return ClickatellInvalidRequestError if number in _LEGACY_INVALID_REQUEST else None


def _class_for_status(status: int | None) -> type[ClickatellError]:
    if status is None:
        return ClickatellError
    if status in _STATUSES:
        return _STATUSES[status]
    if 400 <= status < 500:  # noqa: PLR2004
        return ClickatellInvalidRequestError
    return ClickatellServiceUnavailableError if status >= 500 else ClickatellError  # noqa: PLR2004


def retry_after_seconds(value: str | None) -> float | None:
    """Read a Retry-After header given in seconds (the form APIs use); None if unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def api_error(
    flavour: ApiFlavour,
    *,
    code: object = None,
    description: str | None = None,
    status: int | None = None,
    retry_after: float | None = None,
) -> ClickatellError:
    """Build the exception for an error the API reported."""
    normalized = normalize_code(flavour, code)
    error_class = _class_for_code(flavour, normalized) or _class_for_status(status)
    parts = [f"Clickatell {flavour.value} API error"]
    if normalized is not None:
        parts.append(f" {normalized}")
    parts.append(f": {description}" if description else "")
    if status is not None:
        parts.append(f" (HTTP {status})")
    message = "".join(parts)
    if issubclass(error_class, ClickatellRateLimitError):
        if retry_after is None and description and (until := _UNTIL.search(description)):
            retry_after = max(float(until.group(1)) - time.time(), 0.0)
        return error_class(
            message,
            retry_after=retry_after,
            code=normalized,
            description=description,
            status=status,
        )
    return error_class(message, code=normalized, description=description, status=status)

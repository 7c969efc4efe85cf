"""Error codes: the legacy table (seed 001 section 10) and the One API's numbering."""

from __future__ import annotations

import time
from typing import Final

# code -> (description, detailed description), from seed 001 section 10.
LEGACY: Final = {
    "001": ("Authentication failed", "Authentication details are incorrect."),
    "007": (
        "IP lockdown violation",
        (
            "You have locked down the API instance to a specific IP address but attempted "
            "to send from an IP address different to the one you have set."
        ),
    ),
    "100": ("Data malformed", "The JSON/XML data submitted is invalid."),
    "101": ("Invalid or missing parameters", "One or more parameters are missing or invalid."),
    "102": ("Invalid user data header", "The format of the user data header is incorrect."),
    "105": (
        "Invalid destination address",
        "The destination address you are attempting to send to is invalid.",
    ),
    "106": ("Invalid source address", "The specified sender address is incorrect."),
    "108": (
        "Invalid or missing API ID",
        "The API ID is either incorrect or has not been included in the API call.",
    ),
    "109": (
        "Missing message ID",
        "This may refer to either a client message ID or API message ID.",
    ),
    "113": (
        "Maximum message parts exceeded",
        "The text component of the message is greater than the permitted length.",
    ),
    "114": (
        "Cannot route message",
        "The gateway is not currently routing messages to this network prefix.",
    ),
    "116": ("Invalid unicode data", "The format of the Unicode data entered is incorrect."),
    "120": (
        "clientMessageId contains space(s)",
        "Space characters in client message IDs are not currently supported.",
    ),
    "121": (
        "Destination mobile number blocked",
        (
            "This number is not allowed to receive messages from us and has been put on our "
            "blocked list."
        ),
    ),
    "122": (
        "Destination mobile opted out",
        "The user has opted out and is no longer subscribed to your service.",
    ),
    "128": ("Number delisted", "This number has been delisted and cannot receive our messages."),
    "130": (
        "Maximum MT limit exceeded",
        "The account has exceeded the maximum number of MT messages it may send for now.",
    ),
    "160": (
        "HTTP method is not supported on this resource",
        "An unsupported HTTP method has been performed on the resource.",
    ),
    "161": (
        "Resource does not exist",
        "You are attempting to access a REST API resource that does not exist.",
    ),
    "165": (
        "Invalid or no version header specified",
        "The expected header that specifies version was either not found or is invalid.",
    ),
    "166": (
        "Invalid accept header specified",
        "The optional header that specifies acceptable content does not contain an allowed value.",
    ),
    "167": (
        "Invalid or no content-type specified",
        (
            "The expected header that specifies content-type content was either not found "
            "or did not contain an allowed value."
        ),
    ),
    "250": (
        "Destination address is on DNC list - Do not contact receiver",
        (
            "DNC lookup for the destination address result shows that the receiver should "
            "not be contacted."
        ),
    ),
    "301": ("No credit left", "Insufficient credits."),
    "901": ("Internal error - please retry", "An error occurred on our platforms."),
}

# code -> (description, detailed description), the One API's numbering.
ONE_API: Final = {
    1: ("Invalid or missing Integration API Key", "The Authorization header is not a valid key."),
    7: ("IP address not approved", "The request came from an IP address that is not approved."),
    19: ("Internal error - please retry", "An error occurred on our platform."),
    20: ("Insufficient account balance", "The balance does not cover the messages."),
    21: ("Malformed request payload", "The body could not be read as JSON or XML."),
    22: ("Too many messages in the request", "Send at most 200 messages per request."),
    23: ("Invalid or missing parameter", "One or more parameters are missing or invalid."),
    24: ("Message content too long", "The content needs more message parts than allowed."),
    25: ("Invalid recipient address", "The recipient address is invalid."),
    26: ("Recipient opted out", "The recipient opted out or must not be contacted."),
    27: ("Recipient not available on the channel", "The recipient cannot be reached on sms."),
    30: ("Content type not supported", "Send and accept application/json (or XML on /messages)."),
    41: ("Resource does not exist", "No such resource."),
    42: ("Method not allowed", "The HTTP method is not supported on this resource."),
    43: ("Rate limit exceeded", "Too many messages per second; retry after a while."),
}

# Legacy codes -> One API codes, where the Platform meets the same condition.
TO_ONE_API: Final = {
    "001": 1,
    "007": 7,
    "100": 21,
    "101": 23,
    "102": 23,
    "105": 25,
    "106": 23,
    "113": 24,
    "114": 27,
    "116": 23,
    "120": 23,
    "121": 25,
    "122": 26,
    "128": 27,
    "130": 43,
    "160": 42,
    "161": 41,
    "165": 30,
    "166": 30,
    "167": 30,
    "250": 26,
    "301": 20,
    "901": 19,
}

# The HTTP status of a request-level error, by legacy code (seed 001 section 9).
_STATUS: Final = {
    "001": 401,
    "007": 401,
    "130": 429,
    "160": 405,
    "161": 404,
    "301": 402,
    "901": 503,
}

# Numbers 2799999 followed by one of these codes are rejected with it.
DESTINATION_CODES: Final = frozenset({"105", "114", "121", "122", "128", "250"})
UNROUTABLE_CODES: Final = frozenset({"114", "121", "128"})

# Numbers 2799998 followed by one of these status codes are accepted, then end
# in that status: 005 error with message, 007 error delivering (after the
# gateway), 009 routing error, 010 expired (no charge), 012 out of credit.
FATE_CODES: Final = frozenset({"005", "007", "009", "010", "012"})

# Legacy status -> the One API's (code, name), as its callbacks and queries give them.
ONE_API_STATUSES: Final = {
    "001": (1, "UNKNOWN"),
    "002": (2, "QUEUED"),
    "011": (3, "SCHEDULED"),
    "003": (4, "SENT_TO_SUPPLIER"),
    "004": (5, "DEVICE_ACK"),
    "005": (23, "DELIVERY_FAILURE"),
    "006": (21, "STOPPED_BY_USER"),
    "007": (23, "DELIVERY_FAILURE"),
    "009": (100, "ROUTING_ERROR"),
    "010": (20, "EXPIRED"),
    "012": (25, "INSUFFICIENT_ACCOUNT_BALANCE"),
}

DOCUMENTATION: Final = "https://www.clickatell.com/help/apidocs/error/{code}.htm"
ONE_API_DOCUMENTATION: Final = "https://docs.clickatell.com/channels/one-api/error-codes/#{code}"


class ApiError(Exception):
    """A request-level error, in the legacy numbering, with its One API twin.

    `one_api` overrides the mapped One API code where the Platform says it
    differently (too many messages is 22 there, 101 in the legacy table).
    """

    def __init__(
        self, code: str, *, one_api: int | None = None, retry_after: int | None = None
    ) -> None:
        """An error with a legacy code from LEGACY."""
        super().__init__(code)
        self.code = code
        self.one_api = one_api
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        """The HTTP status the REST and Platform APIs answer with."""
        return _STATUS.get(self.code, 400)

    @property
    def description(self) -> str:
        """The legacy description; 130 names the time the limit lifts."""
        text = LEGACY[self.code][0]
        if self.code == "130":
            until = int(time.time()) + (self.retry_after or 1)
            return f"{text} until {until}"
        return text

    @property
    def one_api_code(self) -> int:
        """The code in the One API's numbering."""
        return self.one_api if self.one_api is not None else TO_ONE_API.get(self.code, 23)


def legacy_error(code: str) -> dict[str, str]:
    """A legacy error object: code, description, documentation."""
    return {
        "code": code,
        "description": LEGACY[code][0],
        "documentation": DOCUMENTATION.format(code=code),
    }


def one_api_error(code: int) -> dict[str, object]:
    """A One API error object: code, description, documentation."""
    return {
        "code": code,
        "description": ONE_API[code][0],
        "documentation": ONE_API_DOCUMENTATION.format(code=code),
    }


def destination_code(number: str) -> str | None:
    """The legacy code a destination is rejected with, or None when it is accepted.

    Digits only, 10 to 15 of them; 2799999 followed by a code in
    DESTINATION_CODES is rejected with that code.
    """
    if not number.isascii() or not number.isdigit() or not 10 <= len(number) <= 15:  # noqa: PLR2004
        return "105"
    if len(number) == 10 and number.startswith("2799999") and number[7:] in DESTINATION_CODES:  # noqa: PLR2004
        return number[7:]
    return None


def fate_code(number: str) -> str | None:
    """The status an accepted message to this number ends in, if it does not arrive."""
    if len(number) == 10 and number.startswith("2799998") and number[7:] in FATE_CODES:  # noqa: PLR2004
        return number[7:]
    return None

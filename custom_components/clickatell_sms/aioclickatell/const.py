"""Names and limits of the Clickatell APIs (see docs/api-contract.md)."""

from __future__ import annotations

from enum import StrEnum


class ApiFlavour(StrEnum):
    """The three Clickatell APIs the client speaks."""

    REST = "rest"
    PLATFORM = "platform"
    HTTP = "http"


class ContentFormat(StrEnum):
    """Body format of the REST and Platform APIs (the HTTP API speaks plain text)."""

    JSON = "json"
    XML = "xml"


class PlatformEndpoint(StrEnum):
    """Which Platform send endpoint to use."""

    ONE_API = "v1"  # POST /v1/message, today's API for new accounts
    MESSAGES = "messages"  # POST /messages, seed 003 (JSON and XML)


class HttpMethod(StrEnum):
    """How the legacy HTTP API is called (seed 004 allows both)."""

    GET = "GET"
    POST = "POST"


class Operation(StrEnum):
    """What a flavour can do; not every flavour can do everything."""

    SEND = "send"
    STOP = "stop"
    BALANCE = "balance"
    COVERAGE = "coverage"
    STATUS = "status"  # query a message's status


class Overflow(StrEnum):
    """What to do with text longer than the maximum number of parts."""

    REFUSE = "refuse"
    TRUNCATE = "truncate"


DEFAULT_BASE_URLS: dict[ApiFlavour, str] = {
    ApiFlavour.REST: "https://api.clickatell.com/rest",
    ApiFlavour.PLATFORM: "https://platform.clickatell.com",
    ApiFlavour.HTTP: "https://api.clickatell.com",
}

# Recipients per request: the newest seeds say 200; older ones allow more.
DEFAULT_MAX_BATCH_SIZE = 200
REST_BATCH_CEILING = 600  # seeds 000 and 001 section 3
PLATFORM_BATCH_CEILING = 200  # seed 003
HTTP_GET_BATCH_CEILING = 300  # seed 004
HTTP_POST_BATCH_CEILING = 600  # seed 004

DEFAULT_REQUEST_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1 << 20  # no Clickatell answer comes near this
# A callback of 35 parts of text is a few kilobytes; a larger body is refused.
MAX_CALLBACK_BYTES = 1 << 16

# Scheduling is possible "of up to 7 days ahead" (seed 001 section 2).
MAX_SCHEDULE_DAYS = 7
MAX_VALIDITY_MINUTES = MAX_SCHEDULE_DAYS * 24 * 60
# Clickatell concatenates at most 35 parts (its "SMS concatenation" page).
MAX_MESSAGE_PARTS_LIMIT = 35
# "Maximum Credits" values of seed 001 section 8.
MAX_CREDITS_VALUES = frozenset({0.8, 1.0, 1.5, 2.0, 2.5, 3.0})

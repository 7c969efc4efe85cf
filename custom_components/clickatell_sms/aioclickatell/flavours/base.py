"""What every API flavour shares: requests as data, and careful reading of answers.

A flavour builds requests and reads responses; it does no I/O. The client
sends what a flavour builds through its one request method.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ..codes import api_error, normalize_code
from ..const import ApiFlavour, ContentFormat, Operation
from ..exceptions import (
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidResponseError,
    ClickatellUnsupportedError,
)
from ..models import (
    Balance,
    Coverage,
    DeliveryStatus,
    MessagePlan,
    MessageResult,
    SendOptions,
    StopResult,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

# API answers are a few levels deep; a deeper one is hostile or broken.
MAX_NESTING: Final = 32

MEDIA_TYPES: Final = {
    ContentFormat.JSON: "application/json",
    ContentFormat.XML: "application/xml",
}


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """An API key (REST, Platform) or user, password and API ID (HTTP)."""

    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_id: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown."""
        return tuple(value for value in (self.api_key, self.password, self.api_id) if value)


@dataclass(frozen=True, kw_only=True)
class ApiRequest:
    """One HTTP request, as data."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    body: str | Mapping[str, str] | None = None  # text (JSON, XML) or form fields


@dataclass(frozen=True, kw_only=True)
class ApiResponse:
    """One HTTP response, read whole."""

    status: int
    content_type: str  # media type only, lower case
    text: str
    retry_after: float | None = None


def utc_timestamp(when: datetime, *, zulu: bool) -> str:
    """ISO 8601 in UTC: "2015-06-30T14:00:00Z" (legacy) or "...+0000" (seed 003)."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + ("Z" if zulu else "+0000")


def invalid_response(
    api: ApiFlavour, detail: str, status: int | None = None
) -> ClickatellInvalidResponseError:
    """The error for a response the client cannot read."""
    return ClickatellInvalidResponseError(
        f"Invalid response from the Clickatell {api.value} API: {detail}", status=status
    )


# Builds the error for a value that cannot be read: a response's by default,
# a callback's when the callback parser reads with the same readers.
Invalid = Callable[[ApiFlavour, str], ClickatellError]


def parse_bool(api: ApiFlavour, value: object, invalid: Invalid = invalid_response) -> bool:
    """Booleans arrive as true/false, 1/0 or their strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "0", "false"):
        return value.strip().lower() in ("1", "true")
    raise invalid(api, f"expected a boolean, got {type(value).__name__}")


def parse_number(api: ApiFlavour, value: object, invalid: Invalid = invalid_response) -> float:
    """Amounts arrive as numbers or strings ("300.50"); only finite ones are amounts."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(api, f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise invalid(api, "expected a number") from None
    if not math.isfinite(number):
        raise invalid(api, "expected a finite number")
    return number


def optional_str(api: ApiFlavour, value: object, invalid: Invalid = invalid_response) -> str | None:
    """A string, or nothing where the API sends null or an empty string."""
    if value is None or value == "":
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise invalid(api, f"expected a string, got {type(value).__name__}")


# Epoch times at or past this are milliseconds (the One API's); seconds would be year 5138.
_MILLISECONDS_FROM = 10**11


def parse_timestamp(
    api: ApiFlavour,
    value: object,
    invalid: Invalid = invalid_response,
    *,
    naive_zone: tzinfo = UTC,
) -> datetime:
    """A time, aware and in UTC, from what the APIs send.

    Unix seconds or milliseconds (a number or digits), ISO 8601, or
    "2015-02-04 09:30:36" without a zone, read in `naive_zone`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(api, f"expected a time, got {type(value).__name__}")
    text = str(value).strip()
    try:
        if isinstance(value, int | float) or text.isdigit():
            seconds = float(text)
            if seconds >= _MILLISECONDS_FROM:
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        when = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise invalid(api, "expected a time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=naive_zone)
    return when.astimezone(UTC)


def json_object(text: str) -> dict[str, Any]:
    """A JSON object; ValueError naming what is wrong otherwise."""
    try:
        payload = json.loads(text)
    except ValueError:
        raise ValueError("the body is not valid JSON") from None
    except RecursionError:  # json recurses per level: a deep body would escape as this
        raise ValueError("the JSON is nested too deeply") from None
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")  # noqa: TRY004 - one error type for the callers
    return payload


def xml_root(text: str | bytes) -> Element:
    """An XML document's root, parsed safely (no entities, no external references).

    ValueError naming what is wrong otherwise.
    """
    # XML is the exception (JSON is every API's default): its parsers are
    # imported when first needed, not by everyone who imports the client.
    from xml.etree.ElementTree import Element, ParseError  # noqa: PLC0415

    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.ElementTree import fromstring  # noqa: PLC0415

    try:
        root = fromstring(text)
    except (ParseError, DefusedXmlException, ValueError):
        raise ValueError("the body is not valid XML") from None
    if not isinstance(root, Element):
        raise ValueError("the XML has no root element")  # noqa: TRY004 - as above
    return root


class Flavour(ABC):
    """Requests and responses of one Clickatell API."""

    api: ClassVar[ApiFlavour]
    operations: ClassVar[frozenset[Operation]]
    # SendOptions field -> the API's parameter name.
    option_names: ClassVar[Mapping[str, str]]
    formats: ClassVar[frozenset[ContentFormat]] = frozenset(ContentFormat)

    def __init__(self, credentials: Credentials, content_format: ContentFormat) -> None:
        """Keep what every request of this flavour needs."""
        if content_format not in self.formats:
            raise ClickatellUnsupportedError(
                f"The {self.api.value} API does not speak {content_format.value.upper()}"
            )
        self.credentials = credentials
        self.content_format = content_format

    @property
    @abstractmethod
    def batch_ceiling(self) -> int:
        """The most recipients one request may carry."""

    def check_options(self, options: SendOptions) -> None:
        """Refuse options this API cannot take, naming them."""
        # max_message_parts is also enforced by the client itself, everywhere.
        unsupported = sorted(
            name
            for name in options.set_options()
            if name not in self.option_names and name != "max_message_parts"
        )
        if unsupported:
            raise ClickatellUnsupportedError(
                f"The {self.api.value} API does not take the option(s) {', '.join(unsupported)}"
            )

    def unsupported(self, operation: Operation) -> ClickatellUnsupportedError:
        """The error for an operation this API does not have."""
        return ClickatellUnsupportedError(
            f"The {self.api.value} API does not support {operation.value}"
        )

    # Sending is what every flavour does; the rest is optional.
    @abstractmethod
    def send_request(
        self, recipients: Sequence[str], plan: MessagePlan, options: SendOptions
    ) -> ApiRequest:
        """The request that sends `plan.text` to the recipients."""

    @abstractmethod
    def parse_send(self, response: ApiResponse, recipients: Sequence[str]) -> list[MessageResult]:
        """Per-recipient results, or raise for a request-level error."""

    def balance_request(self) -> ApiRequest:
        """The request that reads the balance."""
        raise self.unsupported(Operation.BALANCE)

    def parse_balance(self, response: ApiResponse) -> Balance:
        """The balance in a response."""
        raise self.unsupported(Operation.BALANCE)

    def coverage_request(self, msisdn: str) -> ApiRequest:
        """The request that checks coverage of a number."""
        raise self.unsupported(Operation.COVERAGE)

    def parse_coverage(self, response: ApiResponse, msisdn: str) -> Coverage:
        """The coverage in a response."""
        raise self.unsupported(Operation.COVERAGE)

    def stop_request(self, api_message_id: str) -> ApiRequest:
        """The request that stops a message."""
        raise self.unsupported(Operation.STOP)

    def parse_stop(self, response: ApiResponse, api_message_id: str) -> StopResult:
        """The outcome of a stop in a response."""
        raise self.unsupported(Operation.STOP)

    def status_request(self, api_message_id: str) -> ApiRequest:
        """The request that queries a message's status."""
        raise self.unsupported(Operation.STATUS)

    def parse_status(self, response: ApiResponse, api_message_id: str) -> DeliveryStatus:
        """A message's status in a response."""
        raise self.unsupported(Operation.STATUS)

    # Helpers for the flavours.
    def encoded_options(self, options: SendOptions, *, flags_as_int: bool) -> dict[str, Any]:
        """Set options under the API's names, booleans as 0/1 or true/false."""
        encoded: dict[str, Any] = {}
        for name, value in options.set_options().items():
            if name not in self.option_names:
                continue
            if isinstance(value, bool):
                encoded[self.option_names[name]] = int(value) if flags_as_int else value
            elif isinstance(value, datetime):
                encoded[self.option_names[name]] = utc_timestamp(value, zulu=flags_as_int)
            else:
                encoded[self.option_names[name]] = value
        return encoded

    def error(
        self, response: ApiResponse, code: object = None, description: str | None = None
    ) -> ClickatellError:
        """The exception for an error this response reports."""
        return api_error(
            self.api,
            code=code,
            description=description,
            status=response.status,
            retry_after=response.retry_after,
        )

    def unreadable(self, response: ApiResponse, detail: str) -> ClickatellError:
        """The error for a body we cannot read: by HTTP status where that is an error."""
        if response.status >= HTTPStatus.BAD_REQUEST:
            try:
                phrase = HTTPStatus(response.status).phrase
            except ValueError:
                phrase = "HTTP error"
            return self.error(response, description=phrase)
        return invalid_response(self.api, detail, response.status)

    def rejected_alone(
        self, error: ClickatellError, recipients: Sequence[str]
    ) -> list[MessageResult] | None:
        """A destination error on a request for one number is that number's result."""
        if isinstance(error, ClickatellDestinationError) and len(recipients) == 1:
            return [
                MessageResult(
                    to=recipients[0],
                    accepted=False,
                    error_code=error.code,
                    error_description=error.description,
                )
            ]
        return None

    def decode(
        self, response: ApiResponse, content_format: ContentFormat | None = None
    ) -> dict[str, Any]:
        """The body as a dict, whether it came as JSON or as XML."""
        if (content_format or self.content_format) is ContentFormat.XML:
            if "xml" not in response.content_type:
                raise self.unreadable(
                    response, f"expected XML, got {response.content_type or 'no type'}"
                )
            try:
                return xml_to_dict(xml_root(response.text))
            except ValueError as error:
                raise self.unreadable(response, str(error)) from None
        if "json" not in response.content_type:
            raise self.unreadable(
                response, f"expected JSON, got {response.content_type or 'no type'}"
            )
        try:
            return json_object(response.text)
        except ValueError as error:
            raise self.unreadable(response, str(error)) from None

    def checked(
        self, response: ApiResponse, content_format: ContentFormat | None = None
    ) -> dict[str, Any]:
        """The decoded body, after raising for any request-level error it reports."""
        payload = self.decode(response, content_format)
        if (error := reported_error(payload)) is not None:
            raise self.error(response, *error)
        return payload

    def message_result(self, item: object, *, id_key: str = "apiMessageId") -> MessageResult:
        """One per-recipient entry of a send answer."""
        if not isinstance(item, Mapping) or not isinstance(item.get("to"), str | int):
            raise invalid_response(self.api, "a message without a recipient")
        code, description = reported_error(item) or (None, None)
        return MessageResult(
            to=str(item["to"]),
            accepted=parse_bool(self.api, item.get("accepted")),
            api_message_id=optional_str(self.api, item.get(id_key)),
            error_code=normalize_code(self.api, code),
            error_description=description,
        )

    def message_results(
        self,
        response: ApiResponse,
        recipients: Sequence[str],
        find: Callable[[dict[str, Any]], object],
    ) -> list[MessageResult]:
        """Per-recipient results, wherever `find` locates them in the body.

        The body lists the messages on 202 and 207 and when every one was
        refused (4xx); any other error is request-level and raised, except a
        destination error on a request for one number, which is its result.
        """
        try:
            payload = self.decode(response)
            messages = find(payload)
            if messages is None or messages == []:
                if (error := reported_error(payload)) is not None:
                    raise self.error(response, *error)
                raise self.unreadable(response, "the answer lists no messages")
        except ClickatellError as error:
            if (alone := self.rejected_alone(error, recipients)) is not None:
                return alone
            raise
        return [self.message_result(item) for item in as_list(messages)]


def _json_name(tag: str) -> str:
    """XML bodies name fields as JSON does, some in PascalCase (seed 003)."""
    return tag[:1].lower() + tag[1:]


def xml_to_dict(element: Element, depth: int = 0) -> dict[str, Any]:
    """The children of an element as JSON would give them; repeated tags become lists.

    ValueError past MAX_NESTING levels: recursing on would end in a RecursionError.
    """
    if depth > MAX_NESTING:
        raise ValueError("the XML is nested too deeply")
    result: dict[str, Any] = {}
    for child in element:
        name = _json_name(child.tag)
        value: Any = (
            xml_to_dict(child, depth + 1) if len(child) else (child.text or "").strip() or None
        )
        if name in result:
            existing = result[name]
            result[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[name] = value
    return result


def as_list(value: object) -> list[Any]:
    """A list of items; XML gives a lone item where JSON gives a list of one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def xml_body(path: Sequence[str], fields: Mapping[str, Any]) -> str:
    """An XML document: `path` names the nested elements that hold the fields.

    A list value repeats its element (one `<to>` per recipient).
    """
    from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: PLC0415 - as xml_root

    root = parent = Element(path[0])
    for tag in path[1:]:
        parent = SubElement(parent, tag)
    for name, value in fields.items():
        for item in as_list(value):
            text = str(item).lower() if isinstance(item, bool) else str(item)
            SubElement(parent, name).text = text
    return tostring(root, encoding="unicode", xml_declaration=True)


def reported_error(payload: Mapping[str, Any]) -> tuple[object, str | None] | None:
    """The (code, description) of an error a body or a message reports, if any.

    The APIs say it three ways: `{"error": {"code", "description"}}` (REST, One
    API), `{"errorCode", "error", "errorDescription"}` (seed 003), or a bare
    `{"error": "text"}`.
    """
    error = payload.get("error")
    if isinstance(error, Mapping):
        description = error.get("description")
        return error.get("code"), description if isinstance(description, str) else None
    code = payload.get("errorCode")
    if code is not None and code != "":
        description = payload.get("errorDescription") or error
        return code, description if isinstance(description, str) else None
    if isinstance(error, str) and error:
        return None, error
    return None

"""The archived HTTP API (seed 004): plain-text answers to sendmsg and friends."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from .. import statuses
from ..const import (
    HTTP_GET_BATCH_CEILING,
    HTTP_POST_BATCH_CEILING,
    ApiFlavour,
    ContentFormat,
    HttpMethod,
    Operation,
)
from ..models import (
    Balance,
    Coverage,
    DeliveryStatus,
    Encoding,
    MessagePlan,
    MessageResult,
    SendOptions,
    StopResult,
)
from .base import ApiRequest, ApiResponse, Credentials, Flavour, invalid_response, parse_number

if TYPE_CHECKING:
    from collections.abc import Sequence

_ID = re.compile(r"ID:\s*(?P<id>\S+)(?:\s+To:\s*(?P<to>\d+))?(?:\s+Status:\s*(?P<status>\d+))?")
_ERR = re.compile(r"ERR:\s*(?P<code>\d+)\s*,\s*(?P<description>.*?)(?:\s+To:\s*(?P<to>\d+))?")
_CREDIT = re.compile(r"Credit:\s*(?P<credit>-?[\d.]+)")
_COVERAGE_OK = re.compile(r"OK:.*?Charge:\s*(?P<charge>[\d.]+)")


class HttpFlavour(Flavour):
    """`user`, `password` and `api_id` as parameters; by GET or POST."""

    api = ApiFlavour.HTTP
    operations = frozenset(Operation)
    formats = frozenset({ContentFormat.JSON})  # answers are text; only the default is taken
    option_names: ClassVar = {
        "sender": "from",
        "client_message_id": "climsgid",
        "scheduled_delivery_time": "scheduled_time",
        "validity_period": "validity",
        "unicode": "unicode",
        "udh": "udh",
        "max_message_parts": "concat",
        "callback": "msg_callback",
        "user_priority_queue": "queue",
        "escalate": "escalate",
        "max_credits": "max_credits",
        "message_type": "msg_type",
        "mo": "mo",
        "required_features": "req_feat",
        "bypass_dnc_check": "bypass_dnc_check",
    }

    def __init__(
        self,
        credentials: Credentials,
        content_format: ContentFormat = ContentFormat.JSON,
        method: HttpMethod = HttpMethod.POST,
    ) -> None:
        """POST keeps the password out of URLs and takes 600 numbers; GET takes 300."""
        super().__init__(credentials, content_format)
        self.method = method

    @property
    def batch_ceiling(self) -> int:
        """Seed 004: 300 numbers by GET, 600 by POST."""
        if self.method is HttpMethod.GET:
            return HTTP_GET_BATCH_CEILING
        return HTTP_POST_BATCH_CEILING

    def _request(self, path: str, params: dict[str, str]) -> ApiRequest:
        fields = {
            "user": str(self.credentials.username),
            "password": str(self.credentials.password),
            "api_id": str(self.credentials.api_id),
            **params,
        }
        if self.method is HttpMethod.GET:
            return ApiRequest(method="GET", path=path, params=fields)
        return ApiRequest(method="POST", path=path, body=fields)

    def _lines(self, response: ApiResponse) -> list[str]:
        """The answer's lines, after raising for a request-level error."""
        if response.status >= 400 or not response.text.strip():  # noqa: PLR2004
            raise self.unreadable(response, "an empty answer")
        if "html" in response.content_type and "<" in response.text:
            raise self.unreadable(response, "an HTML page instead of an answer")
        return [line.strip() for line in response.text.strip().splitlines() if line.strip()]

    def _raise_for(self, response: ApiResponse, line: str) -> None:
        if (error := _ERR.fullmatch(line)) and error["to"] is None:
            raise self.error(response, error["code"], error["description"])

    def send_request(
        self, recipients: Sequence[str], plan: MessagePlan, options: SendOptions
    ) -> ApiRequest:
        """Sendmsg with comma-separated numbers; Unicode text goes as hex UCS-2."""
        params = {"to": ",".join(recipients), "text": plan.text}
        if plan.encoding is Encoding.UCS2:
            params |= {"unicode": "1", "text": plan.text.encode("utf-16-be").hex().upper()}
        for name, value in self.encoded_options(options, flags_as_int=True).items():
            params[name] = str(value)
        return self._request("/http/sendmsg", params)

    def parse_send(self, response: ApiResponse, recipients: Sequence[str]) -> list[MessageResult]:
        """`ID: x` for one number; `ID: x To: n` / `ERR: c, d To: n` lines for several."""
        lines = self._lines(response)
        if len(lines) == 1 and (error := _ERR.fullmatch(lines[0])) and error["to"] is None:
            failure = self.error(response, error["code"], error["description"])
            if (alone := self.rejected_alone(failure, recipients)) is not None:
                return alone
            raise failure
        return [self._line_result(line, recipients) for line in lines]

    def _line_result(self, line: str, recipients: Sequence[str]) -> MessageResult:
        if match := _ID.fullmatch(line):
            to = match["to"] or (recipients[0] if len(recipients) == 1 else None)
            if to is None:
                raise invalid_response(self.api, "an ID line without a recipient")
            return MessageResult(to=to, accepted=True, api_message_id=match["id"])
        if (match := _ERR.fullmatch(line)) and match["to"]:
            return MessageResult(
                to=match["to"],
                accepted=False,
                error_code=match["code"],
                error_description=match["description"],
            )
        raise invalid_response(self.api, "a line that is neither ID nor ERR")

    def balance_request(self) -> ApiRequest:
        """Getbalance."""
        return self._request("/http/getbalance", {})

    def parse_balance(self, response: ApiResponse) -> Balance:
        """`Credit: 300.50`."""
        line = self._lines(response)[0]
        self._raise_for(response, line)
        if not (match := _CREDIT.fullmatch(line)):
            raise invalid_response(self.api, "no Credit line")
        return Balance(balance=parse_number(self.api, match["credit"]))

    def coverage_request(self, msisdn: str) -> ApiRequest:
        """RouteCoverage for one number."""
        return self._request("/utils/routeCoverage", {"msisdn": msisdn})

    def parse_coverage(self, response: ApiResponse, msisdn: str) -> Coverage:
        """`OK: ... Charge: 0.8`, or `ERR: This prefix is not currently supported ...`."""
        line = self._lines(response)[0]
        self._raise_for(response, line)
        if match := _COVERAGE_OK.fullmatch(line):
            charge = parse_number(self.api, match["charge"])
            return Coverage(destination=msisdn, routable=True, minimum_charge=charge)
        if line.startswith("ERR:"):
            return Coverage(destination=msisdn, routable=False)
        raise invalid_response(self.api, "neither OK nor ERR")

    def status_request(self, api_message_id: str) -> ApiRequest:
        """Querymsg by API message ID."""
        return self._request("/http/querymsg", {"apimsgid": api_message_id})

    def _id_and_status(self, response: ApiResponse) -> tuple[str, str]:
        """`ID: x Status: 004`, the answer to querymsg and delmsg."""
        line = self._lines(response)[0]
        self._raise_for(response, line)
        if not (match := _ID.fullmatch(line)) or match["status"] is None:
            raise invalid_response(self.api, "no ID and Status")
        return match["id"], match["status"]

    def parse_status(self, response: ApiResponse, api_message_id: str) -> DeliveryStatus:
        """`ID: x Status: 004`."""
        message_id, code = self._id_and_status(response)
        if (resolved := statuses.legacy(code)) is None:
            raise invalid_response(self.api, "an unknown message status")
        return DeliveryStatus(
            api_message_id=message_id,
            status=resolved.status,
            status_code=resolved.code,
            status_text=resolved.text,
        )

    def stop_request(self, api_message_id: str) -> ApiRequest:
        """Delmsg by API message ID."""
        return self._request("/http/delmsg", {"apimsgid": api_message_id})

    def parse_stop(self, response: ApiResponse, api_message_id: str) -> StopResult:
        """`ID: x Status: 006`."""
        message_id, code = self._id_and_status(response)
        return StopResult(api_message_id=message_id, status=code)

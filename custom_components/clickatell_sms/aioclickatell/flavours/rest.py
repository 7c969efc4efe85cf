"""The legacy REST API (seeds 000, 001, 002): api.clickatell.com/rest."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from .. import statuses
from ..const import REST_BATCH_CEILING, ApiFlavour, ContentFormat, Operation
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
from .base import (
    MEDIA_TYPES,
    ApiRequest,
    ApiResponse,
    Flavour,
    invalid_response,
    optional_str,
    parse_bool,
    parse_number,
    xml_body,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


class RestFlavour(Flavour):
    """JSON or XML with `X-Version: 1` and a Bearer token."""

    api = ApiFlavour.REST
    operations = frozenset(Operation)
    option_names: ClassVar = {
        "sender": "from",
        "client_message_id": "clientMessageId",
        "scheduled_delivery_time": "scheduledDeliveryTime",
        "validity_period": "validityPeriod",
        "unicode": "unicode",
        "binary": "binary",
        "udh": "udh",
        "max_message_parts": "maxMessageParts",
        "callback": "callback",
        "user_priority_queue": "userPriorityQueue",
        "escalate": "escalate",
        "max_credits": "maxCredits",
        "message_type": "type",
        "mo": "mo",
        "required_features": "requiredFeatures",
        "bypass_dnc_check": "bypassDNCCheck",
    }

    @property
    def batch_ceiling(self) -> int:
        """Seeds 000 and 001 allow 600 handsets per request."""
        return REST_BATCH_CEILING

    def _request(self, method: str, path: str, fields: dict[str, Any] | None = None) -> ApiRequest:
        media_type = MEDIA_TYPES[self.content_format]
        headers = {
            "X-Version": "1",
            "Authorization": f"Bearer {self.credentials.api_key}",
            "Accept": media_type,
        }
        body = None
        if fields is not None:
            headers["Content-Type"] = media_type
            if self.content_format is ContentFormat.XML:
                body = xml_body(("request", "data"), fields)
            else:
                body = json.dumps(fields, ensure_ascii=False)
        return ApiRequest(method=method, path=path, headers=headers, body=body)

    def _data(self, response: ApiResponse) -> dict[str, Any]:
        data = self.checked(response).get("data")
        if not isinstance(data, dict):
            raise self.unreadable(response, "the answer has no data")
        return data

    def _field(self, data: dict[str, Any], name: str) -> object:
        if data.get(name) is None:
            raise invalid_response(self.api, f"the answer has no {name}")
        return data[name]

    def send_request(
        self, recipients: Sequence[str], plan: MessagePlan, options: SendOptions
    ) -> ApiRequest:
        """POST /message with the text, the recipients and the options."""
        fields: dict[str, Any] = {"text": plan.text, "to": list(recipients)}
        if plan.encoding is Encoding.UCS2:
            fields["unicode"] = 1
        fields |= self.encoded_options(options, flags_as_int=True)
        return self._request("POST", "/message", fields)

    def parse_send(self, response: ApiResponse, recipients: Sequence[str]) -> list[MessageResult]:
        """{"data": {"message": [{"accepted", "to", "apiMessageId", "error"}]}}."""

        def find(payload: dict[str, Any]) -> object:
            data = payload.get("data")
            return data.get("message") if isinstance(data, dict) else None

        return self.message_results(response, recipients, find)

    def balance_request(self) -> ApiRequest:
        """GET /account/balance."""
        return self._request("GET", "/account/balance")

    def parse_balance(self, response: ApiResponse) -> Balance:
        """{"data": {"balance": "300.50"}}."""
        data = self._data(response)
        return Balance(balance=parse_number(self.api, self._field(data, "balance")))

    def coverage_request(self, msisdn: str) -> ApiRequest:
        """GET /coverage/{msisdn}."""
        return self._request("GET", f"/coverage/{msisdn}")

    def parse_coverage(self, response: ApiResponse, msisdn: str) -> Coverage:
        """{"data": {"routable": true, "destination": ..., "minimumCharge": 0.8}}."""
        data = self._data(response)
        charge = data.get("minimumCharge")
        return Coverage(
            destination=optional_str(self.api, data.get("destination")) or msisdn,
            routable=parse_bool(self.api, self._field(data, "routable")),
            minimum_charge=None if charge is None else parse_number(self.api, charge),
        )

    def status_request(self, api_message_id: str) -> ApiRequest:
        """GET /message/{id}: the "Query Message" command."""
        return self._request("GET", f"/message/{api_message_id}")

    def parse_status(self, response: ApiResponse, api_message_id: str) -> DeliveryStatus:
        """{"data": {"apiMessageId", "messageStatus": "004", "description", "charge"}}."""
        data = self._data(response)
        description = optional_str(self.api, data.get("description"))
        resolved = statuses.legacy(self._field(data, "messageStatus"), description)
        if resolved is None:
            raise invalid_response(self.api, "an unknown message status", response.status)
        charge = data.get("charge")
        return DeliveryStatus(
            api_message_id=optional_str(self.api, data.get("apiMessageId")) or api_message_id,
            client_message_id=optional_str(self.api, data.get("clientMessageId")),
            status=resolved.status,
            status_code=resolved.code,
            status_text=resolved.text,
            charge=None if charge in (None, "") else parse_number(self.api, charge),
        )

    def stop_request(self, api_message_id: str) -> ApiRequest:
        """DELETE /message/{id}."""
        return self._request("DELETE", f"/message/{api_message_id}")

    def parse_stop(self, response: ApiResponse, api_message_id: str) -> StopResult:
        """{"data": {"messageStatus": "006", "description": ..., "apiMessageId": ...}}."""
        data = self._data(response)
        status = optional_str(self.api, self._field(data, "messageStatus"))
        return StopResult(
            api_message_id=optional_str(self.api, data.get("apiMessageId")) or api_message_id,
            status=str(status),
            description=optional_str(self.api, data.get("description")),
        )

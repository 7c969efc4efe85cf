"""The Platform API: the One API (/v1) and seed 003's /messages."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from .. import statuses
from ..const import PLATFORM_BATCH_CEILING, ApiFlavour, ContentFormat, Operation
from ..models import Balance, DeliveryStatus, MessagePlan, MessageResult, SendOptions
from .base import (
    MEDIA_TYPES,
    ApiRequest,
    ApiResponse,
    Flavour,
    invalid_response,
    optional_str,
    parse_number,
    parse_timestamp,
    xml_body,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


class PlatformFlavour(Flavour):
    """The One API: `POST /v1/message`, JSON, the raw key as Authorization."""

    api = ApiFlavour.PLATFORM
    operations = frozenset({Operation.SEND, Operation.BALANCE, Operation.STATUS})
    formats = frozenset({ContentFormat.JSON})
    option_names: ClassVar = {
        "sender": "from",
        "client_message_id": "clientMessageId",
        "scheduled_delivery_time": "scheduledDeliveryTime",
        "validity_period": "validityPeriod",
        "binary": "binary",
        "udh": "udh",
        "charset": "charset",
    }

    @property
    def batch_ceiling(self) -> int:
        """Seed 003 allows 200 messages per request."""
        return PLATFORM_BATCH_CEILING

    def headers(self, *, with_body: bool = False) -> dict[str, str]:
        """The raw key (no "Bearer"), and the media type both ways."""
        media_type = MEDIA_TYPES[self.content_format]
        headers = {"Authorization": str(self.credentials.api_key), "Accept": media_type}
        if with_body:
            headers["Content-Type"] = media_type
        return headers

    def send_request(
        self, recipients: Sequence[str], plan: MessagePlan, options: SendOptions
    ) -> ApiRequest:
        """One entry per recipient in `messages`, each with the same content."""
        extra = self.encoded_options(options, flags_as_int=False)
        messages = [
            {"channel": "sms", "to": recipient, "content": plan.text, **extra}
            for recipient in recipients
        ]
        return ApiRequest(
            method="POST",
            path="/v1/message",
            headers=self.headers(with_body=True),
            body=json.dumps({"messages": messages}, ensure_ascii=False),
        )

    def parse_send(self, response: ApiResponse, recipients: Sequence[str]) -> list[MessageResult]:
        """{"messages": [{"apiMessageId", "accepted", "to", "error"}], "error": null}."""
        return self.message_results(response, recipients, self._messages)

    @staticmethod
    def _messages(payload: dict[str, Any]) -> object:
        messages = payload.get("messages")
        if isinstance(messages, dict):  # XML: <Messages><Message>...</Message></Messages>
            return messages.get("message")
        return messages

    def _json_get(self, path: str) -> ApiRequest:
        """A One API GET: JSON whatever carries the messages."""
        return ApiRequest(
            method="GET",
            path=path,
            headers={"Authorization": str(self.credentials.api_key), "Accept": "application/json"},
        )

    def balance_request(self) -> ApiRequest:
        """GET /v1/balance (JSON only)."""
        return self._json_get("/v1/balance")

    def parse_balance(self, response: ApiResponse) -> Balance:
        """{"currency": "USD", "balance": 300.5}, JSON whatever carries the messages."""
        payload = self.checked(response, ContentFormat.JSON)
        if payload.get("balance") is None:
            raise invalid_response(self.api, "the answer has no balance", response.status)
        return Balance(
            balance=parse_number(self.api, payload["balance"]),
            currency=optional_str(self.api, payload.get("currency")),
        )

    def status_request(self, api_message_id: str) -> ApiRequest:
        """GET /v1/message/{id}, the One API's status query, for either endpoint."""
        return self._json_get(f"/v1/message/{api_message_id}")

    def parse_status(self, response: ApiResponse, api_message_id: str) -> DeliveryStatus:
        """{"sms": {"status": "DEVICE_ACK", "timestamp": ms}}; an unknown message has no channel."""
        payload = self.checked(response, ContentFormat.JSON)
        entry = payload.get("sms", payload)
        if not isinstance(entry, dict):
            raise invalid_response(self.api, "the answer has no sms status", response.status)
        resolved = statuses.one_api(entry.get("statusCode"), entry.get("status"))
        if resolved is None:
            raise invalid_response(self.api, "an unknown message status", response.status)
        when = entry.get("timestamp")
        return DeliveryStatus(
            api_message_id=api_message_id,
            status=resolved.status,
            status_code=resolved.code,
            status_text=resolved.text,
            timestamp=None if when is None else parse_timestamp(self.api, when),
        )


class PlatformMessagesFlavour(PlatformFlavour):
    """Seed 003: `POST /messages` with `content` and a list of `to`, JSON or XML."""

    formats = frozenset(ContentFormat)
    option_names: ClassVar = {**PlatformFlavour.option_names, "udh": "userDataHeader"}

    def send_request(
        self, recipients: Sequence[str], plan: MessagePlan, options: SendOptions
    ) -> ApiRequest:
        """{"content": ..., "to": [...], "from": ..., ...} or its XML twin."""
        fields: dict[str, Any] = {"content": plan.text, "to": list(recipients)}
        fields |= self.encoded_options(options, flags_as_int=False)
        if self.content_format is ContentFormat.XML:
            pascal = {name[:1].upper() + name[1:]: value for name, value in fields.items()}
            body = xml_body(("SendMessageRequest",), pascal)
        else:
            body = json.dumps(fields, ensure_ascii=False)
        return ApiRequest(
            method="POST", path="/messages", headers=self.headers(with_body=True), body=body
        )

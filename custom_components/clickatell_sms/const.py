"""Constants of the Clickatell SMS integration."""

import logging
from datetime import timedelta
from typing import Final

from .aioclickatell import ApiFlavour

DOMAIN: Final = "clickatell_sms"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "Clickatell"

# How the UI names each API (the device's model, the credentials form).
API_NAMES: Final[dict[ApiFlavour, str]] = {
    ApiFlavour.PLATFORM: "Platform (One API)",
    ApiFlavour.REST: "Legacy REST API",
    ApiFlavour.HTTP: "Legacy HTTP API",
}

# Config entry data
CONF_API: Final = "api"
CONF_API_ID: Final = "api_id"
CONF_BASE_URL: Final = "base_url"
CONF_ADVANCED: Final = "advanced"

# Config entry options
CONF_SENDER: Final = "sender"
CONF_DEFAULT_REGION: Final = "default_region"
CONF_BALANCE_INTERVAL: Final = "balance_interval"
CONF_COVERAGE_INTERVAL: Final = "coverage_interval"
CONF_LOW_BALANCE_THRESHOLD: Final = "low_balance_threshold"
CONF_MAX_BATCH_SIZE: Final = "max_batch_size"
CONF_VALIDITY: Final = "validity"
CONF_MAX_PARTS: Final = "max_parts"
CONF_PRIORITY: Final = "priority"

# Two-way SMS: the webhook in the entry's data, its options in a section of the options
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"
CONF_TWO_WAY: Final = "two_way"
CONF_STATUS_POLLING: Final = "status_polling"
CONF_CALLBACK_USERNAME: Final = "callback_username"
CONF_CALLBACK_PASSWORD: Final = "callback_password"  # noqa: S105 - a key's name

# Recipient subentries
SUBENTRY_RECIPIENT: Final = "recipient"
CONF_NUMBER: Final = "number"

DEFAULT_TITLE: Final = "Clickatell"
DEFAULT_BALANCE_INTERVAL: Final = 30  # minutes
DEFAULT_COVERAGE_INTERVAL: Final = 24  # hours
DEFAULT_LOW_BALANCE_THRESHOLD: Final = 10.0  # credits
# While the API fails, polls come at least this often, so entities recover soon.
RETRY_INTERVAL: Final = timedelta(minutes=5)

# Estimated cost: one credit per part where the recipient's minimum charge is unknown.
DEFAULT_CREDITS_PER_PART: Final = 1.0

# Actions
SERVICE_SEND_MESSAGE: Final = "send_message"
SERVICE_STOP_MESSAGE: Final = "stop_message"
ATTR_RECIPIENTS: Final = "recipients"
ATTR_MESSAGE_ID: Final = "message_id"

ISSUE_NO_CREDIT: Final = "no_credit"

# Events on the bus: a message's delivery status, an SMS received
EVENT_MESSAGE_STATUS: Final = f"{DOMAIN}_message_status"
EVENT_MESSAGE_RECEIVED: Final = f"{DOMAIN}_message_received"

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

# The outbox: its options in a section of the options form, stored flat
CONF_OUTBOX: Final = "outbox"
CONF_OUTBOX_ENABLED: Final = "outbox_enabled"
CONF_OUTBOX_MAX_AGE: Final = "outbox_max_age"
CONF_OUTBOX_MAX_SIZE: Final = "outbox_max_size"
CONF_OUTBOX_ISSUE_AFTER: Final = "outbox_issue_after"

# Recipient subentries
SUBENTRY_RECIPIENT: Final = "recipient"
CONF_NUMBER: Final = "number"

DEFAULT_TITLE: Final = "Clickatell"
DEFAULT_BALANCE_INTERVAL: Final = 30  # minutes
DEFAULT_COVERAGE_INTERVAL: Final = 24  # hours
DEFAULT_LOW_BALANCE_THRESHOLD: Final = 10.0  # credits
# While the API fails, polls come at least this often, so entities recover soon.
RETRY_INTERVAL: Final = timedelta(minutes=5)

# The outbox. Entries made before it have no outbox_enabled option: off for
# them, so that automations that act on a failed send keep working; new
# entries are made with it on.
DEFAULT_OUTBOX_MAX_AGE: Final = 24  # hours
DEFAULT_OUTBOX_MAX_SIZE: Final = 100  # SMS (one per recipient)
DEFAULT_OUTBOX_ISSUE_AFTER: Final = 30  # minutes

# Estimated cost: one credit per part where the recipient's minimum charge is unknown.
DEFAULT_CREDITS_PER_PART: Final = 1.0

# Actions
SERVICE_SEND_MESSAGE: Final = "send_message"
SERVICE_STOP_MESSAGE: Final = "stop_message"
SERVICE_RETRY_OUTBOX: Final = "retry_outbox"
SERVICE_CLEAR_OUTBOX: Final = "clear_outbox"
ATTR_RECIPIENTS: Final = "recipients"
ATTR_MESSAGE_ID: Final = "message_id"

ISSUE_NO_CREDIT: Final = "no_credit"
ISSUE_OUTBOX_WAITING: Final = "outbox_waiting"

# Events on the bus: a message's delivery status, an SMS received
EVENT_MESSAGE_STATUS: Final = f"{DOMAIN}_message_status"
EVENT_MESSAGE_RECEIVED: Final = f"{DOMAIN}_message_received"
# Events of the outbox: an SMS it sent (or Clickatell refused at last), one it dropped
EVENT_SENT_FROM_OUTBOX: Final = f"{DOMAIN}_sent_from_outbox"
EVENT_EXPIRED_FROM_OUTBOX: Final = f"{DOMAIN}_expired_from_outbox"

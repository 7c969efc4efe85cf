"""Two-way SMS set-up: the webhook and its URL, Home Assistant Cloud, the options, the memory."""

import re
import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import DeliveryStatus, MessageStatus
from custom_components.clickatell_sms.const import (
    CONF_ADVANCED,
    CONF_API,
    CONF_BASE_URL,
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    CONF_CLOUDHOOK_URL,
    CONF_STATUS_POLLING,
    CONF_TWO_WAY,
    DOMAIN,
    EVENT_MESSAGE_STATUS,
)

from .conftest import ALICE, API_KEY
from .two_way import CALLBACK_PASSWORD, CALLBACK_USERNAME

EXTERNAL_URL = "https://home.example.org"
CLOUDHOOK_URL = "https://hooks.nabu.casa/cloudhook-Ab12"
STORE_KEY = "clickatell_sms.{entry_id}"


class FakeCloud(types.ModuleType):
    """Home Assistant Cloud's API, as the integration calls it.

    Home Assistant's cloud component cannot be imported here (its voice
    assistants need packages without a wheel for this Python), so, as core's
    tests patch its functions, this stands for the module.
    """

    class CloudNotAvailable(Exception):  # noqa: N818 - Home Assistant's name
        """Cloud is not set up or not logged in."""

    class CloudNotConnected(CloudNotAvailable):
        """Cloud is not connected."""

    def __init__(self) -> None:
        super().__init__("homeassistant.components.cloud")
        self.async_active_subscription = MagicMock(return_value=True)
        self.async_is_logged_in = MagicMock(return_value=True)
        self.async_create_cloudhook = AsyncMock(return_value=CLOUDHOOK_URL)
        self.async_delete_cloudhook = AsyncMock()


@pytest.fixture
def cloud(hass: HomeAssistant) -> Iterator[FakeCloud]:
    """Home Assistant Cloud set up, logged in, subscribed and connected."""
    fake = FakeCloud()
    hass.config.components.add("cloud")
    with patch.dict(sys.modules, {"homeassistant.components.cloud": fake}):
        yield fake


async def create_entry(hass: HomeAssistant, simulator: Simulator) -> dict[str, Any]:
    """Add an account through the config flow; the flow's last result."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API: "rest"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_ADVANCED: {CONF_BASE_URL: simulator.base_url("rest")}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result


async def test_the_flow_ends_with_the_url_to_paste(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL_URL})

    result = await create_entry(hass, simulator)

    webhook_id = result["data"][CONF_WEBHOOK_ID]
    assert re.fullmatch(r"[0-9a-f]{64}", webhook_id)
    assert CONF_CLOUDHOOK_URL not in result["data"]
    assert result["description_placeholders"] == {
        "webhook_url": f"{EXTERNAL_URL}/api/webhook/{webhook_id}"
    }
    assert webhook_id in hass.data["webhook"]


async def test_without_a_url_of_its_own(hass: HomeAssistant, simulator: Simulator) -> None:
    """Home Assistant knows no URL of its own: the path, and where the address goes."""
    assert await async_setup_component(hass, "http", {})
    hass.config.api = None  # no address the harness made up for it
    result = await create_entry(hass, simulator)

    webhook_id = result["data"][CONF_WEBHOOK_ID]
    assert result["description_placeholders"] == {
        "webhook_url": f"https://<your Home Assistant address>/api/webhook/{webhook_id}"
    }


async def test_a_cloudhook_with_home_assistant_cloud(
    hass: HomeAssistant, simulator: Simulator, cloud: FakeCloud
) -> None:
    result = await create_entry(hass, simulator)

    webhook_id = result["data"][CONF_WEBHOOK_ID]
    cloud.async_create_cloudhook.assert_awaited_once_with(hass, webhook_id)
    assert result["data"][CONF_CLOUDHOOK_URL] == CLOUDHOOK_URL
    assert result["description_placeholders"] == {"webhook_url": CLOUDHOOK_URL}

    # Deleting the entry deletes its cloudhook.
    await hass.config_entries.async_remove(result["result"].entry_id)
    cloud.async_delete_cloudhook.assert_awaited_once_with(hass, webhook_id)


async def test_cloud_not_connected_yet(
    hass: HomeAssistant, simulator: Simulator, cloud: FakeCloud
) -> None:
    """Cloud logged in but not connected: the local URL now, a cloudhook at a later start."""
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL_URL})
    cloud.async_create_cloudhook.side_effect = FakeCloud.CloudNotConnected

    result = await create_entry(hass, simulator)
    entry = result["result"]
    assert CONF_CLOUDHOOK_URL not in entry.data
    assert result["description_placeholders"]["webhook_url"].startswith(EXTERNAL_URL)

    cloud.async_create_cloudhook.side_effect = None
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK_URL


async def test_no_cloudhook_without_a_subscription(
    hass: HomeAssistant, simulator: Simulator, cloud: FakeCloud
) -> None:
    cloud.async_active_subscription.return_value = False

    result = await create_entry(hass, simulator)

    assert CONF_CLOUDHOOK_URL not in result["data"]
    cloud.async_create_cloudhook.assert_not_awaited()
    await hass.config_entries.async_remove(result["result"].entry_id)
    cloud.async_delete_cloudhook.assert_not_awaited()


async def test_an_entry_from_before_two_way_sms_gets_its_webhook(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The fixture's entry has no webhook, as entries made by 0.1.0: set-up gives it one."""
    webhook_id = init_integration.data[CONF_WEBHOOK_ID]
    assert webhook_id in hass.data["webhook"]

    await hass.config_entries.async_reload(init_integration.entry_id)

    assert init_integration.data[CONF_WEBHOOK_ID] == webhook_id


def two_way_options(entry: MockConfigEntry) -> dict[str, Any]:
    keys = (CONF_STATUS_POLLING, CONF_CALLBACK_USERNAME, CONF_CALLBACK_PASSWORD)
    return {key: entry.options[key] for key in keys if key in entry.options}


async def options_form(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    return result


def two_way_section(result: dict[str, Any]) -> Any:
    return next(value for key, value in result["data_schema"].schema.items() if key == CONF_TWO_WAY)


def section_suggestions(result: dict[str, Any]) -> dict[str, Any]:
    """What the form suggests in the two-way section."""
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in two_way_section(result).schema.schema
    }
    return {key: value for key, value in suggested.items() if value is not None}


async def test_options_basic_authentication_and_polling(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL_URL})
    webhook_id = init_integration.data[CONF_WEBHOOK_ID]
    result = await options_form(hass, init_integration)
    assert result["description_placeholders"] == {
        "webhook_url": f"{EXTERNAL_URL}/api/webhook/{webhook_id}"
    }
    two_way = {CONF_STATUS_POLLING: True, CONF_CALLBACK_USERNAME: " " + CALLBACK_USERNAME}

    # A username without a password, then a username a URL cannot carry.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TWO_WAY: two_way}
    )
    assert result["errors"] == {CONF_CALLBACK_PASSWORD: "callback_password_required"}
    assert section_suggestions(result) == {
        CONF_STATUS_POLLING: True,
        CONF_CALLBACK_USERNAME: " " + CALLBACK_USERNAME,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_TWO_WAY: {CONF_CALLBACK_USERNAME: "a:b", CONF_CALLBACK_PASSWORD: "x"}},
    )
    assert result["errors"] == {CONF_CALLBACK_USERNAME: "invalid_callback_username"}
    assert section_suggestions(result) == {
        CONF_STATUS_POLLING: False,
        CONF_CALLBACK_USERNAME: "a:b",
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_TWO_WAY: two_way | {CONF_CALLBACK_PASSWORD: CALLBACK_PASSWORD}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert two_way_options(init_integration) == {
        CONF_STATUS_POLLING: True,
        CONF_CALLBACK_USERNAME: CALLBACK_USERNAME,
        CONF_CALLBACK_PASSWORD: CALLBACK_PASSWORD,
    }

    # Shown again: the username in the URL, never the password, not even in the form.
    result = await options_form(hass, init_integration)
    assert result["description_placeholders"] == {
        "webhook_url": f"https://{CALLBACK_USERNAME}:***@home.example.org/api/webhook/{webhook_id}"
    }
    assert section_suggestions(result) == {
        CONF_STATUS_POLLING: True,
        CONF_CALLBACK_USERNAME: CALLBACK_USERNAME,
    }
    assert CALLBACK_PASSWORD not in str(result)

    # An empty password keeps the current one.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TWO_WAY: {CONF_CALLBACK_USERNAME: CALLBACK_USERNAME}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_CALLBACK_PASSWORD] == CALLBACK_PASSWORD

    # No username: no basic authentication.
    result = await options_form(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TWO_WAY: {CONF_CALLBACK_PASSWORD: "ignored"}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert two_way_options(init_integration) == {CONF_STATUS_POLLING: False}


async def test_polling_is_offered_only_where_statuses_can_be_queried(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await options_form(hass, init_integration)
    assert CONF_STATUS_POLLING in _section_keys(result)

    with patch(
        "custom_components.clickatell_sms.config_flow.ClickatellClient.supports",
        return_value=False,
    ):
        result = await options_form(hass, init_integration)
    assert CONF_STATUS_POLLING not in _section_keys(result)


def _section_keys(result: dict[str, Any]) -> set[str]:
    return {str(key) for key in two_way_section(result).schema.schema}


async def test_sent_messages_are_remembered_across_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A status that comes after a restart still ties back to the message and its recipient."""
    mock_config_entry.add_to_hass(hass)
    key = STORE_KEY.format(entry_id=mock_config_entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "sent": {
                "f00d": {
                    "to": ALICE,
                    "client_message_id": "door-1",
                    "sent_at": "2026-01-01T12:00:00+00:00",
                    "seen": ["delivered_to_gateway"],
                }
            },
            "replies": {},
        },
    }
    freezer.move_to("2026-01-02T12:00:00+00:00")
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    tracker = mock_config_entry.runtime_data.tracker

    for status in (MessageStatus.DELIVERED_TO_GATEWAY, MessageStatus.DELIVERED):
        tracker.async_status(
            DeliveryStatus(api_message_id="f00d", status=status, status_code=None, status_text="x")
        )
    await hass.async_block_till_done()
    assert [
        (event.data["status"], event.data["recipient"], event.data["client_message_id"])
        for event in events
    ] == [("delivered", "Alice", "door-1")]

    # A send is written, after a short delay, with what was seen.
    await hass.services.async_call(
        DOMAIN, "send_message", {"recipients": ["Bob"], "message": "Hi"}, blocking=True
    )
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    stored = hass_storage[key]["data"]["sent"]
    assert stored["f00d"]["seen"] == ["delivered_to_gateway", "delivered"]
    assert [item["to"] for item in stored.values()] == [ALICE, "2799910002"]

    # Ten days on, both are forgotten.
    freezer.tick(timedelta(days=10, minutes=1))
    await hass.services.async_call(
        DOMAIN, "send_message", {"recipients": ["Alice"], "message": "Hi"}, blocking=True
    )
    assert tracker.remembered == 1


async def test_memory_is_bounded(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Past the bound, the oldest messages are forgotten first."""
    tracker = init_integration.runtime_data.tracker
    with patch("custom_components.clickatell_sms.tracking.MAX_SENT", 2):
        for _ in range(3):
            await hass.services.async_call(
                DOMAIN, "send_message", {"recipients": ["Alice"], "message": "Hi"}, blocking=True
            )
    assert tracker.remembered == 2


async def test_deleting_the_entry_forgets_its_messages(
    hass: HomeAssistant, hass_storage: dict[str, Any], init_integration: MockConfigEntry
) -> None:
    key = STORE_KEY.format(entry_id=init_integration.entry_id)
    await hass.services.async_call(
        DOMAIN, "send_message", {"recipients": ["Alice"], "message": "Hi"}, blocking=True
    )
    await hass.async_stop()  # writes what is pending
    assert key in hass_storage

    await hass.config_entries.async_remove(init_integration.entry_id)

    assert key not in hass_storage


@pytest.mark.parametrize(
    "options",
    [{CONF_CALLBACK_USERNAME: CALLBACK_USERNAME, CONF_CALLBACK_PASSWORD: CALLBACK_PASSWORD}],
)
async def test_diagnostics_count_without_content(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: Simulator,
    webhook_url: str,
) -> None:
    scheme, rest = webhook_url.split("://")
    simulator.account.callback_url = f"{scheme}://{CALLBACK_USERNAME}:{CALLBACK_PASSWORD}@{rest}"
    await hass.services.async_call(
        DOMAIN, "send_message", {"recipients": ["Alice"], "message": "Hi"}, blocking=True
    )
    await simulator.callbacks_settled()
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    assert diagnostics["two_way"] == {
        "webhook": True,
        "cloudhook": False,
        "basic_authentication": True,
        "messages_remembered": 1,
        "counts": {"status": 2},
    }
    text = str(diagnostics)
    for secret in (
        init_integration.data[CONF_WEBHOOK_ID],
        CALLBACK_USERNAME,
        CALLBACK_PASSWORD,
        ALICE,
    ):
        assert secret not in text


@pytest.mark.parametrize("logged_in", [True, False])
async def test_removal_when_cloud_cannot_delete_the_cloudhook(
    hass: HomeAssistant, simulator: Simulator, cloud: FakeCloud, logged_in: bool
) -> None:
    """Logged out, or Cloud unavailable: the entry goes anyway; the cloudhook stays with Cloud."""
    entry = (await create_entry(hass, simulator))["result"]
    cloud.async_is_logged_in.return_value = logged_in
    cloud.async_delete_cloudhook.side_effect = FakeCloud.CloudNotAvailable

    await hass.config_entries.async_remove(entry.entry_id)

    assert hass.config_entries.async_get_entry(entry.entry_id) is None
    assert cloud.async_delete_cloudhook.await_count == (1 if logged_in else 0)

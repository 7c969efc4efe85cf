"""The config flow, re-authentication, reconfiguration, options and recipient subentries."""

from typing import Any
from unittest.mock import ANY, patch

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.const import (
    CONF_API_KEY,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData, section
from pytest_homeassistant_custom_component.common import MockConfigEntry

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import (
    CONF_ADVANCED,
    CONF_API,
    CONF_API_ID,
    CONF_BALANCE_INTERVAL,
    CONF_BASE_URL,
    CONF_COVERAGE_INTERVAL,
    CONF_DEFAULT_REGION,
    CONF_LOW_BALANCE_THRESHOLD,
    CONF_MAX_BATCH_SIZE,
    CONF_MAX_PARTS,
    CONF_NUMBER,
    CONF_OUTBOX,
    CONF_OUTBOX_ENABLED,
    CONF_OUTBOX_ISSUE_AFTER,
    CONF_OUTBOX_MAX_AGE,
    CONF_OUTBOX_MAX_SIZE,
    CONF_PRIORITY,
    CONF_SENDER,
    CONF_VALIDITY,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.clickatell_sms.helpers import account_identity

from .conftest import ALICE, ALICE_SUBENTRY_ID, API_ID, API_KEY, PASSWORD, USERNAME, entry_data
from .test_translations import STRINGS


async def _credentials_form(hass: HomeAssistant, api: ApiFlavour) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API: api.value}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    return result


def _credentials(api: ApiFlavour, simulator: Simulator, **overrides: Any) -> dict[str, Any]:
    """What a user types into the credentials form for the simulator."""
    if api is ApiFlavour.HTTP:
        user_input: dict[str, Any] = {
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_API_ID: API_ID,
        }
    else:
        user_input = {CONF_API_KEY: API_KEY}
    user_input[CONF_ADVANCED] = {CONF_BASE_URL: simulator.base_url(api.value)}
    return user_input | overrides


async def test_user_flow_defaults_to_the_platform(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    schema = result["data_schema"].schema
    assert next(key for key in schema if key == CONF_API).default() == "platform"


@pytest.mark.parametrize("api", list(ApiFlavour))
async def test_user_flow(hass: HomeAssistant, simulator: Simulator, api: ApiFlavour) -> None:
    """Each flavour asks only for its own credentials, checks them, then creates the entry."""
    result = await _credentials_form(hass, api)
    fields = {str(key) for key in result["data_schema"].schema}
    secret_fields = (
        {CONF_USERNAME, CONF_PASSWORD, CONF_API_ID} if api is ApiFlavour.HTTP else {CONF_API_KEY}
    )
    assert fields == {*secret_fields, CONF_SENDER, CONF_DEFAULT_REGION, CONF_ADVANCED}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _credentials(api, simulator, **{CONF_SENDER: "HomeAlarm", CONF_DEFAULT_REGION: "ZA"}),
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Clickatell"
    entry = result["result"]
    assert entry.data == entry_data(api, simulator) | {CONF_WEBHOOK_ID: ANY}
    # The outbox is on for new entries.
    assert entry.options == {
        CONF_SENDER: "HomeAlarm",
        CONF_DEFAULT_REGION: "ZA",
        CONF_OUTBOX_ENABLED: True,
    }
    assert entry.unique_id == account_identity(entry.data)
    assert API_KEY not in entry.unique_id
    assert entry.state is ConfigEntryState.LOADED
    # The balance call tested the credentials, then the setup read it again.
    assert [request.path for request in simulator.requests][:1] == [
        {"rest": "/rest/account/balance", "platform": "/v1/balance", "http": "/http/getbalance"}[
            api.value
        ]
    ]


@pytest.mark.parametrize(
    ("api", "user_input", "account", "expected"),
    [
        (ApiFlavour.PLATFORM, {CONF_API_KEY: "wrong-key"}, {}, {CONF_API_KEY: "invalid_auth"}),
        (ApiFlavour.REST, {CONF_API_KEY: "wrong-key"}, {}, {CONF_API_KEY: "invalid_auth"}),
        (ApiFlavour.HTTP, {CONF_PASSWORD: "wrong"}, {}, {CONF_PASSWORD: "invalid_auth"}),
        (ApiFlavour.REST, {}, {"ip_lockdown": True}, {"base": "ip_lockdown"}),
        (ApiFlavour.PLATFORM, {}, {"ip_lockdown": True}, {"base": "ip_lockdown"}),
        (ApiFlavour.REST, {CONF_SENDER: "Not a valid sender"}, {}, {CONF_SENDER: "invalid_sender"}),
        (
            ApiFlavour.REST,
            {CONF_ADVANCED: {CONF_BASE_URL: "ftp://example.com"}},
            {},
            {"base": "invalid_base_url"},
        ),
        (
            ApiFlavour.REST,
            {CONF_ADVANCED: {CONF_BASE_URL: "http://127.0.0.1:9/rest"}},
            {},
            {"base": "cannot_connect"},
        ),
    ],
)
async def test_user_flow_errors(
    hass: HomeAssistant,
    simulator: Simulator,
    api: ApiFlavour,
    user_input: dict[str, Any],
    account: dict[str, Any],
    expected: dict[str, str],
) -> None:
    """Every error shows on its field, then the same form recovers to an entry."""
    for key, value in account.items():
        setattr(simulator.account, key, value)
    result = await _credentials_form(hass, api)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(api, simulator, **user_input)
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    assert result["errors"] == expected

    simulator.account.ip_lockdown = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(api, simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data == entry_data(api, simulator) | {CONF_WEBHOOK_ID: ANY}


@pytest.mark.parametrize("fault", ["unavailable", "html", "drop"])
async def test_user_flow_cannot_connect(
    hass: HomeAssistant, simulator: Simulator, fault: str
) -> None:
    """An API that is down, or something else answering, is cannot_connect."""
    result = await _credentials_form(hass, ApiFlavour.REST)
    # aiohttp retries a dropped GET once: drop it twice.
    simulator.inject(fault, count=2)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.REST, simulator)
    )
    assert result["errors"] == {"base": "cannot_connect"}

    simulator.clear_faults()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.REST, simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_unknown_error(hass: HomeAssistant, simulator: Simulator) -> None:
    """Anything unexpected is `unknown`, and logged; the form still recovers."""
    result = await _credentials_form(hass, ApiFlavour.REST)
    with patch(
        "custom_components.clickatell_sms.aioclickatell.ClickatellClient.balance",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _credentials(ApiFlavour.REST, simulator)
        )
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.REST, simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_suggests_home_assistants_country(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    hass.config.country = "ZA"
    result = await _credentials_form(hass, ApiFlavour.REST)

    region = next(key for key in result["data_schema"].schema if key == CONF_DEFAULT_REGION)
    assert region.description == {"suggested_value": "ZA"}


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await _credentials_form(hass, ApiFlavour.REST)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.REST, simulator)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_flow_already_configured_with_a_rotated_key(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """An entry that re-authenticated with a new key owns that key too."""
    simulator.account.api_key = "rotated-key"
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_API_KEY: "rotated-key"}
    )
    result = await _credentials_form(hass, ApiFlavour.REST)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.REST, simulator, **{CONF_API_KEY: "rotated-key"})
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_second_account_gets_its_own_title(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The title names notify.<name>, so a second account gets "Clickatell 2"."""
    mock_config_entry.add_to_hass(hass)
    result = await _credentials_form(hass, ApiFlavour.HTTP)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(ApiFlavour.HTTP, simulator)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Clickatell 2"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM, ApiFlavour.REST])
async def test_reauth_with_a_rotated_key(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    api: ApiFlavour,
) -> None:
    """A refused key, then the new one; the entry keeps its identity."""
    mock_config_entry.add_to_hass(hass)
    unique_id = mock_config_entry.unique_id
    simulator.account.api_key = "rotated-key"

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert {str(key) for key in result["data_schema"].schema} == {CONF_API_KEY}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "rotated-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_API_KEY] == "rotated-key"
    assert mock_config_entry.data[CONF_BASE_URL] == simulator.base_url(api.value)
    assert mock_config_entry.unique_id == unique_id
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("api", [ApiFlavour.HTTP])
async def test_reauth_http_asks_for_the_password(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    simulator.account.password = "new-password"

    result = await mock_config_entry.start_reauth_flow(hass)
    assert {str(key) for key in result["data_schema"].schema} == {CONF_PASSWORD}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )

    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_PASSWORD] == "new-password"
    assert mock_config_entry.data[CONF_USERNAME] == USERNAME


async def test_reauth_with_another_entrys_key(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A key that is another entry's account is refused."""
    mock_config_entry.add_to_hass(hass)
    other_data = {**mock_config_entry.data, CONF_API_KEY: "other-key"}
    MockConfigEntry(
        domain=DOMAIN, data=other_data, unique_id=account_identity(other_data)
    ).add_to_hass(hass)
    simulator.account.api_key = "other-key"

    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "other-key"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """A refused key, then a new key and base URL for the same entry; the same webhook."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    webhook_id = mock_config_entry.data[CONF_WEBHOOK_ID]
    simulator.account.api_key = "rotated-key"
    new_base_url = simulator.base_url("rest") + "/"

    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "wrong", CONF_ADVANCED: {CONF_BASE_URL: new_base_url}}
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: "rotated-key", CONF_ADVANCED: {CONF_BASE_URL: new_base_url}},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        CONF_API: "rest",
        CONF_API_KEY: "rotated-key",
        CONF_BASE_URL: new_base_url,
        # The URL pasted into Clickatell's portal keeps working.
        CONF_WEBHOOK_ID: webhook_id,
    }
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reconfigure_with_another_entrys_key(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    other_data = {**mock_config_entry.data, CONF_API_KEY: "other-key"}
    MockConfigEntry(
        domain=DOMAIN, data=other_data, unique_id=account_identity(other_data)
    ).add_to_hass(hass)
    simulator.account.api_key = "other-key"

    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: "other-key", CONF_ADVANCED: {CONF_BASE_URL: simulator.base_url("rest")}},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("api", [ApiFlavour.HTTP])
async def test_reconfigure_http(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    """The user and api_id name the account: another pair is another account."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    fields = {str(key) for key in result["data_schema"].schema}
    assert fields == {CONF_USERNAME, CONF_PASSWORD, CONF_API_ID, CONF_ADVANCED}

    simulator.account.username = "someone-else"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _credentials(ApiFlavour.HTTP, simulator, **{CONF_USERNAME: "someone-else"}),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_mismatch"

    simulator.account.username = USERNAME
    simulator.account.password = "new-password"
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _credentials(ApiFlavour.HTTP, simulator, **{CONF_PASSWORD: "new-password"}),
    )
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_PASSWORD] == "new-password"


async def test_options_flow(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Every option of a REST account, then a reload that uses them."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    fields = {str(key) for key in result["data_schema"].schema}
    assert {CONF_COVERAGE_INTERVAL, CONF_PRIORITY, CONF_VALIDITY, CONF_MAX_PARTS} <= fields

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SENDER: "Not a valid sender",
            CONF_BALANCE_INTERVAL: 10,
            CONF_COVERAGE_INTERVAL: 48,
            CONF_LOW_BALANCE_THRESHOLD: 150,
            CONF_MAX_BATCH_SIZE: 600,
        },
    )
    assert result["errors"] == {CONF_SENDER: "invalid_sender"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SENDER: "HomeAlarm",
            CONF_DEFAULT_REGION: "ZA",
            # Number selectors answer with floats.
            CONF_BALANCE_INTERVAL: 10.0,
            CONF_COVERAGE_INTERVAL: 48.0,
            CONF_LOW_BALANCE_THRESHOLD: 150,
            CONF_MAX_BATCH_SIZE: 600.0,
            CONF_VALIDITY: 60.0,
            CONF_MAX_PARTS: 3.0,
            CONF_PRIORITY: 1.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert init_integration.options == {
        CONF_SENDER: "HomeAlarm",
        CONF_DEFAULT_REGION: "ZA",
        CONF_BALANCE_INTERVAL: 10,
        CONF_COVERAGE_INTERVAL: 48,
        CONF_LOW_BALANCE_THRESHOLD: 150,
        CONF_MAX_BATCH_SIZE: 600,
        CONF_VALIDITY: 60,
        CONF_MAX_PARTS: 3,
        CONF_PRIORITY: 1,
    }
    assert all(
        type(init_integration.options[key]) is int
        for key in (CONF_BALANCE_INTERVAL, CONF_MAX_BATCH_SIZE, CONF_PRIORITY)
    )
    runtime = init_integration.runtime_data
    assert runtime.client.max_batch_size == 600
    assert runtime.client.default_region == "ZA"
    assert runtime.client.default_options.sender == "HomeAlarm"
    assert runtime.client.default_options.user_priority_queue == 1
    assert runtime.balance_coordinator.update_interval.total_seconds() == 600
    # The threshold is above the balance of 100.
    assert hass.states.get("binary_sensor.clickatell_low_balance").state == "on"


def _outbox_suggestions(result: dict[str, Any]) -> dict[str, Any]:
    """What the form suggests in the outbox section."""
    section = next(
        value for key, value in result["data_schema"].schema.items() if key == CONF_OUTBOX
    )
    return {
        str(key): key.description["suggested_value"]
        for key in section.schema.schema
        if (key.description or {}).get("suggested_value") is not None
    }


@pytest.mark.parametrize("options", [{CONF_OUTBOX_ENABLED: True}])
async def test_options_flow_outbox(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Its section shows the options, keeps what was typed after an error, and stores them."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert _outbox_suggestions(result) == {CONF_OUTBOX_ENABLED: True}
    outbox = {
        CONF_OUTBOX_ENABLED: False,
        # Number selectors answer with floats.
        CONF_OUTBOX_MAX_AGE: 48.0,
        CONF_OUTBOX_MAX_SIZE: 20.0,
        CONF_OUTBOX_ISSUE_AFTER: 15.0,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SENDER: "Not a valid sender", CONF_OUTBOX: outbox}
    )
    assert result["errors"] == {CONF_SENDER: "invalid_sender"}
    assert _outbox_suggestions(result) == outbox

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_OUTBOX: outbox}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    stored = {key: init_integration.options[key] for key in outbox}
    assert stored == {
        CONF_OUTBOX_ENABLED: False,
        CONF_OUTBOX_MAX_AGE: 48,
        CONF_OUTBOX_MAX_SIZE: 20,
        CONF_OUTBOX_ISSUE_AFTER: 15,
    }
    assert type(stored[CONF_OUTBOX_MAX_SIZE]) is int
    outbox_now = init_integration.runtime_data.outbox
    assert (outbox_now.enabled, outbox_now.max_size) == (False, 20)

    # A form sent without the section keeps them.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert {key: init_integration.options[key] for key in outbox} == stored


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_options_flow_offers_what_the_platform_takes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """No coverage interval and no priority for the Platform; at most 200 per request."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    assert CONF_COVERAGE_INTERVAL not in fields
    assert CONF_PRIORITY not in fields
    assert {CONF_VALIDITY, CONF_MAX_PARTS} <= fields

    with pytest.raises(InvalidData) as caught:
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {CONF_BALANCE_INTERVAL: 30, CONF_LOW_BALANCE_THRESHOLD: 10, CONF_MAX_BATCH_SIZE: 600},
        )
    assert caught.value.schema_errors == {CONF_MAX_BATCH_SIZE: ANY}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_BALANCE_INTERVAL: 30, CONF_LOW_BALANCE_THRESHOLD: 10, CONF_MAX_BATCH_SIZE: 200},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def _add_recipient(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


async def test_add_recipient(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The number is stored as the API wants it; the new recipient gets its entities."""
    result = await _add_recipient(
        hass, init_integration, {CONF_NAME: " Carol ", CONF_NUMBER: "+27 83 123 4567"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Carol"
    assert result["data"] == {CONF_NUMBER: "+27831234567"}
    await hass.async_block_till_done()
    assert hass.states.get("notify.carol")
    assert hass.states.get("binary_sensor.carol_coverage")


@pytest.mark.parametrize("options", [{CONF_DEFAULT_REGION: "ZA"}])
async def test_add_recipient_national_number(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """With a default country, a national number is read as one of that country."""
    result = await _add_recipient(
        hass, init_integration, {CONF_NAME: "Carol", CONF_NUMBER: "083-123-4567"}
    )

    assert result["data"] == {CONF_NUMBER: "+27831234567"}


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_NAME: "Carol", CONF_NUMBER: "083-123-4567"}, {CONF_NUMBER: "invalid_number"}),
        ({CONF_NAME: "Carol", CONF_NUMBER: "not a number"}, {CONF_NUMBER: "invalid_number"}),
        ({CONF_NAME: "112", CONF_NUMBER: "+27831234567"}, {CONF_NAME: "invalid_name"}),
        ({CONF_NAME: "alice", CONF_NUMBER: "+27831234567"}, {CONF_NAME: "name_exists"}),
    ],
)
async def test_add_recipient_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Carol", CONF_NUMBER: "+27831234567"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_add_recipient_twice(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    result = await _add_recipient(hass, init_integration, {CONF_NAME: "Ally", CONF_NUMBER: ALICE})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_recipient(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Rename a recipient and change its number; the entry reloads with it."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_RECIPIENT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALICE_SUBENTRY_ID},
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Bob", CONF_NUMBER: ALICE}
    )
    assert result["errors"] == {CONF_NAME: "name_exists"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Alicia", CONF_NUMBER: "+27831234567"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = init_integration.subentries[ALICE_SUBENTRY_ID]
    assert subentry.title == "Alicia"
    assert subentry.data == {CONF_NUMBER: "+27831234567"}
    assert subentry.unique_id == "+27831234567"
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get("notify.alice").attributes["friendly_name"] == "Alicia"


def _suggested(schema: Any) -> dict[str, Any]:
    """The values a form offers, sections included, by field."""
    offered: dict[str, Any] = {}
    for key, value in schema.schema.items():
        if isinstance(value, section):
            offered[str(key)] = _suggested(value.schema)
        elif (key.description or {}).get("suggested_value") is not None:
            offered[str(key)] = key.description["suggested_value"]
    return offered


async def test_a_base_url_without_the_api_path_is_cannot_connect(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """REST without /rest reaches a host with no Clickatell REST API there (a 404).

    That is no malformed URL: cannot_connect, whose text points at the path.
    """
    result = await _credentials_form(hass, ApiFlavour.REST)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _credentials(
            ApiFlavour.REST, simulator, **{CONF_ADVANCED: {CONF_BASE_URL: simulator.root_url}}
        ),
    )

    assert result["errors"] == {"base": "cannot_connect"}
    text = STRINGS["config"]["error"]["cannot_connect"]
    assert "/rest" in text
    assert "path" in text


@pytest.mark.parametrize(
    ("api", "typed", "rejected"),
    [
        (ApiFlavour.REST, {CONF_API_KEY: "wrong"}, CONF_API_KEY),
        (
            ApiFlavour.HTTP,
            {CONF_USERNAME: USERNAME, CONF_API_ID: API_ID, CONF_PASSWORD: "wrong"},
            CONF_PASSWORD,
        ),
    ],
)
async def test_reconfigure_keeps_what_was_typed_but_not_a_rejected_secret(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    api: ApiFlavour,
    typed: dict[str, str],
    rejected: str,
) -> None:
    mock_config_entry.add_to_hass(hass)
    new_base_url = simulator.base_url(api.value) + "/"
    result = await mock_config_entry.start_reconfigure_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**typed, CONF_ADVANCED: {CONF_BASE_URL: new_base_url}}
    )

    assert result["errors"] == {rejected: "invalid_auth"}
    offered = _suggested(result["data_schema"])
    assert offered[CONF_ADVANCED] == {CONF_BASE_URL: new_base_url}
    assert rejected not in offered
    assert {key: value for key, value in offered.items() if key in typed} == {
        key: value for key, value in typed.items() if key != rejected
    }


async def test_user_flow_keeps_what_was_typed_but_not_a_rejected_key(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    result = await _credentials_form(hass, ApiFlavour.REST)
    typed = _credentials(
        ApiFlavour.REST, simulator, **{CONF_API_KEY: "wrong", CONF_SENDER: "HomeAlarm"}
    )

    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)

    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    offered = _suggested(result["data_schema"])
    assert CONF_API_KEY not in offered
    assert offered[CONF_SENDER] == "HomeAlarm"
    assert offered[CONF_ADVANCED] == {CONF_BASE_URL: simulator.base_url("rest")}

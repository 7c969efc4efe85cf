"""Sending through `notify.<name>` and the recipients' notify entities."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.notify.const import DOMAIN as NOTIFY_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import DOMAIN

from .conftest import ALICE, ALICE_SUBENTRY_ID, BOB

pytestmark = pytest.mark.usefixtures("init_integration")


@pytest.mark.parametrize("init_integration", [Platform.NOTIFY], indirect=True)
async def test_notify_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """One notify entity per recipient, named after it."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def _notify(hass: HomeAssistant, **data: object) -> None:
    await hass.services.async_call(NOTIFY_DOMAIN, "clickatell", data, blocking=True)


async def test_notify_two_targets_in_one_request(hass: HomeAssistant, simulator: Simulator) -> None:
    """A recipient's name (any case) and a number, in one request; the title first."""
    simulator.reset()

    await _notify(hass, message="Door opened", title="Alarm", target=["alice", "+27 83 123 4567"])

    assert [(message.to, message.text) for message in simulator.messages] == [
        (ALICE, "Alarm\nDoor opened"),
        ("27831234567", "Alarm\nDoor opened"),
    ]
    sends = [request for request in simulator.requests if request.method == "POST"]
    assert len(sends) == 1


async def test_notify_without_target_sends_to_every_recipient(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await _notify(hass, message="Everyone")

    assert sorted(message.to for message in simulator.messages) == [ALICE, BOB]


async def test_notify_data_carries_the_send_options(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)

    await _notify(
        hass,
        message="Later",
        target=["Bob"],
        data={
            "from": "HomeAlarm",
            "client_message_id": "alarm-1",
            "validity": 60,
            "priority": 1,
            "scheduled_time": when.isoformat(),
            "unicode": False,
        },
    )

    (message,) = simulator.messages
    assert message.client_message_id == "alarm-1"
    assert message.scheduled_for == when
    assert message.options["from"] == "HomeAlarm"
    assert message.options["validityPeriod"] == 60
    assert message.options["userPriorityQueue"] == 1


async def test_notify_a_time_without_zone_is_home_assistants(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await hass.config.async_set_time_zone("Africa/Johannesburg")
    zone = ZoneInfo("Africa/Johannesburg")
    local = (datetime.now(zone) + timedelta(hours=2)).replace(microsecond=0, tzinfo=None)

    await _notify(hass, message="Later", target=["Bob"], data={"scheduled_time": str(local)})

    (message,) = simulator.messages
    assert message.scheduled_for == local.replace(tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("target", "data", "key", "placeholders"),
    [
        (["Alice", "Mallory", "Trent"], None, "unknown_recipients", {"names": "Mallory, Trent"}),
        (["Alice", "12"], None, "invalid_numbers", {"numbers": "12"}),
        (["Alice"], {"colour": "red"}, "invalid_data", None),
        (
            ["Alice"],
            {"validity": 0},
            "invalid_option",
            {"option": "validity", "problem": "must be 1 to 10080"},
        ),
        (
            ["Alice"],
            {"charset": "UTF-8"},
            "options_not_supported",
            {"options": "charset", "api": "Legacy REST API"},
        ),
    ],
)
async def test_notify_refuses_mistakes_before_sending(
    hass: HomeAssistant,
    simulator: Simulator,
    target: list[str],
    data: dict[str, object] | None,
    key: str,
    placeholders: dict[str, str] | None,
) -> None:
    with pytest.raises(ServiceValidationError) as error:
        await _notify(hass, message="Hello", target=target, data=data or {})

    assert error.value.translation_domain == DOMAIN
    assert error.value.translation_key == key
    if placeholders is not None:
        assert error.value.translation_placeholders == placeholders
    assert not simulator.messages


async def test_notify_rejected_recipient_after_the_others_were_sent(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """2799999121 is blocked: Alice still gets hers, then the error names the blocked one."""
    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice", "2799999121"])

    assert error.value.translation_key == "recipients_rejected"
    assert "2799999121" in str(error.value)
    assert [message.to for message in simulator.messages] == [ALICE]


async def test_notify_entity_sends_to_its_recipient(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """notify.send_message on a recipient's entity; its state is the time of the last send."""
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        "send_message",
        {ATTR_ENTITY_ID: "notify.bob", "message": "Hi Bob", "title": "Note"},
        blocking=True,
    )

    assert [(message.to, message.text) for message in simulator.messages] == [(BOB, "Note\nHi Bob")]
    assert hass.states.get("notify.bob").state != "unknown"


async def test_notify_entity_rejected(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A recipient whose number the network refuses: the send raises, naming it."""
    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries[ALICE_SUBENTRY_ID],
        data={"number": "2799999122"},
    )
    await hass.async_block_till_done()

    with pytest.raises(HomeAssistantError, match="Alice"):
        await hass.services.async_call(
            NOTIFY_DOMAIN,
            "send_message",
            {ATTR_ENTITY_ID: "notify.alice", "message": "Hi"},
            blocking=True,
        )


async def test_notify_401_starts_reauthentication(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.account.api_key = "rotated-key"

    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice"])

    assert error.value.translation_key == "authentication_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id


async def test_notify_402_raises_the_repair_issue_until_a_top_up(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Not enough credit for the message: the issue stays at that balance, goes on a top-up."""
    issue_id = f"no_credit_{init_integration.entry_id}"
    simulator.account.balance = Decimal("0.5")
    await init_integration.runtime_data.balance_coordinator.async_refresh()

    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice"])
    assert error.value.translation_key == "no_credit"
    assert issue_registry.async_get_issue(DOMAIN, issue_id)

    # The same balance again: still no credit for a message.
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, issue_id)

    # Refused again, at an even lower balance: still the one issue.
    with pytest.raises(HomeAssistantError):
        await _notify(hass, message="Hello", target=["Alice"])
    assert len(issue_registry.issues) == 1

    simulator.account.balance = Decimal(50)
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    assert not issue_registry.async_get_issue(DOMAIN, issue_id)


async def test_notify_unreadable_answer(hass: HomeAssistant, simulator: Simulator) -> None:
    """Garbage is not retried (test_transient_errors has what is)."""
    simulator.inject("garbage", count=1)

    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice"])

    assert error.value.translation_key == "api_error"


async def test_notify_no_one_to_send_to(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Without a target and without recipients there is no one to send to."""
    for subentry_id in list(init_integration.subentries):
        hass.config_entries.async_remove_subentry(init_integration, subentry_id)
    await hass.async_block_till_done()

    with pytest.raises(ServiceValidationError) as error:
        await _notify(hass, message="Hello")

    assert error.value.translation_key == "no_recipients"


async def test_notify_ip_lockdown(hass: HomeAssistant, simulator: Simulator) -> None:
    """A locked-down IP is not a credentials problem: no reauthentication."""
    simulator.account.ip_lockdown = True

    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice"])

    assert error.value.translation_key == "ip_lockdown"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.parametrize("options", [{"max_batch_size": 1}])
async def test_notify_later_batch_fails(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The first batch went out when the second was refused; the log says so."""
    # A wait of 100 seconds, too long to wait for inside the call.
    simulator.messages_per_second = 0.01

    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["Alice", "Bob"])

    assert error.value.translation_key == "rate_limited"
    assert [message.to for message in simulator.messages] == [ALICE]
    assert "1 of the recipients were sent to before a later batch failed" in caplog.text


@pytest.mark.parametrize("api", [ApiFlavour.HTTP])
async def test_notify_http_single_unroutable_number(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    with pytest.raises(HomeAssistantError) as error:
        await _notify(hass, message="Hello", target=["2799999114"])

    assert error.value.translation_key == "recipients_rejected"
    assert "Cannot route message" in str(error.value)

"""The right person, every time: a number means the same number wherever it is typed.

A recipient's number was kept as the API's form ("33612345678") and read
again, at every send, as a national number of the entry's default country:
an Italian entry texted +39 336 ... instead of +33 6 .... These tests type
numbers in the recipient flow, in `target` and in `send_message`, under
default countries other than their own, and read the number the simulator
received.
"""

import json
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.const import ATTR_ENTITY_ID, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import (
    CONF_DEFAULT_REGION,
    CONF_NUMBER,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.clickatell_sms.helpers import account_identity

from .conftest import entry_data

# The reported cases: France on an Italian entry, the US on an Austrian one,
# the UK on a German one.
FOREIGN = [
    ("IT", "+33 6 12 34 56 78", "33612345678"),
    ("AT", "+1 201 555 0123", "12015550123"),
    ("DE", "+44 7911 123456", "447911123456"),
]


async def _add_recipient(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, number: str
) -> str:
    """Add a recipient through the flow; the subentry's ID."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: name, CONF_NUMBER: number}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return next(
        subentry.subentry_id for subentry in entry.subentries.values() if subentry.title == name
    )


def _three_ways(hass: HomeAssistant, entity_id: str, target: str) -> list[Awaitable[Any]]:
    """notify.send_message to the entity, then notify.<name> and send_message to `target`."""
    call = hass.services.async_call
    return [
        call("notify", "send_message", {ATTR_ENTITY_ID: entity_id, "message": "1"}, blocking=True),
        call("notify", "clickatell", {"message": "2", "target": [target]}, blocking=True),
        call(DOMAIN, "send_message", {"recipients": [target], "message": "3"}, blocking=True),
    ]


async def _send_three_ways(hass: HomeAssistant, entity_id: str, target: str) -> None:
    for send in _three_ways(hass, entity_id, target):
        await send


@pytest.mark.parametrize(("region", "typed", "expected"), FOREIGN)
async def test_a_foreign_recipient_is_texted_at_their_own_number(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    region: str,
    typed: str,
    expected: str,
) -> None:
    """Added through the flow, sent to by name, by entity and by number; coverage too."""
    hass.config_entries.async_update_entry(init_integration, options={CONF_DEFAULT_REGION: region})
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    subentry_id = await _add_recipient(hass, init_integration, "Claire", typed)

    simulator.reset()
    await _send_three_ways(hass, "notify.claire", "Claire")
    await _send_three_ways(hass, "notify.claire", typed)
    assert [message.to for message in simulator.messages] == [expected] * 6
    assert init_integration.subentries[subentry_id].data == {CONF_NUMBER: f"+{expected}"}
    # The coverage entities asked about the same number.
    coverage = init_integration.runtime_data.coverage_coordinator
    assert coverage is not None
    await coverage.async_refresh()
    assert f"/rest/coverage/{expected}" in {request.path for request in simulator.requests}


@pytest.mark.parametrize(("region", "typed", "expected"), FOREIGN)
async def test_recipients_of_the_old_shape_are_migrated(
    hass: HomeAssistant, simulator: Simulator, region: str, typed: str, expected: str
) -> None:
    """A stored entry of version 1.1 kept "33612345678"; setting it up makes it "+33612345678"."""
    data = entry_data(ApiFlavour.REST, simulator)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Clickatell",
        version=1,
        minor_version=1,
        data=data,
        options={CONF_DEFAULT_REGION: region},
        unique_id=account_identity(data),
        subentries_data=[
            ConfigSubentryData(
                data={CONF_NUMBER: expected},
                subentry_id="01CLAIRE000000000000000000",
                subentry_type=SUBENTRY_RECIPIENT,
                title="Claire",
                unique_id=expected,
            )
        ],
    )
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert (entry.version, entry.minor_version) == (1, 2)
    subentry = entry.subentries["01CLAIRE000000000000000000"]
    assert subentry.data == {CONF_NUMBER: f"+{expected}"}
    assert subentry.unique_id == f"+{expected}"
    simulator.reset()
    await _send_three_ways(hass, "notify.claire", "Claire")
    assert [message.to for message in simulator.messages] == [expected] * 3


async def test_an_entry_from_a_newer_version_is_not_loaded(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """A downgrade leaves the entry alone rather than reading a shape it does not know."""
    data = entry_data(ApiFlavour.REST, simulator)
    entry = MockConfigEntry(domain=DOMAIN, version=2, data=data, unique_id=account_identity(data))
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.version == 2


@pytest.mark.parametrize("options", [{CONF_DEFAULT_REGION: "IT"}])
@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("recipient", [33612345678, 33612345678.0])
async def test_a_number_given_as_a_yaml_number_is_refused(
    hass: HomeAssistant, simulator: Simulator, recipient: Any
) -> None:
    """YAML reads `+33612345678` unquoted as the integer 33612345678: the "+" is lost.

    Read as text it would be an Italian number; it is refused, naming the fix.
    """
    simulator.reset()
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"recipients": ["Alice", recipient], "message": "Hi"},
            blocking=True,
        )
    assert caught.value.translation_key == "recipients_not_text"
    assert caught.value.translation_placeholders == {"recipients": str(recipient)}
    assert simulator.messages == []


# Every region phonenumbers knows, for the entry and for the number.
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = phonenumbers.PhoneNumberType.values()


def _sent_to(simulator: Simulator) -> list[str]:
    """The number of every message the One API was asked to send, in order."""
    return [
        message["to"]
        for request in simulator.requests
        if request.path == "/v1/message"
        for message in json.loads(request.body)["messages"]
    ]


@st.composite
def valid_numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    """A valid number of a drawn region: an example number with its last digits drawn."""
    region = draw(st.sampled_from(REGIONS))
    examples = [
        example
        for kind in TYPES
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    example = draw(st.sampled_from(examples))
    national = str(example.national_number)
    keep = len(national) - draw(st.integers(min_value=0, max_value=min(4, len(national) - 1)))
    digits = draw(
        st.text("0123456789", min_size=len(national) - keep, max_size=len(national) - keep)
    )
    number = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=int(national[:keep] + digits),
        italian_leading_zero=example.italian_leading_zero,
        number_of_leading_zeros=example.number_of_leading_zeros,
    )
    return number if phonenumbers.is_valid_number(number) else example


@st.composite
def typed_forms(draw: st.DrawFn, number: phonenumbers.PhoneNumber) -> str:
    """How a person writes the number: "+33 6 12 34 56 78", "+33612345678" or "0033612345678"."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return draw(st.sampled_from([e164, international, "00" + e164[1:]]))


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
@settings(
    max_examples=200,
    deadline=None,
    # One Home Assistant and one simulator serve every example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), entry_region=st.sampled_from(REGIONS))
async def test_any_number_under_any_default_country_reaches_that_number(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    data: st.DataObject,
    entry_region: str,
) -> None:
    """The number typed in the flow, in `target` or in `send_message` is the number sent to."""
    number = data.draw(valid_numbers(), label="number")
    typed = data.draw(typed_forms(number), label="typed")
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    simulator.account.balance = Decimal(1_000_000)
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_DEFAULT_REGION: entry_region}
    )
    subentry_id = await _add_recipient(hass, init_integration, "Claire", typed)
    simulator.reset()
    try:
        for send in [
            *_three_ways(hass, "notify.claire", typed),
            hass.services.async_call(
                "notify", "clickatell", {"message": "4", "target": ["Claire"]}, blocking=True
            ),
        ]:
            try:
                await send
            except HomeAssistantError as error:
                # The simulator refuses numbers under 10 digits, which some
                # countries have; what matters is the number it was asked for.
                assert error.translation_key == "recipients_rejected"
        assert _sent_to(simulator) == [expected] * 4
    finally:
        hass.config_entries.async_remove_subentry(init_integration, subentry_id)
        await hass.async_block_till_done()

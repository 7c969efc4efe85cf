"""Every text the integration refers to exists, in strings.json and in translations/en.json.

Core's hassfest checks this for core integrations; a custom integration checks itself.
"""

import json
import re
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.clickatell_sms as integration
from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms import errors
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import DOMAIN
from custom_components.clickatell_sms.helpers import account_identity

from .conftest import entry_data

ROOT = Path(integration.__file__).parent
SOURCES = sorted(ROOT.glob("*.py"))
STRINGS = json.loads((ROOT / "strings.json").read_text(encoding="utf-8"))


def _used(pattern: str, sources: list[Path] = SOURCES) -> set[str]:
    found: set[str] = set()
    for path in sources:
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_english_is_strings() -> None:
    """Custom integrations load translations/en.json; it is strings.json, resolved."""
    english = json.loads((ROOT / "translations" / "en.json").read_text(encoding="utf-8"))
    assert english == STRINGS
    assert "[%key:" not in json.dumps(STRINGS)


def test_exceptions_and_issues_have_texts() -> None:
    entities = {key for platform in STRINGS["entity"].values() for key in platform}
    keys = _used(r'translation_key="(\w+)"') - entities
    assert keys
    assert keys <= set(STRINGS["exceptions"])
    assert set(STRINGS["issues"]) == {"no_credit", "outbox_waiting"}


def test_every_error_key_has_a_text() -> None:
    """The keys errors.py names the client's errors by (not written as translation_key=)."""
    keys = {key for _kind, key in errors._KEYS} | {
        "api_error",
        "send_cannot_connect",
        "send_unconfirmed",
    }
    assert keys <= set(STRINGS["exceptions"])
    assert _used(r'return "(\w+)"', [ROOT / "errors.py"]) <= keys


def test_flow_errors_and_aborts_have_texts() -> None:
    flow = [ROOT / "config_flow.py"]
    errors = _used(r'"(invalid_\w+|cannot_connect|ip_lockdown|unknown|name_exists)"', flow)
    aborts = _used(r'reason="(\w+)"', flow)
    config = STRINGS["config"]
    subentry = STRINGS["config_subentries"]["recipient"]
    known_errors = {*config["error"], *STRINGS["options"]["error"], *subentry["error"]}
    assert errors <= known_errors
    assert aborts <= {*config["abort"], *subentry["abort"]}


def test_named_entities_have_icons() -> None:
    """The notify entity has an icon but no name of its own: it is named after its recipient."""
    icons = json.loads((ROOT / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in STRINGS["entity"].items():
        assert set(entities) <= set(icons["entity"][platform]), platform


async def test_every_entity_name_is_one_an_entity_shows(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Each name under `entity` is some entity's name: none is dead text.

    A REST account has every entity but the balance in a currency, which the
    Platform's has.
    """
    platform_data = entry_data(ApiFlavour.PLATFORM, simulator)
    platform_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Platform",
        version=1,
        minor_version=2,
        data=platform_data,
        unique_id=account_identity(platform_data),
    )
    platform_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(platform_entry.entry_id)
    await hass.async_block_till_done()

    names = {
        (platform, key): texts["name"]
        for platform, entities in STRINGS["entity"].items()
        for key, texts in entities.items()
        if "name" in texts
    }
    shown = {
        (entry.domain, entry.translation_key): entry.original_name
        for config_entry in (init_integration, platform_entry)
        for entry in er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)
        if entry.translation_key is not None and entry.original_name is not None
    }
    assert shown == names

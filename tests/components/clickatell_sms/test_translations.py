"""Every text the integration refers to exists, in strings.json and in translations/en.json.

Core's hassfest checks this for core integrations; a custom integration checks itself.
"""

import json
import re
from pathlib import Path

import yaml

import custom_components.clickatell_sms as integration

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
    assert set(STRINGS["issues"]) == {"no_credit"}


def test_flow_errors_and_aborts_have_texts() -> None:
    flow = [ROOT / "config_flow.py"]
    errors = _used(r'"(invalid_\w+|cannot_connect|ip_lockdown|unknown|name_exists)"', flow)
    aborts = _used(r'reason="(\w+)"', flow)
    config = STRINGS["config"]
    subentry = STRINGS["config_subentries"]["recipient"]
    known_errors = {*config["error"], *STRINGS["options"]["error"], *subentry["error"]}
    assert errors <= known_errors
    assert aborts <= {*config["abort"], *subentry["abort"]}


def test_entities_have_names_and_icons() -> None:
    icons = json.loads((ROOT / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in STRINGS["entity"].items():
        assert set(entities) == set(icons["entity"][platform]), platform


def test_every_action_field_has_a_text() -> None:
    services = yaml.safe_load((ROOT / "services.yaml").read_text(encoding="utf-8"))
    for service, description in services.items():
        fields = {}
        for name, field in description["fields"].items():
            fields |= field.get("fields", {name: field})
        texts = STRINGS["services"][service]["fields"]
        assert set(fields) == set(texts), service

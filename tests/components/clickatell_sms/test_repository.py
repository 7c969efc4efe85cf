"""The repository as HACS and hassfest would see it, checked offline.

Custom integrations get no hassfest run and HACS validates on GitHub; their
published rules are restated here, each with its source:

- HACS: `custom_components/hacs/utils/validate.py` in hacs/integration
  (HACS_MANIFEST_JSON_SCHEMA for hacs.json, INTEGRATION_MANIFEST_JSON_SCHEMA
  for manifest.json);
- hassfest, `script/hassfest/` in home-assistant/core: `manifest.py`
  (CUSTOM_INTEGRATION_MANIFEST_SCHEMA, sort_manifest), `requirements.py`
  (validate_requirements_format), `services.py` (the custom integration
  services schema and its translation checks), `quality_scale.py` (ALL_RULES,
  SCHEMA);
- home-assistant/brands: README.md, "Image specification", and
  .github/workflows/validate/validate.sh.
"""

import ast
import importlib.metadata
import json
import re
import struct
import sys
from pathlib import Path
from typing import Any

import probatio
import pytest
import yaml
from awesomeversion import AwesomeVersion
from homeassistant.const import CONF_SELECTOR
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from PIL import Image

import custom_components.clickatell_sms as integration
from custom_components.clickatell_sms.const import DOMAIN
from custom_components.clickatell_sms.services import (
    OUTBOX_SCHEMA,
    SEND_MESSAGE_SCHEMA,
    STOP_MESSAGE_SCHEMA,
)

ROOT = Path(integration.__file__).parent
REPOSITORY = ROOT.parents[1]
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
STRINGS = json.loads((ROOT / "strings.json").read_text(encoding="utf-8"))
ICONS = json.loads((ROOT / "icons.json").read_text(encoding="utf-8"))
SERVICES = yaml.safe_load((ROOT / "services.yaml").read_text(encoding="utf-8"))


def test_the_license_pyproject_names_is_there() -> None:
    """pyproject.toml says Apache-2.0; HACS shows the repository's LICENSE."""
    assert 'license = "Apache-2.0"' in (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")
    text = (REPOSITORY / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


# HACS_MANIFEST_JSON_SCHEMA (hacs.json), restated.
HACS_JSON_SCHEMA = probatio.Schema(
    {
        probatio.Optional("content_in_root"): bool,
        probatio.Optional("country"): probatio.Any(str, [str]),
        probatio.Optional("filename"): str,
        probatio.Optional("hacs"): str,
        probatio.Optional("hide_default_branch"): bool,
        probatio.Optional("homeassistant"): str,
        probatio.Optional("persistent_directory"): str,
        probatio.Optional("render_readme"): bool,
        probatio.Optional("zip_release"): bool,
        probatio.Required("name"): str,
    },
    extra=probatio.PREVENT_EXTRA,
)


def test_hacs_json() -> None:
    hacs = json.loads((REPOSITORY / "hacs.json").read_text(encoding="utf-8"))
    HACS_JSON_SCHEMA(hacs)
    # content_in_root false: HACS installs the one folder under custom_components/.
    assert hacs["content_in_root"] is False
    assert [path.name for path in (REPOSITORY / "custom_components").iterdir()] == [DOMAIN]
    assert (REPOSITORY / "README.md").is_file()  # render_readme
    # The minimum Home Assistant is the one the tests run on, or older.
    tested = importlib.metadata.version("homeassistant")
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(tested)


def test_manifest_as_hacs_and_hassfest_read_it() -> None:
    # HACS: INTEGRATION_MANIFEST_JSON_SCHEMA's required keys.
    for key in ("codeowners", "documentation", "domain", "issue_tracker", "name", "version"):
        assert key in MANIFEST, key
    # hassfest: CUSTOM_INTEGRATION_MANIFEST_SCHEMA, the keys it knows and their values.
    known = {
        "after_dependencies", "bluetooth", "codeowners", "config_flow", "dependencies",
        "dhcp", "disabled", "documentation", "domain", "homekit", "import_executor",
        "integration_type", "iot_class", "issue_tracker", "loggers", "mqtt", "name",
        "quality_scale", "requirements", "single_config_entry", "ssdp", "usb",
        "version", "zeroconf",
    }  # fmt: skip
    assert set(MANIFEST) <= known
    assert MANIFEST["domain"] == ROOT.name
    assert MANIFEST["integration_type"] in {
        "device", "entity", "hardware", "helper", "hub", "service", "system"
    }  # fmt: skip
    assert MANIFEST["iot_class"] in {
        "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"
    }  # fmt: skip
    assert all(isinstance(owner, str) for owner in MANIFEST["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://"), key
    assert AwesomeVersion(MANIFEST["version"]).valid
    # sort_manifest: "domain, name, then alphabetical order".
    keys = list(MANIFEST)
    assert keys == ["domain", "name", *sorted(keys[2:])]


def _third_party_imports() -> set[str]:
    """Top-level modules the integration's code imports, stdlib and its own aside."""
    modules: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"homeassistant", "custom_components"}


def _distribution(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_requirements_are_what_the_code_imports_pinned() -> None:
    """Every import not provided by Home Assistant itself is a requirement, pinned with ==."""
    provided = {
        _distribution(requirement)
        for requirement in importlib.metadata.requires("homeassistant") or []
        if "extra ==" not in requirement
    }
    distributions = importlib.metadata.packages_distributions()
    needed = {
        distribution.lower()
        for module in _third_party_imports()
        for distribution in distributions[module]
    } - provided
    requirements = MANIFEST["requirements"]
    # validate_requirements_format: no space, "<pkg name>==<version>".
    for requirement in requirements:
        assert " " not in requirement
        assert re.fullmatch(r"[-_.\w\d\[\]]+==[\w.]+", requirement), requirement
    assert {_distribution(requirement) for requirement in requirements} == needed
    # The pins are the versions the tests ran with.
    for requirement in requirements:
        name, version = requirement.split("==")
        assert importlib.metadata.version(name) == version, requirement


def test_loggers_are_the_requirements_own() -> None:
    """`loggers` names loggers of the requirements, for "Enable debug logging".

    Home Assistant adds the integration's package (custom_components.<domain>)
    itself, and every logger under it; the vendored client logs there.
    """
    requirement_modules = {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        for requirement in MANIFEST["requirements"]
        if _distribution(requirement) in {name.lower() for name in distributions}
    }
    for logger in MANIFEST.get("loggers", []):
        assert not logger.startswith(f"custom_components.{DOMAIN}"), logger
        assert logger.split(".")[0] in requirement_modules, logger


def _field_schema(field: Any) -> None:
    """A field of services.yaml (CUSTOM_INTEGRATION_NOT_TARGETED_FIELD_SCHEMA)."""
    probatio.Schema(
        {
            probatio.Optional("example"): object,
            probatio.Optional("default"): object,
            probatio.Optional("required"): bool,
            probatio.Optional("advanced"): bool,
            probatio.Optional(CONF_SELECTOR): selector.validate_selector,
            probatio.Optional("name"): str,
            probatio.Optional("description"): str,
        }
    )(field)


def _fields(service: dict[str, Any]) -> dict[str, Any]:
    """The fields of a service, those in sections included."""
    fields: dict[str, Any] = {}
    for name, field in service.get("fields", {}).items():
        fields |= field.get("fields", {name: field})
    return fields


async def test_services_yaml_strings_icons_and_code_agree(hass: HomeAssistant) -> None:
    """Selectors are validated by Home Assistant's own selector schemas (hence `hass`)."""
    schemas = {
        "send_message": SEND_MESSAGE_SCHEMA,
        "stop_message": STOP_MESSAGE_SCHEMA,
        "retry_outbox": OUTBOX_SCHEMA,
        "clear_outbox": OUTBOX_SCHEMA,
    }
    assert set(SERVICES) == set(schemas) == set(STRINGS["services"]) == set(ICONS["services"])
    for name, service in SERVICES.items():
        assert cv.slug(name) == name
        texts = STRINGS["services"][name]
        assert texts["name"]
        assert texts["description"]
        fields = _fields(service)
        for field in fields.values():
            _field_schema(field)
        # The action takes exactly the fields services.yaml offers.
        assert set(fields) == {str(key) for key in schemas[name].schema}, name
        # Every field has a name and a description, and no text is for a field that is not.
        assert set(texts["fields"]) == set(fields), name
        for text in texts["fields"].values():
            assert text["name"]
            assert text["description"]
        sections = {key for key, value in service["fields"].items() if "fields" in value}
        assert set(texts.get("sections", {})) == sections
        assert set(ICONS["services"][name].get("sections", {})) == sections
        assert ICONS["services"][name]["service"].startswith("mdi:")


# hassfest's ALL_RULES, by tier.
RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup",
        "entity-unique-id", "has-entity-name", "runtime-data", "test-before-configure",
        "test-before-setup", "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases",
        "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations",
        "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip

QUALITY_SCALE_SCHEMA = probatio.Schema(
    {
        probatio.Required("rules"): probatio.Schema(
            {
                probatio.Optional(rule): probatio.Any(
                    probatio.In(["todo", "done"]),
                    {probatio.Required("status"): probatio.In(["todo", "done"]),
                     probatio.Required("comment"): str},
                    {probatio.Required("status"): "exempt", probatio.Required("comment"): str},
                )
                for rules in RULES.values()
                for rule in rules
            }
        )
    }
)  # fmt: skip


def test_quality_scale_yaml() -> None:
    """hassfest's schema, and every rule stated: none left out unsaid."""
    scale = yaml.safe_load((ROOT / "quality_scale.yaml").read_text(encoding="utf-8"))
    QUALITY_SCALE_SCHEMA(scale)
    assert set(scale["rules"]) == {rule for rules in RULES.values() for rule in rules}


def test_brand_folder() -> None:
    """Brands' validate.sh: known names only, and the hDPI icon is not the normal one."""
    brand = ROOT / "brand"
    assert {path.name for path in brand.iterdir()} == {"icon.png", "icon@2x.png"}
    assert (brand / "icon.png").read_bytes() != (brand / "icon@2x.png").read_bytes()


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_images(name: str, size: int) -> None:
    """Brands' image specification: PNG, square 256 (512 hDPI), RGB(A), trimmed."""
    path = ROOT / "brand" / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    assert (width, height) == (size, size)
    with Image.open(path) as image:
        assert image.mode in {"RGB", "RGBA"}
        # Trimmed: the drawing reaches two opposite edges (an icon stays square).
        left, top, right, bottom = image.getchannel("A").getbbox() or (0, 0, 0, 0)
    assert (left, right) == (0, size) or (top, bottom) == (0, size)

"""The Clickatell SMS integration: send SMS through Clickatell from Home Assistant."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

DOMAIN = "clickatell_sms"


async def async_setup(_hass: HomeAssistant, _config: ConfigType) -> bool:
    """Set up the integration: nothing to do until it has config entries."""
    return True

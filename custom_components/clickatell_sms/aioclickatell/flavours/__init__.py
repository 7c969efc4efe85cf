"""One class per Clickatell API; the client picks one from its configuration."""

from __future__ import annotations

from ..const import ApiFlavour, ContentFormat, HttpMethod, PlatformEndpoint
from .base import ApiRequest, ApiResponse, Credentials, Flavour
from .http import HttpFlavour
from .platform import PlatformFlavour, PlatformMessagesFlavour
from .rest import RestFlavour


def flavour_for(
    api: ApiFlavour,
    credentials: Credentials,
    *,
    content_format: ContentFormat = ContentFormat.JSON,
    platform_endpoint: PlatformEndpoint = PlatformEndpoint.ONE_API,
    http_method: HttpMethod = HttpMethod.POST,
) -> Flavour:
    """The flavour object for a configuration."""
    if api is ApiFlavour.REST:
        return RestFlavour(credentials, content_format)
    if api is ApiFlavour.PLATFORM:
        if platform_endpoint is PlatformEndpoint.MESSAGES:
            return PlatformMessagesFlavour(credentials, content_format)
        return PlatformFlavour(credentials, content_format)
    return HttpFlavour(credentials, content_format, http_method)


__all__ = ["ApiRequest", "ApiResponse", "Credentials", "Flavour", "flavour_for"]

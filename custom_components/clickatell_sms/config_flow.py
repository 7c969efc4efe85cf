"""Config flow: the account, re-authentication, reconfiguration, options, recipients."""

import re
from typing import TYPE_CHECKING, Any, override

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    CountrySelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .aioclickatell import (
    DEFAULT_MAX_BATCH_SIZE,
    ApiFlavour,
    ClickatellAuthenticationError,
    ClickatellClient,
    ClickatellError,
    ClickatellInvalidRecipientError,
    ClickatellInvalidRequestError,
    ClickatellIpLockdownError,
    Operation,
    SendOptions,
    e164,
)
from .const import (
    API_NAMES,
    CONF_ADVANCED,
    CONF_API,
    CONF_API_ID,
    CONF_BALANCE_INTERVAL,
    CONF_BASE_URL,
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
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
    CONF_STATUS_POLLING,
    CONF_TWO_WAY,
    CONF_VALIDITY,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_COVERAGE_INTERVAL,
    DEFAULT_LOW_BALANCE_THRESHOLD,
    DEFAULT_OUTBOX_ISSUE_AFTER,
    DEFAULT_OUTBOX_MAX_AGE,
    DEFAULT_OUTBOX_MAX_SIZE,
    DEFAULT_TITLE,
    DOMAIN,
    LOGGER,
    SUBENTRY_RECIPIENT,
)
from .helpers import DEFAULT_SEND_OPTIONS, account_identity, create_client
from .webhook import async_webhook_data, callback_url, webhook_data

if TYPE_CHECKING:
    from collections.abc import Mapping

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
TEXT_SELECTOR = TextSelector(TextSelectorConfig(autocomplete="off"))

# Options a number selector gives as a float.
INTEGER_OPTIONS = (
    CONF_BALANCE_INTERVAL,
    CONF_COVERAGE_INTERVAL,
    CONF_MAX_BATCH_SIZE,
    CONF_MAX_PARTS,
    CONF_PRIORITY,
    CONF_VALIDITY,
)

# The outbox's options, in their own section of the options form.
OUTBOX_OPTIONS = (
    CONF_OUTBOX_ENABLED,
    CONF_OUTBOX_MAX_AGE,
    CONF_OUTBOX_MAX_SIZE,
    CONF_OUTBOX_ISSUE_AFTER,
)

# The options each section of the options form shows (never the callback password).
SECTION_OPTIONS: Mapping[str, tuple[str, ...]] = {
    CONF_TWO_WAY: (CONF_STATUS_POLLING, CONF_CALLBACK_USERNAME),
    CONF_OUTBOX: OUTBOX_OPTIONS,
}

# The Platform (One API) first: it is what accounts opened today have.
API_CHOICES = (ApiFlavour.PLATFORM, ApiFlavour.REST, ApiFlavour.HTTP)

# A username Clickatell can carry in a callback URL as it is.
CALLBACK_USERNAME = re.compile(r"[A-Za-z0-9._~-]{1,64}")

# The field that holds each flavour's secret: where invalid_auth shows.
SECRET_FIELD = {
    ApiFlavour.PLATFORM: CONF_API_KEY,
    ApiFlavour.REST: CONF_API_KEY,
    ApiFlavour.HTTP: CONF_PASSWORD,
}


def _credential_fields(api: ApiFlavour, *, secret_only: bool = False) -> dict[Any, Any]:
    """The fields this flavour's credentials need, and only those."""
    if api is not ApiFlavour.HTTP:
        return {probatio.Required(CONF_API_KEY): PASSWORD_SELECTOR}
    if secret_only:
        return {probatio.Required(CONF_PASSWORD): PASSWORD_SELECTOR}
    return {
        probatio.Required(CONF_USERNAME): TEXT_SELECTOR,
        probatio.Required(CONF_PASSWORD): PASSWORD_SELECTOR,
        probatio.Required(CONF_API_ID): TEXT_SELECTOR,
    }


def _advanced_section() -> dict[Any, Any]:
    """The base URL, for proxies and the simulator; folded away."""
    return {
        probatio.Required(CONF_ADVANCED): section(
            probatio.Schema(
                {
                    probatio.Optional(CONF_BASE_URL): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.URL)
                    )
                }
            ),
            {"collapsed": True},
        )
    }


def _credentials(api: ApiFlavour, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's data from a credentials form."""
    data: dict[str, Any] = {CONF_API: api.value}
    for key in (CONF_API_KEY, CONF_USERNAME, CONF_PASSWORD, CONF_API_ID):
        if key in user_input:
            data[key] = user_input[key].strip()
    if base_url := user_input.get(CONF_ADVANCED, {}).get(CONF_BASE_URL, "").strip():
        data[CONF_BASE_URL] = base_url
    return data


def _sender_errors(options: Mapping[str, Any]) -> dict[str, str]:
    """An error on the sender field if the API would refuse it."""
    if sender := options.get(CONF_SENDER):
        try:
            SendOptions(sender=sender)
        except ClickatellInvalidRequestError:
            return {CONF_SENDER: "invalid_sender"}
    return {}


def _balance_errors(api: ApiFlavour, error: ClickatellError) -> dict[str, str]:
    """The form's error for a failed balance call, on the field at fault if any."""
    if isinstance(error, ClickatellIpLockdownError):
        return {"base": "ip_lockdown"}
    if isinstance(error, ClickatellAuthenticationError):
        return {SECRET_FIELD[api]: "invalid_auth"}
    # Unreachable, or no Clickatell API answering there: a base URL with the
    # wrong path (REST without /rest answers 404, code 161), a captive portal.
    LOGGER.debug("Cannot read the balance: %s", error)
    return {"base": "cannot_connect"}


async def _async_check(
    hass: HomeAssistant, data: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, str]:
    """Read the balance with these settings (the cheapest call every flavour has).

    Returns the form's errors, each on the field at fault where there is one.
    """
    if errors := _sender_errors(options):
        return errors
    api = ApiFlavour(data[CONF_API])
    try:
        client = create_client(hass, data, options)
    except ClickatellInvalidRequestError as error:
        # The client's own check, before any request: a base URL it cannot use.
        LOGGER.debug("Configuration refused by the client: %s", error)
        return {"base": "invalid_base_url"}
    try:
        await client.balance()
    except ClickatellError as error:
        return _balance_errors(api, error)
    except Exception:  # noqa: BLE001 - a flow shows every failure as a form error
        LOGGER.exception("Unexpected error checking the Clickatell account")
        return {"base": "unknown"}
    return {}


def _kept(user_input: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    """What the user typed, to offer again after an error; never a rejected secret."""
    return {key: value for key, value in user_input.items() if errors.get(key) != "invalid_auth"}


class ClickatellConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Clickatell account."""

    VERSION = 1
    # 1.2: recipients' numbers in E.164 with "+" (see async_migrate_entry).
    MINOR_VERSION = 2

    _api: ApiFlavour = ApiFlavour.PLATFORM

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Recipients are subentries."""
        return {SUBENTRY_RECIPIENT: RecipientSubentryFlow}

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> ClickatellOptionsFlow:
        """Polling, the low-balance threshold and the defaults of every send."""
        return ClickatellOptionsFlow()

    def _identity_in_use(self, identity: str, entry_id: str | None = None) -> bool:
        """Whether another entry is this account (by its first or its current key)."""
        return any(
            entry.entry_id != entry_id
            and identity in (entry.unique_id, account_identity(entry.data))
            for entry in self._async_current_entries(include_ignore=False)
        )

    def _title(self) -> str:
        """Clickatell, numbered if taken: the title names `notify.<name>`."""
        taken = {entry.title for entry in self._async_current_entries(include_ignore=False)}
        title, number = DEFAULT_TITLE, 1
        while title in taken:
            number += 1
            title = f"{DEFAULT_TITLE} {number}"
        return title

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the API: the Platform (One API) for accounts opened today."""
        if user_input is not None:
            self._api = ApiFlavour(user_input[CONF_API])
            return await self.async_step_credentials()
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_API, default=ApiFlavour.PLATFORM.value): SelectSelector(
                        SelectSelectorConfig(
                            options=[api.value for api in API_CHOICES],
                            translation_key=CONF_API,
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
        )

    async def async_step_credentials(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The credentials of the chosen API, the default sender and region."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _credentials(self._api, user_input)
            options = {
                key: value
                for key in (CONF_SENDER, CONF_DEFAULT_REGION)
                if (value := user_input.get(key, "").strip())
            }
            errors = await _async_check(self.hass, data, options)
            if not errors:
                identity = account_identity(data)
                await self.async_set_unique_id(identity)
                self._abort_if_unique_id_configured()
                if self._identity_in_use(identity):
                    return self.async_abort(reason="already_configured")
                data |= await async_webhook_data(self.hass, {})
                return self.async_create_entry(
                    title=self._title(),
                    data=data,
                    # New entries keep what cannot go now (see const.py).
                    options=options | {CONF_OUTBOX_ENABLED: True},
                    description_placeholders={
                        "webhook_url": callback_url(self.hass, data, options)
                    },
                )

        schema = probatio.Schema(
            {
                **_credential_fields(self._api),
                probatio.Optional(CONF_SENDER): TEXT_SELECTOR,
                probatio.Optional(CONF_DEFAULT_REGION): CountrySelector(),
                **_advanced_section(),
            }
        )
        suggested = (
            {CONF_DEFAULT_REGION: self.hass.config.country}
            if user_input is None
            else _kept(user_input, errors)
        )
        return self.async_show_form(
            step_id="credentials",
            data_schema=self.add_suggested_values_to_schema(
                schema, {key: value for key, value in suggested.items() if value}
            ),
            errors=errors,
            description_placeholders={"api": API_NAMES[self._api]},
        )

    async def async_step_reauth(self, _entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The API refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the secret again: a rotated key, a changed password."""
        entry = self._get_reauth_entry()
        api = ApiFlavour(entry.data[CONF_API])
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **_credentials(api, user_input)}
            errors = await _async_check(self.hass, data, entry.options)
            if not errors:
                if self._identity_in_use(account_identity(data), entry.entry_id):
                    return self.async_abort(reason="already_configured")
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(_credential_fields(api, secret_only=True)),
            errors=errors,
            description_placeholders={"account": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials or the base URL of the same account."""
        entry = self._get_reconfigure_entry()
        api = ApiFlavour(entry.data[CONF_API])
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _credentials(api, user_input)
            errors = await _async_check(self.hass, data, entry.options)
            if not errors:
                identity = account_identity(data)
                if api is ApiFlavour.HTTP:
                    # The user and api_id name the account; only the password may change.
                    await self.async_set_unique_id(identity)
                    self._abort_if_unique_id_mismatch(reason="account_mismatch")
                elif self._identity_in_use(identity, entry.entry_id):
                    # Nothing proves which account a key belongs to; a key
                    # already used by another entry is that entry's account.
                    return self.async_abort(reason="already_configured")
                # Same account, same webhook: the URL in Clickatell's portal stays right.
                return self.async_update_reload_and_abort(
                    entry, data=data | webhook_data(entry.data)
                )

        schema = probatio.Schema({**_credential_fields(api), **_advanced_section()})
        if user_input is not None:
            suggested = _kept(user_input, errors)
        else:
            suggested = {
                key: entry.data[key] for key in (CONF_USERNAME, CONF_API_ID) if key in entry.data
            } | {CONF_ADVANCED: {CONF_BASE_URL: entry.data.get(CONF_BASE_URL, "")}}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )


class ClickatellOptionsFlow(OptionsFlowWithReload):
    """Polling, the low-balance threshold and the defaults of every send."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; only the defaults the account's API takes are offered."""
        entry = self.config_entry
        # No I/O: only to ask the client what the flavour can do.
        probe = create_client(self.hass, entry.data)
        errors: dict[str, str] = {}
        sections: dict[str, dict[str, Any]] = {}
        if user_input is not None:
            sections = {name: user_input.pop(name, {}) for name in SECTION_OPTIONS}
            options = {key: value for key, value in user_input.items() if value not in (None, "")}
            for key in INTEGER_OPTIONS:
                if key in options:
                    options[key] = int(options[key])
            # The selectors bound every number by what the account's API takes.
            two_way = sections[CONF_TWO_WAY]
            errors = _sender_errors(options) | _two_way_errors(two_way, entry.options)
            if not errors:
                options |= _two_way_options(two_way, entry.options)
                options |= _outbox_options(sections[CONF_OUTBOX], entry.options)
                return self.async_create_entry(data=options)

        fields = self._fields(probe) | _outbox_section() | _two_way_section(probe)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(fields), _suggested(user_input, sections, entry.options)
            ),
            errors=errors,
            description_placeholders={
                "webhook_url": callback_url(self.hass, entry.data, entry.options)
            },
        )

    @staticmethod
    def _fields(probe: ClickatellClient) -> dict[Any, Any]:
        fields: dict[Any, Any] = {
            probatio.Optional(CONF_SENDER): TEXT_SELECTOR,
            probatio.Optional(CONF_DEFAULT_REGION): CountrySelector(),
            probatio.Required(CONF_BALANCE_INTERVAL, default=DEFAULT_BALANCE_INTERVAL): _number(
                1, 1440, "min"
            ),
        }
        if probe.supports(Operation.COVERAGE):
            fields[probatio.Required(CONF_COVERAGE_INTERVAL, default=DEFAULT_COVERAGE_INTERVAL)] = (
                _number(1, 720, "h")
            )
        fields[
            probatio.Required(CONF_LOW_BALANCE_THRESHOLD, default=DEFAULT_LOW_BALANCE_THRESHOLD)
        ] = _number(0, 1_000_000, step=0.01)
        fields[probatio.Required(CONF_MAX_BATCH_SIZE, default=DEFAULT_MAX_BATCH_SIZE)] = _number(
            1, probe.batch_ceiling
        )
        limits = {CONF_VALIDITY: (1, 10080, "min"), CONF_MAX_PARTS: (1, 35, None)}
        limits[CONF_PRIORITY] = (1, 3, None)
        for key, (low, high, unit) in limits.items():
            if DEFAULT_SEND_OPTIONS[key] in probe.supported_options:
                fields[probatio.Optional(key)] = _number(low, high, unit)
        return fields


def _number(low: float, high: float, unit: str | None = None, step: float = 1) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _outbox_section() -> dict[Any, Any]:
    """The outbox: on or off, how long and how many SMS may wait, when to raise the issue.

    Off unless set: entries made before the outbox have no such option.
    """
    fields = {
        probatio.Required(CONF_OUTBOX_ENABLED, default=False): BooleanSelector(),
        probatio.Required(CONF_OUTBOX_MAX_AGE, default=DEFAULT_OUTBOX_MAX_AGE): _number(
            1, 168, "h"
        ),
        probatio.Required(CONF_OUTBOX_MAX_SIZE, default=DEFAULT_OUTBOX_MAX_SIZE): _number(
            1, 10_000
        ),
        probatio.Required(CONF_OUTBOX_ISSUE_AFTER, default=DEFAULT_OUTBOX_ISSUE_AFTER): _number(
            1, 1440, "min"
        ),
    }
    return {probatio.Optional(CONF_OUTBOX): section(probatio.Schema(fields), {"collapsed": True})}


def _outbox_options(outbox: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The options of the outbox section; without the section, the current ones."""
    if not outbox:
        return {key: current[key] for key in OUTBOX_OPTIONS if key in current}
    return {
        key: bool(value) if key == CONF_OUTBOX_ENABLED else int(value)
        for key, value in outbox.items()
        if key in OUTBOX_OPTIONS
    }


def _two_way_section(probe: ClickatellClient) -> dict[Any, Any]:
    """Status polling, where the API can query a status; basic authentication of callbacks."""
    fields: dict[Any, Any] = {}
    if probe.supports(Operation.STATUS):
        fields[probatio.Required(CONF_STATUS_POLLING, default=False)] = BooleanSelector()
    fields[probatio.Optional(CONF_CALLBACK_USERNAME)] = TEXT_SELECTOR
    fields[probatio.Optional(CONF_CALLBACK_PASSWORD)] = PASSWORD_SELECTOR
    return {probatio.Optional(CONF_TWO_WAY): section(probatio.Schema(fields), {"collapsed": True})}


def _two_way_errors(two_way: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, str]:
    """A username that cannot go into a URL, or a new one without a password."""
    username = two_way.get(CONF_CALLBACK_USERNAME, "").strip()
    if not username:
        return {}
    if not CALLBACK_USERNAME.fullmatch(username):
        return {CONF_CALLBACK_USERNAME: "invalid_callback_username"}
    if not two_way.get(CONF_CALLBACK_PASSWORD) and not current.get(CONF_CALLBACK_PASSWORD):
        return {CONF_CALLBACK_PASSWORD: "callback_password_required"}
    return {}


def _two_way_options(two_way: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The options of the two-way section; an empty password keeps the current one."""
    options: dict[str, Any] = {}
    if CONF_STATUS_POLLING in two_way:
        options[CONF_STATUS_POLLING] = two_way[CONF_STATUS_POLLING]
    if username := two_way.get(CONF_CALLBACK_USERNAME, "").strip():
        options[CONF_CALLBACK_USERNAME] = username
        options[CONF_CALLBACK_PASSWORD] = two_way.get(CONF_CALLBACK_PASSWORD) or current.get(
            CONF_CALLBACK_PASSWORD
        )
    return options


def _suggested(
    user_input: Mapping[str, Any] | None,
    sections: Mapping[str, Mapping[str, Any]],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """What the form shows: the options, each section's in its section; never a password."""
    if user_input is None:
        user_input, sections = options, dict.fromkeys(SECTION_OPTIONS, options)
    in_sections = {key for keys in SECTION_OPTIONS.values() for key in keys}
    return {
        **{
            key: value
            for key, value in user_input.items()
            if key not in in_sections and key != CONF_CALLBACK_PASSWORD
        },
        **{
            name: {key: sections[name][key] for key in keys if key in sections[name]}
            for name, keys in SECTION_OPTIONS.items()
        },
    }


class RecipientSubentryFlow(ConfigSubentryFlow):
    """A recipient: a name to send to by, and a phone number."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a recipient."""
        return await self._async_step(user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename a recipient or change its number."""
        return await self._async_step(user_input, self._reconfigure_subentry_id)

    async def _async_step(
        self, user_input: dict[str, Any] | None, subentry_id: str | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        others = [
            subentry
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_RECIPIENT and subentry.subentry_id != subentry_id
        ]
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            try:
                # Resolved once, against the default country; kept with its "+",
                # it reads as the same number at every send.
                number = e164(
                    user_input[CONF_NUMBER], entry.options.get(CONF_DEFAULT_REGION) or None
                )
            except ClickatellInvalidRecipientError:
                errors[CONF_NUMBER] = "invalid_number"
            if not any(char.isalpha() for char in name):
                # Targets with a letter are names; a name without one would read as a number.
                errors[CONF_NAME] = "invalid_name"
            elif any(other.title.casefold() == name.casefold() for other in others):
                errors[CONF_NAME] = "name_exists"
            if not errors:
                if any(other.unique_id == number for other in others):
                    return self.async_abort(reason="already_configured")
                data = {CONF_NUMBER: number}
                if subentry_id is None:
                    return self.async_create_entry(title=name, data=data, unique_id=number)
                return self.async_update_and_abort(
                    entry, entry.subentries[subentry_id], title=name, data=data, unique_id=number
                )

        if user_input is None and subentry_id is not None:
            subentry = entry.subentries[subentry_id]
            user_input = {CONF_NAME: subentry.title, CONF_NUMBER: subentry.data[CONF_NUMBER]}
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT_SELECTOR,
                probatio.Required(CONF_NUMBER): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.TEL)
                ),
            }
        )
        return self.async_show_form(
            step_id="user" if subentry_id is None else "reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

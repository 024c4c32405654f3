"""Accounts and preferences: a TOML file under the user config directory. Never a secret.

Format (version 2)::

    version = 2
    [preferences]
    operator_name = "j.doe"         # recorded in the journal beside the OS user
    stale_after_s = 5.0             # a row with no update for this long is marked stale
    confirm = "always"              # always | large_or_live | never
    large_close_notional = 25000    # optional; "large" for confirm = "large_or_live"
    theme = "system"                # system | light | dark
    thousands_separator = false     # 12,345.67 rather than 12345.67 where numbers are shown
    [alerts]                        # which events notify (each true/false), and a sound
    close_filled = true
    sound = false
    [[accounts]]
    name = "desk-1"
    venue = "qfex"                  # a folder name under core/venues/
    environment = "live"            # demo | testnet | live
    public_key = "qfex_pub_..."
    [accounts.endpoints]            # optional overrides; TLS required unless loopback
    trade_ws = "wss://trade.qfex.com/"
    [accounts.options]              # optional; each venue's VenueInfo.options lists them
    rate_budget = "12000"

Version 1 (the first release) had only ``version`` and ``[[accounts]]``, with ``environment``
defaulting to live; a file without ``version`` is read as version 1, as that release did.
Files of an older version are migrated in memory on load, and the old file is copied to
``settings.toml.v<N>.bak`` the first time the migrated form is saved.

A save edits the file as the user wrote it: comments, key order and blank lines stay (tomlkit,
see ``core.settings_toml``), and the file it replaces is kept as ``settings.toml.bak``.

The file is only ever replaced atomically (temporary file in the same directory, fsync,
``os.replace``), mode 0600 in a 0700 directory. A file that fails to load is reported with its
path (and line where one can be found) and is never overwritten: :func:`save_settings` re-reads
what is on disk first and refuses when that does not load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import platformdirs
from tomlkit.exceptions import TOMLKitError

from core import settings_toml
from core.model import Environment, Venue
from core.settings_text import NESTING_MAX, Locator, long_number, too_deep
from core.team.config import TeamConfig, TeamConfigError, parse_team
from core.venue import AccountConfig, InsecureEndpoint, check_endpoint
from core.venues import UnknownVenue, venue_info, venue_named

__all__ = [
    "CONFIRM_POLICIES",
    "MIGRATIONS",
    "SETTINGS_VERSION",
    "THEMES",
    "AccountError",
    "Alerts",
    "ConfirmPolicy",
    "Preferences",
    "Settings",
    "SettingsError",
    "Theme",
    "add_account",
    "alerts_from",
    "backup_path",
    "dump_settings",
    "known_endpoints",
    "known_options",
    "load_accounts",
    "load_settings",
    "parse_settings",
    "preferences_from",
    "previous_path",
    "remove_account",
    "render_settings",
    "replace_account",
    "save_settings",
    "settings_path",
    "validate_account",
]

SETTINGS_VERSION: Final = 2
ConfirmPolicy = Literal["always", "large_or_live", "never"]
CONFIRM_POLICIES: Final[tuple[str, ...]] = get_args(ConfirmPolicy)
Theme = Literal["system", "light", "dark"]
THEMES: Final[tuple[str, ...]] = get_args(Theme)

# A key containing one of these is refused wherever it appears: secrets go to the keyring.
_SECRET_WORDS: Final = ("secret", "password", "passphrase", "private", "token")
_ACCOUNT_KEYS: Final = frozenset(
    {"name", "venue", "environment", "public_key", "endpoints", "options"}
)
_PREFERENCE_KEYS: Final = frozenset(
    {"operator_name", "stale_after_s", "confirm", "large_close_notional", "theme",
     "thousands_separator"}
)
_TOP_KEYS: Final = frozenset({"version", "accounts", "preferences", "alerts", "team"})
# stale_after_s above this would switch the freshness guard off in all but name (``inf`` did
# so outright): a row no venue has vouched for in an hour is not one to close unasked.
STALE_AFTER_MAX_S: Final = 3600.0
# large_close_notional is an amount of quote currency; far outside these it is a typo, and an
# exponent like 1E+999999999 would be written out digit by digit on the next save.
_NOTIONAL_MIN: Final = Decimal("1e-8")
_NOTIONAL_MAX: Final = Decimal("1e15")
# A value echoed in a message is cut to this many characters: the message names the field,
# it does not repeat a megabyte of it.
_SHOWN_MAX: Final = 40


# --------------------------------------------------------------------------- types
class SettingsError(Exception):
    """The settings file cannot be used as it is. It is reported, never overwritten.

    ``line``/``column`` are 1-based and point at the offending text when it can be found.
    """

    def __init__(
        self, path: Path, message: str, *, line: int | None = None, column: int | None = None,
        key: str | None = None,
    ) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        self.key = key  # the field at fault, where one is named (a form shows it there)


class AccountError(ValueError):
    """One account's field is wrong; ``field`` names it ("name", "endpoints.rest", ...) so a
    form can show the message beside that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Preferences:
    """User preferences that are not per account."""

    operator_name: str = ""
    stale_after_s: float = 5.0
    confirm: ConfirmPolicy = "always"
    large_close_notional: Decimal | None = None
    theme: Theme = "system"
    thousands_separator: bool = False


@dataclass(frozen=True, slots=True)
class Alerts:
    """Which events raise a desktop notification, and whether a sound plays with it."""

    close_filled: bool = True
    trigger_fired: bool = True
    order_rejected: bool = True
    connection_lost: bool = True
    flat_check_failed: bool = True
    sound: bool = False


_ALERT_KEYS: Final = tuple(f.name for f in dataclasses.fields(Alerts))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in settings.toml. Treat as immutable: the helpers return new objects."""

    version: int = SETTINGS_VERSION
    accounts: list[AccountConfig] = field(default_factory=list)
    preferences: Preferences = field(default_factory=Preferences)
    alerts: Alerts = field(default_factory=Alerts)
    # Team mode (core.team): the shared PostgreSQL; None (no [team] table) is a desk alone.
    team: TeamConfig | None = None

    def account(self, name: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.name == name), None)


# --------------------------------------------------------------------------- paths
def settings_path() -> Path:
    return platformdirs.user_config_path("closeout") / "settings.toml"


def backup_path(path: Path, version: int) -> Path:
    """Where the file of an older ``version`` is kept when its migrated form is saved."""
    return path.with_name(f"{path.name}.v{version}.bak")


def previous_path(path: Path) -> Path:
    """Where every save keeps the file it replaces (``settings.toml.bak``)."""
    return path.with_name(f"{path.name}.bak")


# --------------------------------------------------------------------------- migrations
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 had accounts only, and an account without ``environment`` meant live."""
    migrated = dict(data)
    accounts = migrated.get("accounts", [])
    if isinstance(accounts, list):
        migrated["accounts"] = [
            {"environment": Environment.LIVE.value, **a} if isinstance(a, dict) else a
            for a in accounts
        ]
    migrated.setdefault("preferences", {})
    migrated["version"] = 2
    return migrated


# MIGRATIONS[n] turns the raw table of a version-n file into a version n+1 table.
MIGRATIONS: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {1: _v1_to_v2}


# --------------------------------------------------------------------------- validation
def known_endpoints(venue: Venue) -> frozenset[str]:
    """Endpoint names the venue's session reads; any other name would be silently ignored
    (and the default host used), so it is refused."""
    return venue_info(venue).endpoint_names


def known_options(venue: Venue) -> Mapping[str, str]:
    """Option name -> one-line help, from the venue's ``VenueInfo``."""
    return venue_info(venue).options


def _secret_like(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def validate_account(account: AccountConfig) -> None:
    """Raise :class:`AccountError` naming the first wrong field; nothing else is checked
    against the venue (see ``core.accounts.test_connection`` for that)."""
    if not isinstance(account.name, str) or not account.name.strip():
        raise AccountError("name", "The account needs a name.")
    if account.name != account.name.strip():
        raise AccountError("name", "The account name must not start or end with spaces.")
    try:
        venue_info(account.venue)
    except UnknownVenue as exc:
        raise AccountError("venue", f"{str(exc).capitalize()}.") from None
    if not isinstance(account.environment, Environment):
        raise AccountError("environment", f"Unknown environment {account.environment!r}.")
    if not isinstance(account.public_key, str) or not account.public_key.strip():
        raise AccountError("public_key", "The public API key is empty.")
    endpoints = known_endpoints(account.venue)
    for label, url in account.endpoints.items():
        where = f"endpoints.{label}"
        if _secret_like(label):
            raise AccountError(where, "Secrets belong in the OS keyring, not in settings.")
        if label not in endpoints:
            raise AccountError(
                where,
                f"{account.venue.label} has no endpoint called {label!r} "
                f"(known: {', '.join(sorted(endpoints))}).",
            )
        if not isinstance(url, str):
            raise AccountError(where, f"The {label} endpoint must be a URL text.")
        try:
            check_endpoint(url)
        except InsecureEndpoint as exc:
            raise AccountError(where, str(exc)) from None
    options = known_options(account.venue)
    for name, value in account.options.items():
        where = f"options.{name}"
        if _secret_like(name):
            raise AccountError(where, "Secrets belong in the OS keyring, not in settings.")
        if options and name not in options:
            raise AccountError(
                where,
                f"Unknown {account.venue.label} option {name!r} "
                f"(known: {', '.join(sorted(options))}).",
            )
        if not isinstance(value, str):
            raise AccountError(where, f"The option {name} must be text.")


def _check_accounts(accounts: Iterable[AccountConfig]) -> None:
    seen: set[str] = set()
    for account in accounts:
        validate_account(account)
        if account.name in seen:
            raise AccountError("name", f"An account called {account.name!r} already exists.")
        seen.add(account.name)


def _stale_seconds(value: object) -> float | None:
    """``stale_after_s`` as the float the app uses, or None when it is not a usable number of
    seconds: above 0 (also once it is a float: 1e-400 is not) and at most an hour."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        seconds = float(value)
    except (OverflowError, ValueError):  # an int too large for a float
        return None
    return seconds if 0 < seconds <= STALE_AFTER_MAX_S else None  # NaN fails both


def _notional_problem(value: Decimal) -> str | None:
    if not value.is_finite() or value <= 0:
        return "must be above 0"
    if not _NOTIONAL_MIN <= value <= _NOTIONAL_MAX:
        return f"must be between {_NOTIONAL_MIN:f} and {_NOTIONAL_MAX:f}"
    return None


def _check_preferences(prefs: Preferences) -> None:
    if not isinstance(prefs.operator_name, str):
        raise ValueError("operator_name must be text")
    if _stale_seconds(prefs.stale_after_s) is None:
        raise ValueError(f"stale_after_s must be a number of seconds above 0, at most "
                         f"{STALE_AFTER_MAX_S:g}")
    if prefs.confirm not in CONFIRM_POLICIES:
        raise ValueError(f"confirm must be one of {', '.join(CONFIRM_POLICIES)}")
    notional = prefs.large_close_notional
    if notional is not None and (
        not isinstance(notional, Decimal) or _notional_problem(notional) is not None
    ):
        raise ValueError(f"large_close_notional must be a positive amount from "
                         f"{_NOTIONAL_MIN:f} to {_NOTIONAL_MAX:f}")
    if prefs.theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}")
    if not isinstance(prefs.thousands_separator, bool):
        raise ValueError("thousands_separator must be true or false")


def _check_alerts(alerts: Alerts) -> None:
    for key in _ALERT_KEYS:
        if not isinstance(getattr(alerts, key), bool):
            raise ValueError(f"alerts.{key} must be true or false")


# --------------------------------------------------------------------------- immutable edits
def add_account(settings: Settings, account: AccountConfig) -> Settings:
    """A copy of ``settings`` with ``account`` appended. Raises :class:`AccountError`."""
    accounts = [*settings.accounts, account]
    _check_accounts(accounts)
    return dataclasses.replace(settings, accounts=accounts)


def replace_account(settings: Settings, old_name: str, account: AccountConfig) -> Settings:
    """A copy with the account called ``old_name`` replaced in place (a rename is allowed; the
    caller moves the keyring entry with ``SecretStore.rename``)."""
    if settings.account(old_name) is None:
        raise AccountError("name", f"There is no account called {old_name!r}.")
    accounts = [account if a.name == old_name else a for a in settings.accounts]
    _check_accounts(accounts)
    return dataclasses.replace(settings, accounts=accounts)


def remove_account(settings: Settings, name: str) -> Settings:
    """A copy without the account called ``name``."""
    if settings.account(name) is None:
        raise AccountError("name", f"There is no account called {name!r}.")
    return dataclasses.replace(settings, accounts=[a for a in settings.accounts if a.name != name])


# --------------------------------------------------------------------------- parsing
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_AT_END = "(at end of document)"
def _text(value: object, where: str, fail: Callable[[str], SettingsError]) -> str:
    if not isinstance(value, str):
        raise fail(f"{where} must be text (a quoted string), not {_kind(value)}")
    return value


def _shown(value: object) -> str:
    """``repr(value)`` for a message, cut short: a value may be a huge array or text."""
    if isinstance(value, list | dict):  # never walk a deep or huge structure to show it
        return _kind(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a number too long to show"
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | Decimal | float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _option_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


def _parse_account(
    raw: object, index: int, fail: Callable[..., SettingsError]
) -> AccountConfig:
    where = f"accounts[{index}]"

    def bad(message: str, key: str | None = None) -> SettingsError:
        return fail(message, account=index, key=key)

    if not isinstance(raw, dict):
        raise bad(f"{where} must be a table ([[accounts]])")
    for key in raw:
        if _secret_like(key):
            raise bad(f"{where}.{key}: secrets belong in the OS keyring, not in the settings "
                      "file", key)
    for key in raw:
        if key not in _ACCOUNTS_KEYS_SORTED:
            raise bad(f"{where} has an unknown field {key!r} "
                      f"(known: {', '.join(_ACCOUNTS_KEYS_SORTED)})", key)
    for key in ("name", "venue", "environment", "public_key"):
        if key not in raw:
            raise bad(f"{where} is missing the field {key!r}")
    name = _text(raw["name"], f"{where}.name", lambda m: bad(m, "name"))
    try:
        venue = venue_named(_text(raw["venue"], f"{where}.venue", lambda m: bad(m, "venue")))
    except UnknownVenue as exc:
        raise bad(f"{where}.venue: {exc}", "venue") from None
    try:
        environment = Environment(
            _text(raw["environment"], f"{where}.environment", lambda m: bad(m, "environment"))
        )
    except ValueError:
        raise bad(f"{where}.environment: unknown environment {raw['environment']!r} "
                  f"(known: {', '.join(e.value for e in Environment)})", "environment") from None
    public_key = _text(raw["public_key"], f"{where}.public_key", lambda m: bad(m, "public_key"))
    tables: dict[str, dict[str, str]] = {}
    for table in ("endpoints", "options"):
        value = raw.get(table, {})
        if not isinstance(value, dict):
            raise bad(f"{where}.{table} must be a table, not {_kind(value)}", table)
        converted: dict[str, str] = {}
        for key, item in value.items():
            if _secret_like(key):
                raise bad(f"{where}.{table}.{key}: secrets belong in the OS keyring, not in the "
                          "settings file", key)
            text = item if table == "endpoints" and isinstance(item, str) else (
                _option_text(item) if table == "options" else None)
            if text is None:
                raise bad(f"{where}.{table}.{key} must be text, not {_kind(item)}", key)
            converted[key] = text
        tables[table] = converted
    account = AccountConfig(name, venue, environment, public_key,
                            tables["endpoints"], tables["options"])
    try:
        validate_account(account)
    except AccountError as exc:
        key = exc.field.rsplit(".", 1)[-1]
        raise bad(f"{where}.{exc.field}: {exc.message.rstrip('.')}", key) from None
    return account


_ACCOUNTS_KEYS_SORTED: Final = tuple(sorted(_ACCOUNT_KEYS))


def _parse_preferences(raw: object, fail: Callable[..., SettingsError]) -> Preferences:
    def bad(message: str, key: str | None = None) -> SettingsError:
        return fail(message, table="preferences", key=key)

    if not isinstance(raw, dict):
        raise bad(f"'preferences' must be a table ([preferences]), not {_kind(raw)}")
    for key in raw:
        if _secret_like(key):
            raise bad(f"preferences.{key}: secrets belong in the OS keyring, not in the "
                      "settings file", key)
        if key not in _PREFERENCE_KEYS:
            raise bad(f"preferences has an unknown field {key!r} "
                      f"(known: {', '.join(sorted(_PREFERENCE_KEYS))})", key)
    defaults = Preferences()
    operator = raw.get("operator_name", defaults.operator_name)
    operator = _text(operator, "preferences.operator_name", lambda m: bad(m, "operator_name"))
    stale = _stale_seconds(raw.get("stale_after_s", defaults.stale_after_s))
    if stale is None:  # also NaN, inf and numbers no float can hold
        raise bad(f"preferences.stale_after_s must be a number of seconds above 0, at most "
                  f"{STALE_AFTER_MAX_S:g}", "stale_after_s")
    confirm = raw.get("confirm", defaults.confirm)
    if not isinstance(confirm, str) or confirm not in CONFIRM_POLICIES:
        raise bad(f"preferences.confirm must be one of {', '.join(CONFIRM_POLICIES)}, "
                  f"not {_shown(confirm)}", "confirm")
    notional_raw = raw.get("large_close_notional")
    notional: Decimal | None = None
    if notional_raw is not None:
        try:
            if isinstance(notional_raw, bool) or not isinstance(notional_raw, str | int | Decimal):
                raise InvalidOperation
            notional = Decimal(notional_raw)
        except InvalidOperation:
            raise bad("preferences.large_close_notional must be an amount, e.g. 25000",
                      "large_close_notional") from None
        problem = _notional_problem(notional)
        if problem is not None:
            raise bad(f"preferences.large_close_notional {problem}", "large_close_notional")
    theme = raw.get("theme", defaults.theme)
    if not isinstance(theme, str) or theme not in THEMES:
        raise bad(f"preferences.theme must be one of {', '.join(THEMES)}, not {_shown(theme)}",
                  "theme")
    grouped = raw.get("thousands_separator", defaults.thousands_separator)
    if not isinstance(grouped, bool):
        raise bad(f"preferences.thousands_separator must be true or false, not "
                  f"{_shown(grouped)}", "thousands_separator")
    return Preferences(operator, stale, cast(ConfirmPolicy, confirm), notional,
                       cast(Theme, theme), grouped)


def _form_fail(path: Path) -> Callable[..., SettingsError]:
    def fail(message: str, *, table: str | None = None, key: str | None = None,
             **_: object) -> SettingsError:
        return SettingsError(path, message, key=key)
    return fail


def preferences_from(raw: Mapping[str, object], path: Path) -> Preferences:
    """A form's ``[preferences]`` values, checked by exactly the code that reads the file: a
    bad one raises the file's :class:`SettingsError`, with ``key`` naming the field."""
    return _parse_preferences(dict(raw), _form_fail(path))


def alerts_from(raw: Mapping[str, object], path: Path) -> Alerts:
    """A form's ``[alerts]`` values, checked as the file's are (see :func:`preferences_from`)."""
    return _parse_alerts(dict(raw), _form_fail(path))


def _parse_alerts(raw: object, fail: Callable[..., SettingsError]) -> Alerts:
    def bad(message: str, key: str | None = None) -> SettingsError:
        return fail(message, table="alerts", key=key)

    if not isinstance(raw, dict):
        raise bad(f"'alerts' must be a table ([alerts]), not {_kind(raw)}")
    for key in raw:
        if _secret_like(key):
            raise bad(f"alerts.{key}: secrets belong in the OS keyring, not in the "
                      "settings file", key)
        if key not in _ALERT_KEYS:
            raise bad(f"alerts has an unknown field {key!r} "
                      f"(known: {', '.join(sorted(_ALERT_KEYS))})", key)
    for key, value in raw.items():
        if not isinstance(value, bool):
            raise bad(f"alerts.{key} must be true or false, not {_shown(value)}", key)
    return Alerts(**raw)


def parse_settings(text: str, path: Path) -> tuple[Settings, int]:
    """Parse and migrate ``text`` (the content of ``path``); returns the settings and the
    version the file was written in. Raises :class:`SettingsError`."""
    locate = Locator(text)

    def fail(message: str, *, account: int | None = None, table: str | None = None,
             key: str | None = None, top: str | None = None) -> SettingsError:
        line: int | None = None
        if account is not None:
            line = locate.account(account, key)
        elif table is not None:
            line = locate.table(table, key)
        elif top is not None:
            line = locate.top(top)
        return SettingsError(path, message, line=line, key=key)

    deep = too_deep(text)
    if deep is not None:
        raise SettingsError(path, f"{deep[0] or 'a value'} is nested more than {NESTING_MAX} "
                            "arrays or tables deep; no setting is", line=deep[1])
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else None
        column = int(match.group(2)) if match else None
        if match is None and _TOML_AT_END in str(exc):  # the last line holds the fault
            line = text.rstrip("\r\n").count("\n") + 1
        reason = _TOML_POSITION.sub("", str(exc).replace(_TOML_AT_END, "")).strip()
        raise SettingsError(path, f"not valid TOML: {reason}",
                            line=line, column=column) from None
    except ValueError:  # an integer past Python's digit limit for int() (4,300)
        where, name = long_number(text)
        raise SettingsError(path, f"{name or 'a value'}: a number with too many digits",
                            line=where) from None
    except RecursionError:  # nesting the scan above could not see (it is only a scan)
        raise SettingsError(path, f"a value is nested more than {NESTING_MAX} arrays or "
                            "tables deep; no setting is") from None
    version = data.get("version", 1)  # the first release did not insist on one
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"version must be a whole number, not {_shown(version)}", top="version")
    if version > SETTINGS_VERSION:
        raise fail(f"settings version {_shown(version)} was written by a newer Closeout; this "
                   f"one reads up to version {SETTINGS_VERSION}. The file was left untouched",
                   top="version")
    for key in data:
        if _secret_like(key):
            raise fail(f"{key}: secrets belong in the OS keyring, not in the settings file",
                       top=key)
    allowed = _TOP_KEYS if version == SETTINGS_VERSION else {"version", "accounts"}
    for key in data:
        if key not in allowed:
            raise fail(f"unknown field {key!r} in a version {version} settings file "
                       f"(known: {', '.join(sorted(allowed))})", top=key)
    original = version
    while version < SETTINGS_VERSION:
        data = MIGRATIONS[version](data)
        version = data["version"]
    accounts_raw = data.get("accounts", [])
    if not isinstance(accounts_raw, list):
        raise fail("'accounts' must be an array of tables ([[accounts]])", top="accounts")
    accounts = [_parse_account(raw, i, fail) for i, raw in enumerate(accounts_raw)]
    seen: dict[str, int] = {}
    for i, account in enumerate(accounts):
        if account.name in seen:
            raise fail(f"accounts[{i}].name: the name {account.name!r} is already used by "
                       f"accounts[{seen[account.name]}]; account names must be unique",
                       account=i, key="name")
        seen[account.name] = i
    preferences = _parse_preferences(data.get("preferences", {}), fail)
    alerts = _parse_alerts(data.get("alerts", {}), fail)
    team = None
    if "team" in data:
        try:
            team = parse_team(data["team"])
        except TeamConfigError as exc:
            raise fail(str(exc), table="team", key=exc.key) from None
    return Settings(SETTINGS_VERSION, accounts, preferences, alerts, team), original


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SettingsError(path, "is not UTF-8 text", line=line) from None


def load_settings(path: Path | None = None) -> Settings:
    """The settings; an absent file means defaults with no accounts (demo mode).

    Reading never writes: an older version is migrated in memory only.
    """
    path = path or settings_path()
    text = _read(path)
    if text is None:
        return Settings()
    return parse_settings(text, path)[0]


def load_accounts(path: Path | None = None) -> list[AccountConfig]:
    """The configured accounts; an absent file means none (demo mode)."""
    return load_settings(path).accounts


# --------------------------------------------------------------------------- writing
def dump_settings(settings: Settings) -> str:
    """The TOML text of a new file for ``settings`` (validated first; raises
    AccountError/ValueError)."""
    _check_accounts(settings.accounts)
    _check_preferences(settings.preferences)
    _check_alerts(settings.alerts)
    return settings_toml.fresh(settings, SETTINGS_VERSION)


def render_settings(settings: Settings, current: str | None, path: Path) -> str:
    """The text to save: ``current`` (the file on disk, which loads) edited to say
    ``settings``, keeping its comments, key order and blank lines (see ``core.settings_toml``).
    If the edited text would not read back as exactly ``settings``, a fresh file is written
    instead: the values must be right even where the layout cannot be kept."""
    text = dump_settings(settings)
    if current is None:
        return text
    try:
        kept = settings_toml.render(settings, current, SETTINGS_VERSION)
        if parse_settings(kept, path)[0] == settings:
            return kept
    except (SettingsError, TOMLKitError, ValueError, TypeError, KeyError, AssertionError):
        pass  # a layout tomlkit cannot edit in place: the values still go in, in a fresh file
    return text


def _ensure_dir(directory: Path) -> None:
    """Create the config directory private; tighten one that exists (it is ours)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # mkdir's mode is masked by the umask
        os.chmod(directory, 0o700)


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file beside ``path`` (0600), fsync, ``os.replace``, fsync the directory."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_settings(settings: Settings, path: Path | None = None) -> Path | None:
    """Write ``settings`` atomically (mode 0600), keeping the file's comments and layout, and
    the previous file as ``settings.toml.bak``. Returns the backup path when an older-version
    file was kept aside, else None.

    Refuses (``SettingsError``) when the file on disk does not load: a broken or newer file is
    the user's to fix or move, never ours to overwrite. Raises ``AccountError``/``ValueError``
    for invalid settings, before anything is written.
    """
    path = path or settings_path()
    dump_settings(settings)  # validate before reading or writing anything
    current = _read(path)
    backup: Path | None = None
    if current is not None:
        try:
            _, on_disk_version = parse_settings(current, path)
        except SettingsError as exc:
            raise SettingsError(
                path, f"not saved, because the file on disk does not load ({exc.message}). "
                      "It was left untouched: fix it or move it aside first",
                line=exc.line, column=exc.column,
            ) from None
        if on_disk_version < SETTINGS_VERSION:
            backup = backup_path(path, on_disk_version)
            if not backup.exists():  # the first backup is the original; keep it
                _write_atomic(backup, current.encode("utf-8"))
        # The file as it was before this save, every time, so a save can be undone by hand.
        _write_atomic(previous_path(path), current.encode("utf-8"))
    text = render_settings(settings, current, path)
    _ensure_dir(path.parent)
    _write_atomic(path, text.encode("utf-8"))
    return backup

"""Accounts and preferences: a TOML file under the user config directory. Never a secret.

Format (version 1)::

    version = 1
    [[accounts]]
    name = "desk-1"
    venue = "qfex"              # qfex | everstrike
    environment = "live"        # demo | testnet | live
    public_key = "qfex_pub_..."
    [accounts.endpoints]        # optional overrides; TLS required unless loopback
    trade_ws = "wss://trade.qfex.com/"
    [accounts.options]          # optional; each venue's OPTIONS lists the names
    rate_budget = 12000
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from core.model import Environment, Venue
from core.venue import AccountConfig, InsecureEndpoint, check_endpoint

__all__ = ["SETTINGS_VERSION", "SettingsError", "load_accounts", "settings_path"]

SETTINGS_VERSION = 1
_SECRET_WORDS = ("secret", "password", "private")


class SettingsError(Exception):
    """The settings file cannot be used as it is. It is reported, never overwritten."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def settings_path() -> Path:
    return platformdirs.user_config_path("closeout") / "settings.toml"


def _account(path: Path, index: int, raw: Mapping[str, Any]) -> AccountConfig:
    where = f"accounts[{index}]"
    for key in raw:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise SettingsError(path, f"{where}.{key}: secrets belong in the OS keyring, "
                                      "not in the settings file")
    try:
        name = str(raw["name"])
        venue = Venue(raw["venue"])
        environment = Environment(raw.get("environment", "live"))
        public_key = str(raw["public_key"])
    except KeyError as exc:
        raise SettingsError(path, f"{where} is missing the field {exc.args[0]!r}") from None
    except ValueError as exc:
        raise SettingsError(path, f"{where}: {exc}") from None
    endpoints = raw.get("endpoints", {})
    if not isinstance(endpoints, Mapping):
        raise SettingsError(path, f"{where}.endpoints must be a table")
    for label, url in endpoints.items():
        try:
            check_endpoint(str(url))
        except InsecureEndpoint as exc:
            raise SettingsError(path, f"{where}.endpoints.{label}: {exc}") from None
    options = raw.get("options", {})
    if not isinstance(options, Mapping):
        raise SettingsError(path, f"{where}.options must be a table")
    return AccountConfig(
        name=name,
        venue=venue,
        environment=environment,
        public_key=public_key,
        endpoints={str(k): str(v) for k, v in endpoints.items()},
        options={str(k): str(v) for k, v in options.items()},
    )


def load_accounts(path: Path | None = None) -> list[AccountConfig]:
    """The configured accounts; an absent file means none (demo mode)."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # the message carries line and column
        raise SettingsError(path, f"not valid TOML: {exc}") from None
    version = data.get("version", SETTINGS_VERSION)
    if version != SETTINGS_VERSION:
        raise SettingsError(
            path, f"settings version {version!r} is not supported by this Closeout "
                  f"(expected {SETTINGS_VERSION}); the file was left untouched"
        )
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list):
        raise SettingsError(path, "'accounts' must be an array of tables ([[accounts]])")
    result = [_account(path, i, a) for i, a in enumerate(accounts)]
    names = [a.name for a in result]
    if len(set(names)) != len(names):
        raise SettingsError(path, "account names must be unique")
    return result

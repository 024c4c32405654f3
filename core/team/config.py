"""Team mode's settings: the ``[team]`` table of settings.toml, checked, and the connection
string built from it with the password from the keyring.

    [team]
    database = "postgresql://closeout_app@db.desk.internal:5432/closeout"
    desk_name = "Desk 3"          # shown to the other desks; the host name by default
    lease_ttl_s = 30              # a vanished desk's leases expire after this long

The address carries no password: a password in it is refused, as every secret in the file is.
The password is in the OS keyring (service ``closeout``, user ``team:<address>``). Off
loopback the connection must be TLS with the server's certificate and host name checked
(``sslmode=verify-full``); a weaker ``sslmode`` in the address is refused, the way a plain
``ws://`` venue endpoint off loopback is.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["TeamConfig", "TeamConfigError", "keyring_user", "parse_team", "with_password"]

LEASE_TTL_DEFAULT_S: Final = 30.0
LEASE_TTL_MIN_S: Final = 5.0
LEASE_TTL_MAX_S: Final = 3600.0
_KEYS: Final = frozenset({"database", "desk_name", "lease_ttl_s"})
_SCHEMES: Final = frozenset({"postgresql", "postgres"})
_WEAK_TLS: Final = frozenset({"disable", "allow", "prefer", "require", "verify-ca"})
_NAME_MAX: Final = 64
_SECRET_WORDS: Final = ("secret", "password", "passphrase", "private", "token")


class TeamConfigError(ValueError):
    """What is wrong with ``[team]``, naming the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"team.{key}: {message}")
        self.key = key


@dataclass(frozen=True, slots=True)
class TeamConfig:
    database: str  # the address as written (no password)
    desk_name: str | None = None  # None: the host's name (``name``)
    lease_ttl_s: float = LEASE_TTL_DEFAULT_S

    @property
    def name(self) -> str:
        """The name the other desks see: ``desk_name``, or this host's name."""
        return self.desk_name or socket.gethostname()

    @property
    def loopback(self) -> bool:
        return _is_loopback(urlsplit(self.database).hostname or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_team(raw: object) -> TeamConfig:
    """The ``[team]`` table as a TeamConfig, or TeamConfigError naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise TeamConfigError("database", "[team] must be a table")
    for key in raw:
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            raise TeamConfigError(str(key), "secrets belong in the OS keyring, not in the "
                                            "settings file")
        if key not in _KEYS:
            raise TeamConfigError(str(key), f"unknown key (known: {', '.join(sorted(_KEYS))})")
    database = raw.get("database")
    if not isinstance(database, str) or not database.strip():
        raise TeamConfigError("database", "must be a postgresql:// address")
    parts = urlsplit(database)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise TeamConfigError("database", "must be a postgresql://user@host[:port]/database "
                                          "address")
    if parts.password is not None:
        raise TeamConfigError("database", "must not carry a password: it belongs in the OS "
                                          "keyring")
    if not parts.username:
        raise TeamConfigError("database", "must name the user (postgresql://user@host/db)")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise TeamConfigError("database", "has a port that is not a number") from None
    query = dict(parse_qsl(parts.query))
    if "password" in query:
        raise TeamConfigError("database", "must not carry a password: it belongs in the OS "
                                          "keyring")
    if not _is_loopback(parts.hostname) and query.get("sslmode", "verify-full") in _WEAK_TLS:
        raise TeamConfigError("database", "off loopback the connection must check the "
                                          "server's certificate (sslmode=verify-full)")
    name = raw.get("desk_name")
    if name is not None and (not isinstance(name, str) or not name.strip()
                             or len(name) > _NAME_MAX):
        raise TeamConfigError("desk_name", f"must be text of 1 to {_NAME_MAX} characters")
    ttl = raw.get("lease_ttl_s", LEASE_TTL_DEFAULT_S)  # the file's reader gives a Decimal
    if isinstance(ttl, bool) or not isinstance(ttl, int | float | Decimal) or (
            isinstance(ttl, Decimal) and not ttl.is_finite()) or not (
            LEASE_TTL_MIN_S <= ttl <= LEASE_TTL_MAX_S):
        raise TeamConfigError("lease_ttl_s", f"must be a number of seconds from "
                                             f"{LEASE_TTL_MIN_S:g} to {LEASE_TTL_MAX_S:g}")
    return TeamConfig(database.strip(), None if name is None else name.strip(), float(ttl))


def keyring_user(config: TeamConfig) -> str:
    """The keyring entry the team database's password is kept under."""
    return f"team:{config.database}"


def with_password(config: TeamConfig, password: str | None) -> str:
    """The connection string to hand the driver: the address with the password added (None:
    none, and the server decides), and off loopback ``sslmode=verify-full`` unless the
    address already asks for it. Never log or show it."""
    parts = urlsplit(config.database)
    query = dict(parse_qsl(parts.query))
    if not config.loopback:
        query.setdefault("sslmode", "verify-full")
    if password is not None:
        query["password"] = password
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

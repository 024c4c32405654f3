"""What the rest of Closeout may know about a venue: one typed record per venue folder.

Each ``core/venues/<id>/__init__.py`` exports ``INFO = VenueInfo(...)``. The desk, settings,
accounts, flatten, the CLI and the GUI read venue facts only from here (through the registry in
``core.venues``), so a new venue never needs an edit outside its folder.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from core.model import Capabilities, Environment, Venue
from core.venue import AccountConfig, VenueSession

__all__ = ["OptionDetail", "SecretCheck", "SecretProbe", "VenueInfo"]

_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class SecretCheck:
    """What a secret probe found: ``refused`` means the venue refused the signature (a wrong
    secret); ``note`` says why the secret could not be checked, if it could not."""

    refused: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OptionDetail:
    """What an empty option field means and what its number counts, for a settings form:
    ``default`` as text ("12000", "the key's own account"), ``unit`` ("s", "ms", "" for none)."""

    default: str = ""
    unit: str = ""


# Proves the secret on a started session with one harmless signed request, for a venue whose
# connect does not (the Accounts dialog's "Test connection"). Never sends an order.
SecretProbe = Callable[[VenueSession, AccountConfig], Awaitable[SecretCheck]]


def _frozen_endpoints(
    table: Mapping[Environment, Mapping[str, str]],
) -> Mapping[Environment, Mapping[str, str]]:
    return MappingProxyType({env: MappingProxyType(dict(table.get(env, {})))
                             for env in Environment})


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueInfo:
    """Every fact about one venue that code outside its folder needs.

    ``endpoints``: the default endpoint URLs by name for each environment (an environment the
    venue does not list gets none; demo URLs come from the simulator). ``options``: the names
    ``AccountConfig.options`` may use, each with one line of help; ``option_details``: the
    default and unit of each (one left out has neither). ``session``: the class the
    desk starts for an account. ``close_mechanism``: how a full close at market goes out, in
    words, for flatten plans. ``flatten_concurrency``: closes in flight at once on the venue,
    across its accounts, during a flatten (None: no cap, the session paces itself).
    ``account_concurrency``: closes in flight at once on one account during a flatten, read
    from that account's options (None, or a None answer: no per-account cap; it raises
    ValueError for an option it refuses). ``secret_probe``: set when connecting does not
    prove the secret. ``auth_errors``: what the session raises when the venue refuses the
    credentials, which retrying cannot fix.
    """

    id: Venue
    label: str
    capabilities: Capabilities
    session: type[VenueSession]
    endpoints: Mapping[Environment, Mapping[str, str]] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    option_details: Mapping[str, OptionDetail] = field(default_factory=dict)
    close_mechanism: str = ""
    flatten_concurrency: int | None = None
    account_concurrency: Callable[[AccountConfig], int | None] | None = None
    secret_probe: SecretProbe | None = None
    auth_errors: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"venue id {self.id!r} must be lower-case letters, digits and _")
        if not self.label.strip():
            raise ValueError(f"venue {self.id!r} needs a label")
        if self.flatten_concurrency is not None and self.flatten_concurrency < 1:
            raise ValueError(f"venue {self.id!r}: flatten_concurrency must be at least 1")
        object.__setattr__(self, "id", Venue(self.id))
        declared = getattr(self.session, "venue", self.id)
        if declared != self.id:
            raise ValueError(f"{self.session.__name__}.venue is {declared!r}, not {self.id!r}")
        if getattr(self.session, "capabilities", self.capabilities) != self.capabilities:
            raise ValueError(f"{self.session.__name__}.capabilities differ from the venue's")
        object.__setattr__(self, "endpoints", _frozen_endpoints(self.endpoints))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        unknown = set(self.option_details) - set(self.options)
        if unknown:
            raise ValueError(f"venue {self.id!r}: details for unknown options {sorted(unknown)}")
        object.__setattr__(self, "option_details", MappingProxyType(dict(self.option_details)))
        if not self.close_mechanism:
            object.__setattr__(self, "close_mechanism", f"{self.label} full close at market")

    def __repr__(self) -> str:
        return f"VenueInfo(id={self.id.value!r}, label={self.label!r})"

    def default_endpoints(self, environment: Environment) -> Mapping[str, str]:
        return self.endpoints[environment]

    def has_environment(self, environment: Environment) -> bool:
        """Whether the venue runs that environment itself (it has default endpoints for it):
        QFEX and Everstrike have a testnet; demo is always the simulator's."""
        return bool(self.endpoints[environment])

    @property
    def endpoint_names(self) -> frozenset[str]:
        """Every endpoint name the session reads, in any environment."""
        return frozenset(name for table in self.endpoints.values() for name in table)

    def is_auth_error(self, exc: BaseException) -> bool:
        return bool(self.auth_errors) and isinstance(exc, self.auth_errors)

"""The QFEX session's tunables, read from ``AccountConfig.options`` (all optional, all text).

* ``account_id``: subaccount UUID for auth.
* ``rate_weights``: overrides of ``protocol.DEFAULT_RATE_WEIGHTS``, as
  ``"add_order=1,get_order=2"``.
* ``rate_budget`` / ``rate_window``: the budget in weight units per window in seconds
  (default 12000 per 60, documented).
* ``rate_limited_backoff``: seconds to hold everything back after a ``RateLimited`` error that
  carries no readable retry-after hint (its format is UNKNOWN; default 1).
* ``cancel_timeout``: seconds to wait for a cancel's answer before reporting that it is not
  known whether the order is still working (default 10).
* ``venue_clock``: ``date`` (default) stamps signatures with the venue's clock, read from the
  ``Date`` header of its REST replies; ``local`` with this computer's. QFEX documents no time
  endpoint, so that the header is its signing clock is an assumption (UNKNOWN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from core.ratelimit import parse_weights
from core.venues.info import OptionDetail
from core.venues.qfex.protocol import DEFAULT_RATE_WEIGHTS, RATE_BUDGET, RATE_WINDOW

__all__ = ["OPTIONS", "OPTION_DETAILS", "SUBACCOUNT_OPTION", "QfexOptions"]

SUBACCOUNT_OPTION = "account_id"
# Seconds or weight units: past a million it is a typo, and a timer that long never fires.
OPTION_CEILING = 1e6  # AccountConfig.options key for a subaccount UUID

# Every AccountConfig.options key the session reads, with its meaning, for a settings form.
OPTIONS: dict[str, str] = {
    "account_id": "Subaccount UUID to authenticate as (empty: the key's own account)",
    "rate_weights": "Weight overrides, e.g. add_order=1,get_order=2 (defaults: the QFEX docs)",
    "rate_budget": "Weight units allowed per window (default 12000)",
    "rate_window": "Rate window in seconds (default 60)",
    "rate_limited_backoff": "Seconds to pause after RateLimited with no readable hint (default 1)",
    "cancel_timeout": "Seconds to wait for a cancel's answer (default 10)",
    "venue_clock": "Sign with the venue's clock from its REST Date header (date, the "
                   "default) or this computer's (local)",
}

# What an empty field means, and the unit, for the settings form (the same defaults as below).
OPTION_DETAILS: dict[str, OptionDetail] = {
    "account_id": OptionDetail("the key's own account"),
    "rate_weights": OptionDetail("the QFEX docs' weights"),
    "rate_budget": OptionDetail(f"{RATE_BUDGET:g}", "weight units"),
    "rate_window": OptionDetail(f"{RATE_WINDOW:g}", "s"),
    "rate_limited_backoff": OptionDetail("1", "s"),
    "cancel_timeout": OptionDetail("10", "s"),
    "venue_clock": OptionDetail("date"),
}


@dataclass(frozen=True, slots=True)
class QfexOptions:
    """The session's tunables (see the module docstring)."""

    rate_weights: Mapping[str, float]
    rate_budget: float = RATE_BUDGET
    rate_window: float = RATE_WINDOW
    rate_limited_backoff: float = 1.0
    cancel_timeout: float = 10.0
    default_weight: float = 1.0  # a message type missing from the table (none we send today)
    venue_clock: bool = True  # sign with the venue's clock (its Date header), not ours

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> QfexOptions:
        """Raises ``ValueError`` naming the option at fault."""

        def seconds(name: str, default: float) -> float:
            text = options.get(name)
            if text is None or not str(text).strip():
                return default
            shown = repr(str(text)[:40])  # the option named, not a page of digits echoed
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"option {name} is not a number: {shown}") from None
            if not (math.isfinite(value) and 0 < value <= OPTION_CEILING):
                raise ValueError(f"option {name} must be more than zero and at most "
                                 f"{OPTION_CEILING:g}, not {shown}")
            return value

        try:
            weights = parse_weights(options.get("rate_weights", ""), DEFAULT_RATE_WEIGHTS)
        except ValueError as exc:
            why = str(exc) if len(str(exc)) <= 200 else str(exc)[:199] + "…"
            raise ValueError(f"option rate_weights: {why}") from None
        clock = str(options.get("venue_clock") or "date").strip().lower()
        if clock not in ("date", "local"):
            raise ValueError(f"option venue_clock must be date or local, not "
                             f"{str(options.get('venue_clock'))[:40]!r}")
        return cls(
            venue_clock=clock == "date",
            rate_weights=weights,
            rate_budget=seconds("rate_budget", RATE_BUDGET),
            rate_window=seconds("rate_window", RATE_WINDOW),
            rate_limited_backoff=seconds("rate_limited_backoff", 1.0),
            cancel_timeout=seconds("cancel_timeout", 10.0),
        )

    def weight(self, kind: str) -> float:
        return self.rate_weights.get(kind, self.default_weight)

"""Settings a user may override per Everstrike account (``[accounts.options]`` in
settings.toml), each an assumption where the Everstrike docs are silent."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["OPTIONS", "option"]

OPTIONS: dict[str, str] = {
    "recv_window": "recv_window sent with every signed request, ms (default 5000; 0 omits it)",
    "keepalive": "Seconds between {\"op\":\"status\"} keep-alives (docs: about 5)",
    "timeout": "Seconds to wait for a REST reply before the request counts as unanswered "
               "(default 10)",
    "time_sync_interval": "Seconds between /time clock measurements (default 60; 0: only on "
                          "connect)",
    "poll_interval": "Seconds between /active_positions polls while the WebSocket is down "
                     "(default 3; 0: off)",
    "match_slack_ms": "How far before our send time a venue order may be stamped and still be "
                      "matched to a lost close (default 2000)",
    "max_rate_wait": "Longest 429 wait (s) a request is held for before it is refused "
                     "(default 10)",
}


def option(options: Mapping[str, str], name: str, default: float | None) -> float | None:
    """The option's value, or ``default`` when unset; a bad value names the option."""
    raw = options.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)  # a duration or a count, never money
    except ValueError:
        raise ValueError(f"option {name}={raw!r} is not a number ({OPTIONS[name]})") from None
    if value < 0:
        raise ValueError(f"option {name}={raw!r} must not be negative ({OPTIONS[name]})")
    return value

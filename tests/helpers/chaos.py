"""A stand-in for the crash runs' simulator process (``tests.chaos.simproc.SimProcess``): it
answers the record queries from lists a test writes, so a test can show the crash checks catch
a close the journal does not explain."""

from __future__ import annotations

from typing import Any


class RecordedVenues:
    """``ask(op=...)`` as the simulator process answers it, from fixed records."""

    def __init__(self, closes: list[tuple[str, str]],
                 orders: dict[str, list[list[str]]] | None = None,
                 open_positions: dict[str, dict[str, str]] | None = None) -> None:
        self.closes = closes
        self.orders = orders or {}
        self.open_positions = open_positions or {}

    def ask(self, **cmd: Any) -> dict[str, Any]:
        op = cmd["op"]
        if op == "closes":
            return {"closes": [list(c) for c in self.closes]}
        if op == "orders":
            return {"orders": self.orders.get(cmd["key"], [])}
        if op == "open":
            return {"open": self.open_positions.get(cmd["key"], {})}
        raise ValueError(f"unknown op {op!r}")

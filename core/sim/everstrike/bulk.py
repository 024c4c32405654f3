"""Reading ``POST /auth/order/bulk``: the orders arrive as indexed form fields
(``orders[0][pair]=...``), the way the docs' form encoder and the official adapter's query-string
encoder write an array of objects."""

from __future__ import annotations

import re

from core.sim.everstrike.replies import Invalid

__all__ = ["MAX_BULK_ORDERS", "order_forms"]

MAX_BULK_ORDERS = 50  # documented: 1 to 50 orders per request

_FIELD = re.compile(r"orders\[(\d{1,3})\]\[([A-Za-z_]+)\]")


def order_forms(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One form per order, by index; fields outside ``orders[...]`` (the request's own
    ``timestamp``, ``recv_window``) are the caller's. Raises ``Invalid`` for a bad batch."""
    orders: dict[int, dict[str, str]] = {}
    for key, value in pairs:
        if not key.startswith("orders"):
            continue
        match = _FIELD.fullmatch(key)
        if match is None:
            raise Invalid(f"unreadable order field {key[:40]}")
        orders.setdefault(int(match[1]), {}).setdefault(match[2], value)
    if not orders:
        raise Invalid("orders is required")
    if sorted(orders) != list(range(len(orders))):
        raise Invalid("orders must be numbered from 0 without gaps")
    if len(orders) > MAX_BULK_ORDERS:
        raise Invalid(f"at most {MAX_BULK_ORDERS} orders per request")
    return [orders[i] for i in range(len(orders))]

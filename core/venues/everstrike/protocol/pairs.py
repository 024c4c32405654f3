"""``GET /pairs`` to instruments: the tick, lot and bounds the close rules check against."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.model import Instrument
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.fields import (
    _PARSE_ERRORS,
    _Bad,
    _obj,
    _opt_dec,
    _opt_str,
    _str,
)


def parse_pairs(result: object) -> dict[str, Instrument]:
    """``GET /pairs``: PRICE_FILTER gives tick and price bounds, LOT_SIZE the lot and qty bounds.

    A bound of 0 is read as "no bound" (assumption: no instrument trades at a maximum of 0).
    """

    def bound(value: object, what: str) -> Decimal | None:
        number = _opt_dec(value, what)
        return None if number is None or number == 0 else number

    try:
        instruments: dict[str, Instrument] = {}
        for pair, raw in _obj(result, "pairs result").items():
            entry = _obj(raw, f"pair {pair!r}")
            symbol = _opt_str(entry.get("key")) or _str(pair, "pair")
            price: dict[str, Any] = {}
            lot: dict[str, Any] = {}
            filters = entry.get("filters") or []
            if not isinstance(filters, list):
                raise _Bad(f"{symbol} filters is not a list")
            for item in filters:
                flt = _obj(item, f"{symbol} filter")
                if flt.get("filter_type") == "PRICE_FILTER":
                    price = flt
                elif flt.get("filter_type") == "LOT_SIZE":
                    lot = flt
            instruments[symbol] = Instrument(
                symbol=symbol,
                tick_size=bound(price.get("tick_size"), "tick_size"),
                min_price=bound(price.get("min_price"), "min_price"),
                max_price=bound(price.get("max_price"), "max_price"),
                lot_size=bound(lot.get("tick_size"), "lot tick_size"),
                min_quantity=bound(lot.get("min_qty"), "min_qty"),
                max_quantity=bound(lot.get("max_qty"), "max_qty"),
                quote_currency=_opt_str(entry.get("quote")) or None,
            )
        return instruments
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /pairs result", exc) from None

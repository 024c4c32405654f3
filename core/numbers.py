"""How every number is written, by the instrument it belongs to rather than by the digits a
venue happened to send: one venue's "25.0" and another's "25" of the same lot read alike, and a
column's decimal points line up.

- A quantity has as many decimals as the instrument's lot size, a price as many as its tick
  size ("25" at a lot of 0.01 reads "25.00"). Trailing zeros beyond the step say nothing and go
  ("2.000" at 0.01 reads "2.00"), but a digit that is not zero is never hidden: these are the
  numbers that go to the venue.
- P&L (money) has a fixed number of decimals per quote currency (``PNL_DECIMALS``; any other
  currency, or none known, gets ``DEFAULT_PNL_DECIMALS``), rounded half-even, always signed
  ("+364.00", "-2220.50"). It is only ever shown, never sent.
- When the instrument is not known (reference data not loaded yet, or a venue without it), a
  quantity or price is written with exactly its significant digits and no trailing zeros
  ("25.0" and "25" both read "25"): the same value reads the same on every venue.

Thousands separators ("12,345.67") are off unless the user's preferences turn them on
(:func:`set_thousands_separator`, called where the app or the CLI applies its settings). They
go only into what :class:`NumberFormat` and :func:`shown` write for people to read; what goes
into an editable field or to a venue (:func:`plain`, :func:`to_step`) never has them.

Nothing here decides anything; the front ends (the GUI's tables and dialogs, the CLI) all write
numbers through :func:`number_format`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from core.bounds import in_bounds
from core.model import Instrument

__all__ = [
    "DEFAULT_PNL_DECIMALS",
    "PNL_DECIMALS",
    "UNKNOWN",
    "NumberFormat",
    "fixed",
    "grouped",
    "number_format",
    "places",
    "plain",
    "pnl_places",
    "set_thousands_separator",
    "shown",
    "thousands_separator",
    "to_step",
    "trimmed",
]

# Decimals of P&L per quote currency: cents for dollars, euros and their stablecoins, none for
# yen, satoshis for bitcoin, six for ether. Upper-case codes as the venues' reference data
# names them.
PNL_DECIMALS: Mapping[str, int] = {
    "USD": 2, "USDT": 2, "USDC": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "BTC": 8, "ETH": 6,
}
DEFAULT_PNL_DECIMALS = 2  # any other currency, or an instrument whose quote is unknown

# One flag for the whole process: every front end shows numbers one way at a time, and a
# module global costs one lookup per number on the hot path when it is off.
_grouping = False
_GROUP_MAX_DIGITS = 4000  # past this int() refuses the digits; such a value is never real

_ONE = Decimal(1)
_STEPS = tuple(_ONE.scaleb(-n) for n in range(19))  # 1, 0.1, 0.01, ...: quantize's argument


def plain(value: Decimal | None, none: str = "") -> str:
    """Exactly the digits held: no float, no exponent; "-0" reads "0". A value outside the
    venues' bound (``core.bounds``) keeps its exponent: written out, 1E+999999999 is a
    gigabyte."""
    if value is None:
        return none
    text = str(value)  # the same digits as format(, "f"), several times faster, but it may
    if "E" in text and in_bounds(value):  # use an exponent ("1E+2", "1E-7"), which format()
        text = format(value, "f")  # writes out
    return text[1:] if text[0] == "-" and not value else text


def trimmed(value: Decimal | None) -> str:
    """The value's significant digits only, no exponent: "25.0" and "25" both read "25"."""
    if value is None:
        return ""
    text = plain(value)  # by text, not normalize(): that would round past 28 digits
    if "." in text and "E" not in text and value.is_finite():
        text = text.rstrip("0").rstrip(".")
    return text


def set_thousands_separator(on: bool) -> None:
    """Turn thousands separators on or off for every number written from now on."""
    global _grouping
    _grouping = bool(on)


def thousands_separator() -> bool:
    return _grouping


def grouped(text: str) -> str:
    """``text`` (a number as this module writes it) with a comma between each group of three
    whole digits: "-12345.6" reads "-12,345.6". Anything else (an exponent, "") is kept."""
    if not text:
        return text
    sign = text[0] if text[0] in "+-" else ""
    whole, dot, decimals = text[len(sign):].partition(".")
    if len(whole) <= 3 or len(whole) > _GROUP_MAX_DIGITS or not whole.isdigit():
        return text
    return f"{sign}{int(whole):,}{dot}{decimals}"


def shown(text: str) -> str:
    """``text`` as the user asked numbers to be shown (grouped or not)."""
    return grouped(text) if _grouping else text


def places(step: Decimal | None) -> int | None:
    """How many decimals a step has (0.01 -> 2, 5 -> 0); None for no usable step."""
    if step is None or not in_bounds(step) or step <= 0:
        return None
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else None


def to_step(value: Decimal | None, step: Decimal | None) -> str:
    """``value`` with as many decimals as ``step`` has ("2" at a lot of 0.01 reads "2.00"), but
    never fewer than it holds: a digit that goes to the venue is never rounded away. Without a
    step, its significant digits (:func:`trimmed`)."""
    return _at_least(value, places(step))


def _written(value: Decimal, group: bool) -> str:
    """:func:`plain`, with thousands separators when ``group``: written by the decimal module
    itself (in C) where no exponent is involved, about twice as fast as regrouping text."""
    if not group:
        return plain(value)
    text = str(value)
    if "E" in text or (text[0] == "-" and not value):
        return grouped(plain(value))
    return format(value, ",f")


def _at_least(value: Decimal | None, decimals: int | None, group: bool = False) -> str:
    if value is None:
        return ""
    if decimals is None or not value.is_finite():
        return grouped(trimmed(value)) if group else trimmed(value)
    try:
        shown = value.quantize(_STEPS[decimals] if decimals < len(_STEPS)
                               else _ONE.scaleb(-decimals))
    except InvalidOperation:  # more digits than the context holds: show them as they are
        return _written(value, group)
    return _written(shown if shown == value else value, group)


def fixed(value: Decimal | None, decimals: int, *, signed: bool = False,
          group: bool = False) -> str:
    """``value`` rounded half-even to exactly ``decimals`` places; with ``signed``, a "+" before
    a positive value. For money that is shown, never sent."""
    if value is None:
        return ""
    if not value.is_finite():
        return plain(value)
    try:
        shown = value.quantize(_STEPS[decimals] if decimals < len(_STEPS)
                               else _ONE.scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        shown = value
    text = _written(shown, group)  # no "-0.00": -0.001 at 2 places reads 0.00
    if signed and shown > 0:
        text = "+" + text
    return text


def pnl_places(quote: str | None) -> int:
    """Decimals of P&L in ``quote`` (``PNL_DECIMALS``, else ``DEFAULT_PNL_DECIMALS``)."""
    if not quote:
        return DEFAULT_PNL_DECIMALS
    return PNL_DECIMALS.get(quote.upper(), DEFAULT_PNL_DECIMALS)


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """How one instrument's numbers are written. ``None`` places: the step is not known."""

    quantity_places: int | None = None
    price_places: int | None = None
    pnl_decimals: int = DEFAULT_PNL_DECIMALS
    # The quote currency, upper-case (None: not known): totals add money per currency.
    quote: str | None = None

    @property
    def known(self) -> bool:
        """True when it came from the instrument's reference data (worth keeping)."""
        return self.quantity_places is not None or self.price_places is not None

    def quantity(self, value: Decimal | None) -> str:
        return _at_least(value, self.quantity_places, _grouping)

    def price(self, value: Decimal | None) -> str:
        return _at_least(value, self.price_places, _grouping)

    def pnl(self, value: Decimal | None) -> str:
        """Signed, to the quote currency's decimals: "+364.00"."""
        return fixed(value, self.pnl_decimals, signed=True, group=_grouping)

    def money(self, value: Decimal | None) -> str:
        """An unsigned amount in the quote currency (a notional): "12500.00"."""
        return fixed(value, self.pnl_decimals, group=_grouping)


UNKNOWN = NumberFormat()  # no reference data: significant digits, P&L at the default decimals


@lru_cache(maxsize=4096)
def number_format(instrument: Instrument | None) -> NumberFormat:
    """The format of ``instrument``'s numbers (``UNKNOWN`` when there is none). Cached:
    instruments are frozen and few, and every repricing of every row asks."""
    if instrument is None:
        return UNKNOWN
    quote = instrument.quote_currency
    return NumberFormat(places(instrument.lot_size), places(instrument.tick_size),
                        pnl_places(quote), quote.upper() if quote else None)

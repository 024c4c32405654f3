"""Instruments and the demo accounts both simulated venues start with.

Fixed and documented, so demo mode and tests see the same book on every run. The keys are
sim-only and worthless anywhere else; ``python -m core.sim`` prints them on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.sim.market import SimInstrument

__all__ = [
    "EVERSTRIKE_DEMO",
    "EVERSTRIKE_INSTRUMENTS",
    "NO_DEMO",
    "QFEX_DEMO",
    "QFEX_INSTRUMENTS",
    "QFEX_RESIDUAL_SYMBOL",
    "DemoAccount",
    "everstrike_instruments",
    "qfex_instruments",
]

D = Decimal


@dataclass(frozen=True)
class DemoAccount:
    name: str
    public_key: str
    secret_key: str
    account_id: str
    positions: tuple[tuple[str, Decimal, Decimal], ...]  # (symbol, signed size, entry)


# What a venue hands out when the simulator runs without demo accounts: no keys.
NO_DEMO = DemoAccount("", "", "", "", ())

def _inst(
    symbol: str, mark: str, tick: str, lot: str, liquidity: str, *, max_qty: str = "1000000"
) -> SimInstrument:
    m, t, lot_d = D(mark), D(tick), D(lot)
    return SimInstrument(
        symbol=symbol,
        mark=m,
        tick=t,
        lot=lot_d,
        min_qty=lot_d,
        max_qty=D(max_qty),
        min_price=t,
        max_price=(m * 10).quantize(t),
        liquidity=D(liquidity),
    )


# symbol, mark, tick, lot, liquidity per matching pass
QFEX_INSTRUMENTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("AAPL-USD", "229.35", "0.01", "0.01", "500"),
    ("TSLA-USD", "342.80", "0.01", "0.01", "500"),
    ("NVDA-USD", "181.62", "0.01", "0.01", "1000"),
    ("MSFT-USD", "507.20", "0.01", "0.01", "300"),
    ("US100-USD", "23512.5", "0.1", "0.001", "20"),
    ("CL-USD", "63.48", "0.01", "0.1", "10"),  # thin: the demo CL-USD short leaves a residual
    ("PLTR-USD", "178.90", "0.01", "0.1", "2000"),
    ("XAU-USD", "3512.4", "0.1", "0.001", "50"),
)

# The one demo QFEX position larger than its symbol's liquidity (close_position -> IOC residual).
QFEX_RESIDUAL_SYMBOL = "CL-USD"

QFEX_DEMO = DemoAccount(
    name="demo",
    public_key="qfex_pub_demo_closeout",
    secret_key="qfex_secret_demo_closeout",
    account_id="0d3e9c1a-5b7f-4c2e-9a61-2f8d4b6e7c10",
    positions=(
        ("AAPL-USD", D("25"), D("221.40")),
        ("TSLA-USD", D("-12"), D("351.10")),
        ("NVDA-USD", D("40"), D("174.25")),
        ("MSFT-USD", D("-6"), D("498.00")),
        ("US100-USD", D("0.5"), D("23180.0")),
        ("CL-USD", D("-30"), D("65.12")),
        ("PLTR-USD", D("150"), D("161.30")),
        ("XAU-USD", D("-1.25"), D("3470.5")),
    ),
)

EVERSTRIKE_INSTRUMENTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("USD_BTC_PERP", "111250.5", "0.5", "0.0001", "5"),
    ("USD_ETH_PERP", "4310.25", "0.05", "0.001", "100"),
    ("USD_SOL_PERP", "205.37", "0.01", "0.01", "5000"),
    # The seed closes 0.001 at price 1: lot divides 0.001, tick divides 1, LONG, mark ~2.1.
    ("USD_BTCCALL_PERP", "2.100", "0.001", "0.001", "1000"),
    ("USD_ETHPUT90_PERP", "0.0825", "0.0001", "0.01", "10000"),
    ("USD_BTCCALL10_PERP", "0.3540", "0.0001", "0.01", "10000"),
    ("USD_XRP_PERP", "2.8431", "0.0001", "1", "100000"),
    ("USD_DOGE_PERP", "0.21834", "0.00001", "1", "1000000"),
)

EVERSTRIKE_DEMO = DemoAccount(
    name="demo",
    public_key="es_demo_closeout_api_key",
    secret_key="es_demo_closeout_secret_key",
    account_id="5f9ca5f0-380e-11e9-bf51-91a076098e19",
    positions=(
        ("USD_BTC_PERP", D("0.25"), D("108900.0")),
        ("USD_ETH_PERP", D("-3.5"), D("4420.10")),
        ("USD_SOL_PERP", D("120"), D("188.40")),
        ("USD_BTCCALL_PERP", D("5"), D("1.850")),
        ("USD_ETHPUT90_PERP", D("-40"), D("0.0910")),
        ("USD_BTCCALL10_PERP", D("12"), D("0.3100")),
        ("USD_XRP_PERP", D("-1500"), D("2.9100")),
        ("USD_DOGE_PERP", D("20000"), D("0.19950")),
    ),
)


def qfex_instruments() -> list[SimInstrument]:
    return [_inst(*row) for row in QFEX_INSTRUMENTS]


def everstrike_instruments() -> list[SimInstrument]:
    return [_inst(*row) for row in EVERSTRIKE_INSTRUMENTS]

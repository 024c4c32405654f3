"""CLI plumbing without sockets: number parsing and printing, reasons, account selection,
Ctrl-C, the positions table, flatten scopes, and that the exit codes are the flatten table's."""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal

import pytest

import cli.common
import cli.main
from cli.common import (
    REASON_MAX,
    Interrupt,
    UsageError,
    dec,
    fmt,
    normalise_reason,
    plain_decimal,
    select_accounts,
    venue_arg,
)
from cli.flatten import build_parser as flatten_parser
from cli.flatten import scope_of
from cli.positions import table
from core import flatten
from core.flatten import ScopeKind
from core.model import Environment, Instrument, Position, PositionKey, PositionSide
from core.venue import AccountConfig
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX

D = Decimal


def test_subcommands_are_registered() -> None:
    assert {k: cli.main.SUBCOMMANDS[k] for k in ("positions", "close", "flatten")} == {
        "positions": "cli.positions", "close": "cli.close", "flatten": "cli.flatten"}


def test_exit_codes_are_the_flatten_tables() -> None:
    for name in ("EXIT_FLAT", "EXIT_BAD_ARGUMENTS", "EXIT_RESIDUAL", "EXIT_REJECTED",
                 "EXIT_UNKNOWN", "EXIT_NOT_DONE", "EXIT_CONNECTION_FAILED"):
        assert getattr(cli.common, name) == getattr(flatten, name)
    own = {cli.common.EXIT_RESTING, cli.common.EXIT_INTERRUPTED}
    assert own == {8, 130}
    assert not own & {getattr(flatten, n) for n in dir(flatten) if n.startswith("EXIT_")}


@pytest.mark.parametrize(("text", "value"), [("12", D(12)), ("0.5", D("0.5")), (".25", D(".25")),
                                             (" 1200.250 ", D("1200.250"))])
def test_plain_decimals_are_taken_exactly(text: str, value: Decimal) -> None:
    parsed = plain_decimal("--qty")(text)
    assert parsed == value and parsed.as_tuple() == value.as_tuple()  # digits kept


@pytest.mark.parametrize(("text", "why"), [
    ("1,000.5", "plain decimal"), ("1e3", "plain decimal"), ("NaN", "plain decimal"),
    ("Infinity", "plain decimal"), ("+3", "plain decimal"), ("١٢", "plain decimal"),
    ("-3", "greater than zero"), ("0", "greater than zero"), ("0.000", "greater than zero"),
    ("", "plain decimal"),
])
def test_anything_else_is_refused_by_option_name(text: str, why: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        plain_decimal("--price")(text)
    assert str(caught.value).startswith("--price must") and why in str(caught.value)


def test_decimals_print_exactly_and_as_json_strings() -> None:
    assert fmt(D("1E+2")) == "100" and fmt(D("0.00010")) == "0.00010" and fmt(D("-0")) == "0"
    assert fmt(None) == "-" and dec(None) is None and dec(D("2.50")) == "2.50"


def test_reasons_are_one_line_and_bounded() -> None:
    assert normalise_reason("  INC-1\n  flatten\tnow ") == "INC-1 flatten now"
    assert normalise_reason("   ") is None and normalise_reason(None) is None
    assert normalise_reason("x" * REASON_MAX) == "x" * REASON_MAX
    with pytest.raises(UsageError):
        normalise_reason("x" * (REASON_MAX + 1))


def test_venue_names_are_case_insensitive() -> None:
    assert venue_arg("QFEX") is QFEX and venue_arg("everstrike") is EVERSTRIKE
    with pytest.raises(argparse.ArgumentTypeError):
        venue_arg("binance")


def _accounts() -> list[AccountConfig]:
    return [AccountConfig("a", QFEX, Environment.LIVE, "k1"),
            AccountConfig("b", EVERSTRIKE, Environment.DEMO, "k2"),
            AccountConfig("c", QFEX, Environment.TESTNET, "k3")]


def test_select_accounts_by_name_and_venue() -> None:
    accounts = _accounts()
    assert [a.name for a in select_accounts(accounts)] == ["a", "b", "c"]
    assert [a.name for a in select_accounts(accounts, names=["c", "a", "c"])] == ["a", "c"]
    assert [a.name for a in select_accounts(accounts, venue=QFEX)] == ["a", "c"]
    with pytest.raises(UsageError, match="unknown account 'z' \\(configured: 'a', 'b', 'c'\\)"):
        select_accounts(accounts, names=["z"])
    with pytest.raises(UsageError, match="no account is configured on Everstrike"):
        select_accounts(accounts, names=["a"], venue=EVERSTRIKE)


@pytest.mark.asyncio
async def test_first_ctrl_c_goes_to_the_handler_the_second_cancels() -> None:
    stopped: list[int] = []

    async def command() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(command())
    interrupt = Interrupt(task)
    interrupt.handler = lambda: stopped.append(interrupt.presses)
    interrupt.press()
    await asyncio.sleep(0)
    assert stopped == [1] and not task.done()
    interrupt.press()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_without_a_handler_the_first_ctrl_c_cancels() -> None:
    task = asyncio.create_task(asyncio.Event().wait())
    Interrupt(task).press()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_positions_table_writes_numbers_by_the_instrument() -> None:
    """The CLI writes numbers as the window does (core.numbers): the lot's and tick's decimals,
    P&L to its quote currency's two places; without reference data, significant digits."""
    accounts = {a.name: a for a in _accounts()}
    eth = Instrument("USD_ETH_PERP", tick_size=D("0.05"), lot_size=D("0.001"),
                     quote_currency="USD")
    rows = [
        Position(PositionKey("b", EVERSTRIKE, "USD_ETH_PERP"), PositionSide.SHORT,
                 D("3.5"), D("4420.1"), D("4310.25"), D("384.475")),
        Position(PositionKey("a", QFEX, "AAPL-USD"), PositionSide.LONG, D("25.0")),
    ]
    lines = table(rows, accounts, lambda k: eth if k.symbol == eth.symbol else None).splitlines()
    assert lines == [
        "venue       account  env   symbol        side     qty    entry     mark     uPnL",
        "Everstrike  b        DEMO  USD_ETH_PERP  SHORT  3.500  4420.10  4310.25  +384.48",
        "QFEX        a        LIVE  AAPL-USD      LONG      25        -        -        -",
    ]


@pytest.mark.parametrize(("argv", "kind", "filters"), [
    (["--account", "a"], ScopeKind.ACCOUNT, "account a"),
    (["--venue", "QFEX", "--side", "short"], ScopeKind.VENUE, "venue QFEX, short only"),
    (["--all", "--symbol", "AAPL-USD", "--losing"], ScopeKind.EVERYTHING,
     "everything, symbol AAPL-USD, losing only"),
])
def test_flatten_options_make_the_engines_scope(argv: list[str], kind: ScopeKind,
                                                filters: str) -> None:
    scope = scope_of(flatten_parser().parse_args(argv))
    assert scope.kind is kind and scope.describe() == filters


def test_fmt_never_writes_out_a_huge_exponent() -> None:
    """A venue number like 1E+999999999 once became a gigabyte of digits."""
    assert fmt(D("1E+1000000")) == "1E+1000000"
    assert fmt(D("-2.5E+999999999")) == "-2.5E+999999999"

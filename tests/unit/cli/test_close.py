"""``closeout close``: the request built from the options, checked as the close dialog checks it
(no sockets: the venues' own capability tables and reference data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cli.close import CloseArgs, build_request, describe
from cli.common import UsageError
from core.model import (
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike.protocol import CAPABILITIES as ES_CAPS
from core.venues.qfex import QFEX
from core.venues.qfex.protocol import CAPABILITIES as QFEX_CAPS

D = Decimal
AAPL = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"), min_quantity=D("0.5"),
                  max_quantity=D("30"), min_price=D("0.01"), max_price=D("2293.50"))
ETH = Instrument("USD_ETH_PERP", tick_size=D("0.05"), lot_size=D("0.001"))


def long_aapl(qty: str = "40") -> Position:
    return Position(PositionKey("q", QFEX, "AAPL-USD"), PositionSide.LONG, D(qty),
                    entry_price=D(220), mark_price=D("229.35"))


def short_eth() -> Position:
    return Position(PositionKey("e", EVERSTRIKE, "USD_ETH_PERP"), PositionSide.SHORT,
                    D("3.5"), entry_price=D(4400))


def test_no_options_is_a_full_close_at_market() -> None:
    request = build_request(long_aapl(), QFEX_CAPS, AAPL, CloseArgs(reason="INC-1"))
    assert (request.quantity, request.limit_price, request.trigger, request.time_in_force) == \
        (None, None, None, None)
    assert (request.position_side, request.position_quantity, request.reason) == \
        (PositionSide.LONG, D(40), "INC-1")
    assert describe(request) == "SELL 40 AAPL-USD (full position) at market, reduce-only."


def test_the_whole_size_as_qty_is_a_full_close() -> None:
    request = build_request(long_aapl(), QFEX_CAPS, AAPL, CloseArgs(quantity=D("40.00")))
    assert request.is_full


def test_a_limit_close_defaults_to_gtc_where_the_venue_takes_a_time_in_force() -> None:
    request = build_request(long_aapl(), QFEX_CAPS, AAPL,
                            CloseArgs(quantity=D(10), price=D("250.5")))
    assert (request.quantity, request.limit_price, request.time_in_force) == \
        (D(10), D("250.5"), TimeInForce.GTC)
    assert describe(request) == "SELL 10 AAPL-USD (part) at limit 250.5 GTC, reduce-only."
    ioc = build_request(long_aapl(), QFEX_CAPS, AAPL,
                        CloseArgs(quantity=D(10), price=D(250), tif=TimeInForce.IOC))
    assert ioc.time_in_force is TimeInForce.IOC
    es = build_request(short_eth(), ES_CAPS, ETH, CloseArgs(price=D(4000)))
    assert es.time_in_force is None  # Everstrike's close endpoint takes none


def test_everstrike_trigger_with_event_close_on_trigger_and_limit() -> None:
    request = build_request(short_eth(), ES_CAPS, ETH, CloseArgs(
        quantity=D(1), price=D(4510), trigger_price=D(4500), trigger_event=TriggerEvent.LAST,
        close_on_trigger=True))
    assert request.trigger == Trigger(D(4500), TriggerEvent.LAST, True)
    assert describe(request) == ("BUY 1 USD_ETH_PERP (part) when the last price reaches 4500 "
                                 "(close on trigger), then at limit 4510, reduce-only.")


def test_a_qfex_trigger_defaults_to_the_mark() -> None:
    request = build_request(long_aapl(), QFEX_CAPS, AAPL, CloseArgs(trigger_price=D(200)))
    assert request.trigger == Trigger(D(200), TriggerEvent.MARK, False)


def test_stops_are_exempt_from_the_minimum_quantity() -> None:
    """As in the dialog (QFEX order-types docs): a partial stop below min size is accepted."""
    request = build_request(long_aapl(), QFEX_CAPS, AAPL,
                            CloseArgs(quantity=D("0.1"), trigger_price=D(200)))
    assert request.quantity == D("0.1")


@pytest.mark.parametrize(("args", "message"), [
    (CloseArgs(quantity=D("40.01")), "--qty 40.01 is more than the position size 40"),
    (CloseArgs(quantity=D("1.005")), "--qty 1.005 must be a multiple of the lot size 0.01"),
    (CloseArgs(quantity=D("0.1")), "--qty 0.1 is below QFEX's minimum 0.5 for AAPL-USD; "
                                   "close more, or close all"),
    (CloseArgs(quantity=D(35)), "--qty 35 is above QFEX's maximum 30 per order for AAPL-USD"),
    (CloseArgs(quantity=D(10), price=D("250.001")),
     "--price 250.001 must be a multiple of the tick size 0.01"),
    (CloseArgs(quantity=D(10), price=D(3000)),
     "--price 3000 is above QFEX's maximum price 2293.50"),
    (CloseArgs(trigger_price=D("0.001")),
     "--trigger-price 0.001 must be a multiple of the tick size 0.01"),
    (CloseArgs(trigger_price=D(200), trigger_event=TriggerEvent.INDEX),
     "--trigger-event index: QFEX triggers on the mark price only"),
    (CloseArgs(trigger_price=D(200), close_on_trigger=True),
     "--close-on-trigger: QFEX has no close-on-trigger option"),
    (CloseArgs(trigger_price=D(200), price=D(199)),
     "--price and --trigger-price can't be combined on QFEX: QFEX has no stop-limit: a "
     "trigger becomes a market order; clear one of the two"),
])
def test_qfex_refusals_name_the_option(args: CloseArgs, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_request(long_aapl(), QFEX_CAPS, AAPL, args)
    assert str(caught.value) == message


def test_everstrike_takes_no_time_in_force() -> None:
    with pytest.raises(UsageError) as caught:
        build_request(short_eth(), ES_CAPS, ETH, CloseArgs(price=D(4000), tif=TimeInForce.GTC))
    assert str(caught.value) == "--tif: Everstrike's close endpoint takes no time in force."


def test_a_time_in_force_the_venue_does_not_list_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        build_request(long_aapl(), QFEX_CAPS, AAPL,
                      CloseArgs(quantity=D(10), price=D(250), tif=TimeInForce.FOK))
    assert str(caught.value) == "--tif FOK: QFEX takes GTC or IOC"


def test_without_reference_data_only_the_position_and_capabilities_bind() -> None:
    request = build_request(long_aapl(), QFEX_CAPS, None,
                            CloseArgs(quantity=D("0.001"), price=D("250.001")))
    assert (request.quantity, request.limit_price) == (D("0.001"), D("250.001"))
    with pytest.raises(UsageError):
        build_request(long_aapl(), QFEX_CAPS, None, CloseArgs(quantity=D(41)))


def test_a_percent_closes_that_share_rounded_down_to_the_lot_as_the_dialogs_presets() -> None:
    quarter = build_request(long_aapl("3.5"), QFEX_CAPS, AAPL, CloseArgs(percent=D(25)))
    assert quarter.quantity == D("0.87")
    assert build_request(long_aapl(), QFEX_CAPS, AAPL, CloseArgs(percent=D(100))).is_full


@pytest.mark.parametrize(("args", "message"), [
    (CloseArgs(quantity=D(1), percent=D(50)),
     "--percent can't be given with --qty; give one of the two"),
    (CloseArgs(percent=D(120)), "--percent 120 is more than 100"),
    (CloseArgs(percent=D("0.001")),
     "--percent 0.001 of the position is less than one lot; nothing can be sent"),
    (CloseArgs(percent=D(1)), "--percent 1 of the position (0.40) is below QFEX's minimum 0.5 "
                              "for AAPL-USD; close more, or close all"),
])
def test_a_percent_is_refused_by_option(args: CloseArgs, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_request(long_aapl(), QFEX_CAPS, AAPL, args)
    assert str(caught.value) == message

from __future__ import annotations

from decimal import Decimal

import pytest

from core.model import Instrument, Position, PositionKey, PositionSide
from core.venue import Credentials, InsecureEndpoint, ReconnectPolicy, check_endpoint
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX


def test_rounding_to_lot_goes_down_and_price_to_nearest_tick() -> None:
    inst = Instrument("X", tick_size=Decimal("0.05"), lot_size=Decimal("0.001"))
    assert inst.round_quantity(Decimal("1.23456")) == Decimal("1.234")
    assert inst.round_price(Decimal("10.07")) == Decimal("10.05")
    assert inst.on_tick(Decimal("10.05")) and not inst.on_tick(Decimal("10.07"))
    assert inst.on_lot(Decimal("0.002")) and not inst.on_lot(Decimal("0.0025"))


def test_with_mark_recomputes_pnl_for_shorts() -> None:
    p = Position(PositionKey("a", QFEX, "S"), PositionSide.SHORT, Decimal(2),
                 entry_price=Decimal(100))
    assert p.with_mark(Decimal(90)).unrealised_pnl == Decimal(20)


def test_notional_is_size_at_the_mark_for_either_side_and_unknown_without_one() -> None:
    key = PositionKey("a", QFEX, "S")
    assert Position(key, PositionSide.SHORT, Decimal("2.5"), mark_price=Decimal("40.2")
                    ).notional == Decimal("100.50")
    assert Position(key, PositionSide.LONG, Decimal("3"), mark_price=Decimal("7")
                    ).notional == Decimal(21)
    assert Position(key, PositionSide.LONG, Decimal("3")).notional is None


@pytest.mark.parametrize("url", ["ws://example.com/", "http://10.0.0.1:80", "ftp://x"])
def test_plain_text_endpoints_are_refused_off_loopback(url: str) -> None:
    with pytest.raises(InsecureEndpoint):
        check_endpoint(url)


@pytest.mark.parametrize("url", ["wss://trade.qfex.com/", "ws://127.0.0.1:9/", "http://[::1]:8/",
                                 "http://localhost:1"])
def test_tls_or_loopback_endpoints_pass(url: str) -> None:
    assert check_endpoint(url) == url


def test_credentials_repr_hides_the_secret() -> None:
    text = repr(Credentials("qfex_pub_abcdef123456", "topsecretvalue"))
    assert "topsecretvalue" not in text and "123456" not in text


def test_backoff_grows_to_the_cap_and_zero_policy_is_zero() -> None:
    import random

    d = ReconnectPolicy(initial=1, maximum=8, jitter=0, rng=random.Random(1)).delays()
    assert [next(d) for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    z = ReconnectPolicy(initial=0, maximum=0).delays()
    assert next(z) == 0


def _everstrike(options: dict[str, str]):  # type: ignore[no-untyped-def]
    from core.model import Environment
    from core.venue import AccountConfig
    from core.venues.everstrike import EverstrikeSession

    account = AccountConfig("e", EVERSTRIKE, Environment.TESTNET, "k", options=options)
    return EverstrikeSession(account, Credentials("k", "s"), lambda e: None)


def test_everstrike_options_override_the_documented_defaults() -> None:
    session = _everstrike({"recv_window": "8000", "keepalive": "4", "time_sync_interval": "0"})
    assert session._recv_window == 8000
    assert session._keepalive == 4.0
    assert not session._time_sync_interval
    assert _everstrike({"recv_window": "0"})._recv_window is None  # 0 omits the field


@pytest.mark.parametrize(("options", "message"), [
    ({"recv_window": "soon"}, "recv_window='soon' is not a number"),
    ({"keepalive": "-1"}, "must not be negative"),
    ({"recv_windw": "5000"}, "unknown Everstrike option"),
])
def test_bad_everstrike_options_are_refused_by_name(options: dict[str, str],
                                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _everstrike(options)

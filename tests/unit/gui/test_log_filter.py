"""The order log's filter as a value: each field alone, combined, the text search, and the
count text; over lines built as the log model builds them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.model import ConnectionState, OrderStatus
from gui.models.log_filter import KINDS, STATUSES, LogFilter, counts_text, search_text
from gui.models.log_line import FIELDS, Line

D = Decimal


def line(kind: str = "Order", venue: str = "QFEX", account: str = "Alpha",
         symbol: str = "AAPL-USD", status: str = "ACK", raw: str = "NEW", message: str = "",
         order_id: str | None = None, client_id: str | None = None, detail: str = "") -> Line:
    held = (1.0, kind, venue, account, symbol, status, raw, "5", "", "101.25", message, "",
            detail, None, order_id, client_id)
    assert len(held) == len(FIELDS)
    return held


LINES = {
    "a": line(),
    "b": line(venue="Everstrike", account="Beta", symbol="USD_ETH_PERP", status="FILLED",
              raw="FILLED", order_id="9912"),
    "c": line(kind="Fill", account="Beta", symbol="USD_ETH_PERP", status="FILL", raw="SELL"),
    "d": line(kind="Protocol error", symbol="", status="ERROR", raw="E42",
              message="Bad frame — {\"price\": nan}"),
    "e": line(kind="Close", account="Alpha", symbol="MSFT-USD", status="VERIFIED FLAT",
              raw="", detail="intent 7, client order co-77"),
    "f": line(kind="Connection", venue="Everstrike", account="Beta", symbol="",
              status="DISCONNECTED", raw="", message="read timed out"),
}


def passing(f: LogFilter) -> list[str]:
    accepts = f.predicate()
    return [name for name, held in LINES.items() if accepts(held)]


@pytest.mark.parametrize(("f", "expected"), [
    (LogFilter(venue="Everstrike"), ["b", "f"]),
    (LogFilter(account="Beta"), ["b", "c", "f"]),
    (LogFilter(symbol="eth"), ["b", "c"]),  # a part, any case
    (LogFilter(symbol="  USD_ETH_PERP "), ["b", "c"]),
    (LogFilter(status="FILL"), ["c"]),  # exact: FILL is not FILLED
    (LogFilter(status="FILLED"), ["b"]),
    (LogFilter(kind="Protocol error"), ["d"]),
    (LogFilter(kind="Close"), ["e"]),
    (LogFilter(), ["a", "b", "c", "d", "e", "f"]),
], ids=repr)
def test_each_filter_alone(f: LogFilter, expected: list[str]) -> None:
    assert passing(f) == expected


def test_filters_combine_all_must_match() -> None:
    assert passing(LogFilter(account="Beta", venue="Everstrike")) == ["b", "f"]
    assert passing(LogFilter(account="Beta", kind="Fill")) == ["c"]
    assert passing(LogFilter(account="Beta", kind="Fill", symbol="btc")) == []
    assert passing(LogFilter(account="Alpha", text="flat")) == ["e"]
    assert passing(LogFilter(account="Beta", text="flat")) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("TIMED out", ["f"]),  # the message, any case
    ("9912", ["b"]),  # the venue's order id: not a column, still searched
    ("co-77", ["e"]),  # the detail (a close's intent and client order id)
    ("e42", ["d"]),  # the venue's own status text
    ("nan}", ["d"]),
    ("101.25", ["a", "b", "c", "d", "e", "f"]),
    ("everstrike", ["b", "f"]),
    ("   ", ["a", "b", "c", "d", "e", "f"]),  # blank is no search
    ("alphaaapl", []),  # never across two fields (account, then symbol)
])
def test_the_text_search(text: str, expected: list[str]) -> None:
    assert passing(LogFilter(text=text)) == expected


def test_a_search_reads_numbers_held_as_decimals_and_missing_ids() -> None:
    held = (*line()[:7], D("2.5"), None, "", "", "", "", None, None, None)
    assert "2.5" in search_text(held)
    assert LogFilter(text="2.5").predicate()(held)


def test_a_filter_is_active_when_any_field_is_set() -> None:
    assert not LogFilter().active
    for name in ("venue", "account", "symbol", "status", "kind", "text"):
        assert LogFilter(**{name: "x"}).active, name


def test_the_choices_cover_every_order_and_connection_status() -> None:
    assert set(STATUSES) >= {s.value for s in OrderStatus}
    assert set(STATUSES) >= {s.value.upper() for s in ConnectionState}
    assert len(set(STATUSES)) == len(STATUSES)
    assert len(set(KINDS)) == len(KINDS)


@pytest.mark.parametrize(("shown", "total", "text"), [
    (120, 4512, "showing 120 of 4,512"),
    (0, 0, "showing 0 of 0"),
    (1_000_000, 1_200_000, "showing 1,000,000 of 1,200,000"),
])
def test_the_count_text(shown: int, total: int, text: str) -> None:
    assert counts_text(shown, total) == text


@pytest.mark.parametrize("f", [
    LogFilter(), LogFilter(venue="Everstrike"), LogFilter(account="Beta", kind="Fill"),
    LogFilter(symbol="usd"), LogFilter(status="ERROR"), LogFilter(text="e"),
    LogFilter(account="Alpha", symbol="aapl", text="101"), LogFilter(kind="Close", text="co-77"),
    LogFilter(venue="QFEX", account="Beta"),
], ids=repr)
def test_a_rescan_passes_exactly_the_lines_the_predicate_does(f: LogFilter) -> None:
    """A rescan works out every line at once; a new line is tested alone. They must agree."""
    held = list(LINES.values())
    accepts = f.predicate()
    assert list(f.passing(held)) == [int(accepts(line)) for line in held]

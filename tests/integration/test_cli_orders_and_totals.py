"""``closeout orders`` and the totals and CSV of ``closeout positions``, end to end in
subprocesses against the test's simulator (the harness of ``test_cli``): what they print is
checked against what the simulator holds, and the window's columns (``core.tables``)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from core.sim import Simulator
from core.tables import POSITION_TITLES, WORKING_TITLES
from core.venue import AccountConfig
from tests.integration.test_cli import (  # noqa: F401 - the fixtures
    Cli,
    cli,
    desk_sim,
    free_port,
)

D = Decimal


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_orders_lists_a_resting_close_as_table_json_and_csv(
        desk_sim: Simulator, cli: Cli) -> None:  # noqa: F811 - the fixtures
    empty = cli.run("orders")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.splitlines()[-1] == "0 working orders on 2 accounts"
    resting = cli.run("close", "e", "USD_SOL_PERP", "--qty", "20", "--price", "400", "--yes",
                      "--json")
    assert resting.returncode == 8, resting.stderr
    order_id = json.loads(resting.stdout)["order_id"]
    sent = len(desk_sim.requests("everstrike", kind="close"))

    doc = cli.run("orders", "--json")
    assert doc.returncode == 0, doc.stderr
    data = json.loads(doc.stdout)
    assert {a["name"]: a["connected"] for a in data["accounts"]} == {"q": True, "e": True}
    [order] = data["orders"]
    assert (order["account"], order["symbol"], order["order_id"]) == ("e", "USD_SOL_PERP",
                                                                      order_id)
    assert (order["kind"], order["side"], D(order["price"]), D(order["quantity"])) == (
        "limit", "SELL", D(400), D(20))

    text = cli.run("orders", "--venue", "everstrike")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[:4] == ["Venue", "Account", "Symbol", "Kind"]
    assert lines[1].split()[:5] == ["Everstrike", "e", "USD_SOL_PERP", "Limit", "Sell"]
    assert lines[-1] == "1 working order on 1 account"

    table = cli.run("orders", "--csv")
    assert table.returncode == 0, table.stderr
    rows = _csv(table.stdout)
    assert tuple(rows[0]) == WORKING_TITLES
    assert len(rows) == 2 and rows[1][:5] == ["Everstrike", "e", "USD_SOL_PERP", "Limit",
                                              "Sell"]
    assert D(rows[1][WORKING_TITLES.index("Price")]) == D(400)
    # Listing sends nothing: no close, no cancel reached the venue.
    assert len(desk_sim.requests("everstrike", kind="close")) == sent
    assert desk_sim.requests("everstrike", kind="cancel") == []

    both = cli.run("orders", "--json", "--csv")
    assert both.returncode == 2 and "--json and --csv" in both.stderr


def test_orders_exit_7_when_an_account_cannot_connect(
        desk_sim: Simulator, cli: Cli) -> None:  # noqa: F811 - the fixtures
    from core.model import Environment
    from core.venues.qfex import QFEX

    port = free_port()
    cli.add(AccountConfig("dead", QFEX, Environment.DEMO, "qfex_pub_dead",
                          {"trade_ws": f"ws://127.0.0.1:{port}/",
                           "mds_ws": f"ws://127.0.0.1:{port}/mds",
                           "rest": f"http://127.0.0.1:{port}"}), "dead-secret")
    proc = cli.run("orders", "--json")
    assert proc.returncode == 7
    assert "dead: could not connect" in proc.stderr
    data = json.loads(proc.stdout)
    assert {a["name"]: a["connected"] for a in data["accounts"]} == \
        {"q": True, "e": True, "dead": False}


def test_positions_prints_totals_in_text_json_and_csv(
        desk_sim: Simulator, cli: Cli) -> None:  # noqa: F811 - the fixtures
    doc = cli.run("positions", "--json")
    assert doc.returncode == 0, doc.stderr
    data = json.loads(doc.stdout)
    positions = data["positions"]
    totals = data["totals"]
    # The totals are the exact sums of the positions listed, per quote currency (the
    # simulator quotes every instrument in USD).
    notional = sum(D(p["quantity"]) * D(p["mark_price"]) for p in positions)
    pnl = sum(D(p["unrealised_pnl"]) for p in positions)
    assert totals["all"]["positions"] == len(positions) == 4
    assert D(totals["all"]["notional"]["USD"]) == notional
    assert D(totals["all"]["unrealised_pnl"]["USD"]) == pnl
    assert set(totals["venues"]) == {"qfex", "everstrike"}
    assert [(a["account"], a["positions"]) for a in totals["accounts"]] == [("e", 2), ("q", 2)]

    text = cli.run("positions")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = lines.index("totals:")
    assert lines[at + 1].startswith("  All venues: 4 positions · notional ")
    assert [line.split(":")[0].strip() for line in lines[at + 1:-1]] == [
        "All venues", "Everstrike", "QFEX", "e · Everstrike", "q · QFEX"]
    assert lines[-1] == "4 open positions on 2 accounts"

    table = cli.run("positions", "--csv")
    assert table.returncode == 0, table.stderr
    rows = _csv(table.stdout)
    assert tuple(rows[0]) == POSITION_TITLES
    assert [r[3] for r in rows[1:5]] == ["USD_ETH_PERP", "USD_SOL_PERP", "AAPL-USD", "TSLA-USD"]
    total = rows[5]
    assert total[:2] == ["All venues", "Total"] and total[6] == "notional USD"
    assert D(total[8]) == pnl.quantize(D("0.01"))

"""Click to wire: from the close dialog's Send click (after its confirmation) to the venue's
receipt of the frame, on both venues, with the journal on and 1,000 rows repricing; against a
bare client sending the same close to the same simulator.

Method: the simulator runs in a process of its own (``bench/_simproc.py``), so it never waits
for the GIL of the window under test, and stamps each close's arrival with ``time.time()``. The
app: the real ``MainWindow`` over a real ``Desk`` and ``Journal`` (temporary file), the venues'
real sessions logged in to the simulator, and two load accounts whose 1,000 rows are repriced
once a second through the desk's sink (``bench/_feed.py``). Confirmation is "always": for each
close the dialog is opened for the row, the quantity set to 1, Send clicked (the dialog asks),
and then the clock starts at the click on the confirmation's button (QTest, through the real
widget) and stops at the simulator's receipt stamp. The baseline: bare clients in another
process (``bench/_bare.py``: ``websockets`` for QFEX, ``httpx`` for Everstrike, written from the
venues' docs), sending the same close to their own account on the same simulator, clock from
just before the send to the same receipt stamp. Baseline and app run in interleaved blocks of
10. "Added" is the app's p50 (p99) minus the baseline's p50 (p99).

Budget: about 30 s (100 closes per venue from each side, most of it the app's closes, each
through the dialog); tiny: 2 per venue per side.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench._bare import BareProcess
from bench._feed import Feeder, book
from bench._simproc import SimProcess
from bench._window import (
    LoadWatch,
    Stack,
    close_stack,
    connect,
    in_qt,
    open_stack,
    run_on_qt,
    until,
)
from bench.report import Metric, Report, distribution, load_average

TITLE = ("5. Click to wire: close dialog Send (confirmed) to the simulator's receipt, "
         "vs a bare client")

QFEX_SYMBOL, QFEX_SIZE = "AAPL-USD", "1000000"
EVERSTRIKE_PAIR, EVERSTRIKE_SIZE = "USD_DOGE_PERP", "10000000"
BLOCK = 10


@dataclass
class Samples:
    app: dict[str, list[float]] = field(default_factory=lambda: {"qfex": [], "everstrike": []})
    bare: dict[str, list[float]] = field(default_factory=lambda: {"qfex": [], "everstrike": []})
    skipped: dict[str, int] = field(default_factory=lambda: {"qfex": 0, "everstrike": 0})


def _accounts(sim: SimProcess) -> dict[str, Any]:
    """The app's and the baseline's accounts on each venue, with their keys."""
    from core.model import Environment, Venue
    from core.venue import AccountConfig, Credentials

    q, e = sim.info["qfex"], sim.info["everstrike"]
    made: dict[str, Any] = {}
    for who in ("app", "bare"):
        qkey, qsecret = sim.add_account("qfex", f"{who}-qfex",
                                        [(QFEX_SYMBOL, QFEX_SIZE, "200")])
        ekey, esecret = sim.add_account("everstrike", f"{who}-everstrike",
                                        [(EVERSTRIKE_PAIR, EVERSTRIKE_SIZE, "0.2")])
        made[who] = {"qfex": (qkey, qsecret), "everstrike": (ekey, esecret)}
    qa, qs = made["app"]["qfex"]
    ea, es = made["app"]["everstrike"]
    made["pairs"] = [
        (AccountConfig("wire QFEX", Venue("qfex"), Environment.DEMO, qa,
                       endpoints={"trade_ws": q["trade_ws"], "mds_ws": q["mds_ws"],
                                  "rest": q["rest"]}), Credentials(qa, qs)),
        (AccountConfig("wire Everstrike", Venue("everstrike"), Environment.DEMO, ea,
                       endpoints={"rest": e["rest"], "ws": e["ws"]}), Credentials(ea, es)),
    ]
    return made


def _click(button: Any) -> float:
    """A left click on ``button`` (QTest, through the real widget); the wall time just before."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    at = time.time()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    return at


async def _app_close(stack: Stack, sim: SimProcess, key: Any, venue: str) -> float | None:
    """One close through the dialog; seconds from the confirming click to the receipt, or
    None when the dialog did not send (the book moved under it: it asks again)."""
    desk, window = stack.desk, stack.window
    await until(lambda: desk.pending(key) is None, 10, "the last close to settle")
    _, dialog = await in_qt(lambda: window.request_close(key))
    if dialog is None:
        raise RuntimeError(f"no close dialog for {key}")
    dialog.quantityInput.setText("1")
    await asyncio.sleep(0.005)  # the user reads the dialog
    await in_qt(partial(_click, dialog.sendButton))
    if not dialog.confirming:
        dialog.reject()
        return None
    await asyncio.sleep(0.005)  # ... and the question
    before, _ = sim.closes(venue)
    _, t0 = await in_qt(partial(_click, dialog.confirmButton))
    task = dialog.task
    if task is None:  # the guard asked again: nothing was sent
        dialog.reject()
        return None
    await task
    arrived = sim.receipts(venue, before, 1)[0]
    if dialog.isVisible():
        dialog.reject()
    return arrived - t0


async def _measure(n: int, out: Samples, notes: list[str], watch: LoadWatch) -> None:
    from core.model import PositionKey

    sim = SimProcess()
    bare = BareProcess()
    stack: Stack | None = None
    feeder: Feeder | None = None
    try:
        made = _accounts(sim)
        load = book(1_000, per_account=500, symbols=500, prefix="load")
        stack = live = await open_stack(load=load.rows, confirm="always")
        pairs = [(a, _creds(a)) for a in load.accounts] + made["pairs"]
        failed = await connect(stack, pairs)
        if failed:
            raise RuntimeError(f"accounts failed to connect: {failed}")
        (qacct, _), (eacct, _) = made["pairs"]
        keys = {"qfex": PositionKey(qacct.name, qacct.venue, QFEX_SYMBOL),
                "everstrike": PositionKey(eacct.name, eacct.venue, EVERSTRIKE_PAIR)}
        await until(lambda: all(k in live.desk.positions for k in keys.values())
                    and live.rows_shown >= load.count + 2, 30, "every row in the window")
        feeder = Feeder(load, stack.sessions)
        feeder.start()
        await asyncio.sleep(1.0 if n > BLOCK else 0.2)  # repricing before the first close
        q, e = sim.info["qfex"], sim.info["everstrike"]
        bq, be = made["bare"]["qfex"], made["bare"]["everstrike"]

        def bare_block(venue: str, k: int) -> list[float]:
            start, _ = sim.closes(venue)
            if venue == "qfex":
                sent = bare.send("qfex", url=q["trade_ws"], key=bq[0], secret=bq[1],
                                 symbol=QFEX_SYMBOL, n=k)
            else:
                sent = bare.send("everstrike", rest=e["rest"], key=be[0], secret=be[1],
                                 pair=EVERSTRIKE_PAIR, n=k)
            arrived = sim.receipts(venue, start, k)
            return [a - s for s, a in zip(sent, arrived, strict=True)]

        async def app_block(venue: str, k: int) -> list[float]:
            took: list[float] = []
            while len(took) < k:
                one = await _app_close(live, sim, keys[venue], venue)
                if one is None:
                    out.skipped[venue] += 1
                    if out.skipped[venue] > n:
                        raise RuntimeError(f"{venue}: the dialog kept refusing to send")
                    continue
                took.append(one)
            return took

        for venue in ("qfex", "everstrike"):  # warm-up: connections, first-use imports
            bare_block(venue, 1)
            await app_block(venue, 1)
        done = 0
        while done < n:
            k = min(BLOCK, n - done)
            for venue in ("qfex", "everstrike"):
                out.bare[venue] += bare_block(venue, k)
                out.app[venue] += await app_block(venue, k)
            done += k
            watch.sample()
        notes.append("1,000 load rows repriced once a second throughout; the journal is a "
                     "file in a temporary directory; confirmation 'always'.")
    finally:
        if feeder is not None:
            feeder.stop()
        if stack is not None:
            await close_stack(stack)
        bare.stop()
        sim.stop()


def _creds(account: Any) -> Any:
    from core.venue import Credentials

    return Credentials(account.public_key, "bench-secret")


def run(*, tiny: bool) -> Report:
    n = 2 if tiny else 100
    out = Samples()
    notes: list[str] = []
    watch = LoadWatch()
    run_on_qt(lambda: _measure(n, out, notes, watch), style=not tiny)
    report = Report(TITLE, tiny=tiny)
    for venue, label in (("qfex", "QFEX"), ("everstrike", "Everstrike")):
        app = distribution([s * 1000 for s in out.app[venue]])
        bare = distribution([s * 1000 for s in out.bare[venue]])
        client = "websockets" if venue == "qfex" else "httpx"
        report.add(Metric(f"{label}: Closeout, confirm click to receipt", app.p50, "ms", None,
                          None, app))
        report.add(Metric(f"{label}: bare {client} client, send to receipt", bare.p50, "ms",
                          None, None, bare))
        added50, added99 = app.p50 - bare.p50, app.p99 - bare.p99
        report.add(Metric(f"{label}: added at p50", added50, "ms", "< 1 ms", added50 < 1))
        report.add(Metric(f"{label}: added at p99", added99, "ms", "< 5 ms", added99 < 5))
        if out.skipped[venue]:
            report.notes.append(f"{label}: {out.skipped[venue]} close(s) not sent because the "
                                "position moved between opening the dialog and confirming "
                                "(the dialog asks again); they are not in the figures.")
    report.notes += notes
    report.notes.append(f"{n} closes per venue from each side, in interleaved blocks of "
                        f"{BLOCK} after one unmeasured close each; one lot of {QFEX_SYMBOL} "
                        f"({QFEX_SIZE} held) and of {EVERSTRIKE_PAIR} ({EVERSTRIKE_SIZE} held) "
                        "each time.")
    report.notes.append(watch.note())
    report.load_average = load_average()
    return report


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report(run(tiny=False), "click_to_wire")


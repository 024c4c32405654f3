"""A small run of the chaos suite (``make chaos`` runs the full one): a handful of fixed seeds
through the real desk and sessions against the simulator's fault knobs, two kill -9 runs, and
proof that the checks catch a close sent behind the journal's back.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.desk import Desk
from core.journal import Journal
from core.model import CloseRequest
from core.sim import Simulator
from tests.chaos import crash, scenario
from tests.chaos.faults import KINDS, KNOWN_FAILURES, draw
from tests.helpers.chaos import RecordedVenues

ENABLED = frozenset(k for k in KINDS if k not in KNOWN_FAILURES)
# Chosen so that together they draw every enabled fault kind, a close dropped after it
# executed in a flatten (2), a drop right after the ACK on both venues (20), and both venues'
# clocks 30 s ahead (13).
SEEDS = (2, 20, 37, 392, 171, 5, 13, 116)


def test_the_small_run_draws_every_fault_kind_that_is_on() -> None:
    drawn = set()
    for seed in SEEDS:
        drawn |= {f.kind for f in draw(random.Random(seed), ENABLED)}
    assert drawn == ENABLED


@pytest.mark.asyncio
@pytest.mark.timeout(240)
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_chaos_scenario_holds_every_promise(bare_sim: Simulator, tmp_path: Path,
                                                   seed: int) -> None:
    result = await scenario.run(bare_sim, seed, tmp_path, enabled=ENABLED)
    assert result.ok, (result.faults, result.problems)
    assert result.closes >= 1
    assert result.duplicates == result.orphans == result.losses == 0


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_checks_catch_a_close_that_skipped_the_journal(bare_sim: Simulator,
                                                                 tmp_path: Path) -> None:
    async def behind_the_journal(desk: Desk) -> None:
        key = sorted(desk.positions, key=str)[0]
        pos = desk.positions[key]
        session = desk.session(key.account)
        await session.send(session.prepare_close(
            CloseRequest(key, pos.side, pos.quantity, quantity=pos.quantity / 4)))

    # Seed 1 with no faults draws a single close: another position is left to meddle with.
    result = await scenario.run(bare_sim, 1, tmp_path, enabled=frozenset(),
                                meddle=behind_the_journal)
    assert not result.ok
    assert result.orphans >= 1, result.problems
    assert any("without a journaled intent" in p for p in result.problems)


@pytest.mark.timeout(240)
def test_kill_9_the_cli_and_the_app_mid_flatten_then_restart(tmp_path: Path) -> None:
    kills = crash.run_kills(2, first_seed=3, work=tmp_path, verbose=False)
    assert [k["target"] for k in kills] == ["cli", "app"]
    for k in kills:
        assert k["killed"], k
        assert k["ok"], k["problems"]
        assert k["closes"] >= 1, k


def test_the_crash_checks_catch_an_unjournaled_close_and_a_resend(tmp_path: Path) -> None:
    home = crash._Home(tmp_path, "app")
    home.accounts = [{"name": "kq", "venue": "qfex", "key": "pub", "secret": "s",
                      "endpoints": {}, "positions": [["AAPL-USD", "5", "100"]]}]
    sent = '{"type":"close_position","params":{"symbol":"AAPL-USD","client_order_id":"co-1"}}'
    journal = Journal(home.journal, operator="chaos")
    ctx = {"account": "kq", "venue": "qfex", "symbol": "AAPL-USD", "intent_id": "i1"}
    journal.append("intent", {"client_order_id": "co-1"}, **ctx)
    journal.append("request", sent, **ctx)
    journal.close()

    clean: list[str] = []
    venues = RecordedVenues([("qfex", sent)], {"pub": [["o1", "AAPL-USD", "co-1", "5"]]})
    assert crash._check(venues, home, 0, clean, None, 0) == 1  # type: ignore[arg-type]
    assert clean == []

    stray = sent.replace("co-1", "co-2")
    problems: list[str] = []
    venues = RecordedVenues([("qfex", sent), ("qfex", stray), ("qfex", sent)],
                            {"pub": [["o1", "AAPL-USD", "co-1", "5"],
                                     ["o2", "AAPL-USD", "co-2", "5"]]})
    crash._check(venues, home, 0, problems, {}, 1)  # type: ignore[arg-type]
    assert any("without its journaled intent" in p for p in problems), problems
    assert any("reached a venue twice" in p for p in problems), problems
    assert any("co-2 has no journaled intent" in p for p in problems), problems
    assert any("2 venue orders for 1 intent" in p for p in problems), problems
    assert any("sent a close by itself after restarting" in p for p in problems), problems

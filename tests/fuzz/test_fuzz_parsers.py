"""A small run of the parser fuzz suite (``make fuzz`` runs the full one): hostile frames through
every parser of both venues break no rule."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.corpus import seeds
from tests.fuzz.mutate import Mutator
from tests.fuzz.run import run, summary
from tests.fuzz.strategies import frames
from tests.fuzz.targets import (
    EVERSTRIKE_PARSERS,
    NEVER,
    QFEX_PARSERS,
    Checker,
    everstrike,
    qfex,
)

SEED = 20261204  # fixed: ``make test`` replays the same frames; ``make fuzz`` draws new ones


def test_a_small_run_breaks_no_rule_and_reaches_every_parser() -> None:
    report = run(frames_per_venue=1_500, seed=SEED, hypothesis_examples=50)
    assert report["failure_count"] == 0, summary(report)
    names = {f"everstrike.{p}" for p in EVERSTRIKE_PARSERS} | {f"qfex.{p}" for p in QFEX_PARSERS}
    assert set(report["parsers"]) == names
    for name, tally in report["parsers"].items():
        assert tally["calls"] > 0 and tally["accepted"] > 0, (name, tally)
    text_parsers = ["everstrike.parse_ws", "everstrike.parse_envelope", "qfex.parse",
                    "qfex.parse_mds", "qfex.parse_refdata", "qfex.parse_positions_rest"]
    for name in text_parsers:
        assert report["parsers"][name]["refused"] > 0, name
    assert report["frames"] == 2 * (1_500 + 50)
    every = set(Mutator("qfex", random.Random(0)).structural)
    assert set(report["mutations"]) >= every


@pytest.mark.parametrize("venue", ["everstrike", "qfex"])
def test_the_seeds_hold_the_documents_examples(venue: str) -> None:
    found = seeds(venue)
    if venue == "everstrike":  # the seed document's 503 body, exactly
        assert {"code": Decimal(503), "msg": "Invalid request", "result": {}} in found
    else:  # the seed document's order_response examples
        assert any(isinstance(s, dict) and "order_response" in s and
                   s["order_response"].get("symbol") == "AAPL-USD" for s in found)
    assert len(found) > 50


def test_the_checker_catches_a_broken_parser() -> None:
    """The harness can fail: a stray exception and an out-of-bound number are both caught."""
    check = Checker()

    def raises() -> None:
        raise KeyError("x")

    check.call("broken.raises", NEVER, "{}", raises)
    check.call("broken.huge", NEVER, "{}", list, [Decimal("1E+999999999")])
    check.call("broken.float", NEVER, "{}", dict, t=float("inf"))
    check.call("fine", NEVER, "{}", list, [Decimal("1E+60")])
    assert check.failure_count == 3
    assert [f.parser for f in check.failures] == ["broken.raises", "broken.huge", "broken.float"]
    assert check.tallies["fine"].accepted == 1


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=frames("everstrike"))
def test_everstrike_parsers_keep_the_rule_for_hypothesis_frames(frame: str | bytes) -> None:
    check = Checker()
    everstrike(check, frame)
    assert check.failure_count == 0, check.failures


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=frames("qfex"))
def test_qfex_parsers_keep_the_rule_for_hypothesis_frames(frame: str | bytes) -> None:
    check = Checker()
    qfex(check, frame)
    assert check.failure_count == 0, check.failures

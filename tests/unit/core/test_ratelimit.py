"""The generic rate limiter, on an injected clock: nothing here sleeps for real."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from core.ratelimit import RateLimiter, parse_weights
from tests.helpers.clock import FakeClock


def limiter(budget: float = 10, window: float = 10) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(yields=True)
    return RateLimiter(budget, window, clock=clock, sleep=clock.sleep), clock


@pytest.mark.asyncio
async def test_a_burst_up_to_the_budget_goes_at_once() -> None:
    rl, clock = limiter()
    assert rl.headroom() == 1.0
    for _ in range(10):
        await rl.acquire(1)
    assert clock.slept == []
    assert rl.headroom() == pytest.approx(0.0)


@pytest.mark.asyncio
async def test_over_budget_waits_for_the_window_and_never_drops() -> None:
    rl, clock = limiter()
    start = clock.now
    for _ in range(10):
        await rl.acquire(1)
    await rl.acquire(1)  # waits, then goes
    # The sliding window is what holds it: the first unit leaves the window after 10 s.
    assert clock.now - start == pytest.approx(10.0)


@pytest.mark.asyncio
async def test_the_ema_meter_shapes_a_second_burst() -> None:
    """A token bucket would be full again after one window; a venue EMA still remembers
    budget/e of the first burst, so a big second burst must wait for the EMA to decay."""
    rl, clock = limiter()
    await rl.acquire(10)
    clock.now += 10  # the sliding window is empty again
    start = clock.now
    await rl.acquire(7)
    remembered = 10 * math.exp(-1)
    assert clock.now - start == pytest.approx(10 * math.log(remembered / 3))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.asyncio
async def test_never_exceeds_either_meter(seed: int) -> None:
    """Whatever the mix of weights and pauses, every window of sends sums to at most the
    budget, and the decaying sum never passes it."""
    rng = random.Random(seed)
    rl, clock = limiter(budget=20, window=5)
    sent: list[tuple[float, float]] = []
    for _ in range(300):
        weight = rng.choice([0.1, 0.5, 1, 2, 5])
        if rng.random() < 0.1:
            clock.now += rng.random() * 3
        await rl.acquire(weight)
        sent.append((clock.now, weight))
    assert clock.slept, "the mix must have hit the limit at least once"
    ema, last = 0.0, sent[0][0]
    for i, (at, weight) in enumerate(sent):
        window = sum(w for t, w in sent[: i + 1] if t > at - 5)
        assert window <= 20 + 1e-6
        ema = ema * math.exp(-(at - last) / 5) + weight
        last = at
        assert ema <= 20 + 1e-6


@pytest.mark.asyncio
async def test_sustained_rate_is_budget_per_window() -> None:
    rl, clock = limiter(budget=10, window=10)
    start = clock.now
    for _ in range(110):
        await rl.acquire(1)
    # 10 at once, then about 1 per second: 100 more need at least 90 s under both meters.
    assert clock.now - start >= 90


@pytest.mark.asyncio
async def test_penalty_holds_every_sender_back() -> None:
    rl, clock = limiter(budget=100, window=10)
    start = clock.now
    rl.penalise(2.5)
    assert rl.headroom() == 0.0
    assert rl.penalised_until == pytest.approx(start + 2.5)
    await rl.acquire(1)
    assert clock.now - start == pytest.approx(2.5)
    # Afterwards it restarts slow: the meter was treated as full when the penalty began.
    assert rl.headroom() == pytest.approx(1 - (100 * math.exp(-0.25) + 1) / 100)


@pytest.mark.asyncio
async def test_penalty_during_a_wait_extends_it() -> None:
    rl, clock = limiter(budget=1, window=1)
    await rl.acquire(1)
    waiter = asyncio.create_task(rl.acquire(1))
    await asyncio.sleep(0)  # the waiter is asleep now
    rl.penalise(30)
    await waiter
    assert clock.now >= rl.penalised_until


@pytest.mark.parametrize("seconds", [0, -1, math.nan, math.inf])
def test_meaningless_penalties_are_ignored(seconds: float) -> None:
    rl, _ = limiter()
    rl.penalise(seconds)
    assert rl.headroom() == 1.0 and rl.penalised_until == -math.inf


@pytest.mark.asyncio
async def test_waiters_are_served_in_arrival_order() -> None:
    rl, _ = limiter(budget=10, window=10)
    await rl.acquire(10)
    done: list[str] = []

    async def send(name: str, weight: float) -> None:
        await rl.acquire(weight)
        done.append(name)

    heavy = asyncio.create_task(send("heavy", 8))
    await asyncio.sleep(0)
    light = [asyncio.create_task(send(f"light{i}", 0.5)) for i in range(3)]
    await asyncio.gather(heavy, *light)
    assert done == ["heavy", "light0", "light1", "light2"]


@pytest.mark.asyncio
async def test_a_cancelled_wait_spends_nothing() -> None:
    rl, clock = limiter(budget=10, window=10)
    await rl.acquire(6)
    before = rl.headroom()
    waiter = asyncio.create_task(rl.acquire(6))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert rl.headroom() >= before
    sleeps = len(clock.slept)
    await rl.acquire(4)  # fits only if the cancelled 6 were never spent
    assert len(clock.slept) == sleeps


@pytest.mark.asyncio
async def test_zero_weight_is_free() -> None:
    rl, clock = limiter(budget=1, window=1)
    await rl.acquire(1)
    await rl.acquire(0)
    assert clock.slept == []


@pytest.mark.parametrize("weight", [-1, math.nan, math.inf, 11])
@pytest.mark.asyncio
async def test_impossible_weights_are_refused(weight: float) -> None:
    rl, _ = limiter(budget=10)
    with pytest.raises(ValueError):
        await rl.acquire(weight)


@pytest.mark.parametrize(
    ("budget", "window"), [(0, 1), (-5, 1), (1, 0), (math.nan, 1), (1, math.inf)]
)
def test_bad_budget_or_window(budget: float, window: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(budget, window)


# ----------------------------------------------------------------------------- weights text


def test_parse_weights_overrides_defaults() -> None:
    defaults = {"add_order": 1.0, "get_order": 2.0}
    assert parse_weights("add_order=3, new_type=0.25;", defaults) == {
        "add_order": 3.0,
        "get_order": 2.0,
        "new_type": 0.25,
    }
    assert parse_weights("", defaults) == defaults
    assert defaults == {"add_order": 1.0, "get_order": 2.0}  # not modified


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("add_order", "add_order"),
        ("add_order=lots", "add_order"),
        ("add_order=-1", "add_order"),
        ("add_order=nan", "add_order"),
        ("=1", "=1"),
        ("add order=1", "add order=1"),
    ],
)
def test_parse_weights_names_the_bad_entry(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_weights(text)

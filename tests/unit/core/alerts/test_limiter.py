"""The rate limiter: a few alerts at once, the rest in one summary whose counts are exact."""

from __future__ import annotations

from core.alerts import Alert, AlertKind, AlertLimiter
from tests.helpers.clock import FakeClock

FILLED, REJECTED, NOT_FLAT = (AlertKind.CLOSE_FILLED, AlertKind.ORDER_REJECTED,
                              AlertKind.FLAT_CHECK_FAILED)


def alert(kind: AlertKind = FILLED, n: int = 0, *, group: str | None = None,
          sound: bool = False, quiet: bool = False) -> Alert:
    return Alert(kind, f"{kind.value} {n}", "text", sound=sound, quiet=quiet, group=group)


def limiter(clock: FakeClock) -> AlertLimiter:
    return AlertLimiter(max_alerts=3, window_s=10.0, settle_s=5.0, hold_s=30.0,
                        group_settle_s=30.0, clock=clock)


def test_a_few_alerts_pass_as_they_come() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    shown = [lim.offer(alert(n=n)) for n in range(3)]
    assert shown == [[alert(n=0)], [alert(n=1)], [alert(n=2)]]
    assert not lim.pending
    assert lim.due() == [] and lim.flush() == []


def test_alerts_spread_out_never_fold() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for n in range(20):
        assert lim.offer(alert(n=n)) == [alert(n=n)]
        clock.now += 4.0  # three per 12 s: under three per 10 s
    assert not lim.pending


def test_a_burst_shows_three_then_one_summary_with_exact_counts_when_it_is_over() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    shown: list[Alert] = []
    for n in range(3):
        shown += lim.offer(alert(n=n))
    for n in range(97):
        shown += lim.offer(alert(REJECTED if n % 10 == 0 else FILLED, n))
        clock.now += 0.01
    for n in range(2):
        shown += lim.offer(alert(NOT_FLAT, n))
    assert len(shown) == 3 and lim.pending
    clock.now += 4.9
    assert lim.due() == []  # still within the burst
    clock.now += 0.1
    [summary] = lim.due()
    assert summary.kind is AlertKind.SUMMARY and summary.group is None
    assert summary.title == "99 more alerts"
    assert summary.text == "99 more alerts: 87 closed, 2 not flat, 10 rejected."
    assert summary.counts == ((FILLED, 87), (NOT_FLAT, 2), (REJECTED, 10))
    assert not summary.sound
    assert not lim.pending and lim.due() == []


def test_a_steady_trickle_still_gets_its_summary_after_the_hold() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    shown = [a for n in range(4) for a in lim.offer(alert(n=n))]  # the 4th starts a burst
    summaries: list[Alert] = []
    for n in range(40):  # one a second: never 5 s of silence
        clock.now += 1.0
        shown += lim.offer(alert(n=100 + n))
        summaries += lim.due()
    # 30 s after the burst began its summary comes; then there is room for three again.
    assert [s.text for s in summaries] == ["31 more alerts: 31 closed."]
    assert [a.title for a in shown] == [f"close_filled {n}" for n in (0, 1, 2, 130, 131, 132)]
    assert [s.text for s in lim.flush()] == ["7 more alerts: 7 closed."]  # 44 in all


def test_after_a_summary_the_next_alert_waits_for_room_in_the_window() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for n in range(5):
        lim.offer(alert(n=n))
    clock.now += 5.0
    [summary] = lim.due()
    assert summary.text == "2 more alerts: 2 closed."
    assert lim.offer(alert(n=9)) == []  # three shown within the last 10 s
    clock.now += 5.0
    assert lim.due() == [Alert(AlertKind.SUMMARY, "1 more alert", "1 more alert: 1 closed.",
                               counts=((FILLED, 1),))]
    assert lim.offer(alert(n=10)) == [alert(n=10)]  # 10 s on: room again


def test_a_flatten_folds_entirely_into_one_summary_at_its_end() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for n in range(498):
        assert lim.offer(alert(FILLED, n, group="fp-1")) == []
    for n in range(2):
        assert lim.offer(alert(REJECTED, n, group="fp-1")) == []
    # An alert of no flatten meanwhile is shown as usual.
    lost = alert(AlertKind.CONNECTION_LOST)
    assert lim.offer(lost) == [lost]
    assert lim.due() == []
    [summary] = lim.end_group("fp-1")
    assert summary == Alert(AlertKind.SUMMARY, "Flatten fp-1",
                            "Flatten fp-1: 498 closed, 2 rejected.", group="fp-1",
                            counts=((FILLED, 498), (REJECTED, 2)))
    assert not lim.pending
    assert lim.end_group("fp-1") == []  # said once
    late = alert(group="fp-1")
    assert lim.offer(late) == [late]  # after its end: like any other


def test_two_flattens_get_a_summary_each() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    lim.offer(alert(group="a"))
    lim.offer(alert(group="b"))
    lim.offer(alert(REJECTED, group="b"))
    assert [s.text for s in lim.end_group("b")] == ["Flatten b: 1 closed, 1 rejected."]
    assert [s.text for s in lim.end_group("a")] == ["Flatten a: 1 closed."]
    assert lim.end_group("never-seen") == []


def test_a_flatten_whose_end_never_comes_is_summarised_after_its_silence() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    lim.offer(alert(group="fp-9"))
    clock.now += 29.9
    assert lim.due() == []
    clock.now += 0.1
    assert [s.text for s in lim.due()] == ["Flatten fp-9: 1 closed."]


def test_a_summary_sounds_if_any_alert_it_folded_would_have() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    lim.offer(alert(group="g"))
    lim.offer(alert(REJECTED, group="g", sound=True))
    [summary] = lim.end_group("g")
    assert summary.sound
    lim.offer(alert(group="h"))
    [quiet] = lim.end_group("h")
    assert not quiet.sound


def test_quiet_alerts_pass_and_take_no_room() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for n in range(10):
        back = alert(AlertKind.CONNECTION_RESTORED, n, quiet=True)
        assert lim.offer(back) == [back]
    assert [lim.offer(alert(n=n)) for n in range(3)] == [[alert(n=n)] for n in range(3)]


def test_flush_hands_over_everything_pending() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for n in range(5):
        lim.offer(alert(n=n))
    lim.offer(alert(group="fp-2"))
    assert [s.text for s in lim.flush()] == ["Flatten fp-2: 1 closed.",
                                             "2 more alerts: 2 closed."]
    assert not lim.pending and lim.flush() == []

"""The venue's clock from one stamped reply: the offset nearest zero that the stamp allows."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.venues.clock import VenueClock, http_date, offset_between, refusal_note


def test_a_clock_that_agrees_within_the_stamps_resolution_is_left_alone() -> None:
    # A Date header of whole seconds: the venue read 1000.x somewhere between 1000.2 and 1000.4.
    assert offset_between(1000.2, 1000.4, 1000.0, resolution=1.0) == 0.0


@pytest.mark.parametrize("skew", [30.0, -30.0, 120.5])
def test_a_clock_that_is_off_is_corrected_as_far_as_the_stamp_proves(skew: float) -> None:
    before, after = 1000.25, 1000.30
    stamp = float(int(1000.27 + skew))  # the venue's time, truncated to whole seconds
    offset = offset_between(before, after, stamp, resolution=1.0)
    assert abs(offset - skew) <= 1.0
    assert stamp - after <= offset <= stamp + 1.0 - before


@given(before=st.floats(0, 1e9), trip=st.floats(0, 5), skew=st.floats(-1e4, 1e4),
       at=st.floats(0, 1))
def test_the_offset_always_fits_the_measurement(before: float, trip: float, skew: float,
                                                at: float) -> None:
    after = before + trip
    venue_now = before + at * trip + skew
    stamp = float(int(venue_now))
    offset = offset_between(before, after, stamp, resolution=1.0)
    assert stamp - after - 1e-6 <= offset <= stamp + 1.0 - before + 1e-6


def test_everstrike_style_milliseconds_give_the_exact_offset() -> None:
    assert offset_between(1000.0, 1000.0, 1000.25, resolution=0.0) == pytest.approx(0.25)


def test_a_clock_that_went_backwards_takes_the_middle() -> None:
    assert offset_between(1000.0, 999.0, 1010.0) == pytest.approx(10.5)


def test_http_dates() -> None:
    assert http_date(email.utils.formatdate(1_760_545_414, usegmt=True)) == 1_760_545_414
    assert http_date("Wed, 15 Oct 2025 16:23:34 GMT") == 1_760_545_414
    for bad in (None, "", "yesterday", "Wed, 99 Oct 2025 16:23:34 GMT", "Wed, 15 Oct 2025"):
        assert http_date(bad) is None


def test_venue_clock_corrects_our_reading() -> None:
    clock = VenueClock()
    assert not clock.measured and clock.corrected(50.0) == 50.0
    clock.observe(1000.0, 1000.0, 1030.0)
    assert clock.measured and clock.corrected(50.0) == 80.0


def test_a_refusal_says_what_the_clocks_have_to_do_with_it() -> None:
    clock = VenueClock()
    assert "could not be read" in refusal_note(clock)
    clock.observe(1000.0, 1000.0, 1000.4, resolution=1.0)
    assert refusal_note(clock) == "The clocks agree, so check the key pair."
    clock.observe(1000.0, 1000.0, 970.0)
    assert refusal_note(clock).startswith("The venue's clock is 30 s behind this computer's")

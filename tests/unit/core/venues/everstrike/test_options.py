"""Everstrike's per-account in-flight limit: read from the account's options, refused with a
clear message when it is not a whole number in range, and handed to flatten."""

from __future__ import annotations

import pytest

from core.flatten import account_concurrency
from core.model import Environment
from core.settings import validate_account
from core.venue import AccountConfig, Credentials
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE, EverstrikeSession
from core.venues.everstrike.options import (
    DEFAULT_MAX_IN_FLIGHT,
    MAX_IN_FLIGHT_CEILING,
    max_in_flight,
)
from core.venues.qfex import QFEX


def everstrike(options: dict[str, str]) -> AccountConfig:
    return AccountConfig("e", EVERSTRIKE, Environment.TESTNET, "k", options=options)


@pytest.mark.parametrize(("options", "limit"), [
    ({}, DEFAULT_MAX_IN_FLIGHT),
    ({"max_in_flight": ""}, DEFAULT_MAX_IN_FLIGHT),
    ({"max_in_flight": "1"}, 1),
    ({"max_in_flight": " 12 "}, 12),
    ({"max_in_flight": str(MAX_IN_FLIGHT_CEILING)}, MAX_IN_FLIGHT_CEILING),
])
def test_the_limit_is_read_from_the_options(options: dict[str, str], limit: int) -> None:
    assert max_in_flight(options) == limit
    assert venue_info(EVERSTRIKE).account_concurrency is not None
    assert account_concurrency(everstrike(options)) == limit


@pytest.mark.parametrize("raw", ["0", "-1", str(MAX_IN_FLIGHT_CEILING + 1), "2.5", "eight",
                                 "\u00b2", "1e3"])
def test_a_bad_limit_is_refused_naming_the_option_and_the_range(raw: str) -> None:
    message = (f"option max_in_flight={raw!r} must be a whole number from 1 to "
               f"{MAX_IN_FLIGHT_CEILING}")
    with pytest.raises(ValueError) as caught:
        max_in_flight({"max_in_flight": raw})
    assert message in str(caught.value)
    # The session refuses it when it is built, like every other bad option.
    with pytest.raises(ValueError) as again:
        EverstrikeSession(everstrike({"max_in_flight": raw}), Credentials("k", "s"),
                          lambda e: None)
    assert message in str(again.value)


def test_the_session_keeps_the_limit_and_settings_know_the_option() -> None:
    session = EverstrikeSession(everstrike({"max_in_flight": "3"}), Credentials("k", "s"),
                                lambda e: None)
    assert session.max_in_flight == 3
    validate_account(everstrike({"max_in_flight": "3"}))  # a known option name


def test_flatten_counts_a_refused_limit_as_one_and_qfex_has_none() -> None:
    # The account's session refused the option, so nothing can be sent there anyway.
    assert account_concurrency(everstrike({"max_in_flight": "many"})) == 1
    qfex = AccountConfig("q", QFEX, Environment.TESTNET, "k")
    assert venue_info(QFEX).account_concurrency is None
    assert account_concurrency(qfex) is None

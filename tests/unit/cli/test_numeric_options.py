"""Every number option of every subcommand is bounded and read by one rule, the one its
message states: a plain decimal (spaces around it ignored, none inside), and a wait of at most
``MAX_TIMEOUT_S`` seconds. Refused before anything is dialled (exit 2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli import close, flatten
from cli.common import EXIT_BAD_ARGUMENTS, MAX_TIMEOUT_S, parse_args
from tests.helpers.examples import examples

CLOSE = ("close", "q", "AAPL-USD")
FLATTEN = ("flatten", "--account", "q")
Main = Callable[[Sequence[str]], int]
MAINS: dict[str, Main] = {"close": close.main, "flatten": flatten.main}
# Every option that takes a number, per subcommand.
NUMBER_OPTIONS = [(CLOSE, "--qty"), (CLOSE, "--percent"), (CLOSE, "--price"),
                  (CLOSE, "--trigger-price"), (CLOSE, "--timeout"), (FLATTEN, "--timeout")]


def refused(base: tuple[str, ...], *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Standard error of a run that must stop at its arguments."""
    rc = MAINS[base[0]]([*base[1:], *args, "--dry-run", "--yes"])
    assert rc == EXIT_BAD_ARGUMENTS
    return capsys.readouterr().err


def parsed(base: tuple[str, ...], *args: str) -> object:
    parser = close.build_parser() if base[0] == "close" else flatten.build_parser()
    return parser.parse_args([*base[1:], *args])


@pytest.mark.parametrize("base", [CLOSE, FLATTEN], ids=["close", "flatten"])
@pytest.mark.parametrize("text", ["inf", "Infinity", "1e999999", "nan", "1e3", "-1", "0",
                                  str(MAX_TIMEOUT_S + 1), "3600.0001", "9" * 30])
def test_a_timeout_that_could_wait_forever_is_refused(base: tuple[str, ...], text: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    message = refused(base, "--timeout", text, capsys=capsys)
    assert "--timeout" in message and "Traceback" not in message


@pytest.mark.parametrize("base", [CLOSE, FLATTEN], ids=["close", "flatten"])
def test_the_timeout_cap_is_said_with_what_to_do_after_it(
        base: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    message = refused(base, "--timeout", "inf", capsys=capsys)
    assert "plain decimal" in message
    message = refused(base, "--timeout", "86400", capsys=capsys)
    assert f"--timeout must be at most {MAX_TIMEOUT_S} seconds" in message
    assert "never resent" in message


@pytest.mark.parametrize("base", [CLOSE, FLATTEN], ids=["close", "flatten"])
def test_timeouts_up_to_the_cap_are_taken(base: tuple[str, ...]) -> None:
    assert parsed(base, "--timeout", "0.2").timeout == 0.2  # type: ignore[attr-defined]
    assert parsed(base, "--timeout", str(MAX_TIMEOUT_S)).timeout == MAX_TIMEOUT_S  # type: ignore[attr-defined]


@pytest.mark.parametrize(("base", "option"), NUMBER_OPTIONS)
def test_spaces_around_a_number_are_ignored_as_the_message_says(
        base: tuple[str, ...], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    ns = parsed(base, f"{option}= 1 ")
    assert getattr(ns, option.lstrip("-").replace("-", "_")) == 1
    message = refused(base, f"{option}=1 000", capsys=capsys)
    assert f"{option} must be a plain decimal" in message
    assert "spaces inside it (spaces around it are ignored)" in message


@pytest.mark.parametrize(("base", "option"), NUMBER_OPTIONS)
def test_a_number_longer_than_any_venue_takes_is_refused(
        base: tuple[str, ...], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    message = refused(base, option, "1" + "0" * 40, capsys=capsys)
    assert f"{option} has more than 24 digits" in message


@examples(40)
@given(st.sampled_from(NUMBER_OPTIONS), st.text(max_size=30) | st.from_regex(
    r"\A[ \t]*[0-9]{0,30}(\.[0-9]{0,30})?[ \t]*\Z"))
def test_any_text_for_any_number_option_is_a_bounded_number_or_a_usage_error(
        case: tuple[tuple[str, ...], str], text: str) -> None:
    base, option = case
    parser = close.build_parser() if base[0] == "close" else flatten.build_parser()
    ns = parse_args(parser, [*base[1:], f"{option}={text}"])
    if isinstance(ns, int):
        assert ns == EXIT_BAD_ARGUMENTS
        return
    value = getattr(ns, option.lstrip("-").replace("-", "_"))
    assert isinstance(value, Decimal | float)
    assert 0 < value < Decimal(10) ** 24
    if option == "--timeout":
        assert value <= MAX_TIMEOUT_S

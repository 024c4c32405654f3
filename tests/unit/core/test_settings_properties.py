"""Property tests of the settings loader: whatever settings.toml holds (random bytes, random
text, or a good file with any one field, line or table made hostile), loading gives either
settings that hold every rule, or one SettingsError that names the file and the field or
line at fault. The file is never modified, and settings that load save and load back equal.

``make fuzz-settings`` runs many more examples (``CLOSEOUT_EXAMPLES``)."""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from core.settings import (
    CONFIRM_POLICIES,
    STALE_AFTER_MAX_S,
    THEMES,
    Alerts,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    validate_account,
)
from core.venues.everstrike.options import OPTIONS as ES_OPTIONS
from core.venues.everstrike.options import max_in_flight, option
from core.venues.qfex.options import OPTIONS as QFEX_OPTIONS
from core.venues.qfex.options import QfexOptions
from tests.helpers.examples import examples

ALERT_KEYS = tuple(f.name for f in dataclasses.fields(Alerts))
# A good file: every field of every table appears once, on its own line.
GOOD = [
    "# Closeout settings",
    "version = 2",
    "[preferences]",
    'operator_name = "Desk 3"',
    "stale_after_s = 5.0",
    'confirm = "always"',
    "large_close_notional = 25000",
    'theme = "dark"',
    "thousands_separator = true",
    "[alerts]",
    "close_filled = true",
    "trigger_fired = false",
    "order_rejected = true",
    "connection_lost = true",
    "flat_check_failed = false",
    "sound = true",
    "[[accounts]]",
    'name = "desk-1"',
    'venue = "qfex"',
    'environment = "live"',
    'public_key = "qfex_pub_x"',
    "[accounts.endpoints]",
    'trade_ws = "wss://trade.qfex.com/"',
    "[accounts.options]",
    'rate_budget = "12000"',
    'cancel_timeout = "10"',
    "[[accounts]]",
    'name = "es"',
    'venue = "everstrike"',
    'environment = "testnet"',
    'public_key = "es-key"',
    "[accounts.endpoints]",
    'rest = "http://127.0.0.1:8080"',
    "[accounts.options]",
    'recv_window = "8000"',
    'max_in_flight = "12"',
]
# Every key a field is written under: a refusal must name one of them (or give a line).
FIELD_NAMES = ("version", "preferences", "accounts", "operator_name", "stale_after_s",
               "confirm", "large_close_notional", "theme", "thousands_separator", "alerts",
               *ALERT_KEYS, "name", "venue", "environment",
               "public_key", "endpoints", "options", "trade_ws", "rest", "ws",
               *QFEX_OPTIONS, *ES_OPTIONS)
PATH_NAME = "settings.toml"

# ------------------------------------------------------------------------------- TOML values
text_chars = st.characters(exclude_categories=("Cs",))  # a lone surrogate is not UTF-8
strings = st.text(text_chars, max_size=40).map(lambda s: json.dumps(s, ensure_ascii=False))
literal_strings = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20).filter(
    lambda s: "'" not in s).map(lambda s: f"'{s}'")
integers = st.integers().map(str) | st.sampled_from(
    ["0", "-0", "+1", "0x7f", "0o17", "0b101", "1_000", "9" * 4299, "9" * 4301, "1" + "0" * 5000])
floats = st.floats().map(
    lambda f: "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf") if math.isinf(f) else repr(f)
) | st.sampled_from(["nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e999999", "1e-999999",
                     "1E+999999999999", "5e-324", "0.0", "-0.0", "6.5e3", "3600.0000001"])
exponents = st.builds(lambda m, e: f"{m}e{e}", st.integers(1, 99), st.integers(-10**9, 10**9))
scalars = st.one_of(
    strings, literal_strings, integers, floats, exponents,
    st.sampled_from(["true", "false", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z",
                     '"""multi\nline"""', "'''raw'''", '"always"', '"never"', '"large_or_live"',
                     '"live"', '"demo"', '"system"', '"light"', '"dark"', '"Dark"', '"qfex"',
                     '"everstrike"', '"wss://x.example/"',
                     '"ws://127.0.0.1:1/"', '"http://10.0.0.1/"', '""', '" "']),
)
nested = st.integers(1, 3000).map(lambda n: "[" * n + "]" * n) | st.integers(1, 3000).map(
    lambda n: "{a = " * n + "1" + "}" * n)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
    | st.dictionaries(st.sampled_from(["a", "b", "name", "secret"]), inner, max_size=3).map(
        lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"),
    max_leaves=8,
) | nested
garbage = st.text(text_chars, max_size=30)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, str | None]:
    """A good file with one to three mutations: (text, the key of the value replaced first)."""
    lines = list(GOOD)
    replaced: str | None = None
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["value", "value", "value", "drop", "duplicate", "unknown",
                                    "table", "garbage", "secret"]))
        assignments = [i for i, line in enumerate(lines) if " = " in line]
        if how == "value" and assignments:
            i = draw(st.sampled_from(assignments))
            key = lines[i].split(" = ", 1)[0]
            lines[i] = f"{key} = {draw(values)}"
            replaced = replaced or key
        elif how == "drop" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif how == "duplicate" and lines:  # a key or a [table] twice
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
        elif how == "unknown":
            i = draw(st.integers(0, len(lines)))
            lines.insert(i, f"{draw(st.sampled_from(['colour', 'Name', 'stale', 'x.y']))} = 1")
        elif how == "table":
            i = draw(st.integers(0, len(lines)))
            lines.insert(i, draw(st.sampled_from(
                ["[preferences]", "[alerts]", "[[alerts]]", "[[accounts]]", "[accounts]",
                 "[accounts.options]",
                 "[[preferences]]", "[version]", "[accounts.endpoints.x]"])))
        elif how in ("value", "drop", "duplicate"):
            continue  # nothing left to change that way
        elif how == "garbage":
            lines.insert(draw(st.integers(0, len(lines))), draw(garbage))
        else:
            i = draw(st.integers(0, len(lines)))
            lines.insert(i, f'{draw(st.sampled_from(["api_secret", "password", "token"]))} = "x"')
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"])), replaced


# ------------------------------------------------------------------------------- the property
def _holds(settings: Settings) -> None:
    """Every rule a loaded Settings must meet."""
    prefs = settings.preferences
    assert isinstance(prefs.stale_after_s, float)
    assert 0 < prefs.stale_after_s <= STALE_AFTER_MAX_S
    assert prefs.confirm in CONFIRM_POLICIES
    assert isinstance(prefs.operator_name, str)
    assert prefs.theme in THEMES
    assert isinstance(prefs.thousands_separator, bool)
    assert all(isinstance(getattr(settings.alerts, k), bool) for k in ALERT_KEYS)
    notional = prefs.large_close_notional
    assert notional is None or (notional.is_finite() and 0 < notional <= Decimal("1e15"))
    names = [a.name for a in settings.accounts]
    assert len(names) == len(set(names))
    for account in settings.accounts:
        validate_account(account)


def _load_untouched(data: bytes, directory: Path
                    ) -> tuple[Settings | None, SettingsError | None, Path]:
    """Load ``data`` from a file; the file and its directory are the same bytes afterwards,
    and a save over a file that does not load is refused without a write."""
    path = directory / PATH_NAME
    path.write_bytes(data)
    loaded: Settings | None = None
    error: SettingsError | None = None
    try:
        loaded = load_settings(path)
    except SettingsError as exc:
        error = exc
    assert path.read_bytes() == data
    assert sorted(p.name for p in directory.iterdir()) == [PATH_NAME]
    if error is not None:
        assert str(path) in str(error)
        assert len(error.message) < 400, error.message  # a value is not echoed whole
        try:
            save_settings(Settings(), path)
        except SettingsError:
            pass
        else:
            raise AssertionError("a save replaced a file that does not load")
        assert path.read_bytes() == data
        assert sorted(p.name for p in directory.iterdir()) == [PATH_NAME]
    return loaded, error, path


def _round_trip(settings: Settings, path: Path) -> None:
    """Settings that loaded save (keeping the file's layout) and load back the same."""
    _holds(settings)
    save_settings(settings, path)
    assert load_settings(path) == settings


@examples(60)
@given(hostile_files())
def test_a_hostile_file_loads_valid_settings_or_names_its_field(case: tuple[str, str | None]
                                                                 ) -> None:
    text, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        loaded, error, path = _load_untouched(text.encode("utf-8"), Path(tmp))
        if error is not None:
            names_a_field = any(name in error.message for name in FIELD_NAMES)
            assert names_a_field or error.line is not None, error
            return
        assert loaded is not None
        _round_trip(loaded, path)


@examples(40)
@given(st.binary(max_size=300) | st.text(text_chars, max_size=300).map(str.encode))
def test_any_bytes_load_or_are_refused_untouched(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        loaded, _, path = _load_untouched(data, Path(tmp))
        if loaded is not None:
            _round_trip(loaded, path)


@examples(40)
@given(st.sampled_from(["stale_after_s", "large_close_notional", "operator_name", "confirm",
                        "theme", "thousands_separator"]),
       values)
def test_every_preference_takes_any_value_or_names_itself(key: str, value: str) -> None:
    text = f"version = 2\n[preferences]\n{key} = {value}\n"
    with tempfile.TemporaryDirectory() as tmp:
        loaded, error, path = _load_untouched(text.encode("utf-8"), Path(tmp))
        if error is not None:
            assert key in error.message or "not valid TOML" in error.message, error
            return
        assert loaded is not None
        _round_trip(loaded, path)


@examples(40)
@given(st.sampled_from(ALERT_KEYS), values)
def test_every_alert_takes_a_boolean_or_names_itself_and_its_line(key: str, value: str) -> None:
    text = f"version = 2\n[alerts]\n{key} = {value}\n"
    with tempfile.TemporaryDirectory() as tmp:
        loaded, error, path = _load_untouched(text.encode("utf-8"), Path(tmp))
        if error is not None:
            if "not valid TOML" not in error.message:
                assert f"alerts.{key}" in error.message and error.line == 3, error
            return
        assert loaded is not None
        assert value in ("true", "false")
        assert getattr(loaded.alerts, key) is (value == "true")
        _round_trip(loaded, path)


@examples(40)
@given(st.fixed_dictionaries({}, optional={k: st.booleans() for k in ALERT_KEYS}),
       st.builds(Alerts, **{k: st.booleans() for k in ALERT_KEYS}))
def test_alerts_save_into_any_alerts_table_and_load_back(on_disk: dict[str, bool],
                                                        wanted: Alerts) -> None:
    lines = ["# mine", "version = 2", "[alerts]  # what notifies",
             *(f"{k} = {str(v).lower()}  # {k} note" for k, v in on_disk.items())]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PATH_NAME
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = dataclasses.replace(load_settings(path), alerts=wanted)
        save_settings(settings, path)
        assert load_settings(path) == settings
        text = path.read_text(encoding="utf-8")
        assert "# mine" in text and "# what notifies" in text
        for k, v in on_disk.items():  # a line whose value stays keeps its comment
            if getattr(wanted, k) is v:
                assert f"{k} = {str(v).lower()}  # {k} note" in text


# ------------------------------------------------------------------------------- venue options
option_texts = st.one_of(
    st.text(text_chars, max_size=30), integers, floats, exponents,
    st.sampled_from(["", " ", "nan", "inf", "-1", "0", "1e6", "1e7", "12", " 5 ", "1_0"]),
)


def _names_option(exc: ValueError, name: str) -> None:
    """A refused option is named, in a message of sane length."""
    assert f"option {name}" in str(exc) and len(str(exc)) < 400, exc


@examples(60)
@given(st.sampled_from(sorted(QFEX_OPTIONS)), option_texts)
def test_every_qfex_option_is_a_finite_number_or_refused_by_name(name: str, text: str) -> None:
    try:
        parsed = QfexOptions.parse({name: text})
    except ValueError as exc:
        _names_option(exc, name)
        return
    numbers = [parsed.rate_budget, parsed.rate_window, parsed.rate_limited_backoff,
               parsed.cancel_timeout]
    assert all(math.isfinite(n) and 0 < n <= 1e6 for n in numbers), parsed
    assert all(math.isfinite(n) and n >= 0 for n in parsed.rate_weights.values()), parsed


@examples(60)
@given(st.sampled_from(sorted(ES_OPTIONS)), option_texts)
def test_every_everstrike_option_is_a_finite_number_or_refused_by_name(name: str,
                                                                        text: str) -> None:
    try:
        value = max_in_flight({name: text}) if name == "max_in_flight" else option(
            {name: text}, name, 1.0)
    except ValueError as exc:
        _names_option(exc, name)
        return
    assert value is not None and math.isfinite(value) and 0 <= value <= 1e6
    int(value)  # the session takes some as whole numbers: never inf or NaN

"""The settings a Preferences form edits beyond the first ones: theme, thousands separators
and the ``[alerts]`` table. Read, refused and saved as the rest of the file is."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.settings import (
    Alerts,
    Preferences,
    Settings,
    SettingsError,
    alerts_from,
    load_settings,
    parse_settings,
    preferences_from,
    previous_path,
    save_settings,
)

PATH = Path("settings.toml")
ACCOUNT = """
[[accounts]]
name = "desk-1"
venue = "qfex"
environment = "demo"
public_key = "pub"
"""


def test_the_new_preferences_default_to_what_existing_users_had() -> None:
    settings, _ = parse_settings("version = 2\n", PATH)
    assert settings.preferences.theme == "system"
    assert settings.preferences.thousands_separator is False
    assert settings.alerts == Alerts()


def test_theme_separator_and_alerts_are_read() -> None:
    text = ('version = 2\n[preferences]\ntheme = "dark"\nthousands_separator = true\n'
            "[alerts]\nsound = true\ntrigger_fired = false\n")
    settings, _ = parse_settings(text, PATH)
    assert settings.preferences.theme == "dark"
    assert settings.preferences.thousands_separator is True
    assert settings.alerts == Alerts(trigger_fired=False, sound=True)


@pytest.mark.parametrize(("text", "where", "line"), [
    ('[preferences]\ntheme = "blue"\n', "preferences.theme must be one of system, light, dark",
     3),
    ("[preferences]\nthousands_separator = 1\n", "preferences.thousands_separator must be true",
     3),
    ("[alerts]\nsound = 1\n", "alerts.sound must be true or false, not 1", 3),
    ('[alerts]\nclose_filled = "yes"\n', "alerts.close_filled must be true or false", 3),
    ("[alerts]\nsound = false\nbeep = true\n", "alerts has an unknown field 'beep'", 4),
    ("[alerts]\ntoken = true\n", "secrets belong in the OS keyring", 3),
    ("alerts = 3\n", "'alerts' must be a table", 2),
])
def test_a_bad_value_is_refused_with_its_line(text: str, where: str, line: int) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("version = 2\n" + text, PATH)
    assert where in caught.value.message
    assert caught.value.line == line


def test_alerts_are_left_out_of_the_file_while_every_one_is_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("# my file\nversion = 2\n" + ACCOUNT, encoding="utf-8")
    settings = load_settings(path)
    save_settings(dataclasses.replace(settings, preferences=Preferences(operator_name="me")),
                  path)
    assert "[alerts]" not in path.read_text(encoding="utf-8")


def test_alerts_go_above_the_accounts_and_keep_the_comments(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    original = "# my file\nversion = 2\n[preferences]  # mine\ntheme = \"light\"\n" + ACCOUNT
    path.write_text(original, encoding="utf-8")
    settings = load_settings(path)
    wanted = dataclasses.replace(settings, alerts=Alerts(sound=True),
                                 preferences=Preferences(theme="dark",
                                                         thousands_separator=True))
    save_settings(wanted, path)
    text = path.read_text(encoding="utf-8")
    assert text.index("[alerts]") < text.index("[[accounts]]")
    assert "# my file" in text and "[preferences]  # mine" in text
    assert 'theme = "dark"' in text and "thousands_separator = true" in text
    assert "sound = true" in text and "close_filled" not in text  # defaults stay out
    assert load_settings(path) == wanted
    assert previous_path(path).read_text(encoding="utf-8") == original


def test_a_fresh_file_writes_every_alert_once_one_differs(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    save_settings(Settings(alerts=Alerts(order_rejected=False)), path)
    loaded = load_settings(path)
    assert loaded.alerts == Alerts(order_rejected=False)
    assert "close_filled = true" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("raw", "key", "message"), [
    ({"stale_after_s": "soon"}, "stale_after_s",
     "preferences.stale_after_s must be a number of seconds above 0, at most 3600"),
    ({"large_close_notional": "abc"}, "large_close_notional",
     "preferences.large_close_notional must be an amount, e.g. 25000"),
    ({"confirm": "sometimes"}, "confirm", "preferences.confirm must be one of"),
    ({"theme": "blue"}, "theme", "preferences.theme must be one of"),
])
def test_a_form_is_checked_by_the_files_reader(raw: dict[str, object], key: str,
                                                message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        preferences_from(raw, PATH)
    assert caught.value.key == key
    assert caught.value.message.startswith(message)
    # ... and the file says exactly the same about the same value.
    value = raw[key]
    with pytest.raises(SettingsError) as in_file:
        parse_settings(f"version = 2\n[preferences]\n{key} = \"{value}\"\n", PATH)
    assert in_file.value.message == caught.value.message


def test_a_good_form_gives_the_preferences_and_alerts() -> None:
    prefs = preferences_from({"operator_name": "j", "stale_after_s": 7, "confirm": "never",
                              "theme": "light", "thousands_separator": True}, PATH)
    assert prefs == Preferences("j", 7.0, "never", None, "light", True)
    assert alerts_from({"sound": True}, PATH) == Alerts(sound=True)
    with pytest.raises(SettingsError) as caught:
        alerts_from({"sound": "on"}, PATH)
    assert caught.value.key == "sound"

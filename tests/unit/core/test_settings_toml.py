"""A save edits the user's settings file in place: only changed values are rewritten, keys the
file leaves at their default stay out, and every save keeps the previous file as .bak."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

import core.settings_toml
from core.model import Environment
from core.settings import (
    load_settings,
    parse_settings,
    previous_path,
    render_settings,
    replace_account,
    save_settings,
)
from core.venue import AccountConfig
from core.venues.qfex import QFEX

TEXT = """\
# top comment
version = 2 # v

[preferences]
operator_name = "ops"   # who

[[accounts]]
name = "a"   # first
venue = "qfex"
environment = "live"
public_key = "pk"

[accounts.options]
rate_budget = 12000   # tuned
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "settings.toml"
    p.write_text(TEXT, encoding="utf-8")
    return p


def test_saving_unchanged_settings_rewrites_nothing(path: Path) -> None:
    save_settings(load_settings(path), path)
    assert path.read_text(encoding="utf-8") == TEXT
    assert previous_path(path).read_text(encoding="utf-8") == TEXT


def test_a_changed_number_option_stays_a_number_with_its_comment(path: Path) -> None:
    settings = load_settings(path)
    account = settings.account("a")
    assert account is not None
    changed = replace_account(settings, "a", dataclasses.replace(
        account, options={"rate_budget": "9000"}))
    save_settings(changed, path)
    assert path.read_text(encoding="utf-8") == TEXT.replace("12000", "9000")
    assert load_settings(path) == changed


def test_a_preference_left_out_stays_out_until_it_differs(path: Path) -> None:
    settings = load_settings(path)
    prefs = dataclasses.replace(settings.preferences, large_close_notional=Decimal("25000.50"),
                                stale_after_s=7.5)
    save_settings(dataclasses.replace(settings, preferences=prefs), path)
    text = path.read_text(encoding="utf-8")
    assert 'operator_name = "ops"   # who\nlarge_close_notional = 25000.50\n' \
           'stale_after_s = 7.5\n\n[[accounts]]' in text \
        or 'operator_name = "ops"   # who\nstale_after_s = 7.5\n' \
           'large_close_notional = 25000.50\n\n[[accounts]]' in text
    assert "confirm" not in text  # still its default: not written
    assert load_settings(path).preferences == prefs


def test_a_renamed_account_keeps_its_place_and_comments(path: Path) -> None:
    settings = load_settings(path)
    account = settings.account("a")
    assert account is not None
    save_settings(replace_account(settings, "a", dataclasses.replace(account, name="b")), path)
    assert path.read_text(encoding="utf-8") == TEXT.replace('"a"', '"b"')


def test_a_version_1_file_keeps_its_comments_when_migrated(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    v1 = '# mine\n[[accounts]]\nname = "a" # the one\nvenue = "qfex"\npublic_key = "k"\n'
    path.write_text(v1, encoding="utf-8")
    save_settings(load_settings(path), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mine\nversion = 2\n")
    assert 'name = "a" # the one\n' in text and 'environment = "live"' in text
    assert load_settings(path).accounts == [AccountConfig("a", QFEX, Environment.LIVE, "k")]


def test_an_edit_that_would_not_read_back_falls_back_to_a_fresh_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(path)
    monkeypatch.setattr(core.settings_toml, "render", lambda *_: TEXT.replace('"pk"', '"x"'))
    text = render_settings(settings, TEXT, path)
    assert text.startswith("# Closeout settings.")
    assert parse_settings(text, path)[0] == settings

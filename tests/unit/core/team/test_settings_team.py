"""``[team]`` in settings.toml: read through the file's own checks (refused with its line),
kept as written by a save that changes something else, and absent means a desk alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import Preferences, SettingsError, load_settings, save_settings
from core.team.config import TeamConfig

FILE = '''version = 2
[preferences]
operator_name = "maria"
# the desk's shared database (its password is in the keyring)
[team]
database = "postgresql://closeout_app@127.0.0.1:5433/closeout"  # the demo cluster
desk_name = "Desk 3"
'''


def test_a_team_table_is_read_and_kept_by_a_save_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(FILE)
    settings = load_settings(path)
    assert settings.team == TeamConfig("postgresql://closeout_app@127.0.0.1:5433/closeout",
                                       "Desk 3", 30.0)
    save_settings(replace(settings, preferences=Preferences(operator_name="li")), path)
    text = path.read_text()
    assert 'operator_name = "li"' in text
    assert text.split("[team]")[1] == FILE.split("[team]")[1]  # comment, keys, order as written
    assert "# the desk's shared database" in text
    assert load_settings(path).team == settings.team


def test_no_team_table_is_a_desk_alone(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('version = 2\n[preferences]\noperator_name = "maria"\n')
    assert load_settings(path).team is None


@pytest.mark.parametrize(("table", "words"), [
    ('database = "postgresql://u:pw@127.0.0.1/db"', "keyring"),
    ('database = "postgresql://u@db.example/db?sslmode=require"', "verify-full"),
    ('database = "postgresql://u@127.0.0.1/db"\nlease_ttl_s = 0', "5 to 3600"),
    ('database = "postgresql://u@127.0.0.1/db"\npassword = "x"', "keyring"),
])
def test_a_bad_team_table_is_refused_with_its_line_and_the_file_kept(
    tmp_path: Path, table: str, words: str
) -> None:
    path = tmp_path / "settings.toml"
    text = f"version = 2\n[team]\n{table}\n"
    path.write_text(text)
    with pytest.raises(SettingsError, match=words) as info:
        load_settings(path)
    assert info.value.line is not None and info.value.line >= 2
    assert path.read_text() == text

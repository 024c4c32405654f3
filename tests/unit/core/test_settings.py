"""settings.toml: every bad input is reported with its path and left byte-for-byte alone; writes
are atomic and private; migrations are versioned and keep a backup."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import core.settings as settings_module
from core.model import Environment
from core.settings import (
    MIGRATIONS,
    SETTINGS_VERSION,
    AccountError,
    Preferences,
    Settings,
    SettingsError,
    add_account,
    backup_path,
    load_accounts,
    load_settings,
    remove_account,
    replace_account,
    save_settings,
    settings_path,
)
from core.venue import AccountConfig
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX

QFEX = AccountConfig(
    "desk-1", QFEX, Environment.LIVE, "qfex_pub_0123456789",
    {"trade_ws": "wss://trade.qfex.com/"}, {"rate_budget": "12000", "rate_weights": "add_order=2"},
)
EVERSTRIKE = AccountConfig(
    "client b", EVERSTRIKE, Environment.TESTNET, "es-key-abc",
    {"rest": "http://127.0.0.1:8080", "ws": "ws://[::1]:8081/ws"}, {"recv_window": "8000"},
)
FULL = Settings(
    accounts=[QFEX, EVERSTRIKE],
    preferences=Preferences(
        operator_name="Jo Ops", stale_after_s=2.5, confirm="large_or_live",
        large_close_notional=Decimal("25000.125"),
    ),
)

ACCOUNT = '[[accounts]]\nname = "a"\nvenue = "qfex"\nenvironment = "live"\npublic_key = "k"\n'
V2_ACCOUNT = "version = 2\n" + ACCOUNT


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.toml"


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, so only our explicit modes can explain a private file."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# ----------------------------------------------------------------------------- the happy path
def test_no_file_means_defaults_and_no_accounts(path: Path) -> None:
    assert load_settings(path) == Settings()
    assert load_accounts(path) == []
    assert Settings().version == SETTINGS_VERSION == 2
    assert not path.exists()


def test_the_default_path_is_under_the_user_config_directory() -> None:
    assert settings_path().name == "settings.toml"
    assert settings_path().parent.name == "closeout"
    assert Path(os.environ["XDG_CONFIG_HOME"]) in settings_path().parents


def test_round_trip_keeps_decimals_options_and_endpoints_exactly(
    path: Path, open_umask: None
) -> None:
    assert save_settings(FULL, path) is None
    loaded = load_settings(path)
    assert loaded == FULL
    notional = loaded.preferences.large_close_notional
    assert isinstance(notional, Decimal) and str(notional) == "25000.125"
    assert load_accounts(path) == [QFEX, EVERSTRIKE]
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]


def test_saving_replaces_a_too_open_file_with_a_private_one(path: Path, open_umask: None) -> None:
    save_settings(FULL, path)
    os.chmod(path, 0o644)
    save_settings(dataclasses.replace(FULL, accounts=[QFEX]), path)
    assert _mode(path) == 0o600
    assert load_accounts(path) == [QFEX]


def test_no_notional_and_default_preferences_round_trip(path: Path) -> None:
    plain = Settings(accounts=[QFEX])
    save_settings(plain, path)
    assert load_settings(path) == plain
    assert "large_close_notional" not in path.read_text()


def test_integer_and_boolean_options_are_read_as_text(path: Path) -> None:
    path.parent.mkdir()
    path.write_text(f'{V2_ACCOUNT}[accounts.options]\nrate_budget = 12000\n'
                    'rate_window = 1.5\n')
    (account,) = load_accounts(path)
    assert account.options == {"rate_budget": "12000", "rate_window": "1.5"}


# ----------------------------------------------------------------------------- atomic writes
def test_a_crash_before_the_rename_leaves_the_old_file_and_no_temporary(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(FULL, path)
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(settings_module.os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        save_settings(Settings(accounts=[EVERSTRIKE]), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]


def test_a_failed_fsync_leaves_the_old_file_and_no_temporary(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(FULL, path)
    before = path.read_bytes()

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(settings_module.os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output"):
        save_settings(Settings(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]


def test_the_file_is_replaced_by_rename_never_rewritten_in_place(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding the old file keeps the old bytes: a new inode arrived by rename."""
    save_settings(FULL, path)
    old_inode = path.stat().st_ino
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        renames.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(settings_module.os, "replace", spy)
    with path.open("rb") as reader:
        save_settings(Settings(accounts=[EVERSTRIKE]), path)
        assert b"desk-1" in reader.read()
    # The previous file is kept as settings.toml.bak, also by rename; then the file itself.
    assert [Path(dst).name for _, dst in renames] == ["settings.toml.bak", "settings.toml"]
    src, dst = renames[-1]
    assert dst == str(path) and Path(src).parent == path.parent
    assert path.stat().st_ino != old_inode
    assert load_accounts(path) == [EVERSTRIKE]


# ----------------------------------------------------------------------------- bad input
BAD: list[tuple[str, str, str, int | None]] = [
    # (id, file text, message fragment, line the error must point at)
    ("corrupt", "version = 2\n[[accounts]\n", "not valid TOML", 2),
    ("corrupt-value", "version = 2\n[preferences]\nconfirm = always\n", "not valid TOML", 3),
    ("missing-public-key",
     'version = 2\n\n[[accounts]]\nname = "a"\nvenue = "qfex"\nenvironment = "live"\n',
     "missing the field 'public_key'", 3),
    ("missing-environment",
     'version = 2\n[[accounts]]\nname = "a"\nvenue = "qfex"\npublic_key = "k"\n',
     "missing the field 'environment'", 2),
    ("unknown-version", "version = 9\n", "version 9 was written by a newer Closeout", 1),
    ("version-text", 'version = "2"\n', "version must be a whole number", 1),
    ("version-zero", "version = 0\n", "version must be a whole number", 1),
    ("name-a-number", V2_ACCOUNT.replace('name = "a"', "name = 7"), "name must be text", 3),
    ("empty-name", V2_ACCOUNT.replace('name = "a"', 'name = " "'), "needs a name", 3),
    ("unknown-venue", V2_ACCOUNT.replace('"qfex"', '"nope"'), "unknown venue 'nope'", 4),
    ("unknown-environment", V2_ACCOUNT.replace('"live"', '"prod"'),
     "unknown environment 'prod'", 5),
    ("typo-field", V2_ACCOUNT + 'enviroment = "demo"\n', "unknown field 'enviroment'", 7),
    ("endpoints-not-table", V2_ACCOUNT + 'endpoints = "wss://x/"\n', "must be a table", 7),
    ("endpoint-not-text", V2_ACCOUNT + "[accounts.endpoints]\ntrade_ws = 5\n",
     "trade_ws must be text", 8),
    ("option-table", V2_ACCOUNT + "[accounts.options]\nrate_budget = {a = 1}\n",
     "rate_budget must be text", 8),
    ("secret-in-account", V2_ACCOUNT + 'secret_key = "hunter2"\n', "keyring", 7),
    ("secret-in-options", V2_ACCOUNT + '[accounts.options]\napi_secret = "x"\n', "keyring", 8),
    ("password-on-top", 'version = 2\npassword = "x"\n', "keyring", 2),
    ("token-in-preferences", 'version = 2\n[preferences]\nauth_token = "x"\n', "keyring", 3),
    ("non-tls-live-url", V2_ACCOUNT + '[accounts.endpoints]\ntrade_ws = "ws://trade.example.com/"\n',
     "not encrypted", 8),
    ("plain-http-private-net", V2_ACCOUNT + '[accounts.endpoints]\nrest = "http://10.0.0.1:80"\n',
     "allowed only for loopback", 8),
    ("unknown-endpoint", V2_ACCOUNT + '[accounts.endpoints]\ntrade_wss = "wss://x/"\n',
     "no endpoint called 'trade_wss'", 8),
    ("unknown-option", V2_ACCOUNT + "[accounts.options]\nrate_budgt = 1\n",
     "Unknown QFEX option 'rate_budgt'", 8),
    ("duplicate-names", V2_ACCOUNT + ACCOUNT,
     "account names must be unique", 8),
    ("accounts-not-array", 'version = 2\naccounts = "a"\n', "array of tables", 2),
    ("unknown-top-level", "version = 2\ncolour = 1\n", "unknown field 'colour'", 2),
    ("preferences-not-table", 'version = 2\npreferences = 1\n', "must be a table", 2),
    ("confirm-unknown", 'version = 2\n[preferences]\nconfirm = "sometimes"\n',
     "confirm must be one of always, large_or_live, never", 3),
    ("stale-text", 'version = 2\n[preferences]\nstale_after_s = "5"\n',
     "stale_after_s must be a number", 3),
    ("stale-negative", 'version = 2\n[preferences]\n\nstale_after_s = -1\n',
     "stale_after_s must be a number", 4),
    ("stale-nan", "version = 2\n[preferences]\nstale_after_s = nan\n",
     "stale_after_s must be a number of seconds above 0", 3),
    ("stale-inf", "version = 2\n[preferences]\nstale_after_s = inf\n",
     "at most 3600", 3),
    ("stale-too-small-for-a-float", "version = 2\n[preferences]\nstale_after_s = 1e-400\n",
     "stale_after_s must be a number of seconds above 0", 3),
    ("deeply-nested-array", "version = 2\n[preferences]\n\nconfirm = " + "[" * 2000
     + "]" * 2000 + "\n", "preferences.confirm is nested more than", 4),
    ("integer-too-long", "version = 2\n[preferences]\nstale_after_s = 1" + "0" * 5000 + "\n",
     "preferences.stale_after_s: a number with too many digits", 3),
    ("notional-huge-exponent", "version = 2\n[preferences]\nlarge_close_notional = 1e999999999\n",
     "large_close_notional must be between", 3),
    ("notional-nan", "version = 2\n[preferences]\nlarge_close_notional = nan\n",
     "large_close_notional must be above 0", 3),
    ("duplicate-key-on-the-last-line", 'version = 2\n[preferences]\nconfirm = "always"\n'
     'confirm = "never"', "Cannot overwrite a value", 4),
    ("notional-negative", "version = 2\n[preferences]\nlarge_close_notional = -5\n",
     "large_close_notional must be above 0", 3),
    ("notional-bool", "version = 2\n[preferences]\nlarge_close_notional = true\n",
     "large_close_notional must be an amount", 3),
    ("operator-number", "version = 2\n[preferences]\noperator_name = 3\n",
     "operator_name must be text", 3),
    ("v1-with-preferences", 'version = 1\n[preferences]\noperator_name = "x"\n',
     "unknown field 'preferences' in a version 1 settings file", 2),
]


@pytest.mark.parametrize(("text", "message", "line"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_settings_are_reported_with_path_and_line_and_never_touched(
    path: Path, text: str, message: str, line: int | None
) -> None:
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    error = info.value
    assert message in error.message
    assert error.path == path and str(path) in str(error)
    assert error.line == line and f"line {line}" in str(error)
    with pytest.raises(SettingsError, match="does not load"):
        save_settings(FULL, path)
    with pytest.raises(SettingsError):
        load_accounts(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]


def test_toml_syntax_errors_carry_the_column_too(path: Path) -> None:
    path.parent.mkdir()
    path.write_text("version = 2\n[[accounts]\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert (info.value.line, info.value.column) == (2, 11)
    assert str(info.value).startswith(f"{path}, line 2, column 11: not valid TOML")


def test_a_file_that_is_not_utf8_is_reported_and_kept(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b'version = 2\n[preferences]\noperator_name = "\xff"\n')
    with pytest.raises(SettingsError, match="not UTF-8") as info:
        load_settings(path)
    assert info.value.line == 3
    with pytest.raises(SettingsError):
        save_settings(Settings(), path)
    assert path.read_bytes() == b'version = 2\n[preferences]\noperator_name = "\xff"\n'


def test_invalid_settings_are_refused_before_anything_is_written(path: Path) -> None:
    insecure = dataclasses.replace(QFEX, endpoints={"trade_ws": "ws://trade.example.com/"})
    with pytest.raises(AccountError, match="not encrypted"):
        save_settings(Settings(accounts=[insecure]), path)
    with pytest.raises(ValueError, match="confirm"):
        save_settings(Settings(preferences=Preferences(confirm="sometimes")),  # type: ignore[arg-type]
                      path)
    with pytest.raises(ValueError, match="large_close_notional"):
        save_settings(Settings(preferences=Preferences(large_close_notional=Decimal("NaN"))),
                      path)
    assert not path.exists() and not path.parent.exists()


# ----------------------------------------------------------------------------- migrations
V1_TEXT = """\
version = 1
[[accounts]]
name = "desk-1"
venue = "qfex"
public_key = "qfex_pub_0123456789"
[accounts.endpoints]
trade_ws = "wss://trade.qfex.com/"
[accounts.options]
rate_budget = 12000

[[accounts]]
name = "e"
venue = "everstrike"
environment = "testnet"
public_key = "k"
"""


def test_every_older_version_has_a_migration() -> None:
    assert set(MIGRATIONS) == set(range(1, SETTINGS_VERSION))


def test_a_v1_file_loads_migrated_and_is_not_written_by_loading(path: Path) -> None:
    path.parent.mkdir()
    path.write_text(V1_TEXT)
    loaded = load_settings(path)
    assert loaded.version == 2
    assert loaded.preferences == Preferences()
    first, second = loaded.accounts
    assert first.environment is Environment.LIVE  # v1's default, now explicit
    assert first.options == {"rate_budget": "12000"}
    assert second.environment is Environment.TESTNET
    assert path.read_text() == V1_TEXT
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]


def test_saving_a_migrated_file_keeps_the_v1_original_as_a_backup(
    path: Path, open_umask: None
) -> None:
    path.parent.mkdir()
    path.write_text(V1_TEXT)
    migrated = load_settings(path)
    backup = save_settings(migrated, path)
    assert backup == backup_path(path, 1) == path.with_name("settings.toml.v1.bak")
    assert backup.read_text() == V1_TEXT
    assert _mode(backup) == 0o600
    assert load_settings(path) == migrated
    assert "version = 2" in path.read_text()
    # Later saves write v2 over v2 and leave the original backup alone.
    assert save_settings(remove_account(migrated, "e"), path) is None
    assert backup.read_text() == V1_TEXT
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "settings.toml", "settings.toml.bak", "settings.toml.v1.bak"
    ]


def test_a_file_without_a_version_is_read_as_version_1(path: Path) -> None:
    """The first release accepted it; so must we, with v1's meaning."""
    path.parent.mkdir()
    path.write_text('[[accounts]]\nname = "a"\nvenue = "qfex"\npublic_key = "k"\n')
    (account,) = load_accounts(path)
    assert account.environment is Environment.LIVE
    save_settings(load_settings(path), path)
    assert backup_path(path, 1).exists()


def test_a_newer_version_is_refused_and_survives_a_save_attempt(path: Path) -> None:
    text = f"version = {SETTINGS_VERSION + 1}\n[future]\nfeature = true\n"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"newer Closeout.*left untouched"):
        load_settings(path)
    with pytest.raises(SettingsError, match="does not load"):
        save_settings(Settings(accounts=[QFEX]), path)
    assert path.read_text() == text
    assert not backup_path(path, SETTINGS_VERSION + 1).exists()


# ----------------------------------------------------------------------------- editing
def test_add_replace_remove_return_new_settings_and_leave_the_old_alone() -> None:
    base = Settings(accounts=[QFEX])
    added = add_account(base, EVERSTRIKE)
    assert [a.name for a in added.accounts] == ["desk-1", "client b"]
    assert base.accounts == [QFEX]
    renamed = replace_account(added, "desk-1", dataclasses.replace(QFEX, name="desk-9"))
    assert [a.name for a in renamed.accounts] == ["desk-9", "client b"]  # order kept
    assert [a.name for a in added.accounts] == ["desk-1", "client b"]
    removed = remove_account(renamed, "client b")
    assert removed.accounts == [dataclasses.replace(QFEX, name="desk-9")]
    assert renamed.account("client b") == EVERSTRIKE


@pytest.mark.parametrize(
    ("account", "field", "message"),
    [
        (dataclasses.replace(QFEX, name="desk-1"), "name", "already exists"),
        (dataclasses.replace(QFEX, name=""), "name", "needs a name"),
        (dataclasses.replace(QFEX, name=" x"), "name", "spaces"),
        (dataclasses.replace(QFEX, name="n", public_key=""), "public_key", "empty"),
        (dataclasses.replace(QFEX, name="n", endpoints={"trade_ws": "ws://example.com/"}),
         "endpoints.trade_ws", "not encrypted"),
        (dataclasses.replace(QFEX, name="n", endpoints={"rest": "ftp://x"}),
         "endpoints.rest", "unsupported scheme"),
        (dataclasses.replace(QFEX, name="n", endpoints={"ws": "wss://x/"}),
         "endpoints.ws", "no endpoint called 'ws'"),
        (dataclasses.replace(QFEX, name="n", options={"secret": "x"}),
         "options.secret", "keyring"),
        (dataclasses.replace(EVERSTRIKE, name="n", options={"recv_windw": "1"}),
         "options.recv_windw", "Unknown Everstrike option"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field(
    account: AccountConfig, field: str, message: str
) -> None:
    base = Settings(accounts=[QFEX])
    with pytest.raises(AccountError, match=message) as info:
        add_account(base, account)
    assert info.value.field == field
    assert base.accounts == [QFEX]


def test_renaming_onto_another_account_or_editing_a_missing_one_is_refused() -> None:
    both = Settings(accounts=[QFEX, EVERSTRIKE])
    with pytest.raises(AccountError, match="already exists"):
        replace_account(both, "client b", dataclasses.replace(EVERSTRIKE, name="desk-1"))
    with pytest.raises(AccountError, match="no account called 'ghost'"):
        replace_account(both, "ghost", QFEX)
    with pytest.raises(AccountError, match="no account called 'ghost'"):
        remove_account(both, "ghost")


def test_the_written_file_holds_no_secret_shaped_key(path: Path) -> None:
    save_settings(FULL, path)
    text = path.read_text().lower()
    body = text.split("\n", 1)[1]  # past the header comment that mentions the keyring
    assert not any(word in body for word in ("secret", "password", "private", "token"))


def test_everstrike_options_load_per_account(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[[accounts]]\nname="e"\nvenue="everstrike"\nenvironment="testnet"\n'
                    'public_key="k"\n[accounts.options]\nrecv_window=8000\nkeepalive="4"\n')
    (account,) = load_accounts(path)
    assert account.options == {"recv_window": "8000", "keepalive": "4"}


def test_an_existing_open_config_directory_is_made_private(path: Path, open_umask: None) -> None:
    path.parent.mkdir(mode=0o755)
    save_settings(FULL, path)
    assert _mode(path.parent) == 0o700

"""``[team]``: an address with no password, TLS checked off loopback, a desk name and a lease
time in range; every bad value refused naming its key."""

from __future__ import annotations

import socket
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from core.team.config import (
    TeamConfig,
    TeamConfigError,
    keyring_user,
    parse_team,
    with_password,
)

LOCAL = "postgresql://closeout_app@127.0.0.1:5433/closeout"
REMOTE = "postgresql://closeout_app@db.desk.internal/closeout"


def test_a_loopback_address_with_defaults() -> None:
    config = parse_team({"database": LOCAL})
    assert config == TeamConfig(LOCAL, None, 30.0)
    assert config.loopback
    assert config.name == socket.gethostname()
    assert parse_team({"database": LOCAL, "desk_name": " Desk 3 "}).name == "Desk 3"


def test_off_loopback_verify_full_is_the_default_and_added_to_the_connection() -> None:
    config = parse_team({"database": REMOTE, "desk_name": "Desk 3",
                         "lease_ttl_s": Decimal("12")})
    assert not config.loopback and config.lease_ttl_s == 12.0
    dsn = with_password(config, "p@ss word")
    query = parse_qs(urlsplit(dsn).query)
    assert query == {"sslmode": ["verify-full"], "password": ["p@ss word"]}
    assert keyring_user(config) == f"team:{REMOTE}"
    assert "p@ss" not in keyring_user(config)


def test_loopback_gets_no_tls_demand() -> None:
    assert "sslmode" not in with_password(parse_team({"database": LOCAL}), "x")
    assert parse_team({"database": "postgresql://u@localhost/db"}).loopback
    assert parse_team({"database": "postgresql://u@[::1]:5432/db"}).loopback


@pytest.mark.parametrize(("raw", "key", "words"), [
    ({}, "database", "postgresql://"),
    ({"database": 5}, "database", "postgresql://"),
    ({"database": "mysql://u@h/db"}, "database", "address"),
    ({"database": "postgresql:///db"}, "database", "address"),
    ({"database": "postgresql://u:secret@h/db"}, "database", "keyring"),
    ({"database": "postgresql://u@h/db?password=x&sslmode=verify-full"}, "database", "keyring"),
    ({"database": "postgresql://h/db"}, "database", "user"),
    ({"database": "postgresql://u@h:port/db"}, "database", "port"),
    ({"database": "postgresql://u@db.example/db?sslmode=require"}, "database", "verify-full"),
    ({"database": "postgresql://u@db.example/db?sslmode=disable"}, "database", "verify-full"),
    ({"database": LOCAL, "desk_name": ""}, "desk_name", "1 to 64"),
    ({"database": LOCAL, "desk_name": "x" * 65}, "desk_name", "1 to 64"),
    ({"database": LOCAL, "desk_name": 3}, "desk_name", "1 to 64"),
    ({"database": LOCAL, "lease_ttl_s": 1}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": 1e9}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": float("nan")}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": Decimal("NaN")}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": Decimal("4.99")}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": True}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "lease_ttl_s": "30"}, "lease_ttl_s", "5 to 3600"),
    ({"database": LOCAL, "password": "x"}, "password", "keyring"),
    ({"database": LOCAL, "region": "x"}, "region", "unknown key"),
])
def test_every_bad_value_is_refused_by_name(raw: dict[str, object], key: str,
                                            words: str) -> None:
    with pytest.raises(TeamConfigError, match=words) as info:
        parse_team(raw)
    assert info.value.key == key
    assert str(info.value).startswith(f"team.{key}: ")


def test_a_table_is_required() -> None:
    with pytest.raises(TeamConfigError, match="must be a table"):
        parse_team("postgresql://u@h/db")

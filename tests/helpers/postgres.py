"""A real PostgreSQL for the tests: one throwaway cluster per test session, and a fresh team
database per test, copied from a prepared template (a copy takes a fraction of a second)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from core.team.cluster import LocalCluster
from core.team.setup import APP_ROLE, DATABASE, prepare

__all__ = ["TeamDatabase", "team_cluster", "team_db"]

APP_PASSWORD = "test-app-password"  # a throwaway cluster's, on loopback only
_names = itertools.count(1)


@dataclass(frozen=True)
class TeamDatabase:
    cluster: LocalCluster
    name: str

    @property
    def app_dsn(self) -> str:
        return self.cluster.dsn(user=APP_ROLE, password=APP_PASSWORD, dbname=self.name)

    @property
    def admin_dsn(self) -> str:
        return self.cluster.dsn(dbname=self.name)


@pytest.fixture(scope="session")
def team_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(sync_initdb=False).start()
    try:
        prepare(cluster.dsn(), app_password=APP_PASSWORD)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def team_db(team_cluster: LocalCluster) -> Iterator[TeamDatabase]:
    name = f"{DATABASE}_t{next(_names)}"
    with psycopg.connect(team_cluster.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(DATABASE)))
    yield TeamDatabase(team_cluster, name)
    if team_cluster.port:
        with psycopg.connect(team_cluster.dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

"""Preparing a team database: the app's role, the database, the schema and the grants.

An administrator runs this once per team database (``closeout team setup``, or the test and
demo clusters). It is idempotent: running it again changes nothing that is already right.
The app itself connects as the role made here, which can add records but never change them.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import sql

from core.team.schema import APP_GRANTS, SCHEMA, SCHEMA_VERSION

__all__ = ["APP_ROLE", "DATABASE", "prepare"]

APP_ROLE: Final = "closeout_app"
DATABASE: Final = "closeout"


def prepare(admin_dsn: str, *, app_password: str, role: str = APP_ROLE,
            database: str = DATABASE) -> None:
    """Make ``role`` (login, password ``app_password``) and ``database`` owned by the admin,
    then the schema and the role's grants in it. ``admin_dsn`` names any database of the
    cluster, as a role that may create roles and databases."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        statement = "ALTER ROLE {} LOGIN PASSWORD {}" if exists else \
            "CREATE ROLE {} LOGIN PASSWORD {}"
        admin.execute(sql.SQL(statement).format(sql.Identifier(role), sql.Literal(app_password)))
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (database,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    with psycopg.connect(admin_dsn, dbname=database) as db:
        db.execute(SCHEMA)
        db.execute(sql.SQL(APP_GRANTS.replace("{role}", "{}")).format(*[sql.Identifier(role)] * 5))
        db.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        db.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        if db.execute("SELECT count(*) FROM closeout_schema").fetchone() == (0,):
            db.execute("INSERT INTO closeout_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
        else:  # an older database: the schema above brought it up to date
            db.execute("UPDATE closeout_schema SET version = %s WHERE version < %s",
                       (SCHEMA_VERSION, SCHEMA_VERSION))

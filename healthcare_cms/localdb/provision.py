"""Creating the project database on its server when it does not exist yet."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def create_database_if_missing(conn_params: dict[str, Any]) -> bool:
    """Create the database `conn_params` names, through the server's `postgres` database.

    Returns True when this call created it. Another process creating it first is as good.
    """
    name = conn_params["dbname"]
    with psycopg.connect(**{**conn_params, "dbname": "postgres"}, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
    return True

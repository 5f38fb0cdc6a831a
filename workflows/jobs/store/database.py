"""Plain psycopg connections for the engine's long-lived sessions (LISTEN, leadership)."""

from __future__ import annotations

import contextlib

import psycopg
from django.db import connections


def connect(*, autocommit: bool = True) -> psycopg.Connection:
    """A new connection to the project database, outside Django's per-thread handling."""
    params = dict(connections["default"].get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    conn = psycopg.connect(**params, autocommit=autocommit)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


def close_quietly(conn: psycopg.Connection | None) -> None:
    """Close a connection that may already be broken."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()

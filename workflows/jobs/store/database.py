"""Plain psycopg connections for the engine's own sessions (claims, outcomes, the supervisor,
the wake-up listener), outside Django's per-thread handling.

Behind a transaction-pooling PgBouncer (`JOBS['transaction_pooling']`, docs/operations.md) a
connection is a different server session at every transaction, so nothing here relies on
session state: no server-side prepared statements, no session `SET` (settings a connection
needs are applied with `set_config(..., true)` inside each of its transactions), and LISTEN
only on the direct connection of `JOBS['listen_database_url']`, or not at all (nodes poll)."""

from __future__ import annotations

import contextlib

import psycopg
from django.db import connections
from psycopg.pq import TransactionStatus

from workflows.jobs.conf import jobs_settings


class EngineConnection(psycopg.Connection):
    """A psycopg connection that can carry per-transaction settings: when `local_settings`
    holds a statement, every statement run in autocommit is wrapped in a transaction that
    applies it first (set_config(..., true) lasts until that transaction ends), so a pooled
    server session never keeps them."""

    local_settings: str = ""

    def execute(self, query, params=None, *, prepare=None, binary=False):
        if (
            not self.local_settings
            or not self.autocommit
            or self.info.transaction_status != TransactionStatus.IDLE
        ):
            return super().execute(query, params, prepare=prepare, binary=binary)
        with self.transaction():
            super().execute(self.local_settings)
            return super().execute(query, params, prepare=prepare, binary=binary)


def transaction_pooling() -> bool:
    """Whether the project database is reached through a transaction-pooling PgBouncer."""
    return jobs_settings().transaction_pooling


def prepare_statements() -> bool | None:
    """What to pass as `prepare=` for the engine's hot statements: server-side prepared
    statements only on a direct connection (they live in one server session)."""
    return None if transaction_pooling() else True


def listen_database_url() -> str:
    return jobs_settings().listen_database_url


def connect(*, autocommit: bool = True) -> EngineConnection:
    """A new connection to the project database (through PgBouncer when it is pooled)."""
    params = dict(connections["default"].get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    if transaction_pooling():
        params["prepare_threshold"] = None  # psycopg would prepare after 5 executions
    conn = EngineConnection.connect(**params, autocommit=autocommit)
    # TimeZone is one of the parameters PgBouncer tracks per client and restores on every
    # server connection it lends, so this holds through transaction pooling too.
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def listen_connection() -> EngineConnection | None:
    """A connection that may LISTEN: JOBS['listen_database_url'] (direct to PostgreSQL) when
    set; otherwise the project database unless it is pooled; None when nodes must poll."""
    url = listen_database_url()
    if url:
        conn = EngineConnection.connect(url, autocommit=True)
        conn.execute("SET TIME ZONE 'UTC'")
        return conn
    if transaction_pooling():
        return None
    return connect()


def settings_statement(settings: dict[str, str], *, local: bool) -> str:
    """`SELECT set_config(name, value, is_local), ...`: local ones last until the transaction
    ends. Names and values are the engine's own constants, never user input."""
    scope = "true" if local else "false"
    calls = ", ".join(
        f"set_config('{name}', '{value}', {scope})" for name, value in settings.items()
    )
    return f"SELECT {calls}"


def configure_session(conn: EngineConnection, settings: dict[str, str]) -> None:
    """Give a connection settings (lock_timeout, statement_timeout...): for its session on a
    direct connection, for each of its transactions when pooled."""
    if transaction_pooling():
        conn.local_settings = settings_statement(settings, local=True)
    else:
        conn.execute(settings_statement(settings, local=False))


CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)
TOO_MANY_CONNECTIONS = "53300"


def why_unavailable(exc: BaseException) -> str:
    """A log line's reason for a connection error: fixed text, never the server's message."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate == TOO_MANY_CONNECTIONS or "too many clients" in str(cause):
        return "the database has no free connection (max_connections reached)"
    return f"the database is unavailable ({type(cause).__name__})"


def close_quietly(conn: psycopg.Connection | None) -> None:
    """Close a connection that may already be broken."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()

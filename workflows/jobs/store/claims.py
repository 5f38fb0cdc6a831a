"""Claiming jobs for a node: jobs_claim() in one round trip, and the connection that listens
for the NOTIFY of jobs becoming available (the same one on a direct database; a direct one, or
none, behind a transaction-pooling PgBouncer: see store.database)."""

from __future__ import annotations

from workflows.jobs.store import database, sql


def claiming_connection():
    """A new autocommit connection for jobs_claim() (pooled when the database is)."""
    return database.connect()


def listening_connection():
    """A new autocommit connection that receives the engine's wake-up notifications, or None
    when the database is pooled and no JOBS['listen_database_url'] is set (nodes poll)."""
    conn = database.listen_connection()
    if conn is not None:
        conn.execute(f"LISTEN {sql.NOTIFY_CHANNEL}")
    return conn


def listens_on_claims() -> bool:
    """Whether the claiming connection itself can LISTEN (a direct database, no separate
    listen URL): one connection then does both."""
    return not database.transaction_pooling() and not database.listen_database_url()


def claim(conn, *, node: str, capacity: int, queues: list[str], start: int) -> dict:
    """jobs_claim(): {'jobs': [...], 'free', 'room', 'cap', 'contended'} (see schema.sql)."""
    (result,) = conn.execute(sql.CLAIM, [node, capacity, queues, start]).fetchone()
    return result


def ping() -> None:
    with database.connect() as conn:
        conn.execute(sql.PING)


def count_in_state(state: str) -> int:
    with database.connect() as conn:
        (count,) = conn.execute(sql.COUNT_IN_STATE, [state]).fetchone()
    return count

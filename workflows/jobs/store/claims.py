"""Claiming jobs for a node: jobs_claim() in one round trip, on a connection that also
listens for the NOTIFY of jobs becoming available."""

from __future__ import annotations

from workflows.jobs.store import database, sql


def listening_connection():
    """A new autocommit connection that receives the engine's wake-up notifications."""
    conn = database.connect()
    conn.execute(f"LISTEN {sql.NOTIFY_CHANNEL}")
    return conn


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

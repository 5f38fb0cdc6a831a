"""A node's own rows and claims: registration and heartbeats (jobs_node), the leader's lease
(jobs_lease), and the statements its supervisor runs over the jobs it claimed.

Every function takes the node's autocommit psycopg connection."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import datetime

from workflows.jobs.store import database, sql
from workflows.jobs.store.maintenance import notify_queues

# The supervisor's own session: no statement may hold up heartbeats for long.
SUPERVISOR_SESSION = {"lock_timeout": "2s", "statement_timeout": "15s"}
# A wedged node settling its jobs on the way out: bounded, whatever holds a lock.
EXIT_SESSION = {"lock_timeout": "2s", "statement_timeout": "10s"}


def configure_session(conn, settings: dict[str, str]) -> None:
    """For the connection's session, or for each of its transactions behind PgBouncer."""
    database.configure_session(conn, settings)


def register(conn, *, name: str, pid: int, queues: list[str], concurrency: int) -> None:
    conn.execute(
        sql.NODE_REGISTER,
        {
            "name": name,
            "host": socket.gethostname(),
            "pid": pid,
            "queues": queues,
            "concurrency": concurrency,
        },
    )


def heartbeat(conn, name: str, *, stopping: bool) -> bool:
    """False when the node's row is gone: the lifeline declared it dead."""
    return conn.execute(sql.NODE_HEARTBEAT, [stopping, name]).rowcount == 1


def forget(conn, name: str) -> None:
    """A node leaving: its lease and its row."""
    conn.execute(sql.LEADER_RELEASE, [name])
    conn.execute(sql.NODE_DELETE, [name])


def release_lease(conn, name: str) -> None:
    conn.execute(sql.LEADER_RELEASE, [name])


def acquire_lease(conn, name: str, seconds: float) -> bool:
    """Take or renew the leader's lease; False when another node holds it."""
    row = conn.execute(sql.LEADER_ACQUIRE, {"node": name, "seconds": seconds}).fetchone()
    return row is not None


def paused_queues(conn) -> set[str]:
    return {name for (name,) in conn.execute(sql.PAUSED_QUEUES).fetchall()}


def cancelled_among(conn, job_ids: list[int]) -> set[int]:
    return {job_id for (job_id,) in conn.execute(sql.CANCELLED_AMONG, [job_ids]).fetchall()}


def executing_on(conn, name: str) -> list[tuple[int, int, datetime]]:
    """(id, attempt, attempted_at) of the jobs executing on this node in the database."""
    return [tuple(row) for row in conn.execute(sql.NODE_EXECUTING, {"node": name}).fetchall()]


def claims_not_owned(conn, name: str, claims: Iterable[tuple[int, int, int]]) -> set[tuple]:
    """Of (id, attempt, attempted_at in epoch us) claims, those the node no longer owns."""
    claims = list(claims)
    rows = conn.execute(
        sql.CLAIMS_NOT_OWNED,
        {
            "ids": [c[0] for c in claims],
            "attempts": [c[1] for c in claims],
            "at_us": [c[2] for c in claims],
            "node": name,
        },
    ).fetchall()
    return {tuple(row) for row in rows}


def release_claims(conn, name: str, claims: Iterable[tuple[int, int, datetime]]) -> int:
    """Put claims that will not start back to available, skipping rows that another
    transaction holds (released at a later sweep); wakes the nodes of their queues."""
    queues = []
    for job_id, attempt, attempted_at in claims:
        row = conn.execute(
            sql.RELEASE_UNSTARTED_SKIP_LOCKED,
            {"id": job_id, "attempt": attempt, "node": name, "attempted_at": attempted_at},
        ).fetchone()
        if row:
            queues.append(row[0])
    notify_queues(conn, queues)
    return len(queues)

"""Writing the node's deferred completions: many jobs' outcomes in one statement.

A worker whose attempt completed without writing to the database (no perform writes, no
recorded result) does not write the outcome itself: it leaves the attempt in the node's
completion ring (RunningRegistry.defer_completion) and takes its next job. The claiming
process writes every waiting completion in one statement before it claims again, so the rows
it frees count as free in that claim; the main process writes what is left when the node
stops, before it releases the claims no worker started.

Guarantees, as for a completion written by the worker:
- fencing: each row is completed only if the node still owns that attempt (same guard);
- never lost: the ring is shared memory owned by the node's main process, so a worker or a
  claiming process killed in between loses nothing; only the whole node killed (SIGKILL,
  power) loses the completions not yet written, and those jobs run again (at least once, as
  for any crash before an outcome is durable);
- the orphan sweep counts ring entries as known, so it never releases a completed job.
"""

from __future__ import annotations

import logging

from workflows.jobs.node.runtime import NodeRuntime, from_epoch_us
from workflows.jobs.store.outcomes import complete_many

logger = logging.getLogger("workflows.jobs")


def write_completions(conn, runtime: NodeRuntime, *, locked: bool = True) -> int:
    """Write the completions waiting in the ring; returns how many rows were completed.
    A database error propagates and leaves the ring as it was (the next call writes them)."""
    waiting = runtime.registry.completions(locked=locked)
    if not waiting:
        return 0
    completed = complete_many(
        conn,
        runtime.name,
        [(done.job_id, done.attempt, from_epoch_us(done.attempted_at_us)) for done in waiting],
    )
    if locked:
        runtime.registry.clear_completions(waiting)
    for done in waiting:
        if done.job_id not in completed:
            logger.warning(
                "job %s attempt %s: outcome 'completed' not recorded; the job was rescued, "
                "cancelled or released while it ran",
                done.job_id,
                done.attempt,
            )
    return len(completed)

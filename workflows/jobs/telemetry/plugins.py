"""A run of one of the leader's plugins (stager, lifeline, pruner) or of a cron slot, as a
`plugin_ran` signal and a `jobs_plugin_runs_total{plugin,outcome}` count:

    with plugin_run("stager") as counts:
        counts["staged"] = stage_due_jobs(...)

An exception in the block is counted (outcome "error", the signal's `error` is its type name)
and raised on, so the supervisor handles it as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from workflows.jobs import signals
from workflows.jobs.telemetry import metrics

logger = logging.getLogger("workflows.jobs")


@contextmanager
def plugin_run(plugin: str) -> Iterator[dict[str, int]]:
    counts: dict[str, int] = {}
    began = time.monotonic()
    error: str | None = None
    try:
        yield counts
    except BaseException as exc:
        error = type(exc).__name__
        raise
    finally:
        try:
            metrics.plugin_ran(plugin, error is None)
            signals.send(
                signals.plugin_ran,
                plugin=plugin,
                duration_seconds=time.monotonic() - began,
                counts=counts,
                error=error,
            )
        except Exception as problem:
            logger.error("telemetry of plugin %s failed (%s)", plugin, type(problem).__name__)

"""An exception raised by perform() as one Sentry event per attempt.

Tagged worker, queue, attempt, max_attempts, job_id and node, and fingerprinted by worker and
exception type, so one failing worker is one issue in Sentry however many jobs fail. Whatever
the product's sentry_sdk.init says, the engine's event processor drops local variables,
`extra` and request data from the event and passes exception messages through
JOBS['error_scrubber']: args, meta and patient data never leave. The attempt log's logger is
ignored by Sentry's logging integration, so a discard's ERROR line is not a second event.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import ignore_logger

ignore_logger("workflows.jobs.attempts")


def _scrubbed(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    from workflows.jobs.execution.attempt import scrub

    event.pop("extra", None)
    event.pop("request", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    return event


def capture_attempt_exception(exc: BaseException, job, node: str) -> None:
    if not sentry_sdk.get_client().is_active():
        return
    with sentry_sdk.new_scope() as scope:
        scope.clear_breadcrumbs()
        for key, value in (
            ("worker", job.worker),
            ("queue", job.queue),
            ("attempt", job.attempt),
            ("max_attempts", job.max_attempts),
            ("job_id", job.pk),
            ("node", node),
        ):
            scope.set_tag(key, str(value))
        scope.fingerprint = ["workflows.jobs", job.worker, type(exc).__name__]
        scope.add_event_processor(_scrubbed)
        scope.capture_exception(exc)

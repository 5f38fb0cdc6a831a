"""The two vocabularies side by side, as pure functions: Django's task priority and the
engine's, and the engine's job states as Django's TaskResultStatus values.

Priority: Django's runs from -100 to 100, larger first; the engine's from 0 to 9, smaller
first. Ten bands of twenty keep the order (a larger Django priority never maps to a later
engine one):

    Django  100..81  80..61  60..41  40..21  20..1  0..-19  -20..-39  -40..-59  -60..-79  -80..-100
    engine     0       1       2       3       4      5        6         7         8          9

Back from the engine, band e reads as Django's 100 - 20 * e (0 -> 100, 5 -> 0, 9 -> -80), a
value that maps to e again. A job enqueued through the backend keeps its exact Django priority
in meta, so get_result reports the value it was given.
"""

from __future__ import annotations

DJANGO_MIN_PRIORITY = -100
DJANGO_MAX_PRIORITY = 100
ENGINE_FIRST_PRIORITY = 0
ENGINE_LAST_PRIORITY = 9
_BAND = 20  # Django priorities per engine priority

# Job state -> TaskResultStatus value (READY, RUNNING, SUCCESSFUL, FAILED).
STATUS_OF_STATE = {
    "available": "READY",
    "scheduled": "READY",
    "retryable": "READY",
    "executing": "RUNNING",
    "completed": "SUCCESSFUL",
    "discarded": "FAILED",
    "cancelled": "FAILED",
}


def engine_priority(django_priority: int) -> int:
    """Django's -100..100 (larger first) as the engine's 0..9 (smaller first)."""
    if not DJANGO_MIN_PRIORITY <= django_priority <= DJANGO_MAX_PRIORITY:
        raise ValueError(
            f"a task priority is from {DJANGO_MIN_PRIORITY} to {DJANGO_MAX_PRIORITY}; "
            f"got {django_priority!r}"
        )
    return min(ENGINE_LAST_PRIORITY, (DJANGO_MAX_PRIORITY - django_priority) // _BAND)


def django_priority(engine_priority: int) -> int:
    """The engine's 0..9 as a Django priority in that band (its top value)."""
    if not ENGINE_FIRST_PRIORITY <= engine_priority <= ENGINE_LAST_PRIORITY:
        raise ValueError(f"an engine priority is from 0 to 9; got {engine_priority!r}")
    return DJANGO_MAX_PRIORITY - _BAND * engine_priority


def task_status(state: str) -> str:
    """The TaskResultStatus value of a job state."""
    return STATUS_OF_STATE[state]

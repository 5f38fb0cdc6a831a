"""Retry delays. Pure functions: the policy is tested without a database."""

from __future__ import annotations

import random

BASE_SECONDS = 15
MAX_SCALE_ATTEMPTS = 20
JITTER_FRACTION = 0.10


def default_backoff(attempt: int, max_attempts: int, *, rng: random.Random | None = None) -> int:
    """Oban's default: 15 + 2^attempt seconds, plus up to 10% jitter.

    With more than 20 attempts, the attempt is rescaled to a 20-attempt scale first so that the
    total span stays about two weeks.
    """
    attempt = max(1, attempt)
    if max_attempts > MAX_SCALE_ATTEMPTS:
        attempt = max(1, round(attempt / max_attempts * MAX_SCALE_ATTEMPTS))
    delay = BASE_SECONDS + 2**attempt
    jitter = (rng or random).random() * JITTER_FRACTION * delay
    return int(delay + jitter)


def backoff_bounds(attempt: int, max_attempts: int) -> tuple[int, int]:
    """The smallest and largest delay default_backoff can give (for tests and docs)."""
    if max_attempts > MAX_SCALE_ATTEMPTS:
        attempt = max(1, round(max(1, attempt) / max_attempts * MAX_SCALE_ATTEMPTS))
    delay = BASE_SECONDS + 2 ** max(1, attempt)
    return delay, int(delay * (1 + JITTER_FRACTION))

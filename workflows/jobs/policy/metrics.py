"""The per-minute metrics' wait-time buckets and the percentiles read from them (pure)."""

from __future__ import annotations

from collections.abc import Sequence

# Upper bounds in ms of the wait buckets; the last bucket holds everything above the last bound.
WAIT_BUCKET_BOUNDS_MS: tuple[int, ...] = (10, 50, 100, 500, 1_000, 5_000, 30_000, 300_000)
OUTCOMES: tuple[str, ...] = ("completed", "failed", "discarded", "cancelled")
KEEP_DAYS = 30


def bucket_percentile(buckets: Sequence[int], fraction: float) -> int | None:
    """The upper bound (ms) of the bucket holding the `fraction` quantile; None without data;
    -1 when it lies above the last bound."""
    total = sum(buckets)
    if total == 0:
        return None
    wanted = fraction * total
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= wanted:
            return WAIT_BUCKET_BOUNDS_MS[index] if index < len(WAIT_BUCKET_BOUNDS_MS) else -1
    return -1

"""Pure rules for what the engine stores of an attempt: error text PostgreSQL accepts, and
delays that cannot overflow a timestamp."""

from __future__ import annotations

import math
from typing import Any

MAX_ERROR_CHARS = 8000
# Backoff and snooze delays are clamped to this, so no delay can overflow a timestamp.
MAX_DELAY_SECONDS = 10 * 365 * 86400.0


def storable_text(text: str) -> str:
    """Text that PostgreSQL's jsonb accepts: no NUL, no lone surrogates, bounded size."""
    text = text.replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[-MAX_ERROR_CHARS:]


def clamp_delay(seconds: Any) -> float:
    """A delay in seconds that PostgreSQL can add to now(): finite, 0..MAX_DELAY_SECONDS."""
    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if math.isnan(value):
        return 0.0
    return min(max(value, 0.0), MAX_DELAY_SECONDS)

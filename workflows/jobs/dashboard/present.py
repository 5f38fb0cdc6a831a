"""How the dashboard shows values: UTC times with seconds and a relative hint, and a job's
args, meta and errors as the viewing user may see them (masked without jobs.view_job_args;
error text always through the patient-data scrubber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from workflows.jobs.args_view import masked_values
from workflows.jobs.execution.attempt import scrub

LOCAL_ZONE = ZoneInfo("America/Sao_Paulo")
ERROR_LINE_CHARS = 160


def utc_text(moment: datetime | None) -> str:
    """`2026-12-01 07:51:57Z`."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def parsed_time(value: Any) -> datetime | None:
    """A time stored as ISO text (error entries' "at"), or None if it is not one."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def local_text(moment: datetime | None, zone: ZoneInfo = LOCAL_ZONE) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(abs(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def relative_text(moment: datetime | None, now: datetime | None = None) -> str:
    """ "3 min ago" or "in 2 h"."""
    if moment is None:
        return ""
    delta = ((now or timezone.now()) - moment).total_seconds()
    return f"{age_text(delta)} ago" if delta >= 0 else f"in {age_text(delta)}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def shown_data(value: Any, *, raw: bool) -> str:
    """Args or meta as the user may see them: as stored, or keys with masked values."""
    return pretty_json(value if raw else masked_values(value))


def error_text(text: Any) -> str:
    # Masked when stored; masked again for rows stored before the mask knew a form.
    return scrub(str(text or ""))


def error_line(job) -> str:
    """The last line of the last error, masked, cut to one short line."""
    line = scrub(job.last_error_line)
    return line if len(line) <= ERROR_LINE_CHARS else line[: ERROR_LINE_CHARS - 1] + "…"


CHART_WIDTH = 600
ROW_HEIGHT = 40


def chart_rows(chart) -> list[dict[str, Any]]:
    """SVG bars for a selectors.Chart: one row per outcome, bar heights scaled to the peak."""
    slot_width = CHART_WIDTH / max(1, len(chart.slots))
    rows = []
    for position, (outcome, counts) in enumerate(chart.series.items()):
        top = position * (ROW_HEIGHT + 14) + 14
        bars = []
        for index, count in enumerate(counts):
            if not count:
                continue
            height = max(1.0, (ROW_HEIGHT - 2) * count / chart.peak)
            bars.append(
                {
                    "x": round(index * slot_width, 2),
                    "y": round(top + ROW_HEIGHT - height, 2),
                    "width": round(max(1.0, slot_width - 1), 2),
                    "height": round(height, 2),
                    "title": f"{utc_text(chart.slots[index])}: {count} {outcome}",
                }
            )
        rows.append({"outcome": outcome, "label_y": top - 3, "total": sum(counts), "bars": bars})
    return rows


def wait_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 0:
        return "> 5 min"
    return f"≤ {ms} ms" if ms < 1000 else f"≤ {ms // 1000} s"

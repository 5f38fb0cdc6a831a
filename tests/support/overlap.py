"""Measure, from the test workers' own records, how many jobs ran at the same time."""

from __future__ import annotations


def max_overlap(rows: list[dict], *, after=None) -> int:
    """rows: executions with kind 'start'/'done' per job (RecordingWorker). Jobs that started
    and never finished count until the end."""
    events = []
    for row in rows:
        if after is not None and row["kind"] == "start" and row["started"] < after:
            continue
        events.append((row["started"], 1 if row["kind"] == "start" else -1, row["job_id"]))
    started = {job for _, delta, job in events if delta == 1}
    events = [e for e in events if e[2] in started]
    events.sort(key=lambda event: (event[0], event[1]))  # a finish before a start at equal times
    running = peak = 0
    for _, delta, _ in events:
        running += delta
        peak = max(peak, running)
    return peak

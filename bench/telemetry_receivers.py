"""Receivers of the "on" runs of bench/telemetry_overhead.py: what a product's receiver costs
at least (a call per signal with the full keyword arguments)."""

from __future__ import annotations

from collections import Counter

from workflows.jobs import signals

seen: Counter = Counter()


def _count(sender, **kwargs) -> None:
    seen[kwargs.get("outcome", "started")] += 1


signals.job_started.connect(_count, weak=False)
signals.job_finished.connect(_count, weak=False)

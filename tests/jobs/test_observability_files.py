"""The alert rules and the Grafana dashboard shipped in docs/observability/ are valid and name
only metrics the engine exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "observability"
EXPORTED = {
    "jobs_executed_total",
    "jobs_duration_seconds_bucket",
    "jobs_queue_time_seconds_bucket",
    "jobs_node_busy_workers",
    "jobs_node_workers",
    "jobs_plugin_runs_total",
    "jobs_signal_receiver_errors_total",
    "jobs_queue_jobs",
    "jobs_queue_limit",
    "jobs_queue_paused",
    "jobs_queue_oldest_available_seconds",
    "jobs_nodes_alive",
    "jobs_dead_letters",
    "jobs_cron_last_slot_timestamp_seconds",
}


def _names(expr: str) -> set[str]:
    return set(re.findall(r"\bjobs_[a-z_]+", expr))


@pytest.mark.skipif(not shutil.which("promtool"), reason="Debian's prometheus is not installed")
def test_the_alert_rules_pass_promtool():
    result = subprocess.run(
        ["promtool", "check", "rules", str(DOCS / "jobs-alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _names((DOCS / "jobs-alerts.yml").read_text()) <= EXPORTED


def test_the_grafana_dashboard_names_only_exported_metrics():
    dashboard = json.loads((DOCS / "grafana-jobs-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs and all(_names(expr) <= EXPORTED for expr in exprs)
    used = set().union(*(_names(e) for e in exprs))
    assert {"jobs_executed_total", "jobs_queue_jobs", "jobs_dead_letters"} <= used


def test_the_exported_names_are_what_the_engine_defines():
    from prometheus_client import CollectorRegistry

    from workflows.jobs.telemetry import metrics

    registry = CollectorRegistry()
    for metric in (metrics.EXECUTED, metrics.DURATION, metrics.QUEUE_TIME, metrics.PLUGIN_RUNS):
        registry.register(metric)
    names = {sample_name for family in registry.collect() for sample_name in [family.name]}
    assert {"jobs_executed", "jobs_duration_seconds", "jobs_plugin_runs"} <= names

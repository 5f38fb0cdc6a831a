"""Observability of a real qcluster node: its metrics endpoint and the web app's, scraped by a
real Prometheus (Debian's package); signals sent in the worker processes; the attempt log on
the node's console. Synthetic patient data in args and errors reaches none of them."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.polling import wait_until
from tests.support.prometheus import (
    Prometheus,
    WebApp,
    free_port,
    http_get,
    promtool_check_metrics,
)
from tests.support.telemetry_workers import (
    PATIENT_ARGS,
    PATIENT_CNS,
    PATIENT_CPF,
    PATIENT_NAME,
    OkWorker,
    OutcomeWorker,
    PatientFailureWorker,
)
from workflows.jobs import Job, check_queue, insert_all

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not (shutil.which("prometheus") and shutil.which("promtool")),
        reason="Debian's prometheus is not installed (scripts/dev.py test installs it as root)",
    ),
]
TOKEN = "cluster-metrics-token-0123456789"
JOBS = 40
SECRETS = (PATIENT_CPF, PATIENT_CNS, PATIENT_NAME, "183016613180008", "Aparecida")


@pytest.fixture
def started(clusters, executions):
    from tests.support.clusters import database_url

    metrics_port = free_port()
    node = clusters.start(
        concurrency=2,
        env={
            "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.telemetry_workers",
            "JOBS_METRICS_PORT": str(metrics_port),
            "TELEMETRY_TEST_RECEIVERS": "1",
            "JOBS_STAGE_INTERVAL_SECONDS": "0.5",
        },
    )
    web = WebApp(env={**os.environ, "DATABASE_URL": database_url(), "METRICS_TOKEN": TOKEN})
    web.start()
    prometheus = Prometheus(
        node_targets=[f"127.0.0.1:{metrics_port}"],
        web_target=f"127.0.0.1:{web.port}",
        web_token=TOKEN,
    )
    try:
        node.wait_ready()
        yield node, metrics_port, web, prometheus
    finally:
        prometheus.stop()
        web.stop()


def test_prometheus_scrapes_the_node_and_the_web_app(started, executions):
    node, metrics_port, web, prometheus = started
    assert f"metrics at http://127.0.0.1:{metrics_port}/metrics" in node.output()
    OkWorker.enqueue({"n": "later"}, queue="email", scheduled_at=timezone.now() + timedelta(days=1))
    insert_all([OkWorker.new({"n": i, **PATIENT_ARGS}) for i in range(JOBS)])
    failing = PatientFailureWorker.enqueue(dict(PATIENT_ARGS))
    outcomes = [OutcomeWorker.enqueue({"outcome": o}) for o in ("discard", "cancel", "snooze")]

    def settled() -> bool:
        done = Job.objects.filter(worker__endswith="OkWorker", state="completed").count()
        ends = Job.objects.filter(pk__in=[failing.pk] + [j.pk for j in outcomes])
        return done == JOBS and all(
            j.state in ("discarded", "cancelled", "completed") for j in ends
        )

    wait_until(settled, timeout=120, interval=0.2, message="the jobs to be run")

    # Exactly one job_finished per attempt, sent in the worker processes, with its outcome,
    # although a receiver raises in every one of them.
    finished = [row for row in executions() if row["kind"].startswith("finished:")]
    by_job: dict[int, list[str]] = {}
    for row in finished:
        by_job.setdefault(row["job_id"], []).append(row["kind"].split(":", 1)[1])
    assert by_job[failing.pk] == ["retryable", "discarded"]
    assert [by_job[j.pk] for j in outcomes] == [
        ["discarded"],
        ["cancelled"],
        ["snoozed", "completed"],
    ]
    assert sum(1 for kinds in by_job.values() if kinds == ["completed"]) == JOBS
    assert Job.objects.get(pk=failing.pk).state == "discarded"
    assert [Job.objects.get(pk=j.pk).state for j in outcomes] == [
        "discarded",
        "cancelled",
        "completed",
    ]

    # Both endpoints pass promtool's lint and hold no patient data.
    node_text = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
    web_text = http_get(f"http://127.0.0.1:{web.port}/metrics", token=TOKEN)
    for text in (node_text, web_text):
        checked = promtool_check_metrics(text)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        for secret in SECRETS:
            assert secret not in text
    assert prometheus.check_config().returncode == 0

    prometheus.start()
    worker = "tests.support.telemetry_workers.OkWorker"

    def scraped() -> bool:
        return (
            prometheus.value(f'sum(jobs_executed_total{{worker="{worker}",outcome="completed"}})')
            == JOBS
            and prometheus.value('jobs_queue_jobs{queue="email",state="scheduled"}') == 1
        )

    wait_until(scraped, timeout=90, interval=0.5, message="prometheus to scrape both endpoints")
    failing_worker = "tests.support.telemetry_workers.PatientFailureWorker"
    for outcome, count in (("retryable", 1), ("discarded", 1)):
        query = f'sum(jobs_executed_total{{worker="{failing_worker}",outcome="{outcome}"}})'
        assert prometheus.value(query) == count
    assert prometheus.value(f'sum(jobs_duration_seconds_count{{worker="{worker}"}})') == JOBS
    assert prometheus.value(f'sum(jobs_queue_time_seconds_count{{worker="{worker}"}})') == JOBS
    assert prometheus.value("jobs_node_workers") == 2
    assert prometheus.value("jobs_node_busy_workers") is not None
    assert prometheus.value('sum(jobs_plugin_runs_total{plugin="stager",outcome="ok"})') >= 1
    assert prometheus.value("sum(jobs_signal_receiver_errors_total)") >= JOBS
    for name in ("default", "email"):
        expected = check_queue(name)
        for state in ("available", "scheduled", "retryable"):
            query = f'jobs_queue_jobs{{queue="{name}",state="{state}"}}'
            assert prometheus.value(query) == expected[state], query
        assert prometheus.value(f'jobs_queue_limit{{queue="{name}"}}') == expected["limit"]
    assert prometheus.value('jobs_dead_letters{queue="default"}') == 2
    assert prometheus.value("jobs_nodes_alive") == 1
    # No label value anywhere carries patient data.
    for series in prometheus.query('{__name__=~"jobs_.+"}'):
        for secret in SECRETS:
            assert secret not in str(series["metric"])

    # The node's console shows the attempt log lines, masked.
    output = node.output()
    assert "PatientFailureWorker (default) attempt 1/2 failed: ValueError" in output
    assert "attempt 2/2 discarded" in output
    for secret in SECRETS:
        assert secret not in output


def test_a_nodes_worker_processes_report_each_failed_attempt_to_sentry(clusters, executions):
    """SENTRY_DSN set on a real node: the worker processes (forked after the SDK started)
    send one event per failed attempt, over the SDK's HTTP transport, without patient data."""
    from tests.support.sentry_server import dsn, events, start_server, stop_server

    server = start_server()
    try:
        node = clusters.start(
            concurrency=2,
            env={
                "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.telemetry_workers",
                "SENTRY_DSN": dsn(server),
                "SENTRY_ENVIRONMENT": "test",
                "JOBS_STAGE_INTERVAL_SECONDS": "0.5",
            },
        ).wait_ready()
        failing = PatientFailureWorker.enqueue(dict(PATIENT_ARGS))
        wait_until(
            lambda: Job.objects.get(pk=failing.pk).state == "discarded",
            timeout=60,
            message="the failing job to be discarded",
        )
        # A last failure after the discard: once its event is in, the discard's ERROR log line
        # would have been too, had it become an event.
        marker = OutcomeWorker.enqueue({"outcome": "fail"})

        def marker_arrived() -> bool:
            return any(e["tags"].get("job_id") == str(marker.pk) for e in events(server))

        wait_until(marker_arrived, timeout=60, interval=0.2, message="the marker's event")
        received = [e for e in events(server) if e["tags"].get("job_id") == str(failing.pk)]
        assert sorted(e["tags"]["attempt"] for e in received) == ["1", "2"]
        assert all(e["tags"]["node"] != "" and e["tags"]["queue"] == "default" for e in received)
        assert len(events(server)) == 3
        raw = b"".join(body for _path, body in server.received).decode()
        for secret in SECRETS:
            assert secret not in raw
        node.stop()
    finally:
        stop_server(server)

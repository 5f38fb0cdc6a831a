"""The web app's /metrics: the cluster's state from the database, behind METRICS_TOKEN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.support.telemetry_workers import PATIENT_ARGS, OkWorker, PatientFailureWorker
from workflows.jobs import Job, check_queue, pause_queue, scale_queue
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db
TOKEN = "test-metrics-token-0123456789"


def samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def test_off_without_a_token_and_refused_with_a_wrong_one(client):
    with override_settings(METRICS_TOKEN=""):
        assert scrape(client).status_code == 404
    with override_settings(METRICS_TOKEN=TOKEN):
        assert scrape(client, token=None).status_code == 401
        assert scrape(client, token="wrong").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
        assert scrape(client).status_code == 200


@override_settings(METRICS_TOKEN=TOKEN)
def test_queue_gauges_match_check_queue(client):
    for i in range(3):
        OkWorker.enqueue({"n": i})
    OkWorker.enqueue({"n": 9}, scheduled_at=timezone.now() + timedelta(hours=1))
    Job.objects.filter(state="available").update(scheduled_at=timezone.now() - timedelta(minutes=2))
    PatientFailureWorker.enqueue(dict(PATIENT_ARGS), queue="email")
    drain_queue("email", with_scheduled=True)  # discarded after 2 attempts: a dead letter
    pause_queue("email")
    scale_queue("default", 7)
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = samples(response.content.decode())
    for name in ("default", "email"):
        expected = check_queue(name)
        for state in ("available", "scheduled", "retryable"):
            key = ("jobs_queue_jobs", (("queue", name), ("state", state)))
            assert found[key] == expected[state], (name, state)
        executing = ("jobs_queue_jobs", (("queue", name), ("state", "executing")))
        assert found[executing] == expected["running"]
        assert found[("jobs_queue_limit", (("queue", name),))] == expected["limit"]
        assert found[("jobs_queue_paused", (("queue", name),))] == int(expected["paused"])
    assert found[("jobs_queue_limit", (("queue", "default"),))] == 7
    assert found[("jobs_dead_letters", (("queue", "email"),))] == 1
    oldest = found[("jobs_queue_oldest_available_seconds", (("queue", "default"),))]
    assert 110 <= oldest <= 600
    assert found[("jobs_queue_oldest_available_seconds", (("queue", "email"),))] == 0
    assert found[("jobs_nodes_alive", ())] == 0
    text = response.content.decode()
    for secret in PATIENT_ARGS.values():
        assert secret not in text


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_last_cron_slot_of_each_crontab_worker(client):
    from workflows.jobs.node.cron import crontab, insert_cron_job

    entry = crontab()[0]
    insert_cron_job(entry.worker, entry.expression, "2026-11-30T10:00:00+00:00")
    insert_cron_job(entry.worker, entry.expression, "2026-11-30T11:00:00+00:00")
    found = samples(scrape(client).content.decode())
    key = ("jobs_cron_last_slot_timestamp_seconds", (("worker", entry.worker),))
    assert found[key] == datetime(2026, 11, 30, 11, tzinfo=UTC).timestamp()

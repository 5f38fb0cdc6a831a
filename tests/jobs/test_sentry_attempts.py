"""An exception in perform() reaches Sentry once per attempt, through the real SDK and its HTTP
transport, to a local server standing in for the DSN's host: tagged, fingerprinted, and with
no args, meta, local variables or patient data in the envelopes it receives."""

from __future__ import annotations

import pytest
import sentry_sdk

from healthcare_cms.observability import init_sentry
from tests.support.polling import wait_until
from tests.support.sentry_server import dsn, events, start_server, stop_server
from tests.support.telemetry_workers import (
    PATIENT_ARGS,
    PATIENT_CNS,
    PATIENT_CPF,
    PATIENT_NAME,
    OkWorker,
    OutcomeWorker,
    PatientFailureWorker,
)
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db
SECRETS = (PATIENT_CPF, PATIENT_CNS, PATIENT_NAME, "183016613180008", "Aparecida", "Souza")


@pytest.fixture
def sentry_server():
    server = start_server()
    init_sentry(dsn(server), environment="test")
    try:
        yield server
    finally:
        sentry_sdk.flush()
        sentry_sdk.init()  # disable again
        stop_server(server)


def test_each_failed_attempt_is_one_event_without_patient_data(sentry_server):
    job = PatientFailureWorker.enqueue(dict(PATIENT_ARGS), meta={"patient_phone": "11987654321"})
    OkWorker.enqueue(dict(PATIENT_ARGS))
    OutcomeWorker.enqueue({"outcome": "discard", **PATIENT_ARGS})  # ERROR log line, no event
    counts = drain_queue("default", with_scheduled=True)
    assert counts["failure"] == 1 and counts["discard"] == 2
    sentry_sdk.flush()
    wait_until(lambda: len(events(sentry_server)) >= 2, timeout=30, message="two events")
    sentry_sdk.flush()
    received = events(sentry_server)
    assert len(received) == 2, [e.get("exception") for e in received]
    for attempt, event in enumerate(received, start=1):
        tags = event["tags"]
        tags = dict(tags) if isinstance(tags, list) else tags
        assert tags["worker"] == "tests.support.telemetry_workers.PatientFailureWorker"
        assert tags["queue"] == "default"
        assert tags["attempt"] == str(attempt) and tags["max_attempts"] == "2"
        assert tags["job_id"] == str(job.pk)
        assert tags["node"].startswith("test-process.")
        assert event["fingerprint"] == [
            "workflows.jobs",
            "tests.support.telemetry_workers.PatientFailureWorker",
            "ValueError",
        ]
        (exception,) = event["exception"]["values"]
        assert exception["type"] == "ValueError"
        assert "[CPF]" in exception["value"] and "[CNS]" in exception["value"]
        for frame in exception["stacktrace"]["frames"]:
            assert "vars" not in frame
        assert "extra" not in event or not event["extra"]
    raw = b"".join(body for _path, body in sentry_server.received).decode()
    for secret in (*SECRETS, "11987654321", "patient_phone", "patient_name"):
        assert secret not in raw

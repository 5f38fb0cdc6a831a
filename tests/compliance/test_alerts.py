"""One alert per incident, a recovery notice when it ends, acknowledgement by people."""

import pytest

from compliance.alerts import alert_acknowledge, alert_raise, alert_resolve
from compliance.models import Alert
from tests.factories import UserFactory
from workflows.jobs import Job
from workflows.jobs.testing import all_enqueued

pytestmark = pytest.mark.django_db


def _raise(key=""):
    return alert_raise(
        kind="infrastructure",
        code="database_unhealthy",
        incident_key=key,
        summary="database check failed",
        details={"check": "database"},
    )


def test_the_same_ongoing_problem_alerts_once_and_counts_occurrences():
    first = _raise()
    for _ in range(5):
        again = _raise()
    assert again.pk == first.pk
    first.refresh_from_db()
    assert first.occurrences == 6
    assert len(all_enqueued(args={"event": "raised"})) == 1


def test_different_incident_keys_are_different_incidents():
    _raise("email")
    _raise("default")
    assert Alert.objects.count() == 2


def test_the_end_of_the_problem_sends_one_recovery_and_a_new_failure_is_a_new_incident():
    alert = _raise()
    assert alert_resolve(code="database_unhealthy").pk == alert.pk
    assert alert_resolve(code="database_unhealthy") is None
    recoveries = [job for job in Job.objects.all() if job.args.get("event") == "recovered"]
    assert len(recoveries) == 1
    fresh = _raise()
    assert fresh.pk != alert.pk


def test_acknowledging_records_who_and_when_and_closes_event_alerts():
    ops = UserFactory(role="operations")
    condition = _raise()
    alert_acknowledge(alert=condition, user=ops)
    assert condition.acknowledged_by == ops and condition.resolved_at is None
    event = alert_raise(
        kind="operations", code="job_discarded", incident_key="w", summary="jobs failing"
    )
    alert_acknowledge(alert=event, user=ops)
    assert event.resolved_at is not None

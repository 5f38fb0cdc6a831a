"""The health check against a real local HTTP server that answers, fails and hangs."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compliance.health import check_regulator, health_check_run
from compliance.models import Alert, HealthCheckResult
from tests.support.workers import FailingWorker
from workflows.jobs import Job, insert_all
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


class Regulator(BaseHTTPRequestHandler):
    mode = "ok"

    def do_GET(self):
        if Regulator.mode == "hang":
            time.sleep(8)
        status = 200 if Regulator.mode == "ok" else 503
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def regulator(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Regulator)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.REGULATOR_HEALTH_URL = f"http://127.0.0.1:{server.server_port}/health"
    Regulator.mode = "ok"
    yield Regulator
    server.shutdown()
    server.server_close()


def _results():
    return {r.name: r for r in HealthCheckResult.objects.all()}


def test_everything_healthy_is_recorded_and_raises_nothing(regulator):
    sync_queues()
    health_check_run()
    results = _results()
    assert {
        "database",
        "regulator_api",
        "analyzer_lgpd",
        "analyzer_claims",
        "analyzer_cfm",
        "queue_depth",
        "discarded_jobs",
    } <= set(results)
    assert all(result.ok for result in results.values()), {n: r.detail for n, r in results.items()}
    assert not Alert.objects.exists()


def test_a_failing_regulator_api_alerts_once_per_incident_and_recovers(regulator):
    sync_queues()
    regulator.mode = "fail"
    health_check_run()
    health_check_run()
    alert = Alert.objects.get(code="regulator_api_down")
    assert alert.kind == "integration" and alert.occurrences == 2
    assert "503" in alert.details["detail"]
    regulator.mode = "ok"
    health_check_run()
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_a_hanging_regulator_api_times_out_after_five_seconds(regulator):
    regulator.mode = "hang"
    started = time.monotonic()
    check = check_regulator()
    assert not check.ok and "timed out" in check.detail
    assert 4.5 < time.monotonic() - started < 7.5


def test_a_job_discarded_after_its_attempts_raises_an_operations_alert_with_a_masked_error():
    sync_queues()
    FailingWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    health_check_run()
    alert = Alert.objects.get(code="job_discarded")
    assert alert.kind == "operations" and alert.details["worker"].endswith("FailingWorker")
    assert "RuntimeError" in alert.details["last_error"]
    assert "529.982.247-25" not in str(alert.details) and "[CPF]" in alert.details["last_error"]


def test_a_deep_queue_raises_an_operations_alert_until_it_drains(settings):
    from tests.support.workers import RecordingWorker

    sync_queues()
    settings.JOBS_QUEUE_DEPTH_ALERT = 5
    insert_all([RecordingWorker.new({}) for _ in range(6)])
    health_check_run()
    alert = Alert.objects.get(code="queue_depth", incident_key="default")
    assert alert.details["available"] == 6
    Job.objects.all().delete()
    health_check_run()
    alert.refresh_from_db()
    assert alert.resolved_at is not None

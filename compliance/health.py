"""The periodic health check: each check gives a result; failures become alerts (once per
incident) and recoveries close them."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from compliance.alerts import alert_raise, alert_resolve
from compliance.models import AlertKind, AlertSeverity, HealthCheckResult
from healthcare_cms.privacy.masking import mask_patient_data

REGULATOR_TIMEOUT_SECONDS = 5
KEEP_RESULTS = timedelta(days=7)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    latency_ms: int = 0
    detail: str = ""


def _timed(name: str, probe) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or "ok"
        ok = True
    except Exception as exc:  # a failed probe is a result, not a crash of the check
        detail = mask_patient_data(f"{type(exc).__name__}: {exc}")[:300]
        ok = False
    return Check(name, ok, int((time.monotonic() - started) * 1000), detail)


def check_database() -> Check:
    def probe():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed("database", probe)


def check_regulator(url: str | None = None) -> Check | None:
    url = url if url is not None else settings.REGULATOR_HEALTH_URL
    if not url:
        return None

    def probe():
        request = urllib.request.Request(url, headers={"User-Agent": "healthcare-cms-health/1"})
        with urllib.request.urlopen(request, timeout=REGULATOR_TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
        return "HTTP 200"

    return _timed("regulator_api", probe)


def check_analyzers() -> list[Check]:
    from workflows.analyzers import ANALYZER_NAMES, self_test

    checks = []
    for name in ANALYZER_NAMES:

        def probe(name=name):
            result = self_test(name)
            if not result["ok"]:
                raise RuntimeError(f"self-test failed: {result['detail']}")
            return f"findings as expected ({result['duration_ms']} ms)"

        checks.append(_timed(f"analyzer_{name}", probe))
    return checks


def check_job_engine(*, since) -> list[Check]:
    """Jobs discarded after spending their attempts, and queues deeper than the threshold,
    become operations alerts."""
    from workflows.jobs import Job, Outcome, queues_overview

    threshold = settings.JOBS_QUEUE_DEPTH_ALERT
    deep = []
    for queue in queues_overview():
        if queue["available"] > threshold:
            deep.append(queue["name"])
            alert_raise(
                kind=AlertKind.OPERATIONS,
                code="queue_depth",
                incident_key=queue["name"],
                summary=f"queue {queue['name']} has {queue['available']} available jobs "
                f"(threshold {threshold})",
                details={
                    "queue": queue["name"],
                    "available": queue["available"],
                    "threshold": threshold,
                },
            )
        else:
            alert_resolve(code="queue_depth", incident_key=queue["name"])
    failed = Job.objects.filter(state="discarded", discarded_at__gte=since).order_by("discarded_at")
    # Spent its attempts failing (not a worker's deliberate Discard).
    spent = [job for job in failed if job.last_outcome == Outcome.FAILED]
    for job in spent:
        alert_raise(
            kind=AlertKind.OPERATIONS,
            code="job_discarded",
            incident_key=job.worker,
            severity=AlertSeverity.WARNING,
            summary=f"{job.worker_name} jobs are failing: job {job.pk} was discarded after "
            f"{job.attempt} attempt(s)",
            details={
                "worker": job.worker,
                "queue": job.queue,
                "job_id": job.pk,
                "last_error": mask_patient_data(job.last_error_line)[:300],
            },
        )
    return [
        Check("queue_depth", not deep, detail=", ".join(deep) or "all below threshold"),
        Check("discarded_jobs", not spent, detail=f"{len(spent)} discarded since last check"),
    ]


def _alert(check: Check) -> None:
    code, kind = {
        "database": ("database_unhealthy", AlertKind.INFRASTRUCTURE),
        "regulator_api": ("regulator_api_down", AlertKind.INTEGRATION),
    }.get(check.name, ("wasm_plugin_error", AlertKind.INFRASTRUCTURE))
    key = "" if check.name in ("database", "regulator_api") else check.name
    if check.ok:
        alert_resolve(code=code, incident_key=key)
    else:
        alert_raise(
            kind=kind,
            code=code,
            incident_key=key,
            severity=AlertSeverity.CRITICAL,
            summary=f"health check '{check.name}' failed: {check.detail}"[:300],
            details={"check": check.name, "detail": check.detail},
        )


def health_check_run() -> list[HealthCheckResult]:
    previous = HealthCheckResult.objects.order_by("-checked_at").first()
    since = previous.checked_at if previous else timezone.now() - timedelta(minutes=10)
    checks = [check_database()]
    regulator = check_regulator()
    if regulator is not None:
        checks.append(regulator)
    checks.extend(check_analyzers())
    for check in checks:
        _alert(check)
    checks.extend(check_job_engine(since=since))
    results = HealthCheckResult.objects.bulk_create(
        [
            HealthCheckResult(name=c.name, ok=c.ok, latency_ms=c.latency_ms, detail=c.detail[:300])
            for c in checks
        ]
    )
    HealthCheckResult.objects.filter(checked_at__lt=timezone.now() - KEEP_RESULTS).delete()
    return results

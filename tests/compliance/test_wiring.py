"""The compliance workers' options and the product crontab, as the issues fix them."""

import pytest
from django.conf import settings

from compliance.workers import (
    ComplianceAuditWorker,
    EmailWorker,
    HealthCheckWorker,
    LGPDRetentionWorker,
    MonthlyAuditWorker,
    WeeklyReportWorker,
)
from workflows.jobs.checks import check_jobs_configuration
from workflows.medical.workers import MedicalWorkflowWorker


def test_the_product_crontab_points_at_the_compliance_workers():
    assert settings.PRODUCT_CRONTAB == [
        ("0 3 * * *", "compliance.workers.ComplianceAuditWorker"),
        ("0 * * * *", "compliance.workers.LGPDRetentionWorker"),
        ("*/5 * * * *", "compliance.workers.HealthCheckWorker"),
        ("0 2 * * 0", "compliance.workers.WeeklyReportWorker"),
        ("0 1 1 * *", "compliance.workers.MonthlyAuditWorker"),
    ]
    assert check_jobs_configuration() == []


@pytest.mark.parametrize(
    ("worker", "queue", "max_attempts", "timeout"),
    [
        (LGPDRetentionWorker, "compliance_check", 5, 3000),
        (ComplianceAuditWorker, "compliance_check", 3, 1800),
        (EmailWorker, "email", 5, 30),
        (HealthCheckWorker, "default", 1, 120),
        (WeeklyReportWorker, "compliance_check", 3, None),
        (MonthlyAuditWorker, "compliance_check", 3, None),
        (MedicalWorkflowWorker, "medical_workflow", 3, 300),
    ],
)
def test_worker_options(worker, queue, max_attempts, timeout):
    assert (worker.queue, worker.max_attempts) == (queue, max_attempts)
    assert worker().timeout(None) == timeout


def test_workers_that_commit_as_they_go_are_not_transactional():
    assert not LGPDRetentionWorker.transactional and not EmailWorker.transactional
    assert ComplianceAuditWorker.transactional and MedicalWorkflowWorker.transactional

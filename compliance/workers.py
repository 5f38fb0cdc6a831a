"""The compliance jobs. Each does one thing: call its service."""

from __future__ import annotations

from django.utils import timezone

from compliance import audits, health, reports, retention
from compliance.emails import NothingToSend, UnknownEmailType
from workflows.jobs import Discard, Job, Worker


def _slot(job: Job):
    """The cron slot a scheduled job stands for (its run time when inserted by hand)."""
    from datetime import datetime

    slot = (job.meta or {}).get("cron_slot")
    return datetime.fromisoformat(slot) if slot else timezone.now()


class LGPDRetentionWorker(Worker):
    """Hourly: apply the retention policies in bounded batches."""

    queue = "compliance_check"
    max_attempts = 5
    transactional = False  # each batch commits on its own: no long transaction, no long lock

    def timeout(self, job: Job) -> int:
        return 50 * 60

    def perform(self, job: Job):
        retention.retention_run(dry_run=False)


class ComplianceAuditWorker(Worker):
    """Daily at 03:00 UTC: unlogged patient-data access, CFM status, consent."""

    queue = "compliance_check"
    max_attempts = 3

    def timeout(self, job: Job) -> int:
        return 30 * 60

    def perform(self, job: Job):
        audits.compliance_audit_run(now=_slot(job))


class EmailWorker(Worker):
    """Sends one e-mail, once: a retry after a successful send sends nothing."""

    queue = "email"
    max_attempts = 5
    # The delivery record must commit the moment the SMTP server accepted the message.
    transactional = False

    def timeout(self, job: Job) -> int:
        return 30

    def perform(self, job: Job):
        from compliance.mailer import email_send

        try:
            email_send(email_type=job.args.get("email_type"), args=job.args, job_id=job.pk)
        except (UnknownEmailType, NothingToSend) as exc:
            return Discard(str(exc))
        return None


class HealthCheckWorker(Worker):
    """Every 5 minutes: database, regulator API, analyzers, the job engine itself."""

    queue = "default"
    max_attempts = 1

    def timeout(self, job: Job) -> int:
        return 120

    def perform(self, job: Job):
        health.health_check_run()


class WeeklyReportWorker(Worker):
    queue = "compliance_check"
    max_attempts = 3

    def perform(self, job: Job):
        reports.weekly_report(ending=_slot(job))


class MonthlyAuditWorker(Worker):
    queue = "compliance_check"
    max_attempts = 3

    def perform(self, job: Job):
        reports.monthly_audit(ending=_slot(job))

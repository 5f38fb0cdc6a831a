"""The compliance jobs. Each does one thing: call its service."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from compliance import audits, health, reports, retention
from compliance.emails import NothingToSend, UnknownEmailType
from workflows.jobs import Discard, Job, Worker


class BadCronSlot(ValueError):
    """meta.cron_slot is not an ISO 8601 date-time with a time zone."""


def _slot(job: Job) -> datetime:
    """The cron slot a scheduled job stands for (its run time when inserted by hand)."""
    slot = (job.meta or {}).get("cron_slot")
    if slot is None:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(slot) if isinstance(slot, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadCronSlot(
            f"meta.cron_slot must be an ISO 8601 date-time with a time zone "
            f"(e.g. 2026-11-29T03:00:00+00:00); got {str(slot)[:40]!r}."
        )
    return moment


class _ForItsCronSlot:
    """perform() of a cron job that acts for its slot: run_for(slot), or Discard when
    meta.cron_slot is malformed (retrying cannot mend it). Mixed into Worker subclasses."""

    def perform(self, job: Job):
        try:
            slot = _slot(job)
        except BadCronSlot as exc:
            return Discard(str(exc))
        self.run_for(slot)
        return None

    def run_for(self, slot: datetime) -> None:
        raise NotImplementedError


class LGPDRetentionWorker(Worker):
    """Hourly: apply the retention policies in bounded batches."""

    queue = "compliance_check"
    max_attempts = 5
    transactional = False  # each batch commits on its own: no long transaction, no long lock

    def timeout(self, job: Job) -> int:
        return 50 * 60

    def perform(self, job: Job):
        retention.retention_run(dry_run=False)


class ComplianceAuditWorker(_ForItsCronSlot, Worker):
    """Daily at 03:00 UTC: unlogged patient-data access, CFM status, consent."""

    queue = "compliance_check"
    max_attempts = 3

    def timeout(self, job: Job) -> int:
        return 30 * 60

    def run_for(self, slot: datetime) -> None:
        audits.compliance_audit_run(now=slot)


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


class WeeklyReportWorker(_ForItsCronSlot, Worker):
    queue = "compliance_check"
    max_attempts = 3

    def run_for(self, slot: datetime) -> None:
        reports.weekly_report(ending=slot)


class MonthlyAuditWorker(_ForItsCronSlot, Worker):
    queue = "compliance_check"
    max_attempts = 3

    def run_for(self, slot: datetime) -> None:
        reports.monthly_audit(ending=slot)

"""Retention: apply each enabled policy in bounded batches, each its own short transaction.

Idempotent: a row a policy has acted on no longer matches it, so a second run the same hour
changes nothing. Every batch writes an audit entry; every run records its counts. Each policy
runs on its own: one that fails is recorded on the run and raises an alert, the others still run.
The audit log's cut-off is the database's (compliance_audit_log_cutoff, migration 0005).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from compliance.alerts import alert_raise, alert_resolve
from compliance.audit import audit_record
from compliance.models import (
    AlertKind,
    AlertSeverity,
    RetentionPolicy,
    RetentionPolicyKey,
    RetentionRun,
)
from healthcare_cms.privacy.masking import mask_patient_data

logger = logging.getLogger(__name__)

ACTOR = "system:retention"
SAMPLE_SIZE = 20
FAILED_ALERT_CODE = "retention_policy_failed"
ERROR_TEXT_LIMIT = 300  # characters of a failure's message logged (masked), never stored


@dataclass(frozen=True)
class PolicySql:
    due: str  # WHERE clause of rows the policy acts on (parameter: cutoff)
    apply: str  # statement acting on one batch (parameters: cutoff, batch); RETURNING id
    object_type: str
    action: str


USER_LAST_SEEN = "coalesce(last_activity_at, last_login, date_joined)"

POLICY_SQL = {
    RetentionPolicyKey.INACTIVE_USERS: PolicySql(
        due=f"FROM accounts_user WHERE deleted_at IS NULL AND {USER_LAST_SEEN} < %(cutoff)s",
        apply=f"""
WITH picked AS (
  SELECT id FROM accounts_user WHERE deleted_at IS NULL AND {USER_LAST_SEEN} < %(cutoff)s
   ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
UPDATE accounts_user u SET deleted_at = now(), is_active = false,
       email = 'deleted-user-' || u.id || '@pseudonymised.invalid',
       full_name = 'Deleted user ' || u.id, crm = '',
       password = '!' || md5(random()::text || clock_timestamp()::text)
  FROM picked WHERE u.id = picked.id
RETURNING u.id""",
        object_type="accounts.user",
        action="retention.user_pseudonymised",
    ),
    RetentionPolicyKey.MEDICAL_POSTS: PolicySql(
        due="FROM content_post WHERE archived_at IS NULL AND medical_category <> 'none' "
        "AND created_at < %(cutoff)s",
        apply="""
WITH picked AS (
  SELECT id FROM content_post
   WHERE archived_at IS NULL AND medical_category <> 'none' AND created_at < %(cutoff)s
   ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
UPDATE content_post p SET archived_at = now() FROM picked WHERE p.id = picked.id
RETURNING p.id""",
        object_type="content.post",
        action="retention.post_archived",
    ),
    RetentionPolicyKey.AUDIT_LOG: PolicySql(
        due="FROM compliance_auditlog WHERE occurred_at < %(cutoff)s",
        # The database decides: the function runs as the table's owner and deletes only rows
        # past its own cut-off (the policy row's days before now()); the trigger checks again.
        apply="SELECT id FROM compliance_audit_log_purge(%(batch)s) AS id",
        object_type="compliance.auditlog",
        action="retention.audit_purged",
    ),
}


def cutoff_for(policy: RetentionPolicy, now: datetime) -> datetime:
    """The policy's cut-off (pure): rows older than this are due. 24-hour days, as the
    database's compliance_audit_log_cutoff counts them."""
    return now - timedelta(days=policy.retention_days)


def _policy_cutoff(policy: RetentionPolicy, now: datetime) -> datetime:
    """The cut-off a run acts on: the audit log's comes from the database's clock and policy
    row (the only one its trigger accepts); the others from `now`."""
    if policy.key != RetentionPolicyKey.AUDIT_LOG:
        return cutoff_for(policy, now)
    # Its own (sub)transaction: a failure here must not abort a caller's transaction for the
    # policies that follow.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT compliance_audit_log_cutoff(now())")
        (cutoff,) = cursor.fetchone()
    # NULL: the policy row is disabled or gone in the database; nothing is due.
    return cutoff if cutoff is not None else datetime.min.replace(tzinfo=now.tzinfo)


@dataclass
class PolicyPlan:
    policy: str
    cutoff: datetime
    due: int
    sample_ids: list[int] = field(default_factory=list)


def retention_plan(*, now: datetime | None = None) -> list[PolicyPlan]:
    """What a run would change now, without changing it (manage.py retention --dry-run)."""
    now = now or timezone.now()
    plans = []
    for policy in RetentionPolicy.objects.filter(enabled=True):
        statements = POLICY_SQL[policy.key]
        cutoff = _policy_cutoff(policy, now)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) {statements.due}", {"cutoff": cutoff})
            (due,) = cursor.fetchone()
            cursor.execute(
                f"SELECT id {statements.due} ORDER BY id LIMIT {SAMPLE_SIZE}", {"cutoff": cutoff}
            )
            sample = [row[0] for row in cursor.fetchall()]
        plans.append(PolicyPlan(policy.key, cutoff, due, sample))
    return plans


def _apply_batch(policy: RetentionPolicy, cutoff: datetime) -> list[int]:
    statements = POLICY_SQL[policy.key]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statements.apply, {"cutoff": cutoff, "batch": max(policy.batch_size, 1)})
        ids = sorted(row[0] for row in cursor.fetchall())
        if ids:
            audit_record(
                actor=ACTOR,
                action=statements.action,
                object_type=statements.object_type,
                object_id=f"{ids[0]}..{ids[-1]}",
                details={
                    "policy": policy.key,
                    "count": len(ids),
                    "ids": ids,
                    "cutoff": cutoff.isoformat(),
                },
            )
    return ids


def _apply_policy(run: RetentionRun, policy: RetentionPolicy, now: datetime) -> None:
    cutoff = _policy_cutoff(policy, now)
    run.cutoffs[policy.key] = cutoff.isoformat()
    run.counts[policy.key] = 0
    while True:
        started = time.monotonic()
        ids = _apply_batch(policy, cutoff)
        run.longest_batch_ms = max(run.longest_batch_ms, int((time.monotonic() - started) * 1000))
        run.batches += 1
        run.counts[policy.key] += len(ids)
        if len(ids) < max(policy.batch_size, 1):
            break


def _failure(exc: Exception) -> dict[str, str]:
    """What a failed policy leaves on its run and alert: the error's class and SQLSTATE only.
    A database error's message can quote a row's values (patient data), so it is not stored."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return {"error": type(cause).__name__, "sqlstate": str(getattr(cause, "sqlstate", "") or "")}


def _record_failure(run: RetentionRun, policy: RetentionPolicy, exc: Exception) -> None:
    failure = _failure(exc)
    run.errors[policy.key] = failure
    first_line = (str(exc).splitlines() or [""])[0][:ERROR_TEXT_LIMIT]
    logger.error(
        "retention policy %s failed (%s %s: %s); the other policies still run",
        policy.key,
        failure["error"],
        failure["sqlstate"],
        mask_patient_data(first_line),
    )
    alert_raise(
        kind=AlertKind.COMPLIANCE,
        code=FAILED_ALERT_CODE,
        incident_key=policy.key,
        severity=AlertSeverity.CRITICAL,
        summary=f"Retention policy {policy.key} failed: {failure['error']}",
        details={"policy": policy.key, **failure},
    )


def retention_run(*, dry_run: bool = False, now: datetime | None = None) -> RetentionRun:
    """Apply every enabled policy (or, dry, count what each would change). A policy that fails
    is recorded in run.errors and raises a compliance alert, which its next success resolves;
    the policies after it run regardless."""
    now = now or timezone.now()
    run = RetentionRun.objects.create(dry_run=dry_run)
    if dry_run:
        plans = retention_plan(now=now)
        run.counts = {plan.policy: plan.due for plan in plans}
        run.cutoffs = {plan.policy: plan.cutoff.isoformat() for plan in plans}
    else:
        for policy in RetentionPolicy.objects.filter(enabled=True).order_by("key"):
            try:
                _apply_policy(run, policy, now)
            except Exception as exc:  # recorded and alerted; the next policy still runs
                _record_failure(run, policy, exc)
            else:
                alert_resolve(code=FAILED_ALERT_CODE, incident_key=policy.key)
    run.finished_at = timezone.now()
    run.save()
    if not dry_run and any(run.counts.values()):
        audit_record(
            actor=ACTOR,
            action="retention.run",
            obj=run,
            details={"counts": run.counts, "cutoffs": run.cutoffs},
        )
    return run

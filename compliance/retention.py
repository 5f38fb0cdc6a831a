"""Retention: apply each enabled policy in bounded batches, each its own short transaction.

Idempotent: a row a policy has acted on no longer matches it, so a second run the same hour
changes nothing. Every batch writes an audit entry; every run records its counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.models import RetentionPolicy, RetentionPolicyKey, RetentionRun

ACTOR = "system:retention"
SAMPLE_SIZE = 20


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
        # The append-only trigger lets these rows go only because the transaction names the
        # cut-off (compliance.audit_purge_before) and they are older than it.
        apply="""
DELETE FROM compliance_auditlog WHERE id IN (
  SELECT id FROM compliance_auditlog WHERE occurred_at < %(cutoff)s
   ORDER BY occurred_at LIMIT %(batch)s
)
RETURNING id""",
        object_type="compliance.auditlog",
        action="retention.audit_purged",
    ),
}


def cutoff_for(policy: RetentionPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.retention_days)


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
        cutoff = cutoff_for(policy, now)
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
        if policy.key == RetentionPolicyKey.AUDIT_LOG:
            cursor.execute(
                "SELECT set_config('compliance.audit_purge_before', %s, true)", [cutoff.isoformat()]
            )
        cursor.execute(statements.apply, {"cutoff": cutoff, "batch": policy.batch_size})
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


def retention_run(*, dry_run: bool = False, now: datetime | None = None) -> RetentionRun:
    now = now or timezone.now()
    run = RetentionRun.objects.create(dry_run=dry_run)
    if dry_run:
        plans = retention_plan(now=now)
        run.counts = {plan.policy: plan.due for plan in plans}
        run.cutoffs = {plan.policy: plan.cutoff.isoformat() for plan in plans}
    else:
        for policy in RetentionPolicy.objects.filter(enabled=True).order_by("key"):
            cutoff = cutoff_for(policy, now)
            run.cutoffs[policy.key] = cutoff.isoformat()
            run.counts[policy.key] = 0
            while True:
                started = time.monotonic()
                ids = _apply_batch(policy, cutoff)
                run.longest_batch_ms = max(
                    run.longest_batch_ms, int((time.monotonic() - started) * 1000)
                )
                run.batches += 1
                run.counts[policy.key] += len(ids)
                if len(ids) < policy.batch_size:
                    break
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

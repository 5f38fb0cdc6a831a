"""Raising, resolving and acknowledging alerts: one alert (and one e-mail) per incident.

The same ongoing problem raised again while its alert is open only counts an occurrence; the
alert's end sends a recovery notice. Details must never hold patient data: ids and counts.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.models import Alert, AlertKind, AlertSeverity
from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.scrubbing import scrub_value

EMAIL_TYPE_OF_KIND = {
    AlertKind.SECURITY: "security_alert",
    AlertKind.COMPLIANCE: "compliance_alert",
    AlertKind.LEGAL: "legal_alert",
    AlertKind.INFRASTRUCTURE: "infrastructure_alert",
    AlertKind.INTEGRATION: "infrastructure_alert",
    AlertKind.OPERATIONS: "infrastructure_alert",
}
# Alerts about events rather than conditions: nothing will report them over, so
# acknowledging one closes it.
EVENT_CODES = {"job_discarded"}


def _notify(alert: Alert, event: str) -> None:
    from compliance.workers import EmailWorker

    EmailWorker.enqueue(
        {
            "email_type": EMAIL_TYPE_OF_KIND[alert.kind],
            "alert_id": alert.pk,
            "event": event,
            "message_key": f"alert-{alert.pk}-{event}",
        }
    )


def alert_raise(
    *,
    kind: str,
    code: str,
    summary: str,
    severity: str = AlertSeverity.WARNING,
    details: dict[str, Any] | None = None,
    incident_key: str = "",
) -> Alert:
    """Open an alert for this problem (and e-mail it), or count one more occurrence.

    Summary and details are masked here, when stored: a caller that puts an exception message
    or a job error in them cannot leak patient data to the alert page or the e-mail."""
    summary = mask_patient_data(summary)
    details = scrub_value(details) if details else details
    for _ in range(3):
        with transaction.atomic():
            open_alert = (
                Alert.objects.select_for_update()
                .filter(code=code, incident_key=incident_key, resolved_at__isnull=True)
                .first()
            )
            if open_alert is not None:
                # Summary and details describe the same, latest occurrence (the e-mail, sent
                # later, renders both from this row: a summary naming job 12 beside details
                # of job 13 was the defect of issue 13).
                open_alert.occurrences += 1
                open_alert.last_seen_at = timezone.now()
                if details:
                    open_alert.details = details
                    open_alert.summary = summary[:300]
                open_alert.save(update_fields=["occurrences", "last_seen_at", "details", "summary"])
                return open_alert
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        kind=kind,
                        code=code,
                        incident_key=incident_key,
                        severity=severity,
                        summary=summary[:300],
                        details=details or {},
                    )
            except IntegrityError:
                continue  # another process opened it first: count on it
            _notify(alert, "raised")
            return alert
    raise RuntimeError(f"could not raise alert {code}/{incident_key}")


def alert_resolve(*, code: str, incident_key: str = "") -> Alert | None:
    """The problem is over: close its open alert and send a recovery notice."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(code=code, incident_key=incident_key, resolved_at__isnull=True)
            .first()
        )
        if alert is None:
            return None
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
        _notify(alert, "recovered")
        return alert


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    fields = ["acknowledged_by", "acknowledged_at"]
    if alert.code in EVENT_CODES and alert.resolved_at is None:
        alert.resolved_at = alert.acknowledged_at
        fields.append("resolved_at")
    alert.save(update_fields=fields)
    return alert

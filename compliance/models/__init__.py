"""Compliance data: consent and audit records, retention, access ledger, alerts, health, reports."""

from compliance.models.alerts import Alert, AlertKind, AlertSeverity, EmailDelivery
from compliance.models.health import HealthCheckResult
from compliance.models.ledger import AccessLedgerEntry
from compliance.models.records import AuditLog, Consent, ConsentPurpose, LegalBasis
from compliance.models.reports import Report, ReportKind
from compliance.models.retention import RetentionPolicy, RetentionPolicyKey, RetentionRun

__all__ = [
    "AccessLedgerEntry",
    "Alert",
    "AlertKind",
    "AlertSeverity",
    "AuditLog",
    "Consent",
    "ConsentPurpose",
    "EmailDelivery",
    "HealthCheckResult",
    "LegalBasis",
    "Report",
    "ReportKind",
    "RetentionPolicy",
    "RetentionPolicyKey",
    "RetentionRun",
]

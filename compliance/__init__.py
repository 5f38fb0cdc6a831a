"""LGPD consent, the append-only audit log, retention, compliance audits, alerts and reports."""

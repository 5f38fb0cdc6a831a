"""Building the e-mails the EmailWorker sends. Bodies hold ids and counts, never patient data."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.scrubbing import scrub_value

EMAIL_TYPES = (
    "compliance_alert",
    "security_alert",
    "legal_alert",
    "infrastructure_alert",
    "password_reset",
)


class UnknownEmailType(ValueError):
    pass


class NothingToSend(ValueError):
    """The e-mail's subject is gone (alert or user deleted): a permanent condition."""


def _local(value) -> str:
    return value.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE)).strftime("%d/%m/%Y %H:%M %Z")


def message_id(message_key: str) -> str:
    """Deterministic, so a mail system can drop a duplicate if a send is ever repeated."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{message_key}@{domain}>"


def with_article(phrase: str) -> str:
    """'an operations problem', 'a security problem': the article its first sound takes."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def _alert_message(args: dict[str, Any]) -> tuple[str, str, list[str]]:
    from compliance.models import Alert

    alert = Alert.objects.filter(pk=args.get("alert_id")).first()
    if alert is None:
        raise NothingToSend(f"alert {args.get('alert_id')!r} does not exist")
    recovered = args.get("event") == "recovered"
    label = "RECOVERED" if recovered else alert.get_severity_display().upper()
    # Masked when the alert was stored; masked again for alerts stored before the mask knew a form.
    summary = mask_patient_data(alert.summary)
    subject = f"[Healthcare CMS] {alert.get_kind_display()} alert {label}: {summary}"
    body = render_to_string(
        "emails/alert.txt",
        {
            "alert": alert,
            "summary": summary,
            "recovered": recovered,
            "problem": with_article(f"{alert.get_kind_display().lower()} problem"),
            "opened": _local(alert.created_at),
            "resolved": _local(alert.resolved_at) if alert.resolved_at else "",
            "details": json.dumps(
                scrub_value(alert.details), indent=2, ensure_ascii=False, sort_keys=True
            ),
            "admin_url": f"{settings.SITE_URL}/admin/compliance/alert/{alert.pk}/change/",
        },
    )
    recipients = settings.ALERT_RECIPIENTS.get(alert.kind, [])
    return subject, body, recipients


def _password_reset_message(args: dict[str, Any]) -> tuple[str, str, list[str]]:
    from healthcare_cms.accounts.models import User

    user = User.objects.filter(pk=args.get("user_id"), is_active=True).first()
    if user is None:
        raise NothingToSend(f"no active user {args.get('user_id')!r}")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    body = render_to_string(
        "emails/password_reset.txt",
        {
            "user": user,
            "url": f"{settings.SITE_URL}/accounts/reset/{uid}/{token}/",
        },
    )
    return "[Healthcare CMS] Password reset", body, [user.email]


def build_email(email_type: str, args: dict[str, Any]) -> EmailMessage:
    if email_type not in EMAIL_TYPES:
        raise UnknownEmailType(
            f"unknown email type {email_type!r}; known types: {', '.join(EMAIL_TYPES)}"
        )
    if email_type == "password_reset":
        subject, body, recipients = _password_reset_message(args)
    else:
        subject, body, recipients = _alert_message(args)
    if not recipients:
        raise NothingToSend(f"no recipients configured for {email_type}")
    return EmailMessage(
        subject=subject,
        body=body,
        to=recipients,
        headers={"Message-ID": message_id(args["message_key"])},
    )

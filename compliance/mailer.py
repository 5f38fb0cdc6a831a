"""Sending an e-mail exactly once per message key."""

from __future__ import annotations

from typing import Any

from compliance.emails import build_email
from compliance.models import EmailDelivery


def email_send(*, email_type: str, args: dict[str, Any], job_id: int | None = None) -> bool:
    """Send unless this message key was sent before. Returns whether it sent now.

    The delivery is recorded right after the SMTP server accepted the message, in its own
    transaction, so a retry of the job (after a timeout or a crash later on) finds it.
    """
    key = args.get("message_key") or f"job-{job_id}"
    if EmailDelivery.objects.filter(message_key=key).exists():
        return False
    message = build_email(email_type, {**args, "message_key": key})
    message.send(fail_silently=False)
    EmailDelivery.objects.get_or_create(
        message_key=key, defaults={"email_type": email_type, "recipients": len(message.to)}
    )
    return True

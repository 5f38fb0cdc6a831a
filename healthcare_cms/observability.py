"""Sentry error reporting with patient data masked out of every event before it leaves."""

from __future__ import annotations

from typing import Any

from healthcare_cms.privacy.masking import mask_patient_data


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_patient_data(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send hook: drop request bodies and local variables, mask every remaining string."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    return _scrub(event)


def init_sentry(dsn: str, *, environment: str, transport: Any = None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_breadcrumb": lambda crumb, hint: _scrub(crumb),
        "integrations": [DjangoIntegration()],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)

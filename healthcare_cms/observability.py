"""Sentry error reporting with patient data masked out of every event before it leaves."""

from __future__ import annotations

from typing import Any

from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.scrubbing import scrub_value

# Parts of an event the SDK writes about itself and the machine ("sdk": {"name": ...},
# "contexts": {"runtime": {"name": "CPython"}}): their strings are masked, but their keys are
# not read as patient-data fields, so a "name" there stays readable.
_SDK_SECTIONS = ("sdk", "modules", "platform", "server_name", "release", "environment", "threads")
_SDK_CONTEXTS = ("runtime", "os", "device", "app", "browser", "culture", "cloud_resource")
# Kept exactly as the SDK wrote them: ids and timestamps Sentry parses (a hex event id can
# hold eight digits in a row, which the mask would take for a CEP).
_VERBATIM = ("event_id", "timestamp", "start_timestamp", "level", "type")
_VERBATIM_CONTEXTS = ("trace",)


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask_patient_data(value)
    if isinstance(value, dict):
        return {key: _mask_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_strings(item) for item in value]
    return value


def _scrub_context(name: str, value: Any) -> Any:
    if name in _VERBATIM_CONTEXTS:
        return value
    if name in _SDK_CONTEXTS:
        return _mask_strings(value)
    return scrub_value(value, key=name)


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send hook: drop request bodies, cookies, query strings and local variables; pass
    everything else through scrub_value (strings, patient-data keys, identifier-shaped ints)."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    scrubbed: dict[str, Any] = {}
    for key, value in event.items():
        if key in _VERBATIM:
            scrubbed[key] = value
        elif key in _SDK_SECTIONS:
            scrubbed[key] = _mask_strings(value)
        elif key == "contexts" and isinstance(value, dict):
            scrubbed[key] = {name: _scrub_context(name, item) for name, item in value.items()}
        else:
            scrubbed[key] = scrub_value(value, key=key)
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_breadcrumb hook: a log line's message and its `extra` data, SQL parameters."""
    scrubbed = scrub_value({k: v for k, v in crumb.items() if k not in _VERBATIM})
    return {**scrubbed, **{k: v for k, v in crumb.items() if k in _VERBATIM}}


def init_sentry(dsn: str, *, environment: str, transport: Any = None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_breadcrumb": scrub_breadcrumb,
        "integrations": [DjangoIntegration()],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)

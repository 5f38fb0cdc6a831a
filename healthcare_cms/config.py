"""Reading the deployment's environment into settings.

Errors name the variable and the fix.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
DEFAULT_QUEUE_LIMITS = {
    "medical_workflow": 10,
    "lgpd_analysis": 5,
    "compliance_check": 3,
    "email": 5,
    "default": 10,
}
# One author's posts must not hold the medical queue: at most 2 of an author's jobs run at once,
# and the authors with waiting jobs take turns (workflows.jobs.Partition).
DEFAULT_PARTITIONS = {"medical_workflow": {"keys": ["author_id"], "by_worker": False, "limit": 2}}


def database_config(env: environ.Env) -> dict[str, Any]:
    """DATABASES['default'] from DATABASE_URL, or the embedded server when it is unset."""
    url = env.str("DATABASE_URL", default="").strip()
    if not url:
        return {
            "ENGINE": "healthcare_cms.localdb",
            "NAME": env.str("EMBEDDED_DATABASE_NAME", default="healthcare_cms"),
        }
    fix = (
        "Set DATABASE_URL to postgresql://USER:PASSWORD@HOST:PORT/DBNAME "
        "(or unset it to use the embedded PostgreSQL server)."
    )
    try:
        parts = urlsplit(url)
        if "," not in parts.netloc:  # a multi-host URL (failover) lists host:port pairs
            parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed ({exc}). {fix}") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        shown = parts.scheme or "none"
        raise ImproperlyConfigured(
            f"DATABASE_URL must point at PostgreSQL (the job engine needs SKIP LOCKED and "
            f"LISTEN/NOTIFY); its scheme is '{shown}'. {fix}"
        )
    if not parts.path.strip("/"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database. {fix}")
    if not parts.hostname and "host=" not in parts.query:
        raise ImproperlyConfigured(f"DATABASE_URL names no host. {fix}")
    config = environ.Env.db_url_config(url)
    config["ENGINE"] = "django.db.backends.postgresql"
    return config


def secret_key(env: environ.Env, debug: bool) -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if debug:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Run `python3 scripts/dev.py setup` to write a development "
            ".env, or set SECRET_KEY to a long random value."
        )
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. In production it must come from the environment: set SECRET_KEY "
        "to a long random value, e.g. the output of "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
    )


def queue_limits(env: environ.Env) -> dict[str, dict[str, Any]]:
    """Queues and their cluster-wide limits: JOBS_QUEUES=name=limit,name=limit; their rate
    limits (JOBS_RATE_LIMITS, EMAIL_RATE_LIMIT) and partitions (JOBS_PARTITIONS)."""
    raw = env.str("JOBS_QUEUES", default="")
    limits = dict(DEFAULT_QUEUE_LIMITS)
    if raw.strip():
        limits = {}
        for item in raw.split(","):
            name, sep, value = item.strip().partition("=")
            if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
                raise ImproperlyConfigured(
                    f"JOBS_QUEUES entry '{item.strip()}' is not name=limit with a limit of at "
                    f"least 1. Example: JOBS_QUEUES=medical_workflow=10,email=5,default=10"
                )
            limits[name.strip()] = int(value)
    if "default" not in limits:
        raise ImproperlyConfigured("JOBS_QUEUES must define the 'default' queue.")
    queues: dict[str, dict[str, Any]] = {name: {"limit": limit} for name, limit in limits.items()}
    for name, rate in rate_limits(env).items():
        _queue_named(queues, name, "JOBS_RATE_LIMITS")["rate_limit"] = rate
    for name, partition in partitions(env).items():
        if name in queues or name not in DEFAULT_PARTITIONS:
            _queue_named(queues, name, "JOBS_PARTITIONS")["partition"] = partition
    return queues


def _queue_named(queues: dict[str, dict[str, Any]], name: str, variable: str) -> dict[str, Any]:
    if name not in queues:
        raise ImproperlyConfigured(
            f"{variable} names queue '{name}', which JOBS_QUEUES does not define "
            f"(defined: {', '.join(queues)})."
        )
    return queues[name]


def _entries(env: environ.Env, variable: str) -> list[tuple[str, str]]:
    found = []
    for item in env.str(variable, default="").split(","):
        if not item.strip():
            continue
        name, sep, value = item.strip().partition("=")
        found.append((name.strip() if sep else "", value.strip()))
    return found


def rate_limit_value(text: str, variable: str) -> dict[str, int]:
    allowed, sep, period = text.partition("/")
    if not (sep and allowed.isdigit() and period.isdigit() and int(allowed) and int(period)):
        raise ImproperlyConfigured(
            f"{variable} value '{text}' is not ALLOWED/PERIOD_SECONDS with whole numbers of at "
            f"least 1, e.g. 10/1 for 10 jobs a second."
        )
    return {"allowed": int(allowed), "period_seconds": int(period)}


def rate_limits(env: environ.Env) -> dict[str, dict[str, int]]:
    """JOBS_RATE_LIMITS=queue=allowed/period_seconds,...; EMAIL_RATE_LIMIT=allowed/period_seconds
    for the email queue (off unless set)."""
    found = {}
    for name, value in _entries(env, "JOBS_RATE_LIMITS"):
        if not name:
            raise ImproperlyConfigured(
                f"JOBS_RATE_LIMITS entry '{value}' is not queue=allowed/period_seconds, e.g. "
                f"JOBS_RATE_LIMITS=email=10/1"
            )
        found[name] = rate_limit_value(value, f"JOBS_RATE_LIMITS entry for '{name}':")
    email = env.str("EMAIL_RATE_LIMIT", default="").strip()
    if email:
        found["email"] = rate_limit_value(email, "EMAIL_RATE_LIMIT")
    return found


def partitions(env: environ.Env) -> dict[str, dict[str, Any] | None]:
    """JOBS_PARTITIONS=queue=key[+key...]:limit,... ('worker' partitions by worker; 'none'
    removes a queue's default partition). Unset: DEFAULT_PARTITIONS."""
    found: dict[str, dict[str, Any] | None] = {
        name: dict(partition) for name, partition in DEFAULT_PARTITIONS.items()
    }
    for name, value in _entries(env, "JOBS_PARTITIONS"):
        fields, sep, limit = value.rpartition(":")
        if value.lower() == "none" and name:
            found[name] = None
            continue
        names = [field.strip() for field in fields.split("+") if field.strip()]
        if not (name and sep and names and limit.isdigit() and int(limit) >= 1):
            raise ImproperlyConfigured(
                f"JOBS_PARTITIONS entry '{name}={value}' is not queue=key[+key...]:limit with a "
                f"limit of at least 1 (or queue=none), e.g. "
                f"JOBS_PARTITIONS=medical_workflow=author_id:2"
            )
        keys = [field for field in names if field != "worker"]
        found[name] = {"keys": keys, "by_worker": "worker" in names, "limit": int(limit)}
    return found


def email_list(env: environ.Env, name: str, default: str = "") -> list[str]:
    return [
        address.strip() for address in env.str(name, default=default).split(",") if address.strip()
    ]


def crontab(env: environ.Env, default: list[tuple]) -> list[tuple]:
    """The product crontab, or JOBS_CRONTAB_OVERRIDE: a JSON list of [expression, worker
    (, options)] entries that replaces it."""
    raw = env.str("JOBS_CRONTAB_OVERRIDE", default="")
    if not raw.strip():
        return list(default)
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        message = f"JOBS_CRONTAB_OVERRIDE is not valid JSON ({exc.msg})."
        raise ImproperlyConfigured(message) from None
    if not isinstance(entries, list) or not all(isinstance(e, list) for e in entries):
        raise ImproperlyConfigured(
            "JOBS_CRONTAB_OVERRIDE must be a JSON list of [expression, worker] entries, e.g. "
            '[["*/5 * * * *", "compliance.workers.HealthCheckWorker"]].'
        )
    return [tuple(entry) for entry in entries]


def two_factor_required(env: environ.Env, debug: bool) -> bool:
    """ADMIN_REQUIRE_2FA: on unless asked otherwise, except that DEBUG leaves it off by default
    so the development run command's demo login works with a password alone."""
    return env.bool("ADMIN_REQUIRE_2FA", default=not debug)


def positive_int(env: environ.Env, name: str, default: int, *, unit: str) -> int:
    value = env.int(name, default=default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit} of at least 1.")
    return value


def positive_seconds(env: environ.Env, name: str, default: int) -> int:
    return positive_int(env, name, default, unit="seconds")


def content_security_policy(*, report_uri: str = "") -> dict[str, Any]:
    """The one policy for every page: resources from this origin only, no inline script or
    style except what carries the response's nonce, no framing, no plugins, forms post here."""
    from csp.constants import NONCE, NONE, SELF

    directives: dict[str, list[str]] = {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # data: for the admin's own SVG icons embedded in its stylesheets.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
    if report_uri:
        directives["report-uri"] = [report_uri]
    return {"DIRECTIVES": directives}

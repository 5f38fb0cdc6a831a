"""Django settings. Every value a deployer changes comes from the environment (see .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

import environ

from healthcare_cms import config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if os.path.isfile(_env_file):
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = config.secret_key(env, DEBUG)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django-otp's device models come before accounts, whose admin module replaces their admin
    # pages (a TOTP secret or recovery code is never shown to another person).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Apps of this project come first: workflows.jobs replaces django-q2's `qcluster` command.
    "healthcare_cms.accounts",
    "healthcare_cms.content",
    "healthcare_cms.localdb",
    "healthcare_cms.demo",
    "healthcare_cms.privacy",
    "compliance",
    "workflows.jobs",
    "workflows.medical",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from STATIC_ROOT (collectstatic) under gunicorn, before any other
    # middleware touches the request (docs/operations.md, production web).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: both sign the person out with a message saying why.
    "healthcare_cms.accounts.session_limits.SessionLimitsMiddleware",
    "healthcare_cms.accounts.two_factor_middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "healthcare_cms.middleware.DisplayTimeZoneMiddleware",
    "healthcare_cms.accounts.middleware.LastActivityMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "healthcare_cms.urls"
WSGI_APPLICATION = "healthcare_cms.wsgi.application"
ASGI_APPLICATION = "healthcare_cms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {"default": config.database_config(env)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind a transaction-pooling PgBouncer (docs/operations.md): no session state on Django's
# connections either (no prepared statements, no server-side cursors).
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
if DATABASE_TRANSACTION_POOLING:
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes refuses sign-in for locked accounts and addresses before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# Schedules and stored times are UTC; people see dates in Brazil's time.
TIME_ZONE = "UTC"
DISPLAY_TIME_ZONE = "America/Sao_Paulo"

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".local" / "static")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security: strict unless DEBUG is asked for --------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Admin access: throttling, two-factor sign-in, sessions, CSP (docs/operations.md) -------
# Failed sign-ins before an account, or a client address, is locked; and for how long.
LOGIN_FAILURE_LIMIT = config.positive_int(env, "LOGIN_FAILURE_LIMIT", 5, unit="failed sign-ins")
LOGIN_LOCKOUT_COOLOFF_SECONDS = config.positive_seconds(env, "LOGIN_LOCKOUT_COOLOFF_SECONDS", 900)
# Proxies in front of Django that append to X-Forwarded-For (0: the client is REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = "healthcare_cms.accounts.throttling.failure_limit"
# Read at each attempt, so the cooldown follows LOGIN_LOCKOUT_COOLOFF_SECONDS.
AXES_COOLOFF_TIME = "healthcare_cms.accounts.throttling.cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_USERNAME_CALLABLE = "healthcare_cms.accounts.throttling.throttled_username"
AXES_RESET_ON_SUCCESS = True
# Attempts while locked are refused without extending the lockout.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "healthcare_cms.accounts.throttling.AuditingAxesHandler"
AXES_LOCKOUT_CALLABLE = "healthcare_cms.accounts.throttling.lockout_response"
# The compliance audit log is the record of sign-ins; axes keeps only the attempts that count
# towards a lockout, and logs nothing (its log lines would carry addresses and usernames).
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Staff roles that see patient data or control jobs must sign in with a second factor.
ADMIN_REQUIRE_2FA = config.two_factor_required(env, DEBUG)
OTP_TOTP_ISSUER = env.str("TWO_FACTOR_ISSUER", default="Healthcare CMS")
TWO_FACTOR_RECOVERY_CODES = 10

# A session ends after this long without a request, and this long after sign-in at most.
SESSION_IDLE_TIMEOUT_SECONDS = config.positive_seconds(env, "SESSION_IDLE_TIMEOUT_SECONDS", 1800)
SESSION_ABSOLUTE_LIFETIME_SECONDS = config.positive_seconds(
    env, "SESSION_ABSOLUTE_LIFETIME_SECONDS", 12 * 3600
)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME_SECONDS

# Content-Security-Policy: enforced; CSP_REPORT_ONLY=true only reports (for a rollout).
CONTENT_SECURITY_POLICY_REPORTS_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
_content_security_policy = config.content_security_policy(
    report_uri=env.str("CSP_REPORT_URI", default="")
)
if CONTENT_SECURITY_POLICY_REPORTS_ONLY:
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _content_security_policy
else:
    CONTENT_SECURITY_POLICY = _content_security_policy

# --- E-mail -----------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Healthcare CMS <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# Who receives each kind of alert (comma-separated e-mail addresses).
ALERT_RECIPIENTS = {
    "security": config.email_list(env, "ALERT_EMAILS_SECURITY", "dpo@localhost"),
    "compliance": config.email_list(env, "ALERT_EMAILS_COMPLIANCE", "compliance@localhost"),
    "legal": config.email_list(env, "ALERT_EMAILS_LEGAL", "dpo@localhost"),
    "infrastructure": config.email_list(env, "ALERT_EMAILS_OPERATIONS", "ops@localhost"),
    "integration": config.email_list(env, "ALERT_EMAILS_OPERATIONS", "ops@localhost"),
    "operations": config.email_list(env, "ALERT_EMAILS_OPERATIONS", "ops@localhost"),
}

# --- Job engine (workflows.jobs) ------------------------------------------------------------
# The product's crontab (UTC).
PRODUCT_CRONTAB: list[tuple] = [
    ("0 3 * * *", "compliance.workers.ComplianceAuditWorker"),
    ("0 * * * *", "compliance.workers.LGPDRetentionWorker"),
    ("*/5 * * * *", "compliance.workers.HealthCheckWorker"),
    ("0 2 * * 0", "compliance.workers.WeeklyReportWorker"),
    ("0 1 1 * *", "compliance.workers.MonthlyAuditWorker"),
]

JOBS = {
    "queues": config.queue_limits(env),
    # Worker processes per `qcluster` node; queue limits cap running jobs across all nodes.
    "node_concurrency": env.int("JOBS_NODE_CONCURRENCY", default=4),
    "prefetch": env.int("JOBS_PREFETCH", default=None),
    "poll_interval_seconds": env.float("JOBS_POLL_INTERVAL_SECONDS", default=0.5),
    "heartbeat_interval_seconds": env.float("JOBS_HEARTBEAT_INTERVAL_SECONDS", default=5.0),
    "node_dead_after_seconds": env.float("JOBS_NODE_DEAD_AFTER_SECONDS", default=30.0),
    "leader_lease_seconds": env.float("JOBS_LEADER_LEASE_SECONDS", default=None),
    "wedged_after_seconds": env.float("JOBS_WEDGED_AFTER_SECONDS", default=15.0),
    "rescue_after_seconds": env.float("JOBS_RESCUE_AFTER_SECONDS", default=1800.0),
    "shutdown_grace_seconds": env.float("JOBS_SHUTDOWN_GRACE_SECONDS", default=25.0),
    "prune_after_seconds": {
        "completed": env.int("JOBS_PRUNE_COMPLETED_AFTER_SECONDS", default=7 * 86400),
        "cancelled": env.int("JOBS_PRUNE_CANCELLED_AFTER_SECONDS", default=7 * 86400),
        "discarded": env.int("JOBS_PRUNE_DISCARDED_AFTER_SECONDS", default=30 * 86400),
    },
    "worker_modules": env.list("JOBS_WORKER_MODULES", default=[]),
    "workflow_max_steps": env.int("JOBS_WORKFLOW_MAX_STEPS", default=1000),
    "error_scrubber": "healthcare_cms.privacy.masking.mask_patient_data",
    # Each view of a job's raw args (permission jobs.view_job_args) goes to the audit log.
    "args_view_auditor": "compliance.job_access.job_args_view_record",
    # Each operator action of the dashboard (retry, cancel, delete, pause, resume, scale).
    "action_auditor": "compliance.job_access.job_action_record",
    # The dashboard's bulk actions refuse more jobs than this (docs/dashboard.md).
    "bulk_limit": env.int("JOBS_BULK_LIMIT", default=10_000),
    # (expression in UTC, worker dotted path[, options]); JOBS_CRONTAB_OVERRIDE (JSON list of
    # such entries) replaces it, e.g. to run no cron at all on a staging node: [].
    "crontab": config.crontab(env, PRODUCT_CRONTAB),
    "testing": env.str("JOBS_TESTING", default="") or None,
    "transaction_pooling": DATABASE_TRANSACTION_POOLING,
    "listen_database_url": env.str("JOBS_LISTEN_DATABASE_URL", default=""),
}

# --- Observability (docs/observability.md) ----------------------------------------------------
# Each qcluster node serves its own Prometheus figures here (unset: off).
JOBS_METRICS_PORT = env.int("JOBS_METRICS_PORT", default=None)
JOBS_METRICS_HOST = env.str("JOBS_METRICS_HOST", default="127.0.0.1")
# The web app's /metrics (the cluster's state) answers only with this bearer token (unset: 404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The level of the attempt log lines (logger workflows.jobs.attempts).
JOBS_LOG_LEVEL = env.str("JOBS_LOG_LEVEL", default="INFO")

# Django's Tasks API (@task, .enqueue(), get_result) runs on the job engine: docs/django-tasks.md.
TASKS = {
    "default": {
        "BACKEND": "workflows.jobs.tasks.JobsBackend",
        "QUEUES": list(JOBS["queues"]),
        "OPTIONS": {},
    }
}

# django-q2 runs the workers; its broker is the engine's jobs table. See docs/job-engine.md.
Q_CLUSTER = {
    "name": "healthcare_cms",
    "broker_class": "workflows.jobs.runner.broker.JobsBroker",
    "workers": JOBS["node_concurrency"],
    # Room for every claimed job (workers + prefetch): the pusher never blocks on a full buffer.
    "queue_limit": JOBS["node_concurrency"]
    + (JOBS["prefetch"] if JOBS["prefetch"] is not None else 3 * JOBS["node_concurrency"]),
    "recycle": 5000,
    "max_rss": 512 * 1024,
    # The engine enforces per-job timeouts itself; django-q2's guard is only a far backstop.
    "timeout": 7 * 86400,
    "retry": 7 * 86400 + 1,
    "save_limit": -1,
    "catch_up": False,
    "scheduler": True,
    "log_level": env.str("QCLUSTER_LOG_LEVEL", default="WARNING"),
}

# --- Logging: every record passes through the patient-data mask ----------------------------
# Django configures its own loggers first (django.utils.log.DEFAULT_LOGGING: "django" with an
# unfiltered console and mail_admins, "django.server" with its own handler); a logger this
# dict does not name keeps those handlers. So "django" and "django.server" are named here, on
# masked handlers, and every handler below carries the mask filter (tests/privacy/
# test_django_logging.py checks every handler of every logger). mail_admins is not used: it
# would e-mail the request with its query string and POST data.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_patient_data": {"()": "healthcare_cms.privacy.logging.PatientDataMaskingFilter"}
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_patient_data"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_patient_data"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django-q": {"handlers": ["console"], "level": Q_CLUSTER["log_level"], "propagate": False},
        "django.db.backends": {"level": "INFO"},
        # With SENTRY_DSN set, the SDK (imported above) and urllib3 give these loggers handlers
        # of their own, unmasked: named here, they get the masked console instead (else the
        # privacy check stops every process, qcluster included).
        "sentry_sdk.errors": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "urllib3": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # One line per attempt that did not complete (workflows.jobs.telemetry.logs).
        "workflows.jobs.attempts": {"level": JOBS_LOG_LEVEL},
    },
}

# --- Sentry -------------------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from healthcare_cms.observability import init_sentry

    init_sentry(SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))

# --- Medical analysis and compliance -------------------------------------------------------
# Where people reach the site: links in e-mails (password reset, alert pages).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
REGULATOR_HEALTH_URL = env.str("REGULATOR_HEALTH_URL", default="")
JOBS_QUEUE_DEPTH_ALERT = env.int("JOBS_QUEUE_DEPTH_ALERT", default=1000)
CURRENT_TERMS_VERSION = env.str("CURRENT_TERMS_VERSION", default="2026-01")
# The database role the application connects as (default: DATABASE_URL's role); `migrate`
# checks it cannot get round the append-only audit log. "error" makes problems stop migrate
# (with DEBUG off). See docs/compliance.md, "Database roles".
# Password reset (anonymous form): one e-mail per account per period (a unique job), and at
# most PASSWORD_RESET_CLIENT_LIMIT requests per client address per window.
PASSWORD_RESET_EMAIL_PERIOD_SECONDS = env.int("PASSWORD_RESET_EMAIL_PERIOD_SECONDS", default=900)
PASSWORD_RESET_CLIENT_LIMIT = env.int("PASSWORD_RESET_CLIENT_LIMIT", default=5)
PASSWORD_RESET_CLIENT_WINDOW_SECONDS = env.int("PASSWORD_RESET_CLIENT_WINDOW_SECONDS", default=900)
# TRUSTED_PROXY_COUNT (above) also picks the client the password-reset limit counts.
AUDIT_LOG_APP_ROLE = env.str("AUDIT_LOG_APP_ROLE", default="")
AUDIT_LOG_ROLE_CHECK = env.str("AUDIT_LOG_ROLE_CHECK", default="warn")

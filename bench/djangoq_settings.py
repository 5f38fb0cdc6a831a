"""Minimal Django settings for the stock django-q2 comparison in bench/throughput.py:
django-q2's own ORM broker (`orm: default`) on PostgreSQL, all its other options at their
defaults except the worker count (BENCH_DJANGOQ_WORKERS) and timeout/retry; database connection
settings as the project's.

    DJANGO_SETTINGS_MODULE=bench.djangoq_settings python manage.py qcluster
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "django_q"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DJANGOQ_DB", "bench_djangoq"),
        "USER": os.environ.get("BENCH_PG_USER", "postgres"),
        "HOST": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
        # The project's connection settings (healthcare_cms/settings.py), so the comparison is
        # of the brokers, not of reconnecting per task (Django's default CONN_MAX_AGE=0 makes
        # django-q2's pusher open a new PostgreSQL connection for every dequeue).
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
Q_CLUSTER = {
    "name": "bench_djangoq",
    "orm": "default",
    "workers": int(os.environ.get("BENCH_DJANGOQ_WORKERS", "4")),
    "timeout": 60,
    "retry": 120,
    "log_level": "WARNING",
}
if os.environ.get("BENCH_DJANGOQ_SAVE_LIMIT"):
    # Not stock: bench/throughput.py --djangoq-lean (no result rows) shows what the monitor costs.
    Q_CLUSTER["save_limit"] = int(os.environ["BENCH_DJANGOQ_SAVE_LIMIT"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

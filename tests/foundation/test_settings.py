"""Configuration from the environment: production is strict, bad values stop start-up clearly."""

import os
import re
import subprocess

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from healthcare_cms import config
from tests.support.clusters import PROJECT_ROOT
from tests.support.commands import manage_py

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x3N4m-" + "k" * 20 + "Qz9-pL2v_7yT0rWb5sUe1oIa8dFgHjK",
    "ALLOWED_HOSTS": "cms.example.com.br",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "ENV_FILE": "",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "DATABASE_URL",
        }
    }
    return manage_py(*args, env={**clean, **env})


def test_check_deploy_prints_no_warning_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_missing_secret_key_in_production_stops_start_up_naming_the_variable():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "secrets.token_urlsafe" in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/db", "must point at PostgreSQL"),
        ("postgresql://user@localhost:notaport/db", "DATABASE_URL is malformed"),
        ("postgresql://user@localhost:5432/", "names no database"),
        ("not a url at all", "must point at PostgreSQL"),
    ],
)
def test_a_malformed_database_url_names_the_variable_and_the_fix(url, message, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match=message) as raised:
        config.database_config(environ.Env())
    assert "DATABASE_URL" in str(raised.value) and "postgresql://" in str(raised.value)


def test_a_malformed_database_url_stops_manage_py():
    result = manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode != 0 and "DATABASE_URL must point at PostgreSQL" in result.stderr


def test_unset_database_url_selects_the_embedded_server(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config.database_config(environ.Env())["ENGINE"] == "healthcare_cms.localdb"


def test_queue_limits_come_from_the_environment_with_the_spec_defaults(monkeypatch):
    for name in ("JOBS_QUEUES", "JOBS_RATE_LIMITS", "JOBS_PARTITIONS", "EMAIL_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    assert config.queue_limits(environ.Env()) == {
        "medical_workflow": {
            "limit": 10,
            "partition": {"keys": ["author_id"], "by_worker": False, "limit": 2},
        },
        "lgpd_analysis": {"limit": 5},
        "compliance_check": {"limit": 3},
        "email": {"limit": 5},
        "default": {"limit": 10},
    }
    monkeypatch.setenv("JOBS_QUEUES", "default=2,email=1")
    assert config.queue_limits(environ.Env()) == {"default": {"limit": 2}, "email": {"limit": 1}}
    monkeypatch.setenv("JOBS_QUEUES", "default=0")
    with pytest.raises(ImproperlyConfigured, match="JOBS_QUEUES entry 'default=0'"):
        config.queue_limits(environ.Env())


def test_rate_limits_and_partitions_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("JOBS_QUEUES", raising=False)
    monkeypatch.setenv("EMAIL_RATE_LIMIT", "10/1")
    monkeypatch.setenv("JOBS_RATE_LIMITS", "default=100/60")
    monkeypatch.setenv("JOBS_PARTITIONS", "medical_workflow=none,lgpd_analysis=clinic_id+worker:3")
    queues = config.queue_limits(environ.Env())
    assert queues["email"]["rate_limit"] == {"allowed": 10, "period_seconds": 1}
    assert queues["default"]["rate_limit"] == {"allowed": 100, "period_seconds": 60}
    assert queues["medical_workflow"]["partition"] is None
    assert queues["lgpd_analysis"]["partition"] == {
        "keys": ["clinic_id"],
        "by_worker": True,
        "limit": 3,
    }
    for variable, value, message in (
        ("EMAIL_RATE_LIMIT", "10", "EMAIL_RATE_LIMIT value '10' is not ALLOWED/PERIOD_SECONDS"),
        ("EMAIL_RATE_LIMIT", "0/1", "EMAIL_RATE_LIMIT value '0/1'"),
        ("JOBS_RATE_LIMITS", "emial=1/1", "names queue 'emial', which JOBS_QUEUES does not"),
        ("JOBS_PARTITIONS", "medical_workflow=author_id", "is not queue=key"),
        ("JOBS_PARTITIONS", "medical_workflow=author_id:0", "is not queue=key"),
    ):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ImproperlyConfigured, match=message):
            config.queue_limits(environ.Env())
        monkeypatch.delenv(variable)


def test_debug_is_off_unless_asked_for():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEBUG"}
    code = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def _settings_read_from_the_environment() -> set[str]:
    pattern = re.compile(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"|environ\.get\("([A-Z][A-Z0-9_]+)"')
    names = set()
    for path in [*PROJECT_ROOT.joinpath("healthcare_cms").rglob("*.py")]:
        for match in pattern.finditer(path.read_text()):
            names.add(match.group(1) or match.group(2))
    return names


def test_env_example_lists_every_setting_read_from_the_environment():
    names = _settings_read_from_the_environment()
    assert {"DATABASE_URL", "SECRET_KEY", "EMAIL_URL", "SENTRY_DSN", "JOBS_QUEUES"} <= names
    example = PROJECT_ROOT.joinpath(".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert names - listed == set(), "settings read from the environment but not in .env.example"

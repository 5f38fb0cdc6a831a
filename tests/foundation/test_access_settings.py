"""Admin access settings: two-factor sign-in on by default in production, the content
security policy enforced unless the report-only switch is set, limits read from the env."""

from __future__ import annotations

import os

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from healthcare_cms import config
from tests.support.commands import manage_py

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x3N4m-" + "k" * 20 + "Qz9-pL2v_7yT0rWb5sUe1oIa8dFgHjK",
    "ALLOWED_HOSTS": "cms.example.com.br",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "ENV_FILE": "",
}
SHOWN = (
    "from django.conf import settings as s; "
    "print('2FA', s.ADMIN_REQUIRE_2FA); "
    "print('ENFORCED', bool(s.CONTENT_SECURITY_POLICY)); "
    "print('REPORT_ONLY', bool(getattr(s, 'CONTENT_SECURITY_POLICY_REPORT_ONLY', None))); "
    "print('LIMITS', s.SESSION_IDLE_TIMEOUT_SECONDS, s.SESSION_ABSOLUTE_LIFETIME_SECONDS, "
    "s.LOGIN_FAILURE_LIMIT, s.LOGIN_LOCKOUT_COOLOFF_SECONDS)"
)
OURS = {"ADMIN_REQUIRE_2FA", "CSP_REPORT_ONLY", "DEBUG", "SECRET_KEY", "DATABASE_URL"}


def shown_settings(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    result = manage_py("shell", "-c", SHOWN, env={**clean, **PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_production_requires_two_factor_and_enforces_the_policy_with_the_documented_limits():
    shown = shown_settings()
    assert "2FA True" in shown
    assert "ENFORCED True" in shown and "REPORT_ONLY False" in shown
    assert "LIMITS 1800 43200 5 900" in shown


def test_the_report_only_switch_reports_instead_of_enforcing():
    shown = shown_settings(CSP_REPORT_ONLY="true")
    assert "ENFORCED False" in shown and "REPORT_ONLY True" in shown


def test_debug_leaves_two_factor_optional_unless_asked_for(monkeypatch):
    monkeypatch.delenv("ADMIN_REQUIRE_2FA", raising=False)
    assert config.two_factor_required(environ.Env(), debug=True) is False
    assert config.two_factor_required(environ.Env(), debug=False) is True
    monkeypatch.setenv("ADMIN_REQUIRE_2FA", "true")
    assert config.two_factor_required(environ.Env(), debug=True) is True


def test_a_time_limit_below_one_second_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_TIMEOUT_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="SESSION_IDLE_TIMEOUT_SECONDS must be"):
        config.positive_seconds(environ.Env(), "SESSION_IDLE_TIMEOUT_SECONDS", 1800)


@pytest.mark.django_db
def test_every_response_carries_the_enforced_policy(client):
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy

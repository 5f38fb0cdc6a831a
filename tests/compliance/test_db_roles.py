"""The application's database role: the documented grants hold against an attacker, and the
migrate-time check says when the role could get round the audit log."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.db_roles import app_role_grants_sql, audit_log_role_problems, check_audit_log_role
from compliance.models import AuditLog, RetentionPolicy
from tests.factories import AuditLogFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def app_role():
    """A real login-less role with exactly the grants docs/compliance.md gives the application
    (created inside the test's transaction, so it is gone afterwards)."""
    name = f"cms_app_test_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN')
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        cursor.execute(app_role_grants_sql(app_role=name, schema=schema))
    return name


@pytest.fixture
def as_app(app_role):
    """Run statements as the application role (SET ROLE), back to the owner afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{app_role}"')
    yield app_role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def _refused(sql, params=None, match=None):
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_the_application_role_can_write_and_read_the_audit_log(as_app):
    entry = audit_record(actor="system:test", action="role.insert", object_type="x", object_id=1)
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_the_application_role_cannot_truncate_update_delete_or_disable(as_app):
    entry = AuditLogFactory(occurred_at=timezone.now() - 10 * 365 * DAY)
    _refused("TRUNCATE compliance_auditlog", match="permission denied")
    _refused("UPDATE compliance_auditlog SET action = 'x' WHERE id = %s", [entry.pk])
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk], "permission denied")
    _refused(
        "ALTER TABLE compliance_auditlog DISABLE TRIGGER compliance_auditlog_append_only",
        match="must be owner",
    )
    database = connection.ops.quote_name(connection.settings_dict["NAME"])
    _refused(
        f"ALTER DATABASE {database} SET compliance.audit_log_truncate_for_tests = on",
        match="must be owner",
    )
    _refused("SET session_replication_role = replica", match="permission denied")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_the_application_role_cannot_shorten_the_policy_and_purge(as_app):
    recent = AuditLogFactory(occurred_at=timezone.now() - 400 * DAY)
    _refused(
        "UPDATE compliance_retentionpolicy SET retention_days = 1 WHERE key = 'audit_log'",
        match="at least 365 days",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM compliance_audit_log_purge(1000) AS id")
        assert cursor.fetchall() == []
    assert AuditLog.objects.filter(pk=recent.pk).exists()


def test_the_application_role_purges_through_the_function(as_app):
    expired = AuditLogFactory(occurred_at=timezone.now() - 7 * 365 * DAY)
    kept = AuditLogFactory(occurred_at=timezone.now() - 5 * 365 * DAY)
    from compliance.retention import retention_run

    run = retention_run()
    assert run.errors == {}
    assert run.counts["audit_log"] == 1
    assert not AuditLog.objects.filter(pk=expired.pk).exists()
    assert AuditLog.objects.filter(pk=kept.pk).exists()


def test_the_documented_grants_pass_the_check(app_role):
    assert audit_log_role_problems(app_role=app_role) == []


def test_the_check_names_each_way_round_the_audit_log(app_role):
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT DELETE, TRUNCATE ON compliance_auditlog TO "{app_role}"')
        cursor.execute(
            f'REVOKE EXECUTE ON FUNCTION compliance_audit_log_purge(integer) FROM "{app_role}"'
        )
        cursor.execute(f'GRANT CREATE ON SCHEMA public TO "{app_role}"')
    codes = {problem.code: problem for problem in audit_log_role_problems(app_role=app_role)}
    assert set(codes) == {"014", "016", "017"}
    assert "REVOKE DELETE, TRUNCATE ON compliance_auditlog" in codes["014"].fix
    assert "GRANT EXECUTE ON FUNCTION compliance_audit_log_purge" in codes["016"].fix


def test_the_suite_s_superuser_gets_warnings_not_errors(settings):
    """The suite connects as postgres (superuser, owner): a warning, so nothing fails."""
    messages = check_audit_log_role(databases=["default"])
    assert {m.id for m in messages} >= {"compliance.W011", "compliance.W012"}
    assert all(m.is_serious() is False for m in messages)
    assert "migration role" in messages[0].hint


def test_error_mode_makes_them_errors_only_with_debug_off(settings):
    settings.AUDIT_LOG_ROLE_CHECK = "error"
    settings.DEBUG = True
    assert not any(m.is_serious() for m in check_audit_log_role(databases=["default"]))
    settings.DEBUG = False
    messages = check_audit_log_role(databases=["default"])
    assert {m.id for m in messages} >= {"compliance.E011", "compliance.E012"}
    assert all(m.is_serious() for m in messages)


def test_an_unknown_application_role_is_named(settings):
    settings.AUDIT_LOG_APP_ROLE = "no_such_role_for_cms"
    (problem,) = audit_log_role_problems()
    assert problem.code == "010" and "no_such_role_for_cms" in problem.message


def test_migrate_runs_the_check(capsys):
    call_command("migrate", "compliance", verbosity=1)
    err = capsys.readouterr().err
    assert "compliance.W011" in err and "Database roles" in err


def test_the_policy_row_is_still_editable_by_the_application_role(as_app):
    RetentionPolicy.objects.filter(key="audit_log").update(retention_days=7 * 365)
    assert RetentionPolicy.objects.get(key="audit_log").retention_days == 7 * 365

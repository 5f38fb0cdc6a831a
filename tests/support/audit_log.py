"""The test database's one exception to the append-only audit log: Django's flush may TRUNCATE it.

Migration 0005's TRUNCATE trigger lets a TRUNCATE of compliance_auditlog through only when the
database itself carries this setting (ALTER DATABASE, stored in pg_db_role_setting): a session
cannot forge it with SET or set_config(), and a production application role, which owns
neither the database nor the table, cannot set it. See docs/compliance.md.
"""

from __future__ import annotations

TRUNCATE_SETTING = "compliance.audit_log_truncate_for_tests"


def allow_flush_of_audit_log(connection) -> None:
    """Mark the (test) database so the flush between transactional tests can empty the table."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET {TRUNCATE_SETTING} = on")


def forbid_flush_of_audit_log(connection) -> None:
    """Take the mark away (inside a test's transaction, so it comes back at rollback)."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} RESET {TRUNCATE_SETTING}")

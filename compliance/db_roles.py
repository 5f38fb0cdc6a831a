"""Which database role the application runs as, and whether it can get round the audit log.

A trigger cannot stop the table's owner (ALTER TABLE ... DISABLE TRIGGER, DROP) or a superuser
(session_replication_role), and the database's owner can set the test-only TRUNCATE mark. So
the application must run as a role that is none of these; this module inspects that role and
reports, as Django system checks, what is wrong and the statement that fixes it. The checks run
at `migrate` (and `manage.py check --database default`); after every migrate the same report is
printed. See "Database roles" in docs/compliance.md.

Settings: AUDIT_LOG_APP_ROLE names the role the application connects as (default: the role
this connection uses); AUDIT_LOG_ROLE_CHECK is "warn" (default) or "error", and "error" makes
the problems Errors, which stop `migrate`, only when DEBUG is off.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connections

AUDIT_TABLE = "compliance_auditlog"
PURGE_FUNCTION = "compliance_audit_log_purge(integer)"
DOCS = "see 'Database roles' in docs/compliance.md"


@dataclass(frozen=True)
class RoleProblem:
    code: str  # stable suffix of the check id: compliance.W0xx / compliance.E0xx
    message: str
    fix: str


def app_role_grants_sql(*, app_role: str, schema: str = "public") -> str:
    """The grants docs/compliance.md gives the application role, as SQL the owner runs after
    each migrate: everything on the ordinary tables, only SELECT and INSERT on the audit log,
    and EXECUTE on the purge function (which runs as the owner)."""
    role = _quote(app_role)
    ns = _quote(schema)
    return f"""
GRANT USAGE ON SCHEMA {ns} TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {ns} TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {ns} TO {role};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {ns}.{AUDIT_TABLE} FROM {role};
GRANT EXECUTE ON FUNCTION {ns}.{PURGE_FUNCTION} TO {role};
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def audit_log_role_problems(*, using: str = DEFAULT_DB_ALIAS, app_role: str | None = None):
    """What lets `app_role` (default AUDIT_LOG_APP_ROLE, else the connected role) get round the
    audit log's guards, or keeps the retention purge from working. Empty when all is well or
    when the audit table does not exist yet (before the first migrate)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid::regclass::text, c.relowner::regrole::text FROM pg_class c "
            "WHERE c.oid = to_regclass(%s)",
            [AUDIT_TABLE],
        )
        row = cursor.fetchone()
        if row is None:
            return []
        table, owner = row
        cursor.execute("SELECT current_user")
        (connected,) = cursor.fetchone()
        role = app_role or getattr(settings, "AUDIT_LOG_APP_ROLE", "") or connected
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            return [
                RoleProblem(
                    "010",
                    f"AUDIT_LOG_APP_ROLE names the role '{role}', which does not exist.",
                    "Create it (CREATE ROLE ... LOGIN) with the grants in docs/compliance.md, "
                    "or set AUDIT_LOG_APP_ROLE to the role in the application's DATABASE_URL.",
                )
            ]
        (superuser,) = found
        cursor.execute(
            "SELECT pg_has_role(%(role)s, %(owner)s, 'MEMBER'), "
            "pg_has_role(%(role)s, d.datdba, 'MEMBER'), "
            "has_table_privilege(%(role)s, %(table)s, 'SELECT'), "
            "has_table_privilege(%(role)s, %(table)s, 'INSERT'), "
            "array_remove(ARRAY["
            " CASE WHEN has_table_privilege(%(role)s, %(table)s, 'UPDATE') THEN 'UPDATE' END,"
            " CASE WHEN has_table_privilege(%(role)s, %(table)s, 'DELETE') THEN 'DELETE' END,"
            " CASE WHEN has_table_privilege(%(role)s, %(table)s, 'TRUNCATE') THEN 'TRUNCATE' END,"
            " CASE WHEN has_table_privilege(%(role)s, %(table)s, 'TRIGGER') THEN 'TRIGGER' END"
            "], NULL), "
            "coalesce(has_function_privilege(%(role)s, to_regprocedure(%(purge)s), 'EXECUTE'),"
            " false), d.datname, n.nspname, has_schema_privilege(%(role)s, n.oid, 'CREATE') "
            "FROM pg_database d, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE d.datname = current_database() AND c.oid = to_regclass(%(table)s)",
            {"role": role, "owner": owner, "table": table, "purge": PURGE_FUNCTION},
        )
        (
            owns,
            owns_db,
            can_select,
            can_insert,
            extra,
            can_purge,
            database,
            schema,
            can_create,
        ) = cursor.fetchone()
    problems: list[RoleProblem] = []
    separate = (
        f"Own the tables with a migration role and run the application as another role; {DOCS}."
    )
    if superuser:
        problems.append(
            RoleProblem(
                "011",
                f"The application role '{role}' is a superuser: it can switch the audit log's "
                "triggers off (session_replication_role) and read or change anything.",
                separate,
            )
        )
    if owns:
        problems.append(
            RoleProblem(
                "012",
                f"The application role '{role}' owns {table} (or is a member of its owner "
                f"'{owner}'): it can disable or drop the append-only triggers.",
                separate,
            )
        )
    if owns_db:
        problems.append(
            RoleProblem(
                "013",
                f"The application role '{role}' owns the database '{database}': it could set "
                "the test-only compliance.audit_log_truncate_for_tests mark.",
                f"ALTER DATABASE {_quote(database)} OWNER TO <migration role>; {DOCS}.",
            )
        )
    if extra and not (superuser or owns):
        problems.append(
            RoleProblem(
                "014",
                f"The application role '{role}' has {', '.join(extra)} on {table}; it needs "
                "only SELECT and INSERT (the purge runs through compliance_audit_log_purge).",
                f"REVOKE {', '.join(extra)} ON {table} FROM {_quote(role)};",
            )
        )
    if can_create and not (superuser or owns):
        problems.append(
            RoleProblem(
                "017",
                f"The application role '{role}' may create objects in the schema '{schema}' "
                "that holds the audit log and its guard functions.",
                f"REVOKE CREATE ON SCHEMA {_quote(schema)} FROM {_quote(role)}, PUBLIC;",
            )
        )
    if not (can_select and can_insert):
        problems.append(
            RoleProblem(
                "015",
                f"The application role '{role}' cannot SELECT and INSERT on {table}: audit "
                "entries cannot be written.",
                f"GRANT SELECT, INSERT ON {table} TO {_quote(role)};",
            )
        )
    if not can_purge:
        problems.append(
            RoleProblem(
                "016",
                f"The application role '{role}' cannot execute {PURGE_FUNCTION}: the "
                "audit_log retention policy will fail.",
                f"GRANT EXECUTE ON FUNCTION {PURGE_FUNCTION} TO {_quote(role)};",
            )
        )
    return problems


def _strict() -> bool:
    return getattr(settings, "AUDIT_LOG_ROLE_CHECK", "warn") == "error" and not settings.DEBUG


def as_check_messages(problems: list[RoleProblem]) -> list[checks.CheckMessage]:
    kind, letter = (checks.Error, "E") if _strict() else (checks.Warning, "W")
    return [
        kind(problem.message, hint=problem.fix, id=f"compliance.{letter}{problem.code}")
        for problem in problems
    ]


@checks.register(checks.Tags.database)
def check_audit_log_role(app_configs=None, databases=None, **kwargs):
    """Runs when the command asks for database checks (migrate does)."""
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    return as_check_messages(audit_log_role_problems())


def report_after_migrate(sender, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs):
    """post_migrate: the first migrate has no table to inspect when its checks run, so the
    report is printed again once the table exists (not at verbosity 0, e.g. a test flush)."""
    if verbosity < 1 or getattr(sender, "name", "") != "compliance":
        return
    for message in as_check_messages(audit_log_role_problems(using=using)):
        sys.stderr.write(f"{message}\n")

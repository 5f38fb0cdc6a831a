"""The audit log's guard moves from a session variable to the database's own rows.

0002 let a DELETE through when the transaction set `compliance.audit_purge_before`, which any
session can set. From here on:

- DELETE is allowed only for entries older than now() minus the enabled `audit_log` retention
  policy's days, both read inside the database (`compliance_audit_log_cutoff`); no setting
  changes that. UPDATE is still always refused.
- The purge is `compliance_audit_log_purge(batch_size)`, SECURITY DEFINER (runs as the owner
  of the table), so the application role needs no DELETE privilege at all.
- TRUNCATE is refused by a statement trigger, for the owner too, unless the *database* carries
  the setting `compliance.audit_log_truncate_for_tests=on` (ALTER DATABASE, which only the
  database's owner or a superuser can do): the test suite sets it on its test database so that
  Django's flush between tests keeps working. A session's SET/set_config does not count.
- The audit_log policy cannot go below 365 days (INSERT or UPDATE of that row is refused), and
  every change of its days, enabled flag or key writes an audit entry.

Every function pins search_path to the schema the tables live in, then pg_temp last, so a
session's temporary table cannot stand in for the policy table. See docs/compliance.md.
"""

from django.db import migrations

AUDIT_POLICY_FLOOR_DAYS = 365

INSTALL = """
CREATE OR REPLACE FUNCTION compliance_audit_log_cutoff(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = {schema}, pg_temp AS $$
  SELECT at - p.retention_days * interval '24 hours'
    FROM {schema}.compliance_retentionpolicy p
   WHERE p.key = 'audit_log' AND p.enabled
$$;
COMMENT ON FUNCTION compliance_audit_log_cutoff(timestamptz) IS
  'Audit entries older than this may be purged at `at`: at minus the enabled audit_log '
  'retention policy''s days (24-hour days, as Python''s timedelta); NULL when there is no '
  'enabled policy, so nothing may be purged.';

CREATE OR REPLACE FUNCTION compliance_audit_log_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
DECLARE cutoff timestamptz;
BEGIN
  IF TG_OP = 'DELETE' THEN
    cutoff := {schema}.compliance_audit_log_cutoff(now());
    IF cutoff IS NOT NULL AND OLD.occurred_at < cutoff THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'compliance_auditlog is append-only: DELETE of entry % refused', OLD.id
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Only entries older than ' || coalesce(cutoff::text, '(no enabled '
                     'audit_log retention policy)') || ' may be deleted.',
            HINT = 'Entries leave only through compliance_audit_log_purge(), past the '
                   'audit_log retention policy''s period.';
  END IF;
  RAISE EXCEPTION 'compliance_auditlog is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit entries are only ever added; the retention purge deletes expired ones.';
END $$;

CREATE OR REPLACE FUNCTION compliance_audit_log_purge(batch_size integer)
RETURNS SETOF bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  DELETE FROM {schema}.compliance_auditlog WHERE id IN (
    SELECT id FROM {schema}.compliance_auditlog
     WHERE occurred_at < {schema}.compliance_audit_log_cutoff(now())
     ORDER BY occurred_at LIMIT greatest(batch_size, 1)
  )
  RETURNING id
$$;
REVOKE ALL ON FUNCTION compliance_audit_log_purge(integer) FROM PUBLIC;
COMMENT ON FUNCTION compliance_audit_log_purge(integer) IS
  'Deletes up to batch_size audit entries past the audit_log retention policy; returns their '
  'ids. Runs as the table owner: GRANT EXECUTE on it to the application role.';

CREATE OR REPLACE FUNCTION compliance_audit_log_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- Only a database-level setting counts (pg_db_role_setting, role 0): a session's SET or
  -- set_config() is not there, and ALTER DATABASE needs the database's owner or a superuser.
  IF EXISTS (
    SELECT 1 FROM pg_catalog.pg_db_role_setting s
      JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
     WHERE d.datname = current_database() AND s.setrole = 0
       AND 'compliance.audit_log_truncate_for_tests=on' = ANY (s.setconfig)
  ) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'compliance_auditlog is append-only: TRUNCATE refused'
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit entries leave only through compliance_audit_log_purge(). Test '
                 'databases allow it with ALTER DATABASE ... SET '
                 'compliance.audit_log_truncate_for_tests = on (see docs/compliance.md).';
END $$;

CREATE TRIGGER compliance_auditlog_no_truncate
  BEFORE TRUNCATE ON compliance_auditlog
  FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_log_refuse_truncate();

CREATE OR REPLACE FUNCTION compliance_retention_policy_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
  IF NEW.key = 'audit_log' AND NEW.retention_days < {floor} THEN
    RAISE EXCEPTION 'the audit_log retention policy keeps entries at least {floor} days; '
                    '% days refused', NEW.retention_days
      USING ERRCODE = 'check_violation',
            HINT = 'Marco Civil art. 15 requires access logs for at least 6 months and the '
                   'product keeps them at least a year; choose {floor} days or more.';
  END IF;
  IF (TG_OP = 'INSERT' AND NEW.key = 'audit_log')
     OR (TG_OP = 'UPDATE' AND 'audit_log' IN (OLD.key, NEW.key)
         AND (OLD.key, OLD.retention_days, OLD.enabled)
             IS DISTINCT FROM (NEW.key, NEW.retention_days, NEW.enabled)) THEN
    INSERT INTO {schema}.compliance_auditlog
           (occurred_at, actor_label, action, object_type, object_id, details)
    VALUES (now(), 'database:' || session_user, 'retention.audit_policy_changed',
            'compliance.retentionpolicy', NEW.id::text,
            jsonb_build_object(
              'key', NEW.key, 'retention_days', NEW.retention_days, 'enabled', NEW.enabled,
              'previous', CASE WHEN TG_OP = 'UPDATE' THEN jsonb_build_object(
                'key', OLD.key, 'retention_days', OLD.retention_days, 'enabled', OLD.enabled)
              END));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER compliance_retentionpolicy_guard
  BEFORE INSERT OR UPDATE ON compliance_retentionpolicy
  FOR EACH ROW EXECUTE FUNCTION compliance_retention_policy_guard();
"""

# Back to 0002's guard (the session-variable purge), exactly as it was.
UNINSTALL = """
DROP TRIGGER IF EXISTS compliance_retentionpolicy_guard ON compliance_retentionpolicy;
DROP FUNCTION IF EXISTS compliance_retention_policy_guard();
DROP TRIGGER IF EXISTS compliance_auditlog_no_truncate ON compliance_auditlog;
DROP FUNCTION IF EXISTS compliance_audit_log_refuse_truncate();
DROP FUNCTION IF EXISTS compliance_audit_log_purge(integer);
CREATE OR REPLACE FUNCTION compliance_audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE cutoff text := current_setting('compliance.audit_purge_before', true);
BEGIN
  IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> ''
     AND OLD.occurred_at < cutoff::timestamptz
     AND cutoff::timestamptz <= now() - interval '1 year' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'compliance_auditlog is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit entries are only ever added; the retention purge deletes expired ones.';
END $$;
ALTER FUNCTION compliance_audit_log_guard() RESET search_path;
DROP FUNCTION IF EXISTS compliance_audit_log_cutoff(timestamptz);
"""


def _schema(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    return schema_editor.quote_name(schema)


def install(apps, schema_editor):
    sql = INSTALL.format(schema=_schema(schema_editor), floor=AUDIT_POLICY_FLOOR_DAYS)
    schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_default_retention_policies")]

    operations = [migrations.RunPython(install, uninstall)]

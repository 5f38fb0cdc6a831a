from django.db import migrations

# The audit log is append-only at the database level. UPDATE is always refused. DELETE is
# refused unless the transaction set `compliance.audit_purge_before` (the retention purge does,
# to its cut-off) and the row is older than that cut-off: no setting can delete recent entries.
INSTALL = """
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

CREATE TRIGGER compliance_auditlog_append_only
  BEFORE UPDATE OR DELETE ON compliance_auditlog
  FOR EACH ROW EXECUTE FUNCTION compliance_audit_log_guard();
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS compliance_auditlog_append_only ON compliance_auditlog;
DROP FUNCTION IF EXISTS compliance_audit_log_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunSQL(INSTALL, reverse_sql=UNINSTALL)]

"""On PostgreSQL: triggers that refuse UPDATE, DELETE and TRUNCATE of the audit tables.

Other databases (SQLite for the embedded mode and tests) get no trigger: the model and query set
refuse changes there, and the hash chain finds any made behind their back. TRUNCATE is let through
only where the database sets ekessai.audit_truncate = 'allow' (test databases, see audit.db).
"""

from django.db import migrations

CREATE_SQL = """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('ekessai.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % of % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_auditentry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_auditanchor_append_only BEFORE UPDATE OR DELETE ON audit_auditanchor
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_auditanchor_no_truncate BEFORE TRUNCATE ON audit_auditanchor
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"""

DROP_SQL = """DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_auditentry_no_truncate ON audit_auditentry;

DROP TRIGGER IF EXISTS audit_auditanchor_append_only ON audit_auditanchor;
DROP TRIGGER IF EXISTS audit_auditanchor_no_truncate ON audit_auditanchor;
DROP FUNCTION IF EXISTS audit_append_only();"""


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [PostgresOnlySQL(CREATE_SQL, DROP_SQL)]

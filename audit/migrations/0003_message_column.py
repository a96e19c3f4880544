"""On PostgreSQL (UTF-8): each entry's hashed message as a stored generated column.

`verify_audit` then reads two columns (message, hash) instead of eleven: PostgreSQL's per-column
cost of a COPY is most of the check's time. The column is computed by PostgreSQL from the other
columns (format 1 of audit.models) and cannot be written to; the check makes sure it still is
that generated column before trusting it, and otherwise reads the eleven columns. Django's model
does not know the column: nothing in the application reads or writes it.
"""

from django.db import migrations

# Text as its UTF-8 bytes with only immutable built-ins (convert_to and textsend are "stable"):
# escape-decoding a text whose backslashes are doubled gives its bytes in the database encoding.
TEXT = "int4send(octet_length({c})) || decode(replace({c}, '\\', '\\\\'), 'escape')"
INT8 = (
    "CASE WHEN {c} IS NULL THEN '\\xffffffff'::bytea "
    "ELSE '\\x00000008'::bytea || int8send({c}::bigint) END"
)
EXPRESSION = " || ".join(
    [
        "int4send(octet_length(prev_hash)) || prev_hash",
        INT8.format(c="seq"),
        "'\\x00000008'::bytea || timestamptz_send(at)",
        INT8.format(c="actor_id"),
        INT8.format(c="on_behalf_of_id"),
        TEXT.format(c="action"),
        INT8.format(c="document_id"),
        INT8.format(c="document_version"),
        TEXT.format(c="ip"),
        TEXT.format(c="client"),
        TEXT.format(c="data"),
    ]
)


def add(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_encoding")
        if cursor.fetchone()[0] != "UTF8":
            return  # the bytes would not be UTF-8: verify_audit reads the columns instead
    schema_editor.execute(
        "ALTER TABLE audit_auditentry ADD COLUMN message bytea "
        f"GENERATED ALWAYS AS ({EXPRESSION}) STORED"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditentry DROP COLUMN IF EXISTS message")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(add, remove, elidable=False)]

from django.db import migrations

from documents.defaults import ensure_document_types

def create_types(apps, schema_editor):
    ensure_document_types(apps.get_model("documents", "DocumentType"))


def create_gin_index(apps, schema_editor):
    # The n-gram index of documents.search; SQLite has neither tsvector nor GIN and searches by
    # scanning, which is fine at the sizes an embedded installation holds.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS document_search_gin "
            "ON documents_document USING gin (search_vector)"
        )


def drop_gin_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS document_search_gin")


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [
        migrations.RunPython(create_types, migrations.RunPython.noop),
        migrations.RunPython(create_gin_index, drop_gin_index),
    ]

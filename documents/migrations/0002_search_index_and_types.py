from django.db import migrations

# Document types every office starts with; administrators add or rename them in the admin.
# code, name, default retention (years; 0 = permanent), transaction record, order
DOCUMENT_TYPES = [
    ("contract", "契約", 10, True, 10),
    ("expenditure", "支出", 5, True, 20),
    ("notice", "通知", 3, False, 30),
    ("inquiry", "照会", 1, False, 40),
    ("plan", "計画", 30, False, 50),
    ("regulation", "例規", 0, False, 60),
    ("other", "その他", 5, False, 90),
]


def create_types(apps, schema_editor):
    DocumentType = apps.get_model("documents", "DocumentType")
    for code, name, years, transaction, order in DOCUMENT_TYPES:
        DocumentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "default_retention_years": years,
                "is_transaction": transaction,
                "sort_order": order,
            },
        )


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

from django.db import migrations

from documents.defaults import ensure_document_types


def create_types(apps, schema_editor):
    # Databases made before the disposal type existed get it (and nothing else changes).
    ensure_document_types(apps.get_model("documents", "DocumentType"))


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial"), ("documents", "0006_document_status_disposed")]

    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]

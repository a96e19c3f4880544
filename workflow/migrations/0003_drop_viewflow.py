"""The viewflow runtime is gone (issue 14): drop what it left in databases made before.

Until then every route ran on a viewflow process as well (`Route.process`, the tables
`viewflow_process`, `viewflow_task`, `viewflow_task_previous`). The Route, RouteStage and Slot rows
always held the whole state of a running approval, so nothing has to be moved: running approvals
carry on from their slots. 0001 was rewritten without the viewflow parts (a new database never
has them), so this migration finds out what exists and drops only that.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

VIEWFLOW_TABLES = ("viewflow_task_previous", "viewflow_task", "viewflow_process")


def drop_viewflow(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    route = apps.get_model("workflow", "Route")
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, route._meta.db_table)
        }
    if "process_id" in columns:
        # A stand-in for the old one-to-one field: removing it drops the column (and, on
        # PostgreSQL, its foreign key with CASCADE; SQLite rebuilds the table without it).
        field = models.BigIntegerField(null=True)
        field.set_attributes_from_name("process_id")
        field.model = route
        schema_editor.remove_field(route, field)
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    for table in VIEWFLOW_TABLES:
        if table in tables:
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}{cascade}")
    if "django_migrations" in tables:
        schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["viewflow"])


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_annotation")]

    operations = [
        migrations.RunPython(drop_viewflow, migrations.RunPython.noop),
        # Where a send-back goes is an argument of the action now, not a row's state.
        migrations.RemoveField(model_name="route", name="send_back_to"),
    ]

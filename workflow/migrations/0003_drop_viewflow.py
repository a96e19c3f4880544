"""The viewflow runtime is gone (issue 14): drop what it left.

Until then every route ran on a viewflow process as well (`Route.process`, the tables
`viewflow_process`, `viewflow_task`, `viewflow_task_previous`). The Route, RouteStage and Slot rows
always held the whole state of a running approval, so nothing has to be moved: running approvals
carry on from their slots. 0001 now declares `process` as a plain column (it named viewflow's
model before), so that no migration needs viewflow installed; removing it here drops the column
with its foreign key (PostgreSQL: DROP COLUMN … CASCADE; SQLite rebuilds the table). viewflow's
tables are dropped where they exist (databases made before this change).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

VIEWFLOW_TABLES = ("viewflow_task_previous", "viewflow_task", "viewflow_process")


def drop_viewflow_tables(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    for table in VIEWFLOW_TABLES:
        if table in tables:
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}{cascade}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["viewflow"])


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_annotation")]

    operations = [
        migrations.RemoveField(model_name="route", name="process"),
        # Where a send-back goes is an argument of the action now, not a row's state.
        migrations.RemoveField(model_name="route", name="send_back_to"),
        migrations.RunPython(drop_viewflow_tables, migrations.RunPython.noop),
    ]

"""Migration workflow 0003: a database made while viewflow ran beside the routes loses viewflow's
column and tables, and its running approvals carry on from their slots."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from documents.models import DocumentType
from documents.services import create_document
from org.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("workflow", "0002_annotation")]
AFTER = [("workflow", "0003_drop_viewflow")]


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """The later tests of the run use this database: leave it migrated to the end."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def test_viewflow_leftovers_are_dropped_and_routes_kept(demo_org):
    tanaka = User.objects.get(username="tanaka")
    document = create_document(
        tanaka,
        {
            "title": "移行",
            "doc_type": DocumentType.objects.get(code="notice"),
            "retention_years": 1,
        },
    )
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        # What viewflow's runtime left: its tables (here reduced to what the drop needs) and a
        # route pointing at a process.
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE viewflow_process (id integer PRIMARY KEY)")
            cursor.execute(
                "CREATE TABLE viewflow_task (id integer PRIMARY KEY, process_id integer "
                "REFERENCES viewflow_process (id))"
            )
            cursor.execute(
                "CREATE TABLE viewflow_task_previous (id integer PRIMARY KEY, "
                "from_task_id integer REFERENCES viewflow_task (id))"
            )
            cursor.execute("INSERT INTO viewflow_process (id) VALUES (7)")
            cursor.execute("INSERT INTO viewflow_task (id, process_id) VALUES (1, 7)")
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('viewflow', '0015_task_scheduled', CURRENT_TIMESTAMP)"
            )
            cursor.execute(
                "INSERT INTO workflow_route (document_id, document_version, template_code, "
                "status, current_stage, send_back_to, created_at, process_id) "
                "VALUES (%s, 1, 'kacho-senketsu', 'in_progress', 0, '', CURRENT_TIMESTAMP, 7)",
                [document.pk],
            )
        assert "process_id" in _columns("workflow_route")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
    assert not {"viewflow_process", "viewflow_task", "viewflow_task_previous"} & _tables()
    assert not {"process_id", "send_back_to"} & _columns("workflow_route")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'viewflow'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT document_id, template_code, status FROM workflow_route")
        assert cursor.fetchall() == [(document.pk, "kacho-senketsu", "in_progress")]

"""The workspace's pages, rendered before the approver opens them (documents.page_images).

A workflow listener: when a task reaches someone, the document's current record (signed anew at
every approval) gets a background job that renders its first pages into the cache. Only with a
broker: without one the job would run in the approver's request and only make it slower, and
the page view renders on demand anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from documents.page_images import enqueue_prerender
from workflow.events import TaskAssigned, WorkflowEvent


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    for document_id in sorted({e.document_id for e in events if isinstance(e, TaskAssigned)}):
        enqueue_prerender(document_id)

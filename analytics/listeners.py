"""After an action commits (`workflow.hooks`): refresh the figures of the documents it touched.

The refresh is a background job (jobs.queue: a Celery worker, or in process without a broker),
not part of the approver's request: one INSERT of the job row here, the reading and writing of the
facts there, retried with backoff if it fails. `rebuild_analytics` heals anything a lost job left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics import facts, rollups
from jobs import queue
from workflow.events import CommentAdded, WorkflowEvent

JOB = "analytics.refresh"


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    # A mark on the record changes no time; everything else (a task opened, closed or moved, a
    # route decided, sent back, rejected or withdrawn) may.
    ids = sorted({e.document_id for e in events if not isinstance(e, CommentAdded)})
    if ids:
        queue.enqueue(JOB, {"documents": ids})


def on_document_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A document deleted takes its facts with it (CASCADE): its rolled-up months are dropped in
    the same transaction (analytics.rollups), so no cell counts it afterwards."""
    rollups.drop_for_documents([instance.pk])


@queue.handler(JOB)
def refresh(payload: dict[str, Any]) -> None:
    facts.refresh([int(pk) for pk in payload.get("documents", [])])

"""After a decision commits (`workflow.hooks`): lock the record; carry out a disposal request.

The work runs as a background job (jobs.queue: a Celery worker, or in process without a broker),
not in the request of the person who decided: building a transfer package or deleting a record's
objects may take long. Both parts are tried each time, so a failing lock does not stop a disposal
and the other way round; if either failed the job is tried again with backoff, and whatever is
still undone is healed by `apply_retention` (beat, hourly), which also finds the work of a job
that was never written (the process died between the decision's commit and the job's).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from documents.models import Document, Status
from jobs import queue
from workflow.events import DocumentDecided, WorkflowEvent

from . import execution, locking
from .models import DisposalRequest

logger = logging.getLogger(__name__)

JOB = "retention.decided"


class RetentionNotDone(Exception):
    """The lock or the disposal failed this time: the job is tried again."""


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    for event in events:
        if isinstance(event, DocumentDecided):
            queue.enqueue(JOB, {"document": event.document_id})


@queue.handler(JOB)
def on_decided(payload: dict[str, Any]) -> None:
    document = Document.objects.filter(pk=payload["document"], status=Status.DECIDED).first()
    if document is None:
        return
    problems = []
    try:
        lock = locking.protect(document)
        if lock.error:
            problems.append(f"lock: {lock.error}")
    except Exception as exc:
        logger.exception("retention: locking record %s failed", document.pk)
        problems.append(f"lock: {exc!r}")
    request = DisposalRequest.objects.filter(document=document, executed_at__isnull=True).first()
    if request is not None:
        try:
            outcome = execution.carry_out(request)
            if outcome.failed:
                problems.append(f"disposal: {outcome.failed} records not disposed of yet")
        except Exception as exc:
            logger.exception("retention: carrying out disposal request %s failed", request.pk)
            problems.append(f"disposal: {exc!r}")
    if problems:
        raise RetentionNotDone(f"document {document.pk}: " + "; ".join(problems))

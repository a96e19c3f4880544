"""After a decision commits (`workflow.hooks`): lock the record; carry out a disposal request.

Each part is caught on its own, so a failing lock does not stop a disposal and the other way
round; whatever fails is left for `apply_retention` to heal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from documents.models import Document, Status
from workflow.events import DocumentDecided, WorkflowEvent

from . import execution, locking
from .models import DisposalRequest

logger = logging.getLogger(__name__)


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    for event in events:
        if isinstance(event, DocumentDecided):
            _on_decided(event.document_id)


def _on_decided(document_id: int) -> None:
    document = Document.objects.filter(pk=document_id, status=Status.DECIDED).first()
    if document is None:
        return
    try:
        locking.protect(document)
    except Exception:
        logger.exception("retention: locking record %s failed", document.pk)
    request = DisposalRequest.objects.filter(document=document).first()
    if request is None:
        return
    try:
        execution.carry_out(request)
    except Exception:
        logger.exception("retention: carrying out disposal request %s failed", request.pk)

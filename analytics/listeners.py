"""After an action commits (`workflow.hooks`): refresh the figures of the documents it touched."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from analytics import facts
from workflow.events import CommentAdded, WorkflowEvent

logger = logging.getLogger(__name__)


def on_workflow_events(events: Sequence[WorkflowEvent]) -> None:
    # A mark on the record changes no time; everything else (a task opened, closed or moved, a
    # route decided, sent back, rejected or withdrawn) may.
    ids = sorted({e.document_id for e in events if not isinstance(e, CommentAdded)})
    if ids:
        facts.refresh(ids)

"""The first time an approver opens a task's document: the end of its waiting time.

workflow's rows record when a task opened and when it was acted on, not when its approver first
looked at it, and workflow/ and the pages are not analytics' to change (the pages sit beside it in
the top layer and may not import it). So this middleware watches the two ways a person reads a
document — the workspace page (`frontend:document`) and the API's detail
(`api:document`) — and, after a successful answer, writes a `SlotView` for each open task of that
person on that document that has none yet (one query when there is nothing new to write).
Reads through other views (page images, attachments) follow one of these two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from analytics.models import SlotView
from workflow.models import Slot, SlotStatus

logger = logging.getLogger(__name__)

WATCHED = {"frontend:document", "api:document"}


def record_first_view(user_id: int, document_id: int) -> int:
    """Mark the user's open tasks on the document as seen now; the number newly marked."""
    # Seen already: nothing to write (most reads are not the first).
    seen = SlotView.objects.filter(slot_id=OuterRef("pk"))
    open_slots = list(
        Slot.objects.filter(
            stage__route__document_id=document_id,
            assignee_id=user_id,
            status=SlotStatus.OPEN,
        )
        .exclude(Exists(seen))
        .values_list("pk", flat=True)
    )
    if not open_slots:
        return 0
    now = timezone.now()
    # Two first reads at once (two tabs): the second finds the row and leaves it.
    SlotView.objects.bulk_create(
        [SlotView(slot_id=pk, user_id=user_id, at=now) for pk in open_slots],
        ignore_conflicts=True,
    )
    return len(open_slots)


class FirstViewMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            request.method == "GET"
            and response.status_code == 200
            and match is not None
            and match.view_name in WATCHED
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            try:
                record_first_view(request.user.pk, int(match.kwargs["document_id"]))
            except (DatabaseError, KeyError, ValueError):
                # The reader got their document; a lost mark costs a figure, not the page.
                logger.exception("analytics: recording a first view failed")
        return response

"""Approvers' marks on the decision record (赤ペン): highlights, sticky notes, comments, pen.

A mark is made by someone with an open task on the document, on the record of the version under
review, and stays an editable row until that person acts on the task: the action writes the
marks into the record under their signature (`workflow.sealing`), after which they are fixed.
Everyone who may see the document sees every mark; earlier approvers' marks guide later ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document, DocumentVersion
from documents.records import ensure_record
from org.models import User
from workflow import hooks, locks
from workflow.models import Annotation, AnnotationKind, Slot, SlotStatus
from workflow.states import task_actions

MAX_RECTS = 200
MAX_STROKES = 100
MAX_POINTS = 5000
MAX_TEXT = 2000
MAX_PER_TASK = 500
# Larger than any real page (A0 is 2384 × 3370 pt); coordinates beyond are a client bug.
MAX_COORD = 14400.0
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class AnnotationError(ApiError):
    pass


def _invalid(message: str) -> AnnotationError:
    return AnnotationError("invalid", message, status.HTTP_400_BAD_REQUEST)


@dataclass(frozen=True)
class MarkInput:
    page: int
    kind: str
    rects: list[list[float]]
    strokes: list[list[list[float]]]
    text: str
    color: str


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(_("Coordinates must be numbers."))
    if not -MAX_COORD <= value <= MAX_COORD:
        raise _invalid(_("A coordinate lies outside any page."))
    return float(value)


def _rects(value: Any) -> list[list[float]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_RECTS:
        raise _invalid(_("rects must be a list of at most %(n)d boxes.") % {"n": MAX_RECTS})
    rects = []
    for rect in value:
        if not isinstance(rect, list) or len(rect) != 4:
            raise _invalid(_("Each box in rects is [x1, y1, x2, y2] in PDF points."))
        x1, y1, x2, y2 = (_number(v) for v in rect)
        rects.append([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)])
    return rects


def _strokes(value: Any) -> list[list[list[float]]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_STROKES:
        raise _invalid(_("strokes must be a list of at most %(n)d lines.") % {"n": MAX_STROKES})
    strokes, total = [], 0
    for stroke in value:
        if not isinstance(stroke, list) or len(stroke) < 2:
            raise _invalid(_("Each stroke is a list of at least two [x, y] points."))
        points = []
        for point in stroke:
            if not isinstance(point, list) or len(point) != 2:
                raise _invalid(_("Each stroke is a list of at least two [x, y] points."))
            points.append([_number(point[0]), _number(point[1])])
        total += len(points)
        strokes.append(points)
    if total > MAX_POINTS:
        raise _invalid(_("A drawing may have at most %(n)d points.") % {"n": MAX_POINTS})
    return strokes


def parse(data: Any) -> MarkInput:
    """Check a mark as a client sends it (DESIGN.md §6); every problem is a 400 in words."""
    if not isinstance(data, dict):
        raise _invalid(_("Send the annotation as a JSON object."))
    page = data.get("page")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise _invalid(_("page must be a page number of the record, from 1."))
    kind = data.get("kind")
    if kind not in AnnotationKind.values:
        raise _invalid(
            _("kind must be one of: %(kinds)s.") % {"kinds": ", ".join(AnnotationKind.values)}
        )
    text = data.get("text") or ""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise _invalid(_("text must be at most %(n)d characters.") % {"n": MAX_TEXT})
    color = data.get("color") or "#ffeb3b"
    if not isinstance(color, str) or not COLOR.match(color):
        raise _invalid(_("color must look like #ffeb3b."))
    rects, strokes = _rects(data.get("rects")), _strokes(data.get("strokes"))
    if kind == AnnotationKind.HIGHLIGHT and not rects:
        raise _invalid(_("A highlight needs at least one box in rects."))
    if kind in (AnnotationKind.NOTE, AnnotationKind.FREETEXT):
        if len(rects) != 1:
            raise _invalid(_("A note or comment needs exactly one box in rects."))
        if not text.strip():
            raise _invalid(_("A note or comment needs text."))
    if kind == AnnotationKind.INK and not strokes:
        raise _invalid(_("A pen drawing needs at least one stroke."))
    return MarkInput(page, kind, rects, strokes, text.strip(), color.lower())


def _open_task(user: User, document: Document) -> Slot:
    """The user's task on the document on which they may mark the record now (workflow.states:
    whoever may approve a task may mark)."""
    slots = (
        Slot.objects.select_related("stage__route")
        .filter(stage__route__document=document, assignee=user, status=SlotStatus.OPEN)
        .order_by("-id")
    )
    for slot in slots:
        if "annotate" in task_actions(user, slot):
            return slot
    raise AnnotationError(
        "no_open_task",
        _("You can mark up this record only while you have a task on it."),
        status.HTTP_403_FORBIDDEN,
    )


def _record_version(slot: Slot) -> DocumentVersion:
    route = slot.stage.route
    version = route.document.versions.get(number=route.document_version)
    return ensure_record(version)


def create(user: User, document: Document, data: Any) -> Annotation:
    mark = parse(data)
    with transaction.atomic():
        # The route's lock, as every action takes it (workflow.locks): an approval sealing this
        # task's marks runs wholly before or after this, and the per-task limit stays exact under
        # double submits. The task is looked up again after the lock.
        locks.route_of_slot(_open_task(user, document).pk)
        slot = _open_task(user, document)
        version = _record_version(slot)
        if version.record_pages is not None and mark.page > version.record_pages:
            raise _invalid(
                _("The record has %(n)d pages; there is no page %(page)d.")
                % {"n": version.record_pages, "page": mark.page}
            )
        if Annotation.objects.filter(slot=slot).count() >= MAX_PER_TASK:
            raise _invalid(_("You have reached the limit of marks on this task."))
        annotation = Annotation.objects.create(
            document=document,
            version=version,
            slot=slot,
            author=user,
            page=mark.page,
            kind=mark.kind,
            rects=mark.rects,
            strokes=mark.strokes,
            text=mark.text,
            color=mark.color,
        )
        hooks.comment_added(annotation)
    return annotation


def delete(user: User, document: Document, annotation_id: int) -> None:
    with transaction.atomic():
        annotation = (
            Annotation.objects.select_for_update()
            .filter(pk=annotation_id, document=document)
            .first()
        )
        if annotation is None:
            raise AnnotationError("not_found", _("No such annotation."), status.HTTP_404_NOT_FOUND)
        if annotation.author_id != user.pk:
            raise AnnotationError(
                "permission_denied",
                _("Only the person who made a mark can remove it."),
                status.HTTP_403_FORBIDDEN,
            )
        if annotation.revision_id is not None:
            raise AnnotationError(
                "signed",
                _("This mark is part of the signed record and can no longer be removed."),
                status.HTTP_409_CONFLICT,
            )
        annotation.delete()


def of_document(document: Document, version: int | None = None) -> QuerySet[Annotation]:
    """The marks on a version's record (the version under review by default)."""
    number = version if version is not None else document.version
    return (
        Annotation.objects.filter(document=document, version__number=number)
        .select_related("author", "slot__stage")
        .order_by("page", "id")
    )


def pending_for(slot: Slot) -> list[Annotation]:
    """The marks an action on `slot` writes into the record."""
    return list(
        Annotation.objects.filter(slot=slot, revision__isnull=True)
        .select_related("author")
        .order_by("id")
    )

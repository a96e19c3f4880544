"""Notes of a meeting, in three layers (meetings.models.NoteLayer): private (the author's
alone), shared with the meeting, and the chair's ink. Every read goes through
meetings.access.visible_notes; another person's private note is "not found", never "forbidden".
Nothing here writes an audit entry or touches a document: a note changes no decision record.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from meetings import access
from meetings.models import Meeting, MeetingItem, MeetingNote, NoteLayer
from meetings.services import closed_error, forbidden, item_not_found, require_attendee
from org.models import User

MAX_NOTE = 4000


def _anchor(meeting: Meeting, values: dict[str, Any]) -> dict[str, Any]:
    """The item, part, page and point of a note, checked against the item's frozen record."""
    item = values.get("item")
    if item is None:
        return {"item": None, "part": "", "page": None, "x": values.get("x"), "y": values.get("y")}
    if not isinstance(item, MeetingItem):
        item = MeetingItem.objects.filter(meeting=meeting, pk=item).first()
    if item is None or item.meeting_id != meeting.pk:
        raise item_not_found()
    page = values.get("page")
    part = values.get("part") or ""
    if page is not None and not 1 <= page <= max(item.record_pages, 1):
        raise ApiError(
            "invalid_page",
            _("The item has pages 1 to %(n)d.") % {"n": item.record_pages},
            fields={"page": [_("Out of range.")]},
        )
    if part:
        found = item.part(part)
        if found is None:
            raise ApiError(
                "invalid", _("No such part in this item."), fields={"part": [_("Unknown part.")]}
            )
        if page is not None and not found["first"] <= page < found["first"] + found["count"]:
            raise ApiError(
                "invalid_page",
                _("That page is not in the part named."),
                fields={"page": [_("Not in the part.")]},
            )
    return {"item": item, "part": part, "page": page, "x": values.get("x"), "y": values.get("y")}


@transaction.atomic
def create_note(user: User, meeting: Meeting, values: dict[str, Any]) -> MeetingNote:
    require_attendee(user, meeting)
    layer = values["layer"]
    if meeting.is_closed and layer != NoteLayer.PRIVATE:
        raise ApiError(
            "meeting_closed",
            _(
                "The meeting is closed: its shared notes and ink are final. Private notes "
                "can still be written."
            ),
            status.HTTP_409_CONFLICT,
        )
    if layer == NoteLayer.INK and not access.is_chair(user, meeting):
        raise forbidden(_("Only the chair, who presents, draws ink for the meeting."))
    if layer == NoteLayer.INK and not values.get("strokes"):
        raise ApiError("invalid", _("Ink needs strokes."), fields={"strokes": [_("Required.")]})
    if layer != NoteLayer.INK and not values.get("text", "").strip():
        raise ApiError("invalid", _("Write the note's text."), fields={"text": [_("Required.")]})
    return MeetingNote.objects.create(
        meeting=meeting,
        author=user,
        layer=layer,
        text=values.get("text", ""),
        strokes=values.get("strokes") or [],
        color=values.get("color", ""),
        **_anchor(meeting, values),
    )


def own_note(user: User, meeting: Meeting, note_id: int) -> MeetingNote:
    """The caller's own note; anything else, another person's private note above all, is not
    found (never 403: that would tell that it exists)."""
    require_attendee(user, meeting)
    note = access.visible_notes(user, meeting).filter(pk=note_id).first()
    if note is None:
        raise ApiError("not_found", _("No such note."), status.HTTP_404_NOT_FOUND)
    if note.author_id != user.pk:
        raise forbidden(_("Only its author changes or deletes a note."))
    return note


@transaction.atomic
def update_note(user: User, meeting: Meeting, note_id: int, values: dict[str, Any]) -> MeetingNote:
    note = own_note(user, meeting, note_id)
    if meeting.is_closed and (note.layer != NoteLayer.PRIVATE or "layer" in values):
        raise closed_error()
    layer = values.get("layer", note.layer)
    if (layer == NoteLayer.INK) != (note.layer == NoteLayer.INK):
        raise ApiError(
            "invalid",
            _("Ink stays ink, and a note stays a note; only private and shared swap."),
            fields={"layer": [_("Not this change.")]},
        )
    if "text" in values:
        if note.layer != NoteLayer.INK and not values["text"].strip():
            raise ApiError(
                "invalid", _("Write the note's text."), fields={"text": [_("Required.")]}
            )
        note.text = values["text"]
    if "strokes" in values and note.layer == NoteLayer.INK:
        note.strokes = values["strokes"]
    if "color" in values:
        note.color = values["color"]
    note.layer = layer
    note.save()
    return note


@transaction.atomic
def delete_note(user: User, meeting: Meeting, note_id: int) -> None:
    note = own_note(user, meeting, note_id)
    if meeting.is_closed and note.layer != NoteLayer.PRIVATE:
        raise closed_error()
    note.delete()

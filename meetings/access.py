"""Who may see and do what in a meeting: the one place the rule lives.

- The people of a meeting are its attendee rows; the chair and the organiser always have one
  (meetings.services keeps them). Only they see the meeting: its items, attendees, shared notes,
  ink and minutes. Anyone else gets 404, as for a document they may not read.
- The organiser changes the meeting (title, date, place; deleting it) while it is planned; the
  organiser and the chair change the set of documents and the attendees until it is closed, and
  start and close it. The chair presents (the briefing's page turns and pointer) and draws ink.
- The set and the people are kept consistent with the documents' own rules (documents.access):
  a document goes in only if every person of the meeting may read it, a person is added only if
  they may read every document of the set. Since those rules change after the fact (personnel
  changes, a document made secret), an item's bytes are served only to a person of the meeting
  who may still read its document (`may_read_item`).
- A private note is its author's alone: no query here ever returns another person's.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from documents.access import readers_of, visible_documents
from documents.models import Document
from meetings.models import (
    Meeting,
    MeetingAttendee,
    MeetingItem,
    MeetingNote,
    MeetingState,
    NoteLayer,
)
from org.models import User


def may_attend(user: User, meeting: Meeting) -> bool:
    """May `user` see the meeting and follow it (attendee, chair or organiser)?"""
    if not user.is_active:
        return False
    return MeetingAttendee.objects.filter(meeting_id=meeting.pk, user_id=user.pk).exists()


def is_chair(user: User, meeting: Meeting) -> bool:
    """Is `user` the meeting's chair, the one who presents?"""
    return user.is_active and meeting.chair_id == user.pk


def is_organiser(user: User, meeting: Meeting) -> bool:
    return user.is_active and meeting.organiser_id == user.pk


def visible_meetings(user: User) -> QuerySet[Meeting]:
    if not user.is_active:
        return Meeting.objects.none()
    return Meeting.objects.filter(attendees__user=user)


def may_edit_meeting(user: User, meeting: Meeting) -> bool:
    """Title, date, place and deletion: the organiser, while the meeting is planned."""
    return is_organiser(user, meeting) and meeting.state == MeetingState.PLANNED


def may_arrange(user: User, meeting: Meeting) -> bool:
    """The set of documents and the attendees: the organiser or the chair, until it closes."""
    return (is_organiser(user, meeting) or is_chair(user, meeting)) and not meeting.is_closed


def may_read_item(user: User, item: MeetingItem) -> bool:
    """The frozen copy goes to a person of the meeting who may still read the document."""
    return may_attend(user, item.meeting) and (
        visible_documents(user).filter(pk=item.document_id).exists()
    )


def readable_documents(user: User, items: Iterable[MeetingItem]) -> set[int]:
    """The documents of `items` that `user` may still read: one query for a whole set."""
    return set(
        visible_documents(user)
        .filter(pk__in=[i.document_id for i in items])
        .values_list("pk", flat=True)
    )


def _on_readable_items(user: User, notes: QuerySet[MeetingNote]) -> QuerySet[MeetingNote]:
    """Notes not anchored to an item, or anchored to one whose document `user` may still read: a
    note on a page says what is on it, so it goes where the page goes."""
    return notes.filter(
        Q(item__isnull=True) | Q(item__document__in=visible_documents(user).values("pk"))
    )


def visible_notes(user: User, meeting: Meeting) -> QuerySet[MeetingNote]:
    """The notes of a meeting `user` may see: shared notes, the presenter's ink, and their own
    private notes, on items they may still read. The only query of notes any endpoint makes."""
    notes = MeetingNote.objects.filter(meeting=meeting).filter(
        Q(layer__in=[NoteLayer.SHARED, NoteLayer.INK]) | Q(author_id=user.pk)
    )
    return _on_readable_items(user, notes)


def shared_notes(meeting: Meeting, reader: User) -> QuerySet[MeetingNote]:
    """What the minutes print for `reader`: shared notes only (never a private note, not even the
    author's), on items the reader may still read."""
    return _on_readable_items(
        reader, MeetingNote.objects.filter(meeting=meeting, layer=NoteLayer.SHARED)
    )


def unreadable(
    documents: Iterable[Document], users: Iterable[User]
) -> list[tuple[Document, list[User]]]:
    """For each document, the people of `users` who may not read it (only documents with some)."""
    documents, users = list(documents), list(users)
    readers = readers_of(documents, [u.pk for u in users])
    result = []
    for document in documents:
        missing = [u for u in users if u.pk not in readers.get(document.pk, set())]
        if missing:
            result.append((document, missing))
    return result

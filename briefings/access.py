"""Who may follow and who may present a briefing. The rules themselves live elsewhere, each in
one place: documents.access for a document, meetings.access for a meeting; this module only
applies them to briefings."""

from __future__ import annotations

from briefings.models import Briefing
from documents.access import can_view
from documents.models import Document
from meetings.access import is_chair, may_attend
from meetings.models import Meeting
from org.models import User


def may_read(user: User, document: Document) -> bool:
    return user.is_active and can_view(user, document)


def may_follow(user: User, briefing: Briefing) -> bool:
    """Anyone who may read what is presented, no one else (the code alone is not enough): the
    document's readers, or the people of the meeting."""
    if briefing.meeting is not None:
        return may_attend(user, briefing.meeting)
    return briefing.document is not None and may_read(user, briefing.document)


def may_present_meeting(user: User, meeting: Meeting) -> bool:
    """The chair opens a meeting's briefing (and may hand it over like any presenter)."""
    return is_chair(user, meeting)

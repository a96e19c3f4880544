"""The use cases of meetings, one function each; the API, the pages and the briefing's socket
only call these. Each checks who may do it (meetings.access), changes the rows in one
transaction with the meeting's row locked (two organisers reordering at once take turns), and
writes the audit entries the issue asks for: attendance, the pages presented, and what was put
into or taken out of a meeting (a document shown to people is a disclosure). Notes are never
audited: a private note must not reach any record, and a shared one changes no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from audit import services as audit
from documents.access import can_view
from documents.models import Document
from meetings import access
from meetings.freezing import frozen_copy
from meetings.models import (
    Meeting,
    MeetingAttendee,
    MeetingItem,
    MeetingKind,
    MeetingState,
)
from org.models import User

MAX_ITEMS = 100
MAX_ATTENDEES = 200

# --- refusals ---------------------------------------------------------------------------------


def not_found_message() -> str:
    return _("No such meeting, or you are not one of its attendees.")


def document_not_found_message() -> str:
    return _("No such document, or one you may not read.")


def no_longer_readable_message() -> str:
    return _(
        "You may no longer read this document (its access rules changed after it was put into "
        "the meeting); ask its drafter or the organiser."
    )


def not_an_attendee_message() -> str:
    return _("That person is not an attendee of this meeting.")


def whole_number_message(name: str) -> str:
    return _("%(name)s must be a whole number.") % {"name": name}


def state_message() -> str:
    return _("state must be planned, in_progress or closed.")


def _not_found() -> ApiError:
    return ApiError("not_found", not_found_message(), status.HTTP_404_NOT_FOUND)


def forbidden(message: str) -> ApiError:
    return ApiError("not_allowed", message, status.HTTP_403_FORBIDDEN)


def closed_error() -> ApiError:
    return ApiError(
        "meeting_closed",
        _("The meeting is closed; its documents and attendees no longer change."),
        status.HTTP_409_CONFLICT,
    )


def _names(people: Iterable[User]) -> str:
    return "、".join(str(p) for p in people)


def require_attendee(user: User, meeting: Meeting) -> None:
    if not access.may_attend(user, meeting):
        raise _not_found()


def require_arranger(user: User, meeting: Meeting) -> None:
    require_attendee(user, meeting)
    if meeting.is_closed:
        raise closed_error()
    if not access.may_arrange(user, meeting):
        raise forbidden(
            _("Only the organiser or the chair changes the documents and attendees of a meeting.")
        )


def _locked(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update().get(pk=meeting.pk)


def _people(meeting: Meeting) -> list[User]:
    return list(User.objects.filter(meeting_seats__meeting=meeting))


def _check_readers(documents: Sequence[Document], people: Sequence[User]) -> None:
    """422 naming who may not read what, so that the organiser knows whom to ask."""
    problems = access.unreadable(documents, people)
    if not problems:
        return
    lines = [
        _("%(people)s may not read 「%(title)s」") % {"people": _names(users), "title": doc.title}
        for doc, users in problems
    ]
    raise ApiError(
        "cannot_read",
        _(
            "Everyone in a meeting must be allowed to read every document of it: %(problems)s. "
            "Ask the drafter for access, or leave the document or the person out."
        )
        % {"problems": "; ".join(lines)},
        status.HTTP_422_UNPROCESSABLE_ENTITY,
        people=sorted({u.username for _doc, users in problems for u in users}),
        documents=[doc.pk for doc, _users in problems],
    )


def _audit(action: str, user: User, meeting: Meeting, **data: Any) -> None:
    document = data.pop("document", None)
    version = data.pop("version", None)
    audit.record(
        f"meeting.{action}",
        actor=user,
        document=document,
        version=version,
        data={"meeting": meeting.pk, "title": meeting.title, **data},
    )


# --- the meeting ------------------------------------------------------------------------------


@transaction.atomic
def create_meeting(
    organiser: User,
    *,
    title: str,
    starts_at: datetime,
    kind: str = MeetingKind.CONSULTATION,
    ends_at: datetime | None = None,
    place: str = "",
    web_meeting: str = "",
    chair: User | None = None,
    attendees: Sequence[User] = (),
    documents: Sequence[Document] = (),
) -> Meeting:
    """A planned meeting; the organiser and the chair are attendees. Documents the organiser may
    not read are not found (404); a document another person may not read refuses the whole."""
    chair = chair or organiser
    people = list({u.pk: u for u in [organiser, chair, *attendees]}.values())
    _check_active(people)
    if len(people) > MAX_ATTENDEES or len(documents) > MAX_ITEMS:
        raise ApiError("too_many", _("A meeting has at most 200 people and 100 documents."))
    for document in documents:
        if not can_view(organiser, document):
            raise _document_not_found()
    _check_readers(list({d.pk: d for d in documents}.values()), people)
    meeting = Meeting.objects.create(
        title=title,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        web_meeting=web_meeting,
        chair=chair,
        organiser=organiser,
    )
    MeetingAttendee.objects.bulk_create([MeetingAttendee(meeting=meeting, user=u) for u in people])
    _audit(
        "create", organiser, meeting, chair=chair.username, attendees=[u.username for u in people]
    )
    for document in documents:
        _add_item(organiser, meeting, document)
    return meeting


def _check_active(people: Sequence[User]) -> None:
    inactive = [p for p in people if not p.is_active]
    if inactive:
        raise ApiError(
            "inactive_user",
            _("%(people)s can no longer sign in and cannot attend.") % {"people": _names(inactive)},
            status.HTTP_422_UNPROCESSABLE_ENTITY,
        )


def _document_not_found() -> ApiError:
    return ApiError("document_not_found", document_not_found_message(), status.HTTP_404_NOT_FOUND)


EDITABLE_FIELDS = ("title", "kind", "starts_at", "ends_at", "place", "web_meeting", "chair")


@transaction.atomic
def update_meeting(user: User, meeting: Meeting, changes: dict[str, Any]) -> Meeting:
    require_attendee(user, meeting)
    meeting = _locked(meeting)
    if not access.may_edit_meeting(user, meeting):
        if meeting.state != MeetingState.PLANNED and access.is_organiser(user, meeting):
            raise ApiError(
                "meeting_started",
                _("The meeting has started; its title, date and place no longer change."),
                status.HTTP_409_CONFLICT,
            )
        raise forbidden(_("Only the organiser changes a meeting."))
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    chair = changes.get("chair")
    if chair is not None and chair.pk != meeting.chair_id:
        _check_active([chair])
        _check_readers([i.document for i in meeting.items.select_related("document")], [chair])
        MeetingAttendee.objects.get_or_create(meeting=meeting, user=chair)
    starts = changes.get("starts_at", meeting.starts_at)
    ends = changes.get("ends_at", meeting.ends_at)
    if ends is not None and ends < starts:
        raise ApiError(
            "invalid",
            _("The meeting cannot end before it starts."),
            fields={"ends_at": [_("The meeting cannot end before it starts.")]},
        )
    for name, value in changes.items():
        setattr(meeting, name, value)
    meeting.save()
    _audit(
        "update",
        user,
        meeting,
        fields=sorted(changes),
        **({"chair": chair.username} if chair is not None else {}),
    )
    return meeting


@transaction.atomic
def delete_meeting(user: User, meeting: Meeting) -> None:
    require_attendee(user, meeting)
    meeting = _locked(meeting)
    if not access.may_edit_meeting(user, meeting):
        if meeting.state != MeetingState.PLANNED and access.is_organiser(user, meeting):
            raise ApiError(
                "meeting_started",
                _("A meeting that has started is kept; close it instead."),
                status.HTTP_409_CONFLICT,
            )
        raise forbidden(_("Only the organiser deletes a meeting."))
    try:
        with transaction.atomic():
            _audit("delete", user, meeting)
            meeting.delete()
    except ProtectedError:
        # A briefing of the meeting keeps it (briefings.Briefing.meeting is PROTECT).
        raise ApiError(
            "meeting_presented",
            _("This meeting has been presented and is kept; close it instead."),
            status.HTTP_409_CONFLICT,
        ) from None


def _set_state(user: User, meeting: Meeting, source: str, target: str) -> Meeting:
    require_attendee(user, meeting)
    meeting = _locked(meeting)
    if not (access.is_chair(user, meeting) or access.is_organiser(user, meeting)):
        raise forbidden(_("Only the chair or the organiser starts and closes a meeting."))
    if meeting.state != source:
        raise ApiError(
            "wrong_state",
            _("The meeting is %(state)s.") % {"state": meeting.get_state_display()},
            status.HTTP_409_CONFLICT,
        )
    meeting.state = target
    now = timezone.now()
    if target == MeetingState.IN_PROGRESS:
        meeting.started_at = now
    else:
        meeting.closed_at = now
        # Whoever is still in the room leaves with the meeting.
        for seat in MeetingAttendee.objects.filter(
            meeting=meeting, joined_at__isnull=False, left_at__isnull=True
        ).select_related("user"):
            seat.left_at = now
            seat.save(update_fields=["left_at"])
            _audit("leave", seat.user, meeting, at=now.isoformat(), reason="closed")
    meeting.save(update_fields=["state", "started_at", "closed_at", "updated_at"])
    _audit("start" if target == MeetingState.IN_PROGRESS else "close", user, meeting)
    return meeting


@transaction.atomic
def start(user: User, meeting: Meeting) -> Meeting:
    return _set_state(user, meeting, MeetingState.PLANNED, MeetingState.IN_PROGRESS)


@transaction.atomic
def close(user: User, meeting: Meeting) -> Meeting:
    return _set_state(user, meeting, MeetingState.IN_PROGRESS, MeetingState.CLOSED)


# --- the set of documents ---------------------------------------------------------------------


def _add_item(user: User, meeting: Meeting, document: Document) -> MeetingItem:
    if meeting.items.filter(document=document).exists():
        raise ApiError(
            "already_in_meeting",
            _("「%(title)s」 is already in this meeting.") % {"title": document.title},
            status.HTTP_409_CONFLICT,
        )
    if meeting.items.count() >= MAX_ITEMS:
        raise ApiError(
            "too_many",
            _("A meeting has at most %(n)d documents.") % {"n": MAX_ITEMS},
            status.HTTP_409_CONFLICT,
        )
    last = meeting.items.order_by("-position").values_list("position", flat=True).first() or 0
    item = MeetingItem.objects.create(
        meeting=meeting,
        position=last + 1,
        document=document,
        added_by=user,
        **frozen_copy(document),
    )
    _audit(
        "item_add",
        user,
        meeting,
        document=document,
        version=item.version_number,
        item=item.pk,
        record_sha256=item.record_sha256,
    )
    return item


@transaction.atomic
def add_document(user: User, meeting: Meeting, document: Document) -> MeetingItem:
    """Freeze `document` into the meeting's set, if every person of the meeting may read it."""
    require_arranger(user, meeting)
    meeting = _locked(meeting)
    if not can_view(user, document):
        raise _document_not_found()
    _check_readers([document], _people(meeting))
    return _add_item(user, meeting, document)


@transaction.atomic
def reorder(user: User, meeting: Meeting, item_ids: Sequence[int]) -> list[MeetingItem]:
    require_arranger(user, meeting)
    meeting = _locked(meeting)
    items = {i.pk: i for i in meeting.items.all()}
    if sorted(item_ids) != sorted(items) or len(set(item_ids)) != len(item_ids):
        raise ApiError(
            "invalid",
            _("Send every item of the meeting once, in the new order (%(n)d items).")
            % {"n": len(items)},
            fields={"order": [_("Name each item of the meeting once.")]},
        )
    # Two steps, so that the unique (meeting, position) holds after each statement.
    offset = len(items) + max((i.position for i in items.values()), default=0)
    for item in items.values():
        MeetingItem.objects.filter(pk=item.pk).update(position=item.position + offset)
    for position, pk in enumerate(item_ids, start=1):
        MeetingItem.objects.filter(pk=pk).update(position=position)
    _audit("item_reorder", user, meeting, order=list(item_ids))
    return list(meeting.items.order_by("position"))


@transaction.atomic
def remove_item(user: User, meeting: Meeting, item: MeetingItem) -> None:
    require_arranger(user, meeting)
    meeting = _locked(meeting)
    if item.meeting_id != meeting.pk:
        raise item_not_found()
    _audit(
        "item_remove",
        user,
        meeting,
        document=item.document_id,
        version=item.version_number,
        item=item.pk,
    )
    item.delete()
    # Close the gap, keeping the order.
    for position, pk in enumerate(meeting.items.order_by("position").values_list("pk", flat=True)):
        MeetingItem.objects.filter(pk=pk).update(position=position + 1)


def item_not_found() -> ApiError:
    return ApiError("not_found", _("No such item in this meeting."), status.HTTP_404_NOT_FOUND)


# --- attendees --------------------------------------------------------------------------------


@transaction.atomic
def add_attendee(user: User, meeting: Meeting, person: User) -> MeetingAttendee:
    """Add `person`, if they may read every document of the set."""
    require_arranger(user, meeting)
    meeting = _locked(meeting)
    _check_active([person])
    if meeting.attendees.filter(user=person).exists():
        raise ApiError(
            "already_attending",
            _("%(name)s is already an attendee.") % {"name": person},
            status.HTTP_409_CONFLICT,
        )
    if meeting.attendees.count() >= MAX_ATTENDEES:
        raise ApiError(
            "too_many",
            _("A meeting has at most %(n)d people.") % {"n": MAX_ATTENDEES},
            status.HTTP_409_CONFLICT,
        )
    documents = [i.document for i in meeting.items.select_related("document")]
    problems = access.unreadable(documents, [person])
    if problems:
        raise ApiError(
            "cannot_read",
            _(
                "%(name)s may not read these documents of the meeting: %(titles)s. Ask their "
                "drafters for access, or take the documents out first."
            )
            % {"name": person, "titles": "、".join(f"「{d.title}」" for d, _u in problems)},
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            people=[person.username],
            documents=[d.pk for d, _u in problems],
        )
    seat = MeetingAttendee.objects.create(meeting=meeting, user=person)
    _audit("attendee_add", user, meeting, attendee=person.username)
    return seat


@transaction.atomic
def remove_attendee(user: User, meeting: Meeting, person: User) -> None:
    require_arranger(user, meeting)
    meeting = _locked(meeting)
    if person.pk in (meeting.chair_id, meeting.organiser_id):
        raise ApiError(
            "required_attendee",
            _("The chair and the organiser stay attendees; name another chair first."),
            status.HTTP_409_CONFLICT,
        )
    deleted, _rows = MeetingAttendee.objects.filter(meeting=meeting, user=person).delete()
    if not deleted:
        raise ApiError(
            "not_found",
            _("%(name)s is not an attendee.") % {"name": person},
            status.HTTP_404_NOT_FOUND,
        )
    _audit("attendee_remove", user, meeting, attendee=person.username)


# --- attendance and presenting ----------------------------------------------------------------


@transaction.atomic
def join(meeting: Meeting, user: User) -> MeetingAttendee:
    """`user` entered the meeting room (the page, or the briefing's socket). Audited once per
    entry: a second tab does not enter again."""
    require_attendee(user, meeting)
    if meeting.is_closed:
        raise closed_error()
    seat = MeetingAttendee.objects.select_for_update().get(meeting=meeting, user=user)
    if seat.joined_at is not None and seat.left_at is None:
        return seat
    now = timezone.now()
    seat.joined_at = seat.joined_at or now
    seat.left_at = None
    seat.save(update_fields=["joined_at", "left_at"])
    _audit("join", user, meeting, at=now.isoformat())
    return seat


@transaction.atomic
def leave(meeting: Meeting, user: User) -> MeetingAttendee:
    require_attendee(user, meeting)
    seat = MeetingAttendee.objects.select_for_update().get(meeting=meeting, user=user)
    if seat.joined_at is None or seat.left_at is not None:
        return seat
    now = timezone.now()
    seat.left_at = now
    seat.save(update_fields=["left_at"])
    _audit("leave", user, meeting, at=now.isoformat())
    return seat


@transaction.atomic
def record_presented(meeting: Meeting, user: User, item: MeetingItem, part: str, page: int) -> None:
    """The presenter showed `page` (1-based, in the item's frozen record; `part` the part's key,
    as in the item's `parts`) to the meeting: one audit entry on the document, with the frozen
    version and the record's key. Called by the briefing relay on each page turn it accepts."""
    require_attendee(user, meeting)
    if item.meeting_id != meeting.pk:
        raise item_not_found()
    if not 1 <= page <= max(item.record_pages, 1):
        raise ApiError(
            "invalid_page",
            _("The item has pages 1 to %(n)d.") % {"n": item.record_pages},
        )
    _audit(
        "present",
        user,
        meeting,
        document=item.document_id,
        version=item.version_number,
        item=item.pk,
        part=str(part)[:32],
        page=page,
        record_sha256=item.record_sha256,
    )

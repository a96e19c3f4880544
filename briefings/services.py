"""The briefing's use cases, one function per state change: start, join, hand over, end, and the
end of a briefing whose presenter has been away for ABANDONED_AFTER (end_abandoned, run by
`manage.py end_abandoned_briefings` on Celery beat, and checked on every join).

Everyone connected hears a change after its commit, through the channel layer's group of the
briefing (`Briefing.group`; briefings.relay turns the event into a socket frame).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from audit import services as audit
from briefings.access import may_follow, may_present_meeting, may_read
from briefings.models import ABANDONED_AFTER, Briefing, EndReason, Participant, new_code
from documents.models import Document
from meetings import services as meeting_services
from meetings.access import may_attend
from meetings.models import Meeting
from org.models import User

logger = logging.getLogger(__name__)

CODE_ATTEMPTS = 8


# --- what connected sockets hear -----------------------------------------------------------------


def group_event(frame: dict[str, Any], sender: str = "") -> dict[str, Any]:
    """The channel-layer event carrying `frame` to every socket of a briefing; the text is
    encoded once here rather than once per follower."""
    text = json.dumps(frame, ensure_ascii=False)
    return {"type": "briefing.frame", "frame": frame, "text": text, "sender": sender}


def push(group: str, frame: dict[str, Any]) -> None:
    """Send `frame` to every socket in `group` once the current transaction commits (at once
    outside one). A failed push is logged: the rows are right, and a reconnecting page reads
    them again."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, group_event(frame))
        except Exception:
            logger.exception("briefing frame %s to %s not sent", frame.get("type"), group)

    transaction.on_commit(send)


def person(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": str(user)}


def _audit(action: str, briefing: Briefing, actor: User | None, **data: Any) -> None:
    if briefing.meeting_id is not None:
        data["meeting"] = briefing.meeting_id
    audit.record(
        action,
        actor=actor,
        document=briefing.document_id,
        data={"briefing": briefing.pk, "code": briefing.code, **data},
    )


# --- reading ---------------------------------------------------------------------------------


def not_found() -> ApiError:
    return ApiError(
        "not_found",
        _("No such briefing. Check the six-character code with the presenter."),
        status.HTTP_404_NOT_FOUND,
    )


def _ended() -> ApiError:
    return ApiError(
        "briefing_ended",
        _("This briefing has ended. Ask the presenter to start a new one."),
        status.HTTP_409_CONFLICT,
    )


def visible(user: User, briefing_id: int) -> Briefing:
    """The briefing, to anyone who may read what it presents (404 for everyone else)."""
    briefing = (
        Briefing.objects.select_related("document", "meeting", "presenter")
        .filter(pk=briefing_id)
        .first()
    )
    if briefing is None or not may_follow(user, briefing):
        raise not_found()
    return briefing


def live_by_code(code: str) -> Briefing | None:
    return (
        Briefing.objects.select_related("document", "meeting", "presenter")
        .filter(code=code, ended_at__isnull=True)
        .first()
    )


# --- state changes ---------------------------------------------------------------------------


def start(user: User, document: Document) -> Briefing:
    """`user` presents `document`: a new live briefing with a fresh code."""
    if not may_read(user, document):
        raise ApiError("not_found", _("No such document."), status.HTTP_404_NOT_FOUND)
    return _create(user, document=document)


def meeting_briefing(user: User, meeting: Meeting) -> Briefing:
    """The live briefing of a meeting, for a person of the meeting: the one running, or a new one
    when its chair comes (the chair presents); anyone else before the chair: 409."""
    if not may_attend(user, meeting):
        raise ApiError("not_found", _("No such meeting."), status.HTTP_404_NOT_FOUND)
    for _attempt in range(2):
        briefing = (
            Briefing.objects.select_related("meeting", "presenter")
            .filter(meeting=meeting, ended_at__isnull=True)
            .first()
        )
        if briefing is not None and _expire(briefing):
            continue
        if briefing is not None:
            return briefing
        if meeting.is_closed:
            raise ApiError("meeting_closed", _("This meeting is closed."), status.HTTP_409_CONFLICT)
        if not may_present_meeting(user, meeting):
            raise ApiError(
                "not_started",
                _("The chair has not started presenting yet; this page follows once they do."),
                status.HTTP_409_CONFLICT,
            )
        try:
            return _create(user, meeting=meeting)
        except IntegrityError:
            continue  # the chair's other window opened it a moment ago: join that one
    raise _ended()


def _create(user: User, **what: Any) -> Briefing:
    now = timezone.now()
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                briefing = Briefing.objects.create(
                    **what,
                    code=new_code(),
                    started_by=user,
                    presenter=user,
                    started_at=now,
                    presenter_seen_at=now,
                )
                _audit("briefing.start", briefing, user)
                return briefing
        except IntegrityError:
            if (
                "meeting" in what
                and Briefing.objects.filter(meeting=what["meeting"], ended_at__isnull=True).exists()
            ):
                raise
            # Another live briefing has this code (24^6 codes: rare); draw again.
            continue
    raise ApiError(
        "unavailable",
        _("No free briefing code was found; try again."),
        status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def _expire(briefing: Briefing, now: datetime | None = None) -> bool:
    """End it if its presenter has been away ABANDONED_AFTER (looked at under the lock: they may
    have come back), in a transaction of its own, so that the end stays when the caller's
    request is then refused. Whether it ended now."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(briefing)
        if not locked.abandoned(now):
            return False
        _end(locked, None, EndReason.TIMEOUT, now)
        return True


def _require_live(briefing: Briefing) -> None:
    if not briefing.live:
        raise _ended()


def join(user: User, briefing: Briefing) -> Briefing:
    """`user` follows (or, as its presenter, opens) a live briefing. Someone who may not read the
    document is refused (403: they hold the code, so the briefing is no secret to them)."""
    _expire(briefing)
    with transaction.atomic():
        return _join(user, _lock(briefing))


def _join(user: User, briefing: Briefing) -> Briefing:
    _require_live(briefing)
    if not may_follow(user, briefing):
        raise ApiError(
            "forbidden",
            _(
                "You may not read the document of this briefing. Ask its drafter or the "
                "presenter to give you access first."
            ),
            status.HTTP_403_FORBIDDEN,
        )
    now = timezone.now()
    if briefing.presenter_id == user.pk:
        Briefing.objects.filter(pk=briefing.pk).update(presenter_seen_at=now)
        briefing.presenter_seen_at = now
        return briefing
    _participant, created = Participant.objects.get_or_create(
        briefing=briefing, user=user, defaults={"joined_at": now}
    )
    if created:
        _audit("briefing.join", briefing, user)
    return briefing


def join_by_code(user: User, code: str) -> Briefing:
    briefing = live_by_code(code)
    if briefing is None:
        raise not_found()
    return join(user, briefing)


def _lock(briefing: Briefing) -> Briefing:
    # FOR UPDATE of the briefing's row only: document and meeting are outer joins.
    return (
        Briefing.objects.select_for_update(of=("self",))
        .select_related("document", "meeting", "presenter")
        .get(pk=briefing.pk)
    )


def _require_presenter(user: User, briefing: Briefing) -> None:
    if briefing.presenter_id != user.pk:
        raise ApiError(
            "not_presenter",
            _("Only the presenter (%(name)s) may do this.") % {"name": briefing.presenter},
            status.HTTP_403_FORBIDDEN,
        )


def hand_over(user: User, briefing: Briefing, to: User) -> Briefing:
    """The presenter gives the briefing to `to`, who must be able to read the document."""
    _expire(briefing)
    with transaction.atomic():
        return _hand_over(user, _lock(briefing), to)


def _hand_over(user: User, briefing: Briefing, to: User) -> Briefing:
    _require_live(briefing)
    _require_presenter(user, briefing)
    if to.pk == user.pk:
        raise ApiError("invalid", _("You are already the presenter."), field="to")
    if not may_follow(to, briefing):
        raise ApiError(
            "cannot_read",
            _("%(name)s may not read this document; hand over to someone who may.") % {"name": to},
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            field="to",
        )
    now = timezone.now()
    briefing.presenter = to
    briefing.presenter_seen_at = now  # the new presenter has ABANDONED_AFTER to turn up
    briefing.save(update_fields=["presenter", "presenter_seen_at"])
    Participant.objects.get_or_create(briefing=briefing, user=user, defaults={"joined_at": now})
    _audit("briefing.handover", briefing, user, to=to.username)
    frame = {"type": "briefing.presenter", "briefing": briefing.pk, "presenter": person(to)}
    push(briefing.group, frame)
    return briefing


def _end(briefing: Briefing, actor: User | None, reason: str, now: datetime) -> None:
    briefing.ended_at = now
    briefing.ended_reason = reason
    briefing.save(update_fields=["ended_at", "ended_reason"])
    _audit("briefing.end", briefing, actor, reason=reason)
    push(briefing.group, {"type": "briefing.ended", "briefing": briefing.pk, "reason": reason})


def end(user: User, briefing: Briefing) -> Briefing:
    """The presenter ends the briefing; every follower's page says so."""
    _expire(briefing)
    with transaction.atomic():
        briefing = _lock(briefing)
        _require_live(briefing)
        _require_presenter(user, briefing)
        _end(briefing, user, EndReason.ENDED, timezone.now())
        return briefing


def end_abandoned(now: datetime | None = None) -> int:
    """End every live briefing whose presenter has been away ABANDONED_AFTER; how many."""
    now = now or timezone.now()
    stale = Briefing.objects.filter(
        ended_at__isnull=True, presenter_seen_at__lte=now - ABANDONED_AFTER
    )
    return sum(_expire(briefing, now) for briefing in stale.only("pk"))


# --- the presenter's socket (briefings.relay) -------------------------------------------------


def seen(briefing_id: int, presenter_id: int) -> bool:
    """The presenter is still there; False once the briefing ended or changed hands."""
    return bool(
        Briefing.objects.filter(
            pk=briefing_id, presenter_id=presenter_id, ended_at__isnull=True
        ).update(presenter_seen_at=timezone.now())
    )


def move(
    briefing_id: int,
    presenter_id: int,
    part: str,
    page: int,
    zoom: float,
    item: int | None = None,
) -> bool:
    """Where the presenter is now, for those who join later (no history kept: it is a view). In
    a meeting, each page shown also goes to the audit trail (meetings.services.record_presented):
    which frozen version's page the meeting saw."""
    moved = bool(
        Briefing.objects.filter(
            pk=briefing_id, presenter_id=presenter_id, ended_at__isnull=True
        ).update(
            view_item=item,
            view_part=part,
            view_page=page,
            view_zoom=zoom,
            presenter_seen_at=timezone.now(),
        )
    )
    if moved and item is not None:
        _presented(briefing_id, presenter_id, item, part, page)
    return moved


def _presented(briefing_id: int, presenter_id: int, index: int, part: str, page: int) -> None:
    meeting_id = (
        Briefing.objects.filter(pk=briefing_id).values_list("meeting_id", flat=True).first()
    )
    if meeting_id is None:
        return
    meeting = Meeting.objects.get(pk=meeting_id)
    # `index` is the item's place in the set, as the socket's views carry it
    shown = meeting.items.order_by("position")[index : index + 1].first()
    presenter = User.objects.filter(pk=presenter_id).first()
    if shown is None or presenter is None:
        return
    try:
        meeting_services.record_presented(meeting, presenter, shown, part, page)
    except ApiError:
        # a page outside the frozen record: relayed as the presenter sent it, not recorded
        logger.info("briefing %s: page %s of item %s not recorded", briefing_id, page, index)


def view_of(briefing: Briefing) -> dict[str, Any]:
    view: dict[str, Any] = {
        "part": briefing.view_part,
        "page": briefing.view_page,
        "zoom": briefing.view_zoom,
    }
    if briefing.meeting_id is not None:
        view["item"] = briefing.view_item or 0
    return view

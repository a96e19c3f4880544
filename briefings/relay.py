"""The live part of a briefing, on the notification socket (notifications.consumers hands every
`briefing.*` frame to `receive`, every `briefing.frame` group event to `deliver`, and calls
`disconnect` when a socket closes).

Frames from the client:
  {"type": "briefing.join", "briefing": id}   (or "code": "ABC123", or "meeting": id: the meeting's
                                              live briefing, opened when its chair joins) — follow,
                                              or as its presenter present; access checked again
  {"type": "briefing.view", "part", "page", "zoom"}   the presenter's page (others: refused);
                                              in a meeting also "item" (index in its set)
  {"type": "briefing.pointer", "page", "x", "y"}      the presenter's pointer in PDF points
                                              (x, y null: hidden); at most one per POINTER_INTERVAL
                                              per briefing reaches the followers (the latest)
  {"type": "briefing.leave"}, {"type": "briefing.end"} (the presenter)
Frames to the client:
  briefing.state (on join: the briefing, your role, the presenter's view, the follower count),
  briefing.view, briefing.pointer, briefing.followers {"count"}, briefing.presenter (handed
  over), briefing.ended {"reason"}, briefing.left, and {"type": "error", "about": <the type>,
  "code", "status", "message"} (403 forbidden for someone who may not read the document).

Frames go to everyone through the channel-layer group `briefing.<id>`: one publish per page turn
whatever the number of followers. A follower's access is looked at again about every
ACCESS_TTL seconds while frames arrive, beside the delivery rather than before it (the socket's
credentials by the consumer, likewise after the frame).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from rest_framework.exceptions import APIException

from briefings import roster, services
from briefings.access import may_follow
from briefings.models import Briefing, normalise_code
from meetings.models import Meeting
from org.models import User

logger = logging.getLogger(__name__)

POINTER_INTERVAL = 0.05  # 20 pointer frames a second per briefing, whatever the presenter sends
HEARTBEAT_SECONDS = 60.0  # the presenter's socket says "still here" (ABANDONED_AFTER is 10 min)
ACCESS_TTL = 60.0
MAX_PAGE = 1_000_000
MAX_COORDINATE = 14_400.0  # the largest PDF page side, in points
MIN_ZOOM, MAX_ZOOM = 0.1, 10.0
MAX_ITEMS = 10_000


class Socket(Protocol):
    """What the relay needs of a connection (notifications.consumers.NotificationConsumer)."""

    channel_layer: Any
    channel_name: str
    user_id: int | None
    read_only: bool

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None: ...


def _next_check() -> float:
    return time.monotonic() + ACCESS_TTL * random.uniform(0.8, 1.2)  # noqa: S311 - spreading


@dataclass
class Membership:
    briefing_id: int
    code: str
    presenter: bool
    check_due: float = field(default_factory=_next_check)
    heartbeat: asyncio.Task[None] | None = None
    checking: asyncio.Task[None] | None = None

    @property
    def group(self) -> str:
        return f"briefing.{self.briefing_id}"


@dataclass
class _Pointer:
    """The latest pointer of a briefing not yet sent, and when one was last sent."""

    last: float = 0.0
    pending: dict[str, Any] | None = None
    sender: str = ""
    timer: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


_members: WeakKeyDictionary[Any, Membership] = WeakKeyDictionary()
_pointers: dict[int, _Pointer] = {}


async def _send(socket: Socket, frame: dict[str, Any]) -> None:
    await socket.send(text_data=json.dumps(frame, ensure_ascii=False))


async def _refuse(socket: Socket, about: str, code: str, message: str, status: int = 400) -> None:
    await _send(
        socket,
        {"type": "error", "about": about, "code": code, "status": status, "message": message},
    )


async def _group_send(socket: Socket, group: str, frame: dict[str, Any]) -> None:
    await socket.channel_layer.group_send(group, services.group_event(frame, socket.channel_name))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


# --- from the client -------------------------------------------------------------------------


async def receive(socket: Socket, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == "briefing.join":
        await _join(socket, message)
        return
    handler = _HANDLERS.get(str(kind))
    if handler is None:
        await _refuse(
            socket,
            str(kind),
            "unknown_type",
            "known briefing types: " + ", ".join(["briefing.join", *_HANDLERS]),
        )
        return
    membership = _members.get(socket)
    if membership is None:
        await _refuse(socket, str(kind), "not_joined", "send briefing.join first")
        return
    await handler(socket, membership, message)


def _join_sync(
    user_id: int, target: int | None, code: str | None, meeting_id: int | None
) -> tuple[Briefing, bool]:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise services.not_found()
    if meeting_id is not None:
        meeting = Meeting.objects.filter(pk=meeting_id).first()
        if meeting is None:
            raise services.not_found()
        briefing = services.meeting_briefing(user, meeting)
    else:
        found = (
            services.live_by_code(code)
            if code is not None
            else Briefing.objects.filter(pk=target or 0).first()
        )
        if found is None:
            raise services.not_found()
        briefing = found
    briefing = services.join(user, briefing)
    return briefing, briefing.presenter_id == user.pk


async def _join(socket: Socket, message: dict[str, Any]) -> None:
    about = "briefing.join"
    target = _whole(message.get("briefing"), 1, 2**63 - 1)
    meeting = _whole(message.get("meeting"), 1, 2**63 - 1)
    raw_code = message.get("code")
    code = normalise_code(raw_code) if isinstance(raw_code, str) and len(raw_code) <= 32 else None
    if [target, meeting, code].count(None) != 2:
        await _refuse(
            socket,
            about,
            "bad_request",
            "send {'type': 'briefing.join'} with one of 'briefing' (id), 'code' or 'meeting' (id)",
        )
        return
    try:
        briefing, presenting = await database_sync_to_async(_join_sync)(
            socket.user_id or 0, target, code, meeting
        )
    except APIException as refused:
        await _refuse(
            socket, about, str(refused.get_codes()), str(refused.detail), refused.status_code
        )
        return
    previous = _members.get(socket)
    if previous is not None:
        await _leave(socket, previous, quiet=previous.briefing_id == briefing.pk)
    membership = Membership(briefing.pk, briefing.code, presenting)
    _members[socket] = membership
    await socket.channel_layer.group_add(membership.group, socket.channel_name)
    if presenting:
        _start_heartbeat(socket, membership)
        followers = await database_sync_to_async(roster.count)(briefing.pk, briefing.code)
    else:
        followers = await database_sync_to_async(roster.joined)(briefing.pk, briefing.code)
    await _send(
        socket,
        {
            "type": "briefing.state",
            "briefing": _describe(briefing),
            "role": "presenter" if presenting else "follower",
            "view": services.view_of(briefing),
            "followers": followers,
        },
    )
    if not presenting:
        await _group_send(
            socket, membership.group, {"type": "briefing.followers", "count": followers}
        )


def _describe(briefing: Briefing) -> dict[str, Any]:
    document, meeting = briefing.document, briefing.meeting
    return {
        "id": briefing.pk,
        "code": briefing.code,
        "document": document.pk if document else None,
        "meeting": meeting.pk if meeting else None,
        "title": document.title if document else meeting.title if meeting else "",
        "presenter": services.person(briefing.presenter),
    }


async def _view(socket: Socket, membership: Membership, message: dict[str, Any]) -> None:
    about = "briefing.view"
    if not await _presenting(socket, membership, about):
        return
    part = message.get("part", "")
    page = _whole(message.get("page"), 1, MAX_PAGE)
    zoom = _number(message.get("zoom", 1))
    item = message.get("item")
    if (
        not isinstance(part, str)
        or len(part) > 64
        or page is None
        or zoom is None
        or not MIN_ZOOM <= zoom <= MAX_ZOOM
        or (item is not None and _whole(item, 0, MAX_ITEMS) is None)
    ):
        await _refuse(
            socket,
            about,
            "bad_request",
            "send {'type': 'briefing.view', 'part': text, 'page': 1.., 'zoom': 0.1..10} "
            "(in a meeting also 'item': its index in the meeting's set)",
        )
        return
    frame = {"type": about, "briefing": membership.briefing_id, "part": part, "page": page}
    frame["zoom"] = zoom
    if item is not None:
        frame["item"] = item
    # Followers first, the row after: a late joiner reads the row, everyone else the frame.
    await _group_send(socket, membership.group, frame)
    if not await database_sync_to_async(services.move)(
        membership.briefing_id, socket.user_id or 0, part, page, zoom, item
    ):
        membership.presenter = False


async def _pointer(socket: Socket, membership: Membership, message: dict[str, Any]) -> None:
    about = "briefing.pointer"
    if not await _presenting(socket, membership, about):
        return
    page = _whole(message.get("page"), 1, MAX_PAGE)
    x, y = message.get("x"), message.get("y")
    hidden = x is None and y is None
    nx, ny = _number(x), _number(y)
    if page is None or not (
        hidden
        or (
            nx is not None
            and ny is not None
            and abs(nx) <= MAX_COORDINATE
            and abs(ny) <= MAX_COORDINATE
        )
    ):
        await _refuse(
            socket,
            about,
            "bad_request",
            "send {'type': 'briefing.pointer', 'page': 1.., 'x': points, 'y': points} "
            "(x and y null to hide it)",
        )
        return
    frame = {"type": about, "briefing": membership.briefing_id, "page": page, "x": nx, "y": ny}
    await _throttled(socket, membership, frame)


async def _throttled(socket: Socket, membership: Membership, frame: dict[str, Any]) -> None:
    """Send at most one pointer frame per POINTER_INTERVAL for a briefing: one that comes sooner
    waits, and is replaced by any newer one meanwhile (followers see where the pointer is, not
    every place it passed). Per server process; a briefing has one presenter socket."""
    state = _pointers.setdefault(membership.briefing_id, _Pointer())
    loop = asyncio.get_running_loop()
    now = loop.time()
    if state.timer is None and now - state.last >= POINTER_INTERVAL:
        state.last = now
        await _group_send(socket, membership.group, frame)
        return
    state.pending, state.sender = frame, socket.channel_name
    if state.timer is None:
        layer, group = socket.channel_layer, membership.group

        def flush() -> None:
            state.timer = None
            pending, state.pending = state.pending, None
            if pending is None:
                return
            state.last = loop.time()
            task = loop.create_task(
                layer.group_send(group, services.group_event(pending, state.sender))
            )
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)

        state.timer = loop.call_later(max(0.0, state.last + POINTER_INTERVAL - now), flush)


async def _presenting(socket: Socket, membership: Membership, about: str) -> bool:
    if not membership.presenter:
        await _refuse(socket, about, "not_presenter", "only the presenter moves the briefing", 403)
        return False
    if socket.read_only:
        await _refuse(socket, about, "read_only", "this API token is read-only", 403)
        return False
    return True


async def _leave_frame(socket: Socket, membership: Membership, message: dict[str, Any]) -> None:
    await _leave(socket, membership)
    await _send(socket, {"type": "briefing.left", "briefing": membership.briefing_id})


async def _end(socket: Socket, membership: Membership, message: dict[str, Any]) -> None:
    about = "briefing.end"
    if not await _presenting(socket, membership, about):
        return

    def end() -> None:
        user = User.objects.get(pk=socket.user_id or 0)
        services.end(user, Briefing.objects.get(pk=membership.briefing_id))

    try:
        await database_sync_to_async(end)()
    except APIException as refused:
        await _refuse(
            socket, about, str(refused.get_codes()), str(refused.detail), refused.status_code
        )
    # Everyone, this socket too, hears briefing.ended from the group after the commit.


_HANDLERS = {
    "briefing.view": _view,
    "briefing.pointer": _pointer,
    "briefing.leave": _leave_frame,
    "briefing.end": _end,
}


# --- membership ------------------------------------------------------------------------------


def _start_heartbeat(socket: Socket, membership: Membership) -> None:
    if membership.heartbeat is not None:
        return
    user_id, briefing_id = socket.user_id or 0, membership.briefing_id

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if not await database_sync_to_async(services.seen)(briefing_id, user_id):
                return

    membership.heartbeat = asyncio.get_running_loop().create_task(beat())


def _stop_heartbeat(membership: Membership) -> None:
    if membership.heartbeat is not None:
        membership.heartbeat.cancel()
        membership.heartbeat = None


async def _leave(socket: Socket, membership: Membership, *, quiet: bool = False) -> None:
    """Out of the briefing's group; the presenter's last sighting is now (the 10 minutes run
    from here), a follower is counted out."""
    if _members.get(socket) is membership:
        del _members[socket]
    _stop_heartbeat(membership)
    await socket.channel_layer.group_discard(membership.group, socket.channel_name)
    if membership.presenter:
        await database_sync_to_async(services.seen)(membership.briefing_id, socket.user_id or 0)
        return
    count = await database_sync_to_async(roster.left)(membership.briefing_id, membership.code)
    if not quiet:
        await _group_send(socket, membership.group, {"type": "briefing.followers", "count": count})


async def disconnect(socket: Socket) -> None:
    membership = _members.get(socket)
    if membership is not None:
        await _leave(socket, membership)


# --- from the group --------------------------------------------------------------------------


async def deliver(socket: Socket, event: dict[str, Any]) -> None:
    """A frame for everyone in the briefing: passed on, unless this socket sent it; a hand-over
    changes who presents, an end drops the membership."""
    membership = _members.get(socket)
    frame = event.get("frame")
    if membership is None or not isinstance(frame, dict):
        return
    if frame.get("briefing", membership.briefing_id) != membership.briefing_id:
        return
    if event.get("sender") == socket.channel_name:
        return
    kind = frame.get("type")
    if kind == "briefing.ended":
        await _end_membership(socket, membership)
    elif kind == "briefing.presenter":
        await _presenter_changed(socket, membership, frame)
    elif not _still_may_follow(socket, membership):
        return
    text = event.get("text")
    await socket.send(text_data=text if isinstance(text, str) else json.dumps(frame))


async def _end_membership(socket: Socket, membership: Membership) -> None:
    if _members.get(socket) is membership:
        del _members[socket]
    _stop_heartbeat(membership)
    state = _pointers.pop(membership.briefing_id, None)
    if state is not None and state.timer is not None:
        state.timer.cancel()
    await socket.channel_layer.group_discard(membership.group, socket.channel_name)


async def _presenter_changed(socket: Socket, membership: Membership, frame: dict[str, Any]) -> None:
    presenter = frame.get("presenter") or {}
    now_presenting = presenter.get("id") == socket.user_id
    if now_presenting == membership.presenter:
        return
    membership.presenter = now_presenting
    if now_presenting:
        _start_heartbeat(socket, membership)
        await database_sync_to_async(roster.left)(membership.briefing_id, membership.code)
    else:
        _stop_heartbeat(membership)
        await database_sync_to_async(roster.joined)(membership.briefing_id, membership.code)


def _still_may_follow(socket: Socket, membership: Membership) -> bool:
    """Whether to pass frames on. Access is looked at again once its check is older than
    ACCESS_TTL (give or take a fifth, so that followers who joined together do not all ask at
    once), in the background: the frame in hand is not held up by the query, and someone who
    lost access is taken out of the briefing when the answer comes."""
    if membership.checking is None and time.monotonic() >= membership.check_due:
        membership.checking = asyncio.get_running_loop().create_task(
            _check_access(socket, membership)
        )
    return _members.get(socket) is membership


async def _check_access(socket: Socket, membership: Membership) -> None:
    def check() -> bool:
        user = User.objects.filter(pk=socket.user_id or 0, is_active=True).first()
        briefing = (
            Briefing.objects.select_related("document", "meeting")
            .filter(pk=membership.briefing_id)
            .first()
        )
        return user is not None and briefing is not None and may_follow(user, briefing)

    try:
        allowed = await database_sync_to_async(check)()
    finally:
        membership.checking = None
    membership.check_due = _next_check()
    if allowed or _members.get(socket) is not membership:
        return
    await _leave(socket, membership)
    await _refuse(
        socket,
        "briefing.join",
        "forbidden",
        "you may no longer read what this briefing presents",
        403,
    )

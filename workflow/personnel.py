"""Open tasks follow posts and people: 人事異動, absences and reassignment.

A slot names a post (職); workflow.progression gives it to the post's holder when it opens. This
module moves tasks that are already open:

- `apply_personnel_changes()`: when a post changes holder (the admin, the CSV import, or a change
  dated in advance and applied at 00:00 Tokyo time by `manage.py apply_personnel_changes`), its
  open tasks move to the new holder (the old one may still act during a handover period); when
  someone is absent, their open tasks move to their deputy at once (代決), and do not move back
  when they return. Idempotent: run it as often as you like.
- `reassign()`: an administrator, or the assignee's superior, gives an open task to someone else
  entitled to it, with a reason.

Each move locks the route (workflow.locks), so a move racing an approval of the same task is
serialised: one of them wins and the other is told (409). Every move writes a history entry and
an audit entry and tells both people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from org.models import Absence, Department, User
from org.services import active_absence, current_posts, holder_of
from workflow import locks, progression
from workflow.models import BLOCKING_KINDS, RouteStatus, Slot, SlotStatus
from workflow.progression import ABSENT, POST_HOLDER_CHANGED, REASSIGNED, RouteRows
from workflow.resolution import choose_deputy
from workflow.services import WorkflowError, acting_on

logger = logging.getLogger(__name__)


# --- Reassignment ---------------------------------------------------------------------------------


def entitled(slot: Slot, rows: RouteRows, person: User) -> str:
    """Why `person` may not take the task `slot` ("" if they may): not the drafter, not someone
    who approves at another stage, and someone who can act for the post: its holder, the post's
    deputy, or a holder of a post at least as senior in its department or above."""
    route = rows.route
    if not person.is_active:
        return _("%(name)s is not an active user.") % {"name": person}
    if person.pk == route.document.drafter_id:
        return _("%(name)s is the drafter; nobody approves their own draft.") % {"name": person}
    if person.pk in progression.approvers_elsewhere(rows, slot) or any(
        other.assignee_id == person.pk and other.status == SlotStatus.OPEN
        for other in rows.slots[slot.stage.index]
        if other.pk != slot.pk and other.blocking
    ):
        return _("%(name)s already acts on this document; one person approves once.") % {
            "name": person
        }
    if slot.post_department_id is None or slot.post_position_id is None:
        return ""  # a named person or group member: an administrator decides
    posts = current_posts().filter(user=person).select_related("position")
    department = Department.objects.get(pk=slot.post_department_id)
    chain = {department.pk, *(d.pk for d in department.ancestors())}
    rank = slot.post_position.rank if slot.post_position else 0
    if any(
        (p.department_id == slot.post_department_id and p.position_id == slot.post_position_id)
        or (p.department_id in chain and p.position.rank >= rank)
        for p in posts
    ):
        return ""
    if (
        current_posts()
        .filter(
            department_id=slot.post_department_id,
            position_id=slot.post_position_id,
            deputy=person,
        )
        .exists()
    ):
        return ""
    return _(
        "%(name)s holds no post that can act for %(post)s (the post itself, its deputy, or a "
        "post at least as senior in %(department)s or above)."
    ) % {
        "name": person,
        "post": f"{slot.department_name} {slot.position_name}".strip(),
        "department": department.full_name,
    }


def candidates(slot: Slot) -> list[User]:
    """The people an open task may be reassigned to (for the workspace's choice): everyone
    `entitled` among the holders of posts in the slot's department and above, and its deputies."""
    route = slot.stage.route
    rows = RouteRows.read(route)
    mine = rows.slot(slot.pk) or slot
    if slot.post_department_id is None:
        return []
    department = Department.objects.get(pk=slot.post_department_id)
    chain = [department.pk, *(d.pk for d in department.ancestors())]
    people = {
        post.user.pk: post.user
        for post in current_posts().filter(department_id__in=chain).select_related("user")
    }
    for post in (
        current_posts()
        .filter(department_id=slot.post_department_id, deputy__isnull=False)
        .select_related("deputy")
    ):
        if post.deputy is not None:
            people[post.deputy.pk] = post.deputy
    return sorted(
        (p for p in people.values() if p.pk != mine.assignee_id and not entitled(mine, rows, p)),
        key=lambda p: p.username,
    )


def reassign(actor: User, slot_id: int, to: User, reason: str) -> Slot:
    """振替: an administrator or the assignee's superior gives an open task to `to`."""
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why the task is reassigned."))
    with acting_on(actor, slot_id, "reassign") as (rows, flow):
        slot = flow.slot
        if not slot.blocking:
            raise WorkflowError(
                "invalid",
                _("Only approval and consultation tasks are reassigned."),
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if to.pk == slot.assignee_id:
            raise WorkflowError(
                "invalid",
                _("The task is already with %(name)s.") % {"name": to},
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        why_not = entitled(slot, rows, to)
        if why_not:
            raise WorkflowError("not_entitled", why_not, status.HTTP_422_UNPROCESSABLE_ENTITY)
        flow.reassign()
        progression.move(slot, to, reason=REASSIGNED, actor=actor, comment=reason)
        slot.save(update_fields=_MOVED_FIELDS)
    return slot


_MOVED_FIELDS = ["assignee", "previous_assignee", "handover_until", "on_behalf_of"]


# --- Following the organisation -------------------------------------------------------------------


@dataclass
class PersonnelRun:
    moved_to_holder: int = 0
    moved_to_deputy: int = 0


def _to_move(at: datetime | None) -> dict[int, list[int]]:
    """The open tasks that must move now, by route: read without locks in three queries, so that
    a run that finds nothing to do (most runs) locks nothing. Each is checked again under its
    route's lock before it moves."""
    moment = at or timezone.now()
    holders: dict[tuple[int, int], int] = {}
    for department, position, user in (
        current_posts(at)
        .order_by("-is_primary", "user__username")
        .values_list("department_id", "position_id", "user_id")
    ):
        holders.setdefault((department, position), user)
    absent = set(
        Absence.objects.filter(starts_at__lte=moment, ends_at__gt=moment).values_list(
            "user_id", flat=True
        )
    )
    found: dict[int, list[int]] = {}
    for pk, route_id, assignee, acting_for, department, position in (
        Slot.objects.filter(
            status=SlotStatus.OPEN,
            kind__in=BLOCKING_KINDS,
            stage__route__status=RouteStatus.IN_PROGRESS,
        )
        .order_by("stage__route_id", "pk")
        .values_list(
            "pk",
            "stage__route_id",
            "assignee_id",
            "on_behalf_of_id",
            "post_department_id",
            "post_position_id",
        )
    ):
        holder = holders.get((department, position)) if department and position else None
        moved_post = holder is not None and holder != (acting_for or assignee)
        if moved_post or (acting_for is None and assignee in absent):
            found.setdefault(route_id, []).append(pk)
    return found


def apply_personnel_changes(at: datetime | None = None) -> PersonnelRun:
    """Move every open task whose post has a new holder, or whose assignee is absent now.

    One short transaction per route concerned, each under the route's lock, so approvals running
    at the same time wait for a moment and then see the task where it is: none is lost or
    doubled."""
    run = PersonnelRun()
    for route_id, slot_ids in _to_move(at).items():
        try:
            _apply_on_route(route_id, slot_ids, run, at)
        except locks.NotFound:
            continue
    return run


def _apply_on_route(
    route_id: int, slot_ids: list[int], run: PersonnelRun, at: datetime | None
) -> None:
    with transaction.atomic(), progression.action():
        route = locks.route(route_id)
        rows = RouteRows.read(route)
        for slot_id in slot_ids:
            slot = rows.slot(slot_id)
            if slot is None or slot.status != SlotStatus.OPEN:
                continue  # acted on meanwhile
            if _follow_holder(slot, at):
                run.moved_to_holder += 1
            if _cover_absence(slot, rows, at):
                run.moved_to_deputy += 1


def _follow_holder(slot: Slot, at: datetime | None) -> bool:
    if slot.post_department_id is None or slot.post_position_id is None:
        return False
    holder = holder_of(slot.post_department_id, slot.post_position_id, at)
    acting_for = slot.on_behalf_of_id or slot.assignee_id
    if holder is None or holder.pk == acting_for:
        return False
    slot.on_behalf_of = None
    progression.move(slot, holder, reason=POST_HOLDER_CHANGED, actor=holder)
    slot.save(update_fields=_MOVED_FIELDS)
    return True


def _cover_absence(slot: Slot, rows: RouteRows, at: datetime | None) -> bool:
    if slot.on_behalf_of_id is not None:
        return False
    absent = slot.assignee
    if active_absence(absent, at) is None:
        return False
    excluded = {rows.route.document.drafter_id} | progression.approvers_elsewhere(rows, slot)
    deputy, _passed = choose_deputy(absent, excluded, at)
    if deputy is None:
        logger.warning("slot %s: %s is absent and has no deputy to take it", slot.pk, absent.pk)
        return False
    progression.move(slot, deputy, reason=ABSENT, actor=deputy, on_behalf_of=absent)
    slot.save(update_fields=_MOVED_FIELDS)
    return True

"""Questions the rest of the system asks of the organisation. Reads only; no state changes."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from org.models import Absence, Department, Post, User


def current_posts(on: datetime | None = None) -> QuerySet[Post]:
    today = timezone.localdate(on) if on else timezone.localdate()
    return Post.objects.filter(
        Q(starts_on__isnull=True) | Q(starts_on__lte=today),
        Q(ends_on__isnull=True) | Q(ends_on__gte=today),
        user__is_active=True,
    )


def holders(department: Department, position_code: str, on: datetime | None = None) -> list[User]:
    """The people who hold a position in a department (usually one; none if the post is vacant)."""
    posts = current_posts(on).filter(department=department, position__code=position_code)
    return [post.user for post in posts.select_related("user").order_by("user__username")]


def active_absence(user: User, at: datetime | None = None) -> Absence | None:
    at = at or timezone.now()
    return (
        Absence.objects.filter(user=user, starts_at__lte=at, ends_at__gt=at)
        .select_related("deputy")
        .order_by("-starts_at")
        .first()
    )


def deputy_for(user: User, at: datetime | None = None) -> User | None:
    """Who decides for `user` right now (代決), or None if they are present or have no deputy."""
    candidates = deputies_for(user, at)
    return candidates[0] if candidates else None


def deputies_for(user: User, at: datetime | None = None, *, present: bool = False) -> list[User]:
    """Who may decide for `user` right now, in order (the absence's deputy, the post's designated
    deputy, the superior); empty if they are present, unless `present` (a stand-in is needed for
    another reason). The caller passes over those who may not (the drafter, someone who already
    approved: workflow.resolution.choose_deputy)."""
    absence = active_absence(user, at)
    if absence is None and not present:
        return []
    people: list[User] = []
    if absence is not None and absence.deputy is not None:
        people.append(absence.deputy)
    for post in current_posts(at).filter(user=user).order_by("-is_primary"):
        if post.deputy is not None:
            people.append(post.deputy)
        superior = superior_of_post(post, at)
        if superior is not None:
            people.append(superior)
    unique = list({p.pk: p for p in people if p.is_active and p.pk != user.pk}.values())
    return [p for p in unique if active_absence(p, at) is None]


def post_of(user: User, department_name: str = "") -> Post | None:
    """The post a slot was resolved from (by its department), else the user's primary post."""
    posts = list(current_posts().filter(user=user).select_related("department", "position"))
    for post in posts:
        if department_name and post.department.full_name == department_name:
            return post
    return next((p for p in posts if p.is_primary), posts[0] if posts else None)


def superior_of_post(post: Post, at: datetime | None = None) -> User | None:
    """The holder of the highest-ranked position above the post's in its department, or else in
    the parent department; None if there is nobody."""
    for department in (post.department, post.department.parent):
        if department is None:
            continue
        above = (
            current_posts(at)
            .filter(department=department, position__rank__gt=post.position.rank)
            .exclude(user_id=post.user_id)
            .select_related("user")
            .order_by("-position__rank", "user__username")
            .first()
        )
        if above is not None:
            return above.user
    return None


def superior_of(user: User, department_name: str = "") -> User | None:
    """The superior of the user's post in that department (else of their primary post)."""
    post = post_of(user, department_name)
    return superior_of_post(post) if post is not None else None


def holder_of(department_id: int, position_id: int, at: datetime | None = None) -> User | None:
    """Who holds the post (department, position) now; the primary holder first. None: vacant."""
    post = (
        current_posts(at)
        .filter(department_id=department_id, position_id=position_id)
        .select_related("user")
        .order_by("-is_primary", "user__username")
        .first()
    )
    return post.user if post is not None else None


def holder_and_absence(
    department_id: int, position_id: int, at: datetime | None = None
) -> tuple[User | None, bool]:
    """holder_of() and whether that person is absent now, in one query (a task opening asks both
    on every approval)."""
    moment = at or timezone.now()
    away = Absence.objects.filter(
        user_id=OuterRef("user_id"), starts_at__lte=moment, ends_at__gt=moment
    )
    post = (
        current_posts(at)
        .filter(department_id=department_id, position_id=position_id)
        .annotate(away=Exists(away))
        .select_related("user")
        .order_by("-is_primary", "user__username")
        .first()
    )
    if post is None:
        return None, False
    return post.user, bool(post.away)


def handover_until(
    user: User, department_id: int, position_id: int, at: datetime | None = None
) -> date | None:
    """The last day `user` may still act for a post they held (引継ぎ), if it is still to come."""
    today = timezone.localdate(at) if at else timezone.localdate()
    post = (
        Post.objects.filter(
            user=user,
            department_id=department_id,
            position_id=position_id,
            handover_until__gte=today,
        )
        .order_by("-handover_until")
        .first()
    )
    return post.handover_until if post is not None else None


def holds_post(user: User, department_id: int, position_id: int) -> bool:
    return (
        current_posts()
        .filter(user=user, department_id=department_id, position_id=position_id)
        .exists()
    )


def roles_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))

"""Questions the rest of the system asks of the organisation. Reads only; no state changes."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
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
    absence = active_absence(user, at)
    if absence is None:
        return None
    if absence.deputy is not None:
        return absence.deputy
    post = current_posts(at).filter(user=user, deputy__isnull=False).order_by("-is_primary").first()
    return post.deputy if post else None


def roles_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))

"""Finding people by name: the staff directory the drafting page's pickers ask.

Reads only. Active users, matched on user name, names (with or without the space between family
and given name), department and position, a few at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Value
from django.db.models.functions import Replace

from org.models import Post, User
from org.services import current_posts

MAX_RESULTS = 50
MAX_TERMS = 5


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    department: str | None
    position: str | None


def _compact(field: str) -> Replace:
    # 田中一郎 finds 田中 一郎: the space (half- or full-width) between the names is ignored.
    return Replace(Replace(field, Value(" "), Value("")), Value("\u3000"), Value(""))


def people_matching(query: str) -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
    if not settings.DEMO_MODE:
        # Demo accounts cannot sign in outside demo mode (org.auth), so they could never act.
        users = users.exclude(is_demo_account=True)
    users = users.annotate(
        compact_display=_compact("display_name"),
        compact_last=_compact("last_name"),
        compact_first=_compact("first_name"),
    )
    posts = current_posts()
    for term in query.replace("\u3000", " ").split()[:MAX_TERMS]:
        in_posts = posts.filter(
            Q(department__name__icontains=term) | Q(position__name__icontains=term)
        ).values("user_id")
        users = users.filter(
            Q(username__icontains=term)
            | Q(compact_display__icontains=term)
            | Q(compact_last__icontains=term)
            | Q(compact_first__icontains=term)
            | Q(pk__in=in_posts)
        )
    return users.order_by("username")


def find_people(query: str, limit: int = 20) -> tuple[list[Person], bool]:
    """At most `limit` people matching every word of `query`, and whether there were more."""
    limit = max(1, min(limit, MAX_RESULTS))
    posts = current_posts().select_related("department__parent__parent", "position")
    users = list(
        people_matching(query).prefetch_related(Prefetch("posts", queryset=posts))[: limit + 1]
    )
    found = []
    for user in users[:limit]:
        post: Post | None = user.primary_post
        found.append(
            Person(
                username=user.username,
                display_name=str(user),
                department=post.department.full_name if post else None,
                position=post.position.name if post else None,
            )
        )
    return found, len(users) > limit

"""Who sees which figures.

- Administrators and auditors (and superusers) see every department.
- A department head sees the departments they head and everything below them: a person heads a
  department when they hold its highest-ranked current post (課長 of a 課, 部長 of a 部, which
  includes its 課). Holders of lower posts see no figures: the numbers of a department are its
  head's to read.
- Everyone else is refused (403 with what to do).

Figures are aggregates, but the slowest and the overdue documents are listed by number and title:
a title is shown only to those who may read the document (`titles`), so a head of a 部 reading
the figures of a 課 below sees what the access rules let them read, and an auditor the decided
records only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.access import visibility
from documents.models import Document
from org import roles
from org.models import Department, User
from org.services import current_posts


@dataclass(frozen=True)
class Scope:
    everything: bool
    departments: frozenset[int]  # what a head may see (empty when everything)
    user: User | None = None
    reads_only: bool = False  # auditors read everything and register nothing

    def allows(self, department_id: int) -> bool:
        return self.everything or department_id in self.departments


def descendants(roots: Iterable[int]) -> set[int]:
    """The departments and every department below them."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Department.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pk = todo.pop()
        if pk in seen:
            continue
        seen.add(pk)
        todo.extend(children.get(pk, []))
    return seen


def headed_by(user: User) -> set[int]:
    """The departments where `user` holds the highest-ranked current post."""
    mine = list(current_posts().filter(user=user).values_list("department_id", "position__rank"))
    if not mine:
        return set()
    tops = dict(
        current_posts()
        .filter(department_id__in=[d for d, _ in mine])
        .values("department_id")
        .annotate(top=Max("position__rank"))
        .values_list("department_id", "top")
    )
    return {d for d, rank in mine if rank >= tops.get(d, rank)}


def scope_of(user: User) -> Scope:
    if not user.is_active:
        raise _refused()
    groups = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or roles.ADMINISTRATOR in groups:
        return Scope(everything=True, departments=frozenset(), user=user)
    if roles.AUDITOR in groups:
        return Scope(everything=True, departments=frozenset(), user=user, reads_only=True)
    headed = headed_by(user)
    if not headed:
        raise _refused()
    return Scope(everything=False, departments=frozenset(descendants(headed)), user=user)


def may_see(user: User) -> bool:
    """Whether `user` may see any figures (the navigation shows the link to them alone)."""
    try:
        scope_of(user)
    except ApiError:
        return False
    return True


def _refused() -> ApiError:
    return ApiError(
        "permission_denied",
        _(
            "Decision analytics are for department heads, administrators and auditors. Ask your "
            "department head or an administrator for the figures you need."
        ),
        status.HTTP_403_FORBIDDEN,
    )


def titles(user: User | None, documents: dict[int, str]) -> dict[int, str]:
    """The titles of the listed documents (id → title) as this reader may see them: a document
    they may not read (documents.access, the one rule) is named by its number only."""
    readable = (
        set(
            Document.objects.filter(visibility(user), pk__in=list(documents)).values_list(
                "pk", flat=True
            )
        )
        if user is not None
        else set()
    )
    hidden = _("(not shown: you may not read this document)")
    return {pk: title if pk in readable else hidden for pk, title in documents.items()}


def department_names() -> dict[int, str]:
    """Every department's full name (総務部 総務課), from one query of the whole (small) tree."""
    rows = {
        pk: (name, parent, top)
        for pk, name, parent, top in Department.objects.values_list(
            "pk", "name", "parent_id", "is_organisation"
        )
    }
    names: dict[int, str] = {}
    for pk, (name, _parent, _top) in rows.items():
        chain, node, seen = [], pk, set()
        while node is not None and node not in seen:
            seen.add(node)
            chain.append(rows[node])
            node = rows[node][1]
        parts = [n for n, _p, top in reversed(chain) if not top]
        names[pk] = " ".join(parts) or name
    return names


def visible_departments(scope: Scope) -> list[Department]:
    """The departments a filter may name, in the organisation's order."""
    departments = Department.objects.filter(is_active=True).select_related("parent")
    if not scope.everything:
        departments = departments.filter(pk__in=scope.departments)
    return list(departments.order_by("sort_order", "code"))

"""Who may see and change a document. Every view, download, page image and search uses this.

Readers of a document:
- its drafter;
- anyone with a `DocumentAccess` row (people on its route, deputies, explicit grants);
- once submitted, members of its department, unless it is secret;
- auditors, once decided, unless it is secret (secret records need an explicit grant);
- superusers.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from documents.models import Document, DocumentAccess, Secrecy, Status
from org import roles
from org.models import User
from org.services import current_posts


def _department_ids(user: User) -> list[int]:
    return list(current_posts().filter(user=user).values_list("department_id", flat=True))


def _is_auditor(user: User) -> bool:
    return user.groups.filter(name=roles.AUDITOR).exists()


def visibility(user: User) -> Q:
    """A condition on Document that holds exactly for the documents `user` may read."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    granted = Exists(DocumentAccess.objects.filter(document=OuterRef("pk"), user=user))
    condition = Q(drafter=user) | Q(granted)
    departments = _department_ids(user)
    if departments:
        condition |= (
            Q(department_id__in=departments) & ~Q(status=Status.DRAFT) & Q(secrecy=Secrecy.NORMAL)
        )
    if _is_auditor(user):
        condition |= Q(status=Status.DECIDED) & Q(secrecy=Secrecy.NORMAL)
    return condition


def visible_documents(user: User) -> QuerySet[Document]:
    return Document.objects.filter(visibility(user))


def can_view(user: User, document: Document) -> bool:
    return visible_documents(user).filter(pk=document.pk).exists()


def can_edit(user: User, document: Document) -> bool:
    """Only the drafter changes a document, and only while it is not under review or decided."""
    return user.is_active and document.drafter_id == user.pk and document.is_editable


def readers_among(document: Document, user_ids: Iterable[int]) -> set[int]:
    """Which of `user_ids` may read `document` now: `can_view` for many people in a few queries
    (a notice to a thousand people must not cost a thousand queries). Mirrors `visibility`."""
    ids = set(user_ids)
    if not ids:
        return set()
    active = User.objects.filter(pk__in=ids, is_active=True)
    readers = set(active.filter(is_superuser=True).values_list("pk", flat=True))
    if document.drafter_id in ids:
        readers.add(document.drafter_id)
    readers |= set(
        DocumentAccess.objects.filter(document=document, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    if document.secrecy == Secrecy.NORMAL:
        if document.status != Status.DRAFT:
            readers |= set(
                current_posts()
                .filter(department_id=document.department_id, user_id__in=ids)
                .values_list("user_id", flat=True)
            )
        if document.status == Status.DECIDED:
            readers |= set(active.filter(groups__name=roles.AUDITOR).values_list("pk", flat=True))
    return readers & set(active.values_list("pk", flat=True))

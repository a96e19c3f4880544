"""Who may see and change a document. Every view, download, page image and search uses this.

Readers of a document:
- its drafter;
- anyone with a `DocumentAccess` row (people on its route, deputies, explicit grants);
- once submitted, members of its department, unless it is secret;
- auditors, once decided, unless it is secret (secret records need an explicit grant);
- superusers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document, DocumentAccess, Secrecy, Status
from org import roles
from org.models import User
from org.services import current_posts


def visibility(user: User) -> Q:
    """A condition on Document that holds exactly for the documents `user` may read.

    The user's departments and whether they are an auditor are subqueries of the same statement,
    not queries of their own: the access check of a read is part of the read's one query."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    granted = Exists(DocumentAccess.objects.filter(document=OuterRef("pk"), user=user))
    departments = current_posts().filter(user=user).values("department_id")
    auditor = Exists(User.groups.through.objects.filter(user_id=user.pk, group__name=roles.AUDITOR))
    return (
        Q(drafter=user)
        | Q(granted)
        | (Q(department_id__in=departments) & ~Q(status=Status.DRAFT) & Q(secrecy=Secrecy.NORMAL))
        | (Q(auditor) & Q(status=Status.DECIDED) & Q(secrecy=Secrecy.NORMAL))
    )


def visible_documents(user: User) -> QuerySet[Document]:
    return Document.objects.filter(visibility(user))


def can_view(user: User, document: Document) -> bool:
    return visible_documents(user).filter(pk=document.pk).exists()


def related(user: User, documents: Iterable[Document]) -> list[Document]:
    """Of the documents named beside one the user reads (its correction and the record it
    corrects, a link, a notice, an audit line), those the user may read; the others are not
    named at all, not even by id, title or status. Every place that shows a related document
    asks here, so that reading a document never shows what another one's rules hide."""
    documents = list(documents)
    if not documents:
        return []
    visible = set(
        visible_documents(user)
        .filter(pk__in=[d.pk for d in documents])
        .values_list("pk", flat=True)
    )
    return [d for d in documents if d.pk in visible]


def can_edit(user: User, document: Document) -> bool:
    """Only the drafter changes a document, and only while it is not under review or decided."""
    return user.is_active and document.drafter_id == user.pk and document.is_editable


def readers_of(documents: Iterable[Document], user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Which of `user_ids` may read each of `documents` now: `can_view` for many people and
    documents in three queries whatever their number (a notice to a thousand people, or the
    events of one approval, must not cost a query each). Mirrors `visibility`;
    tests/documents/test_readers.py checks it against `can_view` for everyone."""
    documents = list(documents)
    ids = set(user_ids)
    result: dict[int, set[int]] = {document.pk: set() for document in documents}
    if not ids or not documents:
        return result
    auditors = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=roles.AUDITOR)
    people = {
        pk: (superuser, auditor)
        for pk, superuser, auditor in User.objects.filter(pk__in=ids, is_active=True)
        .annotate(auditor=Exists(auditors))
        .values_list("pk", "is_superuser", "auditor")
    }
    if not people:
        return result
    granted: dict[int, set[int]] = {}
    for document_id, user_id in DocumentAccess.objects.filter(
        document_id__in=list(result), user_id__in=list(people)
    ).values_list("document_id", "user_id"):
        granted.setdefault(document_id, set()).add(user_id)
    departments = {
        document.department_id
        for document in documents
        if document.secrecy == Secrecy.NORMAL and document.status != Status.DRAFT
    }
    members: dict[int, set[int]] = {}
    if departments:
        for department_id, user_id in (
            current_posts()
            .filter(department_id__in=departments, user_id__in=list(people))
            .values_list("department_id", "user_id")
        ):
            members.setdefault(department_id, set()).add(user_id)
    superusers = {pk for pk, (superuser, _auditor) in people.items() if superuser}
    auditor_ids = {pk for pk, (_superuser, auditor) in people.items() if auditor}
    for document in documents:
        readers = set(superusers) | granted.get(document.pk, set())
        if document.drafter_id in people:
            readers.add(document.drafter_id)
        if document.secrecy == Secrecy.NORMAL:
            if document.status != Status.DRAFT:
                readers |= members.get(document.department_id, set())
            if document.status == Status.DECIDED:
                readers |= auditor_ids
        result[document.pk] = readers & people.keys()
    return result


# --- Disposed means gone ---------------------------------------------------------------------

# A record disposed of (廃棄) or transferred to the archives (移管) keeps its row, but its content
# is no longer served: only its tombstone, which retention/ keeps (it sits above this module, so it
# registers how to read one: retention.apps).
GONE = (Status.DISPOSED, Status.TRANSFERRED)
TombstoneReader = Callable[[Document], dict[str, Any] | None]
_tombstone_readers: list[TombstoneReader] = []


def read_tombstones_with(reader: TombstoneReader) -> None:
    if reader not in _tombstone_readers:
        _tombstone_readers.append(reader)


def tombstone(document: Document) -> dict[str, Any] | None:
    """The tombstone of a disposed or transferred record, as retention keeps it (None if none)."""
    return next((t for read in _tombstone_readers if (t := read(document))), None)


def gone_message(document: Document) -> str:
    number = document.number or document.pk
    if document.status == Status.TRANSFERRED:
        return _(
            "This record (%(number)s) was transferred to the archives; only its tombstone "
            "remains here."
        ) % {"number": number}
    return _("This record (%(number)s) was disposed of; only its tombstone remains.") % {
        "number": number
    }


def require_kept(document: Document) -> None:
    """410 with the tombstone for a disposed or transferred record: its record, originals, page
    images, verification and evidence package are gone (issue 15)."""
    if document.status in GONE:
        raise ApiError(
            "gone", gone_message(document), status.HTTP_410_GONE, tombstone=tombstone(document)
        )

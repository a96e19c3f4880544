"""readers_of (many people and documents at once, for notifications) agrees with can_view
everywhere, for each document alone and for all of them together."""

from __future__ import annotations

import itertools

import pytest

from documents.access import can_view, readers_of
from documents.models import Document, DocumentAccess, DocumentType, Secrecy, Status
from org.models import User

pytestmark = pytest.mark.django_db


def test_readers_of_is_can_view_for_everyone(demo_org) -> None:
    tanaka = User.objects.get(username="tanaka")
    ito = User.objects.get(username="ito")
    User.objects.filter(username="yamamoto").update(is_active=False)
    User.objects.create(username="root", is_superuser=True, display_name="root")
    users = list(User.objects.all())
    notice = DocumentType.objects.get(code="notice")
    documents = []
    for status, secrecy, granted in itertools.product(
        [Status.DRAFT, Status.IN_REVIEW, Status.DECIDED, Status.SENT_BACK],
        [Secrecy.NORMAL, Secrecy.SECRET],
        [False, True],
    ):
        document = Document.objects.create(
            title=f"{status} {secrecy}",
            doc_type=notice,
            department=tanaka.primary_post.department,
            drafter=tanaka,
            status=status,
            secrecy=secrecy,
            retention_years=1,
        )
        if granted:
            DocumentAccess.objects.create(document=document, user=ito, reason="grant")
        documents.append(document)
    everyone = [u.pk for u in users]
    together = readers_of(documents, everyone)
    for document in documents:
        expected = {u.pk for u in users if can_view(u, document)}
        assert readers_of([document], everyone)[document.pk] == expected, document.title
        assert together[document.pk] == expected, document.title

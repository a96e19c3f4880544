"""What the workflow tests share: the demo's people and a notice drafted by tanaka."""

from __future__ import annotations

from documents.models import Document, DocumentType
from documents.services import create_document
from org.models import User


def user(name: str) -> User:
    return User.objects.get(username=name)


def draft(amount: int | None = 500_000, title: str = "起案の試験") -> Document:
    """A notice by tanaka (no amount with None), retained for a year."""
    return create_document(
        user("tanaka"),
        {
            "title": title,
            "doc_type": DocumentType.objects.get(code="notice"),
            "amount": amount,
            "retention_years": 1,
        },
    )

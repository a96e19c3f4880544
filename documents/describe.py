"""The fields of a document its drafter edits, with their labels, and what the audit trail keeps
about a document's content: the fields' values and every attachment's hash.

A change to a draft is recorded with the fields' values before and after (the correction history
the Electronic Books Maintenance Act asks for), and every attachment by name, size and SHA-256.
The drafting page takes the list and the labels from here (`frontend.document_pages`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db import models
from django.utils.text import capfirst

from documents.models import Document

# The fields of a document the drafter edits (the rest is set by the system).
EDITABLE_FIELDS = (
    "title",
    "doc_type",
    "body",
    "amount",
    "counterparty",
    "transaction_date",
    "retention_years",
    "disclosure",
    "secrecy",
)


def labels() -> dict[str, str]:
    """{field: its label in the active language}, in the order of EDITABLE_FIELDS."""
    fields = (cast("models.Field[Any, Any]", Document._meta.get_field(n)) for n in EDITABLE_FIELDS)
    return {field.name: str(capfirst(field.verbose_name)) for field in fields}


def _value(document: Any, name: str) -> Any:
    if name == "doc_type":
        doc_type = getattr(document, "doc_type", None)
        return getattr(doc_type, "code", None)
    value: Any = getattr(document, name, None)
    return value.isoformat() if hasattr(value, "isoformat") else value


def document_fields(document: Document) -> dict[str, Any]:
    """The editable fields' values as the audit trail keeps them (a type by its code, dates in
    ISO format)."""
    return {name: _value(document, name) for name in EDITABLE_FIELDS}


def changes(before: dict[str, Any], document: Document) -> dict[str, Any]:
    """{"changes": {field: [old, new]}} for the fields whose value changed."""
    after = document_fields(document)
    return {
        "changes": {
            name: [before.get(name), after[name]]
            for name in EDITABLE_FIELDS
            if before.get(name) != after[name]
        }
    }


def attachment(item: Any) -> dict[str, Any]:
    return {
        "position": item.position,
        "filename": item.filename,
        "size": item.size,
        "sha256": item.sha256,
    }


def attachments(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [attachment(item) for item in items]

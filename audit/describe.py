"""What the audit trail keeps about a document's content: field values and attachment hashes.

A change to a draft is recorded with the fields' values before and after (the correction history
the Electronic Books Maintenance Act asks for), and every attachment by name, size and SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FIELDS = (
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


def _value(document: Any, name: str) -> Any:
    if name == "doc_type":
        doc_type = getattr(document, "doc_type", None)
        return getattr(doc_type, "code", None)
    value: Any = getattr(document, name, None)
    return value.isoformat() if hasattr(value, "isoformat") else value


def document_fields(document: Any) -> dict[str, Any]:
    return {name: _value(document, name) for name in FIELDS}


def changes(before: dict[str, Any], document: Any) -> dict[str, Any]:
    """{"changes": {field: [old, new]}} for the fields whose value changed."""
    after = document_fields(document)
    return {
        "changes": {
            name: [before.get(name), after[name]]
            for name in FIELDS
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
